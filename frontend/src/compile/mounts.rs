//! The mounts of a `run` step: caches, secrets, SSH agents, tmpfs and
//! binds.

use stagecraft_proto::caps::llb as cap;

use super::stage::{Compiler, Dispatch};
use crate::image;
use crate::llb::{self, Chown, ClientFile, Exec, ExecMount, FileOp, OpMeta, Owner, State};
use crate::resolve::clean_context_path;
use crate::spec::error::Problem;
use crate::spec::{Located, Mount, MountKind, MountOwner};

const SSH_SOCKET: &str = "/run/buildkit/ssh_agent.0";
/// Where a cache's first content is made when it needs an owner or mode.
const CACHE_DIR: &str = "/cache";

impl Compiler<'_> {
    pub(super) fn mount(
        &mut self,
        d: &Dispatch,
        mount: &Mount,
        exec: &mut Exec,
        env: &mut Vec<String>,
    ) -> Result<(), Problem> {
        let added = match &mount.kind {
            MountKind::Cache {
                target,
                id,
                sharing,
                from,
                source,
                owner,
                readonly,
            } => ExecMount::Cache {
                id: id.as_ref().unwrap_or(target).value.clone(),
                target: target.value.clone(),
                sharing: *sharing,
                base: self.cache_base(d, from.as_ref(), source.as_ref(), owner)?,
                readonly: *readonly,
            },
            MountKind::Secret {
                id,
                target,
                env: as_env,
                required,
                owner,
            } => {
                if let Some(name) = as_env {
                    self.require(
                        cap::EXEC_SECRET_ENV,
                        mount.pos,
                        "secrets as environment variables",
                    )?;
                    exec.secret_env.push(llb::SecretEnv {
                        id: id.value.clone(),
                        name: name.clone(),
                        optional: !required,
                    });
                }
                let target = match (target, as_env) {
                    (Some(t), _) => t.value.clone(),
                    (None, Some(_)) => return Ok(()),
                    (None, None) => format!("/run/secrets/{}", id.value),
                };
                ExecMount::Secret {
                    target,
                    file: client_file(&id.value, owner, 0o400, *required),
                }
            }
            MountKind::Ssh {
                id,
                target,
                required,
                owner,
            } => {
                let target = target.as_ref().map_or(SSH_SOCKET, |t| &t.value);
                image::set_env(env, "SSH_AUTH_SOCK", target);
                let id = id.as_ref().map_or("default", |i| &i.value);
                ExecMount::Ssh {
                    target: target.to_string(),
                    file: client_file(id, owner, 0o600, *required),
                }
            }
            MountKind::Tmpfs { target, size } => ExecMount::Tmpfs {
                target: target.value.clone(),
                size: size.unwrap_or(0),
            },
            MountKind::Bind {
                target,
                from,
                source,
                rw,
            } => {
                let (state, selector) = match from {
                    Some(f) => {
                        let selector = source.as_ref().map_or("/", |s| &s.value).to_string();
                        (self.source_state(f, &d.platform)?, selector)
                    }
                    None => {
                        let src = source.as_ref().map_or(".", |s| &s.value);
                        (self.context(), clean_context_path(src).unwrap_or_default())
                    }
                };
                ExecMount::Bind {
                    target: target.value.clone(),
                    source: state,
                    selector: selector.trim_start_matches('/').to_string(),
                    writable: *rw,
                }
            }
        };
        exec.mounts.push(added);
        Ok(())
    }

    /// A cache's first content: `source` of `from`, or, as the Dockerfile
    /// frontend does, a directory with the owner and mode asked for, so a
    /// step running as another user can write to it.
    fn cache_base(
        &mut self,
        d: &Dispatch,
        from: Option<&Located<String>>,
        source: Option<&Located<String>>,
        owner: &MountOwner,
    ) -> Result<Option<(State, String)>, Problem> {
        let state = match from {
            Some(f) => Some(self.source_state(f, &d.platform)?),
            None => None,
        };
        // `source` is a path in `from` (without `from` there is nothing to
        // take it from).
        let source = source
            .map(|s| s.value.as_str())
            .filter(|s| !s.trim_matches('/').is_empty());
        if let (Some(state), Some(source)) = (&state, source) {
            return Ok(Some((state.clone(), source.to_string())));
        }
        if *owner == MountOwner::default() {
            return Ok(state.map(|s| (s, "/".to_string())));
        }
        let chown = Chown {
            user: Owner::Id(owner.uid.unwrap_or(0)),
            group: Some(Owner::Id(owner.gid.unwrap_or(0))),
        };
        let meta = OpMeta::named("[internal] setting cache mount permissions");
        let dir = FileOp::on(&state.unwrap_or_else(State::scratch))
            .mkdir(CACHE_DIR, owner.mode.unwrap_or(0o755), Some(chown))
            .into_state(meta);
        Ok(Some((dir, CACHE_DIR.to_string())))
    }
}

fn client_file(id: &str, owner: &MountOwner, default_mode: u32, required: bool) -> ClientFile {
    ClientFile {
        id: id.to_string(),
        uid: owner.uid.unwrap_or(0),
        gid: owner.gid.unwrap_or(0),
        mode: owner.mode.unwrap_or(default_mode),
        optional: !required,
    }
}
