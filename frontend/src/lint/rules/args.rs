//! Declared args that nothing reads.

use std::collections::BTreeSet;

use crate::lint::{Context, Found, Rule};
use crate::spec::args::mentioned;
use crate::spec::{fields, StepKind};

pub const UNUSED_ARG: Rule = Rule {
    name: "UnusedArg",
    description: "Every declared arg should be used by a field or a `run` command",
    check: unused_arg,
};

/// Args that no field that takes args (`${NAME}`) and no `run` command
/// (`$NAME`) of any stage mentions. Image commands (`entrypoint`, `cmd`)
/// do not count: args do not reach the running container.
fn unused_arg(cx: &Context) -> Vec<Found> {
    let declared: Vec<&str> = cx.spec.args.iter().map(|a| a.name.as_str()).collect();
    let mut used = BTreeSet::new();
    for stage in &cx.spec.stages {
        // The walk takes a stage it may change; this one only reads.
        let mut written = stage.clone();
        let _ = fields::each_arg_text(&mut written, &mut |_, text| {
            used.extend(mentioned(&text.value, declared.iter().copied()));
            Ok(())
        });
        for step in stage.leaf_steps() {
            if let StepKind::Run(run) = &step.kind {
                used.extend(mentioned(&run.command.text(), declared.iter().copied()));
            }
        }
    }
    cx.spec
        .args
        .iter()
        .filter(|a| !used.contains(&a.name))
        .map(|a| {
            Found::new(
                a.pos,
                format!("arg `{}` is declared but never used", a.name),
                format!(
                    "remove it, or use it: `${{{0}}}` in a field, `${0}` in a `run` command",
                    a.name
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn args_used_in_fields_or_commands_are_used() {
        let yaml = "version: 1\nargs:\n  TAG: \"12\"\n  V: \"1\"\n  NAME: x\n  UNUSED: y\n  IN_CMD: z\nstages:\n  app:\n    from: debian:${TAG}\n    env: {N: \"${NAME:-${V}}\"}\n    steps:\n      - run: echo $V\n    image:\n      cmd: [echo, $IN_CMD]\n";
        let found = run(&UNUSED_ARG, yaml);
        assert_eq!(at(&found), vec!["6:3", "7:3"]);
        assert!(found[0].message.contains("`UNUSED`"));
    }
}
