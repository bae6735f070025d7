//! The files of `copy … libraries: true` steps, found on the daemon before
//! the build is compiled: each source stage is solved on its own (the
//! full graph later holds the same ops, so the daemon builds it once), its
//! files are read through the gateway, and the resolver in
//! [`crate::closure`] picks the programs and every library they load.

use super::FrontendError;
use crate::closure::{self, GatewayRootFs};
use crate::compile::{self, Closures, CompileOptions, ResolvedImages};
use crate::gateway::Bridge;
use crate::resolve::{self, Resolved, Source};
use crate::spec::error::Problem;
use crate::spec::{CopyStep, Spec, Step, StepKind};

/// The closures of every `libraries: true` copy of `build`, in dependency
/// order (a source stage's own closures are found before it is solved).
pub async fn find(
    bridge: &Bridge,
    spec: &Spec,
    options: &CompileOptions,
    build: &Resolved,
    images: &ResolvedImages,
) -> Result<Closures, FrontendError> {
    let mut closures = Closures::default();
    for name in &build.order {
        for step in build.stage(name).leaf_steps() {
            let StepKind::Copy(copy) = &step.kind else {
                continue;
            };
            if !copy.libraries {
                continue;
            }
            let reference =
                solve_source(bridge, spec, options, build, images, &closures, step, copy).await?;
            let fs = GatewayRootFs::new(bridge, reference)?;
            let request = closure::Request {
                executables: copy.sources.iter().map(|s| s.value.clone()).collect(),
                library_path: Vec::new(),
            };
            let found = closure::resolve(&fs, &request)
                .await
                .map_err(|e| at_step(spec, step, format!("`libraries: true`: {e}"), "the programs and every library they load must be in the stage named by `from:`"))?;
            closures.0.insert((name.clone(), step.pos), found);
        }
    }
    Ok(closures)
}

/// Solves the stage a `libraries: true` copy reads; returns the result's id.
#[allow(clippy::too_many_arguments)]
async fn solve_source(
    bridge: &Bridge,
    spec: &Spec,
    options: &CompileOptions,
    build: &Resolved,
    images: &ResolvedImages,
    closures: &Closures,
    step: &Step,
    copy: &CopyStep,
) -> Result<String, FrontendError> {
    let from = copy.from.as_ref().expect("validation requires `from`");
    let Source::Stage(stage) = build.source(&from.value) else {
        return Err(at_step(
            spec,
            step,
            format!(
                "`libraries: true` copies from a stage of the spec; `{}` is not one",
                from.value
            ),
            format!("add a stage `{{from: {}}}` and copy from it", from.value),
        ));
    };
    let mut source_options = options.clone();
    source_options.target = Some(stage.clone());
    let source_build =
        resolve::resolve(spec, &source_options).map_err(|e| FrontendError::spec(e, &spec.text))?;
    let compiled = compile::compile_resolved(&source_build, &source_options, images, closures)
        .map_err(|e| FrontendError::spec(e, &spec.text))?;
    Ok(bridge.solve(compiled.definition, Vec::new()).await?)
}

fn at_step(spec: &Spec, step: &Step, message: String, hint: impl Into<String>) -> FrontendError {
    let problem = Problem::new(step.pos, message).hint(hint);
    FrontendError::spec(problem.in_file(&spec.file, &spec.text), &spec.text)
}
