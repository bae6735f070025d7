//! RUN → a `run` step: shell or exec form, heredocs, mounts, network and
//! security.

use super::assemble::{RunCommand, RunInfo, StepKind};
use super::copy::chomp;
use super::parse::{heredoc_word, Heredoc, Instruction};
use super::words::json_array;
use super::yaml::{Item, Node};
use super::{Converter, StageBuild};
use crate::spec::error::Problem;

/// A step's options other than its mounts, in order.
type StepOptions = Vec<(String, Node)>;

/// Where the Dockerfile frontend mounts a heredoc script that starts with `#!`.
const PIPES: &str = "/dev/pipes";

impl Converter {
    pub fn run(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        let (mut extra, mut mounts) = self.run_flags(stage, i)?;
        let command = self.run_command(stage, i, &mut mounts)?;
        check_mount_targets(i, &mounts)?;
        if !mounts.is_empty() {
            extra.push(("mounts".into(), Node::List(mounts)));
        }
        if stage.out.first_run.is_none() {
            stage.out.first_run = Some(stage.state.clone());
        }
        let info = RunInfo {
            command,
            state: stage.state.clone(),
            extra,
        };
        stage.out.push_step(i, StepKind::Run(Box::new(info)));
        Ok(())
    }

    /// `--network` and `--security` as step options, and the mounts.
    fn run_flags(
        &self,
        stage: &StageBuild,
        i: &Instruction,
    ) -> Result<(StepOptions, Vec<Item>), Problem> {
        let flags = self.flags(i, &[("mount", true), ("network", true), ("security", true)])?;
        let mut extra = Vec::new();
        let mut mounts = Vec::new();
        for flag in &flags {
            let value = flag.value.clone().unwrap_or_default();
            match flag.name.as_str() {
                "mount" => mounts.push(Item::flow(self.mount(stage, flag)?)),
                "network" if matches!(value.as_str(), "default" | "none" | "host") => {
                    extra.push(("network".into(), Node::str(value)))
                }
                "security" if matches!(value.as_str(), "sandbox" | "insecure") => {
                    extra.push(("security".into(), Node::str(value)))
                }
                name => {
                    let hint = if name == "network" {
                        "write default, none or host"
                    } else {
                        "write sandbox or insecure"
                    };
                    return Err(
                        Problem::new(flag.pos, format!("invalid --{name} `{value}`")).hint(hint),
                    );
                }
            }
        }
        Ok((extra, mounts))
    }

    /// The command as the Dockerfile frontend runs it: shell or exec form;
    /// a heredoc alone is the script, run by the shell or, with `#!`, as a
    /// file (mounted from a helper stage); heredocs in a command line are
    /// handed to the shell with the line.
    fn run_command(
        &mut self,
        stage: &mut StageBuild,
        i: &Instruction,
        mounts: &mut Vec<Item>,
    ) -> Result<RunCommand, Problem> {
        let empty = |pos| {
            Problem::new(pos, "empty RUN command")
                .hint("write the command to run, or remove the RUN")
        };
        let command = match i.heredocs.as_slice() {
            [] => match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
                Some(list) if list.is_empty() => return Err(empty(i.rest_pos)),
                Some(list) => RunCommand::Exec(list),
                None => RunCommand::Shell(i.rest.clone()),
            },
            [doc] if heredoc_word(&i.rest).is_some() => {
                let data = if doc.chomp {
                    chomp(&doc.content)
                } else {
                    doc.content.clone()
                };
                if data.starts_with("#!") {
                    let helper = self.script_stage(stage, doc, &data);
                    let mut bind = Node::map();
                    bind.set("type", Node::str("bind"));
                    bind.set("from", Node::str(helper));
                    bind.set("source", Node::str("/"));
                    bind.set("target", Node::str(PIPES));
                    mounts.push(Item::flow(bind));
                    RunCommand::Exec(vec![format!("{PIPES}/{}", doc.name)])
                } else {
                    RunCommand::Shell(data)
                }
            }
            docs => {
                let mut text = i.rest.clone();
                for doc in docs {
                    text.push('\n');
                    text.push_str(&doc.content);
                    text.push_str(&doc.name);
                }
                RunCommand::Shell(text)
            }
        };
        match &command {
            RunCommand::Shell(text) if text.trim().is_empty() => Err(empty(i.pos)),
            _ => Ok(command),
        }
    }

    /// A stage holding a heredoc script, mounted where the Dockerfile
    /// frontend mounts it; returns its name.
    fn script_stage(&mut self, stage: &mut StageBuild, doc: &Heredoc, data: &str) -> String {
        self.helpers += 1;
        let name = format!("{}-script-{}", stage.out.name, self.helpers);
        let mut write = Node::map();
        write.set("write", Node::str(format!("/{}", doc.name)));
        write.set("content", Node::str(data.replace('$', "$$")));
        write.set("mode", Node::str("0755"));
        let mut node = Node::map();
        node.set("from", Node::str("scratch"));
        node.set("steps", Node::List(vec![super::yaml::Item::new(write)]));
        stage.out.helpers.push((name.clone(), node));
        name
    }
}

/// Two mounts at one target are an error in a spec (and in BuildKit).
fn check_mount_targets(i: &Instruction, mounts: &[Item]) -> Result<(), Problem> {
    let mut targets = Vec::new();
    for mount in mounts {
        let Node::Map(entries) = &mount.value else {
            continue;
        };
        if let Some(Node::Str(t)) = entries.iter().find(|e| e.key == "target").map(|e| &e.value) {
            if targets.contains(t) {
                return Err(Problem::new(i.pos, format!("two mounts at `{t}`"))
                    .hint("give each mount its own target"));
            }
            targets.push(t.clone());
        }
    }
    Ok(())
}
