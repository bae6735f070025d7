//! Exec ops: run a process on a root filesystem, with extra mounts.

use std::collections::BTreeSet;

use stagecraft_proto::caps::llb as cap;
use stagecraft_proto::pb;

use super::{Cap, Inputs, OpMeta, Platform, State, Vertex};

/// BuildKit's output index for "this mount's changes are discarded".
const SKIP_OUTPUT: i64 = -1;

/// The spec reads these words directly (`network: none`, `sharing:
/// locked`): one type per concept, from the YAML to the op.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// The daemon's default (sandboxed network with outbound access).
    #[default]
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CacheSharing {
    #[default]
    Shared,
    Private,
    Locked,
}

/// A mount besides the root filesystem.
#[derive(Debug, Clone)]
pub enum ExecMount {
    /// A persistent cache directory, shared across builds by `id`.
    Cache {
        target: String,
        id: String,
        sharing: CacheSharing,
        /// Initial content for a new cache (`from` + `source`).
        base: Option<(State, String)>,
        /// The step sees the cache but cannot change it.
        readonly: bool,
    },
    /// A secret file, never stored in any layer.
    Secret { target: String, file: ClientFile },
    /// An SSH agent socket forwarded from the client.
    Ssh { target: String, file: ClientFile },
    /// An empty in-memory filesystem; `size` 0 means the daemon's default.
    Tmpfs { target: String, size: u64 },
    /// Another state (or part of it, `selector`), read-only unless
    /// `writable` (writes are then discarded).
    Bind {
        target: String,
        source: State,
        selector: String,
        writable: bool,
    },
}

/// A file the client session provides by `id` (a secret or an SSH agent
/// socket), with the owner and mode it gets inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientFile {
    pub id: String,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    /// Run anyway when the client does not have it.
    pub optional: bool,
}

/// A secret exposed as an environment variable instead of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    pub id: String,
    pub name: String,
    pub optional: bool,
}

/// Everything about one process run.
#[derive(Debug, Clone, Default)]
pub struct Exec {
    pub args: Vec<String>,
    /// `KEY=value` entries, in order.
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    pub network: Network,
    pub insecure: bool,
    pub mounts: Vec<ExecMount>,
    pub secret_env: Vec<SecretEnv>,
    /// `(host, ip)` pairs for /etc/hosts.
    pub extra_hosts: Vec<(String, String)>,
}

impl Exec {
    /// Runs on `root` and returns the root filesystem afterwards.
    pub fn run(&self, root: &State, platform: &Platform, meta: OpMeta) -> State {
        let mut inputs = Inputs::default();
        let mut caps = BTreeSet::from([cap::EXEC_META_BASE.into()]);
        let mut mounts = vec![pb::Mount {
            input: inputs.index_of(root),
            dest: "/".to_string(),
            output: 0,
            ..pb::Mount::default()
        }];
        for mount in &self.mounts {
            mounts.push(encode_mount(mount, &mut inputs, &mut caps));
        }
        if self.network != Network::Default {
            caps.insert(cap::EXEC_META_NETWORK.into());
        }
        if self.insecure {
            caps.insert(cap::EXEC_META_SECURITY.into());
        }
        if !self.secret_env.is_empty() {
            caps.insert(cap::EXEC_SECRET_ENV.into());
        }
        let op = pb::ExecOp {
            meta: Some(pb::Meta {
                args: self.args.clone(),
                env: self.env.clone(),
                cwd: if self.cwd.is_empty() {
                    "/".to_string()
                } else {
                    self.cwd.clone()
                },
                user: self.user.clone(),
                extra_hosts: self
                    .extra_hosts
                    .iter()
                    .map(|(host, ip)| pb::HostIp {
                        host: host.clone(),
                        ip: ip.clone(),
                    })
                    .collect(),
                // Mount points the daemon had to create (e.g. /run/secrets
                // for a secret) are removed with their parents, so they
                // leave no empty directories in the image.
                remove_mount_stubs_recursive: true,
                ..pb::Meta::default()
            }),
            mounts,
            network: match self.network {
                Network::Default => pb::NetMode::Unset,
                Network::Host => pb::NetMode::Host,
                Network::None => pb::NetMode::None,
            } as i32,
            security: if self.insecure {
                pb::SecurityMode::Insecure
            } else {
                pb::SecurityMode::Sandbox
            } as i32,
            secretenv: self
                .secret_env
                .iter()
                .map(|s| pb::SecretEnv {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    optional: s.optional,
                })
                .collect(),
            ..pb::ExecOp::default()
        };
        State::from_vertex(
            Vertex {
                op: pb::op::Op::Exec(op),
                inputs: inputs.into_vec(),
                platform: Some(platform.clone()),
                meta,
                caps,
            },
            0,
        )
    }
}

fn encode_mount(mount: &ExecMount, inputs: &mut Inputs, caps: &mut BTreeSet<Cap>) -> pb::Mount {
    let skip = |dest: &str, kind: pb::MountType| pb::Mount {
        input: Inputs::EMPTY,
        dest: dest.to_string(),
        output: SKIP_OUTPUT,
        mount_type: kind as i32,
        ..pb::Mount::default()
    };
    match mount {
        ExecMount::Cache {
            target,
            id,
            sharing,
            base,
            readonly,
        } => {
            caps.insert(cap::EXEC_MOUNT_CACHE.into());
            caps.insert(cap::EXEC_MOUNT_CACHE_SHARING.into());
            let mut m = skip(target, pb::MountType::Cache);
            m.readonly = *readonly;
            if let Some((state, selector)) = base {
                m.input = inputs.index_of(state);
                m.selector = selector.clone();
                caps.insert(cap::EXEC_MOUNT_SELECTOR.into());
            }
            m.cache_opt = Some(pb::CacheOpt {
                id: id.clone(),
                sharing: match sharing {
                    CacheSharing::Shared => pb::CacheSharingOpt::Shared,
                    CacheSharing::Private => pb::CacheSharingOpt::Private,
                    CacheSharing::Locked => pb::CacheSharingOpt::Locked,
                } as i32,
            });
            m
        }
        ExecMount::Secret { target, file } => {
            caps.insert(cap::EXEC_MOUNT_SECRET.into());
            let mut m = skip(target, pb::MountType::Secret);
            m.secret_opt = Some(pb::SecretOpt {
                id: file.id.clone(),
                uid: file.uid,
                gid: file.gid,
                mode: file.mode,
                optional: file.optional,
            });
            m
        }
        ExecMount::Ssh { target, file } => {
            caps.insert(cap::EXEC_MOUNT_SSH.into());
            let mut m = skip(target, pb::MountType::Ssh);
            m.ssh_opt = Some(pb::SshOpt {
                id: file.id.clone(),
                uid: file.uid,
                gid: file.gid,
                mode: file.mode,
                optional: file.optional,
            });
            m
        }
        ExecMount::Tmpfs { target, size } => {
            caps.insert(cap::EXEC_MOUNT_TMPFS.into());
            let mut m = skip(target, pb::MountType::Tmpfs);
            if *size > 0 {
                caps.insert(cap::EXEC_MOUNT_TMPFS_SIZE.into());
            }
            m.tmpfs_opt = Some(pb::TmpfsOpt { size: *size as i64 });
            m
        }
        ExecMount::Bind {
            target,
            source,
            selector,
            writable,
        } => {
            caps.insert(cap::EXEC_MOUNT_BIND.into());
            if !selector.is_empty() {
                caps.insert(cap::EXEC_MOUNT_SELECTOR.into());
            }
            if *writable {
                caps.insert(cap::EXEC_MOUNT_BIND_RW_NO_OUTPUT.into());
            }
            pb::Mount {
                input: inputs.index_of(source),
                selector: selector.clone(),
                dest: target.clone(),
                output: SKIP_OUTPUT,
                readonly: !writable,
                mount_type: pb::MountType::Bind as i32,
                ..pb::Mount::default()
            }
        }
    }
}
