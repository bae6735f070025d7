//! The build spec: YAML in, a validated [`model::Spec`] out.
//!
//! `syntax` mirrors the file (and generates the JSON Schema), `validate`
//! checks its shape and builds the `model`, `fields` says which fields take
//! `${NAME}` and `args` how they are read, and `error` makes every failure
//! point at a line and column. Values that args may change are checked by
//! [`crate::resolve`], which substitutes them.

pub mod args;
pub mod error;
pub mod fields;
pub mod model;
pub mod syntax;
pub(crate) mod validate;
mod yaml_error;

pub use error::SpecError;
pub use model::*;
pub use validate::{parse_duration, parse_port, parse_size};

use error::Problem;

/// Larger specs are refused before parsing: 10,000 steps fit in well under
/// a megabyte, and a bound keeps hostile input from costing time or memory.
pub const MAX_SPEC_BYTES: usize = 4 << 20;

/// Parses and validates a spec. `file` is the name used in messages.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Spec, SpecError> {
    let text = spec_text(bytes).map_err(|p| p.in_file(file, ""))?;
    let syntax = syntax::SpecFile::read(text, yaml_error::yaml_options()).map_err(|e| {
        let problem = match e {
            syntax::ReadError::Yaml(e) => yaml_error::yaml_problem(&e, text),
            syntax::ReadError::TooManyStages(at) => Problem::new(
                at,
                format!("the spec has more than {} stages", syntax::MAX_STAGES),
            )
            .hint("is this the right file? split very large generated specs"),
        };
        problem.in_file(file, text)
    })?;
    let mut spec = validate::validate(syntax, text).map_err(|p| p.in_file(file, text))?;
    spec.file = file.to_string();
    spec.text = text.to_string();
    Ok(spec)
}

/// The spec's bytes as text, refusing what cannot be a spec (too large,
/// binary, not UTF-8, empty) before the YAML reader sees it.
fn spec_text(bytes: &[u8]) -> Result<&str, Problem> {
    let start = Pos { line: 1, column: 1 };
    if bytes.len() > MAX_SPEC_BYTES {
        return Err(Problem::new(
            start,
            format!(
                "the spec is larger than {} MiB, the limit",
                MAX_SPEC_BYTES >> 20
            ),
        )
        .hint("is this the right file? split very large generated specs"));
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(
            Problem::new(start, "the spec is UTF-16 text; it must be UTF-8")
                .hint("save the file as UTF-8"),
        );
    }
    if let Some(at) = bytes.iter().position(|b| *b == 0) {
        return Err(Problem::new(
            byte_pos(bytes, at),
            "the spec contains a NUL byte; it looks like a binary file",
        )
        .hint("give the YAML spec (`-f build.yaml`), not a binary"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        Problem::new(
            byte_pos(bytes, at),
            format!("the spec is not UTF-8 text (byte 0x{:02x})", bytes[at]),
        )
        .hint("save the file as UTF-8; it may be in Latin-1 or another legacy encoding")
    })?;
    let blank = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---");
    if blank {
        return Err(Problem::new(start, "the spec is empty")
            .hint("start with `version: 1` and a `stages:` mapping; see docs/spec.md"));
    }
    Ok(text)
}

/// Line and column (in characters) of byte `at`, for bytes that may not
/// be valid text.
fn byte_pos(bytes: &[u8], at: usize) -> Pos {
    let before = &bytes[..at];
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|b| **b == b'\n').count() as u32 + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count() as u32
        + 1;
    Pos { line, column }
}

/// JSON Schema of spec v1, generated from the same types that parse it.
pub fn json_schema() -> String {
    let mut schema = schemars::schema_for!(syntax::SpecFile);
    fields::mark_in_schema(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema is plain JSON");
    text.push('\n');
    text
}
