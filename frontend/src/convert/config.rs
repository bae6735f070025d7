//! FROM, ARG and the instructions that change a stage's state or image
//! config: ENV, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL, CMD,
//! ENTRYPOINT, HEALTHCHECK, SHELL.

use super::assemble::{Cmd, ImageOut, OutStage, OutStep, StepKind};
use super::parse::Instruction;
use super::state::{resolve, ArgVar, GlobalVars, StageState, DEFAULT_SHELL};
use super::words::{expand, json_array, split_words, Mode, Value, Vars};
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;
use crate::spec::args::BUILTIN_ARGS;
use crate::spec::Pos;

impl Converter {
    pub fn mode(&self, base_refs: bool) -> Mode {
        Mode {
            escape: self.escape,
            keep_quotes: false,
            base_refs,
        }
    }

    /// Expands `word` where the spec needs a value: env values may refer
    /// to the base image's variables, other fields may not.
    pub fn expand_at(
        &self,
        word: &str,
        vars: &dyn Vars,
        pos: Pos,
        base_refs: bool,
    ) -> Result<Value, Problem> {
        expand(word, vars, self.mode(base_refs)).map_err(|message| {
            Problem::new(pos, message).hint(
                "write the value out, or use a build arg (ARG) that the spec can substitute",
            )
        })
    }

    /// A value the spec takes literally (it substitutes nothing there).
    pub fn literal(&self, value: &Value, pos: Pos, what: &str) -> Result<String, Problem> {
        value.literal().ok_or_else(|| {
            Problem::new(
                pos,
                format!("{what} depends on build args, which the spec does not substitute there"),
            )
            .hint("write the value out")
        })
    }

    pub fn from(&mut self, i: &Instruction, names: &[String]) -> Result<StageBuild, Problem> {
        self.flags(i, &[("platform", true)])?;
        let words: Vec<&str> = i.rest.split_whitespace().collect();
        let (image, name) = match words.as_slice() {
            [image] => (*image, None),
            [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                (*image, Some(name.to_lowercase()))
            }
            _ => {
                return Err(Problem::new(i.rest_pos, "FROM takes an image and an optional `AS name`")
                    .hint("write `FROM image` or `FROM image AS name`"))
            }
        };
        if let Some(n) = &name {
            let valid = n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(Problem::new(i.rest_pos, format!("invalid stage name `{n}`"))
                    .hint("stage names start with a letter and hold letters, digits, `-`, `_` and `.`"));
            }
            if self.stages.iter().any(|(d, _, _)| d.as_deref() == Some(n)) {
                return Err(Problem::new(i.rest_pos, format!("stage name `{n}` is used twice"))
                    .hint("give each stage its own name"));
            }
        }
        let args: Vec<ArgVar> = self.global_args.iter().map(|(a, _)| a.clone()).collect();
        let globals = GlobalVars { args: &args };
        let image_value = self.expand_at(image, &globals, i.rest_pos, false)?;
        let by_default = self.with_defaults(&image_value).to_lowercase();
        let parent = self.stage_index(&by_default);
        let (from, state) = match parent {
            Some(index) => {
                if image_value.literal().is_none() {
                    return Err(Problem::new(i.rest_pos, "a stage chosen by build args cannot be converted")
                        .hint("name the stage directly"));
                }
                let (_, out, state) = &self.stages[index];
                (out.name.clone(), StageState::on_stage(state))
            }
            None if by_default == "scratch" => ("scratch".to_string(), StageState::on_image(true)),
            None => (image_value.spec_text(), StageState::on_image(false)),
        };
        let platform = match i.flags.iter().find(|f| f.name == "platform") {
            Some(f) => {
                let value = f.value.as_deref().unwrap_or("");
                Some(self.expand_at(value, &globals, f.pos, false)?.spec_text())
            }
            None => None,
        };
        let index = self.stages.len();
        let spec_name = match &name {
            Some(n) => n.clone(),
            None => unused_name(&format!("stage-{index}"), names),
        };
        Ok(StageBuild {
            out: OutStage::new(spec_name, from, platform, i.comments.clone(), i.pos),
            state,
            dockerfile_name: name,
        })
    }

    /// The stage a `FROM`/`--from` value names: a name or an index.
    pub fn stage_index(&self, name: &str) -> Option<usize> {
        if let Ok(n) = name.parse::<usize>() {
            return (n < self.stages.len()).then_some(n);
        }
        self.stages
            .iter()
            .position(|(d, _, _)| d.as_deref() == Some(name))
    }

    /// The value with every arg at its default (platform args `linux`).
    pub fn with_defaults(&self, value: &Value) -> String {
        let text = value.spec_text();
        crate::spec::args::substitute(&text, &|n| {
            Some(
                self.spec_args
                    .get(n)
                    .map(|(d, _)| d.clone())
                    .or_else(|| {
                        self.global_args
                            .iter()
                            .find(|(a, _)| a.name == n)
                            .and_then(|(_, v)| v.literal())
                    })
                    .unwrap_or_default(),
            )
        })
        .unwrap_or(text)
    }

    pub fn finish(&mut self, stage: StageBuild) -> Result<(), Problem> {
        let mut out = stage.out;
        out.end = Some(stage.state.clone());
        self.stages.push((stage.dockerfile_name, out, stage.state));
        Ok(())
    }

    /// `ARG` before the first FROM: visible to FROM lines, and to stages
    /// that declare it again.
    pub fn global_arg(&mut self, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let args: Vec<ArgVar> = self.global_args.iter().map(|(a, _)| a.clone()).collect();
        for (name, default) in self.arg_words(i, &GlobalVars { args: &args })? {
            let has_value = default.is_some();
            let value = default.clone().unwrap_or_default();
            if !BUILTIN_ARGS.contains(&name.as_str()) {
                self.register_arg(&name, default.as_ref(), i.pos)?;
            }
            self.global_args.retain(|(a, _)| a.name != name);
            self.global_args.push((ArgVar { name, has_value }, value));
        }
        Ok(())
    }

    pub fn stage_arg(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        for (name, default) in self.arg_words(i, &stage.state)? {
            let global = self.global_args.iter().find(|(a, _)| a.name == name).cloned();
            let builtin = BUILTIN_ARGS.contains(&name.as_str());
            let has_value = match (&default, &global) {
                _ if builtin => true,
                (Some(d), _) => {
                    self.register_arg(&name, Some(d), i.pos)?;
                    true
                }
                (None, Some((g, _))) => g.has_value,
                (None, None) => {
                    self.register_arg(&name, None, i.pos)?;
                    false
                }
            };
            stage.state.declare_arg(&name, has_value);
        }
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    /// `NAME[=default]` words of an ARG, defaults expanded.
    fn arg_words(
        &self,
        i: &Instruction,
        vars: &dyn Vars,
    ) -> Result<Vec<(String, Option<Value>)>, Problem> {
        let words = split_words(&i.rest, self.escape);
        if words.is_empty() {
            return Err(Problem::new(i.pos, "ARG needs a name").hint("write `ARG NAME` or `ARG NAME=default`"));
        }
        let mut out = Vec::new();
        for word in words {
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(self.expand_at(d, vars, i.rest_pos, false)?)),
                None => (word.clone(), None),
            };
            if !is_identifier(&name) {
                return Err(Problem::new(i.rest_pos, format!("invalid arg name `{name}`"))
                    .hint("arg names are letters, digits and `_`, not starting with a digit"));
            }
            out.push((name, default));
        }
        Ok(out)
    }

    /// Declares a spec arg; spec args are global, so one name has one default.
    fn register_arg(&mut self, name: &str, default: Option<&Value>, pos: Pos) -> Result<(), Problem> {
        let text = match default {
            Some(d) => d.literal().ok_or_else(|| {
                Problem::new(pos, format!("the default of ARG `{name}` refers to other args, which spec arg defaults cannot"))
                    .hint("write the default out")
            })?,
            None => String::new(),
        };
        match self.spec_args.get(name) {
            Some((existing, at)) if *existing != text => Err(Problem::new(
                pos,
                format!("ARG `{name}` has the default `{text}` here but `{existing}` at line {}; spec args are global and have one default", at.line),
            )
            .hint("give both the same default, or rename one of them")),
            Some(_) => Ok(()),
            None => {
                self.spec_args.insert(name.to_string(), (text, pos));
                Ok(())
            }
        }
    }

    /// `KEY=value …` or the legacy `KEY value` of ENV and LABEL, expanded.
    fn pairs(
        &self,
        i: &Instruction,
        vars: &dyn Vars,
        base_refs: bool,
    ) -> Result<Vec<(String, Value)>, Problem> {
        let words = split_words(&i.rest, self.escape);
        let Some(first) = words.first() else {
            return Err(Problem::new(i.pos, format!("{} needs KEY=value", i.keyword))
                .hint(format!("write `{} KEY=value`", i.keyword)));
        };
        let raw: Vec<(String, String)> = if first.contains('=') {
            words
                .iter()
                .map(|w| {
                    w.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .ok_or_else(|| {
                            Problem::new(i.rest_pos, format!("`{w}` has no `=`"))
                                .hint("write KEY=value pairs")
                        })
                })
                .collect::<Result<_, _>>()?
        } else {
            let rest = i.rest.trim_start();
            let key_len = rest.find(char::is_whitespace).ok_or_else(|| {
                Problem::new(i.rest_pos, format!("{} needs a value", i.keyword))
                    .hint(format!("write `{} KEY=value`", i.keyword))
            })?;
            vec![(rest[..key_len].to_string(), rest[key_len..].trim_start().to_string())]
        };
        let mut out = Vec::new();
        for (key, value) in raw {
            let key = self.expand_at(&key, vars, i.rest_pos, false)?;
            let key = self.literal(&key, i.rest_pos, "the key")?;
            if key.is_empty() {
                return Err(Problem::new(i.rest_pos, "empty key").hint("write KEY=value"));
            }
            out.push((key, self.expand_at(&value, vars, i.rest_pos, base_refs)?));
        }
        Ok(out)
    }

    pub fn env(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let pairs = self.pairs(i, &stage.state, true)?;
        for (key, value) in pairs {
            if key.contains('=') {
                return Err(Problem::new(i.rest_pos, format!("invalid variable name `{key}`")).hint("names cannot hold `=`"));
            }
            stage.state.set_env(&key, value);
        }
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn workdir(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        if i.rest.is_empty() {
            return Err(Problem::new(i.pos, "WORKDIR needs a path").hint("write `WORKDIR /app`"));
        }
        let path = self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?;
        let Some(dir) = resolve(stage.state.workdir.as_ref(), &path) else {
            return Err(Problem::new(i.rest_pos, "a relative WORKDIR on an image whose working directory is unknown")
                .hint("write an absolute path"));
        };
        stage.state.workdir = Some(dir.clone());
        stage.state.workdir_here = true;
        if dir.literal().as_deref() == Some("/") {
            stage.out.pending_comments.extend(i.comments.iter().cloned());
            return Ok(());
        }
        // The Dockerfile frontend creates the directory, owned by the
        // current user.
        let mut node = Node::map();
        node.set("mkdir", Node::str(dir.spec_text()));
        match &stage.state.user {
            Some(u) if u.literal().is_none_or(|t| !t.is_empty()) => {
                node.set("chown", Node::str(u.spec_text()))
            }
            Some(_) => {}
            None if !stage.out.warned_owner => {
                stage.out.warned_owner = true;
                self.warn(i.pos, "WORKDIR's directory is created owned by root; if the base image sets a USER, the Dockerfile would give it to that user (add `chown:` to the mkdir step then)");
            }
            None => {}
        }
        stage.out.push_step(i, StepKind::Node(node));
        Ok(())
    }

    pub fn user(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        if i.rest.is_empty() {
            return Err(Problem::new(i.pos, "USER needs a user").hint("write `USER name` or `USER uid[:gid]`"));
        }
        stage.state.user = Some(self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?);
        stage.state.user_here = true;
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn label(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let pairs = self.pairs(i, &stage.state, false)?;
        let comments = stage.out.take_comments(i);
        let image = &mut stage.out.image;
        for (n, (key, value)) in pairs.into_iter().enumerate() {
            image.labels.retain(|(k, _, _)| *k != key);
            let c = if n == 0 { comments.clone() } else { Vec::new() };
            image.labels.push((key, value.spec_text(), c));
        }
        Ok(())
    }

    pub fn expose(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        for word in i.rest.split_whitespace() {
            let value = self.expand_at(word, &stage.state, i.rest_pos, false)?;
            let text = self.literal(&value, i.rest_pos, "the port")?;
            for port in port_range(&text).ok_or_else(|| {
                Problem::new(i.rest_pos, format!("invalid port `{text}`"))
                    .hint("write a port such as 8080, 8080/tcp or 53/udp")
            })? {
                if !stage.out.image.expose.contains(&port) {
                    stage.out.image.expose.push(port);
                }
            }
        }
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn volume(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let words = match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => list,
            None => i.rest.split_whitespace().map(str::to_string).collect(),
        };
        for word in words {
            let value = self.expand_at(&word, &stage.state, i.rest_pos, false)?.spec_text();
            if value.is_empty() {
                return Err(Problem::new(i.rest_pos, "empty VOLUME path").hint("write a path"));
            }
            if !stage.out.image.volumes.contains(&value) {
                stage.out.image.volumes.push(value);
            }
        }
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn stop_signal(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let value = self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?;
        stage.out.image.stop_signal = Some(self.literal(&value, i.rest_pos, "STOPSIGNAL")?);
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }

    /// CMD/ENTRYPOINT: exec form as is, shell form with the current shell.
    pub fn command(&self, stage: &StageBuild, i: &Instruction) -> Result<Cmd, Problem> {
        match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => Ok(Cmd::Exec(list)),
            None if i.rest.is_empty() => Err(Problem::new(i.pos, format!("{} needs a command", i.keyword))
                .hint("write a command, e.g. `[\"/app\"]`")),
            None => Ok(Cmd::Shell {
                text: i.rest.clone(),
                shell: stage.state.shell.clone(),
            }),
        }
    }

    pub fn cmd_or_entrypoint(&mut self, stage: &mut StageBuild, i: &Instruction, entrypoint: bool) -> Result<(), Problem> {
        self.no_flags(i)?;
        let command = self.command(stage, i)?;
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        let image: &mut ImageOut = &mut stage.out.image;
        if entrypoint {
            image.entrypoint = Some(command);
        } else {
            image.cmd = Some(command);
        }
        Ok(())
    }

    pub fn healthcheck(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        let flags = self.flags(
            i,
            &[("interval", true), ("timeout", true), ("start-period", true), ("start-interval", true), ("retries", true)],
        )?;
        let (kind, rest) = match i.rest.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_uppercase(), r.trim_start()),
            None => (i.rest.to_uppercase(), ""),
        };
        let mut node = Node::map();
        match kind.as_str() {
            "NONE" if rest.is_empty() && flags.is_empty() => node.set("test", Node::strs(&["NONE"])),
            "NONE" => return Err(Problem::new(i.rest_pos, "HEALTHCHECK NONE takes no arguments").hint("write `HEALTHCHECK NONE`")),
            "CMD" => {
                let test = match json_array(rest).map_err(|m| Problem::new(i.rest_pos, m))? {
                    Some(list) => [vec!["CMD".to_string()], list].concat(),
                    None if rest.is_empty() => return Err(Problem::new(i.rest_pos, "HEALTHCHECK CMD needs a command").hint("write `HEALTHCHECK CMD curl -f http://localhost/`")),
                    None => vec!["CMD-SHELL".to_string(), rest.to_string()],
                };
                node.set("test", Node::strs(&test));
                for flag in flags {
                    let value = flag.value.clone().unwrap_or_default();
                    let key = flag.name.replace('-', "_");
                    if flag.name == "retries" {
                        let n: u32 = value.parse().map_err(|_| Problem::new(flag.pos, format!("invalid --retries `{value}`")).hint("write a whole number"))?;
                        node.set("retries", Node::Raw(n.to_string()));
                    } else {
                        if crate::spec::parse_duration(&value).is_none() {
                            return Err(Problem::new(flag.pos, format!("duration `{value}` cannot be written in a spec")).hint("use ms, s, m or h, e.g. 30s or 1m30s"));
                        }
                        node.set(&key, Node::str(value));
                    }
                }
            }
            _ => return Err(Problem::new(i.rest_pos, "HEALTHCHECK takes `CMD command` or `NONE`").hint("write `HEALTHCHECK CMD …` or `HEALTHCHECK NONE`")),
        }
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        stage.out.image.healthcheck = Some(node);
        Ok(())
    }

    pub fn shell(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let shell = json_array(&i.rest)
            .map_err(|m| Problem::new(i.rest_pos, m))?
            .filter(|l| !l.is_empty())
            .ok_or_else(|| Problem::new(i.rest_pos, "SHELL takes a JSON list").hint("write `SHELL [\"/bin/bash\", \"-c\"]`"))?;
        if shell != DEFAULT_SHELL.map(String::from).to_vec() {
            self.warn(i.pos, "SHELL also sets the image's `Shell` config, which a spec cannot set: the converted steps use this shell, but the image config does not record it");
        }
        stage.state.shell = shell;
        stage.out.pending_comments.extend(i.comments.iter().cloned());
        Ok(())
    }
}

impl OutStage {
    /// Comments waiting for a place, plus those of `i`.
    pub fn take_comments(&mut self, i: &Instruction) -> Vec<String> {
        let mut comments = std::mem::take(&mut self.pending_comments);
        comments.extend(i.comments.iter().cloned());
        comments
    }

    pub fn push_step(&mut self, i: &Instruction, kind: StepKind) {
        let comments = self.take_comments(i);
        self.steps.push(OutStep {
            comments,
            pos: i.pos,
            kind,
        });
    }
}

fn unused_name(wanted: &str, names: &[String]) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while names.contains(&name) {
        name = format!("{wanted}-{n}");
        n += 1;
    }
    name
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `80`, `80/tcp`, `8000-8002/udp` → each port as `N/proto`.
fn port_range(text: &str) -> Option<Vec<String>> {
    let (ports, proto) = match text.split_once('/') {
        Some((p, proto)) => (p, proto.to_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return None;
    }
    let (first, last) = match ports.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
        None => {
            let p = ports.parse::<u16>().ok()?;
            (p, p)
        }
    };
    if first == 0 || last < first || last - first > 1000 {
        return None;
    }
    Some((first..=last).map(|p| format!("{p}/{proto}")).collect())
}
