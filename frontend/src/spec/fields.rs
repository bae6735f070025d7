//! Which fields take `${ARG}`: one description, used everywhere.
//!
//! [`ARG_FIELDS`] names every field whose value is substituted, and
//! [`LITERAL_FIELDS`] every field that is taken as written; a test holds the
//! two against the JSON Schema, so a new field cannot be left out. The walk
//! [`each_arg_text`] visits exactly the `ARG_FIELDS` of a stage, and is the
//! one place that knows where they sit in the model: validation checks the
//! references with it, resolution substitutes with it, `outline` collects
//! the args a target uses with it, and the schema says "takes args" for them.

use super::error::Problem;
use super::model::*;

/// A field of the spec, named as the JSON Schema names it: the schema
/// type that holds it and its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Field {
    pub owner: &'static str,
    pub key: &'static str,
}

const fn field(owner: &'static str, key: &'static str) -> Field {
    Field { owner, key }
}

/// How a field's `${…}` are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Substitution {
    /// Every name must be a declared (or built-in) arg.
    Args,
    /// `env` values: args, and also variables set before this one
    /// (`PATH: /opt/bin:${PATH}`), which only the compiler knows.
    ArgsThenEnv,
}

const STAGE: &str = "StageSyntax";
const STEP: &str = "StepSyntax";
const MOUNT: &str = "MountSyntax";
const ADD: &str = "AddSourceSyntax";
const IMAGE: &str = "ImageSyntax";
const HEALTHCHECK: &str = "HealthcheckSyntax";
const FILE: &str = "SpecFile";
const LINT: &str = "LintSyntax";

/// Every field that takes `${ARG}`.
pub const ARG_FIELDS: &[(Field, Substitution)] = &[
    (field(STAGE, "from"), Substitution::Args),
    (field(STAGE, "platform"), Substitution::Args),
    (field(STAGE, "workdir"), Substitution::Args),
    (field(STAGE, "env"), Substitution::ArgsThenEnv),
    (field(STAGE, "user"), Substitution::Args),
    (field(STEP, "copy"), Substitution::Args),
    (field(STEP, "mkdir"), Substitution::Args),
    (field(STEP, "write"), Substitution::Args),
    (field(STEP, "remove"), Substitution::Args),
    (field(STEP, "env"), Substitution::ArgsThenEnv),
    (field(STEP, "workdir"), Substitution::Args),
    (field(STEP, "user"), Substitution::Args),
    (field(STEP, "cache"), Substitution::Args),
    (field(STEP, "from"), Substitution::Args),
    (field(STEP, "to"), Substitution::Args),
    (field(STEP, "include"), Substitution::Args),
    (field(STEP, "exclude"), Substitution::Args),
    (field(STEP, "chown"), Substitution::Args),
    (field(STEP, "content"), Substitution::Args),
    (field(MOUNT, "target"), Substitution::Args),
    (field(MOUNT, "id"), Substitution::Args),
    (field(MOUNT, "from"), Substitution::Args),
    (field(MOUNT, "source"), Substitution::Args),
    (field(ADD, "url"), Substitution::Args),
    (field(ADD, "checksum"), Substitution::Args),
    (field(ADD, "git"), Substitution::Args),
    (field(ADD, "ref"), Substitution::Args),
    (field(IMAGE, "env"), Substitution::ArgsThenEnv),
    (field(IMAGE, "user"), Substitution::Args),
    (field(IMAGE, "workdir"), Substitution::Args),
    (field(IMAGE, "expose"), Substitution::Args),
    (field(IMAGE, "labels"), Substitution::Args),
    (field(IMAGE, "volumes"), Substitution::Args),
    (field(IMAGE, "stop_signal"), Substitution::Args),
];

/// Every field taken as written, and why: commands are expanded by the
/// shell, names and numbers are not text, and the rest is read before any
/// arg has a value.
pub const LITERAL_FIELDS: &[Field] = &[
    // Read before args have values.
    field(FILE, "version"),
    field(FILE, "args"),
    field(FILE, "stages"),
    field(FILE, "target"),
    field(FILE, "lint"),
    field(LINT, "skip"),
    field(LINT, "error"),
    field(STAGE, "description"),
    field(STAGE, "steps"),
    field(STAGE, "image"),
    field(STAGE, "matrix"),
    // Commands: the shell expands them (a step's env holds the args it mentions).
    field(STEP, "run"),
    field(STAGE, "shell"),
    field(IMAGE, "entrypoint"),
    field(IMAGE, "cmd"),
    field(HEALTHCHECK, "test"),
    // Kinds, switches, numbers and names.
    field(STEP, "add"),
    field(STEP, "parallel"),
    field(STEP, "network"),
    field(STEP, "security"),
    field(STEP, "mounts"),
    field(STEP, "parents"),
    field(STEP, "chmod"),
    field(STEP, "link"),
    field(STEP, "libraries"),
    field(STEP, "mode"),
    field(MOUNT, "type"),
    field(MOUNT, "sharing"),
    field(MOUNT, "env"),
    field(MOUNT, "required"),
    field(MOUNT, "size"),
    field(MOUNT, "rw"),
    field(MOUNT, "mode"),
    field(MOUNT, "uid"),
    field(MOUNT, "gid"),
    field(MOUNT, "readonly"),
    field(ADD, "keep_git_dir"),
    field(IMAGE, "healthcheck"),
    field(HEALTHCHECK, "interval"),
    field(HEALTHCHECK, "timeout"),
    field(HEALTHCHECK, "start_period"),
    field(HEALTHCHECK, "start_interval"),
    field(HEALTHCHECK, "retries"),
];

/// How `field` substitutes, if it takes args at all.
pub fn substitution(field: Field) -> Option<Substitution> {
    ARG_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map(|(_, how)| *how)
}

/// What [`each_arg_text`] calls for each text.
pub type Visit<'v> = dyn FnMut(Field, &mut Located<String>) -> Result<(), Problem> + 'v;

/// Calls `visit` on every text of `stage` that takes args, in file order
/// within each part, with the field it belongs to.
pub fn each_arg_text(stage: &mut Stage, visit: &mut Visit) -> Result<(), Problem> {
    visit(field(STAGE, "from"), &mut stage.from)?;
    opt(visit, field(STAGE, "platform"), &mut stage.platform)?;
    opt(visit, field(STAGE, "workdir"), &mut stage.workdir)?;
    values(visit, field(STAGE, "env"), &mut stage.env)?;
    opt(visit, field(STAGE, "user"), &mut stage.user)?;
    for step in &mut stage.steps {
        step_texts(&mut step.kind, visit)?;
    }
    image_texts(&mut stage.image, visit)
}

fn step_texts(kind: &mut StepKind, visit: &mut Visit) -> Result<(), Problem> {
    match kind {
        StepKind::Run(r) => {
            values(visit, field(STEP, "env"), &mut r.env)?;
            opt(visit, field(STEP, "workdir"), &mut r.workdir)?;
            opt(visit, field(STEP, "user"), &mut r.user)?;
            for m in &mut r.mounts {
                match &mut m.kind {
                    MountKind::Cache { target, .. } if m.shorthand => {
                        visit(field(STEP, "cache"), target)?
                    }
                    kind => mount_texts(kind, visit)?,
                }
            }
        }
        StepKind::Copy(c) => {
            list(visit, field(STEP, "copy"), &mut c.sources)?;
            opt(visit, field(STEP, "from"), &mut c.from)?;
            opt(visit, field(STEP, "to"), &mut c.to)?;
            list(visit, field(STEP, "include"), &mut c.include)?;
            list(visit, field(STEP, "exclude"), &mut c.exclude)?;
            opt(visit, field(STEP, "chown"), &mut c.chown)?;
        }
        StepKind::Add(a) => {
            match &mut a.source {
                AddSource::Url { url, checksum } => {
                    visit(field(ADD, "url"), url)?;
                    opt(visit, field(ADD, "checksum"), checksum)?;
                }
                AddSource::Git {
                    remote, reference, ..
                } => {
                    visit(field(ADD, "git"), remote)?;
                    opt(visit, field(ADD, "ref"), reference)?;
                }
            }
            opt(visit, field(STEP, "to"), &mut a.to)?;
            opt(visit, field(STEP, "chown"), &mut a.chown)?;
        }
        StepKind::Mkdir(m) => {
            visit(field(STEP, "mkdir"), &mut m.path)?;
            opt(visit, field(STEP, "chown"), &mut m.chown)?;
        }
        StepKind::Write(w) => {
            visit(field(STEP, "write"), &mut w.path)?;
            visit(field(STEP, "content"), &mut w.content)?;
            opt(visit, field(STEP, "chown"), &mut w.chown)?;
        }
        StepKind::Remove(r) => list(visit, field(STEP, "remove"), &mut r.paths)?,
        StepKind::Parallel(group) => {
            for step in group.branches.iter_mut().flat_map(|b| b.steps.iter_mut()) {
                step_texts(&mut step.kind, visit)?;
            }
        }
    }
    Ok(())
}

fn mount_texts(kind: &mut MountKind, visit: &mut Visit) -> Result<(), Problem> {
    let (target, id, from, source) = match kind {
        MountKind::Cache {
            target,
            id,
            from,
            source,
            ..
        } => (Some(target), id.as_mut(), from.as_mut(), source.as_mut()),
        MountKind::Secret { id, target, .. } => (target.as_mut(), Some(id), None, None),
        MountKind::Ssh { id, target, .. } => (target.as_mut(), id.as_mut(), None, None),
        MountKind::Tmpfs { target, .. } => (Some(target), None, None, None),
        MountKind::Bind {
            target,
            from,
            source,
            ..
        } => (Some(target), None, from.as_mut(), source.as_mut()),
    };
    for (key, text) in [
        ("target", target),
        ("id", id),
        ("from", from),
        ("source", source),
    ] {
        if let Some(text) = text {
            visit(field(MOUNT, key), text)?;
        }
    }
    Ok(())
}

fn image_texts(image: &mut ImageSection, visit: &mut Visit) -> Result<(), Problem> {
    values(visit, field(IMAGE, "env"), &mut image.env)?;
    opt(visit, field(IMAGE, "user"), &mut image.user)?;
    opt(visit, field(IMAGE, "workdir"), &mut image.workdir)?;
    list(visit, field(IMAGE, "expose"), &mut image.expose)?;
    values(visit, field(IMAGE, "labels"), &mut image.labels)?;
    list(visit, field(IMAGE, "volumes"), &mut image.volumes)?;
    opt(visit, field(IMAGE, "stop_signal"), &mut image.stop_signal)
}

fn opt(visit: &mut Visit, f: Field, text: &mut Option<Located<String>>) -> Result<(), Problem> {
    match text {
        Some(t) => visit(f, t),
        None => Ok(()),
    }
}

fn list(visit: &mut Visit, f: Field, texts: &mut [Located<String>]) -> Result<(), Problem> {
    texts.iter_mut().try_for_each(|t| visit(f, t))
}

fn values(
    visit: &mut Visit,
    f: Field,
    map: &mut [(String, Located<String>)],
) -> Result<(), Problem> {
    map.iter_mut().try_for_each(|(_, t)| visit(f, t))
}

/// Adds "Takes `${ARG}`." to the description of every arg field in a
/// generated schema.
pub fn mark_in_schema(schema: &mut schemars::Schema) {
    let Some(defs) = schema.get_mut("$defs").and_then(|d| d.as_object_mut()) else {
        return;
    };
    for (f, how) in ARG_FIELDS {
        let Some(property) = defs
            .get_mut(f.owner)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(f.key))
        else {
            continue;
        };
        let note = match how {
            Substitution::Args => "Takes `${ARG}`.",
            Substitution::ArgsThenEnv => {
                "Takes `${ARG}`, and `${VAR}` of environment variables set before it."
            }
        };
        let description = match property.get("description").and_then(|d| d.as_str()) {
            Some(d) => format!("{d} {note}"),
            None => note.to_string(),
        };
        property["description"] = serde_json::Value::String(description);
    }
}
