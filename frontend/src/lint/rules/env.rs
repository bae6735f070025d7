//! Rules about variables: ones a `run` command reads that nothing sets,
//! and secrets written into args and env.

use std::collections::BTreeSet;

use crate::lint::shell::{assigned, expansions};
use crate::lint::{Context, Found, Rule};
use crate::spec::args::BUILTIN_ARGS;
use crate::spec::error::did_you_mean;
use crate::spec::{Command, Located, MountKind, RunStep, Stage, Step, StepKind};

pub const UNDEFINED_VAR: Rule = Rule {
    name: "UndefinedVar",
    description:
        "Variables a `run` command reads should be set: a declared arg, env, or the shell's own",
    check: undefined_var,
};

pub const SECRETS_IN_ARG_OR_ENV: Rule = Rule {
    name: "SecretsInArgOrEnv",
    description: "Secrets should come from secret mounts, not args or env",
    check: secrets_in_arg_or_env,
};

/// Set by the shell, by Docker in every container, or by common base
/// images (whose config the linter does not see).
const WELL_KNOWN: &[&str] = &[
    // The shell and the process environment.
    "HOME",
    "PATH",
    "PWD",
    "OLDPWD",
    "USER",
    "LOGNAME",
    "SHELL",
    "HOSTNAME",
    "TERM",
    "IFS",
    "PS1",
    "PS2",
    "PS4",
    "RANDOM",
    "LINENO",
    "SECONDS",
    "PPID",
    "UID",
    "EUID",
    "GROUPS",
    "SHLVL",
    "REPLY",
    "OPTARG",
    "OPTIND",
    "TMPDIR",
    "BASH",
    "BASH_VERSION",
    "BASH_SOURCE",
    "BASHPID",
    "FUNCNAME",
    "PIPESTATUS",
    "OSTYPE",
    "HOSTTYPE",
    "MACHTYPE",
    "COLUMNS",
    "LINES",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    // Proxies, which BuildKit passes to steps when the client sets them.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "no_proxy",
    "all_proxy",
    // Official language images.
    "GOPATH",
    "GOROOT",
    "GOLANG_VERSION",
    "GOTOOLCHAIN",
    "PYTHON_VERSION",
    "PYTHON_SHA256",
    "NODE_VERSION",
    "YARN_VERSION",
    "JAVA_HOME",
    "JAVA_VERSION",
    "RUSTUP_HOME",
    "CARGO_HOME",
    "RUST_VERSION",
    "RUBY_VERSION",
    "GEM_HOME",
    "BUNDLE_PATH",
    "PHP_VERSION",
];

/// `$NAME`s of string-form `run` commands that nothing sets: no declared
/// arg, no `env` of the step, its stage or the stages below, no secret
/// mount's `env`, not the script itself, and no well-known variable.
/// `${NAME:-…}` and friends say the author expects it unset, so they pass.
fn undefined_var(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for stage in cx.stages() {
        if !posix_shell(stage) {
            continue;
        }
        let known = stage_names(cx, stage);
        for step in stage.leaf_steps() {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            let Command::Shell(script) = &run.command else {
                continue;
            };
            let mut known = known.clone();
            known.extend(step_names(run));
            known.extend(assigned(script));
            let mut reported = BTreeSet::new();
            for expansion in expansions(script) {
                let name = expansion.name;
                if expansion.guarded || known.contains(&name) || !reported.insert(name.clone()) {
                    continue;
                }
                found.push(undefined(cx, step, &name, &known));
            }
        }
    }
    found
}

fn undefined(cx: &Context, step: &Step, name: &str, known: &BTreeSet<String>) -> Found {
    let (from, to) = (step.lines.start, step.lines.end);
    let pos = cx.find(&format!("${{{name}"), from, to, step.pos);
    let pos = if pos == step.pos {
        cx.find(&format!("${name}"), from, to, step.pos)
    } else {
        pos
    };
    let hint = match did_you_mean(name, known.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `${near}`?"),
        None => format!(
            "declare it under `args:` or set it in `env:`; write `${{{name}:-}}` if it may be \
             unset (a variable the base image sets is not seen: skip the rule then)"
        ),
    };
    let mut found = Found::new(
        pos,
        format!("`${name}` is neither a declared arg nor set in the step's environment"),
        hint,
    );
    found.end_line = pos.line;
    found
}

/// The shell runs string-form commands; other interpreters are not read.
fn posix_shell(stage: &Stage) -> bool {
    let Some(shell) = stage.shell.as_ref().and_then(|s| s.first()) else {
        return true;
    };
    let program = shell.rsplit('/').next().unwrap_or(shell);
    matches!(program, "sh" | "bash" | "dash" | "ash" | "ksh" | "zsh")
}

/// Names every step of `stage` has: args, well-known variables, and the
/// env of the stage and of the stages it is built on.
fn stage_names(cx: &Context, stage: &Stage) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = cx.spec.args.iter().map(|a| a.name.clone()).collect();
    names.extend(BUILTIN_ARGS.iter().chain(WELL_KNOWN).map(|n| n.to_string()));
    let chain = cx.chain(&stage.name);
    for (depth, name) in chain.iter().enumerate() {
        let s = cx.build.stage(name);
        names.extend(s.env.iter().map(|(k, _)| k.clone()));
        // A matrix variant's values are in its steps' env.
        names.extend(
            s.variant
                .iter()
                .flat_map(|v| v.values.iter().map(|(k, _)| k.clone())),
        );
        // A stage's image env is set after its steps: only stages built
        // on it see it.
        if depth > 0 {
            names.extend(s.image.env.iter().map(|(k, _)| k.clone()));
        }
    }
    names
}

/// Names one `run` step adds: its `env`, secrets as env, the SSH socket.
fn step_names(run: &RunStep) -> Vec<String> {
    let mut names: Vec<String> = run.env.iter().map(|(k, _)| k.clone()).collect();
    for mount in &run.mounts {
        match &mount.kind {
            MountKind::Secret { env: Some(env), .. } => names.push(env.clone()),
            MountKind::Ssh { .. } => names.push("SSH_AUTH_SOCK".to_string()),
            _ => {}
        }
    }
    names
}

/// Words of a name that say it holds a secret, and words that say it
/// does not (`PUBLIC_KEY`, `PASSWORD_FILE`): the Dockerfile linter's lists.
const SECRET_WORDS: &[&str] = &[
    "apikey",
    "auth",
    "credential",
    "credentials",
    "key",
    "password",
    "pword",
    "passwd",
    "secret",
    "token",
];
const NOT_SECRET_WORDS: &[&str] = &["public", "file", "version"];

pub fn looks_secret(name: &str) -> bool {
    let words: Vec<String> = name.split('_').map(|w| w.to_ascii_lowercase()).collect();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        && !words.iter().any(|w| NOT_SECRET_WORDS.contains(&w.as_str()))
}

/// An `env:` mapping of the model.
type EnvMap = Vec<(String, Located<String>)>;

const SECRET_HINT: &str = "use a secret mount on the steps that need it \
     (`mounts: [{type: secret, id: NAME, env: NAME}]`, `--secret id=NAME,env=NAME`): it is \
     never stored in the image, its history or the build cache";

/// Args with secret-like names (their values are kept in the build
/// definition and cache keys of every step that reads them), and `env`
/// entries with secret-like names and a value (kept in the image config
/// or the step's definition).
fn secrets_in_arg_or_env(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for arg in cx.spec.args.iter().filter(|a| looks_secret(&a.name)) {
        let message = if arg.default.is_empty() {
            format!(
                "arg `{}` looks like a secret: its value is stored in the build definition",
                arg.name
            )
        } else {
            format!(
                "arg `{}` looks like a secret and has a literal default",
                arg.name
            )
        };
        found.push(Found::new(arg.pos, message, SECRET_HINT));
    }
    for stage in &cx.spec.stages {
        let mut env: Vec<(&str, &EnvMap)> = vec![
            ("the stage's env", &stage.env),
            ("the image's env", &stage.image.env),
        ];
        for step in stage.leaf_steps() {
            if let StepKind::Run(run) = &step.kind {
                env.push(("a step's env", &run.env));
            }
        }
        for (place, entries) in env {
            for (name, value) in entries {
                if looks_secret(name) && !value.value.is_empty() {
                    found.push(Found::new(
                        value.pos,
                        format!("`{name}` in {place} looks like a secret"),
                        SECRET_HINT,
                    ));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn names_that_look_secret() {
        for name in [
            "GITHUB_TOKEN",
            "api_key",
            "DB_PASSWORD",
            "AUTH",
            "SECRET_MESSAGE",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "KEYBOARD",
            "MONKEY",
            "PUBLIC_KEY",
            "PASSWORD_FILE",
            "TOKENIZER",
            "PATH",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn flags_secret_args_and_env_values() {
        let yaml = "version: 1\nargs:\n  NPM_TOKEN: \"\"\n  VERSION: \"1\"\nstages:\n  app:\n    from: scratch\n    env: {API_KEY: abc, EMPTY_TOKEN: \"\"}\n    image:\n      env: {DB_PASSWORD: hunter2}\n";
        let found = run(&SECRETS_IN_ARG_OR_ENV, yaml);
        assert_eq!(at(&found), vec!["3:3", "8:20", "10:26"]);
    }

    #[test]
    fn undefined_variables_in_run_commands() {
        let yaml = r#"version: 1
args: {VERSION: "1"}
stages:
  base:
    from: debian:12
    env: {FROM_BASE: x}
    image:
      env: {BASE_IMAGE_ENV: y}
  app:
    from: base
    env: {OWN: z}
    steps:
      - run: echo $VERSION $FROM_BASE $BASE_IMAGE_ENV $OWN $HOME ${OPT:-} $STEP $TOKEN
        env: {STEP: s}
        mounts: [{type: secret, id: t, env: TOKEN}]
      - run: |
          for f in *; do echo "$f"; done
          X=1; echo $X '$QUOTED'
          echo $VERSON
      - run: [sh, -c, "echo $EXEC_FORM"]
"#;
        let found = run(&UNDEFINED_VAR, yaml);
        assert_eq!(at(&found), vec!["19:16"]);
        assert_eq!(found[0].hint, "did you mean `$VERSION`?");
    }

    #[test]
    fn own_image_env_is_not_seen_by_own_steps() {
        let yaml = "version: 1\nstages:\n  app:\n    from: debian:12\n    steps:\n      - run: echo $PORT\n    image:\n      env: {PORT: \"80\"}\n";
        assert_eq!(at(&run(&UNDEFINED_VAR, yaml)), vec!["6:19"]);
    }
}
