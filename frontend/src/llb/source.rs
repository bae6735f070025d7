//! Source ops: where filesystems come from (images, the client's local
//! directories, HTTP, git).

use std::collections::{BTreeMap, BTreeSet};

use stagecraft_proto::caps::llb as cap;
use stagecraft_proto::pb;

use super::{Cap, OpMeta, Platform, State, Vertex};

fn source(
    identifier: String,
    attrs: BTreeMap<String, String>,
    platform: Option<&Platform>,
    caps: BTreeSet<Cap>,
    meta: OpMeta,
) -> State {
    State::from_vertex(
        Vertex {
            op: pb::op::Op::Source(pb::SourceOp { identifier, attrs }),
            inputs: Vec::new(),
            platform: platform.cloned(),
            meta,
            caps,
        },
        0,
    )
}

/// An image's root filesystem. `reference` must be normalized
/// (`docker.io/library/debian:bookworm-slim[@sha256:…]`).
pub fn image(reference: &str, platform: &Platform, meta: OpMeta) -> State {
    source(
        format!("docker-image://{reference}"),
        BTreeMap::new(),
        Some(platform),
        BTreeSet::from([cap::SOURCE_IMAGE.into()]),
        meta,
    )
}

/// What to transfer from a client directory. Empty lists mean "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalOptions {
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub follow_paths: Vec<String>,
    /// Lets the daemon reuse a previous transfer of the same directory.
    pub shared_key_hint: Option<String>,
    /// The client session that owns the directory; empty means "the
    /// session of the build request", which is what `buildctl` gives.
    pub session_id: Option<String>,
    /// `local.differ=none`: send the files whole instead of comparing them
    /// with an earlier transfer, as BuildKit's frontends load their
    /// definition file.
    pub whole_files: bool,
}

/// A directory the client sends (`--local NAME=path`).
pub fn local(name: &str, options: &LocalOptions, meta: OpMeta) -> State {
    let mut attrs = BTreeMap::new();
    let mut caps = BTreeSet::from([cap::SOURCE_LOCAL.into()]);
    let mut list_attr = |key: &str, list: &[String], capability: &'static str| {
        if !list.is_empty() {
            attrs.insert(
                key.to_string(),
                serde_json::to_string(list).expect("strings serialize"),
            );
            caps.insert(capability.into());
        }
    };
    list_attr(
        "local.includepattern",
        &options.include_patterns,
        cap::SOURCE_LOCAL_INCLUDE_PATTERNS,
    );
    list_attr(
        "local.excludepatterns",
        &options.exclude_patterns,
        cap::SOURCE_LOCAL_EXCLUDE_PATTERNS,
    );
    list_attr(
        "local.followpaths",
        &options.follow_paths,
        cap::SOURCE_LOCAL_FOLLOW_PATHS,
    );
    if let Some(hint) = &options.shared_key_hint {
        attrs.insert("local.sharedkeyhint".to_string(), hint.clone());
        caps.insert(cap::SOURCE_LOCAL_SHARED_KEY_HINT.into());
    }
    if options.whole_files {
        // Not required, so no capability, as BuildKit's client does.
        attrs.insert("local.differ".to_string(), "none".to_string());
    }
    if let Some(session) = &options.session_id {
        attrs.insert("local.session".to_string(), session.clone());
        caps.insert(cap::SOURCE_LOCAL_SESSION_ID.into());
    }
    source(format!("local://{name}"), attrs, None, caps, meta)
}

/// A file downloaded over HTTP(S), verified against `checksum` when given.
pub fn http(url: &str, checksum: Option<&str>, filename: Option<&str>, meta: OpMeta) -> State {
    let mut attrs = BTreeMap::new();
    let mut caps = BTreeSet::from([cap::SOURCE_HTTP.into()]);
    if let Some(sum) = checksum {
        attrs.insert("http.checksum".to_string(), sum.to_string());
        caps.insert(cap::SOURCE_HTTP_CHECKSUM.into());
    }
    if let Some(name) = filename {
        attrs.insert("http.filename".to_string(), name.to_string());
    }
    source(url.to_string(), attrs, None, caps, meta)
}

/// A git checkout of `reference` (branch, tag or commit; default HEAD).
pub fn git(remote: &str, reference: Option<&str>, keep_git_dir: bool, meta: OpMeta) -> State {
    let bare = remote
        .split_once("://")
        .map_or(remote, |(_, rest)| rest)
        .trim_end_matches('/');
    let mut identifier = format!("git://{bare}");
    if let Some(r) = reference {
        identifier.push('#');
        identifier.push_str(r);
    }
    let mut attrs = BTreeMap::new();
    let mut caps = BTreeSet::from([cap::SOURCE_GIT.into()]);
    if remote.contains("://") {
        attrs.insert("git.fullurl".to_string(), remote.to_string());
        caps.insert(cap::SOURCE_GIT_FULL_URL.into());
    }
    if keep_git_dir {
        attrs.insert("git.keepgitdir".to_string(), "true".to_string());
        caps.insert(cap::SOURCE_GIT_KEEP_DIR.into());
    }
    source(identifier, attrs, None, caps, meta)
}

/// An image in an OCI layout the client holds (`--build-context
/// NAME=oci-layout://…`): buildx serves the layout's content store in the
/// build session as `store`; `reference` names the image by digest.
pub fn oci_layout(
    reference: &str,
    session: Option<&str>,
    store: &str,
    platform: &Platform,
    meta: OpMeta,
) -> State {
    let mut attrs = BTreeMap::from([("oci.store".to_string(), store.to_string())]);
    if let Some(session) = session {
        attrs.insert("oci.session".to_string(), session.to_string());
    }
    source(
        format!("oci-layout://{reference}"),
        attrs,
        Some(platform),
        BTreeSet::from([cap::SOURCE_OCI_LAYOUT.into()]),
        meta,
    )
}
