//! `mkdir`, `write` and `remove` steps: file ops BuildKit does itself, no
//! shell in the image needed.

use super::copy::owner;
use super::paths;
use super::stage::{Compiler, Dispatch};
use crate::llb::FileOp;
use crate::spec::{MkdirStep, RemoveStep, Step, WriteStep};

impl Compiler<'_> {
    pub(super) fn mkdir(&self, d: &mut Dispatch, step: &Step, m: &MkdirStep) -> String {
        let path = paths::resolve(&d.config.config.working_dir, &m.path.value);
        let text = format!("MKDIR {path}");
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        d.state = FileOp::on(&d.state)
            .mkdir(&path, m.mode.unwrap_or(0o755), owner(&m.chown))
            .into_state(meta);
        text
    }

    pub(super) fn write(&self, d: &mut Dispatch, step: &Step, w: &WriteStep) -> String {
        let path = paths::resolve(&d.config.config.working_dir, &w.path.value);
        let text = format!("WRITE {path}");
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        let mut op = FileOp::on(&d.state);
        // Like a copy, a write creates the directories it needs.
        if let Some(parent) = paths::parent_dir(&path) {
            op = op.mkdir(parent, 0o755, None);
        }
        d.state = op
            .mkfile(
                &path,
                w.mode.unwrap_or(0o644),
                w.content.value.clone().into_bytes(),
                owner(&w.chown),
            )
            .into_state(meta);
        text
    }

    pub(super) fn remove(&self, d: &mut Dispatch, step: &Step, r: &RemoveStep) -> String {
        let mut op = FileOp::on(&d.state);
        let mut shown = Vec::new();
        for p in &r.paths {
            let path = paths::resolve(&d.config.config.working_dir, &p.value);
            op = op.rm(&path);
            shown.push(path);
        }
        let text = format!("REMOVE {}", shown.join(" "));
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        d.state = op.into_state(meta);
        text
    }
}
