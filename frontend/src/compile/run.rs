//! `run` steps: one exec op with the stage's environment, the args the
//! command mentions, and the step's mounts (`mounts.rs`).

use super::paths;
use super::stage::{Compiler, Dispatch};
use crate::image;
use crate::llb::Exec;
use crate::resolve::expand_env;
use crate::spec::error::Problem;
use crate::spec::{Command, RunStep, Step};

impl Compiler<'_> {
    pub(super) fn run(
        &mut self,
        d: &mut Dispatch,
        step: &Step,
        run: &RunStep,
    ) -> Result<String, Problem> {
        let (args, shown) = match &run.command {
            Command::Shell(text) => {
                let mut args = d.shell.clone();
                args.push(text.clone());
                (args, paths::one_line(text))
            }
            Command::Exec(list) => (
                list.clone(),
                serde_json::to_string(list).expect("strings serialize"),
            ),
        };
        // Args first, so an env variable of the same name wins, as ENV
        // wins over ARG in a Dockerfile. A matrix variant's values are in
        // every step's env (they say what the variant is: `GOARCH` for
        // `go build`); other args only where the command mentions them.
        let mut env = Vec::new();
        for (name, value) in d.stage.variant.iter().flat_map(|v| &v.values) {
            image::set_env(&mut env, name, value);
        }
        let scope = self.build.args_of(&d.stage.name);
        for (name, value) in scope.mentioned_env(&run.command.text()) {
            image::set_env(&mut env, &name, &value);
        }
        for entry in &d.config.config.env {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            image::set_env(&mut env, name, value);
        }
        for (name, value) in &run.env {
            let value = expand_env(value, &env)?;
            image::set_env(&mut env, name, &value);
        }
        let cwd = match &run.workdir {
            Some(w) => paths::resolve(&d.config.config.working_dir, &w.value),
            None => paths::non_empty_or_root(&d.config.config.working_dir),
        };
        let user = match &run.user {
            Some(u) => u.value.clone(),
            None => d.config.config.user.clone(),
        };
        let mut exec = Exec {
            args,
            env: Vec::new(),
            cwd,
            user,
            network: run.network.unwrap_or(self.options.network),
            insecure: run.insecure,
            extra_hosts: self.options.extra_hosts.clone(),
            ..Exec::default()
        };
        for mount in &run.mounts {
            self.mount(d, mount, &mut exec, &mut env)?;
        }
        exec.env = env;
        let text = format!("RUN {shown}");
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        d.state = exec.run(&d.state, &d.platform, meta);
        Ok(text)
    }
}
