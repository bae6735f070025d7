//! Which context paths a build reads: the context transfer is limited to
//! those, so a build that copies `src/` never sends the rest of the
//! repository.

use std::collections::BTreeSet;

use crate::spec::{MountKind, Stage, StepKind};

/// Include patterns for the context transfer of these (resolved) stages;
/// empty means "everything" (some step reads the whole context).
pub fn context_paths<'a>(stages: impl IntoIterator<Item = &'a Stage>) -> Vec<String> {
    let mut paths = BTreeSet::new();
    for stage in stages {
        for step in stage.leaf_steps() {
            let sources = match &step.kind {
                StepKind::Copy(c) if c.from.is_none() => c.sources.iter().collect(),
                StepKind::Run(r) => {
                    let mut sources = Vec::new();
                    for m in &r.mounts {
                        match &m.kind {
                            MountKind::Bind {
                                from: None,
                                source: Some(source),
                                ..
                            } => sources.push(source),
                            // A bind of the context without `source` is all of it.
                            MountKind::Bind {
                                from: None,
                                source: None,
                                ..
                            } => return Vec::new(),
                            _ => {}
                        }
                    }
                    sources
                }
                _ => Vec::new(),
            };
            for source in sources {
                match clean(&source.value) {
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
