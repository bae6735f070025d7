//! A small, deterministic YAML writer for converted specs: block mappings
//! and lists, flow lists of short scalars, literal block scalars for
//! multi-line text, and quoting wherever a plain scalar would be read as
//! something else (a number, a boolean, a comment, an alias…).
//!
//! Written here rather than through serde: the output carries comments
//! and chooses styles for people to read, which serializers do not offer.

/// A YAML value. Scalars are always strings; `Raw` is emitted as written
/// (numbers and booleans the spec reads as such).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Str(String),
    Raw(String),
    List(Vec<Item>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Node,
    pub comments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub value: Node,
    pub comments: Vec<String>,
    /// A mapping written `{a: b}` on one line, when it fits.
    pub flow: bool,
}

impl Node {
    pub fn str(text: impl Into<String>) -> Node {
        Node::Str(text.into())
    }

    pub fn strs<S: AsRef<str>>(items: &[S]) -> Node {
        Node::List(
            items
                .iter()
                .map(|s| Item::new(Node::str(s.as_ref())))
                .collect(),
        )
    }

    pub fn map() -> Node {
        Node::Map(Vec::new())
    }

    /// Adds `key: value` to a mapping.
    pub fn set(&mut self, key: &str, value: Node) {
        self.set_commented(key, value, Vec::new());
    }

    pub fn set_commented(&mut self, key: &str, value: Node, comments: Vec<String>) {
        if let Node::Map(entries) = self {
            entries.push(Entry {
                key: key.to_string(),
                value,
                comments,
            });
        }
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Node::Str(_) | Node::Raw(_))
    }

    fn is_empty_collection(&self) -> bool {
        matches!(self, Node::List(l) if l.is_empty())
            || matches!(self, Node::Map(m) if m.is_empty())
    }
}

impl Item {
    pub fn new(value: Node) -> Item {
        Item {
            value,
            comments: Vec::new(),
            flow: false,
        }
    }

    /// An item written as a flow mapping when it fits on the line.
    pub fn flow(value: Node) -> Item {
        Item {
            flow: true,
            ..Item::new(value)
        }
    }
}

/// Lines longer than this are not written as flow lists.
const FLOW_WIDTH: usize = 88;

/// The document for a top-level mapping.
pub fn to_string(root: &Node) -> String {
    let mut out = String::new();
    if let Node::Map(entries) = root {
        write_map(entries, 0, &mut out);
    }
    out
}

fn comments(lines: &[String], indent: usize, out: &mut String) {
    for line in lines {
        out.push_str(&" ".repeat(indent));
        out.push_str("# ");
        out.push_str(&comment_text(line));
        out.push('\n');
    }
}

/// A comment's text on one line, without the characters YAML refuses in
/// comments (control characters) or reads as line breaks.
pub fn comment_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if unsafe_char(c) || c == '\n' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Characters no YAML scalar or comment may hold as they are: outside
/// YAML's printable set, or read as line breaks.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'
        )
}

fn write_map(entries: &[Entry], indent: usize, out: &mut String) {
    for entry in entries {
        comments(&entry.comments, indent, out);
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar(&entry.key, false));
        out.push(':');
        write_value(&entry.value, indent, out);
    }
}

/// The value after `key:` or `- `: on the same line when it is a scalar
/// or a flow list, else on the following lines.
fn write_value(value: &Node, indent: usize, out: &mut String) {
    match value {
        Node::Str(text) if text.contains('\n') && block_ok(text) => {
            out.push(' ');
            block_scalar(text, indent + 2, out);
        }
        Node::Str(text) => {
            out.push(' ');
            out.push_str(&scalar(text, false));
            out.push('\n');
        }
        Node::Raw(text) => {
            out.push(' ');
            out.push_str(text);
            out.push('\n');
        }
        v if v.is_empty_collection() => {
            out.push_str(if matches!(v, Node::List(_)) {
                " []\n"
            } else {
                " {}\n"
            });
        }
        Node::List(items) => match flow_list(items) {
            Some(flow) if indent + flow.len() < FLOW_WIDTH => {
                out.push(' ');
                out.push_str(&flow);
                out.push('\n');
            }
            _ => {
                out.push('\n');
                write_list(items, indent + 2, out);
            }
        },
        Node::Map(entries) => {
            out.push('\n');
            write_map(entries, indent + 2, out);
        }
    }
}

fn write_list(items: &[Item], indent: usize, out: &mut String) {
    for item in items {
        comments(&item.comments, indent, out);
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match &item.value {
            Node::Map(entries)
                if item.flow
                    && flow_map(entries).is_some_and(|f| indent + f.len() < FLOW_WIDTH) =>
            {
                out.push(' ');
                out.push_str(&flow_map(entries).expect("checked"));
                out.push('\n');
            }
            Node::Map(entries) if !entries.is_empty() => {
                // The first entry shares the dash's line.
                let first = &entries[0];
                out.push(' ');
                out.push_str(&scalar(&first.key, false));
                out.push(':');
                write_value(&first.value, indent + 2, out);
                write_map(&entries[1..], indent + 2, out);
            }
            value => write_value(value, indent, out),
        }
    }
}

/// `[a, b]` when every item is a short one-line scalar.
fn flow_list(items: &[Item]) -> Option<String> {
    let mut parts = Vec::new();
    for item in items {
        if !item.value.is_scalar() || !item.comments.is_empty() {
            return None;
        }
        match &item.value {
            Node::Str(t) if t.contains('\n') => return None,
            Node::Str(t) => parts.push(scalar(t, true)),
            Node::Raw(t) => parts.push(t.clone()),
            _ => return None,
        }
    }
    Some(format!("[{}]", parts.join(", ")))
}

/// `{a: b, c: d}` when every value is a short one-line scalar.
fn flow_map(entries: &[Entry]) -> Option<String> {
    let mut parts = Vec::new();
    for entry in entries {
        if !entry.comments.is_empty() {
            return None;
        }
        let value = match &entry.value {
            Node::Str(t) if !t.contains('\n') => scalar(t, true),
            Node::Raw(t) => t.clone(),
            _ => return None,
        };
        parts.push(format!("{}: {value}", scalar(&entry.key, true)));
    }
    (!parts.is_empty()).then(|| format!("{{{}}}", parts.join(", ")))
}

/// Text a literal block scalar can hold exactly.
fn block_ok(text: &str) -> bool {
    !text.chars().any(unsafe_char)
        && !text.starts_with('\n')
        && !text.trim().is_empty()
        && !text.lines().any(|l| l.ends_with(' ') || l.ends_with('\t'))
}

fn block_scalar(text: &str, indent: usize, out: &mut String) {
    out.push('|');
    // The indentation is detected from the first line; say it when that
    // line starts with a blank.
    if text.starts_with(' ') {
        out.push('2');
    }
    let body = text.trim_end_matches('\n');
    let trailing = text.len() - body.len();
    out.push_str(match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    });
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&" ".repeat(indent));
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// A scalar as plain text when YAML reads it back as this same string,
/// else quoted.
pub fn scalar(text: &str, in_flow: bool) -> String {
    if plain_ok(text, in_flow) {
        return text.to_string();
    }
    if text.chars().any(|c| c.is_control() || unsafe_char(c)) {
        return double_quoted(text);
    }
    format!("'{}'", text.replace('\'', "''"))
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || unsafe_char(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn plain_ok(text: &str, in_flow: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if text.trim() != text || text.chars().any(|c| c.is_control() || unsafe_char(c)) {
        return false;
    }
    if "[]{},#&*!|>'\"%@`".contains(first) {
        return false;
    }
    if "-?:".contains(first) {
        let second = text.chars().nth(1);
        if second.is_none_or(|c| c == ' ' || (in_flow && ",[]{}".contains(c))) {
            return false;
        }
    }
    if text.contains(": ") || text.contains(" #") || text.ends_with(':') {
        return false;
    }
    if in_flow && text.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    !looks_typed(text)
}

/// Plain scalars YAML 1.1 or 1.2 would read as null, a boolean or a number.
fn looks_typed(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    let lower = text.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) || lower == "<<" {
        return true;
    }
    let body = lower.trim_start_matches(['+', '-']);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.contains(|c: char| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "._:+-xob".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_yaml_would_misread() {
        for (text, out) in [
            ("plain text", "plain text"),
            ("/usr/bin", "/usr/bin"),
            ("-c", "-c"),
            ("yes", "'yes'"),
            ("On", "'On'"),
            ("8080", "'8080'"),
            ("0755", "'0755'"),
            ("1.22", "'1.22'"),
            ("1e3", "'1e3'"),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            ("*star", "'*star'"),
            ("&amp", "'&amp'"),
            ("!tag", "'!tag'"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            ("", "''"),
            (" lead", "' lead'"),
            ("tab\there", "\"tab\\there\""),
            ("~", "'~'"),
            (".", "."),
            ("..", ".."),
            (".5", "'.5'"),
            ("null", "'null'"),
            ("- x", "'- x'"),
            ("key:", "'key:'"),
        ] {
            assert_eq!(scalar(text, false), out, "{text:?}");
        }
        assert_eq!(scalar("a,b", true), "'a,b'");
    }

    #[test]
    fn writes_blocks_and_flow_lists() {
        let mut root = Node::map();
        root.set("cmd", Node::strs(&["/app", "--port", "80"]));
        root.set("script", Node::str("echo a\n  indented\n"));
        let mut step = Node::map();
        step.set("run", Node::str("make"));
        step.set("env", {
            let mut env = Node::map();
            env.set("A", Node::str("1"));
            env
        });
        root.set(
            "steps",
            Node::List(vec![Item {
                value: step,
                comments: vec!["build it".into()],
                flow: false,
            }]),
        );
        assert_eq!(
            to_string(&root),
            "cmd: [/app, --port, '80']\nscript: |\n  echo a\n    indented\nsteps:\n  # build it\n  - run: make\n    env:\n      A: '1'\n"
        );
    }
}
