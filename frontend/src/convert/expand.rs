//! BuildKit's shell lexer (`ProcessWord`) over spec text: quotes removed,
//! escapes resolved, `$VAR`/`${VAR…}` expanded from what the converter
//! knows of the stage.

use super::words::{Part, Value, Var, Vars};

/// How to expand: BuildKit's lexer modes.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub escape: char,
    /// Quotes are ordinary characters (heredoc content).
    pub keep_quotes: bool,
    /// Unknown variables become `${NAME}` (env values, which the spec
    /// resolves against the base image's environment).
    pub base_refs: bool,
}

/// BuildKit's `ProcessWord`: quotes removed, escapes resolved, variables
/// expanded. Errors are messages for the caller to place.
pub fn expand(word: &str, vars: &dyn Vars, mode: Mode) -> Result<Value, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        at: 0,
        vars,
        mode,
        depth: 0,
    };
    lexer.until(None)
}

struct Lexer<'a> {
    chars: &'a [char],
    at: usize,
    vars: &'a dyn Vars,
    mode: Mode,
    depth: usize,
}

/// Nested `${a:-${b:-…}}` deeper than this is refused, so hostile input
/// cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.at += usize::from(c.is_some());
        c
    }

    fn until(&mut self, stop: Option<char>) -> Result<Value, String> {
        let mut value = Value::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.next();
                return Ok(value);
            }
            match c {
                '$' => value.extend(self.dollar()?),
                '\'' if !self.mode.keep_quotes => value.push(Part::Lit(self.single_quoted()?)),
                '"' if !self.mode.keep_quotes => value.extend(self.double_quoted()?),
                _ => {
                    self.next();
                    if c == self.mode.escape {
                        match self.next() {
                            Some(n) => value.push(Part::Lit(n.to_string())),
                            None => break,
                        }
                    } else {
                        value.push(Part::Lit(c.to_string()));
                    }
                }
            }
        }
        match stop {
            Some(s) => Err(format!("`{s}` is missing")),
            None => Ok(value),
        }
    }

    fn single_quoted(&mut self) -> Result<String, String> {
        self.next();
        let mut text = String::new();
        loop {
            match self.next() {
                None => return Err("a single quote is never closed".into()),
                Some('\'') => return Ok(text),
                Some(c) => text.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<Value, String> {
        self.next();
        let mut value = Value::default();
        loop {
            match self.peek() {
                None => return Err("a double quote is never closed".into()),
                Some('"') => {
                    self.next();
                    return Ok(value);
                }
                Some('$') => value.extend(self.dollar()?),
                Some(_) => {
                    let mut c = self.next().expect("peeked");
                    if c == self.mode.escape {
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.mode.escape => {
                                c = self.next().expect("peeked");
                            }
                            Some(_) => {}
                        }
                    }
                    value.push(Part::Lit(c.to_string()));
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        if let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.next();
                }
                return name;
            }
            if "@*#?-$!0".contains(c) {
                self.next();
                return c.to_string();
            }
        }
        while let Some(c) = self.peek() {
            if !(c.is_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.next();
        }
        name
    }

    fn dollar(&mut self) -> Result<Value, String> {
        self.next();
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok(Value::lit("$"));
            }
            return self.plain(&name);
        }
        self.next();
        match self.peek() {
            None => return Err("`${` without its `}`".into()),
            Some('{' | '}' | ':') => return Err("bad substitution after `${`".into()),
            _ => {}
        }
        let name = self.name();
        let op = match self.next() {
            Some('}') => return self.plain(&name),
            Some(':') => match self.next() {
                Some(c @ ('-' | '+' | '?')) => format!(":{c}"),
                other => return Err(format!("unsupported modifier `:{}`", other.unwrap_or(' '))),
            },
            Some(c @ ('-' | '+' | '?' | '#' | '%' | '/')) => c.to_string(),
            _ => return Err(format!("bad substitution in `${{{name}`")),
        };
        if op == "/" || op == "#" || op == "%" {
            return Err(format!(
                "`${{{name}{op}…}}` (pattern substitution) cannot be written in a spec"
            ));
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("substitutions nested more than {MAX_DEPTH} deep"));
        }
        let word = self.until(Some('}'))?;
        self.depth -= 1;
        self.modified(&name, &op, word)
    }

    /// What `name` is; special parameters (`$$`, `$1`…) are never set.
    /// A base-image variable the spec cannot name (`${NAME}` takes ASCII
    /// names) is as unknown as one outside an env value.
    fn lookup(&self, name: &str) -> Var {
        if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            return Var::Unset;
        }
        match self.vars.var(name) {
            Var::Unknown
                if self.mode.base_refs
                    && !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Var::Unnameable
            }
            var => var,
        }
    }

    fn plain(&self, name: &str) -> Result<Value, String> {
        match self.lookup(name) {
            Var::Value(v) if v.has_env_ref() && !self.mode.base_refs => Err(unknown(name)),
            Var::Value(v) => Ok(v),
            Var::Arg { .. } => Ok(Value(vec![Part::Ref(name.to_string())])),
            Var::Unset => Ok(Value::default()),
            Var::Unknown if self.mode.base_refs => Ok(Value(vec![Part::EnvRef(name.to_string())])),
            Var::Unknown | Var::Unnameable => Err(unknown(name)),
        }
    }

    /// `${name<op>word}`.
    fn modified(&self, name: &str, op: &str, word: Value) -> Result<Value, String> {
        let null_is_unset = op.starts_with(':');
        let kind = op.trim_start_matches(':');
        let known = |value: Value| -> Result<Value, String> {
            let empty = value.literal().is_some_and(|t| t.is_empty());
            Ok(match kind {
                "-" if null_is_unset && empty => word.clone(),
                "+" if null_is_unset && empty => Value::default(),
                "+" => word.clone(),
                "?" if null_is_unset && empty => {
                    return Err(format!(
                        "`{name}` is empty, and `${{{name}{op}…}}` requires it"
                    ))
                }
                _ => value,
            })
        };
        match self.lookup(name) {
            Var::Value(v) if v.literal().is_some() => known(v),
            Var::Value(v) => match v.0.as_slice() {
                [Part::Ref(arg)] => self.on_ref(arg, op, word, true, false),
                [Part::EnvRef(var)] if self.mode.base_refs => {
                    self.on_ref(var, op, word, true, true)
                }
                _ => Err(format!(
                    "`${{{name}{op}…}}` tests a variable whose value comes from build args"
                )),
            },
            Var::Arg { has_value } => self.on_ref(name, op, word, has_value, false),
            Var::Unset => match kind {
                "-" => Ok(word),
                "+" => Ok(Value::default()),
                _ => Err(format!(
                    "`{name}` is not set, and `${{{name}{op}…}}` requires it"
                )),
            },
            Var::Unknown if self.mode.base_refs => self.on_ref(name, op, word, true, true),
            Var::Unknown | Var::Unnameable => Err(unknown(name)),
        }
    }

    /// `${arg<op>word}` on a reference the spec resolves.
    fn on_ref(
        &self,
        name: &str,
        op: &str,
        word: Value,
        set: bool,
        env: bool,
    ) -> Result<Value, String> {
        // The spec finds the end of `${…}` by counting braces.
        if word
            .0
            .iter()
            .any(|p| matches!(p, Part::Lit(t) if t.contains(['{', '}'])))
        {
            return Err(format!(
                "`${{{name}{op}…}}`: a brace in the default cannot be written in a spec"
            ));
        }
        let reference = Value(vec![if env {
            Part::EnvRef(name.to_string())
        } else {
            Part::Ref(name.to_string())
        }]);
        match op {
            ":-" | ":+" => Ok(Value(vec![Part::Op {
                name: name.to_string(),
                op: if op == ":-" { ":-" } else { ":+" },
                word: word.0,
            }])),
            "-" | "?" | ":?" if set => Ok(reference),
            "+" if set => Ok(word),
            _ => Err(format!(
                "`${{{name}{op}…}}` depends on whether build arg `{name}` is set, which a spec cannot tell (spec args are always set)"
            )),
        }
    }
}

fn unknown(name: &str) -> String {
    format!("`${name}` is not set in this Dockerfile; it may come from the base image, whose value the converter cannot know")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Env;
    impl Vars for Env {
        fn var(&self, name: &str) -> Var {
            match name {
                "HOME" => Var::Value(Value::lit("/root")),
                "V" => Var::Arg { has_value: true },
                "NOV" => Var::Arg { has_value: false },
                "EMPTY" => Var::Value(Value::default()),
                "PATH" => Var::Unknown,
                _ => Var::Unset,
            }
        }
    }

    const MODE: Mode = Mode {
        escape: '\\',
        keep_quotes: false,
        base_refs: false,
    };

    fn spec(word: &str) -> String {
        expand(word, &Env, MODE).unwrap().spec_text()
    }

    #[test]
    fn expands_like_buildkit() {
        assert_eq!(spec("$HOME/x"), "/root/x");
        assert_eq!(spec("'$HOME' \"$HOME\""), "$$HOME /root");
        assert_eq!(spec("app-${V}"), "app-${V}");
        assert_eq!(spec("${NOPE:-d}"), "d");
        assert_eq!(spec("${EMPTY:-d} ${EMPTY-d}"), "d ");
        assert_eq!(spec("${V:-x}"), "${V:-x}");
        assert_eq!(spec("${V-x}"), "${V}");
        assert_eq!(spec("a\\ b \\$HOME"), "a b $$HOME");
        assert_eq!(spec("cost: $"), "cost: $$");
        assert!(expand("$PATH", &Env, MODE).is_err());
        assert!(expand("${NOV-x}", &Env, MODE).is_err());
        assert!(expand("${HOME#/}", &Env, MODE).is_err());
        let base = Mode {
            base_refs: true,
            ..MODE
        };
        assert_eq!(
            expand("/opt:$PATH", &Env, base).unwrap().spec_text(),
            "/opt:${PATH}"
        );
    }
}
