//! The values of build args for one compilation.

use std::collections::BTreeMap;

use super::CompileOptions;
use crate::spec::args::{self, SubstError};
use crate::spec::error::{did_you_mean, Problem};
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

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Substitutes args in a spec value.
    pub fn subst(&self, value: &Located<String>) -> Result<String, Problem> {
        self.subst_with(value, &[])
    }

    /// Substitutes args, then variables of `env` (`KEY=value` entries), in
    /// an env value: `PATH: /opt/bin:${PATH}` extends the inherited PATH.
    pub fn subst_with(&self, value: &Located<String>, env: &[String]) -> Result<String, Problem> {
        args::substitute(&value.value, &|name| {
            self.values.get(name).cloned().or_else(|| {
                env.iter()
                    .rev()
                    .find_map(|e| e.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
            })
        })
        .map_err(|e| match e {
            SubstError::Unknown(name) => {
                let problem = Problem::new(value.pos, format!("`${{{name}}}` is neither a declared arg nor an environment variable set before this point"));
                match did_you_mean(&name, self.values.keys().map(String::as_str)) {
                    Some(near) => problem.hint(format!("did you mean `{near}`?")),
                    None => problem.hint(format!("declare it under `args:`, or write `$${{{name}}}` for a literal `${{`")),
                }
            }
            SubstError::Malformed(message) => Problem::new(value.pos, message),
        })
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
