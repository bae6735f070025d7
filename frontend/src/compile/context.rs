//! Which stages a target needs, and which context paths they read: the
//! context transfer is limited to those paths, so a build that copies
//! `src/` never sends the rest of the repository.

use std::collections::BTreeSet;

use super::{ArgScope, CompileOptions};
use crate::spec::{MountKind, Spec, StepKind};

/// Stage names `target` depends on, itself included. Values that do not
/// substitute are skipped here; compiling reports them with a position.
pub fn reachable_stages(
    spec: &Spec,
    scope: &ArgScope,
    options: &CompileOptions,
    target: &str,
) -> BTreeSet<String> {
    dependency_order(spec, scope, options, target)
        .into_iter()
        .collect()
}

/// The stages `target` needs, each after the stages it uses, `target`
/// last. Compiling in this order keeps the compiler's recursion one stage
/// deep however long a chain of stages is. Found with an explicit stack, so
/// a long chain cannot exhaust the thread's stack here either.
pub fn dependency_order(
    spec: &Spec,
    scope: &ArgScope,
    options: &CompileOptions,
    target: &str,
) -> Vec<String> {
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    if spec.stage(target).is_none() {
        return order;
    }
    seen.insert(target.to_string());
    // (stage, the stages it uses, how many of them are handled)
    let mut stack = vec![(
        target.to_string(),
        stage_refs(spec, scope, options, target),
        0,
    )];
    while let Some((name, refs, next)) = stack.last_mut() {
        match refs.get(*next) {
            Some(dep) => {
                *next += 1;
                let dep = dep.clone();
                if seen.insert(dep.clone()) {
                    let dep_refs = stage_refs(spec, scope, options, &dep);
                    stack.push((dep, dep_refs, 0));
                }
            }
            None => {
                order.push(std::mem::take(name));
                stack.pop();
            }
        }
    }
    order
}

/// The stages of this spec that stage `name` uses (`from`, `copy.from`,
/// mount `from`), named contexts excepted.
fn stage_refs(spec: &Spec, scope: &ArgScope, options: &CompileOptions, name: &str) -> Vec<String> {
    let Some(stage) = spec.stage(name) else {
        return Vec::new();
    };
    let mut refs = vec![&stage.from];
    for step in &stage.steps {
        match &step.kind {
            StepKind::Copy(c) => refs.extend(c.from.iter()),
            StepKind::Run(r) => {
                for m in &r.mounts {
                    if let MountKind::Bind { from: Some(f), .. }
                    | MountKind::Cache { from: Some(f), .. } = &m.kind
                    {
                        refs.push(f);
                    }
                }
            }
            _ => {}
        }
    }
    refs.into_iter()
        .filter_map(|r| scope.subst(r).ok())
        .filter(|value| spec.stage(value).is_some() && options.named_context(value).is_none())
        .collect()
}

/// Include patterns for the context transfer; empty means "everything"
/// (some step reads the whole context).
pub fn context_paths(spec: &Spec, scope: &ArgScope, stages: &BTreeSet<String>) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for stage in spec.stages.iter().filter(|s| stages.contains(&s.name)) {
        for step in &stage.steps {
            let sources: Vec<&crate::spec::Located<String>> = match &step.kind {
                StepKind::Copy(c) if c.from.is_none() => c.sources.iter().collect(),
                StepKind::Run(r) => r
                    .mounts
                    .iter()
                    .filter_map(|m| match &m.kind {
                        MountKind::Bind {
                            from: None,
                            source,
                            target,
                            ..
                        } => Some(source.as_ref().unwrap_or(target)),
                        _ => None,
                    })
                    .collect(),
                _ => continue,
            };
            let bind_without_source = matches!(&step.kind, StepKind::Run(r) if r.mounts.iter().any(|m| matches!(&m.kind, MountKind::Bind { from: None, source: None, .. })));
            if bind_without_source {
                return Vec::new();
            }
            for source in sources {
                let Ok(value) = scope.subst(source) else {
                    continue;
                };
                match clean(&value) {
                    Some(path) => paths.insert(path),
                    None => return Vec::new(),
                };
            }
        }
    }
    paths.into_iter().collect()
}

/// `./src/` → `src`; `None` for the context root itself.
pub fn clean(path: &str) -> Option<String> {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}
