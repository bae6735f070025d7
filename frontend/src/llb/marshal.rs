//! Serializes the graph reachable from a result into a `pb.Definition`.
//!
//! Ops are written inputs-first, in depth-first order of the inputs as
//! given, so the same graph always gives the same bytes; each op in the
//! encoding of the daemon's Go code (see `stagecraft_proto::canonical`),
//! which is what BuildKit names it by, so the source map, metadata and
//! warnings name the vertices the daemon knows. Identical ops
//! (same digest) are written once. Metadata and the source map are keyed by
//! digest and live outside the ops, so they never change an op's digest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use stagecraft_proto::canonical::{self, Encoding};
use stagecraft_proto::pb;

use super::{Output, State, Vertex};

/// The file the graph was compiled from, for BuildKit's source map (error
/// messages and progress show the lines of the failing op).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub filename: String,
    pub data: Vec<u8>,
    pub language: String,
}

/// Marshals everything `result` depends on, each op in `encoding`: the
/// one the daemon's own Go code uses (`Encoding::of_daemon`), so that the
/// daemon names every op by the digest written here.
pub fn marshal(result: &State, source: Option<&SourceFile>, encoding: Encoding) -> pb::Definition {
    let mut m = Marshaller {
        encoding,
        ..Marshaller::default()
    };
    let mut def = pb::Definition::default();
    if let Some(output) = result.output() {
        let digest = m.vertex(&output.vertex);
        // The terminal op has no payload; its single input names the result.
        let terminal = pb::Op {
            inputs: vec![pb::Input {
                digest,
                index: output.index,
            }],
            ..pb::Op::default()
        };
        m.push(canonical::encode_op(&terminal, m.encoding), None);
    }
    def.def = m.ops;
    def.metadata = m.metadata;
    if let Some(file) = source {
        def.source = Some(pb::Source {
            locations: m.locations,
            infos: vec![pb::SourceInfo {
                filename: file.filename.clone(),
                data: file.data.clone(),
                language: file.language.clone(),
                definition: None,
            }],
        });
    }
    def
}

/// `sha256:<hex>` of an op's bytes: how BuildKit names ops.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[derive(Default)]
struct Marshaller {
    encoding: Encoding,
    ops: Vec<Vec<u8>>,
    metadata: BTreeMap<String, pb::OpMetadata>,
    locations: BTreeMap<String, pb::Locations>,
    /// Digest per vertex already written (by address: vertices are shared
    /// through `Arc`, and a vertex reached twice must not be walked twice).
    done: HashMap<*const Vertex, String>,
}

impl Marshaller {
    /// Writes `root` after everything it depends on. Iterative, because a
    /// spec with thousands of steps makes a chain thousands of ops deep.
    fn vertex(&mut self, root: &Vertex) -> String {
        let mut stack: Vec<(&Vertex, bool)> = vec![(root, false)];
        while let Some((vertex, inputs_done)) = stack.pop() {
            let key = vertex as *const Vertex;
            if self.done.contains_key(&key) {
                continue;
            }
            if !inputs_done {
                stack.push((vertex, true));
                // Reversed so inputs are written in their given order.
                for input in vertex.inputs.iter().rev() {
                    stack.push((&input.vertex, false));
                }
                continue;
            }
            let inputs = vertex
                .inputs
                .iter()
                .map(|Output { vertex: v, index }| pb::Input {
                    digest: self.done[&Arc::as_ptr(v)].clone(),
                    index: *index,
                })
                .collect();
            let op = pb::Op {
                inputs,
                platform: vertex.platform.as_ref().map(|p| p.to_pb()),
                // BuildKit's own client always sends empty constraints;
                // the same bytes give the same digests, so an op equal to
                // one another frontend made (the spec's local source, an
                // image) is one vertex and one cache entry.
                constraints: Some(pb::WorkerConstraints::default()),
                op: Some(vertex.op.clone()),
            };
            let digest = self.push(canonical::encode_op(&op, self.encoding), Some(vertex));
            self.done.insert(key, digest);
        }
        self.done[&(root as *const Vertex)].clone()
    }

    fn push(&mut self, bytes: Vec<u8>, vertex: Option<&Vertex>) -> String {
        let digest = digest_of(&bytes);
        if self.metadata.contains_key(&digest) {
            // Same op reached through two different vertices: keep the
            // first one's metadata, add this one's source location.
            if let Some(v) = vertex {
                self.add_location(&digest, v);
            }
            return digest;
        }
        self.ops.push(bytes);
        if let Some(v) = vertex {
            self.metadata.insert(digest.clone(), metadata(v));
            self.add_location(&digest, v);
        }
        digest
    }

    fn add_location(&mut self, digest: &str, vertex: &Vertex) {
        let Some((start, end)) = vertex.meta.lines else {
            return;
        };
        let position = |line: u32| pb::Position {
            line: line as i32,
            character: 0,
        };
        let range = pb::Range {
            start: Some(position(start)),
            end: Some(position(end)),
        };
        let entry = self.locations.entry(digest.to_string()).or_default();
        if !entry.locations.iter().any(|l| l.ranges.contains(&range)) {
            entry.locations.push(pb::Location {
                source_index: 0,
                ranges: vec![range],
            });
        }
    }
}

fn metadata(vertex: &Vertex) -> pb::OpMetadata {
    let mut meta = pb::OpMetadata {
        ignore_cache: vertex.meta.ignore_cache,
        caps: vertex.caps.iter().map(|c| (c.to_string(), true)).collect(),
        ..pb::OpMetadata::default()
    };
    if let Some(name) = &vertex.meta.name {
        meta.description
            .insert("llb.customname".to_string(), name.clone());
    }
    if let Some(group) = &vertex.meta.group {
        meta.progress_group = Some(pb::ProgressGroup {
            id: group.clone(),
            name: group.clone(),
            weak: false,
        });
    }
    meta
}
