//! `stagecraft convert`: a Dockerfile in, a spec that builds the same image
//! out.
//!
//! `parse` reads the Dockerfile as BuildKit does; `words` expands variables
//! into spec text; the converter replays each stage's state (`state`) and
//! turns instructions into spec steps (`steps`, `mounts`) and image config
//! (`config`); `assemble` decides which stage-level and per-step options
//! reproduce the Dockerfile's mid-stage changes, and `yaml` writes the result.
//! What a spec cannot say is an error at the Dockerfile's line, with a hint;
//! what it says slightly differently is a warning.

mod assemble;
mod config;
mod copy;
mod expand;
mod image;
mod mounts;
pub mod parse;
mod run;
mod stages;
mod state;
pub mod words;
pub mod yaml;

use std::collections::BTreeMap;

use crate::spec::error::Problem;
use crate::spec::{Pos, SpecError};

use assemble::OutStage;
use parse::Instruction;
use state::{ArgVar, StageState};
use words::Value;

/// The start of the error for a conversion whose spec does not read back.
pub const READ_BACK_FAILURE: &str = "internal error: the converted spec does not read back";

/// The converted spec and what the user should know about it.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// Something converted with a difference worth reading about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub pos: Pos,
    pub message: String,
}

impl Warning {
    pub fn render(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: {}",
            self.pos.line, self.pos.column, self.message
        )
    }
}

/// Converts Dockerfile `text`; `file` names it in messages.
pub fn convert(file: &str, text: &str) -> Result<Conversion, SpecError> {
    convert_text(text).map_err(|p| p.in_file(file, text))
}

fn convert_text(text: &str) -> Result<Conversion, Problem> {
    let dockerfile = parse::parse(text)?;
    let names: Vec<String> = dockerfile
        .instructions
        .iter()
        .filter(|i| i.keyword == "FROM")
        .filter_map(|i| {
            let words: Vec<&str> = i.rest.split_whitespace().collect();
            (words.len() == 3).then(|| words[2].to_lowercase())
        })
        .collect();
    let mut converter = Converter {
        escape: dockerfile.escape,
        global_args: Vec::new(),
        spec_args: BTreeMap::new(),
        stages: Vec::new(),
        warnings: Vec::new(),
        helpers: 0,
        names: names.clone(),
    };
    let mut stage: Option<StageBuild> = None;
    for instruction in &dockerfile.instructions {
        if instruction.keyword == "FROM" {
            if let Some(done) = stage.take() {
                converter.finish(done)?;
            }
            stage = Some(converter.from(instruction, &names)?);
            continue;
        }
        match &mut stage {
            Some(s) => converter.instruction(s, instruction)?,
            None if instruction.keyword == "ARG" => converter.global_arg(instruction)?,
            None if !KEYWORDS.contains(&instruction.keyword.as_str()) => {
                return Err(unknown_instruction(instruction))
            }
            None => {
                return Err(Problem::new(
                    instruction.pos,
                    format!("`{}` before the first `FROM`", instruction.keyword),
                )
                .hint("only ARG may come before FROM"))
            }
        }
    }
    match stage {
        Some(done) => converter.finish(done)?,
        None => {
            return Err(
                Problem::new(Pos { line: 1, column: 1 }, "the Dockerfile has no `FROM`")
                    .hint("a Dockerfile starts with `FROM image`"),
            )
        }
    }
    let root = assemble::spec(
        &converter.spec_args,
        &converter.stages,
        &mut converter.warnings,
    )?;
    let mut yaml = String::from("# syntax=stagecraft:dev\n");
    yaml.push_str(&yaml::to_string(&root));
    if !dockerfile.trailing_comments.is_empty() {
        for c in &dockerfile.trailing_comments {
            yaml.push_str(&format!("# {}\n", yaml::comment_text(c)));
        }
    }
    // The spec must read back; a converter bug must not reach the user's
    // file (the fuzz target treats this error as a failure).
    if let Err(e) = crate::spec::parse("converted.yaml", yaml.as_bytes()) {
        return Err(Problem::new(
            Pos { line: 1, column: 1 },
            format!("{READ_BACK_FAILURE}: {}", e.headline()),
        )
        .hint("this is a bug in `stagecraft convert`; please report it with the Dockerfile"));
    }
    Ok(Conversion {
        yaml,
        warnings: converter.warnings,
    })
}

/// A stage being converted.
pub struct StageBuild {
    pub out: OutStage,
    pub state: StageState,
    /// The Dockerfile's own stage name (lower case), if it has one.
    pub dockerfile_name: Option<String>,
}

pub struct Converter {
    pub escape: char,
    /// Args declared before the first FROM.
    pub global_args: Vec<(ArgVar, Value)>,
    /// The spec's `args:`: name → (default, where first declared).
    pub spec_args: BTreeMap<String, (String, Pos)>,
    pub stages: Vec<(Option<String>, OutStage, StageState)>,
    pub warnings: Vec<Warning>,
    /// Helper stages made so far (heredoc scripts).
    pub helpers: usize,
    /// Every stage name of the Dockerfile, in order.
    pub names: Vec<String>,
}

impl Converter {
    pub fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.warnings.push(Warning {
            pos,
            message: message.into(),
        });
    }

    fn instruction(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        match i.keyword.as_str() {
            "RUN" => self.run(stage, i),
            "COPY" => self.copy(stage, i, false),
            "ADD" => self.copy(stage, i, true),
            "ARG" => self.stage_arg(stage, i),
            "ENV" => self.env(stage, i),
            "WORKDIR" => self.workdir(stage, i),
            "USER" => self.user(stage, i),
            "LABEL" => self.label(stage, i),
            "EXPOSE" => self.expose(stage, i),
            "VOLUME" => self.volume(stage, i),
            "STOPSIGNAL" => self.stop_signal(stage, i),
            "CMD" => self.cmd_or_entrypoint(stage, i, false),
            "ENTRYPOINT" => self.cmd_or_entrypoint(stage, i, true),
            "HEALTHCHECK" => self.healthcheck(stage, i),
            "SHELL" => self.shell(stage, i),
            "MAINTAINER" => {
                self.no_flags(i)?;
                self.warn(i.pos, "MAINTAINER sets the image's deprecated `author` field, which a spec cannot set; it is left out (a label such as org.opencontainers.image.authors says the same)");
                stage.out.pending_comments.extend(i.comments.iter().cloned());
                Ok(())
            }
            "ONBUILD" => Err(Problem::new(i.pos, "ONBUILD cannot be converted: a spec has no build triggers")
                .hint("run the trigger's instruction in the stages that build on this image, and remove ONBUILD")),
            _ => Err(unknown_instruction(i)),
        }
    }

    /// The instruction takes no flags.
    pub fn no_flags(&self, i: &Instruction) -> Result<(), Problem> {
        match i.flags.first() {
            Some(flag) => Err(Problem::new(
                flag.pos,
                format!("{} takes no flag `--{}`", i.keyword, flag.name),
            )
            .hint("remove the flag")),
            None => Ok(()),
        }
    }

    /// Flags of `i`, each checked against `known` (name, takes a value).
    pub fn flags<'a>(
        &self,
        i: &'a Instruction,
        known: &[(&str, bool)],
    ) -> Result<Vec<&'a parse::Flag>, Problem> {
        for flag in &i.flags {
            let Some((_, takes_value)) = known.iter().find(|(n, _)| *n == flag.name) else {
                let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                let hint = match crate::spec::error::did_you_mean(&flag.name, names.iter().copied())
                {
                    Some(near) => format!("did you mean `--{near}`?"),
                    None if names.is_empty() => "remove the flag".to_string(),
                    None => format!(
                        "{} takes {}",
                        i.keyword,
                        names
                            .iter()
                            .map(|n| format!("--{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                return Err(Problem::new(
                    flag.pos,
                    format!("unknown flag `--{}` for {}", flag.name, i.keyword),
                )
                .hint(hint));
            };
            if *takes_value && flag.value.is_none() {
                return Err(
                    Problem::new(flag.pos, format!("`--{}` needs a value", flag.name))
                        .hint(format!("write `--{}=VALUE`", flag.name)),
                );
            }
        }
        // Only --mount and --exclude may be given more than once.
        for (n, flag) in i.flags.iter().enumerate() {
            let again = i.flags[..n].iter().any(|f| f.name == flag.name);
            if again && !matches!(flag.name.as_str(), "mount" | "exclude") {
                return Err(
                    Problem::new(flag.pos, format!("`--{}` is given twice", flag.name))
                        .hint("keep one"),
                );
            }
        }
        Ok(i.flags.iter().collect())
    }
}

fn unknown_instruction(i: &Instruction) -> Problem {
    Problem::new(i.pos, format!("unknown instruction `{}`", i.keyword)).hint(
        match crate::spec::error::did_you_mean(&i.keyword, KEYWORDS.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("instructions are {}", KEYWORDS.join(", ")),
        },
    )
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

#[cfg(test)]
mod tests;
