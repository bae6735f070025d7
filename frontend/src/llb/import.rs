//! Turns a marshalled Definition back into a [`State`], so a graph made
//! elsewhere (the inputs a caller forwards) can be built upon.

use std::collections::HashMap;
use std::sync::Arc;

use stagecraft_proto::{pb, Message};

use super::marshal::digest_of;
use super::{OpMeta, Output, Platform, State, Vertex};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImportError {
    #[error("op {0} does not decode: {1}")]
    Decode(usize, String),
    #[error("op {0} refers to missing input {1}")]
    MissingInput(String, String),
    #[error("the definition has no result op")]
    NoResult,
}

/// The state a Definition's terminal op points at.
pub fn from_definition(def: &pb::Definition) -> Result<State, ImportError> {
    let mut ops: HashMap<String, pb::Op> = HashMap::new();
    let mut terminal = None;
    for (i, bytes) in def.def.iter().enumerate() {
        let op =
            pb::Op::decode(bytes.as_slice()).map_err(|e| ImportError::Decode(i, e.to_string()))?;
        if op.op.is_none() {
            terminal = Some(op);
        } else {
            ops.insert(digest_of(bytes), op);
        }
    }
    let terminal = terminal.ok_or(ImportError::NoResult)?;
    let Some(result) = terminal.inputs.first() else {
        return Ok(State::scratch());
    };
    let mut built: HashMap<String, Arc<Vertex>> = HashMap::new();
    let vertex = build(&result.digest, &ops, def, &mut built)?;
    Ok(State {
        output: Some(Output {
            vertex,
            index: result.index,
        }),
    })
}

/// Builds vertices inputs-first with an explicit stack (deep graphs).
fn build(
    root: &str,
    ops: &HashMap<String, pb::Op>,
    def: &pb::Definition,
    built: &mut HashMap<String, Arc<Vertex>>,
) -> Result<Arc<Vertex>, ImportError> {
    let mut stack = vec![(root.to_string(), false)];
    while let Some((digest, inputs_done)) = stack.pop() {
        if built.contains_key(&digest) {
            continue;
        }
        let op = ops
            .get(&digest)
            .ok_or_else(|| ImportError::MissingInput(root.to_string(), digest.clone()))?;
        if !inputs_done {
            stack.push((digest.clone(), true));
            stack.extend(op.inputs.iter().rev().map(|i| (i.digest.clone(), false)));
            continue;
        }
        let inputs = op
            .inputs
            .iter()
            .map(|i| Output {
                vertex: built[&i.digest].clone(),
                index: i.index,
            })
            .collect();
        let meta = def.metadata.get(&digest).cloned().unwrap_or_default();
        let vertex = Vertex {
            op: op.op.clone().expect("terminal ops are set aside"),
            inputs,
            platform: op.platform.as_ref().map(|p| Platform {
                os: p.os.clone(),
                architecture: p.architecture.clone(),
                variant: p.variant.clone(),
            }),
            meta: OpMeta {
                name: meta.description.get("llb.customname").cloned(),
                ignore_cache: meta.ignore_cache,
                ..OpMeta::default()
            },
            caps: meta.caps.keys().map(|c| c.clone().into()).collect(),
        };
        built.insert(digest, Arc::new(vertex));
    }
    Ok(built[root].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llb::{image, marshal, Encoding, Exec};

    #[test]
    fn round_trips_a_graph() {
        let platform = Platform::parse("linux/amd64").unwrap();
        let base = image(
            "docker.io/library/debian:bookworm-slim",
            &platform,
            OpMeta::named("base"),
        );
        let exec = Exec {
            args: vec!["true".into()],
            ..Exec::default()
        };
        let state = exec.run(&base, &platform, OpMeta::named("run"));
        for encoding in [Encoding::GoProtobuf, Encoding::Gogo] {
            let def = marshal(&state, None, encoding);
            let again = marshal(&from_definition(&def).unwrap(), None, encoding);
            assert_eq!(def, again);
        }
    }
}
