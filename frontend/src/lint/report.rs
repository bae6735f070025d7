//! The linter's answer in the two forms it is read in: lines on stderr
//! (`stagecraft check`) and BuildKit's `frontend.lint` result
//! (`LintResults` of moby/buildkit frontend/subrequests/lint), which
//! buildx prints for `--call=check`.

use std::io::Write;

use base64::Engine;
use serde_json::{json, Value};

use super::{Report, Warning};
use crate::spec::{Pos, Spec, SpecError};

/// The version of the `frontend.lint` request answered.
pub const LINT_VERSION: &str = "1.0.0";

/// `file:line:col: warning: Rule: message` and a hint line per warning.
pub fn write_warnings(out: &mut dyn Write, spec: &Spec, report: &Report) -> std::io::Result<()> {
    for w in &report.warnings {
        let f = &w.found;
        writeln!(
            out,
            "{}:{}:{}: warning: {}: {}\n  hint: {} ({})",
            spec.file,
            f.pos.line,
            f.pos.column,
            w.rule.name,
            f.message,
            f.hint,
            w.rule.url()
        )?;
    }
    Ok(())
}

/// A lint result: its JSON (`result.json`), the text BuildKit's printer
/// makes of it (`result.txt`) and the status buildx exits with.
pub struct LintAnswer {
    pub json: Value,
    pub text: String,
    pub status: u8,
}

/// The result for a valid spec: its warnings, and under
/// `lint: {error: true}` the error they make.
pub fn buildkit_results(spec: &Spec, report: &Report) -> LintAnswer {
    let lines: Vec<&str> = spec.text.lines().collect();
    let warnings: Vec<Value> = report.warnings.iter().map(|w| warning(w, &lines)).collect();
    let mut json = json!({"warnings": warnings, "sources": [source(&spec.file, &spec.text)]});
    if let Some(error) = report.failure(spec) {
        json["buildError"] = build_error(&error);
    }
    answer(json, &spec.file, &spec.text)
}

/// The result for a spec that cannot be read or resolved: no warnings,
/// and the error with its place, which buildx prints and fails with.
pub fn buildkit_spec_error(error: &SpecError, text: &str) -> LintAnswer {
    let json = json!({
        "warnings": [],
        "sources": [source(&error.file, text)],
        "buildError": build_error(error),
    });
    answer(json, &error.file, text)
}

fn answer(json: Value, file: &str, text: &str) -> LintAnswer {
    let failed = !json["warnings"].as_array().is_none_or(|w| w.is_empty())
        || json.get("buildError").is_some();
    LintAnswer {
        text: print_warnings(&json, file, text),
        json,
        status: u8::from(failed),
    }
}

fn warning(w: &Warning, lines: &[&str]) -> Value {
    let f = &w.found;
    json!({
        "ruleName": w.rule.name,
        "description": w.rule.description,
        "url": w.rule.url(),
        "detail": format!("{}\nhint: {}", f.message, f.hint),
        "location": location(f.pos, f.end_line, lines),
    })
}

/// `pb.Location`: lines from 1, characters from 0 (as in the Language
/// Server Protocol); the range runs to the end of the last line.
fn location(pos: Pos, end_line: u32, lines: &[&str]) -> Value {
    let end_line = end_line.max(pos.line);
    let end_character = lines
        .get((end_line as usize).wrapping_sub(1))
        .map_or(0, |l| l.chars().count());
    json!({
        "sourceIndex": 0,
        "ranges": [{
            "start": {"line": pos.line, "character": pos.column.saturating_sub(1)},
            "end": {"line": end_line, "character": end_character},
        }],
    })
}

fn source(file: &str, text: &str) -> Value {
    json!({
        "filename": file,
        "data": base64::engine::general_purpose::STANDARD.encode(text),
        "language": "YAML",
    })
}

fn build_error(error: &SpecError) -> Value {
    let message = match &error.hint {
        Some(hint) => format!("{} ({hint})", error.headline()),
        None => error.headline(),
    };
    let line = error.pos.line.max(1);
    json!({
        "message": message,
        "location": {
            "sourceIndex": 0,
            "ranges": [{"start": {"line": line, "character": error.pos.column.saturating_sub(1)}, "end": {"line": line}}],
        },
    })
}

/// What BuildKit's `LintResults.PrintTo` writes: per warning, its rule,
/// URL and detail, then the lines around it.
fn print_warnings(json: &Value, file: &str, text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::new();
    for w in json["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\nWARNING: {} - {}\n{}\n",
            w["ruleName"].as_str().unwrap_or_default(),
            w["url"].as_str().unwrap_or_default(),
            w["detail"].as_str().unwrap_or_default()
        ));
        let range = &w["location"]["ranges"][0];
        let start = range["start"]["line"].as_u64().unwrap_or(0) as usize;
        let end = range["end"]["line"].as_u64().unwrap_or(0) as usize;
        out.push_str(&print_source(file, &lines, start, end));
    }
    out
}

/// BuildKit's `errdefs.Source.Print`: the lines `start..=end` marked
/// `>>>`, with context around them.
pub fn print_source(file: &str, lines: &[&str], start: usize, end: usize) -> String {
    if start < 1 || start > lines.len() {
        return String::new();
    }
    let marked = start..=end.max(start);
    let (mut first, mut last) = (start, end.max(start).min(lines.len()));
    let pad = if last == start { 4 } else { 2 };
    let mut p = 0;
    while p < pad {
        if first > 1 {
            first -= 1;
            p += 1;
        }
        if last != lines.len() {
            last += 1;
            p += 1;
        }
        p += 1;
    }
    let mut out = format!("{file}:{start}\n--------------------\n");
    for i in first..=last {
        let prefix = if marked.contains(&i) { ">>>" } else { "   " };
        out.push_str(&format!(" {i:>3} | {prefix} {}\n", lines[i - 1]));
    }
    out.push_str("--------------------\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_source_as_buildkit_does() {
        let lines: Vec<&str> = (1..=10).map(|_| "x").collect();
        let printed = print_source("f.yaml", &lines, 5, 5);
        let numbers: Vec<&str> = printed
            .lines()
            .skip(2)
            .filter(|l| l.contains('|'))
            .map(|l| l[..5].trim())
            .collect();
        // Go's loop: pad 4 for one line, counting a step even when one
        // side cannot move.
        assert_eq!(numbers, vec!["3", "4", "5", "6", "7"]);
        assert!(printed.starts_with("f.yaml:5\n--------------------\n"));
        assert!(printed.contains("   5 | >>> x\n"));
    }
}
