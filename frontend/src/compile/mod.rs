//! Resolved build → LLB. Each stage becomes a chain of states; stages that
//! do not use each other stay separate branches of one graph, which
//! BuildKit solves in parallel. One file per step kind: `run` (with
//! `mounts`), `copy`, `add`, `files` (mkdir, write, remove), and
//! `image_config` for the `image:` section; `stage` dispatches them.
//!
//! Compilation is a pure function of the [`Resolved`] build, the
//! [`CompileOptions`] and the base images' configs (an [`ImageResolver`]),
//! so the same inputs always give the same Definition bytes.

mod add;
mod closure_copy;
mod copy;
mod files;
mod image_config;
mod mounts;
mod outline;
mod parallel;
pub(crate) mod paths;
mod run;
mod sources;
mod stage;

use std::collections::{BTreeMap, BTreeSet};

use stagecraft_proto::pb;

use crate::closure::Closure;
use crate::image::ImageConfig;
use crate::llb::{self, Platform};
use crate::resolve::{self, Resolved};
use crate::spec::{error::Problem, Pos, Spec, SpecError};

pub use crate::options::{CompileOptions, NamedContext};
pub use crate::resolve::{ImageOrigin, ImageRequest};
pub use outline::{outline, Outline, OutlineArg};

/// A base image as the registry describes it.
#[derive(Debug, Clone, Default)]
pub struct BaseImage {
    /// Manifest digest to pin the reference to.
    pub digest: Option<String>,
    pub config: ImageConfig,
}

/// Supplies base image configs. The gateway asks the daemon about
/// [`Resolved::images`] beforehand; the offline CLI knows nothing (empty
/// configs, unpinned references).
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
/// the daemon about [`Resolved::images`]).
#[derive(Debug, Clone, Default)]
pub struct ResolvedImages(pub BTreeMap<(String, String), BaseImage>);

impl ImageResolver for ResolvedImages {
    fn resolve(&self, reference: &str, platform: &Platform, _: &ImageOrigin) -> Option<BaseImage> {
        self.0
            .get(&(reference.to_string(), platform.to_string()))
            .cloned()
    }
}

/// The runtime closures of the `copy … libraries: true` steps, by the
/// stage and the step's position: found on the daemon beforehand (the
/// frontend reads the source stage's files), like base image configs.
#[derive(Debug, Clone, Default)]
pub struct Closures(pub BTreeMap<(String, Pos), Closure>);

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

/// Resolves and compiles the target stage and everything it needs.
pub fn compile(
    spec: &Spec,
    options: &CompileOptions,
    images: &dyn ImageResolver,
) -> Result<Compiled, SpecError> {
    let build = resolve::resolve(spec, options)?;
    compile_resolved(&build, options, images, &Closures::default())
}

/// Compiles a resolved build.
pub fn compile_resolved(
    build: &Resolved,
    options: &CompileOptions,
    images: &dyn ImageResolver,
    closures: &Closures,
) -> Result<Compiled, SpecError> {
    compile_inner(build, options, images, closures).map_err(|p| p.in_file(&build.file, &build.text))
}

fn compile_inner(
    build: &Resolved,
    options: &CompileOptions,
    images: &dyn ImageResolver,
    closures: &Closures,
) -> Result<Compiled, Problem> {
    let result = stage::Compiler::new(build, options, images, closures).all()?;
    let source = options.source_map.then(|| llb::SourceFile {
        filename: build.file.clone(),
        data: build.text.clone().into_bytes(),
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
    check_caps(&definition, options, build)?;
    Ok(Compiled {
        definition,
        image: result.image_config(),
        unused_build_args: build.unused_build_args.clone(),
        target: build.target.clone(),
    })
}

/// The stage a build with these options produces.
pub fn target(spec: &Spec, options: &CompileOptions) -> Result<String, SpecError> {
    resolve::target_stage(spec, options).map_err(|p| p.in_file(&spec.file, &spec.text))
}

/// Refuses a Definition that needs capabilities the daemon lacks, naming
/// them, instead of letting the daemon fail on an op it cannot read.
fn check_caps(
    definition: &pb::Definition,
    options: &CompileOptions,
    build: &Resolved,
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
    Err(Problem::new(
        build.stage(&build.target).pos,
        format!(
            "the BuildKit daemon does not support what this build needs (missing capabilities: {})",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        ),
    )
    .hint("upgrade BuildKit / Docker, or avoid the feature"))
}
