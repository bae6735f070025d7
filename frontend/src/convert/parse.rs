//! Dockerfile text → instructions: parser directives, comments, line
//! continuations, flags and heredocs, following BuildKit's
//! `frontend/dockerfile/parser` (v0.13) rule for rule.
//!
//! Hand-written: the Dockerfile crates on crates.io either predate BuildKit
//! syntax (`dockerfile-parser` 0.9: no heredocs, no escape directive) or know
//! only heredocs ending in `EOF`, without positions (`dockerfile-parser-rs`
//! 3.4). Converting needs both, exactly.

use crate::spec::{error::Problem, Pos};

/// Longer Dockerfiles are not hand-written; the bound keeps hostile input cheap.
pub const MAX_DOCKERFILE_BYTES: usize = 4 << 20;

/// One instruction with everything the converter needs to know about where
/// it came from.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper-case keyword (`RUN`).
    pub keyword: String,
    /// Where the keyword is.
    pub pos: Pos,
    pub end_line: u32,
    pub flags: Vec<Flag>,
    /// The arguments after the flags, continuation lines joined.
    pub rest: String,
    pub rest_pos: Pos,
    pub heredocs: Vec<Heredoc>,
    /// `#` comments directly above, without the `#`.
    pub comments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    /// `None` for a bare `--link`.
    pub value: Option<String>,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// The delimiter was unquoted: the content is expanded (COPY/ADD).
    pub expand: bool,
    /// `<<-`: leading tabs are removed.
    pub chomp: bool,
    pub content: String,
}

#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub escape: char,
    pub instructions: Vec<Instruction>,
    /// Comments at the end of the file, after the last instruction.
    pub trailing_comments: Vec<String>,
}

/// A physical line: its text without the line break, and its number.
struct Line<'a> {
    text: &'a str,
    number: u32,
}

pub fn parse(text: &str) -> Result<Dockerfile, Problem> {
    let start = Pos { line: 1, column: 1 };
    if text.len() > MAX_DOCKERFILE_BYTES {
        return Err(
            Problem::new(start, "the Dockerfile is larger than 4 MiB, the limit")
                .hint("is this the right file?"),
        );
    }
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() as u32 + 1;
        let column = text[..at].rsplit('\n').next().unwrap_or("").chars().count() as u32 + 1;
        return Err(Problem::new(
            Pos { line, column },
            "the Dockerfile contains a NUL byte; it looks like a binary file",
        )
        .hint("give the Dockerfile, not a binary"));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<Line> = text
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, l)| Line {
            text: l.trim_end_matches(['\r', '\n']),
            number: i as u32 + 1,
        })
        .collect();
    let (escape, first) = directives(&lines)?;
    let mut parser = Parser {
        lines: &lines,
        next: first,
        escape,
    };
    let mut instructions = Vec::new();
    let mut comments = Vec::new();
    while let Some(line) = parser.take() {
        let trimmed = line.text.trim_start();
        if let Some(comment) = trimmed.strip_prefix('#') {
            let comment = comment.trim();
            if !comment.is_empty() {
                comments.push(comment.to_string());
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let mut instruction = parser.instruction(&line)?;
        instruction.comments = std::mem::take(&mut comments);
        instructions.push(instruction);
    }
    if instructions.is_empty() {
        return Err(Problem::new(start, "the Dockerfile has no instructions")
            .hint("a Dockerfile starts with `FROM image`"));
    }
    Ok(Dockerfile {
        escape,
        instructions,
        trailing_comments: comments,
    })
}

/// Parser directives (`# escape=`` ` ``, `# syntax=`) at the very top;
/// returns the escape character and the index of the first other line.
fn directives(lines: &[Line]) -> Result<(char, usize), Problem> {
    let mut escape = '\\';
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, value, column)) = directive(line.text) else {
            return Ok((escape, i));
        };
        let pos = Pos {
            line: line.number,
            column,
        };
        if seen.contains(&name) {
            return Err(
                Problem::new(pos, format!("the `{name}` directive is given twice"))
                    .hint("keep one"),
            );
        }
        if name == "escape" {
            escape = match value.as_str() {
                "\\" => '\\',
                "`" => '`',
                _ => {
                    return Err(
                        Problem::new(pos, format!("invalid escape character `{value}`"))
                            .hint("the escape directive takes `\\` or `` ` ``"),
                    )
                }
            };
        }
        seen.push(name);
    }
    Ok((escape, lines.len()))
}

/// `# name=value` → (lower-case name, value, column of the name).
fn directive(text: &str) -> Option<(String, String, u32)> {
    let body = text.strip_prefix('#')?;
    let name_start = body.len() - body.trim_start().len();
    let rest = &body[name_start..];
    let name_len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_alphanumeric()))
        .count();
    if name_len == 0 {
        return None;
    }
    let value = rest[name_len..].trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    let column = text[..1 + name_start].chars().count() as u32 + 1;
    Some((rest[..name_len].to_lowercase(), value.to_string(), column))
}

struct Parser<'a> {
    lines: &'a [Line<'a>],
    next: usize,
    escape: char,
}

impl<'a> Parser<'a> {
    fn take(&mut self) -> Option<Line<'a>> {
        let line = self.lines.get(self.next)?;
        self.next += 1;
        Some(Line {
            text: line.text,
            number: line.number,
        })
    }

    /// The instruction starting at `first`: continuation lines joined,
    /// then its heredocs read.
    fn instruction(&mut self, first: &Line) -> Result<Instruction, Problem> {
        let indent = first.text.len() - first.text.trim_start().len();
        let start_col = first.text[..indent].chars().count() as u32 + 1;
        let pos = Pos {
            line: first.number,
            column: start_col,
        };
        let (mut joined, mut ended) = self.strip_continuation(&first.text[indent..]);
        let mut end_line = first.number;
        while !ended {
            let Some(line) = self.take() else { break };
            end_line = line.number;
            let trimmed = line.text.trim_start();
            if trimmed.starts_with('#') || trimmed.is_empty() {
                continue;
            }
            let (part, done) = self.strip_continuation(line.text);
            joined.push_str(&part);
            ended = done;
        }
        let keyword_len = joined
            .find(|c: char| c.is_whitespace())
            .unwrap_or(joined.len());
        let keyword = joined[..keyword_len].to_uppercase();
        let after = &joined[keyword_len..];
        let args_start = keyword_len + (after.len() - after.trim_start().len());
        let rest_col = start_col + joined[..args_start].chars().count() as u32;
        let (flags, rest, flags_len) = extract_flags(&joined[args_start..], pos.line, rest_col)?;
        let rest_pos = Pos {
            line: pos.line,
            column: rest_col + joined[args_start..args_start + flags_len].chars().count() as u32,
        };
        let mut instruction = Instruction {
            keyword,
            pos,
            end_line,
            flags,
            rest: rest.trim().to_string(),
            rest_pos,
            heredocs: Vec::new(),
            comments: Vec::new(),
        };
        if matches!(instruction.keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, expand, chomp) in heredoc_words(&instruction.rest) {
                let content = self.heredoc_body(&name, chomp, pos)?;
                instruction.end_line = self.lines[self.next - 1].number;
                instruction.heredocs.push(Heredoc {
                    name,
                    expand,
                    chomp,
                    content,
                });
            }
        }
        Ok(instruction)
    }

    /// BuildKit's continuation rule: the escape character, then only
    /// blanks, ends the line's text and continues on the next line.
    fn strip_continuation(&self, text: &str) -> (String, bool) {
        let trimmed = text.trim_end_matches([' ', '\t']);
        match trimmed.strip_suffix(self.escape) {
            // An escaped escape character (`\\`) does not continue the line.
            Some(before) if !before.ends_with(self.escape) || before.is_empty() => {
                (before.to_string(), false)
            }
            _ => (text.to_string(), true),
        }
    }

    fn heredoc_body(&mut self, name: &str, chomp: bool, at: Pos) -> Result<String, Problem> {
        let mut content = String::new();
        while let Some(line) = self.take() {
            let candidate = if chomp {
                line.text.trim_start_matches('\t')
            } else {
                line.text
            };
            if candidate == name {
                return Ok(content);
            }
            content.push_str(line.text);
            content.push('\n');
        }
        Err(
            Problem::new(at, format!("heredoc `<<{name}` is never terminated"))
                .hint(format!("end it with a line that holds only `{name}`")),
        )
    }
}

/// BuildKit's `extractBuilderFlags`: leading `--name[=value]` words, with
/// quotes and backslashes handled; returns the flags, the rest and the
/// length of the text the flags took.
fn extract_flags(
    line: &str,
    line_number: u32,
    column: u32,
) -> Result<(Vec<Flag>, String, usize), Problem> {
    let mut flags = Vec::new();
    let mut at = 0;
    loop {
        let skipped = line[at..].len() - line[at..].trim_start().len();
        let word_start = at + skipped;
        if !line[word_start..].starts_with("--") {
            return Ok((flags, line[word_start..].to_string(), word_start));
        }
        let (word, end) = flag_word(line, word_start).ok_or_else(|| {
            Problem::new(
                Pos {
                    line: line_number,
                    column: column + line[..word_start].chars().count() as u32,
                },
                "a quote in this flag is never closed",
            )
            .hint("close the quote")
        })?;
        at = end;
        if word == "--" {
            return Ok((flags, line[end..].to_string(), end));
        }
        let body = &word[2..];
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (body.to_string(), None),
        };
        flags.push(Flag {
            name: name.to_lowercase(),
            value,
            pos: Pos {
                line: line_number,
                column: column + line[..word_start].chars().count() as u32,
            },
        });
    }
}

/// One flag word from `start`, unquoted; `None` if a quote is unclosed.
fn flag_word(line: &str, start: usize) -> Option<(String, usize)> {
    let mut word = String::new();
    let mut chars = line[start..].char_indices().peekable();
    let mut quote: Option<char> = None;
    while let Some((i, c)) = chars.next() {
        match quote {
            None if c.is_whitespace() => return Some((word, start + i)),
            None if c == '\'' || c == '"' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ if c == '\\' => {
                if let Some((_, next)) = chars.next() {
                    word.push(next);
                }
            }
            _ => word.push(c),
        }
    }
    quote.is_none().then_some((word, line.len()))
}

/// Heredoc words (`<<EOF`, `<<-"EOF"`, `3<<EOF`) of an instruction line,
/// as (name, expand, chomp), in order.
pub fn heredoc_words(line: &str) -> Vec<(String, bool, bool)> {
    raw_words(line)
        .iter()
        .filter_map(|w| heredoc_word(w))
        .collect()
}

/// A single word that is a heredoc marker: (name, expand, chomp).
pub fn heredoc_word(word: &str) -> Option<(String, bool, bool)> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let mut name = String::new();
    let mut quoted = false;
    let mut quote: Option<char> = None;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => name.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                quoted = true;
            }
            None if c == '\\' => name.extend(chars.next()),
            None if c.is_whitespace() => return None,
            None => name.push(c),
        }
    }
    if quote.is_some() || name.is_empty() {
        return None;
    }
    Some((name, !quoted, chomp))
}

/// Words split on blanks, quotes and backslashes kept (BuildKit's lexer
/// with raw quotes and raw escapes).
fn raw_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                word.push(c);
                if c == q {
                    quote = None;
                } else if c == '\\' && q == '"' {
                    word.extend(chars.next());
                }
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                word.push(c);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                } else if c == '\\' {
                    word.extend(chars.next());
                }
            }
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Instruction {
        parse(text).unwrap().instructions.remove(0)
    }

    #[test]
    fn joins_continuations_and_skips_comment_lines() {
        let i = one("RUN apt-get update && \\\n# a comment\n    apt-get install -y x\n");
        assert_eq!(i.rest, "apt-get update &&     apt-get install -y x");
        assert_eq!((i.pos.line, i.end_line), (1, 3));
    }

    #[test]
    fn escape_directive_switches_to_backtick() {
        let d = parse("# escape=`\nFROM x\nRUN a `\n  b\n").unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(d.instructions[1].rest, "a   b");
    }

    #[test]
    fn reads_flags_and_their_positions() {
        let i = one("COPY --from=build --chmod=\"0755\" --link a b\n");
        assert_eq!(i.flags.len(), 3);
        assert_eq!(i.flags[1].value.as_deref(), Some("0755"));
        assert_eq!(i.flags[0].pos.column, 6);
        assert_eq!(i.flags[2].value, None);
        assert_eq!(i.rest, "a b");
        assert_eq!(i.rest_pos.column, 41);
    }

    #[test]
    fn reads_heredocs() {
        let d =
            parse("RUN <<EOF\necho hi\nEOF\nCOPY <<-'A' <<B /x/\n\tone\n\tA\ntwo\nB\n").unwrap();
        let run = &d.instructions[0];
        assert_eq!(run.heredocs[0].content, "echo hi\n");
        assert_eq!(run.end_line, 3);
        let copy = &d.instructions[1];
        assert_eq!(copy.heredocs.len(), 2);
        assert!(!copy.heredocs[0].expand && copy.heredocs[0].chomp);
        assert_eq!(copy.heredocs[0].content, "\tone\n");
        assert!(copy.heredocs[1].expand);
    }

    #[test]
    fn unterminated_heredoc_is_an_error() {
        let e = parse("FROM x\nRUN <<EOF\necho\n").unwrap_err();
        assert_eq!(e.pos, Pos { line: 2, column: 1 });
    }

    #[test]
    fn comments_attach_to_the_next_instruction() {
        let d =
            parse("# syntax=docker/dockerfile:1\n# base image\nFROM x\n\n# build it\nRUN make\n")
                .unwrap();
        assert_eq!(d.instructions[0].comments, vec!["base image"]);
        assert_eq!(d.instructions[1].comments, vec!["build it"]);
    }
}
