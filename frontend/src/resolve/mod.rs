//! The validated spec and the build options → the resolved build: what
//! the compiler works from.
//!
//! Resolution picks the target, walks the stages it needs (dependencies
//! first, refusing cycles), substitutes every arg field of those stages
//! once (driven by [`crate::spec::fields`]), checks the values args may
//! have changed, gives each stage its platform, and lists the base images
//! to look up and the context paths to transfer. It needs no daemon; the
//! compiler after it needs nothing but the answers to the image lookups.

mod context;
mod graph;
mod scope;
mod sources;
mod values;

use std::collections::{BTreeMap, BTreeSet};

pub use context::clean as clean_context_path;
pub use scope::{expand_env, ArgScope};
pub use sources::Source;

use crate::llb::Platform;
use crate::options::CompileOptions;
use crate::spec::args::BUILTIN_ARGS;
use crate::spec::error::{did_you_mean, Problem};
use crate::spec::fields;
use crate::spec::{Located, Pos, Spec, SpecError, Stage};

/// A build, resolved: the spec's stages that the target needs, with every
/// arg substituted.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The spec's name and text, for messages and the source map.
    pub file: String,
    pub text: String,
    pub target: String,
    /// Resolved stages by name: the target's and those it uses.
    pub stages: BTreeMap<String, Stage>,
    /// The same names, dependencies first, the target last.
    pub order: Vec<String>,
    /// The platform each stage runs on.
    pub platforms: BTreeMap<String, Platform>,
    /// Every arg's value (run steps get those their command mentions).
    pub args: ArgScope,
    /// The same with a matrix variant's values, for each variant.
    variant_args: BTreeMap<String, ArgScope>,
    /// Base images to look up, each with the first place that names it.
    pub images: Vec<ImageRequest>,
    /// Include patterns of the context transfer; empty for all of it.
    pub context_paths: Vec<String>,
    /// `--build-arg` names the spec does not declare (worth a warning).
    pub unused_build_args: Vec<String>,
    /// What `from:` values name, by their text.
    sources: BTreeMap<String, Source>,
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

/// A base image the build looks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRequest {
    /// Normalized (`docker.io/library/debian:bookworm-slim`).
    pub reference: String,
    pub platform: Platform,
    /// The first place that asks for it, in dependency order.
    pub origin: ImageOrigin,
}

impl Resolved {
    /// What a (resolved) `from:` value names.
    pub fn source(&self, from: &str) -> &Source {
        &self.sources[from]
    }

    pub fn stage(&self, name: &str) -> &Stage {
        &self.stages[name]
    }

    /// The args a stage sees: a matrix variant's include its values.
    pub fn args_of(&self, stage: &str) -> &ArgScope {
        self.variant_args.get(stage).unwrap_or(&self.args)
    }
}

/// Resolves the build of the target `options` asks for.
pub fn resolve(spec: &Spec, options: &CompileOptions) -> Result<Resolved, SpecError> {
    let at_file = |p: Problem| p.in_file(&spec.file, &spec.text);
    let target = target_stage(spec, options).map_err(at_file)?;
    resolve_from(spec, options, target.clone(), &[target]).map_err(at_file)
}

/// Resolves every stage with the args' defaults, so that `stagecraft check`
/// reports what any build of the spec would.
pub fn check_all(spec: &Spec, options: &CompileOptions) -> Result<(), SpecError> {
    resolve_all(spec, options).map(|_| ())
}

/// Every stage resolved (in dependency order), the target being the one
/// `options` asks for: what the linter judges.
pub fn resolve_all(spec: &Spec, options: &CompileOptions) -> Result<Resolved, SpecError> {
    let at_file = |p: Problem| p.in_file(&spec.file, &spec.text);
    let target = target_stage(spec, options).map_err(at_file)?;
    // The target first: what a build of it meets, this meets first (the
    // same cycle, named from the same stage, as through buildx).
    let names: Vec<String> = std::iter::once(target.clone())
        .chain(spec.stages.iter().map(|s| s.name.clone()))
        .collect();
    resolve_from(spec, options, target, &names).map_err(at_file)
}

fn resolve_from(
    spec: &Spec,
    options: &CompileOptions,
    target: String,
    roots: &[String],
) -> Result<Resolved, Problem> {
    let args = ArgScope::new(spec, options);
    let sources = std::cell::RefCell::new(BTreeMap::new());
    let classify = |from: &Located<String>| -> Result<Source, Problem> {
        if let Some(known) = sources.borrow().get(&from.value) {
            return Ok(Source::clone(known));
        }
        let source = sources::classify(from, spec, options)?;
        sources
            .borrow_mut()
            .insert(from.value.clone(), source.clone());
        Ok(source)
    };
    let mut variant_args = BTreeMap::new();
    let mut resolve_one = |name: &str| {
        let stage = spec.stage(name).expect("the walk visits stages");
        let Some(variant) = &stage.variant else {
            return resolve_stage(spec, stage, &args, options);
        };
        let scope = args.with(&variant.values);
        let resolved = resolve_stage(spec, stage, &scope, options);
        variant_args.insert(name.to_string(), scope);
        resolved
    };
    let walked = graph::walk(roots, &mut resolve_one, &classify)?;
    let mut platforms = BTreeMap::new();
    for name in &walked.order {
        platforms.insert(name.clone(), platform(&walked.stages[name], options)?);
    }
    let sources = sources.into_inner();
    let images = image_requests(&walked, &platforms, &sources, options);
    let declared: BTreeSet<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    Ok(Resolved {
        file: spec.file.clone(),
        text: spec.text.clone(),
        context_paths: context::context_paths(walked.order.iter().map(|n| &walked.stages[n])),
        target,
        stages: walked.stages,
        order: walked.order,
        platforms,
        args,
        variant_args,
        images,
        unused_build_args: options
            .build_args
            .keys()
            .filter(|k| !declared.contains(k.as_str()) && !BUILTIN_ARGS.contains(&k.as_str()))
            .cloned()
            .collect(),
        sources,
    })
}

/// A copy of `stage` with every arg field substituted, its values checked.
fn resolve_stage(
    spec: &Spec,
    stage: &Stage,
    args: &ArgScope,
    options: &CompileOptions,
) -> Result<Stage, Problem> {
    let mut stage = stage.clone();
    fields::each_arg_text(&mut stage, &mut |field, text| {
        let how = fields::substitution(field).expect("the walk visits arg fields");
        args.substitute(text, how)
    })?;
    values::check_stage(&stage)?;
    values::one_stage_where_one_is_meant(&stage, spec, options)?;
    Ok(stage)
}

fn platform(stage: &Stage, options: &CompileOptions) -> Result<Platform, Problem> {
    let Some(p) = &stage.platform else {
        return Ok(options.target_platform.clone());
    };
    Platform::parse(&p.value).ok_or_else(|| {
        Problem::new(p.pos, format!("invalid platform `{}`", p.value)).hint(
            "write os/arch[/variant], e.g. `linux/amd64`, `linux/arm/v7`, or `${BUILDPLATFORM}`",
        )
    })
}

/// Every image the stages use, by (reference, platform), each with the
/// first place in dependency order that names it.
fn image_requests(
    walked: &graph::Walked,
    platforms: &BTreeMap<String, Platform>,
    sources: &BTreeMap<String, Source>,
    options: &CompileOptions,
) -> Vec<ImageRequest> {
    let mut requests: BTreeMap<(String, Platform), ImageOrigin> = BTreeMap::new();
    for name in &walked.order {
        for reference in walked.stages[name].references() {
            let (image, context) = match &sources[&reference.value] {
                Source::Image(image) => (image.clone(), None),
                // A `--build-context` image is as the user wrote it; a spec's
                // image is normalized already (`sources::image`).
                Source::Context(context) => match sources::context_image(context, options) {
                    Some(image) => {
                        let normalized = crate::reference::ImageRef::parse(&image)
                            .map(|r| r.to_string())
                            .unwrap_or(image);
                        (normalized, Some(context.clone()))
                    }
                    None => continue,
                },
                Source::Scratch | Source::Stage(_) | Source::Variants(_) => continue,
            };
            requests
                .entry((image, platforms[name].clone()))
                .or_insert(ImageOrigin {
                    pos: reference.pos,
                    context,
                });
        }
    }
    requests
        .into_iter()
        .map(|((reference, platform), origin)| ImageRequest {
            reference,
            platform,
            origin,
        })
        .collect()
}

/// The stage a build with these options produces.
pub fn target_stage(spec: &Spec, options: &CompileOptions) -> Result<String, Problem> {
    let Some(requested) = &options.target else {
        return Ok(spec.default_target().to_string());
    };
    if spec.stage(requested).is_some() {
        return Ok(requested.clone());
    }
    if let Some(m) = spec.matrix(requested) {
        let at = spec.stage(&m.variants[0]).map_or(m.pos, |s| s.pos);
        return Err(crate::spec::validate::one_variant_please(
            m,
            at,
            "target (from --target)",
        ));
    }
    // The target comes from the command line, so no line of the spec is
    // wrong: point at the stage it most likely meant, else the first one.
    let names: Vec<&str> = spec.stages.iter().map(|s| s.name.as_str()).collect();
    let near = did_you_mean(requested, names.iter().copied());
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
