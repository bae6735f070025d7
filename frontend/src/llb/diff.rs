//! Diff ops: the changes that turn one filesystem into another, as a layer
//! of its own (how parallel branches of a stage are combined).

use std::collections::BTreeSet;

use stagecraft_proto::caps::llb as cap;
use stagecraft_proto::pb;

use super::{Inputs, OpMeta, State, Vertex};

/// What `upper` adds to, changes in and removes from `lower`.
pub fn diff(lower: &State, upper: &State, meta: OpMeta) -> State {
    let mut inputs = Inputs::default();
    let lower = pb::LowerDiffInput {
        input: inputs.index_of(lower),
    };
    let upper = pb::UpperDiffInput {
        input: inputs.index_of(upper),
    };
    State::from_vertex(
        Vertex {
            op: pb::op::Op::Diff(pb::DiffOp {
                lower: Some(lower),
                upper: Some(upper),
            }),
            inputs: inputs.into_vec(),
            platform: None,
            meta,
            caps: BTreeSet::from([cap::DIFF_OP.into()]),
        },
        0,
    )
}
