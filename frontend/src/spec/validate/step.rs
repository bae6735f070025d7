//! One step: which kind it is, that its options belong to that kind, and
//! the typed step.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use super::{located, pos, Checker};
use crate::spec::error::Problem;
use crate::spec::model::*;
use crate::spec::syntax::{self, StepSyntax};

const STEP_KINDS: &[&str] = &["run", "copy", "add", "mkdir", "write", "remove", "parallel"];

/// Which options each step kind accepts.
fn options_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "run" => &[
            "env", "workdir", "user", "network", "security", "mounts", "cache",
        ],
        "copy" => &[
            "from",
            "to",
            "include",
            "exclude",
            "parents",
            "chown",
            "chmod",
            "link",
            "libraries",
        ],
        "add" => &["to", "chown", "chmod"],
        "mkdir" => &["mode", "chown"],
        "write" => &["content", "mode", "chown"],
        _ => &[],
    }
}

impl Checker<'_> {
    /// A `parallel:` group: named branches of steps.
    fn parallel(&self, group: Spanned<syntax::Branches>) -> Result<ParallelStep, Problem> {
        let p = pos(&group);
        if group.value.0.is_empty() {
            return Err(Problem::new(p, "`parallel` has no branches").hint(
                "name each branch and give it steps: `parallel: {deps: [{run: …}], assets: [{run: …}]}`",
            ));
        }
        let mut branches = Vec::new();
        for (name, steps) in group.value.0 {
            let at = pos(&name);
            if !super::is_stage_name(&name.value) {
                return Err(
                    Problem::new(at, format!("invalid branch name `{}`", name.value)).hint(
                        format!(
                            "branch names match [a-z0-9][a-z0-9._-]*, e.g. `{}`",
                            super::names::stage_name_like(&name.value)
                        ),
                    ),
                );
            }
            if steps.value.is_empty() {
                return Err(
                    Problem::new(at, format!("branch `{}` has no steps", name.value))
                        .hint("give it a list of steps, or remove it"),
                );
            }
            let mut typed = Vec::new();
            for step in steps.value {
                if step.value.parallel.is_some() {
                    return Err(Problem::new(pos(&step), "parallel groups do not nest")
                        .hint("list the inner branches as branches of the outer group"));
                }
                typed.push(self.step(step)?);
            }
            branches.push(Branch {
                name: name.value,
                pos: at,
                steps: typed,
            });
        }
        Ok(ParallelStep { branches })
    }

    pub(super) fn step(&self, step: Spanned<StepSyntax>) -> Result<Step, Problem> {
        let p = pos(&step);
        let s = step.value;
        let kind = step_kind(&s, p)?;
        for (option, option_pos) in set_options(&s, p) {
            if !options_of(kind).contains(&option) {
                let owners: Vec<&str> = STEP_KINDS
                    .iter()
                    .copied()
                    .filter(|k| options_of(k).contains(&option))
                    .collect();
                return Err(Problem::new(
                    option_pos,
                    format!("`{option}` does not apply to a `{kind}` step"),
                )
                .hint(format!(
                    "`{option}` is an option of {} steps",
                    owners.join("/")
                )));
            }
        }
        let kind = match kind {
            "run" => StepKind::Run(self.run(s)?),
            "copy" => StepKind::Copy(self.copy(s)?),
            "add" => StepKind::Add(self.add(s)?),
            "mkdir" => StepKind::Mkdir(MkdirStep {
                path: located(s.mkdir.expect("kind")),
                mode: s.mode.map(|m| m.value.0),
                chown: s.chown.map(located),
            }),
            "write" => {
                let path = located(s.write.expect("kind"));
                let content = s.content.ok_or_else(|| {
                    Problem::new(path.pos, "a `write` step needs `content`")
                        .hint("add `content: |` with the file's text")
                })?;
                StepKind::Write(WriteStep {
                    content: located(content),
                    path,
                    mode: s.mode.map(|m| m.value.0),
                    chown: s.chown.map(located),
                })
            }
            "parallel" => StepKind::Parallel(self.parallel(s.parallel.expect("kind"))?),
            _ => StepKind::Remove(RemoveStep {
                paths: paths(s.remove.expect("kind"), "remove")?,
            }),
        };
        Ok(Step {
            pos: p,
            lines: self.block_lines(p, p.column.saturating_sub(1) as usize),
            kind,
        })
    }

    fn run(&self, s: StepSyntax) -> Result<RunStep, Problem> {
        let run = s.run.expect("kind");
        let run_pos = pos(&run);
        let command = match run.value {
            Command::Shell(text) if text.trim().is_empty() => {
                return Err(Problem::new(run_pos, "empty `run` command")
                    .hint("write the command to run, e.g. `run: make`"))
            }
            Command::Exec(list) if list.is_empty() => {
                return Err(Problem::new(run_pos, "empty `run` command")
                    .hint("an exec-form command needs at least the program"))
            }
            command => command,
        };
        let mut mounts = Vec::new();
        for path in s.cache.unwrap_or_default() {
            let target = located(path);
            mounts.push(Mount {
                pos: target.pos,
                kind: MountKind::Cache {
                    target,
                    id: None,
                    sharing: CacheSharing::Shared,
                    from: None,
                    source: None,
                    owner: MountOwner::default(),
                    readonly: false,
                },
                shorthand: true,
            });
        }
        for m in s.mounts.unwrap_or_default() {
            mounts.push(self.mount(m)?);
        }
        no_two_mounts_at_one_target(&mounts)?;
        Ok(RunStep {
            command,
            env: self.map(s.env, true)?,
            workdir: s.workdir.map(located),
            user: s.user.map(located),
            network: s.network.map(|n| n.value),
            insecure: s
                .security
                .is_some_and(|m| m.value == syntax::SecurityMode::Insecure),
            mounts,
        })
    }

    fn copy(&self, mut s: StepSyntax) -> Result<CopyStep, Problem> {
        let libraries = s.libraries.as_ref().is_some_and(|b| b.value);
        if libraries {
            libraries_alone(&s)?;
        }
        let sources = paths(s.copy.take().expect("kind"), "copy")?;
        if let (Some(parents), Some(include)) = (&s.parents, &s.include) {
            if parents.value && !include.is_empty() {
                return Err(Problem::new(
                    pos(parents),
                    "`parents: true` cannot be combined with `include`",
                )
                .hint("list the paths to copy as sources instead of `include` patterns, or drop `parents`"));
            }
        }
        Ok(CopyStep {
            libraries,
            sources,
            from: s.from.map(located),
            to: s.to.map(located),
            include: s
                .include
                .unwrap_or_default()
                .into_iter()
                .map(located)
                .collect(),
            exclude: s
                .exclude
                .unwrap_or_default()
                .into_iter()
                .map(located)
                .collect(),
            parents: s.parents.is_some_and(|b| b.value),
            chown: s.chown.map(located),
            chmod: s.chmod.map(|m| m.value.0),
            link: s.link.is_some_and(|b| b.value),
        })
    }

    fn add(&self, s: StepSyntax) -> Result<AddStep, Problem> {
        let add = s.add.expect("kind");
        let p = pos(&add);
        let a = add.value;
        let source = match (a.url, a.git) {
            (Some(url), None) => {
                if a.git_ref.is_some() || a.keep_git_dir.is_some() {
                    return Err(Problem::new(
                        p,
                        "`ref` and `keep_git_dir` go with `git`, not `url`",
                    )
                    .hint("remove them, or use `git:` for a repository"));
                }
                AddSource::Url {
                    url: located(url),
                    checksum: a.checksum.map(located),
                }
            }
            (None, Some(git)) => {
                if let Some(checksum) = &a.checksum {
                    return Err(Problem::new(
                        pos(checksum),
                        "`checksum` goes with `url`, not `git`",
                    )
                    .hint("remove it; to pin a repository, set `ref:` to a commit"));
                }
                AddSource::Git {
                    remote: located(git),
                    reference: a.git_ref.map(located),
                    keep_git_dir: a.keep_git_dir.unwrap_or(false),
                }
            }
            (Some(_), Some(_)) => {
                return Err(Problem::new(p, "`add` has both `url` and `git`")
                    .hint("an `add` step adds one thing; split it into two steps"))
            }
            (None, None) => {
                return Err(Problem::new(p, "`add` needs `url` or `git`").hint(
                    "add `url: https://…` to download a file, or `git: https://…` to clone a repository",
                ))
            }
        };
        Ok(AddStep {
            source,
            to: s.to.map(located),
            chown: s.chown.map(located),
            chmod: s.chmod.map(|m| m.value.0),
        })
    }
}

/// `libraries: true` copies each file to its own path, from a stage: the
/// options that place or change files do not go with it.
fn libraries_alone(s: &StepSyntax) -> Result<(), Problem> {
    let at = s.libraries.as_ref().map(pos).unwrap_or_default();
    if s.from.is_none() {
        return Err(Problem::new(at, "`libraries: true` needs `from:`")
            .hint("name the stage the programs were built in, e.g. `from: build`"));
    }
    let others = [
        ("to", s.to.as_ref().map(pos)),
        ("include", s.include.as_ref().map(|_| at)),
        ("exclude", s.exclude.as_ref().map(|_| at)),
        ("parents", s.parents.as_ref().map(pos)),
        ("chown", s.chown.as_ref().map(pos)),
        ("chmod", s.chmod.as_ref().map(pos)),
        ("link", s.link.as_ref().map(pos)),
    ];
    if let Some((name, Some(p))) = others.into_iter().find(|(_, p)| p.is_some()) {
        return Err(Problem::new(
            p,
            format!("`{name}` does not go with `libraries: true`"),
        )
        .hint("with `libraries: true` each program and library lands at its own path, as the loader looks for it there; copy it elsewhere in a second step"));
    }
    Ok(())
}

/// Which of `run`, `copy`, … the step is: exactly one.
fn step_kind(s: &StepSyntax, p: Pos) -> Result<&'static str, Problem> {
    let present: Vec<&'static str> = [
        ("run", s.run.is_some()),
        ("copy", s.copy.is_some()),
        ("add", s.add.is_some()),
        ("mkdir", s.mkdir.is_some()),
        ("write", s.write.is_some()),
        ("remove", s.remove.is_some()),
        ("parallel", s.parallel.is_some()),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| *k)
    .collect();
    match present.as_slice() {
        [kind] => Ok(kind),
        [] => Err(Problem::new(
            p,
            "a step needs one of `run`, `copy`, `add`, `mkdir`, `write`, `remove`, `parallel`",
        )
        .hint(no_kind_hint(&option_names(s)))),
        [a, b, ..] => Err(Problem::new(
            p,
            format!("a step does one thing; this one has both `{a}` and `{b}`"),
        )
        .hint("split it into two steps")),
    }
}

fn no_two_mounts_at_one_target(mounts: &[Mount]) -> Result<(), Problem> {
    let mut targets = BTreeMap::new();
    for m in mounts {
        let target = match &m.kind {
            MountKind::Cache { target, .. }
            | MountKind::Tmpfs { target, .. }
            | MountKind::Bind { target, .. } => Some(target),
            MountKind::Secret { target, .. } | MountKind::Ssh { target, .. } => target.as_ref(),
        };
        let Some(t) = target else { continue };
        if let Some(first) = targets.insert(t.value.clone(), m.pos) {
            return Err(
                Problem::new(m.pos, format!("two mounts at `{}`", t.value)).hint(format!(
                    "the first is at line {}; remove one or give it another target",
                    first.line
                )),
            );
        }
    }
    Ok(())
}

fn paths(s: Spanned<syntax::OneOrMany>, kind: &str) -> Result<Vec<Located<String>>, Problem> {
    let p = pos(&s);
    if s.value.0.is_empty() {
        return Err(Problem::new(p, format!("`{kind}` needs at least one path"))
            .hint(format!("e.g. `{kind}: [a.txt, dir/]`, or remove the step")));
    }
    Ok(s.value.0.into_iter().map(|v| Located::new(v, p)).collect())
}

fn option_names(s: &StepSyntax) -> Vec<&'static str> {
    set_options(s, Pos::default())
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// The options set on a step, with where each was written.
fn set_options(s: &StepSyntax, step_pos: Pos) -> Vec<(&'static str, Pos)> {
    fn at<T>(name: &'static str, v: &Option<Spanned<T>>) -> Option<(&'static str, Pos)> {
        v.as_ref().map(|v| (name, pos(v)))
    }
    let list_at = |name: &'static str, v: &Option<Vec<Spanned<String>>>| {
        v.as_ref()
            .map(|l| (name, l.first().map(pos).unwrap_or(step_pos)))
    };
    let map_at = |name: &'static str, v: &Option<syntax::Map<Spanned<String>>>| {
        v.as_ref()
            .map(|m| (name, m.0.first().map(|(k, _)| pos(k)).unwrap_or(step_pos)))
    };
    [
        map_at("env", &s.env),
        at("workdir", &s.workdir),
        at("user", &s.user),
        at("network", &s.network),
        at("security", &s.security),
        s.mounts
            .as_ref()
            .map(|m| ("mounts", m.first().map(pos).unwrap_or(step_pos))),
        list_at("cache", &s.cache),
        at("from", &s.from),
        at("to", &s.to),
        list_at("include", &s.include),
        list_at("exclude", &s.exclude),
        at("parents", &s.parents),
        at("chown", &s.chown),
        at("chmod", &s.chmod),
        at("link", &s.link),
        at("libraries", &s.libraries),
        at("content", &s.content),
        at("mode", &s.mode),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn no_kind_hint(options: &[&str]) -> String {
    let kinds: Vec<&str> = STEP_KINDS
        .iter()
        .copied()
        .filter(|k| options.iter().all(|o| options_of(k).contains(o)))
        .collect();
    let listed = options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match kinds.first() {
        Some(kind) if !options.is_empty() => {
            format!("this step has only {listed}; add what it does, e.g. `{kind}: …`")
        }
        _ if options.is_empty() => "add what the step does, e.g. `run: make`".to_string(),
        _ => format!("this step has only {listed}; add what it does, e.g. `run: make`"),
    }
}
