//! `stagecraft graph`: what a spec builds, as a picture. Stages and the
//! images they start from are nodes; `from`, copies (labelled with what
//! they copy) and mounts are edges; the stages the target needs are set
//! apart from those it does not; matrix variants are grouped, and a
//! stage's parallel groups are listed in its node. Written as Graphviz DOT
//! or Mermaid from one description ([`Graph`]).

mod dot;
mod mermaid;

use std::collections::BTreeSet;

use crate::options::CompileOptions;
use crate::resolve::{self, Resolved, Source};
use crate::spec::{MountKind, Spec, SpecError, Stage, StepKind};

pub use dot::dot;
pub use mermaid::mermaid;

/// The picture's content, before it is written in a format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    pub target: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Matrix stages: name and variants (a box around them).
    pub groups: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: Vec<String>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A stage the target needs (the target included).
    Needed,
    /// A stage of the spec the target does not need.
    Unneeded,
    /// An image, `scratch` or a named context a stage starts from or reads.
    External,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
    /// `from:` (the stage is built on it) rather than a copy or a mount.
    pub base: bool,
}

/// The graph of every stage, with the target's set apart.
pub fn graph(spec: &Spec, options: &CompileOptions) -> Result<Graph, SpecError> {
    let all = resolve::resolve_all(spec, options)?;
    let needed: BTreeSet<String> = resolve::resolve(spec, options)?.order.into_iter().collect();
    let mut g = Graph {
        target: all.target.clone(),
        nodes: Vec::new(),
        edges: Vec::new(),
        groups: spec
            .matrices
            .iter()
            .map(|m| (m.name.clone(), m.variants.clone()))
            .collect(),
    };
    let mut external = BTreeSet::new();
    for stage in spec.stages.iter().filter_map(|s| all.stages.get(&s.name)) {
        let kind = if needed.contains(&stage.name) {
            NodeKind::Needed
        } else {
            NodeKind::Unneeded
        };
        g.nodes.push(Node {
            id: stage.name.clone(),
            label: stage_label(stage, &all.target),
            kind,
        });
        for (source, label, base) in uses(stage) {
            for from in sources_of(&all, &source, &mut external) {
                g.edges.push(Edge {
                    from,
                    to: stage.name.clone(),
                    label: label.clone(),
                    base,
                });
            }
        }
    }
    g.nodes.extend(external.into_iter().map(|id| Node {
        label: vec![id.clone()],
        id,
        kind: NodeKind::External,
    }));
    Ok(g)
}

/// The node names a `from:` value stands for (an image gets a node of its
/// own, named as written).
fn sources_of(build: &Resolved, from: &str, external: &mut BTreeSet<String>) -> Vec<String> {
    match build.source(from) {
        Source::Stage(name) => vec![name.clone()],
        Source::Variants(names) => names.clone(),
        Source::Scratch | Source::Image(_) | Source::Context(_) => {
            external.insert(from.to_string());
            vec![from.to_string()]
        }
    }
}

/// What a stage reads: its base, its copies' and mounts' sources, with a
/// label each.
fn uses(stage: &Stage) -> Vec<(String, String, bool)> {
    let mut uses = vec![(stage.from.value.clone(), "from".to_string(), true)];
    for step in stage.leaf_steps() {
        match &step.kind {
            StepKind::Copy(c) => {
                if let Some(from) = &c.from {
                    let paths: Vec<&str> = c.sources.iter().map(|s| s.value.as_str()).collect();
                    let mut label = paths.join(" ");
                    if c.libraries {
                        label.push_str(" + libraries");
                    }
                    uses.push((from.value.clone(), label, false));
                }
            }
            StepKind::Run(r) => {
                for m in &r.mounts {
                    if let MountKind::Bind {
                        from: Some(f),
                        target,
                        ..
                    }
                    | MountKind::Cache {
                        from: Some(f),
                        target,
                        ..
                    } = &m.kind
                    {
                        uses.push((f.value.clone(), format!("mount at {}", target.value), false));
                    }
                }
            }
            _ => {}
        }
    }
    uses
}

fn stage_label(stage: &Stage, target: &str) -> Vec<String> {
    let mut label = vec![if stage.name == target {
        format!("{} (target)", stage.name)
    } else {
        stage.name.clone()
    }];
    let steps = stage.leaf_steps().len();
    label.push(format!("{steps} step{}", if steps == 1 { "" } else { "s" }));
    for step in &stage.steps {
        if let StepKind::Parallel(group) = &step.kind {
            let names: Vec<&str> = group.branches.iter().map(|b| b.name.as_str()).collect();
            label.push(format!("parallel: {}", names.join(" | ")));
        }
    }
    label
}
