//! The `image:` section of a stage: the OCI config it sets as a result.

use serde_saphyr::Spanned;

use super::names::parse_duration;
use super::{located, pos, Checker};
use crate::spec::error::Problem;
use crate::spec::model::*;
use crate::spec::syntax;

impl Checker<'_> {
    pub(super) fn image(
        &self,
        image: Option<syntax::ImageSyntax>,
    ) -> Result<ImageSection, Problem> {
        let Some(i) = image else {
            return Ok(ImageSection::default());
        };
        Ok(ImageSection {
            entrypoint: i.entrypoint.map(|c| c.value),
            cmd: i.cmd.map(|c| c.value),
            env: self.map(i.env, true)?,
            user: i.user.map(located),
            workdir: i.workdir.map(located),
            expose: i
                .expose
                .unwrap_or_default()
                .into_iter()
                .map(|port| Located::new(port.value.0.clone(), pos(&port)))
                .collect(),
            labels: self.map(i.labels, false)?,
            volumes: i
                .volumes
                .unwrap_or_default()
                .into_iter()
                .map(located)
                .collect(),
            stop_signal: i.stop_signal.map(located),
            healthcheck: i.healthcheck.map(healthcheck).transpose()?,
        })
    }
}

fn healthcheck(h: syntax::HealthcheckSyntax) -> Result<Healthcheck, Problem> {
    let p = pos(&h.test);
    match h.test.value.first().map(String::as_str) {
        Some("NONE") | Some("CMD") | Some("CMD-SHELL") => {}
        _ => {
            return Err(Problem::new(
                p,
                "healthcheck `test` must start with CMD, CMD-SHELL or NONE",
            )
            .hint("e.g. `test: [CMD, /app, health]`"))
        }
    }
    Ok(Healthcheck {
        test: h.test.value,
        interval: duration(h.interval)?,
        timeout: duration(h.timeout)?,
        start_period: duration(h.start_period)?,
        start_interval: duration(h.start_interval)?,
        retries: h.retries,
    })
}

fn duration(d: Option<Spanned<String>>) -> Result<Option<u64>, Problem> {
    let Some(d) = d else { return Ok(None) };
    parse_duration(&d.value).map(Some).ok_or_else(|| {
        let hint = if d.value.trim().bytes().all(|b| b.is_ascii_digit()) {
            format!("add a unit: `{}s`", d.value.trim())
        } else {
            "write a number and a unit (`ms`, `s`, `m`, `h`), e.g. `30s`, `1m30s`, `500ms`"
                .to_string()
        };
        Problem::new(pos(&d), format!("invalid duration `{}`", d.value)).hint(hint)
    })
}
