//! `parallel` groups: each branch runs its steps on the stage's filesystem
//! as it is at the group, at the same time as the others; a DiffOp takes
//! each branch's changes and a MergeOp lays them on the base in file
//! order, so where two branches write the same path the later one wins.
//! Changing one branch re-runs only that branch: the others' ops, and so
//! their cache keys, do not change.
//!
//! Docker's classic image store (dockerd without the containerd image
//! store) has no DiffOp or MergeOp: there the branches run one after
//! another on the same filesystem, in file order. The files are the same
//! (the later branch still wins), each branch is still cached on its own
//! when the ones before it are unchanged, but they do not run at once and
//! a branch sees the files of the branches before it.

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
        if !(self.has_cap(cap::DIFF_OP) && self.has_cap(cap::MERGE_OP)) {
            return self.one_branch_after_another(d, group);
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
                b.branch = Some(branch_label(&branch.name, i, branch.steps.len()));
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

impl Compiler<'_> {
    fn one_branch_after_another(
        &mut self,
        d: &mut Dispatch,
        group: &ParallelStep,
    ) -> Result<(), Problem> {
        for branch in &group.branches {
            for (i, branch_step) in branch.steps.iter().enumerate() {
                d.branch = Some(branch_label(&branch.name, i, branch.steps.len()));
                self.step(d, branch_step)?;
            }
        }
        d.branch = None;
        Ok(())
    }
}

/// `deps` for a one-step branch, `deps 2/3` for the second of three.
fn branch_label(name: &str, index: usize, steps: usize) -> String {
    match steps {
        1 => name.to_string(),
        n => format!("{name} {}/{n}", index + 1),
    }
}
