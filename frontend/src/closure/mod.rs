//! The runtime closure of ELF executables: every file the kernel and the
//! dynamic loader open to start them, found the way glibc's `ld.so` finds
//! them, so that copying exactly those files makes a dynamically linked
//! program run on `scratch`.
//!
//! The resolver reads a root filesystem it does not own: in the frontend,
//! a solved stage on the daemon, where every read is a gRPC round trip. So
//! it is written without I/O ("sans-IO"): [`Resolver::poll`] runs the whole
//! loader simulation against the facts learnt so far and either finishes or
//! returns every fact it is missing, as one batch of [`Need`]s. The caller
//! fetches the batch (concurrently, through any [`RootFs`]) and polls
//! again. Re-running the simulation is cheap (it is in memory); what costs
//! is a round trip, and batching makes the number of rounds the depth of
//! the dependency tree, not the number of files: curl and its 31
//! libraries take nine rounds, about 0.4 s through a local daemon.
//!
//! What the simulation follows, and where it deliberately differs from
//! `ld.so`, is documented in `loader.rs`. Out of its reach, by nature:
//! libraries a program `dlopen`s by name at run time (glibc's NSS modules
//! `libnss_*`, `gconv`, PAM and plugin directories) and the data files
//! programs read (`/etc/passwd`, CA certificates, locales, terminfo):
//! `psql` copied this way starts, but asks for `/etc/passwd` to name the
//! user. musl's loader is not simulated (its rules differ; Alpine's
//! libraries in `/lib` and `/usr/lib` are found, `/etc/ld-musl-*.path`
//! is not read).

mod arch;
mod elf;
mod error;
mod facts;
mod gateway_fs;
mod ldconf;
mod llb;
mod loader;
mod local_fs;
mod paths;
mod program;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::future::Future;

pub use error::ClosureError;
pub use facts::{Answer, Need, Node};
pub use gateway_fs::GatewayRootFs;
pub use llb::{closure_layer, copy_closure};
pub use local_fs::LocalRootFs;

/// What to compute the closure of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Absolute paths of the executables in the root filesystem.
    pub executables: Vec<String>,
    /// `LD_LIBRARY_PATH` of the image the files are copied into, split at
    /// `:`; searched after `DT_RPATH` and before `DT_RUNPATH`, as `ld.so`
    /// does. Empty when the image sets none.
    pub library_path: Vec<String>,
}

/// The files to copy: each from its path in the source to the same path in
/// the destination, sorted by path (so the same inputs give the same copy,
/// byte for byte, in the LLB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub entries: Vec<Entry>,
    /// What the loader would load, in its load order (for logs and tests).
    pub objects: Vec<LoadedObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Absolute path, the same in the source and the destination. Its
    /// parent directories contain no symlinks (symlinked directories such
    /// as `/lib -> usr/lib` are entries of their own), so each entry can be
    /// copied on its own with the parents created as plain directories.
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file: copy its content and mode.
    File,
    /// A symlink: copy the link itself (`FollowSymlink = false`), never
    /// its target, which is an entry of its own when the loader needs it.
    Symlink { target: String },
}

/// One object of one executable's load, as `ldd` would list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedObject {
    /// The executable this object is loaded for.
    pub executable: String,
    /// The name asked for (`DT_NEEDED`, or the `PT_INTERP` path).
    pub name: String,
    /// The path the loader opens (`ldd`'s right-hand side).
    pub path: String,
    /// That path with every symlink resolved.
    pub real_path: String,
}

/// A read-only root filesystem that answers [`Need`]s in batches.
///
/// The needs of one batch are independent: an implementation should answer
/// them concurrently. A need that fails (a file that cannot be read) is
/// answered with its error, which only matters if the resolver consults
/// it; `Err` is for failures that end the whole resolution, such as a
/// daemon that hung up.
pub trait RootFs {
    fn fetch(
        &self,
        needs: &[Need],
    ) -> impl Future<Output = Result<Vec<Answer>, ClosureError>> + Send;
}

/// Where the resolution stands after a [`Resolver::poll`].
#[derive(Debug)]
pub enum Poll {
    Done(Result<Closure, ClosureError>),
    /// Facts to fetch before polling again (sorted, no duplicates).
    Needs(Vec<Need>),
}

/// The loader simulation with what it has learnt so far.
#[derive(Debug)]
pub struct Resolver {
    request: Request,
    facts: facts::Facts,
}

impl Resolver {
    pub fn new(request: Request) -> Resolver {
        Resolver {
            request,
            facts: facts::Facts::default(),
        }
    }

    /// Runs the simulation on the facts learnt so far.
    pub fn poll(&self) -> Poll {
        loader::run(&self.request, &self.facts)
    }

    /// Records the answer to one need. Returns false when the need was
    /// already answered (a fetcher that loops on it would never finish).
    pub fn learn(&mut self, need: Need, answer: Answer) -> bool {
        self.facts.learn(need, answer)
    }
}

/// Resolves a closure through `fs`, one batch of needs per round trip.
pub async fn resolve<F: RootFs>(fs: &F, request: &Request) -> Result<Closure, ClosureError> {
    let mut resolver = Resolver::new(request.clone());
    loop {
        let needs = match resolver.poll() {
            Poll::Done(result) => return result,
            Poll::Needs(needs) => needs,
        };
        let answers = fs.fetch(&needs).await?;
        if answers.len() != needs.len() {
            return Err(ClosureError::Internal(format!(
                "{} answers to {} needs",
                answers.len(),
                needs.len()
            )));
        }
        let mut learnt = false;
        for (need, answer) in needs.into_iter().zip(answers) {
            learnt |= resolver.learn(need, answer);
        }
        if !learnt {
            return Err(ClosureError::Internal(
                "the resolver asked again for facts it already had".into(),
            ));
        }
    }
}

impl Closure {
    /// The entries as a map from path to kind (for lookups in tests and
    /// callers that merge closures).
    pub fn by_path(&self) -> BTreeMap<&str, &EntryKind> {
        self.entries
            .iter()
            .map(|e| (e.path.as_str(), &e.kind))
            .collect()
    }
}
