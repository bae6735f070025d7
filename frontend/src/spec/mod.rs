//! The build spec: YAML in, a validated [`model::Spec`] out.
//!
//! `syntax` mirrors the file (and generates the JSON Schema), `validate`
//! checks meaning and builds the `model`, `args` handles `${NAME}`
//! references, and `error` makes every failure point at a line and column.

pub mod args;
pub mod error;
pub mod model;
pub mod syntax;
mod validate;

pub use error::SpecError;
pub use model::*;
pub use validate::{parse_duration, parse_port, parse_size};

use error::{did_you_mean, Problem};

/// Larger specs are refused before parsing: 10,000 steps fit in well under
/// a megabyte, and a bound keeps hostile input from costing time or memory.
pub const MAX_SPEC_BYTES: usize = 4 << 20;

/// Parses and validates a spec. `file` is the name used in messages.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Spec, SpecError> {
    let start = Pos { line: 1, column: 1 };
    if bytes.len() > MAX_SPEC_BYTES {
        return Err(Problem::new(
            start,
            format!(
                "the spec is {} bytes; the limit is {} bytes",
                bytes.len(),
                MAX_SPEC_BYTES
            ),
        )
        .hint("is this the right file? split very large generated specs")
        .in_file(file, ""));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
        let column = (before.len()
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1)) as u32
            + 1;
        Problem::new(Pos { line, column }, "the spec is not UTF-8 text")
            .hint("save the file as UTF-8")
            .in_file(file, "")
    })?;
    if text.contains('\0') {
        return Err(Problem::new(
            start,
            "the spec contains NUL bytes; it looks like a binary file",
        )
        .in_file(file, ""));
    }
    let syntax: syntax::SpecFile = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| yaml_problem(&e).in_file(file, text))?;
    let mut spec = validate::validate(syntax, text).map_err(|p| p.in_file(file, text))?;
    spec.file = file.to_string();
    spec.text = text.to_string();
    Ok(spec)
}

fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = 10_000;
    budget.max_anchors = 10_000;
    budget.max_nodes = 500_000;
    budget.max_depth = 64;
    budget.max_documents = 1;
    serde_saphyr::options! {
        budget: Some(budget),
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// Rewrites the YAML reader's error in the spec's vocabulary, with a
/// did-you-mean for unknown keys and values.
fn yaml_problem(e: &serde_saphyr::Error) -> Problem {
    let location = e.location();
    let pos = location
        .map(|l| Pos {
            line: (l.line() as u32).max(1),
            column: (l.column() as u32).max(1),
        })
        .unwrap_or(Pos { line: 1, column: 1 });
    let rendered = e.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
    });
    let message = strip_location(&rendered);
    if let Some((word, expected)) = unknown_name(message, "unknown field `") {
        let problem = Problem::new(pos, format!("unknown key `{word}`"));
        return with_suggestion(problem, &word, &expected, "valid keys here");
    }
    if let Some((word, expected)) = unknown_name(message, "unknown variant `") {
        let problem = Problem::new(pos, format!("unknown value `{word}`"));
        return with_suggestion(problem, &word, &expected, "expected one of");
    }
    if message.contains("duplicate mapping key") {
        let key = message
            .split("duplicate mapping key: ")
            .nth(1)
            .unwrap_or("")
            .split(',')
            .next()
            .unwrap_or("");
        return Problem::new(pos, format!("duplicate key `{key}`"))
            .hint("each key may appear once in a mapping; remove or rename one");
    }
    if message.contains("tabs disallowed") {
        return Problem::new(pos, "tab character in indentation")
            .hint("YAML indents with spaces only");
    }
    if message.to_ascii_lowercase().contains("budget") || message.contains("depth") {
        return Problem::new(
            pos,
            format!("the spec is too large or too deeply nested: {message}"),
        )
        .hint("specs are limited in nesting depth, aliases and nodes; expand fewer aliases");
    }
    if message.contains("missing field") {
        return Problem::new(pos, message.replace("missing field", "missing key"));
    }
    Problem::new(pos, message.to_string())
}

fn with_suggestion(problem: Problem, word: &str, expected: &[String], label: &str) -> Problem {
    let list = expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(word, expected.iter().map(String::as_str)) {
        Some(near) => problem.hint(format!("did you mean `{near}`? ({label}: {list})")),
        None if expected.is_empty() => problem,
        None => problem.hint(format!("{label}: {list}")),
    }
}

/// `unknown field `form`, expected one of run, to` → ("form", [run, to]).
fn unknown_name(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = &message[message.find(prefix)? + prefix.len()..];
    let (word, rest) = rest.split_once('`')?;
    let expected = rest
        .split_once("expected one of ")
        .map(|(_, list)| list)
        .or_else(|| rest.split_once("expected ").map(|(_, one)| one))
        .unwrap_or("");
    let expected = expected
        .split(", ")
        .map(|e| e.trim().trim_matches('`').to_string())
        .filter(|e| !e.is_empty() && !e.contains(' '))
        .collect();
    Some((word.to_string(), expected))
}

/// serde-saphyr appends ` at line N, column M`; we report the position ourselves.
fn strip_location(message: &str) -> &str {
    let first_line = message.lines().next().unwrap_or(message);
    let without_suffix = match first_line.rfind(" at line ") {
        Some(i) => &first_line[..i],
        None => first_line,
    };
    match without_suffix.strip_prefix("error: ") {
        Some(rest) => rest
            .split_once(": ")
            .filter(|(head, _)| head.starts_with("line "))
            .map_or(rest, |(_, m)| m),
        None => without_suffix,
    }
}

/// JSON Schema of spec v1, generated from the same types that parse it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(syntax::SpecFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is plain JSON");
    text.push('\n');
    text
}
