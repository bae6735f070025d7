//! Spec → LLB. Only the stages the target needs are compiled; each becomes
//! a chain of states, and stages that do not use each other stay separate
//! branches of one graph, which BuildKit solves in parallel.
//!
//! Compilation is a pure function of the spec and [`CompileOptions`]: base
//! image configs come in through an [`ImageResolver`], so the same inputs
//! always give the same Definition bytes.

mod context;
mod outline;
mod scope;
mod stage;

use std::collections::{BTreeMap, BTreeSet};

use stagecraft_proto::pb;

use crate::image::ImageConfig;
use crate::llb::{self, Platform};
use crate::spec::{error::Problem, Pos, Spec, SpecError};

pub use outline::{outline, Outline, OutlineArg};
pub use scope::ArgScope;

/// What a build can take from outside instead of a stage or image:
/// `--build-context name=…`.
#[derive(Debug, Clone)]
pub enum NamedContext {
    /// `docker-image://ref`: this image instead.
    Image(String),
    /// A client directory, sent as the local source of this name.
    Local(String),
    /// A graph the caller passed in (gateway inputs), or a URL's source.
    State(llb::State),
    /// An image's filesystem and config that are not a registry reference
    /// (an OCI layout the client holds).
    ImageState(llb::State, Box<ImageConfig>),
}

/// Everything besides the spec that decides the result.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Stage to build; default the spec's `target`, else its last stage.
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub target_platform: Platform,
    pub build_platform: Platform,
    /// Name of the local source holding the build context.
    pub context_name: String,
    /// Patterns never transferred from the context (`.dockerignore`).
    pub context_excludes: Vec<String>,
    /// Session owning the local sources (gateway); `None` for `buildctl`.
    pub session_id: Option<String>,
    pub no_cache: bool,
    /// Stages whose steps always re-run (`--no-cache-filter`).
    pub no_cache_stages: BTreeSet<String>,
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// Default network of run steps (`--network`).
    pub network: llb::Network,
    /// `--add-host host=ip`.
    pub extra_hosts: Vec<(String, String)>,
    /// LLB capabilities of the daemon; `None` assumes all (offline compile).
    pub caps: Option<BTreeSet<String>>,
    /// Include the spec text and op locations in the Definition.
    pub source_map: bool,
    /// Prefix progress names with the stage's platform (`[linux/386 app
    /// 2/3]`), for builds of several platforms whose steps would otherwise
    /// look alike.
    pub platform_in_names: bool,
}

impl CompileOptions {
    pub fn new(platform: Platform) -> Self {
        CompileOptions {
            target: None,
            build_args: BTreeMap::new(),
            target_platform: platform.clone(),
            build_platform: platform,
            context_name: "context".to_string(),
            context_excludes: Vec::new(),
            session_id: None,
            no_cache: false,
            no_cache_stages: BTreeSet::new(),
            named_contexts: BTreeMap::new(),
            network: llb::Network::Default,
            extra_hosts: Vec::new(),
            caps: None,
            source_map: true,
            platform_in_names: false,
        }
    }
}

impl CompileOptions {
    /// The `--build-context` replacing `name` (a stage, an image or the
    /// build context), found under the name as written or its short image
    /// form (see [`crate::reference::context_key`]).
    pub fn named_context(&self, name: &str) -> Option<&NamedContext> {
        self.named_contexts.get(name).or_else(|| {
            self.named_contexts
                .get(&crate::reference::context_key(name))
        })
    }
}

/// A base image as the registry describes it.
#[derive(Debug, Clone, Default)]
pub struct BaseImage {
    /// Manifest digest to pin the reference to.
    pub digest: Option<String>,
    pub config: ImageConfig,
}

/// Where the spec asks for an image: the line that names it, and the
/// `--build-context` it comes from, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageOrigin {
    pub pos: Pos,
    /// The name of the `--build-context name=docker-image://…` that
    /// replaced what the spec wrote.
    pub context: Option<String>,
}

/// A base image a compilation looks up (see [`images_needed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// Normalized (`docker.io/library/debian:bookworm-slim`).
    pub reference: String,
    pub platform: Platform,
    /// The first place that asks for it, in compile order.
    pub origin: ImageOrigin,
}

/// Supplies base image configs. The gateway asks the daemon; the offline
/// CLI knows nothing (empty configs, unpinned references).
pub trait ImageResolver {
    /// `reference` is normalized (`docker.io/library/debian:bookworm-slim`).
    fn resolve(
        &self,
        reference: &str,
        platform: &Platform,
        origin: &ImageOrigin,
    ) -> Option<BaseImage>;
}

/// Knows no image: for compiling without a daemon.
pub struct Offline;

impl ImageResolver for Offline {
    fn resolve(&self, _: &str, _: &Platform, _: &ImageOrigin) -> Option<BaseImage> {
        None
    }
}

/// Answers from a table filled beforehand (by the gateway, after asking
/// the daemon about [`images_needed`]).
#[derive(Debug, Clone, Default)]
pub struct ResolvedImages(pub BTreeMap<(String, String), BaseImage>);

impl ImageResolver for ResolvedImages {
    fn resolve(&self, reference: &str, platform: &Platform, _: &ImageOrigin) -> Option<BaseImage> {
        self.0
            .get(&(reference.to_string(), platform.to_string()))
            .cloned()
    }
}

/// The compiled build.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub definition: pb::Definition,
    /// Image config of the target stage.
    pub image: ImageConfig,
    pub target: String,
    /// `--build-arg` names the spec does not declare (worth a warning).
    pub unused_build_args: Vec<String>,
}

/// Compiles the target stage and everything it needs.
pub fn compile(
    spec: &Spec,
    options: &CompileOptions,
    images: &dyn ImageResolver,
) -> Result<Compiled, SpecError> {
    compile_inner(spec, options, images).map_err(|p| p.in_file(&spec.file, &spec.text))
}

/// The base images a compilation would look up, with the spec lines that
/// name them, so a caller can resolve them all, in parallel, beforehand
/// (and say where a missing one is named).
pub fn images_needed(
    spec: &Spec,
    options: &CompileOptions,
) -> Result<Vec<ImageRequest>, SpecError> {
    let recorder = stage::Recorder::default();
    compile(spec, options, &recorder)?;
    Ok(recorder.into_requests())
}

fn compile_inner(
    spec: &Spec,
    options: &CompileOptions,
    images: &dyn ImageResolver,
) -> Result<Compiled, Problem> {
    let target = target_stage(spec, options)?;
    let scope = ArgScope::new(spec, options);
    let order = context::dependency_order(spec, &scope, options, &target);
    let reachable: BTreeSet<String> = order.iter().cloned().collect();
    let context_paths = context::context_paths(spec, &scope, &reachable);
    let mut compiler = stage::Compiler::new(spec, options, images, scope, context_paths);
    // Dependencies first, so that compiling a stage finds the stages it
    // uses done instead of recursing into them.
    let mut result = None;
    for name in &order {
        let at = spec.stage(name).map(|s| s.pos).unwrap_or_default();
        result = Some(compiler.stage(name, at)?);
    }
    let result = match result {
        Some(r) => r,
        None => compiler.stage(
            &target,
            spec.stage(&target).map(|s| s.pos).unwrap_or_default(),
        )?,
    };
    let source = options.source_map.then(|| llb::SourceFile {
        filename: spec.file.clone(),
        data: spec.text.clone().into_bytes(),
        language: "YAML".to_string(),
    });
    // The daemon's own encoding when its caps are known (the frontend), the
    // current BuildKit's otherwise (the CLI).
    let encoding = options
        .caps
        .as_ref()
        .map_or(llb::Encoding::default(), |caps| {
            llb::Encoding::of_daemon(caps.iter())
        });
    let definition = llb::marshal(&result.state, source.as_ref(), encoding);
    check_caps(&definition, options, spec, &target)?;
    let declared: BTreeSet<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    Ok(Compiled {
        definition,
        image: result.image_config(),
        unused_build_args: options
            .build_args
            .keys()
            .filter(|k| {
                !declared.contains(k.as_str())
                    && !crate::spec::args::BUILTIN_ARGS.contains(&k.as_str())
            })
            .cloned()
            .collect(),
        target,
    })
}

/// The stage a build with these options produces.
pub fn target(spec: &Spec, options: &CompileOptions) -> Result<String, SpecError> {
    target_stage(spec, options).map_err(|p| p.in_file(&spec.file, &spec.text))
}

fn target_stage(spec: &Spec, options: &CompileOptions) -> Result<String, Problem> {
    let Some(requested) = &options.target else {
        return Ok(spec.default_target().to_string());
    };
    if spec.stage(requested).is_some() {
        return Ok(requested.clone());
    }
    // The target comes from the command line, so no line of the spec is
    // wrong: point at the stage it most likely meant, else the first one.
    let names: Vec<&str> = spec.stages.iter().map(|s| s.name.as_str()).collect();
    let near = crate::spec::error::did_you_mean(requested, names.iter().copied());
    let shown = near.and_then(|n| spec.stage(n)).unwrap_or(&spec.stages[0]);
    let problem = Problem::new(
        shown.pos,
        format!("target stage `{requested}` (from --target) is not defined in this spec"),
    );
    Err(match near {
        Some(near) => problem.hint(format!("did you mean `{near}`?")),
        None => problem.hint(format!("stages are: {}", names.join(", "))),
    })
}

/// Refuses a Definition that needs capabilities the daemon lacks, naming
/// them, instead of letting the daemon fail on an op it cannot read.
fn check_caps(
    definition: &pb::Definition,
    options: &CompileOptions,
    spec: &Spec,
    target: &str,
) -> Result<(), Problem> {
    let Some(daemon) = &options.caps else {
        return Ok(());
    };
    let missing: BTreeSet<&str> = definition
        .metadata
        .values()
        .flat_map(|m| m.caps.keys())
        .filter(|c| !daemon.contains(c.as_str()))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let pos = spec.stage(target).map(|s| s.pos).unwrap_or_default();
    Err(Problem::new(
        pos,
        format!(
            "the BuildKit daemon does not support what this build needs (missing capabilities: {})",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
    .hint("upgrade BuildKit / Docker, or avoid the feature"))
}
