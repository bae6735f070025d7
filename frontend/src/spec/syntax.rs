//! The spec file exactly as written: serde types that mirror the YAML.
//!
//! These types are both the parser (serde) and the JSON Schema (schemars),
//! so the published schema cannot drift from what is accepted. They keep
//! source positions (`Spanned`) wherever a later check may need to point at
//! a value. Checks that span several fields live in `validate`, which turns
//! this syntax into the typed `model`.

use std::fmt;
use std::marker::PhantomData;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{CacheSharing, Command, Network};

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
}

const TOP_LEVEL_KEYS: &[&str] = &["version", "args", "stages", "target"];

// Hand-written so that `x-*` keys (anchor storage) are skipped while every
// other unknown key is still an error; `#[serde(flatten)]` would do the
// former but lose the source positions of every value.
impl<'de> Deserialize<'de> for SpecFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FileVisitor;
        impl<'de> Visitor<'de> for FileVisitor {
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
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => file.version = Some(map.next_value()?),
                        "args" => file.args = Some(map.next_value()?),
                        "stages" => {
                            let stages = CappedMap::new(MAX_STAGES, "stages");
                            file.stages = Some(map.next_value_seed(stages)?);
                        }
                        "target" => file.target = Some(map.next_value()?),
                        k if k.starts_with("x-") => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                        k => return Err(de::Error::unknown_field(k, TOP_LEVEL_KEYS)),
                    }
                }
                Ok(file)
            }
        }
        deserializer.deserialize_map(FileVisitor)
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

    /// write: the file's content.
    #[schemars(with = "Option<String>")]
    pub content: Option<Spanned<String>>,
    /// write/mkdir: permission bits, octal.
    #[schemars(with = "Option<Mode>")]
    pub mode: Option<Spanned<Mode>>,
}

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

/// An ordered mapping (stages, env, labels): YAML order is kept, because
/// stage order and env order mean something. Duplicate keys are rejected by
/// the YAML reader itself.
#[derive(Debug)]
pub struct Map<V>(pub Vec<(Spanned<String>, V)>);

// Values are always `Spanned`; the schema describes what is inside.
impl<T: JsonSchema> JsonSchema for Map<Spanned<T>> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Map_of_{}", T::schema_name()).into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values = generator.subschema_for::<T>();
        schemars::json_schema!({"type": "object", "additionalProperties": values})
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Map<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(CappedMap::new(usize::MAX, "entries"), deserializer)
    }
}

/// More stages than any hand-written spec has; the bound keeps checking
/// and compiling (which follow stage dependencies) cheap.
pub const MAX_STAGES: usize = 1_000;

/// Marks the position in a [`CappedMap`] error.
pub const OVER_LIMIT_AT: &str = "the first one over is at";

/// Reads a [`Map`] of at most `max` entries, refusing the next one as soon
/// as it is seen, so an oversized map costs no more than `max` entries.
struct CappedMap<V> {
    max: usize,
    /// What the entries are, for the message.
    what: &'static str,
    values: PhantomData<V>,
}

impl<V> CappedMap<V> {
    fn new(max: usize, what: &'static str) -> Self {
        CappedMap {
            max,
            what,
            values: PhantomData,
        }
    }
}

impl<'de, V: Deserialize<'de>> de::DeserializeSeed<'de> for CappedMap<V> {
    type Value = Map<V>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Map<V>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, V: Deserialize<'de>> Visitor<'de> for CappedMap<V> {
    type Value = Map<V>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Map<V>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if entries.len() == self.max {
                // The reader places custom errors at the map's start; the
                // message says where the first entry too many is.
                return Err(de::Error::custom(format!(
                    "the spec has more than {} {}; {OVER_LIMIT_AT} {}:{}",
                    self.max,
                    self.what,
                    key.referenced.line(),
                    key.referenced.column()
                )));
            }
            entries.push((key, map.next_value()?));
        }
        Ok(Map(entries))
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = Command;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command string or a list of arguments")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Command, E> {
                Ok(Command::Shell(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Command, A::Error> {
                string_list(seq).map(Command::Exec)
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<OneOrMany, A::Error> {
                string_list(seq).map(OneOrMany)
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

fn string_list<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element::<String>()? {
        items.push(item);
    }
    Ok(items)
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeVisitor;
        impl<'de> Visitor<'de> for ModeVisitor {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("octal permission bits such as \"0755\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Mode, E> {
                parse_octal_mode(v).map(Mode).ok_or_else(|| {
                    E::custom(format!(
                        "invalid mode `{v}`: expected octal permission bits such as \"0755\""
                    ))
                })
            }
            // YAML reads `755` as the integer 755; users mean octal.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Mode, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Mode, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(ModeVisitor)
    }
}

fn parse_octal_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PortVisitor;
        impl<'de> Visitor<'de> for PortVisitor {
            type Value = Port;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port such as 8080 or \"53/udp\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Port, E> {
                Ok(Port(v.to_string()))
            }
        }
        deserializer.deserialize_any(PortVisitor)
    }
}
