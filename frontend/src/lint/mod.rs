//! The linter: warnings about specs that build, but not as their authors
//! likely meant (`stagecraft check`, `docker buildx build --call=check`).
//!
//! Rules work on the typed spec as written ([`Spec`]) and on the build
//! with every stage resolved ([`crate::resolve::resolve_all`]), so a rule
//! that judges a value (an image tag, a path) sees it after args, and one
//! that judges what the author wrote (an arg's use) sees the text. Each
//! rule has a stable name, a one-line description and a section in
//! docs/lint.md; a spec turns rules off with `lint: {skip: [Name]}` and
//! makes warnings fail the check with `lint: {error: true}`.

mod context;
mod report;
mod rules;
mod shell;
mod text;

use std::collections::BTreeSet;

pub use context::Context;
pub use report::{buildkit_results, buildkit_spec_error, write_warnings, LintAnswer, LINT_VERSION};
pub use rules::RULES;

use crate::options::CompileOptions;
use crate::spec::error::{did_you_mean, Problem};
use crate::spec::{Pos, Spec, SpecError};

/// Where the rules are documented; each rule's section is its name in
/// lower case (`docs/lint.md#unusedstage`).
pub const DOCS: &str = "docs/lint.md";

/// A lint rule: what it is called and what it looks for.
pub struct Rule {
    /// Stable, CamelCase: what `lint: {skip: […]}` names.
    pub name: &'static str,
    /// One line: what the rule wants.
    pub description: &'static str,
    pub check: fn(&Context) -> Vec<Found>,
}

impl Rule {
    pub fn url(&self) -> String {
        format!("{DOCS}#{}", self.name.to_ascii_lowercase())
    }
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// What a rule found: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub pos: Pos,
    /// The last line of what is flagged (a step may span several).
    pub end_line: u32,
    pub message: String,
    pub hint: String,
}

impl Found {
    pub fn new(pos: Pos, message: impl Into<String>, hint: impl Into<String>) -> Found {
        Found {
            pos,
            end_line: pos.line,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Warning {
    pub rule: &'static Rule,
    pub found: Found,
}

/// The linter's answer for a spec that is valid.
#[derive(Debug, Clone)]
pub struct Report {
    /// In file order.
    pub warnings: Vec<Warning>,
    /// `lint: {error: true}`, where it is written, when warnings are errors.
    pub error_at: Option<Pos>,
}

impl Report {
    /// The error the warnings make under `lint: {error: true}`, if any.
    pub fn failure(&self, spec: &Spec) -> Option<SpecError> {
        let pos = self.error_at?;
        if self.warnings.is_empty() {
            return None;
        }
        let names: BTreeSet<&str> = self.warnings.iter().map(|w| w.rule.name).collect();
        let names: Vec<&str> = names.into_iter().collect();
        let count = self.warnings.len();
        let plural = if count == 1 { "" } else { "s" };
        let problem = Problem::new(
            pos,
            format!(
                "{count} lint warning{plural} ({}) and `lint: {{error: true}}`",
                names.join(", ")
            ),
        )
        .hint("fix what the warnings say, or list the rules under `lint: {skip: […]}`");
        Some(problem.in_file(&spec.file, &spec.text))
    }
}

/// Lints `spec` for the build `options` describe (its `--target`, or the
/// default one, is the final image). `ignore` holds the `.dockerignore`
/// patterns of the context. An invalid spec, or a `lint:` section naming
/// no rule, is an error.
pub fn lint(spec: &Spec, options: &CompileOptions, ignore: &[String]) -> Result<Report, SpecError> {
    let build = crate::resolve::resolve_all(spec, options)?;
    let skipped = skipped_rules(spec).map_err(|p| p.in_file(&spec.file, &spec.text))?;
    let context = Context::new(spec, &build, ignore);
    let mut warnings = Vec::new();
    for rule in RULES.iter().filter(|r| !skipped.contains(r.name)) {
        warnings.extend(
            (rule.check)(&context)
                .into_iter()
                .map(|found| Warning { rule, found }),
        );
    }
    warnings.sort_by(|a, b| {
        (a.found.pos, a.rule.name, &a.found.message).cmp(&(
            b.found.pos,
            b.rule.name,
            &b.found.message,
        ))
    });
    // The variants of a matrix stage are written once: say it once.
    warnings.dedup_by(|a, b| {
        (a.found.pos, a.rule.name, &a.found.message) == (b.found.pos, b.rule.name, &b.found.message)
    });
    Ok(Report {
        warnings,
        error_at: spec.lint.error.as_ref().filter(|e| e.value).map(|e| e.pos),
    })
}

/// The rule names `lint: {skip: […]}` turns off (`all`: every rule).
fn skipped_rules(spec: &Spec) -> Result<BTreeSet<&'static str>, Problem> {
    let mut skipped = BTreeSet::new();
    for name in &spec.lint.skip {
        if name.value == "all" {
            skipped.extend(RULES.iter().map(|r| r.name));
            continue;
        }
        match RULES.iter().find(|r| r.name == name.value) {
            Some(rule) => {
                skipped.insert(rule.name);
            }
            None => {
                let problem =
                    Problem::new(name.pos, format!("`{}` is not a lint rule", name.value));
                let names = RULES.iter().map(|r| r.name);
                return Err(match did_you_mean(&name.value, names) {
                    Some(near) => problem.hint(format!("did you mean `{near}`?")),
                    None => problem.hint(format!(
                        "rules are listed in {DOCS}; `all` skips every rule"
                    )),
                });
            }
        }
    }
    Ok(skipped)
}
