//! A root filesystem on the daemon: a solved result read through the
//! gateway's `ReadDir` and `ReadFile`.

use std::future::Future;
use std::sync::Arc;

use stagecraft_proto::caps;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::facts::{Answer, Need, Node};
use super::{ClosureError, RootFs};
use crate::gateway::{Bridge, FileKind, FileStat, GatewayError};

/// Calls in flight at once. One round is rarely more than a few dozen
/// needs; each call makes the daemon mount the result, so an unbounded
/// burst only queues there.
const CONCURRENT_CALLS: usize = 16;

#[derive(Clone)]
pub struct GatewayRootFs {
    bridge: Bridge,
    /// The result's ref id; empty for an empty result (`scratch`).
    reference: String,
}

impl GatewayRootFs {
    /// The files of a solved result (the id `Bridge::solve` returned).
    /// Fails when the daemon cannot list directories or read files.
    pub fn new(bridge: &Bridge, reference: String) -> Result<GatewayRootFs, GatewayError> {
        for cap in [caps::gateway::READ_DIR, caps::gateway::READ_FILE] {
            if !bridge.caps().gateway.contains(cap) {
                return Err(GatewayError::Unsupported(format!(
                    "copying a runtime closure reads the source stage's files, and this \
                     BuildKit daemon cannot (it lacks the gateway capability `{cap}`); \
                     upgrade it (BuildKit 0.3 and later have it)"
                )));
            }
        }
        Ok(GatewayRootFs {
            bridge: bridge.clone(),
            reference,
        })
    }
}

impl RootFs for GatewayRootFs {
    fn fetch(
        &self,
        needs: &[Need],
    ) -> impl Future<Output = Result<Vec<Answer>, ClosureError>> + Send {
        let this = self.clone();
        let needs = needs.to_vec();
        async move {
            let limit = Arc::new(Semaphore::new(CONCURRENT_CALLS));
            let mut calls = JoinSet::new();
            for (index, need) in needs.iter().cloned().enumerate() {
                let this = this.clone();
                let limit = limit.clone();
                calls.spawn(async move {
                    let _permit = limit.acquire_owned().await;
                    (index, this.answer(need).await)
                });
            }
            let mut answers: Vec<Option<Answer>> = vec![None; needs.len()];
            while let Some(joined) = calls.join_next().await {
                let (index, answer) = joined
                    .map_err(|e| ClosureError::Internal(format!("a read task failed: {e}")))?;
                answers[index] = Some(answer?);
            }
            answers
                .into_iter()
                .map(|a| a.ok_or_else(|| ClosureError::Internal("a need went unanswered".into())))
                .collect()
        }
    }
}

impl GatewayRootFs {
    /// One need's answer; `Err` only when the daemon is gone (a failed
    /// read is an answer, which matters only if the resolver consults it).
    async fn answer(&self, need: Need) -> Result<Answer, ClosureError> {
        if self.reference.is_empty() {
            return Ok(empty_result_answer(&need));
        }
        match need {
            Need::List(dir) => {
                let listing = self.bridge.read_dir(&self.reference, &dir, "").await;
                Ok(Answer::Listing(fatal_or_kept(listing)?.map(|entries| {
                    entries
                        .into_iter()
                        .map(|stat| (stat.name.clone(), node(stat)))
                        .collect()
                })))
            }
            Need::Read { path, offset, len } => {
                let bytes = self
                    .bridge
                    .read_file_range(&self.reference, &path, offset, len)
                    .await;
                Ok(Answer::Bytes(fatal_or_kept(bytes)?))
            }
        }
    }
}

/// An empty result has no files: every directory is empty.
fn empty_result_answer(need: &Need) -> Answer {
    match need {
        Need::List(_) => Answer::Listing(Ok(Vec::new())),
        Need::Read { path, .. } => Answer::Bytes(Err(format!("`{path}`: the stage is empty"))),
    }
}

/// A disconnect ends the resolution; any other failure is the answer.
fn fatal_or_kept<T>(result: Result<T, GatewayError>) -> Result<Result<T, String>, ClosureError> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if e.is_disconnect() || matches!(e, GatewayError::Unsupported(_)) => Err(e.into()),
        Err(e) => Ok(Err(e.to_string())),
    }
}

fn node(stat: FileStat) -> Node {
    match stat.kind {
        FileKind::Dir => Node::Dir,
        FileKind::File => Node::File { size: stat.size },
        FileKind::Symlink { target } => Node::Symlink { target },
        FileKind::Other => Node::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_file_stats_to_nodes() {
        let stat = |kind| FileStat {
            name: "x".into(),
            kind,
            size: 7,
            permissions: 0o644,
        };
        assert_eq!(node(stat(FileKind::File)), Node::File { size: 7 });
        assert_eq!(node(stat(FileKind::Dir)), Node::Dir);
        assert_eq!(
            node(stat(FileKind::Symlink {
                target: "usr/lib".into()
            })),
            Node::Symlink {
                target: "usr/lib".into()
            }
        );
        assert_eq!(node(stat(FileKind::Other)), Node::Other);
    }

    #[test]
    fn an_empty_stage_has_no_files() {
        assert_eq!(
            empty_result_answer(&Need::List("/".into())),
            Answer::Listing(Ok(vec![]))
        );
        assert!(matches!(
            empty_result_answer(&Need::Read {
                path: "/x".into(),
                offset: 0,
                len: 1
            }),
            Answer::Bytes(Err(_))
        ));
    }

    #[test]
    fn only_a_lost_daemon_ends_the_resolution() {
        let gone = GatewayError::Call {
            call: "read dir",
            status: Box::new(tonic::Status::unavailable("closed")),
        };
        assert!(fatal_or_kept::<()>(Err(gone)).is_err());
        let missing = GatewayError::Call {
            call: "read file",
            status: Box::new(tonic::Status::unknown("open /x: no such file or directory")),
        };
        let kept = fatal_or_kept::<()>(Err(missing)).unwrap();
        assert!(kept.unwrap_err().contains("no such file"));
    }
}
