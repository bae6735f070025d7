//! The instructions that only set the image config: LABEL, EXPOSE,
//! VOLUME, STOPSIGNAL, CMD, ENTRYPOINT, HEALTHCHECK; and SHELL.

use super::assemble::{Cmd, ImageOut};
use super::parse::Instruction;
use super::state::DEFAULT_SHELL;
use super::words::json_array;
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;

impl Converter {
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
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn volume(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let words = match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => list,
            None => i.rest.split_whitespace().map(str::to_string).collect(),
        };
        for word in words {
            let value = self
                .expand_at(&word, &stage.state, i.rest_pos, false)?
                .spec_text();
            if value.is_empty() {
                return Err(Problem::new(i.rest_pos, "empty VOLUME path").hint("write a path"));
            }
            if !stage.out.image.volumes.contains(&value) {
                stage.out.image.volumes.push(value);
            }
        }
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn stop_signal(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let value = self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?;
        stage.out.image.stop_signal = Some(self.literal(&value, i.rest_pos, "STOPSIGNAL")?);
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        Ok(())
    }

    /// CMD/ENTRYPOINT: exec form as is, shell form with the current shell.
    pub fn command(&self, stage: &StageBuild, i: &Instruction) -> Result<Cmd, Problem> {
        match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => Ok(Cmd::Exec(list)),
            None if i.rest.is_empty() => Err(Problem::new(
                i.pos,
                format!("{} needs a command", i.keyword),
            )
            .hint("write a command, e.g. `[\"/app\"]`")),
            None => Ok(Cmd::Shell {
                text: i.rest.clone(),
                shell: stage.state.shell.clone(),
            }),
        }
    }

    pub fn cmd_or_entrypoint(
        &mut self,
        stage: &mut StageBuild,
        i: &Instruction,
        entrypoint: bool,
    ) -> Result<(), Problem> {
        self.no_flags(i)?;
        let command = self.command(stage, i)?;
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
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
            &[
                ("interval", true),
                ("timeout", true),
                ("start-period", true),
                ("start-interval", true),
                ("retries", true),
            ],
        )?;
        let (kind, rest) = match i.rest.split_once(char::is_whitespace) {
            Some((k, r)) => (k.to_uppercase(), r.trim_start()),
            None => (i.rest.to_uppercase(), ""),
        };
        let mut node = Node::map();
        match kind.as_str() {
            "NONE" if rest.is_empty() && flags.is_empty() => {
                node.set("test", Node::strs(&["NONE"]))
            }
            "NONE" => {
                return Err(
                    Problem::new(i.rest_pos, "HEALTHCHECK NONE takes no arguments")
                        .hint("write `HEALTHCHECK NONE`"),
                )
            }
            "CMD" => {
                let test = match json_array(rest).map_err(|m| Problem::new(i.rest_pos, m))? {
                    Some(list) => [vec!["CMD".to_string()], list].concat(),
                    None if rest.is_empty() => {
                        return Err(Problem::new(i.rest_pos, "HEALTHCHECK CMD needs a command")
                            .hint("write `HEALTHCHECK CMD curl -f http://localhost/`"))
                    }
                    None => vec!["CMD-SHELL".to_string(), rest.to_string()],
                };
                node.set("test", Node::strs(&test));
                for flag in flags {
                    let (key, value) = health_option(flag)?;
                    node.set(&key, value);
                }
            }
            _ => {
                return Err(
                    Problem::new(i.rest_pos, "HEALTHCHECK takes `CMD command` or `NONE`")
                        .hint("write `HEALTHCHECK CMD …` or `HEALTHCHECK NONE`"),
                )
            }
        }
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        stage.out.image.healthcheck = Some(node);
        Ok(())
    }

    pub fn shell(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        let shell = json_array(&i.rest)
            .map_err(|m| Problem::new(i.rest_pos, m))?
            .filter(|l| !l.is_empty())
            .ok_or_else(|| {
                Problem::new(i.rest_pos, "SHELL takes a JSON list")
                    .hint("write `SHELL [\"/bin/bash\", \"-c\"]`")
            })?;
        if shell != DEFAULT_SHELL.map(String::from).to_vec() {
            self.warn(i.pos, "SHELL also sets the image's `Shell` config, which a spec cannot set: the converted steps use this shell, but the image config does not record it");
        }
        stage.state.shell = shell;
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        Ok(())
    }
}

/// A HEALTHCHECK flag as a spec healthcheck option.
fn health_option(flag: &super::parse::Flag) -> Result<(String, Node), Problem> {
    let value = flag.value.clone().unwrap_or_default();
    if flag.name == "retries" {
        let n: u32 = value.parse().map_err(|_| {
            Problem::new(flag.pos, format!("invalid --retries `{value}`"))
                .hint("write a whole number")
        })?;
        return Ok(("retries".into(), Node::Raw(n.to_string())));
    }
    if crate::spec::parse_duration(&value).is_none() {
        return Err(Problem::new(
            flag.pos,
            format!("duration `{value}` cannot be written in a spec"),
        )
        .hint("use ms, s, m or h, e.g. 30s or 1m30s"));
    }
    Ok((flag.name.replace('-', "_"), Node::str(value)))
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
