//! Copies of context files that `.dockerignore` keeps from the builder.
//!
//! The patterns are matched as BuildKit matches them (moby/patternmatcher):
//! Go's `filepath.Match` per character (`*` and `?` stop at `/`, `[a-z]`
//! classes, `\` escapes), `**` for any number of directories, a pattern
//! matching a path when it matches the path or one of its parents, and
//! the last matching pattern deciding (`!` re-includes). Hand-written:
//! that is a dozen lines of matching, and glob crates treat `**` and
//! parent directories differently from BuildKit.

use crate::lint::{Context, Found, Rule};
use crate::resolve::clean_context_path;
use crate::spec::{Located, MountKind, StepKind};

pub const COPY_IGNORED_FILE: Rule = Rule {
    name: "CopyIgnoredFile",
    description: "A copy from the context should not name a path `.dockerignore` excludes",
    check: copy_ignored_file,
};

fn copy_ignored_file(cx: &Context) -> Vec<Found> {
    if cx.ignore.is_empty() {
        return Vec::new();
    }
    let patterns: Vec<Pattern> = cx.ignore.iter().filter_map(|p| Pattern::new(p)).collect();
    let mut found = Vec::new();
    for stage in cx.stages() {
        for step in stage.leaf_steps() {
            for source in context_sources(&step.kind) {
                if source.value.contains(['*', '?', '[']) {
                    continue;
                }
                let Some(path) = clean_context_path(&source.value) else {
                    continue;
                };
                if let Some(pattern) = excluded_by(&patterns, &path) {
                    found.push(Found::new(
                        source.pos,
                        format!(
                            "`{}` is excluded by .dockerignore (`{pattern}`): it is not sent to the builder, so the build cannot find it",
                            source.value
                        ),
                        format!("remove the pattern from .dockerignore or add `!{path}` after it, or stop using the path"),
                    ));
                }
            }
        }
    }
    found
}

/// Paths a step reads from the build context.
fn context_sources(kind: &StepKind) -> Vec<&Located<String>> {
    match kind {
        StepKind::Copy(c) if c.from.is_none() => c.sources.iter().collect(),
        StepKind::Run(r) => r
            .mounts
            .iter()
            .filter_map(|m| match &m.kind {
                MountKind::Bind {
                    from: None,
                    source: Some(source),
                    ..
                } => Some(source),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The pattern (as written) that leaves `path` excluded, if it is.
pub fn excluded_by<'p>(patterns: &'p [Pattern], path: &str) -> Option<&'p str> {
    let mut verdict = None;
    for pattern in patterns {
        if pattern.matches_or_parent(path) {
            verdict = (!pattern.negated).then_some(pattern.written.as_str());
        }
    }
    verdict
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any characters but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `[…]`: (ranges, negated).
    Class(Vec<(char, char)>, bool),
    /// `**` (and `**/`): nothing, or anything ending in `/`.
    Dirs,
    /// `**` at the end: anything.
    Rest,
}

#[derive(Debug, Clone)]
pub struct Pattern {
    written: String,
    negated: bool,
    tokens: Vec<Token>,
}

impl Pattern {
    /// A `.dockerignore` line (comments and blanks already dropped).
    pub fn new(line: &str) -> Option<Pattern> {
        let (negated, body) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line.trim()),
        };
        let cleaned = clean_context_path(body.trim_start_matches('/'))?;
        Some(Pattern {
            written: line.to_string(),
            negated,
            tokens: tokenize(&cleaned),
        })
    }

    fn matches_or_parent(&self, path: &str) -> bool {
        if self.matches(path) {
            return true;
        }
        let mut end = 0;
        while let Some(at) = path[end..].find('/') {
            end += at;
            if self.matches(&path[..end]) {
                return true;
            }
            end += 1;
        }
        false
    }

    fn matches(&self, path: &str) -> bool {
        let text: Vec<char> = path.chars().collect();
        // matched[i][j]: tokens[i..] match text[j..]; filled from the end.
        let (n, m) = (self.tokens.len(), text.len());
        let mut matched = vec![vec![false; m + 1]; n + 1];
        matched[n][m] = true;
        for i in (0..n).rev() {
            for j in (0..=m).rev() {
                let next = |k: usize| matched[i + 1][k];
                matched[i][j] = match &self.tokens[i] {
                    Token::Char(c) => j < m && text[j] == *c && next(j + 1),
                    Token::One => j < m && text[j] != '/' && next(j + 1),
                    Token::Class(ranges, negated) => {
                        j < m
                            && text[j] != '/'
                            && ranges.iter().any(|(a, b)| (*a..=*b).contains(&text[j])) != *negated
                            && next(j + 1)
                    }
                    Token::Star => next(j) || (j < m && text[j] != '/' && matched[i][j + 1]),
                    Token::Rest => true,
                    Token::Dirs => next(j) || (j..m).any(|k| text[k] == '/' && next(k + 1)),
                };
            }
        }
        matched[0][0]
    }
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                tokens.push(match chars.peek() {
                    None => Token::Rest,
                    Some(_) => Token::Dirs,
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::One),
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '[' => tokens.push(class(&mut chars)),
            c => tokens.push(Token::Char(c)),
        }
    }
    tokens
}

/// A `[…]` class, after its `[`.
fn class(chars: &mut std::iter::Peekable<std::str::Chars>) -> Token {
    let negated = matches!(chars.peek(), Some('^' | '!'));
    if negated {
        chars.next();
    }
    let mut ranges = Vec::new();
    while let Some(c) = chars.next() {
        if c == ']' {
            break;
        }
        let c = if c == '\\' {
            chars.next().unwrap_or(c)
        } else {
            c
        };
        if chars.peek() == Some(&'-') {
            chars.next();
            match chars.next() {
                Some(']') | None => {
                    ranges.push((c, c));
                    ranges.push(('-', '-'));
                    break;
                }
                Some(end) => ranges.push((c, end)),
            }
        } else {
            ranges.push((c, c));
        }
    }
    Token::Class(ranges, negated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run_ignoring};

    fn excluded(patterns: &[&str], path: &str) -> bool {
        let patterns: Vec<Pattern> = patterns.iter().filter_map(|p| Pattern::new(p)).collect();
        excluded_by(&patterns, path).is_some()
    }

    #[test]
    fn matches_as_buildkit_does() {
        assert!(excluded(&["*.md"], "README.md"));
        assert!(!excluded(&["*.md"], "docs/README.md"));
        assert!(excluded(&["**/*.md"], "docs/a/README.md"));
        assert!(excluded(&["**/*.md"], "README.md"));
        assert!(excluded(&["target"], "target/debug/app"));
        assert!(excluded(&["target/"], "target/x"));
        assert!(excluded(&["docs/**"], "docs/a/b"));
        assert!(excluded(&["a/**/b"], "a/b"));
        assert!(excluded(&["a/**/b"], "a/x/y/b"));
        assert!(!excluded(&["a/**/b"], "a/xb"));
        assert!(excluded(&["secret?.txt"], "secret1.txt"));
        assert!(excluded(&["[a-c].txt"], "b.txt"));
        assert!(!excluded(&["[^a-c].txt"], "b.txt"));
        assert!(!excluded(&["*.md", "!README.md"], "README.md"));
        assert!(excluded(&["*.md", "!README.md", "README*"], "README.md"));
        assert!(excluded(&["./build"], "build"));
    }

    #[test]
    fn flags_copies_of_ignored_paths() {
        let yaml = "version: 1\nstages:\n  app:\n    from: scratch\n    steps:\n      - copy: [src/, .env, \"*.txt\"]\n      - copy: secrets/key\n      - copy: /etc/passwd\n        from: app2\n  app2:\n    from: scratch\n";
        let found = run_ignoring(&COPY_IGNORED_FILE, yaml, &[".env", "secrets", "*.txt"]);
        assert_eq!(at(&found), vec!["6:15", "7:15"]);
        assert!(
            found[1].message.contains("(`secrets`)"),
            "{}",
            found[1].message
        );
    }
}
