//! `stagecraft frontend`: the gateway frontend BuildKit runs for
//! `# syntax=<our image>`. Load the spec through the daemon, compile it for
//! each target platform, solve, and return the images with their configs.

mod closures;
mod limits;
mod load;
mod remote;
mod settings;
mod subrequest;

pub use load::parse_dockerignore;

use std::collections::BTreeMap;

use stagecraft_proto::{pb, RpcStatus};

use crate::compile::{self, ResolvedImages};
use crate::gateway::{Bridge, FrontendOptions, GatewayError, PlatformResult};
use crate::image::ImageConfig;
use crate::llb::Platform;
use crate::spec::{error::Problem, Spec, SpecError};
use settings::Settings;

/// Why a build failed, before it becomes a status for the client.
#[derive(Debug, thiserror::Error)]
pub enum FrontendError {
    /// A problem in the spec; `text` is the spec as read, for the snippet.
    #[error("{error}")]
    Spec { error: Box<SpecError>, text: String },
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    Options(String),
}

impl FrontendError {
    /// The status the client prints. Spec errors carry BuildKit's
    /// `errdefs.Source` detail, so buildx shows the offending lines the
    /// way it does for a Dockerfile; daemon errors keep their own details.
    fn to_rpc_status(&self) -> RpcStatus {
        match self {
            FrontendError::Gateway(e) => e.to_rpc_status(),
            FrontendError::Spec { error, text } => RpcStatus {
                code: tonic::Code::Unknown as i32,
                message: match &error.hint {
                    Some(hint) => format!("{} ({hint})", error.headline()),
                    None => error.headline(),
                },
                details: vec![spec_source_detail(error, text)],
            },
            other => RpcStatus {
                code: tonic::Code::Unknown as i32,
                message: other.to_string(),
                details: Vec::new(),
            },
        }
    }
}

/// `errdefs.Source` as BuildKit encodes error details: Go JSON under the
/// type URL `github.com/moby/buildkit/errdefs.Source+json`.
fn spec_source_detail(e: &SpecError, text: &str) -> stagecraft_proto::Any {
    use base64::Engine;
    let line = e.pos.line;
    let value = serde_json::json!({
        "info": {
            "filename": e.file,
            "data": base64::engine::general_purpose::STANDARD.encode(source_excerpt(text, line)),
            "language": "YAML",
        },
        "ranges": [{"start": {"line": line}, "end": {"line": line}}],
    });
    stagecraft_proto::Any {
        type_url: "github.com/moby/buildkit/errdefs.Source+json".to_string(),
        value: serde_json::to_vec(&value).expect("plain JSON"),
    }
}

/// The lines buildx shows around an error (it prints a few either side),
/// the rest blanked so that line numbers stay right: a spec of megabytes
/// would otherwise make a status larger than gRPC carries, and the error
/// would be lost.
fn source_excerpt(text: &str, line: u32) -> String {
    const AROUND: usize = 10;
    const MAX_LINE: usize = 1_000;
    let wanted = (line as usize).saturating_sub(AROUND + 1)..line as usize + AROUND;
    let mut out = String::new();
    for (index, content) in text.lines().enumerate() {
        if wanted.contains(&index) {
            out.extend(content.chars().take(MAX_LINE));
        }
        out.push('\n');
    }
    out
}

impl FrontendError {
    pub fn spec(error: SpecError, text: &str) -> Self {
        FrontendError::Spec {
            error: Box::new(error),
            text: text.to_string(),
        }
    }
}

/// Entry point of the `frontend` subcommand; returns the exit code.
pub fn main() -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Deep specs make deep graphs; keep recursion-heavy code safe.
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stagecraft frontend: cannot start: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(run());
    // The stdin reader may be blocked in a read; do not wait for it.
    runtime.shutdown_background();
    code
}

/// stderr reaches only the daemon's log, so every failure that can be
/// reported goes back through `Return`; after that the process exits 0,
/// as a non-zero exit would override the reported error.
async fn run() -> i32 {
    let bridge = match Bridge::connect_stdio().await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("stagecraft frontend: {e}");
            return 1;
        }
    };
    let options = FrontendOptions::from_env();
    match build(&bridge, &options).await {
        Ok(()) => 0,
        Err(FrontendError::Gateway(e)) if e.is_disconnect() => {
            eprintln!("stagecraft frontend: the daemon closed the connection: {e}");
            1
        }
        Err(e) => {
            eprintln!("stagecraft frontend: {e}");
            match bridge.return_error(e.to_rpc_status()).await {
                Ok(()) => 0,
                Err(r) => {
                    eprintln!("stagecraft frontend: cannot report the error: {r}");
                    1
                }
            }
        }
    }
}

async fn build(bridge: &Bridge, options: &FrontendOptions) -> Result<(), FrontendError> {
    let inputs = bridge.inputs().await?;
    let mut settings = Settings::from_options(options, bridge.caps(), &inputs)?;
    let request = options.get("requestid").filter(|r| !r.is_empty());
    let loaded = match load::spec_and_ignore(bridge, &settings, &inputs).await {
        // The lint result carries an invalid spec's error, as buildx
        // prints it with the warnings' layout.
        Err(FrontendError::Spec { error, text }) if request == Some(subrequest::LINT) => {
            let answer = subrequest::lint_error(&error, &text);
            return Ok(bridge.return_metadata(answer).await?);
        }
        loaded => loaded?,
    };
    if let Some(context) = loaded.remote_context {
        // The compiler takes a main context given as a state like any
        // named context of the context's name.
        let key = crate::reference::context_key(&settings.context_local);
        settings
            .named_contexts
            .insert(key, compile::NamedContext::State(context));
    }
    let spec = loaded.spec;
    if let Some(request) = request {
        let compile_options = settings.compile_options(&settings.build_platform, &[]);
        let ignore = &loaded.context_excludes;
        return match subrequest::answer(request, &spec, &compile_options, ignore)? {
            Some(metadata) => Ok(bridge.return_metadata(metadata).await?),
            None => Err(FrontendError::Options(format!(
                "unsupported request {request}"
            ))),
        };
    }
    let mut solves = tokio::task::JoinSet::new();
    for (index, platform) in settings.platforms.iter().enumerate() {
        let mut compile_options = settings.compile_options(platform, &loaded.context_excludes);
        compile_options.caps = Some(bridge.caps().llb.clone());
        for (name, layout) in &settings.oci_layouts {
            let session = settings.session_id.as_deref();
            let context = layout
                .named_context(bridge, name, session, platform)
                .await?;
            let key = crate::reference::context_key(name);
            compile_options.named_contexts.insert(key, context);
        }
        // One resolution per platform: its args (TARGETARCH…) differ.
        let build = crate::resolve::resolve(&spec, &compile_options)
            .map_err(|e| FrontendError::spec(e, &spec.text))?;
        let images = resolve_images(
            bridge,
            &spec,
            &build.images,
            &settings.resolve_mode,
            compile_options.platform_in_names,
        )
        .await?;
        let closures = closures::find(bridge, &spec, &compile_options, &build, &images).await?;
        let compiled = compile::compile_resolved(&build, &compile_options, &images, &closures)
            .map_err(|e| FrontendError::spec(e, &spec.text))?;
        if index == 0 {
            warn_unknown_names(
                bridge,
                &spec,
                &loaded.spec_vertex,
                &compiled.unused_build_args,
                &settings.no_cache_stages,
            )
            .await;
        }
        let config = final_config(compiled.image, &settings);
        let bridge = bridge.clone();
        let cache_imports = settings.cache_imports.clone();
        let id = settings.multi_platform.then(|| platform.to_string());
        solves.spawn(async move {
            use stagecraft_proto::Message;
            let size = compiled.definition.encoded_len();
            let reference = bridge
                .solve(compiled.definition, cache_imports)
                .await
                .map_err(|e| limits::solve_error(e, size))?;
            Ok::<_, FrontendError>((
                index,
                PlatformResult {
                    platform: id,
                    reference,
                    config: config.to_json(),
                },
            ))
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = solves.join_next().await {
        let result =
            joined.map_err(|e| FrontendError::Options(format!("a solve task failed: {e}")))??;
        results.push(result);
    }
    // Keep the platform order the user asked for.
    results.sort_by_key(|(index, _)| *index);
    bridge
        .return_images(
            results.into_iter().map(|(_, r)| r).collect(),
            BTreeMap::new(),
        )
        .await?;
    Ok(())
}

/// Asks the daemon for every base image's config, so the stage inherits
/// its env, user, workdir, entrypoint… and the reference gets pinned. The
/// requests go out together: each is a round trip that may reach a
/// registry.
async fn resolve_images(
    bridge: &Bridge,
    spec: &Spec,
    needed: &[compile::ImageRequest],
    mode: &str,
    with_platform: bool,
) -> Result<ResolvedImages, FrontendError> {
    let mut requests = tokio::task::JoinSet::new();
    for (index, request) in needed.iter().cloned().enumerate() {
        let log_name = metadata_log_name(&request, with_platform);
        let (bridge, mode) = (bridge.clone(), mode.to_string());
        requests.spawn(async move {
            let answer = bridge
                .resolve_image_config(
                    &request.reference,
                    &request.platform.to_pb(),
                    &mode,
                    &log_name,
                )
                .await;
            (index, answer)
        });
    }
    let mut answers = BTreeMap::new();
    while let Some(joined) = requests.join_next().await {
        let (index, answer) =
            joined.map_err(|e| FrontendError::Options(format!("an image lookup failed: {e}")))?;
        answers.insert(index, answer);
    }
    // In request order, so that of several failures the same one is
    // reported every time.
    let mut resolved = ResolvedImages::default();
    for (request, (_, answer)) in needed.iter().cloned().zip(answers) {
        let (digest, config) = match answer {
            Ok(answer) => answer,
            Err(e) if e.is_disconnect() => return Err(e.into()),
            Err(e) => return Err(image_problem(spec, &request, &e)),
        };
        let config = ImageConfig::from_json(&config).map_err(|e| {
            FrontendError::Options(format!(
                "the config of {} is not valid JSON: {e}",
                request.reference
            ))
        })?;
        resolved.0.insert(
            (request.reference, request.platform.to_string()),
            compile::BaseImage {
                digest: (!digest.is_empty()).then_some(digest),
                config,
            },
        );
    }
    Ok(resolved)
}

/// The progress name of an image lookup, as the Dockerfile frontend's.
fn metadata_log_name(request: &compile::ImageRequest, with_platform: bool) -> String {
    let stage = match (&request.origin.context, with_platform) {
        (Some(context), false) => format!("context {context}"),
        (Some(context), true) => format!("{} context {context}", request.platform),
        (None, false) => "internal".to_string(),
        (None, true) => format!("{} internal", request.platform),
    };
    format!("[{stage}] load metadata for {}", request.reference)
}

/// A base image the daemon cannot find, reported at the spec line that
/// names it (and the `--build-context` that put it there), so the user
/// sees their own line rather than the daemon's lookup alone.
fn image_problem(
    spec: &Spec,
    request: &compile::ImageRequest,
    error: &GatewayError,
) -> FrontendError {
    let reason = match error {
        GatewayError::Call { status, .. } => status.message().to_string(),
        other => other.to_string(),
    };
    let named_by = match &request.origin.context {
        Some(context) => format!(" (from --build-context {context}=docker-image://…)"),
        None => String::new(),
    };
    let problem = Problem::new(
        request.origin.pos,
        format!(
            "cannot load image `{}` for {}{named_by}: {reason}",
            request.reference, request.platform
        ),
    )
    .hint(
        "check the name, tag and platform: the image must be in the daemon's image store \
         or in a registry it can reach (and log in to)",
    );
    FrontendError::spec(problem.in_file(&spec.file, &spec.text), &spec.text)
}

fn final_config(mut config: ImageConfig, settings: &Settings) -> ImageConfig {
    for (key, value) in &settings.labels {
        config.config.labels.insert(key.clone(), value.clone());
    }
    config
}

/// Warns about command-line names the spec does not know: `--build-arg`s
/// it does not declare and `--no-cache-filter` stages it does not have.
/// Both are legal (a Dockerfile build ignores them too) but usually typos.
async fn warn_unknown_names(
    bridge: &Bridge,
    spec: &Spec,
    vertex: &str,
    unused_args: &[String],
    no_cache_stages: &std::collections::BTreeSet<String>,
) {
    let declared = spec.args.iter().map(|a| a.name.as_str());
    if let Some(list) = unknown_list(unused_args.iter().map(String::as_str), declared) {
        let plural = if unused_args.len() == 1 { "" } else { "s" };
        let short = format!("build arg{plural} {list} not declared in {}", spec.file);
        let detail = "Declare them under `args:` in the spec to use them, or drop the --build-arg.";
        warn(bridge, spec, vertex, &short, detail).await;
    }
    let stages = spec.stages.iter().map(|s| s.name.as_str());
    let unknown = no_cache_stages
        .iter()
        .map(String::as_str)
        .filter(|name| spec.stage(name).is_none());
    if let Some(list) = unknown_list(unknown, stages) {
        let short = format!(
            "--no-cache-filter names {list}, not a stage of {}",
            spec.file
        );
        let detail = "Nothing is rebuilt for it; give the name of a stage.";
        warn(bridge, spec, vertex, &short, detail).await;
    }
}

/// "`VERSON` (did you mean `VERSION`?), `X`", or `None` when empty.
fn unknown_list<'a>(
    names: impl Iterator<Item = &'a str>,
    known: impl Iterator<Item = &'a str> + Clone,
) -> Option<String> {
    let shown: Vec<String> = names
        .map(
            |name| match crate::spec::error::did_you_mean(name, known.clone()) {
                Some(near) => format!("`{name}` (did you mean `{near}`?)"),
                None => format!("`{name}`"),
            },
        )
        .collect();
    (!shown.is_empty()).then(|| shown.join(", "))
}

/// A warning attached to the vertex that loaded the spec, so progress
/// output shows it there and buildx lists it after the build.
async fn warn(bridge: &Bridge, spec: &Spec, vertex: &str, short: &str, detail: &str) {
    let info = pb::SourceInfo {
        filename: spec.file.clone(),
        data: spec.text.clone().into_bytes(),
        language: "YAML".to_string(),
        definition: None,
    };
    let detail = vec![detail.to_string()];
    if let Err(e) = bridge
        .warn(vertex, short, &detail, Some(info), Vec::new())
        .await
    {
        eprintln!("stagecraft frontend: cannot send warning: {e}");
    }
}

/// The platform a worker reports, in our form.
fn worker_platform(p: &pb::Platform) -> Platform {
    let text = if p.variant.is_empty() {
        format!("{}/{}", p.os, p.architecture)
    } else {
        format!("{}/{}/{}", p.os, p.architecture, p.variant)
    };
    Platform::parse(&text).unwrap_or_else(Platform::host)
}

#[cfg(test)]
mod tests {
    use super::source_excerpt;

    #[test]
    fn the_source_excerpt_keeps_line_numbers_and_stays_small() {
        let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
        let excerpt = source_excerpt(&text, 50);
        let lines: Vec<&str> = excerpt.lines().collect();
        assert_eq!(lines.len(), 100);
        assert_eq!(lines[49], "line 50");
        assert_eq!(lines[39], "line 40");
        assert_eq!(lines[38], "");
        assert_eq!(lines[59], "line 60");
        assert_eq!(lines[60], "");
        let long = format!("a: 1\nb: {}\n", "x".repeat(3 << 20));
        assert!(source_excerpt(&long, 2).len() < 2_000);
    }
}
