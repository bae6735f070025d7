//! Rules about stages as a whole: ones nothing builds, working
//! directories that depend on an unseen base, platforms said twice.

use std::collections::BTreeSet;

use crate::lint::context::Bottom;
use crate::lint::{Context, Found, Rule};
use crate::resolve::Source;

pub const UNUSED_STAGE: Rule = Rule {
    name: "UnusedStage",
    description: "Every stage should be built: be the target, be used by a stage that is, or be described as a target",
    check: unused_stage,
};

pub const WORKDIR_RELATIVE_PATH: Rule = Rule {
    name: "WorkdirRelativePath",
    description: "A working directory should be absolute unless a stage below sets one",
    check: workdir_relative_path,
};

pub const REDUNDANT_TARGET_PLATFORM: Rule = Rule {
    name: "RedundantTargetPlatform",
    description: "`platform: ${TARGETPLATFORM}` is the default and can be left out",
    check: redundant_target_platform,
};

/// Stages not reached from the default target, the requested one, or a
/// stage with a `description` (listed by `--call targets` as something
/// to build).
fn unused_stage(cx: &Context) -> Vec<Found> {
    let mut reached = BTreeSet::new();
    let mut todo: Vec<&str> = vec![cx.spec.default_target(), cx.target()];
    todo.extend(
        cx.spec
            .stages
            .iter()
            .filter(|s| s.description.is_some())
            .map(|s| s.name.as_str()),
    );
    while let Some(name) = todo.pop() {
        if !reached.insert(name) {
            continue;
        }
        for reference in cx.build.stage(name).references() {
            if let Source::Stage(used) = cx.source(reference) {
                todo.push(used);
            }
        }
    }
    cx.stages()
        .filter(|s| !reached.contains(s.name.as_str()))
        .map(|s| {
            Found::new(
                s.pos,
                format!(
                    "stage `{}` is not the target (`{}`) and no stage that is built uses it",
                    s.name,
                    cx.spec.default_target()
                ),
                format!(
                    "remove it, use it (`from: {}`), or give it a `description` if it is a \
                     target of its own (`--target {}`)",
                    s.name, s.name
                ),
            )
        })
        .collect()
}

/// A relative `workdir` (of a stage or its image) with no absolute one
/// below it in the stage's chain: it is joined to the base image's
/// working directory, which the spec does not show.
fn workdir_relative_path(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for stage in cx.stages() {
        let chain = cx.chain(&stage.name);
        let below_is_set = chain[1..].iter().any(|n| {
            let s = cx.build.stage(n);
            s.workdir.is_some() || s.image.workdir.is_some()
        }) || cx.bottom(&chain) == Bottom::Scratch;
        let mut set = below_is_set;
        for workdir in [&stage.workdir, &stage.image.workdir].into_iter().flatten() {
            if !set && !workdir.value.starts_with('/') {
                found.push(Found::new(
                    workdir.pos,
                    format!(
                        "`workdir: {}` is relative to the base image's working directory",
                        workdir.value
                    ),
                    format!(
                        "write an absolute path, e.g. `/{}`",
                        workdir.value.trim_start_matches("./")
                    ),
                ));
            }
            set = true;
        }
    }
    found
}

fn redundant_target_platform(cx: &Context) -> Vec<Found> {
    cx.spec
        .stages
        .iter()
        .filter_map(|s| s.platform.as_ref())
        .filter(|p| matches!(p.value.trim(), "${TARGETPLATFORM}" | "$TARGETPLATFORM"))
        .map(|p| {
            Found::new(
                p.pos,
                "`platform: ${TARGETPLATFORM}` is what a stage runs on anyway",
                "remove the `platform:` line",
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn a_stage_nothing_builds_is_unused() {
        let yaml = "version: 1\nstages:\n  old:\n    from: scratch\n  tool:\n    from: scratch\n    description: built on its own\n  lib:\n    from: scratch\n  app:\n    from: lib\n";
        let found = run(&UNUSED_STAGE, yaml);
        assert_eq!(at(&found), vec!["3:3"]);
        assert!(found[0].message.contains("`old`"), "{}", found[0].message);
    }

    #[test]
    fn a_stage_used_only_by_an_unused_stage_is_unused() {
        let yaml = "version: 1\nstages:\n  a:\n    from: scratch\n  b:\n    from: a\n  app:\n    from: scratch\n";
        assert_eq!(at(&run(&UNUSED_STAGE, yaml)), vec!["3:3", "5:3"]);
    }

    #[test]
    fn a_relative_workdir_is_flagged_only_over_an_unseen_base() {
        let yaml = "version: 1\nstages:\n  a:\n    from: debian:12\n    workdir: src\n  b:\n    from: a\n    workdir: sub\n    image: {workdir: x}\n  c:\n    from: debian:12\n    workdir: /abs\n    image: {workdir: rel}\n";
        assert_eq!(at(&run(&WORKDIR_RELATIVE_PATH, yaml)), vec!["5:14"]);
    }

    #[test]
    fn target_platform_is_redundant() {
        let yaml = "version: 1\nstages:\n  a:\n    from: scratch\n    platform: ${TARGETPLATFORM}\n  b:\n    from: scratch\n    platform: ${BUILDPLATFORM}\n";
        assert_eq!(at(&run(&REDUNDANT_TARGET_PLATFORM, yaml)), vec!["5:15"]);
    }
}
