//! Build contexts that are not client directories, for the main context
//! (`docker buildx build URL`) and for `--build-context NAME=URL`, taken as
//! BuildKit's Dockerfile frontend takes them (`frontend/dockerui`):
//!
//! * a git repository: `git://…`, or `http(s)://…` whose path ends in
//!   `.git`, with an optional `#ref[:subdir]`;
//! * any other `http(s)://` URL: a file the daemon downloads (named
//!   `context`); as the main context, an archive is unpacked;
//! * `oci-layout://…` (named contexts): an image in an OCI layout on the
//!   client, which buildx serves from the build session.
//!
//! The daemon fetches git and HTTP sources itself, so a URL must be
//! reachable from the daemon's host.

use crate::compile::NamedContext;
use crate::gateway::Bridge;
use crate::image::ImageConfig;
use crate::llb::{self, OpMeta, Platform, State};
use crate::reference::ImageRef;

use super::FrontendError;

/// A context given as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `remote` without its fragment; `fragment` is `ref[:subdir]`.
    Git {
        remote: String,
        fragment: Option<String>,
    },
    Http(String),
}

/// `oci-layout://STORE[:TAG]@DIGEST`, the form buildx sends after taking
/// the layout's directory into the session as the content store `STORE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciLayout {
    pub store: String,
    pub digest: String,
}

/// What a `--build-context` value names, when it is not a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteContext {
    Remote(Remote),
    OciLayout(OciLayout),
}

const FORMS: &str = "a directory, docker-image://REF, oci-layout://DIR[:TAG], \
    git://HOST/REPO[#REF[:DIR]], http(s)://HOST/REPO.git[#REF[:DIR]] or http(s)://URL";

/// The remote a main-context value names; `None` when it names none (the
/// context is then the client directory buildx sends).
pub fn main_context(value: &str) -> Result<Option<Remote>, String> {
    match parse(value)? {
        Some(RemoteContext::Remote(remote)) => Ok(Some(remote)),
        Some(RemoteContext::OciLayout(_)) => Err(format!(
            "the build context `{value}` is an OCI layout; an OCI layout can only be a \
             named context (--build-context NAME=oci-layout://…)"
        )),
        None => Ok(None),
    }
}

/// Parses a URL-form context; `None` when `value` is no URL form.
pub fn parse(value: &str) -> Result<Option<RemoteContext>, String> {
    if let Some(rest) = value.strip_prefix("oci-layout://") {
        return oci_layout(value, rest).map(|l| Some(RemoteContext::OciLayout(l)));
    }
    if value.starts_with("git@") || value.starts_with("ssh://") {
        return Err(format!(
            "unsupported build context `{value}`: git over ssh is not supported yet; \
             use a git:// or https:// URL"
        ));
    }
    let is_http = value.starts_with("http://") || value.starts_with("https://");
    if !is_http && !value.starts_with("git://") {
        return Ok(None);
    }
    let (remote, fragment) = match value.split_once('#') {
        Some((remote, fragment)) => (remote, Some(fragment)),
        None => (value, None),
    };
    let path_end = remote.find('?').unwrap_or(remote.len());
    let git = !is_http || remote[..path_end].trim_end_matches('/').ends_with(".git");
    if !git {
        return Ok(Some(RemoteContext::Remote(Remote::Http(value.to_string()))));
    }
    if path_end < remote.len() {
        return Err(format!(
            "unsupported build context `{value}`: name the ref and directory as \
             `#REF:DIR` after the repository URL, not as a query"
        ));
    }
    Ok(Some(RemoteContext::Remote(Remote::Git {
        remote: remote.to_string(),
        fragment: fragment.filter(|f| !f.is_empty()).map(str::to_string),
    })))
}

fn oci_layout(value: &str, rest: &str) -> Result<OciLayout, String> {
    let invalid = |why: &str| {
        format!(
            "invalid build context `{value}`: {why}; give buildx the layout's directory, \
             `oci-layout://DIR[:TAG]`, and it sends the image's digest"
        )
    };
    let (name, digest) = rest
        .split_once('@')
        .ok_or_else(|| invalid("no image digest"))?;
    if !digest.starts_with("sha256:") || digest.len() != 71 {
        return Err(invalid("the digest is not sha256:<64 hex digits>"));
    }
    // A `:` after the last `/` starts a tag, which the digest makes moot.
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let store = match name[last_slash..].find(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    };
    if store.is_empty() {
        return Err(invalid("no content store named"));
    }
    Ok(OciLayout {
        store: store.to_string(),
        digest: digest.to_string(),
    })
}

impl Remote {
    /// The source of this remote, named `name` in progress output.
    pub fn state(&self, name: String) -> State {
        match self {
            Remote::Git { remote, fragment } => {
                llb::git(remote, fragment.as_deref(), false, OpMeta::named(name))
            }
            // The file is `context` in the result, as BuildKit names it.
            Remote::Http(url) => llb::http(url, None, Some("context"), OpMeta::named(name)),
        }
    }

    /// How it reads in progress output after `load …`.
    pub fn describe(&self) -> String {
        match self {
            Remote::Git { remote, fragment } => match fragment {
                Some(f) => format!("git source {remote}#{f}"),
                None => format!("git source {remote}"),
            },
            Remote::Http(url) => format!("remote file {url}"),
        }
    }

    /// As a named context: the checkout, or the downloaded file.
    pub fn named_context(&self, name: &str) -> NamedContext {
        NamedContext::State(self.state(format!("[context {name}] load {}", self.describe())))
    }
}

impl OciLayout {
    /// The layout's image for `platform` as the named context `name`: its
    /// config asked of the daemon (which reads the client's layout through
    /// the session), its filesystem an `oci-layout://` source. As in the
    /// Dockerfile frontend, the image is called `name@digest` (the store
    /// key means nothing to a reader).
    pub async fn named_context(
        &self,
        bridge: &Bridge,
        name: &str,
        session: Option<&str>,
        platform: &Platform,
    ) -> Result<NamedContext, FrontendError> {
        let fail = |why: String| {
            FrontendError::Options(format!(
                "cannot load the OCI layout of --build-context {name}: {why}"
            ))
        };
        let reference = ImageRef::parse(name)
            .map_err(|e| fail(format!("the name must be an image name ({e})")))?
            .pinned(&self.digest)
            .to_string();
        let (_, config) = bridge
            .resolve_oci_layout_config(
                &reference,
                &platform.to_pb(),
                session.unwrap_or_default(),
                &self.store,
                &format!("[context {name}] load metadata for {reference}"),
            )
            .await
            .map_err(|e| {
                let text = e.to_string();
                if text.contains("unknown scheme oci-layout") {
                    // The docker driver on the graphdriver image store.
                    fail(format!(
                        "{text} (this daemon cannot read OCI layouts: use one with the \
                         containerd image store, or a docker-container builder)"
                    ))
                } else {
                    fail(text)
                }
            })?;
        let config = ImageConfig::from_json(&config)
            .map_err(|e| fail(format!("its image config is not valid JSON: {e}")))?;
        let state = llb::oci_layout(
            &reference,
            session,
            &self.store,
            platform,
            OpMeta::named(format!("[context {name}] load OCI layout {reference}")),
        );
        Ok(NamedContext::ImageState(state, Box::new(config)))
    }
}

/// A message for a value no form matches.
pub fn unsupported(name: &str, value: &str) -> String {
    format!("unsupported build context `{name}={value}`: use {FORMS}")
}

/// True when the first bytes of a file are an archive the daemon unpacks:
/// gzip, bzip2 or xz data, or a tar header (`ustar` magic at 257).
pub fn is_archive(header: &[u8]) -> bool {
    const MAGIC: [&[u8]; 3] = [
        &[0x1F, 0x8B, 0x08],
        &[0x42, 0x5A, 0x68],
        &[0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],
    ];
    MAGIC.iter().any(|m| header.starts_with(m))
        || header.get(257..262).is_some_and(|m| m == b"ustar")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(remote: &str, fragment: Option<&str>) -> Option<RemoteContext> {
        Some(RemoteContext::Remote(Remote::Git {
            remote: remote.into(),
            fragment: fragment.map(str::to_string),
        }))
    }

    #[test]
    fn git_urls_with_ref_and_subdir() {
        assert_eq!(
            parse("git://127.0.0.1:9418/repo.git#main:app"),
            Ok(git("git://127.0.0.1:9418/repo.git", Some("main:app")))
        );
        assert_eq!(
            parse("https://example.com/o/repo.git"),
            Ok(git("https://example.com/o/repo.git", None))
        );
        assert_eq!(
            parse("http://example.com/repo.git#:sub"),
            Ok(git("http://example.com/repo.git", Some(":sub")))
        );
        assert!(parse("https://example.com/repo.git?ref=main")
            .unwrap_err()
            .contains("#REF:DIR"));
        assert!(parse("git@github.com:o/r.git").unwrap_err().contains("ssh"));
    }

    #[test]
    fn other_http_urls_are_files() {
        assert_eq!(
            parse("https://example.com/ctx.tar.gz"),
            Ok(Some(RemoteContext::Remote(Remote::Http(
                "https://example.com/ctx.tar.gz".into()
            ))))
        );
    }

    #[test]
    fn directories_are_no_remote() {
        assert_eq!(parse("/home/me/src"), Ok(None));
        assert_eq!(parse("local:ctx"), Ok(None));
        assert_eq!(main_context("."), Ok(None));
    }

    #[test]
    fn oci_layouts_as_buildx_sends_them() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            parse(&format!("oci-layout://k3v9s2:v1@{digest}")),
            Ok(Some(RemoteContext::OciLayout(OciLayout {
                store: "k3v9s2".into(),
                digest: digest.clone()
            })))
        );
        assert!(parse("oci-layout://store:v1")
            .unwrap_err()
            .contains("digest"));
        assert!(main_context(&format!("oci-layout://s@{digest}"))
            .unwrap_err()
            .contains("named context"));
    }

    #[test]
    fn archives_are_told_by_their_first_bytes() {
        assert!(is_archive(&[0x1F, 0x8B, 0x08, 0]));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(is_archive(&tar));
        assert!(!is_archive(b"# syntax=stagecraft:dev\nversion: 1\n"));
    }
}
