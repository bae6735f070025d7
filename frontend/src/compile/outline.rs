//! What a target needs from the user: the args its stages use, and the
//! secrets and SSH sockets its steps mount (`--call outline`).

use std::collections::BTreeMap;

use super::{context, ArgScope, CompileOptions};
use crate::spec::args::{mentioned, references};
use crate::spec::{Command, LineRange, Located, MountKind, Pos, Spec, StepKind};

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

pub fn outline(spec: &Spec, options: &CompileOptions, target: &str) -> Outline {
    let scope = ArgScope::new(spec, options);
    let stages = context::reachable_stages(spec, &scope, options, target);
    let mut used = std::collections::BTreeSet::new();
    let mut secrets = BTreeMap::new();
    let mut ssh = BTreeMap::new();
    let declared: Vec<&str> = spec.args.iter().map(|a| a.name.as_str()).collect();
    for stage in spec.stages.iter().filter(|s| stages.contains(&s.name)) {
        let mut texts: Vec<&Located<String>> = vec![&stage.from];
        texts.extend(
            stage
                .platform
                .iter()
                .chain(&stage.workdir)
                .chain(&stage.user),
        );
        texts.extend(stage.env.iter().map(|(_, v)| v));
        texts.extend(stage.image.labels.iter().map(|(_, v)| v));
        for text in texts {
            used.extend(references(&text.value).unwrap_or_default());
        }
        for step in &stage.steps {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            let command = match &run.command {
                Command::Shell(t) => t.clone(),
                Command::Exec(list) => list.join(" "),
            };
            used.extend(mentioned(&command, declared.iter().copied()));
            for mount in &run.mounts {
                match &mount.kind {
                    MountKind::Secret { id, required, .. } => {
                        secrets.entry(id.clone()).or_insert((*required, step.lines));
                    }
                    MountKind::Ssh { id, required, .. } => {
                        ssh.entry(id.clone()).or_insert((*required, step.lines));
                    }
                    _ => {}
                }
            }
        }
    }
    Outline {
        target: target.to_string(),
        description: spec.stage(target).and_then(|s| s.description.clone()),
        args: spec
            .args
            .iter()
            .filter(|a| used.contains(&a.name))
            .map(|a| OutlineArg {
                name: a.name.clone(),
                value: scope.get(&a.name).unwrap_or_default().to_string(),
                declared_at: a.pos,
            })
            .collect(),
        secrets,
        ssh,
    }
}
