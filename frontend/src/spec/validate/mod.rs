//! Turns the syntax as written into the typed model, rejecting everything
//! that is well-formed YAML but not a meaningful spec.
//!
//! Only what can be judged without arg values is checked here: the shape
//! of each stage and step, and that every `${NAME}` is declared. Checks of
//! values that args may change (image references, stage names in `from`,
//! URLs, ports, platforms, paths) run on the resolved spec
//! ([`crate::resolve`]), which `stagecraft check` resolves with the defaults.

mod image;
mod matrix;
mod mount;
mod names;
mod step;

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::args::{self, SubstError, BUILTIN_ARGS};
use super::error::{did_you_mean, Problem};
use super::fields::{self, Substitution};
use super::model::*;
use super::syntax::{self, SpecFile, StageSyntax};

pub use names::{is_identifier, is_stage_name, name_list, parse_duration, parse_port, parse_size};

pub fn validate(file: SpecFile, text: &str) -> Result<Spec, Problem> {
    let top = Pos { line: 1, column: 1 };
    match &file.version {
        None => {
            return Err(Problem::new(top, "missing `version`")
                .hint("add `version: 1` at the top of the file"))
        }
        Some(v) if v.value != 1 => {
            return Err(
                Problem::new(pos(v), format!("unsupported spec version {}", v.value))
                    .hint("this Stagecraft reads `version: 1`"),
            )
        }
        Some(_) => {}
    }
    let args = declare_args(file.args)?;
    let stages_syntax = match file.stages {
        Some(s) if !s.0.is_empty() => s.0,
        Some(_) => {
            return Err(Problem::new(
                top_level_key(text, "stages").unwrap_or(top),
                "`stages` is empty",
            )
            .hint("define at least one stage, e.g. `app: {from: busybox:latest}`"))
        }
        None => {
            return Err(Problem::new(top, "missing `stages`")
                .hint("add a `stages:` mapping with at least one stage"))
        }
    };
    let stage_names: Vec<String> = stages_syntax.iter().map(|(k, _)| k.value.clone()).collect();
    let checker = Checker {
        lines: text.lines().collect(),
        args: &args,
        stage_set: stage_names.iter().cloned().collect(),
        stage_names,
    };
    let mut stages = Vec::with_capacity(stages_syntax.len());
    let mut matrices = Vec::new();
    for (name, mut stage) in stages_syntax {
        let Some(m) = stage.value.matrix.take() else {
            stages.push(checker.stage(name, stage, &[])?);
            continue;
        };
        let keys = matrix::read(m, &args)?;
        let names: Vec<String> = keys.keys.iter().map(|(k, _)| k.clone()).collect();
        let (variants, m) = matrix::expand(checker.stage(name, stage, &names)?, &keys)?;
        stages.extend(variants);
        matrices.push(m);
    }
    let checker = Checker {
        stage_set: stages.iter().map(|s| s.name.clone()).collect(),
        stage_names: stages.iter().map(|s| s.name.clone()).collect(),
        ..checker
    };
    unique_stage_names(&stages, &matrices)?;
    let target = match file.target {
        Some(t) => {
            if let Some(m) = matrices.iter().find(|m| m.name == t.value) {
                return Err(one_variant_please(m, pos(&t), "target"));
            }
            checker.stage_ref(&t.value, pos(&t), "target")?;
            Some(Located::new(t.value.clone(), pos(&t)))
        }
        None => None,
    };
    drop(checker);
    let lint = file
        .lint
        .map_or_else(LintSettings::default, |l| LintSettings {
            skip: l
                .skip
                .unwrap_or_default()
                .iter()
                .map(|s| Located::new(s.value.clone(), pos(s)))
                .collect(),
            error: l.error.map(|e| Located::new(e.value, pos(&e))),
        });
    Ok(Spec {
        file: String::new(),
        text: String::new(),
        args,
        stages,
        matrices,
        target,
        lint,
    })
}

fn declare_args(args: Option<syntax::Map<Spanned<String>>>) -> Result<Vec<ArgDecl>, Problem> {
    let mut out = Vec::new();
    for (name, default) in args.map(|m| m.0).unwrap_or_default() {
        let p = pos(&name);
        if !is_identifier(&name.value) {
            return Err(
                Problem::new(p, format!("invalid arg name `{}`", name.value))
                    .hint("arg names are letters, digits and `_`, not starting with a digit"),
            );
        }
        if BUILTIN_ARGS.contains(&name.value.as_str()) {
            return Err(Problem::new(
                p,
                format!("`{}` is a built-in arg and cannot be declared", name.value),
            )
            .hint("it is always available; set it with --platform"));
        }
        out.push(ArgDecl {
            name: name.value,
            default: default.value,
            pos: p,
        });
    }
    Ok(out)
}

struct Checker<'a> {
    lines: Vec<&'a str>,
    args: &'a [ArgDecl],
    /// In file order, for messages.
    stage_names: Vec<String>,
    /// The same, for lookups.
    stage_set: BTreeSet<String>,
}

impl Checker<'_> {
    /// `matrix_args`: names the stage's `matrix` adds to the args.
    fn stage(
        &self,
        name: Spanned<String>,
        stage: Spanned<StageSyntax>,
        matrix_args: &[String],
    ) -> Result<Stage, Problem> {
        let p = pos(&name);
        if !is_stage_name(&name.value) {
            return Err(
                Problem::new(p, format!("invalid stage name `{}`", name.value)).hint(format!(
                    "stage names match [a-z0-9][a-z0-9._-]*, e.g. `{}`",
                    names::stage_name_like(&name.value)
                )),
            );
        }
        if name.value == "scratch" {
            return Err(Problem::new(p, "`scratch` is reserved for the empty image")
                .hint("rename the stage, e.g. `scratch-base`"));
        }
        let stage_pos = pos(&stage);
        let s = stage.value;
        let from = s.from.ok_or_else(|| {
            Problem::new(stage_pos, format!("stage `{}` has no `from`", name.value))
                .hint("add `from: <image>`, `from: <stage>` or `from: scratch`")
        })?;
        let mut steps = Vec::new();
        for step in s.steps.unwrap_or_default() {
            steps.push(self.step(step)?);
        }
        let mut stage = Stage {
            lines: self.block_lines(p, p.column as usize),
            from: located(from),
            platform: s.platform.map(located),
            description: s.description,
            workdir: s.workdir.map(located),
            env: self.map(s.env, true)?,
            user: s.user.map(located),
            shell: s.shell.map(|sh| sh.value),
            steps,
            image: self.image(s.image)?,
            name: name.value,
            pos: p,
            variant: None,
        };
        fields::each_arg_text(
            &mut stage,
            &mut |field, text| match fields::substitution(field) {
                Some(Substitution::Args) => self.check_refs(&text.value, text.pos, matrix_args),
                _ => args::references(&text.value)
                    .map(|_| ())
                    .map_err(|e| subst_problem(e, text.pos)),
            },
        )?;
        Ok(stage)
    }

    fn stage_ref(&self, name: &str, p: Pos, what: &str) -> Result<(), Problem> {
        if self.stage_set.contains(name) {
            return Ok(());
        }
        let problem = Problem::new(p, format!("{what} `{name}` is not a stage of this spec"));
        Err(
            match did_you_mean(name, self.stage_names.iter().map(String::as_str)) {
                Some(near) => problem.hint(format!("did you mean `{near}`?")),
                None => problem.hint(format!("stages are: {}", name_list(&self.stage_names))),
            },
        )
    }

    /// Every `${NAME}` in a value must be a declared (or built-in) arg, or
    /// a name of the stage's matrix.
    fn check_refs(&self, value: &str, p: Pos, matrix_args: &[String]) -> Result<(), Problem> {
        let names = args::references(value).map_err(|e| subst_problem(e, p))?;
        for name in names {
            if BUILTIN_ARGS.contains(&name.as_str())
                || self.args.iter().any(|a| a.name == name)
                || matrix_args.contains(&name)
            {
                continue;
            }
            let declared = self
                .args
                .iter()
                .map(|a| a.name.as_str())
                .chain(matrix_args.iter().map(String::as_str))
                .chain(BUILTIN_ARGS.iter().copied());
            let problem = Problem::new(p, format!("`${{{name}}}` is not a declared arg"));
            return Err(match did_you_mean(&name, declared) {
                Some(near) => problem.hint(format!("did you mean `{near}`?")),
                None => problem.hint(format!("declare it under `args:` (e.g. `{name}: \"\"`), or write `$${{{name}}}` for a literal `${{`")),
            });
        }
        Ok(())
    }

    /// An ordered `name: value` mapping (env, labels).
    fn map(
        &self,
        map: Option<syntax::Map<Spanned<String>>>,
        is_env: bool,
    ) -> Result<Vec<(String, Located<String>)>, Problem> {
        let mut out = Vec::new();
        for (key, value) in map.map(|m| m.0).unwrap_or_default() {
            if is_env && (key.value.is_empty() || key.value.contains(['=', '\0'])) {
                return Err(Problem::new(
                    pos(&key),
                    format!("invalid environment variable name `{}`", key.value),
                ));
            }
            out.push((key.value, located(value)));
        }
        Ok(out)
    }

    /// Lines of the block that starts at `start`: the following lines
    /// indented at least `min_indent`, trailing blank and comment lines
    /// excluded. A stage's body is indented deeper than its key; a step's
    /// keys sit at the column of its first key.
    fn block_lines(&self, start: Pos, min_indent: usize) -> LineRange {
        let mut end = start.line;
        for (index, line) in self.lines.iter().enumerate().skip(start.line as usize) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if line.len() - trimmed.len() < min_indent {
                break;
            }
            end = index as u32 + 1;
        }
        LineRange {
            start: start.line,
            end,
        }
    }
}

/// A matrix variant's name may not be another stage's.
fn unique_stage_names(stages: &[Stage], matrices: &[Matrix]) -> Result<(), Problem> {
    for m in matrices {
        for variant in &m.variants {
            if let Some(other) = stages
                .iter()
                .find(|s| &s.name == variant && s.variant.is_none())
            {
                return Err(Problem::new(
                    m.pos,
                    format!("the matrix of `{}` makes a stage `{variant}`, which is also a stage of the spec (line {})", m.name, other.pos.line),
                )
                .hint("rename one of them"));
            }
        }
    }
    Ok(())
}

/// A matrix stage named where one stage is meant.
pub(crate) fn one_variant_please(m: &Matrix, at: Pos, what: &str) -> Problem {
    Problem::new(
        at,
        format!(
            "{what} `{}` is a matrix of {} stages; name one of them",
            m.name,
            m.variants.len()
        ),
    )
    .hint(format!("its stages are: {}", name_list(&m.variants)))
}

fn subst_problem(e: SubstError, p: Pos) -> Problem {
    match e {
        SubstError::Unknown(name) => Problem::new(p, format!("`${{{name}}}` has no value")),
        SubstError::Malformed(msg) => Problem::new(p, msg).hint(
            "write `${NAME}`, `${NAME:-default}` or `${NAME:+alternative}`; `$$` is a literal `$`",
        ),
    }
}

/// Where a top-level `key:` is written, for checks on a whole value.
fn top_level_key(text: &str, key: &str) -> Option<Pos> {
    let prefix = format!("{key}:");
    text.lines()
        .position(|l| l.starts_with(&prefix))
        .map(|i| Pos {
            line: i as u32 + 1,
            column: 1,
        })
}

pub(crate) fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
    }
}

fn located(s: Spanned<String>) -> Located<String> {
    let p = pos(&s);
    Located::new(s.value, p)
}
