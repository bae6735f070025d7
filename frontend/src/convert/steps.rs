//! RUN, COPY and ADD → `run`, `copy`, `add` and `write` steps.

use super::assemble::{Dest, RunCommand, RunInfo, StepKind};
use super::mounts::{context_relative, octal};
use super::parse::{heredoc_word, Heredoc, Instruction};
use super::state::resolve;
use super::words::{expand, json_array, Mode, Value};
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;

/// Where the Dockerfile frontend mounts a heredoc script that starts with `#!`.
const PIPES: &str = "/dev/pipes";

impl Converter {
    pub fn run(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        let flags = self.flags(i, &[("mount", true), ("network", true), ("security", true)])?;
        let mut extra: Vec<(String, Node)> = Vec::new();
        let mut mounts = Vec::new();
        for flag in &flags {
            let value = flag.value.clone().unwrap_or_default();
            match flag.name.as_str() {
                "mount" => mounts.push(super::yaml::Item::new(self.mount(stage, flag)?)),
                "network" if matches!(value.as_str(), "default" | "none" | "host") => {
                    extra.push(("network".into(), Node::str(value)))
                }
                "security" if matches!(value.as_str(), "sandbox" | "insecure") => {
                    extra.push(("security".into(), Node::str(value)))
                }
                name => {
                    return Err(Problem::new(flag.pos, format!("invalid --{name} `{value}`")).hint(
                        if name == "network" { "write default, none or host" } else { "write sandbox or insecure" },
                    ))
                }
            }
        }
        let command = match i.heredocs.as_slice() {
            [] => match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
                Some(list) if list.is_empty() => {
                    return Err(Problem::new(i.rest_pos, "empty RUN command").hint("write the command to run"))
                }
                Some(list) => RunCommand::Exec(list),
                None if i.rest.is_empty() => {
                    return Err(Problem::new(i.pos, "empty RUN command").hint("write the command to run"))
                }
                None => RunCommand::Shell(i.rest.clone()),
            },
            [doc] if heredoc_word(&i.rest).is_some() => {
                let data = if doc.chomp { chomp(&doc.content) } else { doc.content.clone() };
                if data.starts_with("#!") {
                    let helper = self.script_stage(stage, doc, &data);
                    let mut bind = Node::map();
                    bind.set("type", Node::str("bind"));
                    bind.set("from", Node::str(helper));
                    bind.set("source", Node::str("/"));
                    bind.set("target", Node::str(PIPES));
                    mounts.push(super::yaml::Item::new(bind));
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

    pub fn copy(&mut self, stage: &mut StageBuild, i: &Instruction, add: bool) -> Result<(), Problem> {
        let known: &[(&str, bool)] = if add {
            &[("chown", true), ("chmod", true), ("link", false), ("checksum", true), ("keep-git-dir", false), ("exclude", true)]
        } else {
            &[("from", true), ("chown", true), ("chmod", true), ("link", false), ("parents", false), ("exclude", true)]
        };
        let flags = self.flags(i, known)?;
        let flag = |name: &str| flags.iter().find(|f| f.name == name).copied();
        let bool_flag = |name: &str| -> Result<bool, Problem> {
            match flag(name) {
                None => Ok(false),
                Some(f) => match f.value.as_deref() {
                    None | Some("true") => Ok(true),
                    Some("false") => Ok(false),
                    Some(v) => Err(Problem::new(f.pos, format!("`--{name}={v}` is not true or false")).hint(format!("write `--{name}`"))),
                },
            }
        };
        let args = match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => list,
            None => i.rest.split_whitespace().map(str::to_string).collect(),
        };
        if args.len() < 2 {
            return Err(Problem::new(i.pos, format!("{} needs a source and a destination", i.keyword))
                .hint(format!("write `{} SOURCE… DEST`", i.keyword)));
        }
        let (dest_word, sources) = args.split_last().expect("two or more");
        let vars = &stage.state;
        let dest = self.expand_at(dest_word, vars, i.rest_pos, false)?;
        let dest = if matches!(dest.literal().as_deref(), Some("." | "")) { Value::lit("./") } else { dest };
        let chown = match flag("chown") {
            Some(f) => Some(self.expand_at(f.value.as_deref().unwrap_or(""), vars, f.pos, false)?.spec_text()),
            None => None,
        };
        let chmod = match flag("chmod") {
            Some(f) => Some(octal(f.value.as_deref().unwrap_or("")).ok_or_else(|| {
                Problem::new(f.pos, "--chmod must be octal permission bits here").hint("write e.g. --chmod=0755")
            })?),
            None => None,
        };
        let link = bool_flag("link")? && chmod.is_none();
        let parents = bool_flag("parents")?;
        let excludes: Vec<String> = flags.iter().filter(|f| f.name == "exclude").map(|f| f.value.clone().unwrap_or_default()).collect();
        let from = match flag("from") {
            Some(f) => {
                let value = self.expand_at(f.value.as_deref().unwrap_or(""), vars, f.pos, false)?;
                Some(self.source_name(&self.literal(&value, f.pos, "--from")?))
            }
            None => None,
        };
        let mut local: Vec<String> = Vec::new();
        let mut pending: Vec<StepKind> = Vec::new();
        let many = sources.len() > 1;
        for source in sources {
            if let Some((name, _, _)) = heredoc_word(source) {
                let doc = i.heredocs.iter().find(|d| d.name == name).ok_or_else(|| {
                    Problem::new(i.rest_pos, format!("no heredoc named `{name}`")).hint("check the heredoc's name")
                })?;
                pending.push(self.heredoc_file(stage, i, doc, &dest, chown.as_deref(), chmod.as_deref())?);
                continue;
            }
            let value = self.expand_at(source, &stage.state, i.rest_pos, false)?;
            let text = value.spec_text();
            if add && from.is_none() {
                if let Some(step) = self.remote_source(stage, i, &text, &dest, many, chown.as_deref(), chmod.as_deref())? {
                    pending.push(step);
                    continue;
                }
                self.warn(i.pos, format!("ADD of the local path `{text}` becomes a copy: ADD would unpack it if it were a tar archive, a copy does not"));
            }
            if parents && text.contains("/./") {
                return Err(Problem::new(i.rest_pos, format!("`{text}`: a `/./` pivot cannot be written in a spec")).hint("copy from the pivot directory with --parents instead"));
            }
            if is_archive(&text) && add && from.is_none() {
                return Err(Problem::new(i.rest_pos, format!("ADD unpacks the archive `{text}`, which a spec cannot do"))
                    .hint("unpack it in a RUN step (e.g. with a bind mount of the context and tar), or add the unpacked files to the context"));
            }
            local.push(if from.is_none() { context_relative(&text) } else { text });
        }
        if !local.is_empty() {
            let mut entries = vec![("copy".to_string(), if local.len() == 1 { Node::str(&local[0]) } else { Node::strs(&local) })];
            if let Some(f) = &from {
                entries.push(("from".into(), Node::str(f)));
            }
            let to_at = entries.len();
            for (key, value) in [("chown", chown.clone()), ("chmod", chmod.clone())] {
                if let Some(v) = value {
                    entries.push((key.into(), Node::str(v)));
                }
            }
            if link {
                entries.push(("link".into(), Node::Raw("true".into())));
            }
            if parents {
                entries.push(("parents".into(), Node::Raw("true".into())));
            }
            if !excludes.is_empty() {
                entries.push(("exclude".into(), Node::strs(&excludes)));
            }
            let dest = Dest {
                written: dest.clone(),
                absolute: resolve(stage.state.workdir.as_ref(), &dest),
                workdir: stage.state.workdir.clone(),
                pos: i.rest_pos,
            };
            pending.insert(0, StepKind::Copy { entries, to_at, dest });
        }
        let comments_owner = i;
        for (n, kind) in pending.into_iter().enumerate() {
            if n == 0 {
                stage.out.push_step(comments_owner, kind);
            } else {
                stage.out.steps.push(super::assemble::OutStep { comments: Vec::new(), pos: i.pos, kind });
            }
        }
        Ok(())
    }

    /// An absolute destination, for steps that take no relative one.
    fn absolute_dest(&self, stage: &StageBuild, i: &Instruction, dest: &Value) -> Result<Value, Problem> {
        resolve(stage.state.workdir.as_ref(), dest).ok_or_else(|| {
            Problem::new(i.rest_pos, "a relative destination on an image whose working directory is unknown")
                .hint("write an absolute destination")
        })
    }

    /// `COPY <<NAME dest`: a `write` step (the Dockerfile makes the file
    /// 0644 and copies it, creating missing directories for the owner).
    fn heredoc_file(&self, stage: &StageBuild, i: &Instruction, doc: &Heredoc, dest: &Value, chown: Option<&str>, chmod: Option<&str>) -> Result<StepKind, Problem> {
        let dest = self.absolute_dest(stage, i, dest)?;
        let mut path = dest.spec_text();
        if path.ends_with('/') {
            path.push_str(&doc.name);
        }
        let data = if doc.chomp { chomp(&doc.content) } else { doc.content.clone() };
        let content = if doc.expand {
            let mode = Mode { keep_quotes: true, escape: '\\', base_refs: false };
            expand(&data, &stage.state, mode).map_err(|m| Problem::new(i.pos, m).hint("quote the heredoc's name (<<'EOF') to keep its text as written"))?.spec_text()
        } else {
            data.replace('$', "$$")
        };
        let mut steps = Vec::new();
        if let (Some(owner), Some((parent, _))) = (chown, path.rsplit_once('/')) {
            if !parent.is_empty() {
                // A copy creates missing directories owned by --chown; a
                // write step would make them root's.
                let mut mkdir = Node::map();
                mkdir.set("mkdir", Node::str(parent));
                mkdir.set("chown", Node::str(owner));
                steps.push(mkdir);
            }
        }
        let mut write = Node::map();
        write.set("write", Node::str(path));
        write.set("content", Node::str(content));
        write.set("mode", Node::str(chmod.unwrap_or("0644")));
        if let Some(owner) = chown {
            write.set("chown", Node::str(owner));
        }
        steps.push(write);
        Ok(StepKind::Nodes(steps))
    }

    /// ADD of a URL or a git repository: an `add` step; `None` for local paths.
    #[allow(clippy::too_many_arguments)]
    fn remote_source(&self, stage: &StageBuild, i: &Instruction, src: &str, dest: &Value, many: bool, chown: Option<&str>, chmod: Option<&str>) -> Result<Option<StepKind>, Problem> {
        let checksum = i.flags.iter().find(|f| f.name == "checksum").and_then(|f| f.value.clone());
        let keep = i.flags.iter().any(|f| f.name == "keep-git-dir" && f.value.as_deref() != Some("false"));
        let mut source = Node::map();
        let to = if let Some((remote, fragment)) = git_source(src) {
            source.set("git", Node::str(remote));
            if let Some(f) = fragment {
                let (reference, subdir) = f.split_once(':').unwrap_or((f.as_str(), ""));
                if !subdir.is_empty() {
                    return Err(Problem::new(i.rest_pos, "a git subdirectory (`#ref:dir`) cannot be written in a spec").hint("add the whole repository and copy the directory from it"));
                }
                if !reference.is_empty() {
                    source.set("ref", Node::str(reference));
                }
            }
            if keep {
                source.set("keep_git_dir", Node::Raw("true".into()));
            }
            self.absolute_dest(stage, i, dest)?.spec_text()
        } else if src.starts_with("http://") || src.starts_with("https://") {
            source.set("url", Node::str(src));
            if let Some(c) = &checksum {
                source.set("checksum", Node::str(c));
            }
            let mut to = self.absolute_dest(stage, i, dest)?.spec_text();
            if to.ends_with('/') || many {
                if !to.ends_with('/') {
                    to.push('/');
                }
                to.push_str(&url_file_name(src));
            }
            to
        } else {
            return Ok(None);
        };
        let mut node = Node::map();
        node.set("add", source);
        node.set("to", Node::str(to));
        if let Some(c) = chown {
            node.set("chown", Node::str(c));
        }
        if let Some(m) = chmod {
            node.set("chmod", Node::str(m));
        }
        Ok(Some(StepKind::Node(node)))
    }
}

/// BuildKit's `ChompHeredocContent`: leading tabs off every line.
fn chomp(text: &str) -> String {
    text.split_inclusive('\n').map(|l| l.trim_start_matches('\t')).collect()
}

/// The file name the Dockerfile frontend gives a download.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.split_once("://").map_or("", |(_, rest)| rest);
    let path = path.split_once('/').map_or("", |(_, p)| p);
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." => name.to_string(),
        _ => "__unnamed__".to_string(),
    }
}

/// A git source as BuildKit 0.13 recognizes one: (remote, fragment).
fn git_source(src: &str) -> Option<(String, Option<String>)> {
    let (remote, fragment) = match src.split_once('#') {
        Some((r, f)) => (r, Some(f.to_string())),
        None => (src, None),
    };
    let is_git = remote.starts_with("git://")
        || remote.starts_with("ssh://")
        || remote.starts_with("git@")
        || ((remote.starts_with("http://") || remote.starts_with("https://")) && remote.ends_with(".git"));
    is_git.then(|| (remote.to_string(), fragment))
}

fn is_archive(path: &str) -> bool {
    let lower = path.to_lowercase();
    [".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz", ".tar.zst"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_downloads_and_recognizes_git() {
        assert_eq!(url_file_name("https://x.org/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_file_name("https://x.org"), "__unnamed__");
        assert_eq!(url_file_name("https://x.org/"), "__unnamed__");
        assert!(git_source("https://x.org/r.git#v1").is_some());
        assert!(git_source("https://x.org/r.tar").is_none());
        assert_eq!(chomp("\ta\n\t\tb\n"), "a\nb\n");
    }
}
