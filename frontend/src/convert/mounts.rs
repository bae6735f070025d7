//! `RUN --mount=…` → a spec mount, for every mount type.

use super::parse::Flag;
use super::state::{clean_path, resolve};
use super::words::Value;
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;

/// A mount's options: name (aliases resolved) and value, if any.
type MountOptions = Vec<(String, Option<String>)>;

/// The options each mount type takes, by their Dockerfile names.
const OPTIONS: &[(&str, &[&str])] = &[
    (
        "bind",
        &["target", "from", "source", "readwrite", "readonly"],
    ),
    (
        "cache",
        &[
            "target", "id", "sharing", "from", "source", "mode", "uid", "gid", "readonly",
        ],
    ),
    ("tmpfs", &["target", "size"]),
    (
        "secret",
        &["id", "target", "required", "mode", "uid", "gid", "env"],
    ),
    ("ssh", &["id", "target", "required", "mode", "uid", "gid"]),
];

impl Converter {
    pub fn mount(&self, stage: &StageBuild, flag: &Flag) -> Result<Node, Problem> {
        let (kind, options) = self.mount_options(stage, flag)?;
        let at = |message: String| Problem::new(flag.pos, message);
        // An empty value is no value (`id=` takes the default).
        let get = |k: &str| {
            options
                .iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let set = |k: &str| -> Result<bool, Problem> {
            match options
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_deref())
            {
                None => Ok(false),
                Some(None) => Ok(true),
                Some(Some(v)) => v.parse::<bool>().map_err(|_| {
                    at(format!("`{k}={v}` is not true or false"))
                        .hint(format!("write `{k}` or `{k}=true`"))
                }),
            }
        };
        let target = get("target")
            .map(|t| self.mount_target(stage, &t, flag))
            .transpose()?;
        if target.is_none() && matches!(kind.as_str(), "bind" | "cache" | "tmpfs") {
            return Err(at(format!("a {kind} mount needs a target")).hint("add `target=/path`"));
        }
        let mut node = Node::map();
        node.set("type", Node::str(&kind));
        let id = match (kind.as_str(), get("id"), &target) {
            // A secret's id defaults to its file name.
            ("secret", None, Some(t)) if !basename(t).is_empty() => Some(basename(t).to_string()),
            ("secret", None, _) => {
                return Err(
                    at("a secret mount needs an id or a target".into()).hint("add `id=NAME`")
                )
            }
            (_, id, _) => id,
        };
        for (key, value) in [("id", id), ("target", target), ("env", get("env"))] {
            if let Some(v) = value {
                node.set(key, Node::str(v));
            }
        }
        self.mount_source(&mut node, &get, &kind, flag)?;
        if kind == "cache" && set("readonly")? {
            return Err(
                at("a read-only cache mount cannot be written in a spec".into())
                    .hint("remove `ro`; a spec's cache mounts are writable"),
            );
        }
        for (key, on) in [
            ("rw", kind == "bind" && set("readwrite")?),
            ("required", set("required")?),
        ] {
            if on {
                node.set(key, Node::Raw("true".into()));
            }
        }
        numbers(&mut node, &get, flag)?;
        Ok(node)
    }

    /// `from` (a stage, by name or number, or an image) and `source`, which
    /// is a context path when there is no `from`.
    fn mount_source(
        &self,
        node: &mut Node,
        get: &dyn Fn(&str) -> Option<String>,
        kind: &str,
        flag: &Flag,
    ) -> Result<(), Problem> {
        let from = get("from");
        if let Some(f) = &from {
            node.set("from", Node::str(self.source_name(f, flag.pos)?));
        }
        match (get("source"), &from) {
            (Some(source), Some(_)) => node.set("source", Node::str(source)),
            (Some(source), None) => node.set("source", Node::str(context_relative(&source))),
            (None, None) if kind == "bind" => node.set("source", Node::str(".")),
            (None, _) => {}
        }
        Ok(())
    }

    /// The mount's type and its options (aliases resolved, values expanded),
    /// each checked against what the type takes.
    fn mount_options(
        &self,
        stage: &StageBuild,
        flag: &Flag,
    ) -> Result<(String, MountOptions), Problem> {
        let at = |message: String| Problem::new(flag.pos, message);
        let fields = csv_fields(flag.value.as_deref().unwrap_or("")).ok_or_else(|| {
            at("a quote in --mount is never closed".into()).hint("close the quote")
        })?;
        let mut kind = "bind".to_string();
        let mut options = Vec::new();
        for field in fields {
            let (key, value) = match field.split_once('=') {
                Some((k, v)) => (k.trim().to_lowercase(), Some(v.to_string())),
                None => (field.trim().to_lowercase(), None),
            };
            let key = match key.as_str() {
                "src" => "source".to_string(),
                "dst" | "destination" => "target".to_string(),
                "ro" => "readonly".to_string(),
                "rw" => "readwrite".to_string(),
                _ => key,
            };
            if key == "type" {
                kind = value.unwrap_or_default().to_lowercase();
                continue;
            }
            let value = match value {
                Some(v) => {
                    let expanded = self.expand_at(&v, &stage.state, flag.pos, false)?;
                    Some(self.literal(&expanded, flag.pos, &format!("mount option `{key}`"))?)
                }
                None => None,
            };
            options.push((key, value));
        }
        let Some((_, allowed)) = OPTIONS.iter().find(|(t, _)| *t == kind) else {
            return Err(at(format!("unknown mount type `{kind}`"))
                .hint("mount types are bind, cache, tmpfs, secret and ssh"));
        };
        if let Some((key, _)) = options.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
            return Err(at(format!("`{key}` does not apply to {kind} mounts"))
                .hint(format!("{kind} mounts take {}", allowed.join(", "))));
        }
        Ok((kind, options))
    }

    /// A mount target: absolute, or relative to the working directory.
    fn mount_target(
        &self,
        stage: &StageBuild,
        target: &str,
        flag: &Flag,
    ) -> Result<String, Problem> {
        let resolved =
            resolve(stage.state.workdir.as_ref(), &Value::lit(target)).and_then(|v| v.literal());
        resolved.ok_or_else(|| {
            Problem::new(
                flag.pos,
                format!("mount target `{target}` is relative to an unknown working directory"),
            )
            .hint("write an absolute target")
        })
    }

    /// A `from` of a copy or mount: a stage (by name or number) becomes the
    /// spec's stage name; anything else is an image.
    pub fn source_name(&self, from: &str, pos: crate::spec::Pos) -> Result<String, Problem> {
        match self.stage_index(&from.to_lowercase()) {
            Some(index) => Ok(self.stages[index].1.name.clone()),
            None if self.names.contains(&from.to_lowercase()) => Err(self.later_stage(from, pos)),
            None => self.image_name(&Value::lit(from), pos),
        }
    }

    /// A stage used before it is defined (the Dockerfile frontend refuses it).
    pub fn later_stage(&self, name: &str, pos: crate::spec::Pos) -> Problem {
        Problem::new(pos, format!("stage `{name}` is used before it is defined"))
            .hint("move the stage above the one that uses it")
    }
}

/// The last element of a path, as Go's `path.Base` (without the `/` case).
fn basename(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// `sharing`, `size`, `mode`, `uid` and `gid`, checked as the spec reads them.
fn numbers(
    node: &mut Node,
    get: &dyn Fn(&str) -> Option<String>,
    flag: &Flag,
) -> Result<(), Problem> {
    let at = |message: String| Problem::new(flag.pos, message);
    if let Some(sharing) = get("sharing") {
        if !matches!(sharing.as_str(), "shared" | "private" | "locked") {
            return Err(
                at(format!("unknown sharing `{sharing}`")).hint("write shared, private or locked")
            );
        }
        node.set("sharing", Node::str(sharing));
    }
    if let Some(size) = get("size") {
        if crate::spec::parse_size(&size).is_none() {
            return Err(
                at(format!("tmpfs size `{size}` cannot be written in a spec"))
                    .hint("write bytes or a size such as 64m"),
            );
        }
        node.set("size", Node::str(size));
    }
    if let Some(mode) = get("mode") {
        let bits = octal(&mode).ok_or_else(|| {
            at(format!("invalid mode `{mode}`")).hint("write octal permission bits such as 0755")
        })?;
        node.set("mode", Node::str(bits));
    }
    for key in ["uid", "gid"] {
        if let Some(v) = get(key) {
            let n: u32 = v
                .parse()
                .map_err(|_| at(format!("invalid {key} `{v}`")).hint("write a number"))?;
            node.set(key, Node::Raw(n.to_string()));
        }
    }
    Ok(())
}

/// A build-context path as the spec wants it: relative, inside the context.
pub fn context_relative(path: &str) -> String {
    let keep_slash = path.ends_with('/');
    let cleaned = clean_path(&format!("/{path}"));
    let relative = cleaned.trim_start_matches('/');
    match (relative.is_empty(), keep_slash) {
        (true, _) => ".".to_string(),
        (false, true) => format!("{}/", relative.trim_end_matches('/')),
        (false, false) => relative.to_string(),
    }
}

/// Octal permission bits as the spec writes them (`0755`).
pub fn octal(text: &str) -> Option<String> {
    let bits = u32::from_str_radix(text, 8).ok().filter(|b| *b <= 0o7777)?;
    Some(format!("{bits:04o}"))
}

/// Go's `encoding/csv` for one record: commas separate fields, a field in
/// double quotes may hold commas and `""`.
fn csv_fields(text: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return None;
    }
    fields.push(field);
    Some(fields.into_iter().filter(|f| !f.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_and_paths() {
        assert_eq!(
            csv_fields(r#"type=bind,"source=a,b",target=/x"#).unwrap(),
            vec!["type=bind", "source=a,b", "target=/x"]
        );
        assert!(csv_fields("\"open").is_none());
        assert_eq!(context_relative("/src/../app/"), "app/");
        assert_eq!(context_relative("."), ".");
        assert_eq!(octal("755").as_deref(), Some("0755"));
        assert_eq!(octal("9"), None);
    }
}
