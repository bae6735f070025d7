//! One mount of a `run` step: its type, the options that type takes.

use serde_saphyr::Spanned;

use super::names::{identifier_like, is_identifier};
use super::{located, pos, Checker};
use crate::spec::error::Problem;
use crate::spec::model::*;
use crate::spec::syntax::{self, MountType};
use crate::spec::validate::parse_size;

/// Each mount type and the options it takes.
const MOUNT_TYPES: &[(&str, &[&str])] = &[
    (
        "cache",
        &[
            "target", "id", "sharing", "from", "source", "mode", "uid", "gid", "readonly",
        ],
    ),
    (
        "secret",
        &["id", "target", "env", "required", "mode", "uid", "gid"],
    ),
    ("ssh", &["id", "target", "required", "mode", "uid", "gid"]),
    ("tmpfs", &["target", "size"]),
    ("bind", &["target", "from", "source", "rw"]),
];

impl Checker<'_> {
    pub(super) fn mount(&self, m: Spanned<syntax::MountSyntax>) -> Result<Mount, Problem> {
        let p = pos(&m);
        let m = m.value;
        let kind_name = format!("{:?}", m.kind.value).to_lowercase();
        only_options_of_its_type(&m, &kind_name, p)?;
        let need_target = |t: Option<Spanned<String>>| {
            t.map(located).ok_or_else(|| {
                Problem::new(p, format!("a {kind_name} mount needs `target`"))
                    .hint("add `target: /path/in/the/step`")
            })
        };
        let owner = MountOwner {
            mode: m.mode.map(|x| x.value.0),
            uid: m.uid,
            gid: m.gid,
        };
        let kind = match m.kind.value {
            MountType::Cache => MountKind::Cache {
                target: need_target(m.target)?,
                id: m.id.map(located),
                sharing: m.sharing.map(|s| s.value).unwrap_or_default(),
                from: m.from.map(located),
                source: m.source.map(located),
                owner,
                readonly: m.readonly.unwrap_or(false),
            },
            MountType::Secret => {
                let id = m.id.map(located).filter(|i| !i.value.is_empty());
                let id = id.ok_or_else(|| {
                    Problem::new(p, "a secret mount needs `id`").hint(
                        "add `id: <name>` matching `--secret id=<name>,src=…` on the command line",
                    )
                })?;
                MountKind::Secret {
                    id,
                    target: m.target.map(located),
                    env: secret_env_name(m.env)?,
                    required: m.required.unwrap_or(false),
                    owner,
                }
            }
            MountType::Ssh => MountKind::Ssh {
                id: m.id.map(located),
                target: m.target.map(located),
                required: m.required.unwrap_or(false),
                owner,
            },
            MountType::Tmpfs => MountKind::Tmpfs {
                target: need_target(m.target)?,
                size: match m.size {
                    Some(s) => Some(parse_size(&s.value).ok_or_else(|| {
                        Problem::new(pos(&s), format!("invalid size `{}`", s.value))
                            .hint("use bytes or a unit: `64m`, `1g`")
                    })?),
                    None => None,
                },
            },
            MountType::Bind => MountKind::Bind {
                target: need_target(m.target)?,
                from: m.from.map(located),
                source: m.source.map(located),
                rw: m.rw.unwrap_or(false),
            },
        };
        Ok(Mount {
            pos: p,
            kind,
            shorthand: false,
        })
    }
}

/// Refuses options of another mount type, naming the types that take it.
fn only_options_of_its_type(
    m: &syntax::MountSyntax,
    kind_name: &str,
    p: Pos,
) -> Result<(), Problem> {
    let allowed = MOUNT_TYPES
        .iter()
        .find(|(name, _)| *name == kind_name)
        .map_or(&[][..], |(_, keys)| *keys);
    // Where each option is written; options without a span point at the mount.
    let at = |v: Option<&Spanned<String>>| v.map(pos);
    for (key, set) in [
        ("target", at(m.target.as_ref())),
        ("id", at(m.id.as_ref())),
        ("sharing", m.sharing.as_ref().map(pos)),
        ("env", at(m.env.as_ref())),
        ("required", m.required.map(|_| p)),
        ("size", at(m.size.as_ref())),
        ("from", at(m.from.as_ref())),
        ("source", at(m.source.as_ref())),
        ("rw", m.rw.map(|_| p)),
        ("mode", m.mode.as_ref().map(pos)),
        ("uid", m.uid.map(|_| p)),
        ("gid", m.gid.map(|_| p)),
        ("readonly", m.readonly.map(|_| p)),
    ] {
        if let Some(option_pos) = set.filter(|_| !allowed.contains(&key)) {
            let takers: Vec<&str> = MOUNT_TYPES
                .iter()
                .filter(|(_, keys)| keys.contains(&key))
                .map(|(t, _)| *t)
                .collect();
            return Err(Problem::new(
                option_pos,
                format!("`{key}` does not apply to {kind_name} mounts"),
            )
            .hint(format!(
                "{kind_name} mounts take: {}; `{key}` is for {} mounts",
                allowed.join(", "),
                takers.join("/")
            )));
        }
    }
    Ok(())
}

/// A secret's `env`: the variable it is exposed as.
fn secret_env_name(env: Option<Spanned<String>>) -> Result<Option<String>, Problem> {
    let Some(e) = env else { return Ok(None) };
    if !is_identifier(&e.value) {
        return Err(Problem::new(
            pos(&e),
            format!("`{}` is not a valid environment variable name", e.value),
        )
        .hint(format!(
            "use letters, digits and `_`, not starting with a digit, e.g. `{}`",
            identifier_like(&e.value)
        )));
    }
    Ok(Some(e.value))
}
