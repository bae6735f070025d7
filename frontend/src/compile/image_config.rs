//! The `image:` section: the OCI config a stage sets as a build result.

use super::paths;
use super::stage::Dispatch;
use crate::image;
use crate::resolve::expand_env;
use crate::spec::error::Problem;
use crate::spec::{parse_port, Command};

pub(super) fn apply(d: &mut Dispatch) -> Result<(), Problem> {
    let section = &d.stage.image;
    let c = &mut d.config.config;
    for (name, value) in &section.env {
        let value = expand_env(value, &c.env)?;
        image::set_env(&mut c.env, name, &value);
    }
    if let Some(u) = &section.user {
        c.user = u.value.clone();
    }
    if let Some(w) = &section.workdir {
        c.working_dir = paths::resolve(&c.working_dir, &w.value);
    }
    if let Some(entrypoint) = &section.entrypoint {
        c.entrypoint = Some(command_vec(entrypoint, &d.shell));
        // As in a Dockerfile: a new entrypoint drops the inherited cmd.
        if section.cmd.is_none() {
            c.cmd = None;
        }
    }
    if let Some(cmd) = &section.cmd {
        c.cmd = Some(command_vec(cmd, &d.shell));
    }
    for port in &section.expose {
        // Resolution checked every port.
        if let Some((number, proto)) = parse_port(&port.value) {
            c.exposed_ports
                .insert(format!("{number}/{proto}"), image::Empty {});
        }
    }
    for (name, value) in &section.labels {
        c.labels.insert(name.clone(), value.value.clone());
    }
    for v in &section.volumes {
        c.volumes.insert(v.value.clone(), image::Empty {});
    }
    if let Some(s) = &section.stop_signal {
        c.stop_signal = s.value.clone();
    }
    if let Some(h) = &section.healthcheck {
        c.healthcheck = Some(image::Healthcheck {
            test: h.test.clone(),
            interval: h.interval.unwrap_or(0),
            timeout: h.timeout.unwrap_or(0),
            start_period: h.start_period.unwrap_or(0),
            start_interval: h.start_interval.unwrap_or(0),
            retries: h.retries.unwrap_or(0),
        });
    }
    Ok(())
}

fn command_vec(command: &Command, shell: &[String]) -> Vec<String> {
    match command {
        Command::Exec(list) => list.clone(),
        Command::Shell(text) => {
            let mut v = shell.to_vec();
            v.push(text.clone());
            v
        }
    }
}
