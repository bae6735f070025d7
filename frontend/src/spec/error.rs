//! Errors in a spec file, always pointing at a place in it.

use std::fmt;

use super::model::Pos;

/// One problem in a spec file: where it is, what was expected, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    pub file: String,
    pub pos: Pos,
    pub message: String,
    /// A suggested fix ("did you mean `from`?"), when there is one.
    pub hint: Option<String>,
    /// The offending source line with a caret under the column.
    pub snippet: Option<String>,
}

impl SpecError {
    /// The one-line form `file:line:col: message`, as compilers print.
    pub fn headline(&self) -> String {
        format!(
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.column, self.message
        )
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.headline())?;
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// An error found while reading the spec, before the file name and text are
/// attached (the checks themselves only know positions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Problem {
            pos,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Names the file and cuts the snippet out of its text. Values quoted
    /// in the message are shortened: a megabyte-long line must not make a
    /// megabyte-long error.
    pub fn in_file(self, file: &str, text: &str) -> SpecError {
        SpecError {
            file: file.to_string(),
            snippet: snippet(text, self.pos),
            pos: self.pos,
            message: shorten_quoted(&self.message),
            hint: self.hint.as_deref().map(shorten_quoted),
        }
    }
}

/// Cuts every `quoted` span longer than 60 characters to its first 40,
/// and the whole text to 1,000 characters.
fn shorten_quoted(text: &str) -> String {
    const LONG_SPAN: usize = 60;
    const KEPT: usize = 40;
    const MAX_TEXT: usize = 1_000;
    let mut out = String::with_capacity(text.len().min(MAX_TEXT + 8));
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let quoted = i % 2 == 1;
        if quoted && part.chars().count() > LONG_SPAN {
            out.extend(part.chars().take(KEPT));
            out.push('…');
        } else {
            out.push_str(part);
        }
        if out.len() > MAX_TEXT {
            break;
        }
    }
    if out.chars().count() > MAX_TEXT {
        out = out.chars().take(MAX_TEXT).collect::<String>() + "…";
    }
    out
}

/// Renders the line at `pos` with a caret, like rustc and the Dockerfile
/// frontend do. Long lines are cut so that garbage input cannot produce
/// megabytes of error text.
fn snippet(text: &str, pos: Pos) -> Option<String> {
    const MAX_WIDTH: usize = 160;
    let line = text.lines().nth(pos.line.checked_sub(1)? as usize)?;
    let shown: String = line
        .chars()
        .take(MAX_WIDTH)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let number = pos.line.to_string();
    let gutter = " ".repeat(number.len());
    let caret_at = (pos.column.max(1) as usize - 1).min(shown.chars().count());
    Some(format!(
        " {number} | {shown}\n {gutter} | {}^",
        " ".repeat(caret_at)
    ))
}

/// The closest candidate to `word`, if one is close enough to be a likely
/// typo (`form` → `from`).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Names are short; a long word is no typo of one, and comparing it
    // would cost time and memory proportional to its length.
    const LONGEST: usize = 64;
    let length = word.chars().count();
    if length > LONGEST {
        return None;
    }
    let limit = (length / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| c.chars().count().abs_diff(length) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// Damerau–Levenshtein (optimal string alignment) distance, so that a
/// swapped pair like `form`/`from` counts as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_transpositions_and_typos() {
        assert_eq!(did_you_mean("form", ["from", "to", "steps"]), Some("from"));
        assert_eq!(did_you_mean("stpes", ["from", "steps"]), Some("steps"));
        assert_eq!(did_you_mean("zzz", ["from", "steps"]), None);
        assert_eq!(did_you_mean(&"a".repeat(100_000), ["a"]), None);
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "a".repeat(5000);
        let message = shorten_quoted(&format!("invalid image `{long}`: too long"));
        assert_eq!(
            message,
            format!("invalid image `{}…`: too long", "a".repeat(40))
        );
        assert!(shorten_quoted(&long).chars().count() <= 1001);
        assert_eq!(shorten_quoted("unknown key `form`"), "unknown key `form`");
    }

    #[test]
    fn snippet_points_at_column() {
        let s = snippet("a: 1\nform: x\n", Pos { line: 2, column: 1 }).unwrap();
        assert_eq!(s, " 2 | form: x\n   | ^");
    }
}
