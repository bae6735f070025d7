//! The YAML reader's errors in the spec's vocabulary: what was expected,
//! what was found, and how to fix it.
//!
//! serde-saphyr reports structure ("expected mapping start") without the
//! key it was reading, so the key is recovered from the text around the
//! position, the way a reader of the file would see it.

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::Error;

use super::error::{did_you_mean, Problem};
use super::model::Pos;
use super::syntax::OVER_LIMIT_AT;

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
        } => unknown_name(pos, "key", field, expected, "valid keys here"),
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
        _ => syntax_error(&at, &rendered(e)),
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
    if let Some((head, at)) = msg.split_once(&format!("; {OVER_LIMIT_AT} ")) {
        let (line, column) = at.split_once(':').unwrap_or(("", ""));
        let pos = match (line.parse(), column.parse()) {
            (Ok(line), Ok(column)) => Pos { line, column },
            _ => pos,
        };
        return Problem::new(pos, head.to_string())
            .hint("is this the right file? split very large generated specs");
    }
    let problem = Problem::new(pos, msg.to_string());
    if msg.starts_with("invalid mode") {
        return problem.hint("write up to four octal digits (0-7), quoted: `\"0755\"`, `\"644\"`");
    }
    problem
}

/// Errors from the YAML scanner and parser: the text is theirs, the hint ours.
fn syntax_error(at: &Source, message: &str) -> Problem {
    let problem = Problem::new(at.pos, message.to_string());
    if let Some(long_key) = at.long_key() {
        return long_key;
    }
    if message.contains("tabs disallowed") {
        return Problem::new(at.pos, "tab character in indentation")
            .hint("YAML indents with spaces only; replace the tab with spaces");
    }
    if message.contains("recursion limit") {
        return too_deep(at.pos);
    }
    if message.contains("did not find expected key") {
        return Problem::new(
            at.pos,
            "the indentation here does not line up with the keys above it",
        )
        .hint("the keys of one mapping start in the same column; indent with spaces");
    }
    if message.contains("unclosed bracket") {
        let bracket = at.split().1.chars().next().unwrap_or('[');
        let closing = if bracket == '{' { '}' } else { ']' };
        return Problem::new(at.pos, format!("`{bracket}` is never closed"))
            .hint(format!("add the matching `{closing}`"));
    }
    if message.contains("unclosed quote") {
        return Problem::new(at.pos, "a quoted string starts here and is never closed")
            .hint("end the string with the same quote it starts with");
    }
    let hint = if message.contains("indentation") {
        "check the indentation: the keys of one mapping start in the same column"
    } else if message.contains("mapping values are not allowed") {
        "quote the value if it contains `: `, or check the indentation"
    } else {
        "check the YAML syntax around this place"
    };
    problem.hint(hint)
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

/// The spec text around an error position.
struct Source<'a> {
    lines: Vec<&'a str>,
    pos: Pos,
}

impl<'a> Source<'a> {
    fn new(text: &'a str, pos: Pos) -> Self {
        Source {
            lines: text.lines().collect(),
            pos,
        }
    }

    fn line(&self) -> &'a str {
        self.lines
            .get(self.pos.line as usize - 1)
            .copied()
            .unwrap_or("")
    }

    /// The lines before the error's line (all of them when the error is
    /// past the last line, as at the end of the file).
    fn lines_above(&self) -> &[&'a str] {
        let end = (self.pos.line as usize - 1).min(self.lines.len());
        &self.lines[..end]
    }

    /// The line before and from the error column (columns count characters).
    fn split(&self) -> (&'a str, &'a str) {
        let line = self.line();
        let at = line
            .char_indices()
            .nth(self.pos.column as usize - 1)
            .map_or(line.len(), |(i, _)| i);
        line.split_at(at)
    }

    /// The scalar at the position, as written (up to a flow delimiter or a
    /// comment), or "" when a collection or nothing is there.
    fn token(&self) -> &'a str {
        let rest = self.split().1;
        let in_flow = self.split().0.contains(['[', '{']);
        let end = rest
            .char_indices()
            .find(|(i, c)| {
                (in_flow && matches!(c, ',' | ']' | '}'))
                    || (*c == '#' && rest[..*i].ends_with(' '))
            })
            .map_or(rest.len(), |(i, _)| i);
        rest[..end].trim_end()
    }

    /// What the reader found at the position, in words.
    fn found(&self) -> String {
        let rest = self.split().1.trim_start();
        let token = self.token();
        if rest.starts_with('[') || rest == "-" || rest.starts_with("- ") {
            "a list".to_string()
        } else if rest.starts_with('{') || looks_like_key(token) {
            "a mapping".to_string()
        } else if token.is_empty() || token.starts_with(':') || token == "~" || token == "null" {
            "nothing (an empty value)".to_string()
        } else if token.starts_with(['"', '\'']) {
            format!("the string `{}`", shorten(token))
        } else if token.parse::<f64>().is_ok() {
            format!("the number `{}`", shorten(token))
        } else if matches!(token, "true" | "false") {
            format!("`{token}`")
        } else {
            format!("the string `{}`", shorten(token))
        }
    }

    /// A key too long for YAML to read as one, at the position: the
    /// reader then sees a plain string and reports something confusing.
    fn long_key(&self) -> Option<Problem> {
        let rest = self.split().1;
        let key_len = rest
            .find(": ")
            .or_else(|| rest.strip_suffix(':').map(str::len))?;
        let chars = rest[..key_len].chars().count();
        (chars > MAX_PLAIN_KEY).then(|| {
            Problem::new(
                self.pos,
                format!("a key of {chars} characters; YAML reads keys of at most {MAX_PLAIN_KEY}"),
            )
            .hint("use a shorter name")
        })
    }

    /// The key written at the position (`key: …`), if one is.
    fn key_here(&self) -> Option<&'a str> {
        let token = self.token();
        let key = token.split_once(':')?.0;
        looks_like_key(token).then_some(key)
    }

    /// The key whose value is at the position: "`key`" or "each item of
    /// `key`". None when the text does not make it plain.
    fn owner(&self) -> Option<String> {
        let (before, rest) = self.split();
        let before = before.trim_end();
        // An empty value is placed at its key's `:`.
        if rest.starts_with(':') {
            return key_at_end(before).map(|k| format!("`{k}`"));
        }
        if let Some(head) = before.strip_suffix(':') {
            return key_at_end(head).map(|k| format!("`{k}`"));
        }
        if let Some(open) = before.rfind(['[', '{']) {
            let bracket_is_list = before[open..].starts_with('[');
            let (head, tail) = before.split_at(open);
            let unclosed = !tail.contains([']', '}']);
            if bracket_is_list && unclosed {
                let key = key_at_end(head.trim_end().strip_suffix(':')?)?;
                return Some(format!("each item of `{key}`"));
            }
            return None;
        }
        let indent = self.pos.column as usize - 1;
        if before == "-" || before.ends_with(" -") {
            let dash_indent = self.line().len() - self.line().trim_start().len();
            let key = self.parent_key(dash_indent, true)?;
            return Some(format!("each item of `{key}`"));
        }
        if before.is_empty() {
            let is_item = self.split().1.starts_with('-');
            return self.parent_key(indent, is_item).map(|k| format!("`{k}`"));
        }
        None
    }

    /// The line of an earlier `key:` at the same indentation in the same
    /// mapping as the position.
    fn earlier_key(&self, key: &str, indent: usize) -> Option<usize> {
        let prefix = format!("{key}:");
        for (index, line) in self.lines_above().iter().enumerate().rev() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let line_indent = line.len() - trimmed.len();
            if line_indent < indent {
                return None;
            }
            if line_indent == indent && trimmed.starts_with(&prefix) {
                return Some(index + 1);
            }
        }
        None
    }

    /// The `key:` line a block at `indent` belongs to. A list may sit at
    /// its key's own indentation (`steps:` then `- run: …`).
    fn parent_key(&self, indent: usize, is_list: bool) -> Option<&'a str> {
        let above = self.lines_above().iter().rev();
        for line in above {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let line_indent = line.len() - trimmed.len();
            let owns = line_indent < indent
                || (is_list && line_indent == indent && !trimmed.starts_with('-'));
            if owns {
                let head = trimmed
                    .trim_start_matches("- ")
                    .trim_end()
                    .strip_suffix(':')?;
                return key_at_end(head);
            }
        }
        None
    }
}

/// The key that ends `head` (`  - run` → `run`, `{a: 1, b` → `b`).
fn key_at_end(head: &str) -> Option<&str> {
    let start = head
        .char_indices()
        .rfind(|(_, c)| c.is_whitespace() || matches!(c, '{' | ',' | '[' | '-'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let key = head[start..].trim_matches(['"', '\'']);
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'));
    plain.then_some(key)
}

fn looks_like_key(token: &str) -> bool {
    token.split_once(':').is_some_and(|(k, rest)| {
        key_at_end(k) == Some(k) && (rest.is_empty() || rest.starts_with(' '))
    })
}

/// Shows at most 40 characters of a value in a message.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        return text.to_string();
    }
    let head: String = text.chars().take(MAX).collect();
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(text: &str, line: u32, column: u32) -> Option<String> {
        Source::new(text, Pos { line, column }).owner()
    }

    #[test]
    fn finds_the_key_of_a_value() {
        assert_eq!(owner("a:\n  b: [x]\n", 2, 6).as_deref(), Some("`b`"));
        assert_eq!(
            owner("stages:\n  - app\n", 2, 3).as_deref(),
            Some("`stages`")
        );
        assert_eq!(
            owner("steps:\n  - echo hi\n", 2, 5).as_deref(),
            Some("each item of `steps`")
        );
        assert_eq!(
            owner("expose: [80, x]\n", 1, 14).as_deref(),
            Some("each item of `expose`")
        );
        assert_eq!(owner("- a: 1\n", 1, 1), None);
    }

    #[test]
    fn odd_text_around_an_error_does_not_panic() {
        // An ideographic space is whitespace of three bytes.
        assert_eq!(key_at_end("\u{3000}run"), Some("run"));
        // The end of the file is a line past the last one.
        assert_eq!(owner("a:\n  b: 1", 3, 1), None);
        assert_eq!(owner("", 1, 5), None);
    }

    #[test]
    fn describes_what_was_found() {
        let found = |t: &str| Source::new(t, Pos { line: 1, column: 4 }).found();
        assert_eq!(found("a: [1]"), "a list");
        assert_eq!(found("a: {b: 1}"), "a mapping");
        assert_eq!(found("a: 42"), "the number `42`");
        assert_eq!(found("a: hello # note"), "the string `hello`");
        assert_eq!(found("a:"), "nothing (an empty value)");
    }
}
