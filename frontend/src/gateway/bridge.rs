//! The `LLBBridge` calls a frontend makes, with typed results.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use stagecraft_proto::gateway::{self as gw, result};
use stagecraft_proto::stdio::{self, BridgeClient};
use stagecraft_proto::{caps, pb, Message, RpcStatus};

use super::files::{self, FileStat};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("cannot connect to BuildKit over stdio: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// A call failed; `status` is the daemon's own error, kept whole so it
    /// can be returned to the client with its details (source locations).
    #[error("{call}: {}", .status.message())]
    Call {
        call: &'static str,
        status: Box<tonic::Status>,
    },
    #[error("{0}")]
    Unsupported(String),
}

impl GatewayError {
    fn call(call: &'static str) -> impl FnOnce(tonic::Status) -> GatewayError {
        move |status| GatewayError::Call {
            call,
            status: Box::new(status),
        }
    }

    /// The error as a `google.rpc.Status`, details included.
    pub fn to_rpc_status(&self) -> RpcStatus {
        match self {
            GatewayError::Call { status, .. } => {
                let mut rpc = RpcStatus::decode(status.details()).unwrap_or_default();
                rpc.code = status.code() as i32;
                rpc.message = status.message().to_string();
                rpc
            }
            other => RpcStatus {
                code: tonic::Code::Unknown as i32,
                message: other.to_string(),
                details: Vec::new(),
            },
        }
    }

    /// True when the daemon hung up (the build was cancelled).
    pub fn is_disconnect(&self) -> bool {
        match self {
            GatewayError::Connect(_) => true,
            GatewayError::Call { status, .. } => {
                matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Cancelled
                )
            }
            GatewayError::Unsupported(_) => false,
        }
    }
}

/// What the daemon said it supports.
#[derive(Debug, Clone, Default)]
pub struct DaemonCaps {
    pub llb: BTreeSet<String>,
    pub gateway: BTreeSet<String>,
    /// Platforms of the daemon's default worker, native first.
    pub platforms: Vec<pb::Platform>,
}

/// One image of a result: its ref, its platform (for multi-platform
/// results) and its config JSON.
#[derive(Debug, Clone)]
pub struct PlatformResult {
    pub platform: Option<String>,
    pub reference: String,
    pub config: Vec<u8>,
}

#[derive(Clone)]
pub struct Bridge {
    client: BridgeClient,
    caps: DaemonCaps,
}

impl Bridge {
    /// Connects over stdio and asks the daemon what it supports.
    pub async fn connect_stdio() -> Result<Bridge, GatewayError> {
        // A daemon that holds the pipes open but never answers must not
        // leave the frontend waiting forever (BuildKit's Go client also
        // bounds its first ping).
        const PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
        let mut client = stdio::connect_stdio().await?;
        let pong = tokio::time::timeout(PING_TIMEOUT, client.ping(gw::PingRequest {}))
            .await
            .map_err(|_| {
                GatewayError::Unsupported("the daemon did not answer ping within 30 s".into())
            })?
            .map_err(GatewayError::call("ping"))?
            .into_inner();
        let enabled = |list: Vec<gw::ApiCap>| {
            list.into_iter()
                .filter(|c| c.enabled)
                .map(|c| c.id)
                .collect()
        };
        let caps = DaemonCaps {
            llb: enabled(pong.llb_caps),
            gateway: enabled(pong.frontend_api_caps),
            platforms: pong
                .workers
                .into_iter()
                .next()
                .map(|w| w.platforms)
                .unwrap_or_default(),
        };
        Ok(Bridge { client, caps })
    }

    pub fn caps(&self) -> &DaemonCaps {
        &self.caps
    }

    fn has(&self, cap: &str) -> bool {
        self.caps.gateway.contains(cap)
    }

    /// Definitions the caller passed along (how `# syntax=` forwards the
    /// context and the spec file).
    pub async fn inputs(&self) -> Result<HashMap<String, pb::Definition>, GatewayError> {
        if !self.has(caps::gateway::FRONTEND_INPUTS) {
            return Ok(HashMap::new());
        }
        let response = self
            .client
            .clone()
            .inputs(gw::InputsRequest {})
            .await
            .map_err(GatewayError::call("inputs"))?;
        Ok(response.into_inner().definitions)
    }

    /// Solves a Definition and returns the id of its result.
    pub async fn solve(
        &self,
        definition: pb::Definition,
        cache_imports: Vec<gw::CacheOptionsEntry>,
    ) -> Result<String, GatewayError> {
        let request = gw::SolveRequest {
            definition: Some(definition),
            allow_result_return: true,
            allow_result_array_ref: true,
            cache_imports,
            ..gw::SolveRequest::default()
        };
        let response = self
            .client
            .clone()
            .solve(request)
            .await
            .map_err(GatewayError::call("solve"))?
            .into_inner();
        match response.result.and_then(|r| r.result) {
            Some(result::Result::Ref(r)) => Ok(r.id),
            Some(result::Result::RefDeprecated(id)) => Ok(id),
            None if !response.r#ref.is_empty() => Ok(response.r#ref),
            // An empty result (e.g. `scratch` with no steps) has no ref.
            None => Ok(String::new()),
            Some(_) => Err(GatewayError::Unsupported(
                "solve returned a map of results".into(),
            )),
        }
    }

    /// Reads a whole file (up to `limit` bytes) from a solved result.
    pub async fn read_file(
        &self,
        reference: &str,
        path: &str,
        limit: usize,
    ) -> Result<Vec<u8>, GatewayError> {
        self.read_file_range(reference, path, 0, limit as u64).await
    }

    /// Reads `length` bytes at `offset` of a file in a solved result
    /// (fewer at the end of the file). Symlinks on the path, the last one
    /// included, are followed inside the result.
    pub async fn read_file_range(
        &self,
        reference: &str,
        path: &str,
        offset: u64,
        length: u64,
    ) -> Result<Vec<u8>, GatewayError> {
        self.require(caps::gateway::READ_FILE, "read files of a build result")?;
        let request = files::read_file_request(reference, path, offset, length);
        let response = self
            .client
            .clone()
            .read_file(request)
            .await
            .map_err(GatewayError::call("read file"))?;
        Ok(response.into_inner().data)
    }

    /// The entries of a directory in a solved result, as `lstat` sees
    /// them (a symlink is reported as one, with its target). `pattern`
    /// filters them (fsutil include-pattern syntax; empty for all). A
    /// directory that does not exist lists as empty.
    pub async fn read_dir(
        &self,
        reference: &str,
        dir: &str,
        pattern: &str,
    ) -> Result<Vec<FileStat>, GatewayError> {
        self.require(
            caps::gateway::READ_DIR,
            "list directories of a build result",
        )?;
        let request = files::read_dir_request(reference, dir, pattern);
        let response = self
            .client
            .clone()
            .read_dir(request)
            .await
            .map_err(GatewayError::call("read dir"))?;
        Ok(response
            .into_inner()
            .entries
            .into_iter()
            .map(FileStat::from)
            .collect())
    }

    /// The metadata of a path in a solved result, symlinks followed (the
    /// daemon resolves the last component too: use [`Bridge::read_dir`] on
    /// the parent to see a link itself).
    pub async fn stat_file(&self, reference: &str, path: &str) -> Result<FileStat, GatewayError> {
        self.require(caps::gateway::STAT_FILE, "inspect files of a build result")?;
        let request = files::stat_file_request(reference, path);
        let response = self
            .client
            .clone()
            .stat_file(request)
            .await
            .map_err(GatewayError::call("stat file"))?;
        response
            .into_inner()
            .stat
            .map(FileStat::from)
            .ok_or_else(|| {
                GatewayError::Unsupported(format!("the daemon sent no stat for `{path}`"))
            })
    }

    /// Fails clearly when the daemon lacks a gateway capability.
    fn require(&self, cap: &str, purpose: &str) -> Result<(), GatewayError> {
        if self.has(cap) {
            Ok(())
        } else {
            Err(GatewayError::Unsupported(format!(
                "the BuildKit daemon cannot {purpose} (it lacks the gateway capability `{cap}`); \
                 upgrade it (BuildKit 0.3 and later have it)"
            )))
        }
    }

    /// The manifest digest and config JSON of an image for a platform.
    /// `resolve_mode` is `default`, `pull` or `local`; with `local` (what
    /// the docker driver asks for) a locally present image has no digest.
    pub async fn resolve_image_config(
        &self,
        reference: &str,
        platform: &pb::Platform,
        resolve_mode: &str,
        log_name: &str,
    ) -> Result<(String, Vec<u8>), GatewayError> {
        let request = gw::ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(platform.clone()),
            resolve_mode: resolve_mode.to_string(),
            log_name: log_name.to_string(),
            ..gw::ResolveImageConfigRequest::default()
        };
        self.image_config(request, "resolve image config").await
    }

    /// One `ResolveImageConfig` call: the manifest digest and config JSON.
    async fn image_config(
        &self,
        request: gw::ResolveImageConfigRequest,
        what: &'static str,
    ) -> Result<(String, Vec<u8>), GatewayError> {
        let response = self
            .client
            .clone()
            .resolve_image_config(request)
            .await
            .map_err(GatewayError::call(what))?
            .into_inner();
        Ok((response.digest, response.config))
    }

    /// The manifest digest and config JSON of an image in an OCI layout
    /// the client serves in session `session` as content store `store`.
    pub async fn resolve_oci_layout_config(
        &self,
        reference: &str,
        platform: &pb::Platform,
        session: &str,
        store: &str,
        log_name: &str,
    ) -> Result<(String, Vec<u8>), GatewayError> {
        /// BuildKit's `sourceresolver.ResolverTypeOCILayout`.
        const RESOLVER_OCI_LAYOUT: i32 = 1;
        let request = gw::ResolveImageConfigRequest {
            r#ref: reference.to_string(),
            platform: Some(platform.clone()),
            log_name: log_name.to_string(),
            resolver_type: RESOLVER_OCI_LAYOUT,
            session_id: session.to_string(),
            store_id: store.to_string(),
            ..gw::ResolveImageConfigRequest::default()
        };
        self.image_config(request, "resolve OCI layout config")
            .await
    }

    /// Shows a warning to the user (buildx prints it after the build).
    pub async fn warn(
        &self,
        vertex: &str,
        short: &str,
        detail: &[String],
        source: Option<pb::SourceInfo>,
        ranges: Vec<pb::Range>,
    ) -> Result<(), GatewayError> {
        if !self.has(caps::gateway::WARNINGS) {
            eprintln!("warning: {short}");
            return Ok(());
        }
        let request = gw::WarnRequest {
            digest: vertex.to_string(),
            level: 1,
            short: short.as_bytes().to_vec(),
            detail: detail.iter().map(|d| d.as_bytes().to_vec()).collect(),
            info: source,
            ranges,
            ..gw::WarnRequest::default()
        };
        self.client
            .clone()
            .warn(request)
            .await
            .map_err(GatewayError::call("warn"))?;
        Ok(())
    }

    /// Returns the build result: one image, or one per platform.
    pub async fn return_images(
        &self,
        images: Vec<PlatformResult>,
        mut metadata: BTreeMap<String, Vec<u8>>,
    ) -> Result<(), GatewayError> {
        let multi = images.iter().any(|i| i.platform.is_some());
        let result = if multi {
            let mut refs = HashMap::new();
            let mut platforms = Vec::new();
            for image in images {
                let id = image.platform.unwrap_or_default();
                metadata.insert(format!("containerimage.config/{id}"), image.config);
                platforms.push(id.clone());
                refs.insert(
                    id,
                    gw::Ref {
                        id: image.reference,
                        def: None,
                    },
                );
            }
            metadata.insert("refs.platforms".to_string(), platforms_json(&platforms));
            result::Result::Refs(gw::RefMap { refs })
        } else {
            let image = images
                .into_iter()
                .next()
                .ok_or_else(|| GatewayError::Unsupported("no result to return".into()))?;
            if let Some(platform) = config_platform(&image.config) {
                metadata.insert("refs.platforms".to_string(), platforms_json(&[platform]));
            }
            metadata.insert("containerimage.config".to_string(), image.config);
            result::Result::Ref(gw::Ref {
                id: image.reference,
                def: None,
            })
        };
        self.send_return(gw::ReturnRequest {
            result: Some(gw::Result {
                metadata: metadata.into_iter().collect(),
                result: Some(result),
                ..gw::Result::default()
            }),
            error: None,
        })
        .await
    }

    /// Returns metadata only (subrequests such as `--call targets`).
    pub async fn return_metadata(
        &self,
        metadata: BTreeMap<String, Vec<u8>>,
    ) -> Result<(), GatewayError> {
        self.send_return(gw::ReturnRequest {
            result: Some(gw::Result {
                metadata: metadata.into_iter().collect(),
                ..gw::Result::default()
            }),
            error: None,
        })
        .await
    }

    /// Ends the build with an error the client prints.
    pub async fn return_error(&self, status: RpcStatus) -> Result<(), GatewayError> {
        self.send_return(gw::ReturnRequest {
            result: None,
            error: Some(status),
        })
        .await
    }

    async fn send_return(&self, request: gw::ReturnRequest) -> Result<(), GatewayError> {
        self.client
            .clone()
            .r#return(request)
            .await
            .map_err(GatewayError::call("return"))?;
        Ok(())
    }
}

/// `os/arch[/variant]` of an image config.
fn config_platform(config: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(config).ok()?;
    let mut id = format!("{}/{}", v["os"].as_str()?, v["architecture"].as_str()?);
    if let Some(variant) = v["variant"].as_str().filter(|s| !s.is_empty()) {
        id = format!("{id}/{variant}");
    }
    Some(id)
}

/// `refs.platforms`: `{"Platforms":[{"ID":"linux/amd64","Platform":{…}}]}`
/// (Go field names: BuildKit's `exptypes.Platforms` has no JSON tags), the
/// list exporters use to name each result's platform.
fn platforms_json(ids: &[String]) -> Vec<u8> {
    let platforms: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| {
            let mut parts = id.split('/');
            let os = parts.next().unwrap_or("");
            let architecture = parts.next().unwrap_or("");
            let mut platform = serde_json::json!({"os": os, "architecture": architecture});
            if let Some(variant) = parts.next() {
                platform["variant"] = serde_json::json!(variant);
            }
            serde_json::json!({"ID": id, "Platform": platform})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "Platforms": platforms })).expect("plain JSON")
}
