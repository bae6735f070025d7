//! Everything besides the spec that decides a build's result: the
//! command line's and the gateway's options, in one place for the layers
//! that read them (resolution and compilation).

use std::collections::{BTreeMap, BTreeSet};

use crate::llb::{self, Platform};

/// What a build can take from outside instead of a stage or image:
/// `--build-context name=…`.
#[derive(Debug, Clone)]
pub enum NamedContext {
    /// `docker-image://ref`: this image instead.
    Image(String),
    /// A client directory, sent as the local source of this name.
    Local(String),
    /// A graph the caller passed in (gateway inputs), or a URL's source.
    State(llb::State),
    /// An image's filesystem and config that are not a registry reference
    /// (an OCI layout the client holds).
    ImageState(llb::State, Box<crate::image::ImageConfig>),
}

/// Everything besides the spec that decides the result.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Stage to build; default the spec's `target`, else its last stage.
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub target_platform: Platform,
    pub build_platform: Platform,
    /// Name of the local source holding the build context.
    pub context_name: String,
    /// Patterns never transferred from the context (`.dockerignore`).
    pub context_excludes: Vec<String>,
    /// Session owning the local sources (gateway); `None` for `buildctl`.
    pub session_id: Option<String>,
    pub no_cache: bool,
    /// Stages whose steps always re-run (`--no-cache-filter`).
    pub no_cache_stages: BTreeSet<String>,
    pub named_contexts: BTreeMap<String, NamedContext>,
    /// Default network of run steps (`--network`).
    pub network: llb::Network,
    /// `--add-host host=ip`.
    pub extra_hosts: Vec<(String, String)>,
    /// LLB capabilities of the daemon; `None` assumes all (offline compile).
    pub caps: Option<BTreeSet<String>>,
    /// Include the spec text and op locations in the Definition.
    pub source_map: bool,
    /// Prefix progress names with the stage's platform (`[linux/386 app
    /// 2/3]`), for builds of several platforms whose steps would otherwise
    /// look alike.
    pub platform_in_names: bool,
}

impl CompileOptions {
    pub fn new(platform: Platform) -> Self {
        CompileOptions {
            target: None,
            build_args: BTreeMap::new(),
            target_platform: platform.clone(),
            build_platform: platform,
            context_name: "context".to_string(),
            context_excludes: Vec::new(),
            session_id: None,
            no_cache: false,
            no_cache_stages: BTreeSet::new(),
            named_contexts: BTreeMap::new(),
            network: llb::Network::Default,
            extra_hosts: Vec::new(),
            caps: None,
            source_map: true,
            platform_in_names: false,
        }
    }
}

impl CompileOptions {
    /// The `--build-context` replacing `name` (a stage, an image or the
    /// build context), found under the name as written or its short image
    /// form (see [`crate::reference::context_key`]).
    pub fn named_context(&self, name: &str) -> Option<&NamedContext> {
        self.named_contexts.get(name).or_else(|| {
            self.named_contexts
                .get(&crate::reference::context_key(name))
        })
    }
}
