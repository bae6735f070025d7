//! Mounts a step cannot use as written.

use crate::lint::context::is_root;
use crate::lint::{Context, Found, Rule};
use crate::spec::{MountKind, StepKind};

pub const CACHE_MOUNT_NOT_WRITABLE: Rule = Rule {
    name: "CacheMountNotWritable",
    description: "A cache mount of a step that runs as another user than root should give it the cache (`uid`)",
    check: cache_mount_not_writable,
};

/// A new cache directory belongs to root with mode 0755, as BuildKit
/// makes it; a step running as another user cannot write to it unless
/// the mount says whose it is.
fn cache_mount_not_writable(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for stage in cx.stages() {
        let stage_user = cx.step_user(stage);
        for step in stage.leaf_steps() {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            let Some(user) = run.user.as_ref().or(stage_user) else {
                continue;
            };
            if is_root(&user.value) || user.value.is_empty() {
                continue;
            }
            for mount in &run.mounts {
                let MountKind::Cache {
                    target,
                    owner,
                    readonly: false,
                    ..
                } = &mount.kind
                else {
                    continue;
                };
                if owner.uid.is_none() {
                    let uid = user.value.split(':').next().unwrap_or_default();
                    let uid = if uid.bytes().all(|b| b.is_ascii_digit()) {
                        uid
                    } else {
                        "<uid of the user>"
                    };
                    found.push(Found::new(
                        target.pos,
                        format!(
                            "the step runs as `{}`, but the cache at `{}` is created for root: the step cannot write to it",
                            user.value, target.value
                        ),
                        format!("give the mount its owner: `{{type: cache, target: {}, uid: {uid}}}`", target.value),
                    ));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn cache_of_a_non_root_step_needs_an_owner() {
        let yaml = "version: 1\nstages:\n  base:\n    from: debian:12\n    user: \"1000\"\n  app:\n    from: base\n    steps:\n      - run: make\n        cache: [/home/u/.cache]\n      - run: make\n        mounts: [{type: cache, target: /c, uid: 1000}]\n      - run: make\n        user: root\n        cache: [/root/.cache]\n      - run: make\n        mounts: [{type: cache, target: /c, readonly: true}]\n";
        let found = run(&CACHE_MOUNT_NOT_WRITABLE, yaml);
        assert_eq!(at(&found), vec!["10:17"]);
        assert!(found[0].hint.contains("uid: 1000"), "{}", found[0].hint);
    }
}
