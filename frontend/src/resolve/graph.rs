//! The stage graph: which stages a build needs, in what order, and that
//! none uses itself. One walk does all three, resolving each stage as it
//! reaches it, so a stage the target does not need is never resolved.

use std::collections::BTreeMap;

use super::sources::Source;
use crate::spec::error::Problem;
use crate::spec::{Located, Pos, Stage};

/// Stages reached from some roots, each after the stages it uses.
pub struct Walked {
    /// Resolved stages by name.
    pub stages: BTreeMap<String, Stage>,
    /// Dependencies first; a root after everything it needs.
    pub order: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Visiting,
    Done,
}

/// A stage on the walk's path: the stages it uses (with where), and how
/// many of them are handled.
struct Frame {
    name: String,
    uses: Vec<(String, Pos)>,
    next: usize,
}

/// Walks from `roots` (in order), resolving each stage with `resolve_stage`.
/// Iterative, so a long chain of stages cannot exhaust the stack.
pub fn walk(
    roots: &[String],
    resolve_stage: &mut dyn FnMut(&str) -> Result<Stage, Problem>,
    classify: &dyn Fn(&Located<String>) -> Result<Source, Problem>,
) -> Result<Walked, Problem> {
    let mut marks: BTreeMap<String, Mark> = BTreeMap::new();
    let mut walked = Walked {
        stages: BTreeMap::new(),
        order: Vec::new(),
    };
    let mut visit = |name: &str, walked: &mut Walked| -> Result<Frame, Problem> {
        let stage = resolve_stage(name)?;
        let mut uses = Vec::new();
        for reference in stage.references() {
            match classify(reference)? {
                Source::Stage(used) => uses.push((used, reference.pos)),
                Source::Variants(all) => uses.extend(all.into_iter().map(|v| (v, reference.pos))),
                _ => {}
            }
        }
        walked.stages.insert(name.to_string(), stage);
        Ok(Frame {
            name: name.to_string(),
            uses,
            next: 0,
        })
    };
    for root in roots {
        if marks.contains_key(root) {
            continue;
        }
        marks.insert(root.clone(), Mark::Visiting);
        let mut path = vec![visit(root, &mut walked)?];
        while let Some(frame) = path.last_mut() {
            let Some((used, _)) = frame.uses.get(frame.next).cloned() else {
                marks.insert(frame.name.clone(), Mark::Done);
                walked.order.push(frame.name.clone());
                path.pop();
                continue;
            };
            frame.next += 1;
            match marks.get(&used) {
                Some(Mark::Done) => {}
                Some(Mark::Visiting) => return Err(cycle(&path, &used)),
                None => {
                    marks.insert(used.clone(), Mark::Visiting);
                    let next = visit(&used, &mut walked)?;
                    path.push(next);
                }
            }
        }
    }
    Ok(walked)
}

/// Names the cycle and where each of its uses is written. Each frame's
/// `next - 1` is the use it is following.
fn cycle(path: &[Frame], back_to: &str) -> Problem {
    let from = path.iter().position(|f| f.name == back_to).unwrap_or(0);
    let edges: Vec<(&str, &str, Pos)> = path[from..]
        .iter()
        .map(|f| {
            let (used, pos) = &f.uses[f.next - 1];
            (f.name.as_str(), used.as_str(), *pos)
        })
        .collect();
    let mut names: Vec<&str> = edges.iter().map(|(s, _, _)| *s).collect();
    names.push(back_to);
    let uses: Vec<String> = edges
        .iter()
        .map(|(s, used, p)| format!("`{s}` uses `{used}` at line {}", p.line))
        .collect();
    let at = edges.last().map(|(_, _, p)| *p).unwrap_or_default();
    Problem::new(
        at,
        format!(
            "stages depend on each other in a cycle: {}",
            names.join(" → ")
        ),
    )
    .hint(format!(
        "{}; a stage cannot use itself, directly or through other stages",
        uses.join(", ")
    ))
}
