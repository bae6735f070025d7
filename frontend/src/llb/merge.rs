//! Merge ops: layer independent filesystems on top of each other without
//! copying (how `link: true` copies stay cacheable when the base changes).

use std::collections::BTreeSet;

use stagecraft_proto::caps::llb as cap;
use stagecraft_proto::pb;

use super::{Inputs, OpMeta, State, Vertex};

/// `layers[0]` at the bottom, later layers on top. Scratch layers are
/// skipped; merging a single layer is that layer.
pub fn merge(layers: &[State], meta: OpMeta) -> State {
    let non_empty: Vec<&State> = layers.iter().filter(|s| !s.is_scratch()).collect();
    match non_empty.as_slice() {
        [] => return State::scratch(),
        [one] => return (*one).clone(),
        _ => {}
    }
    let mut inputs = Inputs::default();
    let merge_inputs = non_empty
        .iter()
        .map(|s| pb::MergeInput {
            input: inputs.index_of(s),
        })
        .collect();
    State::from_vertex(
        Vertex {
            op: pb::op::Op::Merge(pb::MergeOp {
                inputs: merge_inputs,
            }),
            inputs: inputs.into_vec(),
            platform: None,
            meta,
            caps: BTreeSet::from([cap::MERGE_OP.into()]),
        },
        0,
    )
}
