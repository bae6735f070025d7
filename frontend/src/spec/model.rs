//! The validated spec, and (after [`crate::resolve`]) the resolved one:
//! the same types either way.
//!
//! Everything here has passed `validate`: stage names are known, steps are
//! typed by kind, and each value remembers where it was written so that
//! compile-time and build-time errors can point back at the YAML. Fields
//! that take `${ARG}` are `Located<String>`; [`super::fields`] lists them,
//! and resolution substitutes them in place.

pub use crate::llb::{CacheSharing, Network};

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
    /// Matrix stages appear here as their variants.
    pub stages: Vec<Stage>,
    pub matrices: Vec<Matrix>,
    pub target: Option<Located<String>>,
    /// The `lint:` settings; read by [`crate::lint`] only.
    pub lint: LintSettings,
}

/// Which lint rules apply, as the spec's `lint:` says. Rule names are
/// checked by the linter, which knows them.
#[derive(Debug, Clone, Default)]
pub struct LintSettings {
    pub skip: Vec<Located<String>>,
    /// `error: true`, and where it is written.
    pub error: Option<Located<bool>>,
}

impl Spec {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// The matrix stage of this name, if there is one.
    pub fn matrix(&self, name: &str) -> Option<&Matrix> {
        self.matrices.iter().find(|m| m.name == name)
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
    /// When the stage is one combination of a `matrix`.
    pub variant: Option<Variant>,
}

/// One combination of a stage's `matrix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    /// The name the spec gives the stage (`build` for `build-hello-386`).
    pub matrix: String,
    /// Each matrix key with its value here, in the matrix's order: args of
    /// this stage alone.
    pub values: Vec<(String, String)>,
}

/// A stage with a `matrix`, and the stages it expands to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub name: String,
    pub pos: Pos,
    pub variants: Vec<String>,
}

impl Stage {
    /// Every step that does something, in file order: a parallel group's
    /// branch steps in place of the group.
    pub fn leaf_steps(&self) -> Vec<&Step> {
        let mut steps = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            match &step.kind {
                StepKind::Parallel(group) => {
                    steps.extend(group.branches.iter().flat_map(|b| b.steps.iter()))
                }
                _ => steps.push(step),
            }
        }
        steps
    }

    /// Every `from:` of the stage: its base, and the sources of its copies
    /// and mounts (each may name a stage, an image or a named context).
    pub fn references(&self) -> Vec<&Located<String>> {
        let mut refs = vec![&self.from];
        for step in self.leaf_steps() {
            match &step.kind {
                StepKind::Copy(c) => refs.extend(c.from.iter()),
                StepKind::Run(r) => refs.extend(r.mounts.iter().filter_map(|m| match &m.kind {
                    MountKind::Bind { from, .. } | MountKind::Cache { from, .. } => from.as_ref(),
                    _ => None,
                })),
                _ => {}
            }
        }
        refs
    }
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
    Parallel(ParallelStep),
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
            StepKind::Parallel(_) => "PARALLEL",
        }
    }
}

/// A command: run through the stage's shell, or exec'd as given.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema)]
#[schemars(untagged)]
pub enum Command {
    /// Run through the stage's shell.
    Shell(String),
    /// Run as given.
    Exec(Vec<String>),
}

impl Command {
    /// The command as one text, for finding the args it mentions.
    pub fn text(&self) -> String {
        match self {
            Command::Shell(t) => t.clone(),
            Command::Exec(list) => list.join(" "),
        }
    }
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

#[derive(Debug, Clone)]
pub struct Mount {
    pub pos: Pos,
    pub kind: MountKind,
    /// Written in a step's `cache: [paths]` rather than under `mounts:`.
    pub shorthand: bool,
}

/// Owner and permission bits of what a mount puts in the step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MountOwner {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum MountKind {
    Cache {
        target: Located<String>,
        /// Default: the target path.
        id: Option<Located<String>>,
        sharing: CacheSharing,
        from: Option<Located<String>>,
        source: Option<Located<String>>,
        /// Of the cache directory when it is created.
        owner: MountOwner,
        readonly: bool,
    },
    Secret {
        id: Located<String>,
        /// Default (without `env`): `/run/secrets/<id>`.
        target: Option<Located<String>>,
        env: Option<String>,
        required: bool,
        owner: MountOwner,
    },
    Ssh {
        /// Default: `default`.
        id: Option<Located<String>>,
        target: Option<Located<String>>,
        required: bool,
        owner: MountOwner,
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
    pub include: Vec<Located<String>>,
    pub exclude: Vec<Located<String>>,
    pub parents: bool,
    pub chown: Option<Located<String>>,
    pub chmod: Option<u32>,
    pub link: bool,
    /// Copy the (ELF executable) sources with their shared libraries.
    pub libraries: bool,
}

#[derive(Debug, Clone)]
pub enum AddSource {
    Url {
        url: Located<String>,
        checksum: Option<Located<String>>,
    },
    Git {
        remote: Located<String>,
        reference: Option<Located<String>>,
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
    pub content: Located<String>,
    pub mode: Option<u32>,
    pub chown: Option<Located<String>>,
}

#[derive(Debug, Clone)]
pub struct RemoveStep {
    pub paths: Vec<Located<String>>,
}

/// Named branches that each start from the stage's filesystem at this
/// step, run at the same time, and whose changes are then combined; where
/// two write the same path, the later branch (in file order) wins.
#[derive(Debug, Clone)]
pub struct ParallelStep {
    pub branches: Vec<Branch>,
}

#[derive(Debug, Clone)]
pub struct Branch {
    pub name: String,
    pub pos: Pos,
    pub steps: Vec<Step>,
}

/// The `image:` section: the OCI config fields a stage sets when it is the result.
#[derive(Debug, Clone, Default)]
pub struct ImageSection {
    pub entrypoint: Option<Command>,
    pub cmd: Option<Command>,
    pub env: Vec<(String, Located<String>)>,
    pub user: Option<Located<String>>,
    pub workdir: Option<Located<String>>,
    pub expose: Vec<Located<String>>,
    pub labels: Vec<(String, Located<String>)>,
    pub volumes: Vec<Located<String>>,
    pub stop_signal: Option<Located<String>>,
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
