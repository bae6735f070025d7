//! What the Dockerfile frontend knows while it dispatches a stage: its
//! environment, the build args in scope, the working directory, the user
//! and the shell. The converter replays this to expand variables and to
//! decide which spec options reproduce each step.

use super::words::{Value, Var, Vars};

pub const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];

/// A variable of the stage's environment, as set by ENV (or inherited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: Value,
    /// Set by an ENV of this stage (not inherited).
    pub here: bool,
    /// Order in which ENVs of this stage first set it.
    pub order: usize,
}

/// A build arg visible in the stage: declared by `ARG` in it (or in the
/// stage it is built on, whose environment it inherits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgVar {
    pub name: String,
    /// A default or global value exists, so the Dockerfile sets it.
    pub has_value: bool,
}

/// The running state of one stage.
#[derive(Debug, Clone)]
pub struct StageState {
    pub env: Vec<EnvVar>,
    pub args: Vec<ArgVar>,
    /// Absolute working directory; `None`: the base image's, unknown.
    pub workdir: Option<Value>,
    pub workdir_here: bool,
    /// `None`: the base image's, unknown (or unset).
    pub user: Option<Value>,
    pub user_here: bool,
    pub shell: Vec<String>,
    /// Variables not set here come from an image whose config is unknown.
    pub base_unknown: bool,
}

impl StageState {
    /// A stage on an image (`None`: scratch).
    pub fn on_image(scratch: bool) -> StageState {
        let mut env = Vec::new();
        if scratch {
            env.push(EnvVar {
                name: "PATH".into(),
                value: Value::lit(crate::image::DEFAULT_PATH),
                here: false,
                order: 0,
            });
        }
        StageState {
            env,
            args: Vec::new(),
            workdir: scratch.then(|| Value::lit("/")),
            workdir_here: false,
            user: scratch.then(Value::default),
            user_here: false,
            shell: DEFAULT_SHELL.map(String::from).to_vec(),
            base_unknown: !scratch,
        }
    }

    /// A stage on another stage: everything is inherited, nothing is "here".
    pub fn on_stage(parent: &StageState) -> StageState {
        let mut state = parent.clone();
        for var in &mut state.env {
            var.here = false;
            // The spec resolves `${NAME}` in this stage against the
            // environment it inherits, which already holds the parent's value.
            if var.value.has_env_ref() {
                var.value = Value(vec![super::words::Part::EnvRef(var.name.clone())]);
            }
        }
        state.workdir_here = false;
        state.user_here = false;
        state
    }

    pub fn env_var(&self, name: &str) -> Option<&EnvVar> {
        self.env.iter().find(|v| v.name == name)
    }

    pub fn set_env(&mut self, name: &str, value: Value) {
        let order = self.env.iter().filter(|v| v.here).count();
        match self.env.iter_mut().find(|v| v.name == name) {
            Some(var) => {
                if !var.here {
                    var.order = order;
                }
                var.value = value;
                var.here = true;
            }
            None => self.env.push(EnvVar {
                name: name.to_string(),
                value,
                here: true,
                order,
            }),
        }
    }

    pub fn declare_arg(&mut self, name: &str, has_value: bool) {
        self.args.retain(|a| a.name != name);
        self.args.push(ArgVar {
            name: name.to_string(),
            has_value,
        });
    }

    pub fn arg(&self, name: &str) -> Option<&ArgVar> {
        self.args.iter().find(|a| a.name == name)
    }
}

impl Vars for StageState {
    fn var(&self, name: &str) -> Var {
        if let Some(v) = self.env_var(name) {
            return Var::Value(v.value.clone());
        }
        if let Some(a) = self.arg(name) {
            return Var::Arg {
                has_value: a.has_value,
            };
        }
        if self.base_unknown {
            Var::Unknown
        } else {
            Var::Unset
        }
    }
}

/// The variables visible to `FROM` lines: the global args and BuildKit's
/// platform args.
pub struct GlobalVars<'a> {
    pub args: &'a [ArgVar],
}

impl Vars for GlobalVars<'_> {
    fn var(&self, name: &str) -> Var {
        match self.args.iter().find(|a| a.name == name) {
            Some(a) => Var::Arg {
                has_value: a.has_value,
            },
            None if crate::spec::args::BUILTIN_ARGS.contains(&name) => Var::Arg { has_value: true },
            None => Var::Unset,
        }
    }
}

/// `path` resolved against `dir` the way the Dockerfile frontend does,
/// when both are known; `None` when `dir` is unknown and `path` relative.
pub fn resolve(dir: Option<&Value>, path: &Value) -> Option<Value> {
    if path.starts_with_slash() {
        return Some(clean_value(path));
    }
    let dir = dir?;
    let mut joined = dir.clone();
    joined.extend(Value::lit("/"));
    joined.extend(path.clone());
    Some(clean_value(&joined))
}

/// Cleans `.`/`..`/`//` in a literal path (a trailing `/` is kept);
/// values with references are left as they are.
pub fn clean_value(value: &Value) -> Value {
    match value.literal() {
        Some(text) => Value::lit(clean_path(&text)),
        None => value.clone(),
    }
}

pub fn clean_path(text: &str) -> String {
    let keep_slash = (text.ends_with('/') || text.ends_with("/.")) && text != "/";
    crate::compile::paths::normalize(text, keep_slash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        let root = Value::lit("/app");
        assert_eq!(
            resolve(Some(&root), &Value::lit("src/../out/")),
            Some(Value::lit("/app/out/"))
        );
        assert_eq!(resolve(None, &Value::lit("x")), None);
        assert_eq!(resolve(None, &Value::lit("/x/.")), Some(Value::lit("/x/")));
        assert_eq!(clean_path("/"), "/");
    }
}
