//! LLB ops in the byte form BuildKit's Go code gives them.
//!
//! Since BuildKit 0.19 the solver decodes every op a frontend sends and
//! marshals it again with Go's deterministic protobuf encoding
//! (`solver/llbsolver/vertex.go`, `recomputeDigests`); the digest of those
//! bytes is the vertex's name from then on. Everything else in the
//! Definition that is keyed by digest is NOT renamed: the source map
//! (`Source.locations`) in particular. An op whose bytes differ from Go's
//! therefore loses its source lines in error messages, and shares no cache
//! with the same op from a Go frontend.
//!
//! prost differs from Go in two ways that matter for `pb.Op`:
//!
//! * Go writes a oneof after all other fields ("to preserve compatibility
//!   with historic wire output", protobuf-go `internal/impl`,
//!   `order.LegacyFieldOrder`); prost writes every field in field-number
//!   order, so `Op.op` (fields 2–7) would come before `platform` (10) and
//!   `constraints` (11);
//! * in a map entry prost leaves out a key or value that equals its
//!   default, where Go always writes both (`SourceOp.attrs`, `BuildOp`).
//!
//! Every other message an op contains either has no oneof or has it after
//! its other fields (`FileAction`, `UserOpt`), and has no map, so prost's
//! encoding of it is already Go's. The unit tests below pin both
//! differences; the end-to-end suite checks that a failing step keeps its
//! source lines on dockerd 28, which re-encodes.

use std::collections::BTreeMap;

use prost::encoding::{self, WireType};
use prost::Message;

use crate::pb;

/// `op` encoded as Go's `proto.MarshalOptions{Deterministic: true}` does.
/// (A `BuildOp`'s nested Definition, deprecated and never made by
/// Stagecraft, keeps prost's encoding.)
pub fn encode_op(op: &pb::Op) -> Vec<u8> {
    let mut buf = Vec::with_capacity(op.encoded_len() + 16);
    for input in &op.inputs {
        encoding::message::encode(1, input, &mut buf);
    }
    if let Some(platform) = &op.platform {
        encoding::message::encode(10, platform, &mut buf);
    }
    if let Some(constraints) = &op.constraints {
        encoding::message::encode(11, constraints, &mut buf);
    }
    // The oneof last, as Go does.
    match &op.op {
        Some(pb::op::Op::Source(source)) => length_delimited(3, &encode_source(source), &mut buf),
        Some(pb::op::Op::Build(build)) => length_delimited(5, &encode_build(build), &mut buf),
        Some(other) => other.encode(&mut buf),
        None => {}
    }
    buf
}

fn encode_source(source: &pb::SourceOp) -> Vec<u8> {
    let mut buf = Vec::new();
    if !source.identifier.is_empty() {
        encoding::string::encode(1, &source.identifier, &mut buf);
    }
    string_map(2, &source.attrs, &mut buf);
    buf
}

fn encode_build(build: &pb::BuildOp) -> Vec<u8> {
    let mut buf = Vec::new();
    if build.builder != 0 {
        encoding::int64::encode(1, &build.builder, &mut buf);
    }
    for (key, input) in &build.inputs {
        let mut entry = Vec::new();
        encoding::string::encode(1, key, &mut entry);
        encoding::message::encode(2, input, &mut entry);
        length_delimited(2, &entry, &mut buf);
    }
    if let Some(def) = &build.def {
        encoding::message::encode(3, def, &mut buf);
    }
    string_map(4, &build.attrs, &mut buf);
    buf
}

/// A `map<string, string>` field, key and value always written, in key
/// order (Go's deterministic order: byte-wise, as `BTreeMap<String, _>`).
fn string_map(tag: u32, map: &BTreeMap<String, String>, buf: &mut Vec<u8>) {
    for (key, value) in map {
        let mut entry = Vec::with_capacity(key.len() + value.len() + 4);
        encoding::string::encode(1, key, &mut entry);
        encoding::string::encode(2, value, &mut entry);
        length_delimited(tag, &entry, buf);
    }
}

fn length_delimited(tag: u32, body: &[u8], buf: &mut Vec<u8>) {
    encoding::encode_key(tag, WireType::LengthDelimited, buf);
    encoding::encode_varint(body.len() as u64, buf);
    buf.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_op() -> pb::Op {
        pb::Op {
            inputs: vec![pb::Input {
                digest: "sha256:00".into(),
                index: 0,
            }],
            op: Some(pb::op::Op::Source(pb::SourceOp {
                identifier: "docker-image://docker.io/library/busybox:latest".into(),
                attrs: BTreeMap::from([
                    ("b".to_string(), String::new()),
                    ("a".to_string(), "1".to_string()),
                ]),
            })),
            platform: Some(pb::Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..pb::Platform::default()
            }),
            constraints: Some(pb::WorkerConstraints::default()),
        }
    }

    /// Field numbers of the top-level fields, in the order written.
    fn field_order(bytes: &[u8]) -> Vec<u32> {
        let mut buf = bytes;
        let mut tags = Vec::new();
        while !buf.is_empty() {
            let (tag, wire) = encoding::decode_key(&mut buf).unwrap();
            tags.push(tag);
            encoding::skip_field(wire, tag, &mut buf, Default::default()).unwrap();
        }
        tags
    }

    #[test]
    fn the_oneof_comes_last_like_go() {
        let op = image_op();
        assert_eq!(field_order(&op.encode_to_vec()), [1, 3, 10, 11]);
        assert_eq!(field_order(&encode_op(&op)), [1, 10, 11, 3]);
    }

    /// The digest dockerd 28.5 (BuildKit, protobuf-go) gives the image
    /// source a Stagecraft spec's `from: busybox:latest` compiles to, read
    /// from `docker buildx build --progress=rawjson` against that daemon.
    #[test]
    fn an_image_source_gets_the_digest_buildkit_gives_it() {
        use sha2::Digest;
        let op = pb::Op {
            op: Some(pb::op::Op::Source(pb::SourceOp {
                identifier: "docker-image://docker.io/library/busybox:latest".into(),
                attrs: BTreeMap::new(),
            })),
            platform: Some(pb::Platform {
                architecture: "amd64".into(),
                os: "linux".into(),
                ..pb::Platform::default()
            }),
            constraints: Some(pb::WorkerConstraints::default()),
            ..pb::Op::default()
        };
        assert_eq!(
            hex::encode(sha2::Sha256::digest(encode_op(&op))),
            "e1432b8e2054abb034451c15f0a8ad49d07f5892ca266016226fec77e95d20a0"
        );
    }

    #[test]
    fn map_entries_keep_empty_values_like_go() {
        let bytes = encode_source(&pb::SourceOp {
            identifier: String::new(),
            attrs: BTreeMap::from([("k".to_string(), String::new())]),
        });
        // field 2, length 5: key "k" (0a 01 6b), value "" (12 00).
        assert_eq!(bytes, [0x12, 0x05, 0x0a, 0x01, b'k', 0x12, 0x00]);
    }

    #[test]
    fn the_canonical_bytes_decode_to_the_same_op() {
        for op in [image_op(), pb::Op::default()] {
            assert_eq!(pb::Op::decode(encode_op(&op).as_slice()).unwrap(), op);
        }
        let build = pb::Op {
            op: Some(pb::op::Op::Build(pb::BuildOp {
                builder: 1,
                inputs: BTreeMap::from([("x".into(), pb::BuildInput { input: 0 })]),
                def: Some(pb::Definition::default()),
                attrs: BTreeMap::from([("e".into(), String::new())]),
            })),
            ..pb::Op::default()
        };
        assert_eq!(pb::Op::decode(encode_op(&build).as_slice()).unwrap(), build);
    }
}
