//! What a `from:` names: the one place that decides between a named
//! context, the empty image, a stage of the spec and an image, for the
//! stage graph, the image lookups and the compiler alike.

use crate::options::{CompileOptions, NamedContext};
use crate::reference::ImageRef;
use crate::spec::error::{did_you_mean, Problem};
use crate::spec::validate::name_list;
use crate::spec::{Located, Pos, Spec};

/// What a resolved `from:` value refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--build-context NAME=…` replaces what the spec says.
    Context(String),
    Scratch,
    Stage(String),
    /// A stage with a `matrix`: every one of its variants.
    Variants(Vec<String>),
    /// A normalized reference (`docker.io/library/debian:bookworm-slim`).
    Image(String),
}

/// Classifies a substituted `from:` value.
pub fn classify(
    from: &Located<String>,
    spec: &Spec,
    options: &CompileOptions,
) -> Result<Source, Problem> {
    let value = from.value.as_str();
    if options.named_context(value).is_some() {
        return Ok(Source::Context(value.to_string()));
    }
    if value == "scratch" {
        return Ok(Source::Scratch);
    }
    if spec.stage(value).is_some() {
        return Ok(Source::Stage(value.to_string()));
    }
    if let Some(m) = spec.matrix(value) {
        return Ok(Source::Variants(m.variants.clone()));
    }
    image(value, from.pos, spec).map(Source::Image)
}

/// The normalized reference of an image named at `pos`.
pub fn image(value: &str, pos: Pos, spec: &Spec) -> Result<String, Problem> {
    let names: Vec<String> = spec.stages.iter().map(|s| s.name.clone()).collect();
    // A bare word close to a stage name is a typo, not an image.
    if !value.contains([':', '/', '@']) {
        if let Some(near) = did_you_mean(value, names.iter().map(String::as_str)) {
            return Err(
                Problem::new(pos, format!("unknown stage `{value}`")).hint(format!(
                    "did you mean `{near}`? (for an image of that name, write `{value}:latest`)"
                )),
            );
        }
    }
    ImageRef::parse(value).map(|r| r.to_string()).map_err(|e| {
        let lowercase = value.to_ascii_lowercase();
        let hint = if lowercase != value && ImageRef::parse(&lowercase).is_ok() {
            format!("image names are lowercase: `{lowercase}`")
        } else {
            format!(
                "write an image such as `debian:bookworm-slim`, or a stage: {}",
                name_list(&names)
            )
        };
        Problem::new(
            pos,
            format!("invalid image reference `{value}`: {}", e.reason),
        )
        .hint(hint)
    })
}

/// The image a `--build-context NAME=docker-image://REF` names, if it is one.
pub fn context_image(name: &str, options: &CompileOptions) -> Option<String> {
    match options.named_context(name) {
        Some(NamedContext::Image(reference)) => Some(reference.clone()),
        _ => None,
    }
}
