//! Checks of values that args can change, made once they are substituted:
//! paths, owners, URLs, checksums and ports. Stage and image names are
//! checked where they are classified ([`super::sources`]), platforms where
//! they are parsed.

use crate::options::CompileOptions;
use crate::spec::error::Problem;
use crate::spec::validate::one_variant_please;
use crate::spec::{parse_port, AddSource, Located, MountKind, Spec, Stage, StepKind};

/// Every value check of one substituted stage.
pub fn check_stage(stage: &Stage) -> Result<(), Problem> {
    for step in stage.leaf_steps() {
        match &step.kind {
            StepKind::Copy(c) => {
                if c.from.is_none() {
                    c.sources.iter().try_for_each(context_path)?;
                }
                if c.libraries {
                    c.sources.iter().try_for_each(executable_path)?;
                }
                owner(&c.chown)?;
            }
            StepKind::Add(a) => {
                if let AddSource::Url { url, checksum } = &a.source {
                    http_url(url)?;
                    if let Some(c) = checksum {
                        sha256(c)?;
                    }
                }
                owner(&a.chown)?;
            }
            StepKind::Mkdir(m) => owner(&m.chown)?,
            StepKind::Write(w) => owner(&w.chown)?,
            StepKind::Run(r) => {
                for m in &r.mounts {
                    mount_target(&m.kind)?;
                }
            }
            StepKind::Remove(_) | StepKind::Parallel(_) => {}
        }
    }
    for port in &stage.image.expose {
        if parse_port(&port.value).is_none() {
            return Err(
                Problem::new(port.pos, format!("invalid port `{}`", port.value))
                    .hint("write a port number 1-65535, optionally with /tcp, /udp or /sctp"),
            );
        }
    }
    Ok(())
}

fn mount_target(kind: &MountKind) -> Result<(), Problem> {
    let target = match kind {
        MountKind::Cache { target, .. }
        | MountKind::Tmpfs { target, .. }
        | MountKind::Bind { target, .. } => Some(target),
        MountKind::Secret { target, .. } | MountKind::Ssh { target, .. } => target.as_ref(),
    };
    match target {
        Some(t) if !t.value.starts_with('/') => Err(Problem::new(
            t.pos,
            format!("mount target `{}` must be an absolute path", t.value),
        )
        .hint(format!("write `/{}`", t.value))),
        _ => Ok(()),
    }
}

/// Context paths are relative to the context root and stay inside it.
fn context_path(src: &Located<String>) -> Result<(), Problem> {
    if src.value.starts_with('/') {
        return Err(Problem::new(
            src.pos,
            format!(
                "`{}` is an absolute path; context paths are relative to the build context",
                src.value
            ),
        )
        .hint(format!(
            "write `{}`, or add `from:` to copy from a stage or image",
            src.value.trim_start_matches('/')
        )));
    }
    let mut depth: i32 = 0;
    for part in src.value.split('/') {
        match part {
            ".." => depth -= 1,
            "." | "" => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(Problem::new(src.pos, format!("`{}` leaves the build context", src.value))
                .hint("only files inside the context can be copied; move the file or widen the context"));
        }
    }
    Ok(())
}

/// A program copied with its libraries: one absolute path, as the loader
/// would be given it.
fn executable_path(src: &Located<String>) -> Result<(), Problem> {
    if src.value.starts_with('/') && !src.value.contains(['*', '?', '[']) {
        return Ok(());
    }
    Err(Problem::new(
        src.pos,
        format!("`{}` is not the absolute path of one program", src.value),
    )
    .hint("with `libraries: true`, list each executable by its full path in the stage, e.g. `/usr/bin/curl`"))
}

fn owner(chown: &Option<Located<String>>) -> Result<(), Problem> {
    let Some(c) = chown else { return Ok(()) };
    let valid = match c.value.split_once(':') {
        Some((u, g)) => !u.is_empty() && !g.is_empty() && !g.contains(':'),
        None => !c.value.is_empty(),
    };
    if valid {
        return Ok(());
    }
    Err(Problem::new(c.pos, format!("invalid owner `{}`", c.value))
        .hint("write `user`, `uid`, `user:group` or `uid:gid`"))
}

fn http_url(url: &Located<String>) -> Result<(), Problem> {
    if url.value.starts_with("https://") || url.value.starts_with("http://") {
        return Ok(());
    }
    Err(
        Problem::new(url.pos, format!("`{}` is not an http(s) URL", url.value))
            .hint("`add` downloads `https://…` URLs; fetch other sources in a `run` step"),
    )
}

fn sha256(checksum: &Located<String>) -> Result<(), Problem> {
    let hex = checksum.value.strip_prefix("sha256:").unwrap_or("");
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(());
    }
    Err(Problem::new(
        checksum.pos,
        format!("invalid checksum `{}`", checksum.value),
    )
    .hint("write `sha256:` followed by 64 hex digits (`sha256sum FILE` prints them)"))
}

/// A stage's base and a mount's source are one stage: a matrix stage
/// there must name one variant (only a copy can take from all of them).
pub fn one_stage_where_one_is_meant(
    stage: &Stage,
    spec: &Spec,
    options: &CompileOptions,
) -> Result<(), Problem> {
    let mut single = vec![(&stage.from, "`from`")];
    for step in stage.leaf_steps() {
        if let StepKind::Run(r) = &step.kind {
            for m in &r.mounts {
                if let MountKind::Bind { from: Some(f), .. }
                | MountKind::Cache { from: Some(f), .. } = &m.kind
                {
                    single.push((f, "a mount's `from`"));
                }
            }
        }
    }
    for (from, what) in single {
        if options.named_context(&from.value).is_some() {
            continue;
        }
        if let Some(m) = spec.matrix(&from.value) {
            return Err(one_variant_please(m, from.pos, what));
        }
    }
    Ok(())
}
