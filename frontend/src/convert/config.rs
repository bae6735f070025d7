//! Expansion helpers, and the instructions that change a stage's state:
//! ENV, WORKDIR and USER.

use super::assemble::{OutStage, OutStep, StepKind};
use super::parse::Instruction;
use super::state::resolve;
use super::words::{expand, split_words, Mode, Value, Vars};
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;
use crate::spec::Pos;

/// YAML's limit on the length of a key.
const MAX_KEY_CHARS: usize = 1024;

/// An owner the spec accepts: `user`, `uid`, `user:group` or `uid:gid`.
pub fn valid_owner(text: &str) -> bool {
    match text.split_once(':') {
        Some((u, g)) => !u.is_empty() && !g.is_empty() && !g.contains(':'),
        None => !text.is_empty(),
    }
}

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
            Problem::new(pos, message)
                .hint("write the value out, or use a build arg (ARG) that the spec can substitute")
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

    /// `KEY=value …` or the legacy `KEY value` of ENV and LABEL, expanded.
    pub fn pairs(
        &self,
        i: &Instruction,
        vars: &dyn Vars,
        base_refs: bool,
    ) -> Result<Vec<(String, Value)>, Problem> {
        let words = split_words(&i.rest, self.escape);
        let Some(first) = words.first() else {
            return Err(
                Problem::new(i.pos, format!("{} needs KEY=value", i.keyword))
                    .hint(format!("write `{} KEY=value`", i.keyword)),
            );
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
            vec![(
                rest[..key_len].to_string(),
                rest[key_len..].trim_start().to_string(),
            )]
        };
        let mut out = Vec::new();
        for (key, value) in raw {
            let key = self.expand_at(&key, vars, i.rest_pos, false)?;
            let key = self.literal(&key, i.rest_pos, "the key")?;
            if key.is_empty() {
                return Err(Problem::new(i.rest_pos, "empty key").hint("write KEY=value"));
            }
            if key.chars().count() > MAX_KEY_CHARS {
                return Err(Problem::new(
                    i.rest_pos,
                    format!("a key longer than {MAX_KEY_CHARS} characters"),
                )
                .hint("YAML keys are at most 1024 characters; shorten it"));
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
                return Err(
                    Problem::new(i.rest_pos, format!("invalid variable name `{key}`"))
                        .hint("names cannot hold `=`"),
                );
            }
            stage.state.set_env(&key, value);
        }
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
        Ok(())
    }

    pub fn workdir(&mut self, stage: &mut StageBuild, i: &Instruction) -> Result<(), Problem> {
        self.no_flags(i)?;
        if i.rest.is_empty() {
            return Err(Problem::new(i.pos, "WORKDIR needs a path").hint("write `WORKDIR /app`"));
        }
        let path = self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?;
        let Some(dir) = resolve(stage.state.workdir.as_ref(), &path) else {
            return Err(Problem::new(
                i.rest_pos,
                "a relative WORKDIR on an image whose working directory is unknown",
            )
            .hint("write an absolute path"));
        };
        stage.state.workdir = Some(dir.clone());
        stage.state.workdir_here = true;
        if dir.literal().as_deref() == Some("/") {
            stage
                .out
                .pending_comments
                .extend(i.comments.iter().cloned());
            return Ok(());
        }
        // The Dockerfile frontend creates the directory, owned by the
        // current user.
        let mut node = Node::map();
        node.set("mkdir", Node::str(dir.spec_text()));
        match &stage.state.user {
            Some(u) if u.literal().is_none_or(|t| !t.is_empty()) => {
                if u.literal().is_some_and(|t| !valid_owner(&t)) {
                    return Err(Problem::new(
                        i.pos,
                        format!(
                            "the current USER `{}` is no valid owner for WORKDIR's directory",
                            u.spec_text()
                        ),
                    )
                    .hint("write USER as `user`, `uid`, `user:group` or `uid:gid`"));
                }
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
            return Err(Problem::new(i.pos, "USER needs a user")
                .hint("write `USER name` or `USER uid[:gid]`"));
        }
        stage.state.user = Some(self.expand_at(&i.rest, &stage.state, i.rest_pos, false)?);
        stage.state.user_here = true;
        stage
            .out
            .pending_comments
            .extend(i.comments.iter().cloned());
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
