//! Fetching the spec file (and `.dockerignore`) from the client through
//! the daemon: only those files are transferred, never the whole context.

use std::collections::HashMap;

use stagecraft_proto::pb;

use super::settings::Settings;
use super::FrontendError;
use crate::llb::{self, LocalOptions, OpMeta};
use crate::spec::{self, Spec};

pub struct Loaded {
    pub spec: Spec,
    /// `.dockerignore` patterns, excluded from the context transfer.
    pub context_excludes: Vec<String>,
    /// Digest of the op that loaded the spec: warnings are attached to it.
    pub spec_vertex: String,
}

pub async fn spec_and_ignore(
    bridge: &crate::gateway::Bridge,
    settings: &Settings,
    inputs: &HashMap<String, pb::Definition>,
) -> Result<Loaded, FrontendError> {
    let filename = settings.filename.trim_start_matches("./").to_string();
    let spec_def = match inputs.get(&settings.spec_local) {
        Some(def) => def.clone(),
        None => local_files(
            settings,
            &settings.spec_local,
            std::slice::from_ref(&filename),
            format!("[internal] load build definition from {filename}"),
        ),
    };
    let spec_vertex = result_vertex(&spec_def);
    let reference = bridge.solve(spec_def, Vec::new()).await?;
    let bytes = bridge
        .read_file(&reference, &filename, spec::MAX_SPEC_BYTES + 1)
        .await
        .map_err(|e| FrontendError::Options(format!("cannot read the spec `{filename}`: {e}")))?;
    let spec = spec::parse(&filename, &bytes)
        .map_err(|e| FrontendError::spec(e, &String::from_utf8_lossy(&bytes)))?;
    let context_excludes = if inputs.contains_key(&settings.context_local) {
        Vec::new()
    } else {
        dockerignore(bridge, settings).await?
    };
    Ok(Loaded {
        spec,
        context_excludes,
        spec_vertex,
    })
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

fn local_files(settings: &Settings, local: &str, files: &[String], name: String) -> pb::Definition {
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
    llb::marshal(&state, None)
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
