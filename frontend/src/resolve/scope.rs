//! The values of build args for one build, and substitution with them.

use std::collections::BTreeMap;

use crate::options::CompileOptions;
use crate::spec::args::{self, SubstError};
use crate::spec::error::{did_you_mean, Problem};
use crate::spec::fields::Substitution;
use crate::spec::{Located, Spec};

/// Declared args (defaults overridden by `--build-arg`) and the built-in
/// platform args.
#[derive(Debug, Clone)]
pub struct ArgScope {
    values: BTreeMap<String, String>,
}

impl ArgScope {
    pub fn new(spec: &Spec, options: &CompileOptions) -> ArgScope {
        let mut values = BTreeMap::new();
        for arg in &spec.args {
            let value = options.build_args.get(&arg.name).unwrap_or(&arg.default);
            values.insert(arg.name.clone(), value.clone());
        }
        let t = &options.target_platform;
        let b = &options.build_platform;
        for (name, value) in [
            ("TARGETPLATFORM", t.to_string()),
            ("TARGETOS", t.os.clone()),
            ("TARGETARCH", t.architecture.clone()),
            ("TARGETVARIANT", t.variant.clone()),
            ("BUILDPLATFORM", b.to_string()),
            ("BUILDOS", b.os.clone()),
            ("BUILDARCH", b.architecture.clone()),
            ("BUILDVARIANT", b.variant.clone()),
        ] {
            values.insert(name.to_string(), value);
        }
        ArgScope { values }
    }

    /// This scope and a matrix variant's values.
    pub fn with(&self, values: &[(String, String)]) -> ArgScope {
        let mut scope = self.clone();
        scope.values.extend(values.iter().cloned());
        scope
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Substitutes a field's args in place, as the field's description
    /// says: `env` values keep the names that are not args, for the
    /// compiler to take from the variables set before them.
    pub fn substitute(&self, text: &mut Located<String>, how: Substitution) -> Result<(), Problem> {
        if !text.value.contains('$') {
            return Ok(()); // most values: nothing to do, nothing to allocate
        }
        let lookup = |name: &str| self.values.get(name).cloned();
        let result = match how {
            Substitution::Args => args::substitute(&text.value, &lookup),
            Substitution::ArgsThenEnv => args::substitute_known(&text.value, &lookup),
        };
        text.value = result.map_err(|e| match e {
            SubstError::Unknown(name) => {
                let problem =
                    Problem::new(text.pos, format!("`${{{name}}}` is not a declared arg"));
                match did_you_mean(&name, self.values.keys().map(String::as_str)) {
                    Some(near) => problem.hint(format!("did you mean `{near}`?")),
                    None => problem.hint(format!(
                        "declare it under `args:`, or write `$${{{name}}}` for a literal `${{`"
                    )),
                }
            }
            SubstError::Malformed(message) => Problem::new(text.pos, message),
        })?;
        Ok(())
    }

    /// `KEY=value` for each arg a shell command mentions.
    pub fn mentioned_env(&self, command: &str) -> Vec<(String, String)> {
        args::mentioned(command, self.values.keys().map(String::as_str))
            .into_iter()
            .map(|name| {
                let value = self.values[&name].clone();
                (name, value)
            })
            .collect()
    }
}

/// The second pass over an `env` value (its args are already in): the
/// variables set before it (`KEY=value` entries of `env`).
pub fn expand_env(value: &Located<String>, env: &[String]) -> Result<String, Problem> {
    let lookup = |name: &str| {
        env.iter().rev().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    };
    args::substitute(&value.value, &lookup).map_err(|e| match e {
        SubstError::Unknown(name) => {
            let problem = Problem::new(
                value.pos,
                format!("`${{{name}}}` is neither a declared arg nor an environment variable set before this point"),
            );
            let names = env.iter().map(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k));
            match did_you_mean(&name, names) {
                Some(near) => problem.hint(format!("did you mean `{near}`?")),
                None => problem.hint(format!(
                    "declare it under `args:`, or write `$${{{name}}}` for a literal `${{`"
                )),
            }
        }
        SubstError::Malformed(message) => Problem::new(value.pos, message),
    })
}
