//! Build-arg references: `${NAME}`, `${NAME:-default}`, `${NAME:+alt}`.
//!
//! The compiler substitutes these in every field except `run` commands,
//! whose text is never rewritten: the shell expands args there, from the
//! step's environment (see [`mentioned`]).

use std::collections::BTreeSet;

/// Args BuildKit defines for every build, derived from the platforms.
pub const BUILTIN_ARGS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// `${NAME}` where `NAME` has no value.
    Unknown(String),
    /// `${` without its `}`, or a malformed name or operator.
    Malformed(String),
}

/// Replaces every `${…}` in `text` using `lookup`; `$$` is a literal `$`,
/// and a `$` not followed by `{` is left as written.
pub fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    subst(text, lookup, Unknown::Fail)
}

/// Replaces the `${NAME…}` whose name `lookup` knows and leaves the rest
/// (other names, `$$`) as written, for values that a second pass
/// completes: `env` values take args first, then variables set before
/// them. A `$` in an inserted value is written `$$`, so that the second
/// pass gives it back as it was.
pub fn substitute_known(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    subst(text, lookup, Unknown::Keep)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unknown {
    Fail,
    Keep,
}

fn subst(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unknown: Unknown,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str(if unknown == Unknown::Keep { "$$" } else { "$" });
            rest = tail;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = closing_brace(body_start).ok_or_else(|| {
                SubstError::Malformed(format!("`${{` without a closing `}}` in `{text}`"))
            })?;
            let body = &body_start[..end];
            match expand(body, lookup, unknown) {
                Err(SubstError::Unknown(_)) if unknown == Unknown::Keep => {
                    out.push_str(&rest[at..at + 2 + end + 1]);
                }
                result => out.push_str(&result?),
            }
            rest = &body_start[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Names referenced as `${NAME…}` in `text`, in order. Every name is
/// treated as set (to the empty string), so defaults are not descended into.
pub fn references(text: &str) -> Result<Vec<String>, SubstError> {
    let names = std::cell::RefCell::new(Vec::new());
    substitute(text, &|name| {
        names.borrow_mut().push(name.to_string());
        Some(String::new())
    })?;
    Ok(names.into_inner())
}

/// The declared args a shell command mentions as `$NAME` or `${NAME…}`:
/// those get into the step's environment so the shell can expand them, and
/// only those, so changing an arg invalidates only the steps that use it.
pub fn mentioned<'a>(
    command: &str,
    declared: impl IntoIterator<Item = &'a str>,
) -> BTreeSet<String> {
    let declared: BTreeSet<&str> = declared.into_iter().collect();
    let bytes = command.as_bytes();
    let mut found = BTreeSet::new();
    for (i, _) in command.match_indices('$') {
        let start = if bytes.get(i + 1) == Some(&b'{') {
            i + 2
        } else {
            i + 1
        };
        let len = command[start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let name = &command[start..start + len];
        if declared.contains(name) {
            found.insert(name.to_string());
        }
    }
    found
}

fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(
    body: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unknown: Unknown,
) -> Result<String, SubstError> {
    let name_len = body
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    let (name, op) = body.split_at(name_len);
    if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
        return Err(SubstError::Malformed(format!(
            "`${{{body}}}` is not a valid arg reference"
        )));
    }
    if !op.is_empty() && !op.starts_with(":-") && !op.starts_with(":+") {
        return Err(SubstError::Malformed(format!(
            "`${{{body}}}`: expected `}}`, `:-default` or `:+alternative` after the name"
        )));
    }
    let value = lookup(name).ok_or_else(|| SubstError::Unknown(name.to_string()))?;
    let inserted = |v: String| match unknown {
        Unknown::Keep => v.replace('$', "$$"),
        Unknown::Fail => v,
    };
    if let Some(word) = op.strip_prefix(":-") {
        if value.is_empty() {
            return subst(word, lookup, unknown);
        }
        Ok(inserted(value))
    } else if let Some(word) = op.strip_prefix(":+") {
        if value.is_empty() {
            return Ok(String::new());
        }
        subst(word, lookup, unknown)
    } else {
        Ok(inserted(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "V" => Some("1.22".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_forms() {
        let s = |t: &str| substitute(t, &vars);
        assert_eq!(s("golang:${V}").unwrap(), "golang:1.22");
        assert_eq!(s("${EMPTY:-x}").unwrap(), "x");
        assert_eq!(s("${V:-x}").unwrap(), "1.22");
        assert_eq!(s("${V:+on}").unwrap(), "on");
        assert_eq!(s("${EMPTY:+on}").unwrap(), "");
        assert_eq!(s("$$HOME $PATH").unwrap(), "$HOME $PATH");
        assert_eq!(s("${EMPTY:-${V}}").unwrap(), "1.22");
        assert_eq!(s("${NOPE}"), Err(SubstError::Unknown("NOPE".into())));
        assert!(matches!(s("${V"), Err(SubstError::Malformed(_))));
        assert!(matches!(s("${V%x}"), Err(SubstError::Malformed(_))));
    }

    #[test]
    fn substitutes_known_names_and_keeps_the_rest_for_a_second_pass() {
        let s = |t: &str| substitute_known(t, &vars).unwrap();
        assert_eq!(s("${V}:${PATH}"), "1.22:${PATH}");
        assert_eq!(s("$$V ${NOPE:-x}"), "$$V ${NOPE:-x}");
        let dollar = |name: &str| (name == "D").then(|| "a$b".to_string());
        let first = substitute_known("${D}/${HOME}", &dollar).unwrap();
        assert_eq!(first, "a$$b/${HOME}");
        let home = |name: &str| (name == "HOME").then(|| "/root".to_string());
        assert_eq!(substitute(&first, &home).unwrap(), "a$b//root");
    }

    #[test]
    fn lists_references() {
        assert_eq!(references("a${A}b${B:-c}").unwrap(), vec!["A", "B"]);
    }

    #[test]
    fn finds_mentions() {
        let m = mentioned("echo $A ${B} $AB ${C:-x}", ["A", "B", "C", "D"]);
        assert_eq!(m.into_iter().collect::<Vec<_>>(), vec!["A", "B", "C"]);
    }
}
