//! A typed, immutable builder for BuildKit's LLB, in the spirit of
//! BuildKit's `client/llb`: a [`State`] is a filesystem (the output of some
//! op, or empty), ops take states and give new ones, and
//! [`marshal`](marshal::marshal) turns the graph reachable from a result into
//! a `pb.Definition`. Nothing here knows about YAML or specs.

mod diff;
mod dump;
mod exec;
mod file;
mod import;
mod marshal;
mod merge;
mod platform;
mod source;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use stagecraft_proto::pb;

pub use diff::diff;
pub use dump::dump;
pub use exec::{CacheSharing, ClientFile, Exec, ExecMount, Network, SecretEnv};
pub use file::{Chown, CopyOptions, FileOp, Owner};
pub use import::{from_definition, ImportError};
pub use marshal::{digest_of, marshal, SourceFile};
pub use merge::merge;
pub use platform::Platform;
pub use source::{git, http, image, local, oci_layout, LocalOptions};
pub use stagecraft_proto::canonical::Encoding;

/// Metadata that travels with an op but is not part of its digest: the
/// progress name, cache control, capabilities and source location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpMeta {
    /// Shown in progress output, e.g. `[build 2/5] RUN make`.
    pub name: Option<String>,
    pub ignore_cache: bool,
    /// Lines in the source file this op comes from (1-based, inclusive).
    pub lines: Option<(u32, u32)>,
    /// Progress grouping, so all ops of one stage can be shown together.
    pub group: Option<String>,
}

impl OpMeta {
    pub fn named(name: impl Into<String>) -> Self {
        OpMeta {
            name: Some(name.into()),
            ..OpMeta::default()
        }
    }
}

/// A capability name: ours are static, imported ones are owned.
pub(crate) type Cap = Cow<'static, str>;

/// One op in the graph, with its inputs.
#[derive(Debug)]
pub(crate) struct Vertex {
    pub op: pb::op::Op,
    pub inputs: Vec<Output>,
    pub platform: Option<Platform>,
    pub meta: OpMeta,
    /// LLB capabilities this op needs from the daemon.
    pub caps: BTreeSet<Cap>,
}

/// One output (filesystem) of a vertex.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    pub vertex: Arc<Vertex>,
    pub index: i64,
}

impl Output {
    fn same(&self, other: &Output) -> bool {
        Arc::ptr_eq(&self.vertex, &other.vertex) && self.index == other.index
    }
}

/// A filesystem state: the result of an op, or the empty filesystem
/// (`scratch`). Cheap to clone; never mutated.
#[derive(Debug, Clone, Default)]
pub struct State {
    output: Option<Output>,
}

impl State {
    /// The empty filesystem.
    pub fn scratch() -> State {
        State::default()
    }

    pub fn is_scratch(&self) -> bool {
        self.output.is_none()
    }

    pub(crate) fn from_vertex(vertex: Vertex, index: i64) -> State {
        State {
            output: Some(Output {
                vertex: Arc::new(vertex),
                index,
            }),
        }
    }

    pub(crate) fn output(&self) -> Option<&Output> {
        self.output.as_ref()
    }
}

/// The inputs of one op under construction: states are added once each and
/// referred to by index; scratch has no index (`-1` in LLB).
#[derive(Default)]
pub(crate) struct Inputs {
    list: Vec<Output>,
}

impl Inputs {
    /// BuildKit's index for "no input" (`pb.Empty`).
    pub const EMPTY: i64 = -1;

    pub fn index_of(&mut self, state: &State) -> i64 {
        let Some(output) = state.output() else {
            return Self::EMPTY;
        };
        if let Some(i) = self.list.iter().position(|o| o.same(output)) {
            return i as i64;
        }
        self.list.push(output.clone());
        self.list.len() as i64 - 1
    }

    pub fn len(&self) -> i64 {
        self.list.len() as i64
    }

    pub fn into_vec(self) -> Vec<Output> {
        self.list
    }
}
