//! Command-line interface. Errors become one message on stderr and a
//! non-zero exit; nothing is written to stdout unless the command succeeded.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use stagecraft::compile::{self, CompileOptions};
use stagecraft::llb::Platform;
use stagecraft::spec;
use stagecraft_proto::Message;

#[derive(Parser)]
#[command(
    name = "stagecraft",
    version,
    about = "Build container images from a YAML spec with BuildKit"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Validate a spec and lint it: errors and warnings go to stderr.
    /// Exits 1 when the spec is invalid, or has warnings under
    /// `lint: {error: true}`; warnings alone exit 0.
    Check {
        file: PathBuf,
        /// The build context, whose `.dockerignore` copies are checked
        /// against (default: the spec's directory).
        #[arg(long)]
        context: Option<PathBuf>,
    },
    /// Compile a spec to a BuildKit LLB Definition on stdout (for `buildctl build`).
    Compile {
        file: PathBuf,
        /// Stage to build (default: the spec's `target`, else the last stage).
        #[arg(long)]
        target: Option<String>,
        /// Override a declared arg, `NAME=value`; repeatable.
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        /// Target platform, e.g. linux/amd64 (default: this machine's).
        #[arg(long)]
        platform: Option<String>,
        /// `pb`: the binary Definition; `json`: a readable dump.
        #[arg(long, value_enum, default_value = "pb")]
        format: Format,
    },
    /// Draw what a spec builds: stages, their bases, what they copy from
    /// each other, the target's stages set apart (Graphviz DOT or Mermaid).
    Graph {
        file: PathBuf,
        /// The stage whose build is set apart (default: the spec's target).
        #[arg(long)]
        target: Option<String>,
        /// Override a declared arg, `NAME=value`; repeatable.
        #[arg(long = "build-arg", value_name = "NAME=VALUE")]
        build_args: Vec<String>,
        #[arg(long, value_enum, default_value = "dot")]
        format: GraphFormat,
    },
    /// Convert a Dockerfile into a spec that builds the same image.
    Convert {
        /// The Dockerfile (default: ./Dockerfile).
        #[arg(default_value = "Dockerfile")]
        dockerfile: PathBuf,
        /// Write the spec here instead of to stdout (replaced atomically).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema of spec v1.
    Schema,
    /// Run as a BuildKit gateway frontend (the image's entrypoint).
    Frontend,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Pb,
    Json,
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Check { file, context } => check(&file, context),
        Cmd::Compile {
            file,
            target,
            build_args,
            platform,
            format,
        } => compile_cmd(&file, target, &build_args, platform, format),
        Cmd::Graph {
            file,
            target,
            build_args,
            format,
        } => graph_cmd(&file, target, &build_args, format),
        Cmd::Convert { dockerfile, output } => convert_cmd(&dockerfile, output.as_deref()),
        Cmd::Schema => write_stdout(spec::json_schema().as_bytes()),
        Cmd::Frontend => return stagecraft::frontend::main(),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn load(file: &PathBuf) -> Result<spec::Spec> {
    use std::io::Read;
    let cannot_read = || format!("cannot read {}", file.display());
    // One byte over the limit is enough for the parser to refuse it; a
    // huge file is not read whole.
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| {
            f.take(spec::MAX_SPEC_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .with_context(cannot_read)?;
    Ok(spec::parse(&file.display().to_string(), &bytes)?)
}

/// Parses the spec and resolves every stage with the args' defaults, so
/// that what any build of it would refuse is reported now; then lints it.
fn check(file: &PathBuf, context: Option<PathBuf>) -> Result<()> {
    let spec = load(file)?;
    let options = CompileOptions::new(Platform::host());
    let context = context.unwrap_or_else(|| match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    });
    let ignore = read_dockerignore(&context)?;
    let report = stagecraft::lint::lint(&spec, &options, &ignore)?;
    let mut stderr = std::io::stderr().lock();
    // Warnings are advice: a closed stderr does not fail the check.
    let _ = stagecraft::lint::write_warnings(&mut stderr, &spec, &report);
    match report.failure(&spec) {
        Some(error) => Err(error.into()),
        None => Ok(()),
    }
}

/// The patterns of `DIR/.dockerignore`, none when there is no such file.
fn read_dockerignore(context: &std::path::Path) -> Result<Vec<String>> {
    let path = context.join(".dockerignore");
    match std::fs::read(&path) {
        Ok(bytes) => Ok(stagecraft::frontend::parse_dockerignore(
            &String::from_utf8_lossy(&bytes),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn compile_cmd(
    file: &PathBuf,
    target: Option<String>,
    build_args: &[String],
    platform: Option<String>,
    format: Format,
) -> Result<()> {
    let spec = load(file)?;
    let host = Platform::host();
    let target_platform = match platform {
        Some(p) if p.contains(',') => {
            bail!("`compile` writes one Definition; give one platform, not `{p}`")
        }
        Some(p) => Platform::parse(&p)
            .with_context(|| format!("invalid platform `{p}`: expected os/arch[/variant]"))?,
        None => host.clone(),
    };
    let mut options = CompileOptions::new(target_platform);
    options.build_platform = host;
    options.target = target;
    options.build_args = parse_build_args(build_args)?;
    let build = stagecraft::resolve::resolve(&spec, &options)?;
    // The resolved build holds its own copy of every stage it needs: the
    // spec as written is not needed past here, and freeing it before the
    // LLB is built keeps the two from being in memory at once.
    let spec_file = spec.file.clone();
    drop(spec);
    let compiled = compile::compile_resolved(
        &build,
        &options,
        &compile::Offline,
        &compile::Closures::default(),
    )?;
    for unused in &compiled.unused_build_args {
        eprintln!(
            "warning: build arg `{unused}` is not declared in {}",
            spec_file
        );
    }
    let written = match format {
        Format::Pb => write_stdout(&compiled.definition.encode_to_vec()),
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(&stagecraft::llb::dump(&compiled.definition))?;
            text.push('\n');
            write_stdout(text.as_bytes())
        }
    };
    // The process ends right after this; freeing a large graph piece by
    // piece would only add to the wall time.
    std::mem::forget(compiled);
    std::mem::forget(build);
    written
}

fn graph_cmd(
    file: &PathBuf,
    target: Option<String>,
    build_args: &[String],
    format: GraphFormat,
) -> Result<()> {
    let spec = load(file)?;
    let mut options = CompileOptions::new(Platform::host());
    options.target = target;
    options.build_args = parse_build_args(build_args)?;
    let graph = stagecraft::graph::graph(&spec, &options)?;
    let text = match format {
        GraphFormat::Dot => stagecraft::graph::dot(&graph),
        GraphFormat::Mermaid => stagecraft::graph::mermaid(&graph),
    };
    write_stdout(text.as_bytes())
}

fn convert_cmd(dockerfile: &Path, output: Option<&Path>) -> Result<()> {
    use std::io::Read;
    let name = dockerfile.display().to_string();
    let mut bytes = Vec::new();
    std::fs::File::open(dockerfile)
        .and_then(|f| {
            f.take(stagecraft::convert::parse::MAX_DOCKERFILE_BYTES as u64 + 1)
                .read_to_end(&mut bytes)
        })
        .with_context(|| format!("cannot read {name}"))?;
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            bail!("{name}:{line}:1: the Dockerfile is not UTF-8 text\n  hint: save it as UTF-8");
        }
    };
    let converted = stagecraft::convert::convert(&name, &text)?;
    for warning in &converted.warnings {
        eprintln!("warning: {}", warning.render(&name));
    }
    match output {
        None => write_stdout(converted.yaml.as_bytes()),
        Some(path) => write_atomically(path, converted.yaml.as_bytes()),
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it:
/// `path` is either the old file or the whole new one, never half of it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

fn parse_build_args(args: &[String]) -> Result<BTreeMap<String, String>> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => bail!("invalid --build-arg `{a}`: expected NAME=value"),
        })
        .collect()
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).context("cannot write to stdout")?;
    out.flush().context("cannot write to stdout")?;
    Ok(())
}
