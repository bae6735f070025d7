//! The spec file exactly as written: serde types that mirror the YAML.
//!
//! These types are both the parser (serde) and the JSON Schema (schemars),
//! so the published schema cannot drift from what is accepted. They keep
//! source positions (`Spanned`) wherever a later check may need to point at
//! a value. Checks that span several fields live in `validate`, which turns
//! this syntax into the typed `model`.

mod values;

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{CacheSharing, Command, Network, Pos};
pub use values::{Map, INVALID_MODE, MAX_STAGES};

/// A stage `matrix`: name → values.
pub type Matrix = Map<Spanned<Vec<Scalar>>>;

/// The whole file.
#[derive(Debug, JsonSchema)]
#[schemars(
    title = "Stagecraft build spec",
    extend("patternProperties" = {"^x-": {"description": "Free for YAML anchors; ignored."}})
)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Spec format version; must be 1.
    #[schemars(with = "u32")]
    pub version: Option<Spanned<u32>>,
    /// Declared build args and their defaults (`${NAME}` in the spec).
    pub args: Option<Map<Spanned<String>>>,
    /// The stages, in order. A stage name is `[a-z0-9][a-z0-9._-]*`.
    pub stages: Option<Map<Spanned<StageSyntax>>>,
    /// The stage built by default; else the last stage.
    #[schemars(with = "Option<String>")]
    pub target: Option<Spanned<String>>,
    /// Which lint rules `stagecraft check` and `--call=check` apply (docs/lint.md).
    pub lint: Option<LintSyntax>,
}

/// The linter's settings for this spec.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LintSyntax {
    /// Rules not to apply, by name (`UnusedArg`), or `all`.
    #[schemars(with = "Option<Vec<String>>")]
    pub skip: Option<Vec<Spanned<String>>>,
    /// Report lint warnings as errors: `stagecraft check` and `--call=check` fail.
    #[schemars(with = "Option<bool>")]
    pub error: Option<Spanned<bool>>,
}

/// Why the file could not be read as a [`SpecFile`].
#[derive(Debug)]
pub enum ReadError {
    Yaml(serde_saphyr::Error),
    /// More than [`MAX_STAGES`] stages; where the first one too many is.
    TooManyStages(Pos),
}

impl SpecFile {
    /// Reads the file; stops at the first stage over [`MAX_STAGES`], so an
    /// oversized spec costs no more than that many stages.
    pub fn read(text: &str, options: serde_saphyr::Options) -> Result<SpecFile, ReadError> {
        let over = std::cell::Cell::new(None);
        let read = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
            de::DeserializeSeed::deserialize(FileSeed { over: &over }, de)
        });
        match (read, over.get()) {
            (_, Some(at)) => Err(ReadError::TooManyStages(at)),
            (Ok(file), None) => Ok(file),
            (Err(e), None) => Err(ReadError::Yaml(e)),
        }
    }
}

const TOP_LEVEL_KEYS: &[&str] = &["version", "args", "stages", "target", "lint"];

/// Reads a [`SpecFile`], noting in `over` where a stage too many is.
struct FileSeed<'c> {
    over: &'c std::cell::Cell<Option<Pos>>,
}

// Hand-written so that `x-*` keys (anchor storage) are skipped while every
// other unknown key is still an error; `#[serde(flatten)]` would do the
// former but lose the source positions of every value.
impl<'de> de::DeserializeSeed<'de> for FileSeed<'_> {
    type Value = SpecFile;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<SpecFile, D::Error> {
        struct FileVisitor<'c> {
            over: &'c std::cell::Cell<Option<Pos>>,
        }
        impl<'de> Visitor<'de> for FileVisitor<'_> {
            type Value = SpecFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping with `version` and `stages`")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SpecFile, A::Error> {
                let mut file = SpecFile {
                    version: None,
                    args: None,
                    stages: None,
                    target: None,
                    lint: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => file.version = Some(map.next_value()?),
                        "args" => file.args = Some(map.next_value()?),
                        "stages" => {
                            let capped = values::CappedMap::new(MAX_STAGES, Some(self.over));
                            file.stages = Some(map.next_value_seed(capped)?);
                        }
                        "target" => file.target = Some(map.next_value()?),
                        "lint" => file.lint = Some(map.next_value()?),
                        k if k.starts_with("x-") => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                        k => return Err(de::Error::unknown_field(k, TOP_LEVEL_KEYS)),
                    }
                }
                Ok(file)
            }
        }
        deserializer.deserialize_map(FileVisitor { over: self.over })
    }
}

/// One stage: a base and the steps that build on it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StageSyntax {
    /// An image reference, the name of another stage, or `scratch`.
    #[schemars(with = "String")]
    pub from: Option<Spanned<String>>,
    /// Platform the stage runs on, e.g. `${BUILDPLATFORM}`; default: the target platform.
    #[schemars(with = "Option<String>")]
    pub platform: Option<Spanned<String>>,
    /// Shown by `--call targets`.
    pub description: Option<String>,
    /// Working directory for the following steps and the image (created if missing).
    #[schemars(with = "Option<String>")]
    pub workdir: Option<Spanned<String>>,
    /// Environment for every step and the image.
    pub env: Option<Map<Spanned<String>>>,
    /// User (`name`, `uid`, `uid:gid`) for every step and the image.
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    /// Shell for string-form `run` steps; default `[/bin/sh, -c]`.
    #[schemars(with = "Option<Vec<String>>")]
    pub shell: Option<Spanned<Vec<String>>>,
    #[schemars(with = "Option<Vec<StepSyntax>>")]
    pub steps: Option<Vec<Spanned<StepSyntax>>>,
    /// OCI image config of this stage when it is the result.
    pub image: Option<ImageSyntax>,
    /// Build one stage per combination of these values (name → list),
    /// each seeing its values as args; named `<stage>-<value>-<value>…`.
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<Scalar>>>")]
    pub matrix: Option<Spanned<Matrix>>,
}

/// One step. Exactly one of `run`, `copy`, `add`, `mkdir`, `write`, `remove`
/// says what it is; the other keys are that kind's options.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSyntax {
    /// A command: a string runs in the stage's shell, a list is exec form.
    #[schemars(with = "Option<Command>")]
    pub run: Option<Spanned<Command>>,
    /// Path(s) to copy, from the build context unless `from:` is given.
    #[schemars(with = "Option<OneOrMany>")]
    pub copy: Option<Spanned<OneOrMany>>,
    /// A remote file (`url`) or git repository (`git`) to add.
    #[schemars(with = "Option<AddSourceSyntax>")]
    pub add: Option<Spanned<AddSourceSyntax>>,
    /// A directory to create (with parents).
    #[schemars(with = "Option<String>")]
    pub mkdir: Option<Spanned<String>>,
    /// A file to write with `content`.
    #[schemars(with = "Option<String>")]
    pub write: Option<Spanned<String>>,
    /// Path(s) to remove (wildcards allowed).
    #[schemars(with = "Option<OneOrMany>")]
    pub remove: Option<Spanned<OneOrMany>>,
    /// Named branches of steps that run at the same time from the stage's
    /// filesystem at this point; their changes are combined (a later
    /// branch wins where two write the same path).
    #[schemars(with = "Option<std::collections::BTreeMap<String, Vec<StepSyntax>>>")]
    pub parallel: Option<Spanned<Branches>>,

    /// run: extra environment for this step.
    pub env: Option<Map<Spanned<String>>>,
    /// run: working directory for this step.
    #[schemars(with = "Option<String>")]
    pub workdir: Option<Spanned<String>>,
    /// run: user for this step.
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    /// run: network mode.
    #[schemars(with = "Option<Network>")]
    pub network: Option<Spanned<Network>>,
    /// run: security mode (`insecure` needs the daemon's entitlement).
    #[schemars(with = "Option<SecurityMode>")]
    pub security: Option<Spanned<SecurityMode>>,
    /// run: mounts for the duration of the step.
    #[schemars(with = "Option<Vec<MountSyntax>>")]
    pub mounts: Option<Vec<Spanned<MountSyntax>>>,
    /// run: shorthand for cache mounts at these paths.
    #[schemars(with = "Option<Vec<String>>")]
    pub cache: Option<Vec<Spanned<String>>>,

    /// copy: a stage, an image reference or a named context to copy from.
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// copy/add: destination (relative to the working directory); default `.`.
    #[schemars(with = "Option<String>")]
    pub to: Option<Spanned<String>>,
    /// copy: only paths matching these patterns.
    #[schemars(with = "Option<Vec<String>>")]
    pub include: Option<Vec<Spanned<String>>>,
    /// copy: leave out paths matching these patterns.
    #[schemars(with = "Option<Vec<String>>")]
    pub exclude: Option<Vec<Spanned<String>>>,
    /// copy: keep the sources' directory structure under `to`.
    #[schemars(with = "Option<bool>")]
    pub parents: Option<Spanned<bool>>,
    /// copy/add/mkdir/write: owner `user[:group]`.
    #[schemars(with = "Option<String>")]
    pub chown: Option<Spanned<String>>,
    /// copy/add: permission bits, octal (`"0755"`).
    #[schemars(with = "Option<Mode>")]
    pub chmod: Option<Spanned<Mode>>,
    /// copy: put the files in an independent layer (rebases without invalidation).
    #[schemars(with = "Option<bool>")]
    pub link: Option<Spanned<bool>>,
    /// copy: the sources are ELF executables; copy each with every shared
    /// library it needs (resolved as the dynamic loader would), all at
    /// their own paths.
    #[schemars(with = "Option<bool>")]
    pub libraries: Option<Spanned<bool>>,

    /// write: the file's content.
    #[schemars(with = "Option<String>")]
    pub content: Option<Spanned<String>>,
    /// write/mkdir: permission bits, octal.
    #[schemars(with = "Option<Mode>")]
    pub mode: Option<Spanned<Mode>>,
}

/// The branches of a `parallel` step: name → steps.
pub type Branches = Map<Spanned<Vec<Spanned<StepSyntax>>>>;

/// Where an `add` step gets its content.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSourceSyntax {
    /// An http(s) URL.
    #[schemars(with = "Option<String>")]
    pub url: Option<Spanned<String>>,
    /// Expected digest of the download, `sha256:<hex>`.
    #[schemars(with = "Option<String>")]
    pub checksum: Option<Spanned<String>>,
    /// A git repository URL.
    #[schemars(with = "Option<String>")]
    pub git: Option<Spanned<String>>,
    /// Branch, tag or commit of `git`.
    #[schemars(rename = "ref", with = "Option<String>")]
    #[serde(rename = "ref")]
    pub git_ref: Option<Spanned<String>>,
    /// Keep the `.git` directory.
    pub keep_git_dir: Option<bool>,
}

/// A mount for one `run` step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MountSyntax {
    #[serde(rename = "type")]
    #[schemars(rename = "type", with = "MountType")]
    pub kind: Spanned<MountType>,
    /// Where the mount appears in the step.
    #[schemars(with = "Option<String>")]
    pub target: Option<Spanned<String>>,
    /// cache: cache id (default: target); secret/ssh: id (secret: required).
    #[schemars(with = "Option<String>")]
    pub id: Option<Spanned<String>>,
    /// cache: how concurrent builds share it.
    #[schemars(with = "Option<CacheSharing>")]
    pub sharing: Option<Spanned<CacheSharing>>,
    /// secret: expose as this environment variable instead of a file.
    #[schemars(with = "Option<String>")]
    pub env: Option<Spanned<String>>,
    /// secret/ssh: fail when the client does not provide it.
    pub required: Option<bool>,
    /// tmpfs: size limit in bytes, or with a unit (`64m`).
    #[schemars(with = "Option<String>")]
    pub size: Option<Spanned<String>>,
    /// bind/cache: stage, image or named context the content comes from.
    #[schemars(with = "Option<String>")]
    pub from: Option<Spanned<String>>,
    /// bind: path inside `from`.
    #[schemars(with = "Option<String>")]
    pub source: Option<Spanned<String>>,
    /// bind: writable (writes are discarded after the step).
    pub rw: Option<bool>,
    /// secret/ssh: the file's permission bits; cache: the new cache
    /// directory's. Octal.
    #[schemars(with = "Option<Mode>")]
    pub mode: Option<Spanned<Mode>>,
    /// secret/ssh/cache: owner uid (cache: of the new cache directory).
    pub uid: Option<u32>,
    /// secret/ssh/cache: owner gid.
    pub gid: Option<u32>,
    /// cache: the step sees the cache but cannot change it.
    pub readonly: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Cache,
    Secret,
    Ssh,
    Tmpfs,
    Bind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecurityMode {
    Sandbox,
    Insecure,
}

/// The OCI image config of a stage when it is the build result.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageSyntax {
    #[schemars(with = "Option<Command>")]
    pub entrypoint: Option<Spanned<Command>>,
    #[schemars(with = "Option<Command>")]
    pub cmd: Option<Spanned<Command>>,
    pub env: Option<Map<Spanned<String>>>,
    #[schemars(with = "Option<String>")]
    pub user: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub workdir: Option<Spanned<String>>,
    /// Ports: `8080`, `"53/udp"`.
    #[schemars(with = "Option<Vec<Port>>")]
    pub expose: Option<Vec<Spanned<Port>>>,
    pub labels: Option<Map<Spanned<String>>>,
    #[schemars(with = "Option<Vec<String>>")]
    pub volumes: Option<Vec<Spanned<String>>>,
    #[schemars(with = "Option<String>")]
    pub stop_signal: Option<Spanned<String>>,
    pub healthcheck: Option<HealthcheckSyntax>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckSyntax {
    /// `[CMD, arg…]`, `[CMD-SHELL, "cmd"]` or `[NONE]`.
    #[schemars(with = "Vec<String>")]
    pub test: Spanned<Vec<String>>,
    /// Durations like `30s`, `1m30s`, `500ms`.
    #[schemars(with = "Option<String>")]
    pub interval: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub start_period: Option<Spanned<String>>,
    #[schemars(with = "Option<String>")]
    pub start_interval: Option<Spanned<String>>,
    pub retries: Option<u32>,
}

/// One string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(transparent)]
pub struct OneOrMany(#[schemars(with = "StringOrList")] pub Vec<String>);

#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)] // schema only
enum StringOrList {
    One(String),
    Many(Vec<String>),
}

/// Permission bits written in octal: `"0755"`, `"644"` or `755`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, JsonSchema)]
#[schemars(with = "StringOrInt")]
pub struct Mode(pub u32);

/// A word that YAML may read as a number (`386`): kept as written.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(with = "StringOrInt")]
pub struct Scalar(pub String);

/// An exposed port: `8080` or `"53/udp"`.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(with = "StringOrInt")]
pub struct Port(pub String);

#[derive(JsonSchema)]
#[schemars(untagged)]
#[allow(dead_code)] // schema only
enum StringOrInt {
    Text(String),
    Number(u32),
}
