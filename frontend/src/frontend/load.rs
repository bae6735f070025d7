//! Fetching the spec file (and `.dockerignore`) from the client through
//! the daemon: only those files are transferred, never the whole context.

use std::collections::HashMap;

use stagecraft_proto::pb;

use super::remote::{self, Remote};
use super::settings::Settings;
use super::FrontendError;
use crate::llb::{self, CopyOptions, FileOp, LocalOptions, OpMeta, State};
use crate::spec::{self, Spec};

pub struct Loaded {
    pub spec: Spec,
    /// `.dockerignore` patterns, excluded from the context transfer.
    pub context_excludes: Vec<String>,
    /// Digest of the op that loaded the spec: warnings are attached to it.
    pub spec_vertex: String,
    /// The main context when it is a URL: the checkout or the download.
    pub remote_context: Option<State>,
}

/// Fetches the spec and `.dockerignore` at the same time: they are
/// independent transfers, and every round trip here delays every build.
pub async fn spec_and_ignore(
    bridge: &crate::gateway::Bridge,
    settings: &Settings,
    inputs: &HashMap<String, pb::Definition>,
) -> Result<Loaded, FrontendError> {
    if let Some(remote) = &settings.remote_context {
        return from_remote(bridge, settings, inputs, remote).await;
    }
    let ignore = async {
        if inputs.contains_key(&settings.context_local) {
            Ok(Vec::new())
        } else {
            dockerignore(bridge, settings).await
        }
    };
    let (spec, context_excludes) = tokio::join!(spec(bridge, settings, inputs), ignore);
    // A spec error says more than a transfer error, so it goes first.
    let (spec, spec_vertex) = spec?;
    Ok(Loaded {
        spec,
        context_excludes: context_excludes?,
        spec_vertex,
        remote_context: None,
    })
}

/// A context given as a URL: the spec comes from it too, unless buildx
/// sends the spec from the client (as the Dockerfile frontend does). No
/// `.dockerignore` applies: nothing is transferred from the client.
async fn from_remote(
    bridge: &crate::gateway::Bridge,
    settings: &Settings,
    inputs: &HashMap<String, pb::Definition>,
    remote: &Remote,
) -> Result<Loaded, FrontendError> {
    let encoding = daemon_encoding(bridge);
    let filename = settings.filename.trim_start_matches("./").to_string();
    let (context, spec_path) = match remote {
        Remote::Git { .. } => (
            remote.state(format!("[internal] load {}", remote.describe())),
            filename.clone(),
        ),
        Remote::Http(_) => http_context(bridge, remote, encoding, &filename).await?,
    };
    let (spec, spec_vertex) = if settings.spec_is_local || inputs.contains_key(&settings.spec_local)
    {
        spec(bridge, settings, inputs).await?
    } else {
        let def = llb::marshal(&context, None, encoding);
        read_spec(bridge, def, &spec_path, &filename).await?
    };
    Ok(Loaded {
        spec,
        context_excludes: Vec::new(),
        spec_vertex,
        remote_context: Some(context),
    })
}

/// The context of an HTTP URL, as the Dockerfile frontend makes it: an
/// archive unpacked, else the file itself, which is then the spec. Returns
/// the context and the path of the spec in it.
async fn http_context(
    bridge: &crate::gateway::Bridge,
    remote: &Remote,
    encoding: llb::Encoding,
    filename: &str,
) -> Result<(State, String), FrontendError> {
    const FILE: &str = "context";
    let download = remote.state("[internal] load remote build context".to_string());
    let reference = bridge
        .solve(llb::marshal(&download, None, encoding), Vec::new())
        .await?;
    let header = bridge.read_file(&reference, FILE, 1024).await?;
    if !remote::is_archive(&header) {
        return Ok((download, FILE.to_string()));
    }
    let unpack = CopyOptions {
        attempt_unpack: true,
        ..CopyOptions::default()
    };
    let unpacked = FileOp::on(&State::scratch())
        .copy(&download, &format!("/{FILE}"), "/", unpack)
        .into_state(OpMeta::named("[internal] unpack remote build context"));
    Ok((unpacked, filename.to_string()))
}

/// The parsed spec and the digest of the op that loaded it.
async fn spec(
    bridge: &crate::gateway::Bridge,
    settings: &Settings,
    inputs: &HashMap<String, pb::Definition>,
) -> Result<(Spec, String), FrontendError> {
    let filename = settings.filename.trim_start_matches("./").to_string();
    let spec_def = match inputs.get(&settings.spec_local) {
        Some(def) => def.clone(),
        None => definition_file(settings, &filename, daemon_encoding(bridge)),
    };
    read_spec(bridge, spec_def, &filename, &filename).await
}

/// Solves `def`, reads the spec at `path` in its result and parses it as
/// the file `name`.
async fn read_spec(
    bridge: &crate::gateway::Bridge,
    def: pb::Definition,
    path: &str,
    name: &str,
) -> Result<(Spec, String), FrontendError> {
    let spec_vertex = result_vertex(&def);
    let reference = bridge.solve(def, Vec::new()).await?;
    let bytes = bridge
        .read_file(&reference, path, spec::MAX_SPEC_BYTES + 1)
        .await
        .map_err(|e| FrontendError::Options(format!("cannot read the spec `{name}`: {e}")))?;
    let spec = spec::parse(name, &bytes)
        .map_err(|e| FrontendError::spec(e, &String::from_utf8_lossy(&bytes)))?;
    Ok((spec, spec_vertex))
}

/// How the daemon's Go code encodes ops (see `llb::marshal`).
fn daemon_encoding(bridge: &crate::gateway::Bridge) -> llb::Encoding {
    llb::Encoding::of_daemon(bridge.caps().llb.iter())
}

/// The digest of the op a Definition's result comes from.
fn result_vertex(def: &pb::Definition) -> String {
    use stagecraft_proto::Message;
    def.def
        .last()
        .and_then(|bytes| pb::Op::decode(bytes.as_slice()).ok())
        .and_then(|terminal| terminal.inputs.first().map(|i| i.digest.clone()))
        .unwrap_or_default()
}

/// The spec's local source, the very op (same attributes, same digest)
/// with which the daemon's Dockerfile frontend read the file to find the
/// `# syntax=` line: BuildKit merges the two, so the spec is transferred
/// and shown once.
fn definition_file(settings: &Settings, filename: &str, encoding: llb::Encoding) -> pb::Definition {
    let mut paths = vec![filename.to_string(), format!("{filename}.dockerignore")];
    // That frontend also accepts a lower-case `dockerfile`.
    if let Some(dir) = filename
        .strip_suffix("Dockerfile")
        .filter(|d| d.is_empty() || d.ends_with('/'))
    {
        paths.push(format!("{dir}dockerfile"));
    }
    let state = llb::local(
        &settings.spec_local,
        &LocalOptions {
            follow_paths: paths,
            shared_key_hint: Some(settings.spec_local.clone()),
            session_id: settings.session_id.clone(),
            whole_files: true,
            ..LocalOptions::default()
        },
        OpMeta::named(format!("[internal] load build definition from {filename}")),
    );
    llb::marshal(&state, None, encoding)
}

fn local_files(
    settings: &Settings,
    local: &str,
    files: &[String],
    name: String,
    encoding: llb::Encoding,
) -> pb::Definition {
    let state = llb::local(
        local,
        &LocalOptions {
            include_patterns: files.to_vec(),
            follow_paths: files.to_vec(),
            shared_key_hint: Some(files.join(",")),
            session_id: settings.session_id.clone(),
            ..LocalOptions::default()
        },
        OpMeta::named(name),
    );
    llb::marshal(&state, None, encoding)
}

async fn dockerignore(
    bridge: &crate::gateway::Bridge,
    settings: &Settings,
) -> Result<Vec<String>, FrontendError> {
    const FILE: &str = ".dockerignore";
    let def = local_files(
        settings,
        &settings.context_local,
        &[FILE.to_string()],
        "[internal] load .dockerignore".to_string(),
        daemon_encoding(bridge),
    );
    let reference = bridge.solve(def, Vec::new()).await?;
    // A missing file is the common case, not an error.
    let Ok(bytes) = bridge.read_file(&reference, FILE, 1 << 20).await else {
        return Ok(Vec::new());
    };
    Ok(parse_dockerignore(&String::from_utf8_lossy(&bytes)))
}

/// One pattern per line; `#` comments and blank lines skipped.
pub fn parse_dockerignore(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (neg, pattern) = l.strip_prefix('!').map_or(("", l), |p| ("!", p.trim()));
            format!("{neg}{}", pattern.trim_start_matches('/'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dockerignore() {
        assert_eq!(
            parse_dockerignore("# c\n\n/target\n!keep\n*.log \n"),
            vec!["target", "!keep", "*.log"]
        );
    }
}
