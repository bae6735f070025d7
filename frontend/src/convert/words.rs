//! Words of a Dockerfile instruction and `$VAR` expansion.
//!
//! The Dockerfile frontend expands variables in most instructions when it
//! builds; a spec only substitutes build args (`${NAME}`). So expansion is
//! done here, at conversion time, into spec text: what is known becomes
//! literal text, a build arg stays a `${NAME}` reference the spec resolves,
//! and what cannot be said in a spec is an error (the expansion itself is
//! in `expand`).

/// A piece of an expanded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// `${NAME}` in the spec: a build arg.
    Ref(String),
    /// `${NAME}` in an env value: the variable as the environment has it
    /// when the value is set (from the base image or the stage below).
    EnvRef(String),
    /// `${NAME:-word}` / `${NAME:+word}` in the spec.
    Op {
        name: String,
        op: &'static str,
        word: Vec<Part>,
    },
}

/// An expanded value, as spec text or as a literal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Value(pub Vec<Part>);

impl Value {
    pub fn lit(text: impl Into<String>) -> Value {
        Value(vec![Part::Lit(text.into())])
    }

    /// The value when it refers to nothing, else `None`.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Lit(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The text of a spec field that the spec substitutes: `$` escaped as
    /// `$$`, references as `${NAME}`.
    pub fn spec_text(&self) -> String {
        let mut out = String::new();
        render(&self.0, &mut out);
        out
    }

    /// Names this value refers to.
    pub fn refs(&self) -> Vec<String> {
        let mut names = Vec::new();
        collect_refs(&self.0, &mut names);
        names
    }

    pub fn push(&mut self, part: Part) {
        if let (Part::Lit(new), Some(Part::Lit(last))) = (&part, self.0.last_mut()) {
            last.push_str(new);
            return;
        }
        if !matches!(&part, Part::Lit(t) if t.is_empty()) {
            self.0.push(part);
        }
    }

    pub fn extend(&mut self, other: Value) {
        for part in other.0 {
            self.push(part);
        }
    }

    /// Names of environment variables this value refers to.
    pub fn env_refs(&self) -> Vec<String> {
        fn walk(parts: &[Part], out: &mut Vec<String>) {
            for part in parts {
                match part {
                    Part::EnvRef(n) => out.push(n.clone()),
                    Part::Op { word, .. } => walk(word, out),
                    _ => {}
                }
            }
        }
        let mut names = Vec::new();
        walk(&self.0, &mut names);
        names
    }

    /// Refers to the environment, which only env values can.
    pub fn has_env_ref(&self) -> bool {
        fn any(parts: &[Part]) -> bool {
            parts.iter().any(|p| match p {
                Part::EnvRef(_) => true,
                Part::Op { word, .. } => any(word),
                _ => false,
            })
        }
        any(&self.0)
    }

    pub fn starts_with_slash(&self) -> bool {
        matches!(self.0.first(), Some(Part::Lit(t)) if t.starts_with('/'))
    }
}

fn render(parts: &[Part], out: &mut String) {
    for part in parts {
        match part {
            Part::Lit(t) => out.push_str(&t.replace('$', "$$")),
            Part::Ref(n) | Part::EnvRef(n) => out.push_str(&format!("${{{n}}}")),
            Part::Op { name, op, word } => {
                out.push_str(&format!("${{{name}{op}"));
                render(word, out);
                out.push('}');
            }
        }
    }
}

fn collect_refs(parts: &[Part], names: &mut Vec<String>) {
    for part in parts {
        match part {
            Part::Lit(_) => {}
            Part::Ref(n) | Part::EnvRef(n) => names.push(n.clone()),
            Part::Op { name, word, .. } => {
                names.push(name.clone());
                collect_refs(word, names);
            }
        }
    }
}

pub use super::expand::{expand, Mode};

/// What a variable is at the point of expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// Set by this Dockerfile to this value.
    Value(Value),
    /// A build arg in scope; `has_value`: it has a default (so it is set).
    Arg { has_value: bool },
    /// Not set.
    Unset,
    /// Maybe set by the base image; its value is unknown here.
    Unknown,
    /// Like `Unknown`, under a name a spec cannot refer to.
    Unnameable,
}

pub trait Vars {
    fn var(&self, name: &str) -> Var;
}

/// BuildKit's `parseWords`: split on blanks; quotes and escapes are kept
/// (expansion removes them later).
pub fn split_words(rest: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            None if c.is_whitespace() => {
                if blank_ok || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                blank_ok = false;
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    blank_ok = true;
                }
                if c == escape {
                    if chars.peek().is_none() {
                        continue;
                    }
                    word.push(c);
                    word.push(chars.next().expect("peeked"));
                    continue;
                }
                word.push(c);
            }
            Some(q) => {
                if c == q {
                    quote = None;
                }
                if c == escape && q != '\'' {
                    if chars.peek().is_none() {
                        quote = None;
                        continue;
                    }
                    word.push(c);
                    word.push(chars.next().expect("peeked"));
                    continue;
                }
                word.push(c);
            }
        }
    }
    if blank_ok || !word.is_empty() {
        words.push(word);
    }
    words
}

/// A JSON array of strings (exec form), as BuildKit reads it: `None` when
/// the text is no JSON array (then it is shell form).
pub fn json_array(rest: &str) -> Result<Option<Vec<String>>, String> {
    let text = rest.trim_start();
    if !text.starts_with('[') {
        return Ok(None);
    }
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(serde_json::Value::Array(items))) => items
            .into_iter()
            .map(|i| match i {
                serde_json::Value::String(s) => Ok(s),
                _ => Err("a JSON array here must hold strings only; quote every item".to_string()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_keeping_quotes() {
        assert_eq!(
            split_words(r#"A="a b" B=c\ d C=''"#, '\\'),
            vec![r#"A="a b""#, r"B=c\ d", "C=''"]
        );
    }

    #[test]
    fn reads_json_arrays() {
        assert_eq!(
            json_array(r#"["a", "b c"]"#).unwrap(),
            Some(vec!["a".into(), "b c".into()])
        );
        assert_eq!(json_array("echo [x]").unwrap(), None);
        assert_eq!(json_array("[not json").unwrap(), None);
        assert!(json_array("[1]").is_err());
    }
}
