//! FROM and ARG: stages, their names and bases, and the build args a
//! spec declares globally.

use super::assemble::OutStage;
use super::parse::Instruction;
use super::state::{ArgVar, GlobalVars, StageState};
use super::words::{split_words, Value, Vars};
use super::{Converter, StageBuild};
use crate::spec::args::BUILTIN_ARGS;
use crate::spec::error::Problem;
use crate::spec::Pos;

impl Converter {
    pub fn from(&mut self, i: &Instruction, names: &[String]) -> Result<StageBuild, Problem> {
        self.flags(i, &[("platform", true)])?;
        let (image, name) = self.base_and_name(i)?;
        let args: Vec<ArgVar> = self.global_args.iter().map(|(a, _)| a.clone()).collect();
        let globals = GlobalVars { args: &args };
        let image_value = self.expand_at(image, &globals, i.rest_pos, false)?;
        if image_value.literal().is_some_and(|t| t.is_empty()) {
            return Err(Problem::new(
                i.rest_pos,
                format!("`{image}` names no image: it expands to nothing"),
            )
            .hint("declare the arg before the first FROM with a default"));
        }
        let by_default = self.with_defaults(&image_value).to_lowercase();
        // FROM names an earlier stage by name only (not by number).
        let parent = self
            .stages
            .iter()
            .position(|(d, _, _)| d.as_deref() == Some(by_default.as_str()));
        let (from, state) = match parent {
            Some(_) if image_value.literal().is_none() => {
                return Err(Problem::new(
                    i.rest_pos,
                    "a stage chosen by build args cannot be converted",
                )
                .hint("name the stage directly"))
            }
            Some(index) => {
                let (_, out, state) = &self.stages[index];
                (out.name.clone(), StageState::on_stage(state))
            }
            None if by_default == "scratch" => ("scratch".to_string(), StageState::on_image(true)),
            None if self.names.contains(&by_default) => {
                return Err(self.later_stage(&by_default, i.rest_pos))
            }
            None => (
                self.image_name(&image_value, i.rest_pos)?,
                StageState::on_image(false),
            ),
        };
        let platform = match i.flags.iter().find(|f| f.name == "platform") {
            Some(f) => Some(self.platform(f, &globals)?),
            None => None,
        };
        let spec_name = match &name {
            Some(n) => n.clone(),
            None => unused_name(&format!("stage-{}", self.stages.len()), names),
        };
        Ok(StageBuild {
            out: OutStage::new(spec_name, from, platform, i.comments.clone(), i.pos),
            state,
            dockerfile_name: name,
        })
    }

    /// `image` or `image AS name` (the name checked and lower-cased).
    fn base_and_name<'a>(&self, i: &'a Instruction) -> Result<(&'a str, Option<String>), Problem> {
        let words: Vec<&str> = i.rest.split_whitespace().collect();
        let (image, name) = match words.as_slice() {
            [image] => (*image, None),
            [image, as_word, name] if as_word.eq_ignore_ascii_case("as") => {
                (*image, Some(name.to_lowercase()))
            }
            _ => {
                return Err(Problem::new(
                    i.rest_pos,
                    "FROM takes an image and an optional `AS name`",
                )
                .hint("write `FROM image` or `FROM image AS name`"))
            }
        };
        if let Some(n) = &name {
            let valid = n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err(Problem::new(i.rest_pos, format!("invalid stage name `{n}`"))
                    .hint("stage names start with a letter and hold letters, digits, `-`, `_` and `.`"));
            }
            if self.stages.iter().any(|(d, _, _)| d.as_deref() == Some(n)) {
                return Err(
                    Problem::new(i.rest_pos, format!("stage name `{n}` is used twice"))
                        .hint("give each stage its own name"),
                );
            }
        }
        Ok((image, name))
    }

    /// `FROM --platform=…`, expanded with the global args.
    fn platform(&self, flag: &super::parse::Flag, globals: &GlobalVars) -> Result<String, Problem> {
        let value = flag.value.as_deref().unwrap_or("");
        let platform = self.expand_at(value, globals, flag.pos, false)?;
        if platform
            .literal()
            .is_some_and(|t| crate::llb::Platform::parse(&t).is_none())
        {
            return Err(
                Problem::new(flag.pos, format!("invalid platform `{value}`"))
                    .hint("write a platform such as linux/amd64 or $BUILDPLATFORM"),
            );
        }
        Ok(platform.spec_text())
    }

    /// An image reference as the spec wants it: checked, and with `:latest`
    /// on a bare name (which the spec would take for a misspelled stage).
    pub fn image_name(&self, value: &Value, pos: Pos) -> Result<String, Problem> {
        let by_default = self.with_defaults(value);
        crate::reference::ImageRef::parse(&by_default).map_err(|e| {
            Problem::new(
                pos,
                format!("invalid image reference `{by_default}`: {}", e.reason),
            )
            .hint("write an image such as `debian:bookworm-slim`, or the name of an earlier stage")
        })?;
        let mut text = value.spec_text();
        if value.literal().is_some() && !text.contains([':', '/', '@']) {
            text.push_str(":latest");
        }
        Ok(text)
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
            let global = self
                .global_args
                .iter()
                .find(|(a, _)| a.name == name)
                .cloned();
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
                    self.warn(i.pos, format!("ARG `{name}` has no default: the Dockerfile leaves it unset unless --build-arg gives it, the spec sets it to \"\" for steps that mention it (only `${{{name}-…}}`, `${{{name}+…}}` or listing the environment can tell)"));
                    false
                }
            };
            stage.state.declare_arg(&name, has_value);
        }
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
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
            return Err(Problem::new(i.pos, "ARG needs a name")
                .hint("write `ARG NAME` or `ARG NAME=default`"));
        }
        let mut out = Vec::new();
        for word in words {
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (
                    n.to_string(),
                    Some(self.expand_at(d, vars, i.rest_pos, false)?),
                ),
                None => (word.clone(), None),
            };
            if !is_identifier(&name) {
                return Err(
                    Problem::new(i.rest_pos, format!("invalid arg name `{name}`"))
                        .hint("arg names are letters, digits and `_`, not starting with a digit"),
                );
            }
            out.push((name, default));
        }
        Ok(out)
    }

    /// Declares a spec arg; spec args are global, so one name has one default.
    fn register_arg(
        &mut self,
        name: &str,
        default: Option<&Value>,
        pos: Pos,
    ) -> Result<(), Problem> {
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
