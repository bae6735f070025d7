//! The spec text around an error position.
//!
//! serde-saphyr's errors say where and what kind, but not which key was
//! being read (its `path_map` needs a second parse): the key, and what a
//! reader sees at the position, are read off the text here. This is the
//! one workaround over the crate's structured errors; it only ever adds
//! words to a message, never decides which error it is.

use super::MAX_PLAIN_KEY;
use crate::spec::error::Problem;
use crate::spec::model::Pos;

/// The spec text around an error position.
pub(super) struct Source<'a> {
    lines: Vec<&'a str>,
    pub(super) pos: Pos,
}

impl<'a> Source<'a> {
    pub(super) fn new(text: &'a str, pos: Pos) -> Self {
        Source {
            lines: text.lines().collect(),
            pos,
        }
    }

    pub(super) fn line(&self) -> &'a str {
        self.lines
            .get(self.pos.line as usize - 1)
            .copied()
            .unwrap_or("")
    }

    /// The lines before the error's line (all of them when the error is
    /// past the last line, as at the end of the file).
    pub(super) fn lines_above(&self) -> &[&'a str] {
        let end = (self.pos.line as usize - 1).min(self.lines.len());
        &self.lines[..end]
    }

    /// The line before and from the error column (columns count characters).
    pub(super) fn split(&self) -> (&'a str, &'a str) {
        let line = self.line();
        let at = line
            .char_indices()
            .nth(self.pos.column as usize - 1)
            .map_or(line.len(), |(i, _)| i);
        line.split_at(at)
    }

    /// The scalar at the position, as written (up to a flow delimiter or a
    /// comment), or "" when a collection or nothing is there.
    pub(super) fn token(&self) -> &'a str {
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
    pub(super) fn found(&self) -> String {
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
    pub(super) fn long_key(&self) -> Option<Problem> {
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
    pub(super) fn key_here(&self) -> Option<&'a str> {
        let token = self.token();
        let key = token.split_once(':')?.0;
        looks_like_key(token).then_some(key)
    }

    /// The key whose value is at the position: "`key`" or "each item of
    /// `key`". None when the text does not make it plain.
    pub(super) fn owner(&self) -> Option<String> {
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
    pub(super) fn earlier_key(&self, key: &str, indent: usize) -> Option<usize> {
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
    pub(super) fn parent_key(&self, indent: usize, is_list: bool) -> Option<&'a str> {
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
pub(super) fn shorten(text: &str) -> String {
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
