//! Just enough of the POSIX shell's syntax to read `run` commands: the
//! simple commands (words, quotes removed), the variables expanded, and
//! the variables the script sets itself.
//!
//! Hand-written: the rules need words and `$NAME`s, not a full parse, and
//! the shell parsers on crates.io either execute or build a whole AST of
//! bash for a few lines of lookup. What this reads wrongly (here-documents,
//! `case` patterns) only makes a rule miss, never panic.

use std::collections::BTreeSet;

/// One simple command: `A=1 apt-get install -y gcc`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    /// Leading `NAME=value` words, as `NAME`.
    pub assignments: Vec<String>,
    /// The command and its arguments, quotes removed, leading keywords
    /// (`if`, `then`, `do`, `!`, `{`…) dropped.
    pub words: Vec<String>,
}

/// A `$NAME` or `${NAME…}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    pub name: String,
    /// `${NAME:-…}`, `${NAME-…}`, `${NAME:=…}`, `${NAME:+…}`, `${NAME:?…}`:
    /// the author handles an unset `NAME`.
    pub guarded: bool,
}

const KEYWORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    "exec", "sudo", "command", "nohup",
];

/// The simple commands of `script`, in order.
pub fn commands(script: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    for words in split_words(script) {
        let mut command = SimpleCommand::default();
        let mut rest = words.into_iter().peekable();
        while let Some(word) = rest.peek() {
            if KEYWORDS.contains(&word.as_str()) {
                rest.next();
            } else if let Some(name) = assignment(word) {
                command.assignments.push(name.to_string());
                rest.next();
            } else {
                break;
            }
        }
        command.words = rest.collect();
        if !command.words.is_empty() || !command.assignments.is_empty() {
            out.push(command);
        }
    }
    out
}

/// `NAME` of a `NAME=value` word.
fn assignment(word: &str) -> Option<&str> {
    let (name, _) = word.split_once('=')?;
    is_name(name).then_some(name)
}

pub fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Words of each simple command: split at unquoted blanks and at the
/// operators `; & | ( )` and newlines; quotes and escapes removed;
/// comments skipped.
fn split_words(script: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, commands: &mut Vec<Vec<String>>| {
        if *in_word {
            let last = commands.len() - 1;
            commands[last].push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
            },
            '\'' | '"' => {
                in_word = true;
                quoted(c, &mut chars, &mut word);
            }
            '#' if !in_word => {
                for q in chars.by_ref() {
                    if q == '\n' {
                        break;
                    }
                }
                end_word(&mut word, &mut in_word, &mut commands);
                commands.push(Vec::new());
            }
            ' ' | '\t' => end_word(&mut word, &mut in_word, &mut commands),
            '\n' | ';' | '&' | '|' | '(' | ')' | '`' => {
                end_word(&mut word, &mut in_word, &mut commands);
                if !commands[commands.len() - 1].is_empty() {
                    commands.push(Vec::new());
                }
            }
            '$' if chars.peek() == Some(&'(') => {
                end_word(&mut word, &mut in_word, &mut commands);
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut commands);
    commands.retain(|c| !c.is_empty());
    commands
}

/// Appends the text of a quoted string (after its opening `quote`) to
/// `word`; in double quotes, `\` escapes `"`, `\`, `$` and a backquote.
fn quoted(quote: char, chars: &mut std::iter::Peekable<std::str::Chars>, word: &mut String) {
    while let Some(c) = chars.next() {
        match c {
            c if c == quote => break,
            '\\' if quote == '"' && matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                word.push(chars.next().expect("peeked"));
            }
            _ => word.push(c),
        }
    }
}

/// Every `$NAME` and `${NAME…}` the shell expands in `script` (not those
/// in single quotes, escaped, or in comments); `$1`, `$@`, `$?`… are left
/// out, as are `${!NAME}` and `$((…))` arithmetic.
pub fn expansions(script: &str) -> Vec<Expansion> {
    let bytes = script.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    let mut in_double = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\'' if !in_double => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            }
            b'"' => {
                in_double = !in_double;
                i += 1;
            }
            b'#' if !in_double && (i == 0 || bytes[i - 1].is_ascii_whitespace()) => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'$' => {
                let (expansion, next) = expansion_at(script, i + 1);
                found.extend(expansion);
                i = next;
            }
            _ => i += 1,
        }
    }
    found
}

/// The expansion after a `$` at byte `start`, and where scanning goes on.
fn expansion_at(script: &str, start: usize) -> (Option<Expansion>, usize) {
    let rest = &script[start..];
    let name_len = |text: &str| {
        let first_ok = text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok {
            return 0;
        }
        text.bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count()
    };
    if let Some(body) = rest.strip_prefix('{') {
        let body = body.strip_prefix('#').unwrap_or(body);
        let skipped = rest.len() - body.len();
        let len = name_len(body);
        if len == 0 {
            return (None, start + 1);
        }
        let after = &body[len..];
        let op = after.strip_prefix(':').unwrap_or(after);
        let guarded = op.starts_with(['-', '=', '+', '?']);
        let name = body[..len].to_string();
        return (Some(Expansion { name, guarded }), start + skipped + len);
    }
    // `$$`, `$?`, `$1`…: one special character, not the start of a name.
    if rest.starts_with(|c: char| "$@*#?-!".contains(c) || c.is_ascii_digit()) {
        return (None, start + 1);
    }
    let len = name_len(rest);
    if len == 0 {
        return (None, start);
    }
    let name = rest[..len].to_string();
    (
        Some(Expansion {
            name,
            guarded: false,
        }),
        start + len,
    )
}

/// Variables `script` sets itself: `NAME=…`, `export/local/readonly NAME`,
/// `for NAME in`, `read … NAME`, `getopts … NAME`.
pub fn assigned(script: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for command in commands(script) {
        names.extend(command.assignments.iter().cloned());
        let words = &command.words;
        let Some(first) = words.first() else {
            continue;
        };
        let declared: Vec<&String> = match first.as_str() {
            "export" | "local" | "readonly" | "declare" | "typeset" | "read" => {
                words[1..].iter().collect()
            }
            "for" | "select" => words.get(1).into_iter().collect(),
            "getopts" => words.get(2).into_iter().collect(),
            _ => Vec::new(),
        };
        for word in declared {
            let name = assignment(word).unwrap_or(word);
            if is_name(name) {
                names.insert(name.to_string());
            }
        }
    }
    names
}

/// A package manager's install command: `apt-get install -y --no-install-recommends gcc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// `apt-get`, `apt`, `apk`, `dnf`, `yum`, `microdnf`.
    pub manager: String,
    /// Options, as written (`-y`, `--no-install-recommends`, `-o` `X=y`).
    pub options: Vec<String>,
    pub packages: Vec<String>,
}

/// The install commands of `script`.
pub fn installs(script: &str) -> Vec<Install> {
    commands(script)
        .into_iter()
        .filter_map(|c| install(&c.words))
        .collect()
}

/// `apt-get update` (or `apt update`) in `script`.
pub fn apt_updates(script: &str) -> bool {
    commands(script).iter().any(|c| {
        matches!(c.words.first().map(String::as_str), Some("apt-get" | "apt"))
            && subcommand(&c.words[1..]).is_some_and(|(s, _)| s == "update")
    })
}

fn install(words: &[String]) -> Option<Install> {
    let manager = words.first()?.as_str();
    let verb = match manager {
        "apt-get" | "apt" | "dnf" | "yum" | "microdnf" => "install",
        "apk" => "add",
        _ => return None,
    };
    let (sub, after) = subcommand(&words[1..])?;
    if sub != verb {
        return None;
    }
    let mut options: Vec<String> = words[1..]
        .iter()
        .take_while(|w| *w != sub)
        .cloned()
        .collect();
    let mut packages = Vec::new();
    let mut rest = after.iter();
    while let Some(word) = rest.next() {
        if word.starts_with('-') {
            options.push(word.clone());
            if takes_value(word) {
                options.extend(rest.next().cloned());
            }
        } else {
            packages.push(word.clone());
        }
    }
    Some(Install {
        manager: manager.to_string(),
        options,
        packages,
    })
}

/// The first word that is not an option (or an option's value), and the
/// words after it.
fn subcommand(words: &[String]) -> Option<(&str, &[String])> {
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        if !word.starts_with('-') {
            return Some((word, &words[i + 1..]));
        }
        i += if takes_value(word) { 2 } else { 1 };
    }
    None
}

/// Options of apt and friends whose value is the next word.
fn takes_value(option: &str) -> bool {
    matches!(
        option,
        "-o" | "-t" | "-c" | "--option" | "--target-release" | "--config-file"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(script: &str) -> Vec<(String, bool)> {
        expansions(script)
            .into_iter()
            .map(|e| (e.name, e.guarded))
            .collect()
    }

    #[test]
    fn finds_the_variables_the_shell_expands() {
        assert_eq!(
            names(r#"echo $A "${B}" '$C' \$D ${E:-x} ${F-y} $1 $@ ${#G} $(( 1 + 2 )) # $H"#),
            vec![
                ("A".into(), false),
                ("B".into(), false),
                ("E".into(), true),
                ("F".into(), true),
                ("G".into(), false)
            ]
        );
        assert_eq!(names(r#"echo "it's $X""#), vec![("X".into(), false)]);
        assert_eq!(names("echo $$PID_SUFFIX $?X $1Y"), vec![]);
    }

    #[test]
    fn splits_simple_commands_and_drops_keywords() {
        let c = commands("A=1 B=2 make -j4 && if true; then echo 'a b'; fi\n# x\nls \\\n  -l");
        let words: Vec<Vec<String>> = c.iter().map(|c| c.words.clone()).collect();
        assert_eq!(
            words,
            vec![
                vec!["make".to_string(), "-j4".into()],
                vec!["true".into()],
                vec!["echo".into(), "a b".into()],
                vec!["ls".into(), "-l".into()],
            ]
        );
        assert_eq!(c[0].assignments, vec!["A", "B"]);
    }

    #[test]
    fn knows_what_a_script_sets_itself() {
        let set = assigned("X=1; export Y=2 Z; for f in *; do read -r line; done; local w");
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        assert_eq!(set, vec!["X", "Y", "Z", "f", "line", "w"]);
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panic(script in "[ -~\n\t$'\"\\\\{}é]{0,80}") {
            let _ = (commands(&script), expansions(&script), assigned(&script));
            let _ = (installs(&script), apt_updates(&script));
        }
    }

    #[test]
    fn reads_install_commands() {
        let i = installs(
            "apt-get update && apt-get -o Debug::X=1 install -y --no-install-recommends gcc make\napk add --no-cache go",
        );
        assert_eq!(i.len(), 2);
        assert_eq!(i[0].manager, "apt-get");
        assert_eq!(i[0].packages, vec!["gcc", "make"]);
        assert!(i[0]
            .options
            .contains(&"--no-install-recommends".to_string()));
        assert!(i[0].options.contains(&"Debug::X=1".to_string()));
        assert_eq!(i[1].packages, vec!["go"]);
        assert!(apt_updates("sudo apt-get -q update"));
        assert!(!apt_updates("echo apt-get update"));
    }
}
