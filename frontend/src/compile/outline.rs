//! What a target needs from the user: the args its stages use, and the
//! secrets and SSH sockets its steps mount (`--call outline`).

use std::collections::{BTreeMap, BTreeSet};

use crate::options::CompileOptions;
use crate::resolve;
use crate::spec::args::{mentioned, references};
use crate::spec::{fields, LineRange, MountKind, Pos, Spec, SpecError, StepKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    pub target: String,
    pub description: Option<String>,
    /// Declared args the target's stages use, with their effective values.
    pub args: Vec<OutlineArg>,
    /// Secret id → (required, where first used).
    pub secrets: BTreeMap<String, (bool, LineRange)>,
    pub ssh: BTreeMap<String, (bool, LineRange)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineArg {
    pub name: String,
    pub value: String,
    pub declared_at: Pos,
}

/// The outline of the target `options` asks for.
pub fn outline(spec: &Spec, options: &CompileOptions) -> Result<Outline, SpecError> {
    let build = resolve::resolve(spec, options)?;
    let declared: Vec<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    let mut used = BTreeSet::new();
    for name in &build.order {
        // The args a stage uses are in what it says, not in what they
        // resolved to: every field that takes args, and run commands.
        let mut written = spec
            .stage(name)
            .expect("resolved stages are spec stages")
            .clone();
        let _ = fields::each_arg_text(&mut written, &mut |_, text| {
            used.extend(references(&text.value).unwrap_or_default());
            Ok(())
        });
        for step in written.leaf_steps() {
            if let StepKind::Run(run) = &step.kind {
                used.extend(mentioned(&run.command.text(), declared.iter().copied()));
            }
        }
    }
    let mut secrets = BTreeMap::new();
    let mut ssh = BTreeMap::new();
    for name in &build.order {
        for step in build.stage(name).leaf_steps() {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            for mount in &run.mounts {
                match &mount.kind {
                    MountKind::Secret { id, required, .. } => {
                        secrets
                            .entry(id.value.clone())
                            .or_insert((*required, step.lines));
                    }
                    MountKind::Ssh { id, required, .. } => {
                        let id = id.as_ref().map_or("default", |i| &i.value);
                        ssh.entry(id.to_string()).or_insert((*required, step.lines));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(Outline {
        target: build.target.clone(),
        description: build.stage(&build.target).description.clone(),
        args: spec
            .args
            .iter()
            .filter(|a| used.contains(&a.name))
            .map(|a| OutlineArg {
                name: a.name.clone(),
                value: build.args.get(&a.name).unwrap_or_default().to_string(),
                declared_at: a.pos,
            })
            .collect(),
        secrets,
        ssh,
    })
}
