//! Rules for apt in `run` steps: what it installs, what it leaves in the
//! layer, and how its cache mounts are shared.

use crate::lint::shell::{apt_updates, installs};
use crate::lint::{Context, Found, Rule};
use crate::spec::{CacheSharing, Command, MountKind, RunStep, Step, StepKind};

pub const APT_INSTALL_RECOMMENDS: Rule = Rule {
    name: "AptInstallRecommends",
    description: "`apt-get install` should pass `--no-install-recommends`",
    check: apt_install_recommends,
};

pub const APT_LISTS_IN_LAYER: Rule = Rule {
    name: "AptListsInLayer",
    description: "`apt-get update` should not leave package lists in the layer",
    check: apt_lists_in_layer,
};

pub const APT_CACHE_NOT_LOCKED: Rule = Rule {
    name: "AptCacheNotLocked",
    description: "Cache mounts of apt's directories should be `sharing: locked`",
    check: apt_cache_not_locked,
};

/// Every string-form `run` step of every stage, with its command.
fn run_steps<'a>(cx: &'a Context) -> impl Iterator<Item = (&'a Step, &'a RunStep, &'a str)> + 'a {
    cx.stages().flat_map(|stage| {
        stage
            .leaf_steps()
            .into_iter()
            .filter_map(|step| match &step.kind {
                StepKind::Run(run) => match &run.command {
                    Command::Shell(script) => Some((step, run, script.as_str())),
                    Command::Exec(_) => None,
                },
                _ => None,
            })
    })
}

fn apt_install_recommends(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for (step, _, script) in run_steps(cx) {
        for install in installs(script) {
            let apt = matches!(install.manager.as_str(), "apt-get" | "apt");
            let without = !install.options.iter().any(|o| {
                o == "--no-install-recommends"
                    || o.eq_ignore_ascii_case("APT::Install-Recommends=false")
                    || o.eq_ignore_ascii_case("APT::Install-Recommends=0")
            });
            if apt && without {
                let written = format!("{} install", install.manager);
                let pos = cx.find(&written, step.lines.start, step.lines.end, step.pos);
                found.push(Found::new(
                    pos,
                    format!(
                        "`{} install` without `--no-install-recommends` also installs every \
                         package recommended by {}",
                        install.manager,
                        install.packages.join(", ")
                    ),
                    "add `--no-install-recommends` and list what you need",
                ));
            }
        }
    }
    found
}

/// apt's directories: lists from `apt-get update`, downloaded packages.
const APT_LISTS: &str = "/var/lib/apt/lists";
const APT_DIRS: &[&str] = &["/var/cache/apt", "/var/lib/apt"];

fn under(path: &str, dir: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == dir || path.starts_with(&format!("{dir}/"))
}

/// `apt-get update` whose lists (tens of MB) stay in the step's layer: no
/// cache or tmpfs mount holds them, and the same command does not remove
/// them (a later step cannot: the layer already has them).
fn apt_lists_in_layer(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for (step, run, script) in run_steps(cx) {
        if !apt_updates(script) {
            continue;
        }
        let mounted = run.mounts.iter().any(|m| match &m.kind {
            MountKind::Cache { target, .. } | MountKind::Tmpfs { target, .. } => {
                under(APT_LISTS, target.value.trim_end_matches('/'))
            }
            _ => false,
        });
        let removed = crate::lint::shell::commands(script).iter().any(|c| {
            c.words.first().is_some_and(|w| w == "rm")
                && c.words.iter().any(|w| w.starts_with(APT_LISTS))
        });
        if !mounted && !removed {
            let pos = cx.find("apt-get update", step.lines.start, step.lines.end, step.pos);
            let pos = match pos == step.pos {
                true => cx.find("apt update", step.lines.start, step.lines.end, step.pos),
                false => pos,
            };
            found.push(Found::new(
                pos,
                "`apt-get update` leaves its package lists in the image's layer",
                "mount a cache on them (`mounts: [{type: cache, target: /var/lib/apt/lists, \
                 sharing: locked}]`), or end the same command with `&& rm -rf /var/lib/apt/lists/*`",
            ));
        }
    }
    found
}

/// Cache mounts at apt's directories that concurrent builds may share:
/// apt takes a lock in them, and a second build fails with "Could not
/// get lock" (or corrupts the lists with `private` copies mixed in).
fn apt_cache_not_locked(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for (_, run, _) in run_steps(cx) {
        for mount in &run.mounts {
            let MountKind::Cache {
                target, sharing, ..
            } = &mount.kind
            else {
                continue;
            };
            let apt = APT_DIRS.iter().any(|d| under(&target.value, d));
            if apt && *sharing != CacheSharing::Locked {
                let how = if mount.shorthand {
                    "`cache:` paths are shared"
                } else {
                    "this cache is not locked"
                };
                found.push(Found::new(
                    target.pos,
                    format!(
                        "{how}: apt cannot use `{}` from two builds at once",
                        target.value
                    ),
                    format!(
                        "write it as `mounts: [{{type: cache, target: {}, sharing: locked}}]`",
                        target.value
                    ),
                ));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    const HEAD: &str = "version: 1\nstages:\n  app:\n    from: debian:12\n    steps:\n";

    #[test]
    fn install_without_no_install_recommends() {
        let yaml = format!("{HEAD}      - run: apt-get update && apt-get install -y curl\n      - run: apt-get install -y --no-install-recommends curl\n      - run: apt install -o APT::Install-Recommends=false curl\n");
        let found = run(&APT_INSTALL_RECOMMENDS, &yaml);
        assert_eq!(at(&found), vec!["6:32"]);
        assert!(found[0].message.contains("curl"));
    }

    #[test]
    fn lists_left_in_the_layer() {
        let yaml = format!(
            "{HEAD}      - run: apt-get update && apt-get install -y --no-install-recommends curl\n      - run: apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*\n      - run: apt-get update\n        cache: [/var/lib/apt/lists]\n      - run: apt-get update\n        mounts: [{{type: tmpfs, target: /var/lib/apt}}]\n"
        );
        assert_eq!(at(&run(&APT_LISTS_IN_LAYER, &yaml)), vec!["6:14"]);
    }

    #[test]
    fn apt_caches_must_be_locked() {
        let yaml = format!(
            "{HEAD}      - run: apt-get update\n        cache: [/var/lib/apt/lists]\n        mounts:\n          - {{type: cache, target: /var/cache/apt, sharing: locked}}\n          - {{type: cache, target: /var/cache/apt/archives}}\n          - {{type: cache, target: /root/.cache}}\n"
        );
        assert_eq!(
            at(&run(&APT_CACHE_NOT_LOCKED, &yaml)),
            vec!["7:17", "10:35"]
        );
    }
}
