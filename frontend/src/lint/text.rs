//! Finding where in the spec's text something is written, for rules that
//! flag a part of a value (a word of a `run` command) rather than a field.

use crate::spec::Pos;

/// The first occurrence of `needle` in lines `from..=to` (1-based), as a
/// line and a column counted in characters.
pub fn find(lines: &[&str], needle: &str, from: u32, to: u32) -> Option<Pos> {
    if needle.is_empty() {
        return None;
    }
    let first = from.max(1);
    for line in first..=to.max(first) {
        let text = lines.get(line as usize - 1)?;
        if let Some(at) = text.find(needle) {
            return Some(Pos {
                line,
                column: text[..at].chars().count() as u32 + 1,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_place_within_the_lines() {
        let lines = ["a: 1", "  run: échо $X", "  b: $X"];
        assert_eq!(
            find(&lines, "$X", 1, 3),
            Some(Pos {
                line: 2,
                column: 13
            })
        );
        assert_eq!(find(&lines, "$X", 3, 3), Some(Pos { line: 3, column: 6 }));
        assert_eq!(find(&lines, "$Y", 1, 3), None);
        assert_eq!(
            find(&lines, "$X", 1, 9),
            Some(Pos {
                line: 2,
                column: 13
            })
        );
    }
}
