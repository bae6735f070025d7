//! `parallel` groups: each branch runs its steps on the stage's filesystem
//! as it is at the group, at the same time as the others; a DiffOp takes
//! each branch's changes and a MergeOp lays them on the base in file
//! order, so where two branches write the same path the later one wins.
//! Changing one branch re-runs only that branch: the others' ops, and so
//! their cache keys, do not change.

use stagecraft_proto::caps::llb as cap;

use super::stage::{Compiler, Dispatch, HistoryChain};
use crate::llb;
use crate::spec::error::Problem;
use crate::spec::{ParallelStep, Step};

impl Compiler<'_> {
    pub(super) fn parallel(
        &mut self,
        d: &mut Dispatch,
        step: &Step,
        group: &ParallelStep,
    ) -> Result<(), Problem> {
        for (name, what) in [(cap::DIFF_OP, "DiffOp"), (cap::MERGE_OP, "MergeOp")] {
            self.require(name, step.pos, &format!("`parallel` groups ({what})"))?;
        }
        let base = d.state.clone();
        let mut layers = vec![base.clone()];
        for branch in &group.branches {
            let mut b = Dispatch {
                stage: d.stage,
                state: base.clone(),
                platform: d.platform.clone(),
                config: d.config.clone(),
                history: HistoryChain::default(),
                shell: d.shell.clone(),
                number: d.number,
                total: d.total,
                branch: None,
            };
            for (i, branch_step) in branch.steps.iter().enumerate() {
                b.branch = Some(match branch.steps.len() {
                    1 => branch.name.clone(),
                    n => format!("{} {}/{n}", branch.name, i + 1),
                });
                self.step(&mut b, branch_step)?;
            }
            b.branch = Some(branch.name.clone());
            let meta = self.meta(
                &b,
                "PARALLEL changes".to_string(),
                branch.pos,
                step.lines.end,
            );
            layers.push(llb::diff(&base, &b.state, meta));
            d.history.entries.append(&mut b.history.entries);
        }
        let names: Vec<&str> = group.branches.iter().map(|b| b.name.as_str()).collect();
        let text = format!("PARALLEL {}", names.join(", "));
        let meta = self.meta(d, text, step.pos, step.lines.end);
        d.state = llb::merge(&layers, meta);
        Ok(())
    }
}
