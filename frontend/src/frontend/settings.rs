//! Build settings from the frontend options buildx and `docker build`
//! send (the same keys the Dockerfile frontend reads).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use stagecraft_proto::gateway::CacheOptionsEntry;
use stagecraft_proto::pb;

use super::{remote, worker_platform, FrontendError};
use crate::compile::{CompileOptions, NamedContext};
use crate::gateway::{DaemonCaps, FrontendOptions};
use crate::llb::{self, Platform};

#[derive(Debug, Clone)]
pub struct Settings {
    pub filename: String,
    pub spec_local: String,
    pub context_local: String,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platforms: Vec<Platform>,
    pub build_platform: Platform,
    /// More than one platform was asked for: return one image per platform.
    pub multi_platform: bool,
    pub labels: BTreeMap<String, String>,
    pub no_cache: bool,
    pub no_cache_stages: BTreeSet<String>,
    pub cache_imports: Vec<CacheOptionsEntry>,
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// `--build-context NAME=oci-layout://…` by NAME: the image's config
    /// comes from the daemon, so these become named contexts later.
    pub oci_layouts: BTreeMap<String, remote::OciLayout>,
    /// The main context, when it is a URL rather than a client directory.
    pub remote_context: Option<remote::Remote>,
    /// buildx sends the spec from a client directory (`dockerfilekey`),
    /// even when the context is a URL.
    pub spec_is_local: bool,
    pub network: llb::Network,
    pub extra_hosts: Vec<(String, String)>,
    pub session_id: Option<String>,
    /// `image-resolve-mode`: default, pull or local.
    pub resolve_mode: String,
}

impl Settings {
    pub fn from_options(
        o: &FrontendOptions,
        caps: &DaemonCaps,
        inputs: &HashMap<String, pb::Definition>,
    ) -> Result<Settings, FrontendError> {
        let build_platform = caps
            .platforms
            .first()
            .map(worker_platform)
            .unwrap_or_else(Platform::host);
        let platforms = match o.get("platform").filter(|p| !p.is_empty()) {
            Some(list) => list
                .split(',')
                .map(|p| {
                    Platform::parse(p).ok_or_else(|| {
                        FrontendError::Options(format!(
                            "invalid platform `{p}`: expected os/arch[/variant]"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => vec![build_platform.clone()],
        };
        let no_cache = o.get("no-cache");
        let context_local = o.get("contextkey").unwrap_or("context").to_string();
        let remote_context = o
            .get(&context_local)
            .map(remote::main_context)
            .transpose()
            .map_err(FrontendError::Options)?
            .flatten();
        let (named_contexts, oci_layouts) = named_contexts(o, inputs)?;
        Ok(Settings {
            filename: o
                .get("filename")
                .filter(|f| !f.is_empty())
                .unwrap_or("Dockerfile")
                .to_string(),
            spec_local: o.get("dockerfilekey").unwrap_or("dockerfile").to_string(),
            spec_is_local: o.contains("dockerfilekey"),
            context_local,
            remote_context,
            target: o
                .get("target")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            build_args: o
                .with_prefix("build-arg:")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            multi_platform: platforms.len() > 1 || o.get("multi-platform") == Some("true"),
            platforms,
            build_platform,
            labels: o
                .with_prefix("label:")
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            no_cache: no_cache == Some(""),
            no_cache_stages: no_cache
                .filter(|v| !v.is_empty())
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            cache_imports: cache_imports(o.get("cache-imports"))?,
            named_contexts,
            oci_layouts,
            network: match o.get("force-network-mode") {
                Some("none") => llb::Network::None,
                Some("host") => llb::Network::Host,
                _ => llb::Network::Default,
            },
            extra_hosts: extra_hosts(o.get("add-hosts").unwrap_or(""))?,
            session_id: std::env::var("BUILDKIT_SESSION_ID")
                .ok()
                .filter(|s| !s.is_empty()),
            resolve_mode: match o.get("image-resolve-mode") {
                Some(mode @ ("pull" | "local" | "default")) => mode.to_string(),
                None | Some("") => "default".to_string(),
                Some(other) => {
                    return Err(FrontendError::Options(format!(
                        "invalid image-resolve-mode `{other}`: expected default, pull or local"
                    )))
                }
            },
        })
    }

    pub fn compile_options(
        &self,
        platform: &Platform,
        context_excludes: &[String],
    ) -> CompileOptions {
        let mut c = CompileOptions::new(platform.clone());
        c.build_platform = self.build_platform.clone();
        c.target = self.target.clone();
        c.build_args = self.build_args.clone();
        c.context_name = self.context_local.clone();
        c.context_excludes = context_excludes.to_vec();
        c.session_id = self.session_id.clone();
        c.no_cache = self.no_cache;
        c.no_cache_stages = self.no_cache_stages.clone();
        c.named_contexts = self.named_contexts.clone();
        c.network = self.network;
        c.extra_hosts = self.extra_hosts.clone();
        c.platform_in_names = self.multi_platform;
        c
    }
}

/// `cache-imports`: `[{"Type":"local","Attrs":{"src":"…"}}]`.
fn cache_imports(value: Option<&str>) -> Result<Vec<CacheOptionsEntry>, FrontendError> {
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Type", alias = "type")]
        kind: String,
        #[serde(rename = "Attrs", alias = "attrs", default)]
        attrs: HashMap<String, String>,
    }
    let Some(text) = value.filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let entries: Vec<Entry> = serde_json::from_str(text)
        .map_err(|e| FrontendError::Options(format!("invalid cache-imports `{text}`: {e}")))?;
    Ok(entries
        .into_iter()
        .map(|e| CacheOptionsEntry {
            r#type: e.kind,
            attrs: e.attrs,
        })
        .collect())
}

/// `context:NAME` = `docker-image://ref` | `local:NAME` | `input:NAME` |
/// a URL (see [`remote`]). OCI layouts are returned apart, by NAME.
fn named_contexts(
    o: &FrontendOptions,
    inputs: &HashMap<String, pb::Definition>,
) -> Result<NamedContexts, FrontendError> {
    let mut out = BTreeMap::new();
    let mut layouts = BTreeMap::new();
    for (name, value) in o.with_prefix("context:") {
        let context = if let Some(reference) = value.strip_prefix("docker-image://") {
            NamedContext::Image(reference.to_string())
        } else if let Some(local) = value.strip_prefix("local:") {
            NamedContext::Local(local.to_string())
        } else if let Some(input) = value.strip_prefix("input:") {
            let def = inputs.get(input).ok_or_else(|| {
                FrontendError::Options(format!(
                    "context `{name}` names input `{input}`, which the caller did not send"
                ))
            })?;
            NamedContext::State(
                llb::from_definition(def)
                    .map_err(|e| FrontendError::Options(format!("input `{input}`: {e}")))?,
            )
        } else {
            match remote::parse(value).map_err(FrontendError::Options)? {
                Some(remote::RemoteContext::Remote(r)) => r.named_context(name),
                Some(remote::RemoteContext::OciLayout(layout)) => {
                    layouts.insert(name.to_string(), layout);
                    continue;
                }
                None => return Err(FrontendError::Options(remote::unsupported(name, value))),
            }
        };
        // Looked up by the short form of a name (`busybox` for
        // `busybox:latest`), as a `from:` value is.
        out.insert(crate::reference::context_key(name), context);
    }
    Ok((out, layouts))
}

type NamedContexts = (
    BTreeMap<String, NamedContext>,
    BTreeMap<String, remote::OciLayout>,
);

/// `add-hosts`: `host=ip` (or `host:ip`), comma separated.
fn extra_hosts(value: &str) -> Result<Vec<(String, String)>, FrontendError> {
    value
        .split(',')
        .filter(|h| !h.trim().is_empty())
        .map(|h| {
            h.split_once('=')
                .or_else(|| h.split_once(':'))
                .map(|(host, ip)| (host.trim().to_string(), ip.trim().to_string()))
                .ok_or_else(|| {
                    FrontendError::Options(format!("invalid add-host `{h}`: expected host=ip"))
                })
        })
        .collect()
}
