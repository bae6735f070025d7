//! Converted stages → the spec's YAML tree.
//!
//! A spec's stage-level `workdir`, `env` and `user` hold for every step and
//! the image, where a Dockerfile's WORKDIR, ENV and USER change mid-stage.
//! So the stage level gets the state at the stage's first RUN (the only
//! step kind they affect: other steps get absolute paths), later RUN steps
//! get per-step `workdir`/`user`/`env` where they differ, and the `image:`
//! section gets the final values.

use std::collections::{BTreeMap, BTreeSet};

use super::state::{StageState, DEFAULT_SHELL};
use super::words::Value;
use super::yaml::{Item, Node};
use super::Warning;
use crate::spec::args::{mentioned, BUILTIN_ARGS};
use crate::spec::error::Problem;
use crate::spec::Pos;

#[derive(Debug, Clone)]
pub struct OutStage {
    pub name: String,
    pub from: String,
    pub pos: Pos,
    pub platform: Option<String>,
    pub comments: Vec<String>,
    pub steps: Vec<OutStep>,
    pub image: ImageOut,
    /// The state at the first RUN step.
    pub first_run: Option<StageState>,
    pub end: Option<StageState>,
    /// Comments of instructions that made nothing to attach them to yet.
    pub pending_comments: Vec<String>,
    /// Stages this one needs that the converter made (heredoc scripts).
    pub helpers: Vec<(String, Node)>,
    pub warned_owner: bool,
}

impl OutStage {
    pub fn new(
        name: String,
        from: String,
        platform: Option<String>,
        comments: Vec<String>,
        pos: Pos,
    ) -> OutStage {
        OutStage {
            name,
            from,
            pos,
            platform,
            comments,
            steps: Vec::new(),
            image: ImageOut::default(),
            first_run: None,
            end: None,
            pending_comments: Vec::new(),
            helpers: Vec::new(),
            warned_owner: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImageOut {
    pub entrypoint: Option<Cmd>,
    pub cmd: Option<Cmd>,
    pub expose: Vec<String>,
    /// key, value, comments.
    pub labels: Vec<(String, String, Vec<String>)>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Node>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Exec(Vec<String>),
    /// Shell form, with the Dockerfile's shell at that point.
    Shell {
        text: String,
        shell: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct OutStep {
    pub comments: Vec<String>,
    pub pos: Pos,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Run(Box<RunInfo>),
    /// A copy whose `to` is decided with the stage's workdir: inserted at
    /// `to_at` among `entries`.
    Copy {
        entries: Vec<(String, Node)>,
        to_at: usize,
        dest: Dest,
    },
    Node(Node),
    Nodes(Vec<Node>),
}

#[derive(Debug, Clone)]
pub enum RunCommand {
    Shell(String),
    Exec(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct RunInfo {
    pub command: RunCommand,
    /// The stage's state when the step runs.
    pub state: StageState,
    /// network, security, mounts.
    pub extra: Vec<(String, Node)>,
}

#[derive(Debug, Clone)]
pub struct Dest {
    /// As written (expanded).
    pub written: Value,
    pub absolute: Option<Value>,
    /// The working directory when the copy runs.
    pub workdir: Option<Value>,
    pub pos: Pos,
}

/// The whole spec.
pub fn spec(
    args: &BTreeMap<String, (String, Pos)>,
    stages: &[(Option<String>, OutStage, StageState)],
    warnings: &mut Vec<Warning>,
) -> Result<Node, Problem> {
    let mut root = Node::map();
    root.set("version", Node::Raw("1".into()));
    if !args.is_empty() {
        let mut map = Node::map();
        for (name, (default, _)) in args {
            map.set(name, Node::str(default));
        }
        root.set("args", map);
    }
    let declared: BTreeSet<&str> = args
        .keys()
        .map(String::as_str)
        .chain(BUILTIN_ARGS.iter().copied())
        .collect();
    let mut map = Node::map();
    for (_, out, _) in stages {
        for (name, helper) in &out.helpers {
            map.set(name, helper.clone());
        }
        let node = stage(out, &declared, warnings)?;
        map.set_commented(&out.name, node, out.comments.clone());
    }
    root.set("stages", map);
    Ok(root)
}

fn shell_of(state: &StageState) -> Vec<String> {
    state.shell.clone()
}

fn default_shell() -> Vec<String> {
    DEFAULT_SHELL.map(String::from).to_vec()
}

fn stage(
    out: &OutStage,
    declared: &BTreeSet<&str>,
    warnings: &mut Vec<Warning>,
) -> Result<Node, Problem> {
    let end = out.end.as_ref().expect("finished stages have an end state");
    let level = out.first_run.as_ref().unwrap_or(end);
    check_env_refs(out, declared)?;
    let mut node = Node::map();
    node.set("from", Node::str(&out.from));
    if let Some(p) = &out.platform {
        node.set("platform", Node::str(p));
    }
    if level.workdir_here {
        if let Some(w) = &level.workdir {
            node.set("workdir", Node::str(w.spec_text()));
        }
    }
    let stage_env = env_here(level, None);
    if !stage_env.is_empty() {
        node.set("env", env_map(&stage_env));
    }
    if level.user_here {
        if let Some(u) = &level.user {
            node.set("user", Node::str(u.spec_text()));
        }
    }
    let spec_shell = shell_of(level);
    if spec_shell != default_shell() {
        node.set("shell", Node::strs(&spec_shell));
    }
    let mut steps = Vec::new();
    for step in &out.steps {
        let comments = step.comments.clone();
        let nodes = match &step.kind {
            StepKind::Run(info) => {
                vec![run(info, level, &spec_shell, declared, step.pos, warnings)]
            }
            StepKind::Copy {
                entries,
                to_at,
                dest,
            } => vec![copy(entries, *to_at, dest, level)?],
            StepKind::Node(n) => vec![n.clone()],
            StepKind::Nodes(ns) => ns.clone(),
        };
        for (n, value) in nodes.into_iter().enumerate() {
            let comments = if n == 0 { comments.clone() } else { Vec::new() };
            steps.push(Item {
                value,
                comments,
                flow: false,
            });
        }
    }
    if !steps.is_empty() {
        node.set("steps", Node::List(steps));
    }
    let image = image(out, level, end, &spec_shell);
    if !matches!(&image, Node::Map(m) if m.is_empty()) {
        node.set_commented("image", image, out.pending_comments.clone());
    }
    Ok(node)
}

/// An env value that refers to a variable of the base image by a name
/// that is also a build arg: the spec would substitute the arg there.
fn check_env_refs(out: &OutStage, declared: &BTreeSet<&str>) -> Result<(), Problem> {
    let states = out.steps.iter().filter_map(|s| match &s.kind {
        StepKind::Run(info) => Some(&info.state),
        _ => None,
    });
    for state in states.chain(out.end.iter()) {
        for var in state.env.iter().filter(|v| v.here) {
            if let Some(name) = var
                .value
                .env_refs()
                .into_iter()
                .find(|n| declared.contains(n.as_str()))
            {
                return Err(Problem::new(
                    out.pos,
                    format!("ENV `{}` refers to `${name}` of the base image, but `{name}` is also a build arg, which a spec would substitute instead", var.name),
                )
                .hint(format!("rename the build arg `{name}`")));
            }
        }
    }
    Ok(())
}

/// Variables set by this stage's ENVs, in the order they were first set;
/// those equal in `except` left out.
fn env_here(state: &StageState, except: Option<&[(String, Value)]>) -> Vec<(String, Value)> {
    let mut vars: Vec<_> = state.env.iter().filter(|v| v.here).collect();
    vars.sort_by_key(|v| v.order);
    vars.into_iter()
        .map(|v| (v.name.clone(), v.value.clone()))
        .filter(|pair| except.is_none_or(|e| !e.contains(pair)))
        .collect()
}

fn env_map(vars: &[(String, Value)]) -> Node {
    let mut map = Node::map();
    for (name, value) in vars {
        map.set(name, Node::str(value.spec_text()));
    }
    map
}

fn command_node(text: &str, shell: &[String], spec_shell: &[String]) -> Node {
    if shell == spec_shell {
        Node::str(text)
    } else {
        let mut list = shell.to_vec();
        list.push(text.to_string());
        Node::strs(&list)
    }
}

fn run(
    info: &RunInfo,
    level: &StageState,
    spec_shell: &[String],
    declared: &BTreeSet<&str>,
    pos: Pos,
    warnings: &mut Vec<Warning>,
) -> Node {
    let state = &info.state;
    let mut node = Node::map();
    let command_text = match &info.command {
        RunCommand::Shell(text) => {
            node.set("run", command_node(text, &state.shell, spec_shell));
            text.clone()
        }
        RunCommand::Exec(list) => {
            node.set("run", Node::strs(list));
            list.join(" ")
        }
    };
    if state.workdir != level.workdir {
        if let Some(w) = &state.workdir {
            node.set("workdir", Node::str(w.spec_text()));
        }
    }
    if state.user != level.user {
        if let Some(u) = &state.user {
            node.set("user", Node::str(u.spec_text()));
        }
    }
    let mut env: Vec<(String, String)> = env_here(state, Some(&env_here(level, None)))
        .into_iter()
        .map(|(n, v)| (n, v.spec_text()))
        .collect();
    // The Dockerfile gives a RUN every build arg in scope; the spec gives
    // it the args its command mentions.
    let mentions = mentioned(&command_text, declared.iter().copied());
    for arg in &state.args {
        if arg.has_value && state.env_var(&arg.name).is_none() && !mentions.contains(&arg.name) {
            env.push((arg.name.clone(), format!("${{{}}}", arg.name)));
        }
    }
    for name in &mentions {
        let in_scope = state.arg(name).is_some_and(|a| a.has_value);
        if !in_scope && state.env_var(name).is_none() && state.arg(name).is_none() {
            warnings.push(Warning {
                pos,
                message: format!("`${name}` is no build arg in this stage (no `ARG {name}`), so the Dockerfile leaves it unset; the converted step sets it to \"\""),
            });
            env.push((name.clone(), String::new()));
        }
    }
    if !env.is_empty() {
        let mut map = Node::map();
        for (name, value) in env {
            map.set(&name, Node::str(value));
        }
        node.set("env", map);
    }
    for (key, value) in &info.extra {
        node.set(key, value.clone());
    }
    node
}

fn copy(
    entries: &[(String, Node)],
    to_at: usize,
    dest: &Dest,
    level: &StageState,
) -> Result<Node, Problem> {
    let to = if dest.written.starts_with_slash() {
        Some(dest.written.spec_text())
    } else if dest.workdir == level.workdir {
        match dest.written.literal().as_deref() {
            Some("./") => None,
            _ => Some(dest.written.spec_text()),
        }
    } else {
        match &dest.absolute {
            Some(abs) => Some(abs.spec_text()),
            None => {
                return Err(Problem::new(dest.pos, "this destination is relative to the base image's working directory, which the converter cannot know")
                    .hint("write an absolute destination"))
            }
        }
    };
    let mut node = Node::map();
    for (n, (key, value)) in entries.iter().enumerate() {
        if n == to_at {
            if let Some(t) = &to {
                node.set("to", Node::str(t));
            }
        }
        node.set(key, value.clone());
    }
    if to_at >= entries.len() {
        if let Some(t) = &to {
            node.set("to", Node::str(t));
        }
    }
    Ok(node)
}

fn image(out: &OutStage, level: &StageState, end: &StageState, spec_shell: &[String]) -> Node {
    let mut node = Node::map();
    let image = &out.image;
    for (key, command) in [("entrypoint", &image.entrypoint), ("cmd", &image.cmd)] {
        match command {
            Some(Cmd::Exec(list)) => node.set(key, Node::strs(list)),
            Some(Cmd::Shell { text, shell }) => {
                node.set(key, command_node(text, shell, spec_shell))
            }
            None => {}
        }
    }
    let env = env_here(end, Some(&env_here(level, None)));
    if !env.is_empty() {
        node.set("env", env_map(&env));
    }
    if end.user_here && end.user != level.user {
        if let Some(u) = &end.user {
            node.set("user", Node::str(u.spec_text()));
        }
    }
    if end.workdir_here && end.workdir != level.workdir {
        if let Some(w) = &end.workdir {
            node.set("workdir", Node::str(w.spec_text()));
        }
    } else if out.from == "scratch" && !end.workdir_here {
        // The Dockerfile frontend's empty image has the working directory
        // `/`; a spec's has none.
        node.set("workdir", Node::str("/"));
    }
    if !image.expose.is_empty() {
        let ports: Vec<Item> = image
            .expose
            .iter()
            .map(|p| match p.strip_suffix("/tcp") {
                Some(n) => Item::new(Node::Raw(n.to_string())),
                None => Item::new(Node::str(p)),
            })
            .collect();
        node.set("expose", Node::List(ports));
    }
    if !image.labels.is_empty() {
        let mut labels = Node::map();
        for (k, v, c) in &image.labels {
            labels.set_commented(k, Node::str(v), c.clone());
        }
        node.set("labels", labels);
    }
    if !image.volumes.is_empty() {
        node.set("volumes", Node::strs(&image.volumes));
    }
    if let Some(s) = &image.stop_signal {
        node.set("stop_signal", Node::str(s));
    }
    if let Some(h) = &image.healthcheck {
        node.set("healthcheck", h.clone());
    }
    node
}
