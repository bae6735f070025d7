//! The YAML reader's errors in the spec's vocabulary: what was expected,
//! what was found, and how to fix it.
//!
//! Which error it is comes from the reader's structured error: serde-saphyr's
//! `Error` variants, and for the scanner's errors granit-parser's
//! `ErrorKind`. The key being read is not part of either; `around` reads it
//! off the text at the position, as a reader of the file would.

mod around;

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::{ErrorKind, ScanError};
use serde_saphyr::localizer::ExternalMessageSource;
use serde_saphyr::Error;

use super::error::{did_you_mean, Problem};
use super::model::Pos;
use around::{shorten, Source};

/// Limits of the YAML reader; `yaml_options` applies them and messages name them.
pub const MAX_DEPTH: usize = 64;
/// A 10,000-step spec has about 50,000 nodes.
pub const MAX_NODES: usize = 250_000;
pub const MAX_ALIASES: usize = 10_000;
/// Values copied in by aliases: sharing a few steps among stages takes
/// thousands; an alias bomb takes billions.
pub const MAX_ALIAS_EXPANSION: usize = 100_000;
/// Longest key YAML reads without quotes (the scanner's simple-key lookahead).
const MAX_PLAIN_KEY: usize = 1024;

pub fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_nodes = MAX_NODES;
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_documents = 1;
    serde_saphyr::options! {
        budget: Some(budget),
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_ALIAS_EXPANSION,
        },
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        with_snippet: false,
    }
}

/// Translates one reader error; `text` is the spec, for what was found.
pub fn yaml_problem(e: &Error, text: &str) -> Problem {
    let pos = e
        .location()
        .map(|l| Pos {
            line: (l.line() as u32).max(1),
            column: (l.column() as u32).max(1),
        })
        .unwrap_or(Pos { line: 1, column: 1 });
    describe(e, pos, text)
}

fn describe(e: &Error, pos: Pos, text: &str) -> Problem {
    let at = Source::new(text, pos);
    match e {
        // An error met while expanding an alias: report the inner one at
        // the place the alias is used.
        Error::AliasError { error, .. } => describe(error, pos, text),
        Error::Budget { breach, .. } => budget_problem(breach, pos),
        Error::AliasReplayLimitExceeded { .. }
        | Error::AliasExpansionLimitExceeded { .. }
        | Error::AliasReplayStackDepthExceeded { .. }
        | Error::AliasReplayCounterOverflow { .. } => alias_bomb(pos),
        Error::MultipleDocuments { .. } => second_document(pos),
        Error::Unexpected { expected, .. } => wrong_type(&at, expected_kind(expected), None),
        Error::InvalidScalar { ty, .. } => wrong_type(&at, scalar_kind(ty), None),
        Error::SerdeInvalidType {
            expected,
            unexpected,
            ..
        }
        | Error::SerdeInvalidValue {
            expected,
            unexpected,
            ..
        } => wrong_type(&at, expected, Some(serde_found(unexpected))),
        Error::SerdeUnknownField {
            field, expected, ..
        } => belongs_under_image(pos, field, expected)
            .unwrap_or_else(|| unknown_name(pos, "key", field, expected, "valid keys here")),
        Error::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let what = match at.owner() {
                Some(owner) => format!("{owner} value"),
                None => "value".to_string(),
            };
            unknown_name(pos, &what, variant, expected, "expected one of")
        }
        Error::SerdeMissingField { field, .. } => {
            Problem::new(pos, format!("missing key `{field}`")).hint(missing_key_hint(field))
        }
        Error::DuplicateMappingKey { key, .. } => duplicate_key(&at, key.as_deref()),
        Error::UnknownAnchor { .. } => unknown_anchor(&at),
        Error::Eof { .. } => Problem::new(pos, "the file ends in the middle of a value")
            .hint("close every open `[`, `{` and quote"),
        Error::Message { msg, .. } => custom_message(pos, msg),
        Error::ExternalMessage { source, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(scan) => scanner_problem(&at, scan),
            _ => problem_in_own_words(&at, &rendered(e)),
        },
        _ => problem_in_own_words(&at, &rendered(e)),
    }
}

fn budget_problem(breach: &BudgetBreach, pos: Pos) -> Problem {
    match breach {
        BudgetBreach::Documents { .. } => second_document(pos),
        BudgetBreach::Depth { .. } => too_deep(pos),
        BudgetBreach::Nodes { .. } | BudgetBreach::Events { .. } => Problem::new(
            pos,
            format!(
                "the spec has more than {MAX_NODES} YAML values, counting every alias expansion"
            ),
        )
        .hint("expand fewer aliases (`*name`), or split the spec; is this a generated file?"),
        BudgetBreach::Aliases { .. } | BudgetBreach::Anchors { .. } => Problem::new(
            pos,
            format!("the spec uses more than {MAX_ALIASES} YAML anchors or aliases"),
        )
        .hint("write the values out, or share them through fewer anchors"),
        other => Problem::new(
            pos,
            format!("the spec exceeds a YAML reader limit ({other:?})"),
        )
        .hint("is this the right file? specs are small hand-written YAML files"),
    }
}

fn alias_bomb(pos: Pos) -> Problem {
    Problem::new(
        pos,
        format!("YAML aliases expand to more than {MAX_ALIAS_EXPANSION} values by here (an alias bomb?)"),
    )
    .hint("expand fewer aliases (`*name`), or write the values out")
}

fn too_deep(pos: Pos) -> Problem {
    Problem::new(
        pos,
        format!("the YAML is nested more than {MAX_DEPTH} levels deep"),
    )
    .hint("a spec needs a few levels of nesting; is this a generated or damaged file?")
}

fn second_document(pos: Pos) -> Problem {
    Problem::new(
        pos,
        "a spec is one YAML document, but a second one starts here",
    )
    .hint("remove this `---` line and what follows it, or merge the two documents")
}

fn duplicate_key(at: &Source, key: Option<&str>) -> Problem {
    let indent = at.pos.column as usize - 1;
    let parent = at.parent_key(indent, false);
    let name = key.map_or(String::new(), |k| format!(" `{k}`"));
    let message = match parent {
        Some("stages") => format!("duplicate stage name{name}"),
        Some(parent) => format!("duplicate key{name} in `{parent}`"),
        None => format!("duplicate key{name}"),
    };
    let first = key
        .and_then(|k| at.earlier_key(k, indent))
        .map_or(String::new(), |line| {
            format!("the first is at line {line}; ")
        });
    Problem::new(at.pos, message).hint(format!(
        "{first}each key may appear once in a mapping: remove or rename one of them"
    ))
}

fn unknown_anchor(at: &Source) -> Problem {
    let alias = at.token();
    let name = alias.trim_start_matches('*');
    Problem::new(
        at.pos,
        format!("alias `{alias}` refers to no anchor"),
    )
    .hint(format!(
        "define it before this line with `&{name}` on a value (an `x-` key at the top is a good place)"
    ))
}

fn unknown_name(pos: Pos, what: &str, word: &str, expected: &[&str], label: &str) -> Problem {
    let problem = Problem::new(pos, format!("unknown {what} `{word}`"));
    let list = expected
        .iter()
        .map(|e| format!("`{e}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(word, expected.iter().copied()) {
        Some(near) => problem.hint(format!("did you mean `{near}`? ({label}: {list})")),
        None if expected.is_empty() => problem,
        None => problem.hint(format!("{label}: {list}")),
    }
}

/// Image config keys written on the stage itself (`entrypoint:` beside
/// `from:`), where a Dockerfile user looks for them first.
fn belongs_under_image(pos: Pos, field: &str, expected: &[&str]) -> Option<Problem> {
    const IMAGE_KEYS: &[&str] = &[
        "entrypoint",
        "cmd",
        "expose",
        "healthcheck",
        "labels",
        "volumes",
        "stop_signal",
    ];
    let at_stage_level = expected.contains(&"image") && expected.contains(&"from");
    (at_stage_level && IMAGE_KEYS.contains(&field)).then(|| {
        Problem::new(pos, format!("`{field}` is not a stage key")).hint(format!(
            "`{field}` belongs under the stage's `image:` (the config of the image it makes): `image: {{{field}: …}}`"
        ))
    })
}

fn missing_key_hint(field: &str) -> String {
    match field {
        "type" => "add `type:` with one of `cache`, `secret`, `ssh`, `tmpfs`, `bind`".to_string(),
        "test" => "add e.g. `test: [CMD, /app, health]`".to_string(),
        _ => format!("add `{field}:`"),
    }
}

/// Errors our own visitors raise (`invalid mode …`) already say what was
/// expected; they get a fix.
fn custom_message(pos: Pos, msg: &str) -> Problem {
    let problem = Problem::new(pos, msg.to_string());
    if msg.starts_with(super::syntax::INVALID_MODE) {
        return problem.hint("write up to four octal digits (0-7), quoted: `\"0755\"`, `\"644\"`");
    }
    problem
}

/// Errors of the YAML scanner and parser, by kind.
fn scanner_problem(at: &Source, scan: &ScanError) -> Problem {
    if let Some(long_key) = at.long_key() {
        return long_key;
    }
    match scan.kind() {
        ErrorKind::TabNotAllowed
        | ErrorKind::TabInIndentation
        | ErrorKind::TabInBlockIndentation
        | ErrorKind::TabAtBlockScalarStart => Problem::new(at.pos, "tab character in indentation")
            .hint("YAML indents with spaces only; replace the tab with spaces"),
        ErrorKind::RecursionLimitExceeded => too_deep(at.pos),
        ErrorKind::ExpectedBlockMappingKey => Problem::new(
            at.pos,
            "the indentation here does not line up with the keys above it",
        )
        .hint("the keys of one mapping start in the same column; indent with spaces"),
        ErrorKind::UnclosedFlowCollection { .. }
        | ErrorKind::UnexpectedEofFlowSequence
        | ErrorKind::UnexpectedEofFlowMapping
        | ErrorKind::UnexpectedEofImplicitFlowMapping => {
            let bracket = at.split().1.chars().next().unwrap_or('[');
            let closing = if bracket == '{' { '}' } else { ']' };
            Problem::new(at.pos, format!("`{bracket}` is never closed"))
                .hint(format!("add the matching `{closing}`"))
        }
        ErrorKind::UnclosedQuotedScalar => {
            Problem::new(at.pos, "a quoted string starts here and is never closed")
                .hint("end the string with the same quote it starts with")
        }
        ErrorKind::InvalidIndentation
        | ErrorKind::InvalidBlockScalarIndent
        | ErrorKind::InvalidFlowScalarIndent
        | ErrorKind::InvalidQuotedScalarIndent => Problem::new(at.pos, scan.info())
            .hint("check the indentation: the keys of one mapping start in the same column"),
        ErrorKind::MappingValueNotAllowed | ErrorKind::InvalidMappingValueWhitespace => {
            Problem::new(at.pos, scan.info())
                .hint("quote the value if it contains `: `, or check the indentation")
        }
        _ => problem_in_own_words(at, &scan.info()),
    }
}

/// An error of a kind without words of ours: the reader's text, our hint.
fn problem_in_own_words(at: &Source, message: &str) -> Problem {
    if let Some(long_key) = at.long_key() {
        return long_key;
    }
    Problem::new(at.pos, message.to_string()).hint("check the YAML syntax around this place")
}

/// `expected X, found Y`, naming the key when it can be read off the text.
/// Our own visitors' errors point at the key rather than the value, and
/// say themselves what they found (`found`).
fn wrong_type(at: &Source, expected: &str, found: Option<String>) -> Problem {
    if let Some(long_key) = at.long_key() {
        return long_key;
    }
    let (owner, found) = match (at.key_here(), found) {
        (Some(key), Some(found)) => (Some(format!("`{key}`")), found),
        (_, found) => (at.owner(), found.unwrap_or_else(|| at.found())),
    };
    let message = match owner {
        Some(owner) => format!("{owner} must be {expected}, found {found}"),
        None if at.pos.column == 1 && expected == "a mapping" => {
            format!("the spec must be a mapping with `version` and `stages`, found {found}")
        }
        None => format!("expected {expected} here, found {found}"),
    };
    let problem = Problem::new(at.pos, message);
    let missing_colon = expected == "a mapping"
        && found.starts_with("the string")
        && at.token().contains(' ')
        && !at.token().contains(": ");
    let hint = if missing_colon {
        "is the `:` after a key missing? write `key: value`".to_string()
    } else {
        match expected {
            "a mapping" => "write `key: value` pairs, indented under the key".to_string(),
            "a list" => "write `[a, b]`, or one `- item` per line".to_string(),
            "a string" => {
                "give one value; quote it if it looks like a number or has `: ` in it".to_string()
            }
            "a whole number" => "write a number without quotes or sign, e.g. `1`".to_string(),
            "true or false" => "write `true` or `false`".to_string(),
            _ if expected.starts_with("octal permission bits") => {
                "write the mode as a quoted string, e.g. `\"0755\"`".to_string()
            }
            _ if found.starts_with("the number") => {
                let number = found.split('`').nth(1).unwrap_or("…");
                format!("quote it to make it a string: `\"{number}\"`")
            }
            // Our visitors' expectations are specific enough on their own.
            _ => return problem,
        }
    };
    problem.hint(hint)
}

/// serde's description of an unexpected value (`integer `42``, `sequence`)
/// in the words the other messages use.
fn serde_found(unexpected: &str) -> String {
    let quoted = |prefix: &str| {
        unexpected
            .strip_prefix(prefix)
            .map(|v| shorten(v.trim_matches(['`', '"'])))
    };
    if let Some(v) = quoted("integer ").or_else(|| quoted("floating point ")) {
        return format!("the number `{v}`");
    }
    if let Some(v) = quoted("string ") {
        return format!("the string `{v}`");
    }
    if let Some(v) = quoted("boolean ") {
        return format!("`{v}`");
    }
    match unexpected {
        "sequence" => "a list".to_string(),
        "map" => "a mapping".to_string(),
        "unit value" | "null" | "Option value" => "nothing (an empty value)".to_string(),
        other => other.to_string(),
    }
}

fn expected_kind(expected: &str) -> &str {
    match expected {
        "mapping start" | "mapping" => "a mapping",
        "sequence start" | "sequence" => "a list",
        "string scalar" | "string" | "scalar" => "a string",
        other => other,
    }
}

fn scalar_kind(ty: &str) -> &str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" => "a whole number",
        "bool" | "boolean" => "true or false",
        "f32" | "f64" => "a number",
        "char" => "one character",
        other => other,
    }
}

fn rendered(e: &Error) -> String {
    let text = e.render_with_options(serde_saphyr::render_options! {
        snippets: serde_saphyr::SnippetMode::Off,
    });
    strip_location(&text).to_string()
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
