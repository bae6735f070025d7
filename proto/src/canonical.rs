//! LLB ops in the byte form BuildKit's own Go code gives them.
//!
//! Since BuildKit 0.18 the solver decodes every op a frontend sends and
//! marshals it again with Go's deterministic protobuf encoding
//! (`solver/llbsolver/vertex.go`, `recomputeDigests`); the digest of those
//! bytes is the vertex's name from then on. What else the Definition keys
//! by digest is NOT renamed: the source map (`Source.locations`) in
//! particular, so an op whose bytes differ from Go's loses its source lines
//! in error messages (and a warning sent for it names no vertex).
//!
//! Two Go encodings matter, because the daemon's own Dockerfile frontend
//! reads the spec with an op that Stagecraft repeats byte for byte, so that
//! BuildKit merges the two and transfers the spec once:
//!
//! * google.golang.org/protobuf (BuildKit ≥ 0.17) writes a oneof after all
//!   other fields ("to preserve compatibility with historic wire output",
//!   `order.LegacyFieldOrder`): `Op.op` (fields 2–7) after `platform` (10)
//!   and `constraints` (11);
//! * gogo/protobuf (BuildKit ≤ 0.16, e.g. dockerd 26) writes every field in
//!   field-number order, as prost does.
//!
//! Both write a map entry's key and value even when empty, which prost
//! leaves out (`SourceOp.attrs`, `BuildOp`). Every other message an op
//! contains either has no oneof or has it after its other fields
//! (`FileAction`, `UserOpt`), and has no map, so prost's encoding of it is
//! already Go's. The unit tests pin the differences against a digest
//! BuildKit computed; the end-to-end suite checks source lines on both
//! kinds of daemon.

use std::collections::BTreeMap;

use prost::encoding::{self, WireType};
use prost::Message;

use crate::pb;

/// Which Go protobuf library's bytes to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// google.golang.org/protobuf, `Deterministic: true` (BuildKit ≥ 0.17).
    #[default]
    GoProtobuf,
    /// gogo/protobuf with stable map order (BuildKit ≤ 0.16).
    Gogo,
}

impl Encoding {
    /// The encoding of the daemon whose LLB capabilities these are:
    /// `exec.validexitcode` came with BuildKit 0.17, the release that
    /// replaced gogo/protobuf with google.golang.org/protobuf.
    pub fn of_daemon<'a>(mut llb_caps: impl Iterator<Item = &'a String>) -> Encoding {
        if llb_caps.any(|c| c == crate::caps::llb::EXEC_VALID_EXIT_CODE) {
            Encoding::GoProtobuf
        } else {
            Encoding::Gogo
        }
    }
}

/// `op` as BuildKit's Go code of that `encoding` marshals it. (A
/// `BuildOp`'s nested Definition, deprecated and never made by Stagecraft,
/// keeps prost's encoding.)
pub fn encode_op(op: &pb::Op, encoding: Encoding) -> Vec<u8> {
    let mut buf = Vec::with_capacity(op.encoded_len() + 16);
    for input in &op.inputs {
        encoding::message::encode(1, input, &mut buf);
    }
    if encoding == Encoding::Gogo {
        encode_oneof(op, &mut buf);
    }
    if let Some(platform) = &op.platform {
        encoding::message::encode(10, platform, &mut buf);
    }
    if let Some(constraints) = &op.constraints {
        encoding::message::encode(11, constraints, &mut buf);
    }
    if encoding == Encoding::GoProtobuf {
        encode_oneof(op, &mut buf);
    }
    buf
}

fn encode_oneof(op: &pb::Op, buf: &mut Vec<u8>) {
    match &op.op {
        Some(pb::op::Op::Source(source)) => length_delimited(3, &encode_source(source), buf),
        Some(pb::op::Op::Build(build)) => length_delimited(5, &encode_build(build), buf),
        Some(other) => other.encode(buf),
        None => {}
    }
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
    fn go_protobuf_writes_the_oneof_last_and_gogo_in_number_order() {
        let op = image_op();
        let go = encode_op(&op, Encoding::GoProtobuf);
        assert_eq!(field_order(&go), [1, 10, 11, 3]);
        assert_eq!(field_order(&encode_op(&op, Encoding::Gogo)), [1, 3, 10, 11]);
    }

    #[test]
    fn the_daemon_caps_tell_the_encoding() {
        let old = ["exec.meta.base".to_string()];
        let new = [
            "exec.meta.base".to_string(),
            "exec.validexitcode".to_string(),
        ];
        assert_eq!(Encoding::of_daemon(old.iter()), Encoding::Gogo);
        assert_eq!(Encoding::of_daemon(new.iter()), Encoding::GoProtobuf);
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
            hex::encode(sha2::Sha256::digest(encode_op(&op, Encoding::GoProtobuf))),
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
        for encoding in [Encoding::GoProtobuf, Encoding::Gogo] {
            for op in [image_op(), pb::Op::default()] {
                assert_eq!(
                    pb::Op::decode(encode_op(&op, encoding).as_slice()).unwrap(),
                    op
                );
            }
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
        let bytes = encode_op(&build, Encoding::GoProtobuf);
        assert_eq!(pb::Op::decode(bytes.as_slice()).unwrap(), build);
    }
}
