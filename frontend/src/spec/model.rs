//! The validated spec: what the compiler works from.
//!
//! Everything here has passed `validate`: stage names are known, steps are
//! typed by kind, and each value remembers where it was written so that
//! compile-time and build-time errors can point back at the YAML.

/// A 1-based line and column in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

impl<T> Located<T> {
    pub fn new(value: T, pos: Pos) -> Self {
        Located { value, pos }
    }
}

/// Lines `start..=end` of the spec, for source maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
}

#[derive(Debug, Clone)]
pub struct Spec {
    /// The file name as the user gave it (used in every message).
    pub file: String,
    /// The file's text, carried into the LLB source map.
    pub text: String,
    pub args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
    pub target: Option<Located<String>>,
}

impl Spec {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The stage built when no target is requested.
    pub fn default_target(&self) -> &str {
        match &self.target {
            Some(t) => &t.value,
            // validate guarantees at least one stage
            None => &self.stages[self.stages.len() - 1].name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl {
    pub name: String,
    pub default: String,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub pos: Pos,
    pub lines: LineRange,
    pub from: Located<String>,
    pub platform: Option<Located<String>>,
    pub description: Option<String>,
    pub workdir: Option<Located<String>>,
    pub env: Vec<(String, Located<String>)>,
    pub user: Option<Located<String>>,
    pub shell: Option<Vec<String>>,
    pub steps: Vec<Step>,
    pub image: ImageSection,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub pos: Pos,
    pub lines: LineRange,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Run(RunStep),
    Copy(CopyStep),
    Add(AddStep),
    Mkdir(MkdirStep),
    Write(WriteStep),
    Remove(RemoveStep),
}

impl StepKind {
    /// The Dockerfile-style instruction word used in progress names.
    pub fn verb(&self) -> &'static str {
        match self {
            StepKind::Run(_) => "RUN",
            StepKind::Copy(_) => "COPY",
            StepKind::Add(_) => "ADD",
            StepKind::Mkdir(_) => "MKDIR",
            StepKind::Write(_) => "WRITE",
            StepKind::Remove(_) => "REMOVE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run through the stage's shell.
    Shell(String),
    /// Run as given.
    Exec(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Default,
    None,
    Host,
}

#[derive(Debug, Clone)]
pub struct RunStep {
    pub command: Command,
    pub env: Vec<(String, Located<String>)>,
    pub workdir: Option<Located<String>>,
    pub user: Option<Located<String>>,
    pub network: Option<Network>,
    pub insecure: bool,
    pub mounts: Vec<Mount>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

#[derive(Debug, Clone)]
pub struct Mount {
    pub pos: Pos,
    pub kind: MountKind,
}

#[derive(Debug, Clone)]
pub enum MountKind {
    Cache {
        target: Located<String>,
        id: Option<String>,
        sharing: CacheSharing,
        from: Option<Located<String>>,
        source: Option<String>,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Secret {
        id: String,
        target: Option<String>,
        env: Option<String>,
        required: bool,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Ssh {
        id: String,
        target: Option<String>,
        required: bool,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Tmpfs {
        target: Located<String>,
        size: Option<u64>,
    },
    Bind {
        target: Located<String>,
        from: Option<Located<String>>,
        source: Option<Located<String>>,
        rw: bool,
    },
}

#[derive(Debug, Clone)]
pub struct CopyStep {
    pub sources: Vec<Located<String>>,
    pub from: Option<Located<String>>,
    pub to: Option<Located<String>>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub parents: bool,
    pub chown: Option<Located<String>>,
    pub chmod: Option<u32>,
    pub link: bool,
}

#[derive(Debug, Clone)]
pub enum AddSource {
    Url {
        url: Located<String>,
        checksum: Option<String>,
    },
    Git {
        remote: Located<String>,
        reference: Option<String>,
        keep_git_dir: bool,
    },
}

#[derive(Debug, Clone)]
pub struct AddStep {
    pub source: AddSource,
    pub to: Option<Located<String>>,
    pub chown: Option<Located<String>>,
    pub chmod: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct MkdirStep {
    pub path: Located<String>,
    pub mode: Option<u32>,
    pub chown: Option<Located<String>>,
}

#[derive(Debug, Clone)]
pub struct WriteStep {
    pub path: Located<String>,
    pub content: String,
    pub mode: Option<u32>,
    pub chown: Option<Located<String>>,
}

#[derive(Debug, Clone)]
pub struct RemoveStep {
    pub paths: Vec<Located<String>>,
}

/// The `image:` section: the OCI config fields a stage sets when it is the result.
#[derive(Debug, Clone, Default)]
pub struct ImageSection {
    pub entrypoint: Option<Command>,
    pub cmd: Option<Command>,
    pub env: Vec<(String, Located<String>)>,
    pub user: Option<Located<String>>,
    pub workdir: Option<Located<String>>,
    pub expose: Vec<String>,
    pub labels: Vec<(String, Located<String>)>,
    pub volumes: Vec<Located<String>>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Healthcheck>,
}

/// Durations are in nanoseconds, as the OCI config stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub start_interval: Option<u64>,
    pub retries: Option<u32>,
}
