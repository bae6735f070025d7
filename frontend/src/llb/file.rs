//! File ops: copy, mkdir, write and remove, done by BuildKit itself (no
//! shell, no `cp` in the image). Several actions chain into one op.

use std::collections::BTreeSet;

use stagecraft_proto::caps::llb as cap;
use stagecraft_proto::pb;

use super::{Cap, Inputs, OpMeta, State, Vertex};

/// LLB's "no timestamp override" value.
const NO_TIMESTAMP: i64 = -1;

/// A user or group, by number or by name (looked up in the target's
/// /etc/passwd and /etc/group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Id(u32),
    Name(String),
}

impl Owner {
    pub fn parse(text: &str) -> Owner {
        text.parse()
            .map(Owner::Id)
            .unwrap_or_else(|_| Owner::Name(text.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chown {
    pub user: Owner,
    pub group: Option<Owner>,
}

impl Chown {
    /// `user`, `user:group`, `uid:gid`.
    pub fn parse(text: &str) -> Chown {
        match text.split_once(':') {
            Some((u, g)) => Chown {
                user: Owner::parse(u),
                group: Some(Owner::parse(g)),
            },
            None => Chown {
                user: Owner::parse(text),
                group: None,
            },
        }
    }
}

/// How a copy behaves; the defaults are those of a Dockerfile `COPY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub mode: Option<u32>,
    pub owner: Option<Chown>,
    pub follow_symlinks: bool,
    /// Copying a directory copies its contents, not the directory itself.
    pub dir_contents: bool,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    /// A source that is a (compressed) tar archive is unpacked into
    /// `dest` instead of copied, as a Dockerfile `ADD` of a local archive.
    pub attempt_unpack: bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            include_patterns: Vec::new(),
            exclude_patterns: Vec::new(),
            mode: None,
            owner: None,
            follow_symlinks: true,
            dir_contents: true,
            create_dest_path: true,
            allow_wildcard: true,
            allow_empty_wildcard: false,
            attempt_unpack: false,
        }
    }
}

#[derive(Debug, Clone)]
enum Action {
    Copy {
        source: State,
        src: String,
        dest: String,
        options: CopyOptions,
    },
    Mkdir {
        path: String,
        mode: u32,
        owner: Option<Chown>,
    },
    Mkfile {
        path: String,
        mode: u32,
        data: Vec<u8>,
        owner: Option<Chown>,
    },
    Rm {
        path: String,
    },
}

/// A chain of file actions applied to `base`.
#[derive(Debug, Clone)]
pub struct FileOp {
    base: State,
    actions: Vec<Action>,
}

impl FileOp {
    pub fn on(base: &State) -> FileOp {
        FileOp {
            base: base.clone(),
            actions: Vec::new(),
        }
    }

    /// Copies `src` (a path, or a wildcard, in `source`) to `dest`.
    pub fn copy(mut self, source: &State, src: &str, dest: &str, options: CopyOptions) -> FileOp {
        self.actions.push(Action::Copy {
            source: source.clone(),
            src: src.to_string(),
            dest: dest.to_string(),
            options,
        });
        self
    }

    /// Creates a directory and its missing parents.
    pub fn mkdir(mut self, path: &str, mode: u32, owner: Option<Chown>) -> FileOp {
        self.actions.push(Action::Mkdir {
            path: path.to_string(),
            mode,
            owner,
        });
        self
    }

    /// Writes a file with the given content.
    pub fn mkfile(mut self, path: &str, mode: u32, data: Vec<u8>, owner: Option<Chown>) -> FileOp {
        self.actions.push(Action::Mkfile {
            path: path.to_string(),
            mode,
            data,
            owner,
        });
        self
    }

    /// Removes a path (wildcards allowed; a missing path is an error).
    pub fn rm(mut self, path: &str) -> FileOp {
        self.actions.push(Action::Rm {
            path: path.to_string(),
        });
        self
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// File ops run on any worker; like BuildKit's own client, they carry
    /// no platform.
    pub fn into_state(self, meta: OpMeta) -> State {
        if self.actions.is_empty() {
            return self.base;
        }
        let mut inputs = Inputs::default();
        let base_index = inputs.index_of(&self.base);
        let secondary: Vec<i64> = self
            .actions
            .iter()
            .map(|a| match a {
                Action::Copy { source, .. } => inputs.index_of(source),
                _ => Inputs::EMPTY,
            })
            .collect();
        // Action i works on the result of action i-1, which LLB numbers
        // after the op's inputs.
        let input_count = inputs.len();
        let last = self.actions.len() - 1;
        let mut caps = BTreeSet::from([cap::FILE_BASE.into()]);
        let actions = self
            .actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| {
                let input = if i == 0 {
                    base_index
                } else {
                    input_count + i as i64 - 1
                };
                pb::FileAction {
                    input,
                    secondary_input: secondary[i],
                    output: if i == last { 0 } else { -1 },
                    action: Some(encode(action, input, &mut caps)),
                }
            })
            .collect();
        State::from_vertex(
            Vertex {
                op: pb::op::Op::File(pb::FileOp { actions }),
                inputs: inputs.into_vec(),
                platform: None,
                meta,
                caps,
            },
            0,
        )
    }
}

fn encode(action: Action, input: i64, caps: &mut BTreeSet<Cap>) -> pb::file_action::Action {
    use pb::file_action::Action as A;
    match action {
        Action::Copy {
            src, dest, options, ..
        } => {
            if !options.include_patterns.is_empty() || !options.exclude_patterns.is_empty() {
                caps.insert(cap::FILE_COPY_INCLUDE_EXCLUDE_PATTERNS.into());
            }
            A::Copy(pb::FileActionCopy {
                src,
                dest,
                owner: options.owner.as_ref().map(|o| chown(o, input)),
                mode: options.mode.map_or(-1, |m| m as i32),
                follow_symlink: options.follow_symlinks,
                dir_copy_contents: options.dir_contents,
                create_dest_path: options.create_dest_path,
                allow_wildcard: options.allow_wildcard,
                allow_empty_wildcard: options.allow_empty_wildcard,
                attempt_unpack_docker_compatibility: options.attempt_unpack,
                timestamp: NO_TIMESTAMP,
                include_patterns: options.include_patterns,
                exclude_patterns: options.exclude_patterns,
                ..pb::FileActionCopy::default()
            })
        }
        Action::Mkdir { path, mode, owner } => A::Mkdir(pb::FileActionMkDir {
            path,
            mode: mode as i32,
            make_parents: true,
            owner: owner.as_ref().map(|o| chown(o, input)),
            timestamp: NO_TIMESTAMP,
        }),
        Action::Mkfile {
            path,
            mode,
            data,
            owner,
        } => A::Mkfile(pb::FileActionMkFile {
            path,
            mode: mode as i32,
            data,
            owner: owner.as_ref().map(|o| chown(o, input)),
            timestamp: NO_TIMESTAMP,
        }),
        Action::Rm { path } => A::Rm(pb::FileActionRm {
            path,
            allow_not_found: false,
            allow_wildcard: true,
        }),
    }
}

/// Names are resolved against the action's own input filesystem.
fn chown(owner: &Chown, input: i64) -> pb::ChownOpt {
    let user_opt = |o: &Owner| pb::UserOpt {
        user: Some(match o {
            Owner::Id(id) => pb::user_opt::User::ById(*id),
            Owner::Name(name) => pb::user_opt::User::ByName(pb::NamedUserOpt {
                name: name.clone(),
                input,
            }),
        }),
    };
    pb::ChownOpt {
        user: Some(user_opt(&owner.user)),
        group: owner.group.as_ref().map(user_opt),
    }
}
