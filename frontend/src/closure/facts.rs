//! What the resolver knows about the root filesystem, and path lookup
//! over it.
//!
//! Two kinds of facts: directory listings (each entry as `lstat` sees it)
//! and byte ranges of files. A listing answers every lookup in that
//! directory, including where a library's symlink points, so one round
//! trip per directory replaces one per candidate path: the loader probes
//! the same few search directories for every library.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::error::ClosureError;
use super::paths::{from_components, join};

/// A fact the resolver is missing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Need {
    /// The entries of a directory (not recursive), as `lstat` sees them.
    /// The directory may be missing or not a directory: answer with an
    /// empty listing or an error, either is fine (the resolver only
    /// consults listings of directories it has seen in their parent).
    List(String),
    /// `len` bytes at `offset` of a regular file (fewer at its end). The
    /// path contains no symlinks.
    Read { path: String, offset: u64, len: u64 },
}

/// The answer to a [`Need`]: `List` is answered with `Listing`, `Read`
/// with `Bytes`; an `Err` is the reason the fact could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Listing(Result<Vec<(String, Node)>, String>),
    Bytes(Result<Vec<u8>, String>),
}

/// A directory entry, not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir,
    File {
        size: u64,
    },
    Symlink {
        target: String,
    },
    /// A device, socket or pipe: never a library.
    Other,
}

/// The byte ranges read of one file.
#[derive(Debug, Default)]
pub(super) struct FileBytes {
    /// Chunks by offset; they may overlap.
    pub chunks: BTreeMap<u64, Vec<u8>>,
    /// The file's size, once a read came back short.
    pub eof: Option<u64>,
    pub error: Option<String>,
}

static NOTHING_READ: FileBytes = FileBytes {
    chunks: BTreeMap::new(),
    eof: None,
    error: None,
};

impl FileBytes {
    /// The bytes at `offset..offset + len`, if one chunk holds them all.
    pub fn range(&self, offset: u64, len: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        self.chunks
            .range(..=offset)
            .rev()
            .find_map(|(start, bytes)| {
                let chunk_end = start + bytes.len() as u64;
                (chunk_end >= end)
                    .then(|| &bytes[(offset - start) as usize..(end - start) as usize])
            })
    }

    /// The longest known run of bytes starting at `offset`.
    pub fn from(&self, offset: u64) -> &[u8] {
        self.chunks
            .range(..=offset)
            .rev()
            .filter(|(start, bytes)| *start + bytes.len() as u64 > offset)
            .map(|(start, bytes)| &bytes[(offset - start) as usize..])
            .max_by_key(|run| run.len())
            .unwrap_or(&[])
    }
}

#[derive(Debug, Default)]
pub(super) struct Facts {
    listings: BTreeMap<String, Result<BTreeMap<String, Node>, String>>,
    files: BTreeMap<String, FileBytes>,
}

impl Facts {
    /// Records an answer; false if nothing new was learnt.
    pub fn learn(&mut self, need: Need, answer: Answer) -> bool {
        match (need, answer) {
            (Need::List(dir), Answer::Listing(listing)) => {
                let listing = listing.map(|entries| entries.into_iter().collect());
                self.listings.insert(dir, listing).is_none()
            }
            (Need::Read { path, offset, len }, Answer::Bytes(bytes)) => {
                let file = self.files.entry(path).or_default();
                match bytes {
                    Ok(bytes) => {
                        if (bytes.len() as u64) < len {
                            file.eof = Some(offset + bytes.len() as u64);
                        }
                        let longer = match file.chunks.get(&offset) {
                            Some(known) => bytes.len() > known.len(),
                            None => true,
                        };
                        if longer {
                            file.chunks.insert(offset, bytes);
                        }
                        longer
                    }
                    Err(message) => file.error.replace(message).is_none(),
                }
            }
            _ => false,
        }
    }
}

/// Why a step of the simulation cannot finish now.
#[derive(Debug)]
pub(super) enum Stop {
    /// It needs facts; they are recorded in the [`Lookup`].
    Pending,
    Failed(ClosureError),
}

impl From<ClosureError> for Stop {
    fn from(e: ClosureError) -> Stop {
        Stop::Failed(e)
    }
}

pub(super) type Step<T> = Result<T, Stop>;

/// The results of independent steps, all of them run: pending if any is
/// (so one round fetches what all of them need), else the first failure.
pub(super) fn gather<T>(steps: Vec<Step<T>>) -> Step<Vec<T>> {
    let mut done = Vec::with_capacity(steps.len());
    let mut failure = None;
    let mut pending = false;
    for step in steps {
        match step {
            Ok(value) => done.push(value),
            Err(Stop::Pending) => pending = true,
            Err(Stop::Failed(e)) => failure = failure.or(Some(e)),
        }
    }
    match (pending, failure) {
        (true, _) => Err(Stop::Pending),
        (false, Some(e)) => Err(Stop::Failed(e)),
        (false, None) => Ok(done),
    }
}

/// A path as the kernel resolves it.
#[derive(Debug, Clone)]
pub(super) struct Walked {
    /// The path with every symlink resolved.
    pub real: String,
    /// The symlinks passed through, each at a path whose directories are
    /// real (so `/lib/x86_64-linux-gnu/libz.so.1` on merged-/usr gives
    /// `/lib -> usr/lib` and `/usr/lib/x86_64-linux-gnu/libz.so.1 -> …`).
    pub links: Vec<(String, String)>,
    pub node: Node,
}

/// The symlink limit of Linux path lookup (`MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Lookups against the facts, collecting what is missing.
pub(super) struct Lookup<'f> {
    facts: &'f Facts,
    pub needs: BTreeSet<Need>,
}

impl<'f> Lookup<'f> {
    pub fn new(facts: &'f Facts) -> Lookup<'f> {
        Lookup {
            facts,
            needs: BTreeSet::new(),
        }
    }

    /// Resolves `path` (absolute) like the kernel's `open`: symlinks
    /// followed, `..` taken physically, the root its own parent. `None`
    /// when it does not exist (or a directory on the way is a file).
    pub fn walk(&mut self, path: &str) -> Step<Option<Walked>> {
        let mut real: Vec<String> = Vec::new();
        let mut rest: VecDeque<String> = split(path).collect();
        let mut links = Vec::new();
        while let Some(name) = rest.pop_front() {
            if name == ".." {
                real.pop();
                continue;
            }
            let dir = from_components(&real);
            let listing = self.listing(&dir, &name, &rest)?;
            match listing.get(&name) {
                None => return Ok(None),
                Some(Node::Dir) => real.push(name),
                // Linux refuses to follow an empty link.
                Some(Node::Symlink { target }) if target.is_empty() => return Ok(None),
                Some(Node::Symlink { target }) => {
                    links.push((join(&dir, &name), target.clone()));
                    if links.len() > MAX_LINKS {
                        return Err(ClosureError::TooManyLinks {
                            path: path.to_string(),
                        }
                        .into());
                    }
                    if target.starts_with('/') {
                        real.clear();
                    }
                    for component in split(target).rev() {
                        rest.push_front(component);
                    }
                }
                Some(node) if rest.is_empty() => {
                    return Ok(Some(Walked {
                        real: join(&dir, &name),
                        links,
                        node: node.clone(),
                    }))
                }
                // A file with more path after it: ENOTDIR.
                Some(_) => return Ok(None),
            }
        }
        Ok(Some(Walked {
            real: from_components(&real),
            links,
            node: Node::Dir,
        }))
    }

    /// The listing of `dir`, a real directory. While it is unknown, the
    /// directories the walk would enter next (`dir/name/rest…`) are asked
    /// for in the same round: they usually are directories, and a guess
    /// that is wrong costs one unused answer, while a right one saves a
    /// round trip per level.
    fn listing(
        &mut self,
        dir: &str,
        name: &str,
        rest: &VecDeque<String>,
    ) -> Step<&'f BTreeMap<String, Node>> {
        match self.facts.listings.get(dir) {
            Some(Ok(listing)) => Ok(listing),
            Some(Err(message)) => Err(ClosureError::Read {
                path: dir.to_string(),
                message: message.clone(),
            }
            .into()),
            None => {
                self.needs.insert(Need::List(dir.to_string()));
                if rest.is_empty() {
                    return Err(Stop::Pending);
                }
                let mut ahead = join(dir, name);
                for next in rest {
                    if next == ".." || self.facts.listings.contains_key(&ahead) {
                        break;
                    }
                    self.needs.insert(Need::List(ahead.clone()));
                    ahead = join(&ahead, next);
                }
                Err(Stop::Pending)
            }
        }
    }

    /// The entries of a real directory.
    pub fn entries(&mut self, dir: &str) -> Step<&'f BTreeMap<String, Node>> {
        self.listing(dir, "", &VecDeque::new())
    }

    /// What has been read of a real file (nothing yet: no chunks).
    pub fn file(&self, real: &str) -> &'f FileBytes {
        self.facts.files.get(real).unwrap_or(&NOTHING_READ)
    }

    pub fn need_read(&mut self, path: &str, offset: u64, len: u64) {
        self.needs.insert(Need::Read {
            path: path.to_string(),
            offset,
            len,
        });
    }

    /// A whole small file (a configuration file), `size` from its listing.
    pub fn read_whole(&mut self, real: &str, size: u64) -> Step<&'f [u8]> {
        const LIMIT: u64 = 1 << 20;
        if size > LIMIT {
            return Err(ClosureError::TooLarge {
                path: real.to_string(),
                size,
                limit: LIMIT,
            }
            .into());
        }
        let file = self.file(real);
        if let Some(message) = &file.error {
            return Err(ClosureError::Read {
                path: real.to_string(),
                message: message.clone(),
            }
            .into());
        }
        match file.chunks.get(&0) {
            Some(bytes) => Ok(bytes),
            None => {
                self.need_read(real, 0, size);
                Err(Stop::Pending)
            }
        }
    }
}

/// The components of a path, without empty ones and `.`.
fn split(path: &str) -> impl DoubleEndedIterator<Item = String> + '_ {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
}
