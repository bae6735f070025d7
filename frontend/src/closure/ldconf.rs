//! `/etc/ld.so.conf`: the directories `ldconfig` puts in the loader's
//! cache, read the way `ldconfig`'s `parse_conf` reads them.

use super::facts::{gather, Lookup, Node, Step};
use super::paths::{dirname, join, trim_dir};

pub(super) const LD_SO_CONF: &str = "/etc/ld.so.conf";

/// `include` nesting beyond this is a loop (ldconfig itself would recurse
/// until it runs out of file descriptors).
const MAX_INCLUDE_DEPTH: usize = 16;

/// The directories of `/etc/ld.so.conf` in order, includes expanded,
/// duplicates dropped. Empty when the file does not exist.
pub(super) fn directories(lookup: &mut Lookup) -> Step<Vec<String>> {
    let mut dirs = Vec::new();
    for dir in conf_file(lookup, LD_SO_CONF, 0)? {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    Ok(dirs)
}

/// The directories one configuration file lists (a missing or unreadable
/// file lists none: ldconfig warns and goes on).
fn conf_file(lookup: &mut Lookup, path: &str, depth: usize) -> Step<Vec<String>> {
    let text = match lookup.walk(path)? {
        Some(walked) => match walked.node {
            Node::File { size } => lookup.read_whole(&walked.real, size)?,
            _ => return Ok(Vec::new()),
        },
        None => return Ok(Vec::new()),
    };
    let text = String::from_utf8_lossy(text);
    let mut steps = Vec::new();
    for line in text.lines() {
        steps.push(match parse_line(line) {
            Line::Blank => Ok(Vec::new()),
            Line::Dir(dir) => Ok(vec![dir]),
            Line::Include(patterns) if depth < MAX_INCLUDE_DEPTH => {
                include(lookup, path, &patterns, depth)
            }
            Line::Include(_) => Ok(Vec::new()),
        });
    }
    Ok(gather(steps)?.into_iter().flatten().collect())
}

fn include(
    lookup: &mut Lookup,
    from: &str,
    patterns: &[String],
    depth: usize,
) -> Step<Vec<String>> {
    let mut steps = Vec::new();
    for pattern in patterns {
        // A relative pattern is relative to the including file's directory.
        let pattern = if pattern.starts_with('/') {
            pattern.clone()
        } else {
            join(&dirname(from), pattern)
        };
        steps.push(glob(lookup, &pattern).and_then(|files| {
            let parsed = files
                .iter()
                .map(|file| conf_file(lookup, file, depth + 1))
                .collect();
            Ok(gather(parsed)?.into_iter().flatten().collect::<Vec<_>>())
        }));
    }
    Ok(gather(steps)?.into_iter().flatten().collect())
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Blank,
    Dir(String),
    Include(Vec<String>),
}

fn parse_line(line: &str) -> Line {
    let line = line.split('#').next().unwrap_or_default().trim();
    if line.is_empty() {
        return Line::Blank;
    }
    if let Some(rest) = keyword(line, "include") {
        return Line::Include(rest.split_whitespace().map(str::to_string).collect());
    }
    if keyword(line, "hwcap").is_some() {
        // Obsolete; ldconfig ignores it.
        return Line::Blank;
    }
    // `dir=TYPE` is the old libc5 syntax; the type is ignored.
    let dir = line.split('=').next().unwrap_or_default().trim();
    if dir.starts_with('/') {
        Line::Dir(trim_dir(dir).to_string())
    } else {
        // ldconfig refuses relative directories for the cache.
        Line::Blank
    }
}

/// `line` without `word` if it starts with `word` and a blank.
fn keyword<'l>(line: &'l str, word: &str) -> Option<&'l str> {
    let rest = line
        .get(..word.len())?
        .eq_ignore_ascii_case(word)
        .then(|| &line[word.len()..])?;
    rest.starts_with([' ', '\t']).then_some(rest)
}

/// The paths matching `pattern`, sorted (as `glob(3)` returns them).
/// Wildcards are honoured in the last component only; `ld.so.conf` files
/// use `dir/*.conf`, and a wildcard directory would be matched literally.
fn glob(lookup: &mut Lookup, pattern: &str) -> Step<Vec<String>> {
    let dir = dirname(pattern);
    let name_pattern = &pattern[pattern.rfind('/').map_or(0, |i| i + 1)..];
    if !name_pattern.contains(['*', '?', '[']) {
        return Ok(vec![pattern.to_string()]);
    }
    let Some(walked) = lookup.walk(&dir)? else {
        return Ok(Vec::new());
    };
    if walked.node != Node::Dir {
        return Ok(Vec::new());
    }
    let entries = lookup.entries(&walked.real)?;
    Ok(entries
        .keys()
        .filter(|name| wildcard_match(name_pattern.as_bytes(), name.as_bytes()))
        .map(|name| join(&dir, name))
        .collect())
}

/// `fnmatch(3)` without flags but with a leading `.` matched only
/// explicitly (as `glob` does): `*`, `?`, `[...]` with `!`/`^` and ranges.
/// Hand-written because the `glob` crates walk the host filesystem, not
/// ours, and this is all `ld.so.conf` needs.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pattern.first() != Some(&b'.') {
        return false;
    }
    matches_from(pattern, name)
}

fn matches_from(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| matches_from(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && matches_from(rest, &name[1..]),
        Some((b'[', rest)) => match (name.split_first(), bracket(rest)) {
            (Some((&c, name_rest)), Some((set, after))) => set(c) && matches_from(after, name_rest),
            // An unclosed `[` is a literal.
            (Some((&c, name_rest)), None) => c == b'[' && matches_from(rest, name_rest),
            (None, _) => false,
        },
        Some((&literal, rest)) => name.first() == Some(&literal) && matches_from(rest, &name[1..]),
    }
}

/// A bracket expression after its `[`: the membership test and the
/// pattern after the closing `]`.
fn bracket(pattern: &[u8]) -> Option<(impl Fn(u8) -> bool + '_, &[u8])> {
    let (negated, body) = match pattern.first() {
        Some(b'!' | b'^') => (true, &pattern[1..]),
        _ => (false, pattern),
    };
    // A `]` first in the set is a member, not the end.
    let close = body.iter().skip(1).position(|&b| b == b']')? + 1;
    let set = &body[..close];
    let member = move |c: u8| {
        let mut i = 0;
        let mut found = false;
        while i < set.len() {
            if i + 2 < set.len() && set[i + 1] == b'-' {
                found |= set[i] <= c && c <= set[i + 2];
                i += 3;
            } else {
                found |= set[i] == c;
                i += 1;
            }
        }
        found != negated
    };
    Some((member, &body[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_like_ldconfig() {
        assert_eq!(parse_line("  # comment"), Line::Blank);
        assert_eq!(
            parse_line("/usr/local/lib/ # trailing"),
            Line::Dir("/usr/local/lib".into())
        );
        assert_eq!(
            parse_line("include /etc/ld.so.conf.d/*.conf extra.conf"),
            Line::Include(vec!["/etc/ld.so.conf.d/*.conf".into(), "extra.conf".into()])
        );
        assert_eq!(
            parse_line("include\t/x.conf"),
            Line::Include(vec!["/x.conf".into()])
        );
        assert_eq!(parse_line("includes/dir"), Line::Blank);
        assert_eq!(parse_line("hwcap 1 nosegneg"), Line::Blank);
        assert_eq!(parse_line("/opt/lib=libc6"), Line::Dir("/opt/lib".into()));
        assert_eq!(parse_line("relative/lib"), Line::Blank);
    }

    #[test]
    fn matches_wildcards_like_glob() {
        let m = |p: &str, n: &str| wildcard_match(p.as_bytes(), n.as_bytes());
        assert!(m("*.conf", "libc.conf"));
        assert!(!m("*.conf", "libc.conf.bak"));
        assert!(!m("*.conf", ".hidden.conf"));
        assert!(m(".*.conf", ".hidden.conf"));
        assert!(m("x86_64-*.conf", "x86_64-linux-gnu.conf"));
        assert!(m("lib?.conf", "libc.conf"));
        assert!(m("[a-c]*.conf", "b.conf"));
        assert!(!m("[!a-c]*.conf", "b.conf"));
        assert!(m("[]x].conf", "].conf"));
        assert!(m("[.conf", "[.conf"));
        assert!(m("*", "a"));
    }
}
