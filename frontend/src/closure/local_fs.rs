//! A root filesystem in a host directory (an unpacked image, a
//! debootstrap tree, or `/`), for tests and tools that run without a
//! daemon.

use std::fs;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::facts::{Answer, Need, Node};
use super::{Closure, ClosureError, Poll, Request, Resolver, RootFs};

#[derive(Debug, Clone)]
pub struct LocalRootFs {
    root: PathBuf,
}

impl LocalRootFs {
    pub fn new(root: impl Into<PathBuf>) -> LocalRootFs {
        LocalRootFs { root: root.into() }
    }

    /// Resolves without an async runtime: the answers are at hand.
    pub fn resolve(&self, request: &Request) -> Result<Closure, ClosureError> {
        let mut resolver = Resolver::new(request.clone());
        loop {
            match resolver.poll() {
                Poll::Done(result) => return result,
                Poll::Needs(needs) => {
                    let mut learnt = false;
                    for need in needs {
                        let answer = self.answer(&need);
                        learnt |= resolver.learn(need, answer);
                    }
                    if !learnt {
                        return Err(ClosureError::Internal("no progress".into()));
                    }
                }
            }
        }
    }

    pub fn answer(&self, need: &Need) -> Answer {
        match need {
            Need::List(dir) => Answer::Listing(self.list(dir).map_err(|e| e.to_string())),
            Need::Read { path, offset, len } => {
                Answer::Bytes(self.read(path, *offset, *len).map_err(|e| e.to_string()))
            }
        }
    }

    /// The host path of a path in the root. The resolver only asks for
    /// paths whose directories it has seen to be real directories, so no
    /// symlink on the way can lead out of the root.
    fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn list(&self, dir: &str) -> std::io::Result<Vec<(String, Node)>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(self.host_path(dir))? {
            let entry = entry?;
            // A name that is not UTF-8 cannot be a library the resolver
            // looks for (nor cross the gateway, whose paths are strings).
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            entries.push((name, node(&entry.path())?));
        }
        Ok(entries)
    }

    fn read(&self, path: &str, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
        let mut file = fs::File::open(self.host_path(path))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        file.take(len).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

fn node(path: &Path) -> std::io::Result<Node> {
    let meta = fs::symlink_metadata(path)?;
    let kind = meta.file_type();
    Ok(if kind.is_symlink() {
        Node::Symlink {
            target: fs::read_link(path)?.to_string_lossy().into_owned(),
        }
    } else if kind.is_dir() {
        Node::Dir
    } else if kind.is_file() {
        Node::File { size: meta.len() }
    } else {
        Node::Other
    })
}

impl RootFs for LocalRootFs {
    fn fetch(
        &self,
        needs: &[Need],
    ) -> impl Future<Output = Result<Vec<Answer>, ClosureError>> + Send {
        std::future::ready(Ok(needs.iter().map(|need| self.answer(need)).collect()))
    }
}
