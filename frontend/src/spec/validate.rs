//! Turns the syntax as written into the typed model, rejecting everything
//! that is well-formed YAML but not a meaningful spec.

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::Spanned;

use super::args::{self, SubstError, BUILTIN_ARGS};
use super::error::{did_you_mean, Problem};
use super::model::*;
use super::syntax::{self, SpecFile, StageSyntax, StepSyntax};
use crate::reference::ImageRef;

const STEP_KINDS: &[&str] = &["run", "copy", "add", "mkdir", "write", "remove"];

/// Which options each step kind accepts.
fn options_of(kind: &str) -> &'static [&'static str] {
    match kind {
        "run" => &[
            "env", "workdir", "user", "network", "security", "mounts", "cache",
        ],
        "copy" => &[
            "from", "to", "include", "exclude", "parents", "chown", "chmod", "link",
        ],
        "add" => &["to", "chown", "chmod"],
        "mkdir" => &["mode", "chown"],
        "write" => &["content", "mode", "chown"],
        _ => &[],
    }
}

pub fn validate(file: SpecFile, text: &str) -> Result<Spec, Problem> {
    let top = Pos { line: 1, column: 1 };
    match &file.version {
        None => {
            return Err(Problem::new(top, "missing `version`")
                .hint("add `version: 1` at the top of the file"))
        }
        Some(v) if v.value != 1 => {
            return Err(
                Problem::new(pos(v), format!("unsupported spec version {}", v.value))
                    .hint("this Stagecraft reads `version: 1`"),
            )
        }
        Some(_) => {}
    }
    let args = declare_args(file.args)?;
    let stages_syntax = match file.stages {
        Some(s) if !s.0.is_empty() => s.0,
        Some(_) => {
            return Err(Problem::new(
                top_level_key(text, "stages").unwrap_or(top),
                "`stages` is empty",
            )
            .hint("define at least one stage, e.g. `app: {from: busybox:latest}`"))
        }
        None => {
            return Err(Problem::new(top, "missing `stages`")
                .hint("add a `stages:` mapping with at least one stage"))
        }
    };
    let stage_names: Vec<String> = stages_syntax.iter().map(|(k, _)| k.value.clone()).collect();
    let checker = Checker {
        lines: text.lines().collect(),
        args: &args,
        stage_set: stage_names.iter().cloned().collect(),
        stage_names,
    };
    let mut stages = Vec::with_capacity(stages_syntax.len());
    for (name, stage) in stages_syntax {
        stages.push(checker.stage(name, stage)?);
    }
    let target = match file.target {
        Some(t) => {
            checker.stage_ref(&t.value, pos(&t), "target")?;
            Some(located(t))
        }
        None => None,
    };
    check_cycles(&stages, &checker)?;
    drop(checker);
    Ok(Spec {
        file: String::new(),
        text: String::new(),
        args,
        stages,
        target,
    })
}

fn declare_args(args: Option<syntax::Map<Spanned<String>>>) -> Result<Vec<ArgDecl>, Problem> {
    let mut out = Vec::new();
    for (name, default) in args.map(|m| m.0).unwrap_or_default() {
        let p = pos(&name);
        if !is_identifier(&name.value) {
            return Err(
                Problem::new(p, format!("invalid arg name `{}`", name.value))
                    .hint("arg names are letters, digits and `_`, not starting with a digit"),
            );
        }
        if BUILTIN_ARGS.contains(&name.value.as_str()) {
            return Err(Problem::new(
                p,
                format!("`{}` is a built-in arg and cannot be declared", name.value),
            )
            .hint("it is always available; set it with --platform"));
        }
        out.push(ArgDecl {
            name: name.value,
            default: default.value,
            pos: p,
        });
    }
    Ok(out)
}

/// Each mount type and the options it takes.
const MOUNT_TYPES: &[(&str, &[&str])] = &[
    (
        "cache",
        &[
            "target", "id", "sharing", "from", "source", "mode", "uid", "gid",
        ],
    ),
    (
        "secret",
        &["id", "target", "env", "required", "mode", "uid", "gid"],
    ),
    ("ssh", &["id", "target", "required", "mode", "uid", "gid"]),
    ("tmpfs", &["target", "size"]),
    ("bind", &["target", "from", "source", "rw"]),
];

struct Checker<'a> {
    lines: Vec<&'a str>,
    args: &'a [ArgDecl],
    /// In file order, for messages.
    stage_names: Vec<String>,
    /// The same, for lookups.
    stage_set: BTreeSet<String>,
}

impl Checker<'_> {
    fn stage(&self, name: Spanned<String>, stage: Spanned<StageSyntax>) -> Result<Stage, Problem> {
        let p = pos(&name);
        if !is_stage_name(&name.value) {
            return Err(
                Problem::new(p, format!("invalid stage name `{}`", name.value)).hint(format!(
                    "stage names match [a-z0-9][a-z0-9._-]*, e.g. `{}`",
                    stage_name_like(&name.value)
                )),
            );
        }
        if name.value == "scratch" {
            return Err(Problem::new(p, "`scratch` is reserved for the empty image")
                .hint("rename the stage, e.g. `scratch-base`"));
        }
        let stage_pos = pos(&stage);
        let s = stage.value;
        let from = s.from.ok_or_else(|| {
            Problem::new(stage_pos, format!("stage `{}` has no `from`", name.value))
                .hint("add `from: <image>`, `from: <stage>` or `from: scratch`")
        })?;
        let from = self.text(from)?;
        self.base_ref(&from)?;
        let steps = s.steps.unwrap_or_default();
        let mut typed_steps = Vec::with_capacity(steps.len());
        for step in steps {
            typed_steps.push(self.step(step)?);
        }
        let platform = self.opt_text(s.platform)?;
        if let Some(platform) = &platform {
            literal_platform(platform)?;
        }
        Ok(Stage {
            lines: self.block_lines(p, p.column as usize),
            from,
            platform,
            description: s.description,
            workdir: self.opt_text(s.workdir)?,
            env: self.env_map(s.env)?,
            user: self.opt_text(s.user)?,
            shell: s.shell.map(|sh| sh.value),
            steps: typed_steps,
            image: self.image(s.image)?,
            name: name.value,
            pos: p,
        })
    }

    /// `from:` of a stage or a copy: a stage name, `scratch`, or an image.
    fn base_ref(&self, from: &Located<String>) -> Result<(), Problem> {
        let value = self.with_defaults(&from.value);
        if value == "scratch" || self.stage_set.contains(&value) {
            return Ok(());
        }
        // A bare word close to a stage name is a typo, not an image.
        if !value.contains([':', '/', '@']) {
            if let Some(near) = did_you_mean(&value, self.stage_names.iter().map(String::as_str)) {
                return Err(
                    Problem::new(from.pos, format!("unknown stage `{value}`")).hint(format!(
                    "did you mean `{near}`? (for an image of that name, write `{value}:latest`)"
                )),
                );
            }
        }
        ImageRef::parse(&value).map(|_| ()).map_err(|e| {
            let lowercase = value.to_ascii_lowercase();
            let hint = if lowercase != value && ImageRef::parse(&lowercase).is_ok() {
                format!("image names are lowercase: `{lowercase}`")
            } else {
                format!(
                    "write an image such as `debian:bookworm-slim`, or a stage: {}",
                    name_list(&self.stage_names)
                )
            };
            Problem::new(
                from.pos,
                format!("invalid image reference `{value}`: {}", e.reason),
            )
            .hint(hint)
        })
    }

    fn stage_ref(&self, name: &str, p: Pos, what: &str) -> Result<(), Problem> {
        if self.stage_set.contains(name) {
            return Ok(());
        }
        let problem = Problem::new(p, format!("{what} `{name}` is not a stage of this spec"));
        Err(
            match did_you_mean(name, self.stage_names.iter().map(String::as_str)) {
                Some(near) => problem.hint(format!("did you mean `{near}`?")),
                None => problem.hint(format!("stages are: {}", name_list(&self.stage_names))),
            },
        )
    }

    fn step(&self, step: Spanned<StepSyntax>) -> Result<Step, Problem> {
        let p = pos(&step);
        let s = step.value;
        let present: Vec<&str> = [
            ("run", s.run.is_some()),
            ("copy", s.copy.is_some()),
            ("add", s.add.is_some()),
            ("mkdir", s.mkdir.is_some()),
            ("write", s.write.is_some()),
            ("remove", s.remove.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(k, _)| *k)
        .collect();
        let kind = match present.as_slice() {
            [kind] => *kind,
            [] => {
                return Err(Problem::new(
                    p,
                    "a step needs one of `run`, `copy`, `add`, `mkdir`, `write`, `remove`",
                )
                .hint(no_kind_hint(&option_names(&s))))
            }
            [a, b, ..] => {
                return Err(Problem::new(
                    p,
                    format!("a step does one thing; this one has both `{a}` and `{b}`"),
                )
                .hint("split it into two steps"))
            }
        };
        for (option, option_pos) in set_options(&s, p) {
            if !options_of(kind).contains(&option) {
                let owners: Vec<&str> = STEP_KINDS
                    .iter()
                    .copied()
                    .filter(|k| options_of(k).contains(&option))
                    .collect();
                return Err(Problem::new(
                    option_pos,
                    format!("`{option}` does not apply to a `{kind}` step"),
                )
                .hint(format!(
                    "`{option}` is an option of {} steps",
                    owners.join("/")
                )));
            }
        }
        let kind = match kind {
            "run" => StepKind::Run(self.run(s)?),
            "copy" => StepKind::Copy(self.copy(s)?),
            "add" => StepKind::Add(self.add(s)?),
            "mkdir" => StepKind::Mkdir(MkdirStep {
                path: self.text(s.mkdir.expect("kind"))?,
                mode: s.mode.map(|m| m.value.0),
                chown: self.opt_chown(s.chown)?,
            }),
            "write" => {
                let path = self.text(s.write.expect("kind"))?;
                let content = s.content.ok_or_else(|| {
                    Problem::new(path.pos, "a `write` step needs `content`")
                        .hint("add `content: |` with the file's text")
                })?;
                StepKind::Write(WriteStep {
                    content: self.text(content)?.value,
                    path,
                    mode: s.mode.map(|m| m.value.0),
                    chown: self.opt_chown(s.chown)?,
                })
            }
            _ => StepKind::Remove(RemoveStep {
                paths: self.paths(s.remove.expect("kind"), "remove")?,
            }),
        };
        Ok(Step {
            pos: p,
            lines: self.block_lines(p, p.column.saturating_sub(1) as usize),
            kind,
        })
    }

    fn run(&self, s: StepSyntax) -> Result<RunStep, Problem> {
        let run = s.run.expect("kind");
        let run_pos = pos(&run);
        let command = match run.value {
            syntax::Command::Shell(text) if text.trim().is_empty() => {
                return Err(Problem::new(run_pos, "empty `run` command")
                    .hint("write the command to run, e.g. `run: make`"))
            }
            syntax::Command::Exec(list) if list.is_empty() => {
                return Err(Problem::new(run_pos, "empty `run` command")
                    .hint("an exec-form command needs at least the program"))
            }
            syntax::Command::Shell(text) => Command::Shell(text),
            syntax::Command::Exec(list) => Command::Exec(list),
        };
        let mut mounts = Vec::new();
        for path in s.cache.unwrap_or_default() {
            let target = self.text(path)?;
            absolute_target(&target)?;
            mounts.push(Mount {
                pos: target.pos,
                kind: MountKind::Cache {
                    target,
                    id: None,
                    sharing: CacheSharing::Shared,
                    from: None,
                    source: None,
                    mode: None,
                    uid: None,
                    gid: None,
                },
            });
        }
        for m in s.mounts.unwrap_or_default() {
            mounts.push(self.mount(m)?);
        }
        let mut targets = BTreeMap::new();
        for m in &mounts {
            if let Some(t) = mount_target(&m.kind) {
                if let Some(first) = targets.insert(t.to_string(), m.pos) {
                    return Err(
                        Problem::new(m.pos, format!("two mounts at `{t}`")).hint(format!(
                            "the first is at line {}; remove one or give it another target",
                            first.line
                        )),
                    );
                }
            }
        }
        Ok(RunStep {
            command,
            env: self.env_map(s.env)?,
            workdir: self.opt_text(s.workdir)?,
            user: self.opt_text(s.user)?,
            network: s.network.map(|n| match n.value {
                syntax::NetworkMode::Default => Network::Default,
                syntax::NetworkMode::None => Network::None,
                syntax::NetworkMode::Host => Network::Host,
            }),
            insecure: s
                .security
                .is_some_and(|m| m.value == syntax::SecurityMode::Insecure),
            mounts,
        })
    }

    fn mount(&self, m: Spanned<syntax::MountSyntax>) -> Result<Mount, Problem> {
        use syntax::MountType as T;
        let p = pos(&m);
        let m = m.value;
        let kind_name = format!("{:?}", m.kind.value).to_lowercase();
        let allowed = MOUNT_TYPES
            .iter()
            .find(|(name, _)| *name == kind_name)
            .map_or(&[][..], |(_, keys)| *keys);
        // Where each option is written; options without a span point at the mount.
        let at = |v: Option<Pos>| v.unwrap_or(p);
        for (key, set) in [
            ("target", m.target.as_ref().map(|v| at(Some(pos(v))))),
            ("id", m.id.as_ref().map(|v| at(Some(pos(v))))),
            ("sharing", m.sharing.as_ref().map(|v| at(Some(pos(v))))),
            ("env", m.env.as_ref().map(|v| at(Some(pos(v))))),
            ("required", m.required.map(|_| p)),
            ("size", m.size.as_ref().map(|v| at(Some(pos(v))))),
            ("from", m.from.as_ref().map(|v| at(Some(pos(v))))),
            ("source", m.source.as_ref().map(|v| at(Some(pos(v))))),
            ("rw", m.rw.map(|_| p)),
            ("mode", m.mode.as_ref().map(|v| at(Some(pos(v))))),
            ("uid", m.uid.map(|_| p)),
            ("gid", m.gid.map(|_| p)),
        ] {
            if let Some(option_pos) = set.filter(|_| !allowed.contains(&key)) {
                let takers: Vec<&str> = MOUNT_TYPES
                    .iter()
                    .filter(|(_, keys)| keys.contains(&key))
                    .map(|(t, _)| *t)
                    .collect();
                return Err(Problem::new(
                    option_pos,
                    format!("`{key}` does not apply to {kind_name} mounts"),
                )
                .hint(format!(
                    "{kind_name} mounts take: {}; `{key}` is for {} mounts",
                    allowed.join(", "),
                    takers.join("/")
                )));
            }
        }
        let target = self.opt_text(m.target)?;
        if let Some(t) = &target {
            absolute_target(t)?;
        }
        let need_target = |t: Option<Located<String>>| {
            t.ok_or_else(|| {
                Problem::new(p, format!("a {kind_name} mount needs `target`"))
                    .hint("add `target: /path/in/the/step`")
            })
        };
        let id = self.opt_text(m.id)?.map(|i| i.value);
        let mode = m.mode.map(|x| x.value.0);
        let kind = match m.kind.value {
            T::Cache => MountKind::Cache {
                target: need_target(target)?,
                id,
                sharing: match m.sharing.map(|s| s.value) {
                    Some(syntax::Sharing::Private) => CacheSharing::Private,
                    Some(syntax::Sharing::Locked) => CacheSharing::Locked,
                    _ => CacheSharing::Shared,
                },
                from: self.opt_from(m.from)?,
                source: self.opt_text(m.source)?.map(|s| s.value),
                mode,
                uid: m.uid,
                gid: m.gid,
            },
            T::Secret => {
                let id = id.filter(|i| !i.is_empty()).ok_or_else(|| {
                    Problem::new(p, "a secret mount needs `id`").hint(
                        "add `id: <name>` matching `--secret id=<name>,src=…` on the command line",
                    )
                })?;
                let env = self.opt_text(m.env)?;
                if let Some(e) = &env {
                    if !is_identifier(&e.value) {
                        return Err(Problem::new(
                            e.pos,
                            format!("`{}` is not a valid environment variable name", e.value),
                        )
                        .hint(format!(
                            "use letters, digits and `_`, not starting with a digit, e.g. `{}`",
                            identifier_like(&e.value)
                        )));
                    }
                }
                let env = env.map(|e| e.value);
                MountKind::Secret {
                    target: match (&target, &env) {
                        (Some(t), _) => Some(t.value.clone()),
                        (None, Some(_)) => None,
                        (None, None) => Some(format!("/run/secrets/{id}")),
                    },
                    id,
                    env,
                    required: m.required.unwrap_or(false),
                    mode,
                    uid: m.uid,
                    gid: m.gid,
                }
            }
            T::Ssh => MountKind::Ssh {
                id: id.unwrap_or_else(|| "default".to_string()),
                target: target.map(|t| t.value),
                required: m.required.unwrap_or(false),
                mode,
                uid: m.uid,
                gid: m.gid,
            },
            T::Tmpfs => MountKind::Tmpfs {
                target: need_target(target)?,
                size: match m.size {
                    Some(s) => Some(parse_size(&s.value).ok_or_else(|| {
                        Problem::new(pos(&s), format!("invalid size `{}`", s.value))
                            .hint("use bytes or a unit: `64m`, `1g`")
                    })?),
                    None => None,
                },
            },
            T::Bind => MountKind::Bind {
                target: need_target(target)?,
                from: self.opt_from(m.from)?,
                source: self.opt_text(m.source)?,
                rw: m.rw.unwrap_or(false),
            },
        };
        Ok(Mount { pos: p, kind })
    }

    fn copy(&self, s: StepSyntax) -> Result<CopyStep, Problem> {
        let sources = self.paths(s.copy.expect("kind"), "copy")?;
        let from = self.opt_from(s.from)?;
        if from.is_none() {
            for src in &sources {
                context_path(src)?;
            }
        }
        if let (Some(parents), Some(include)) = (&s.parents, &s.include) {
            if parents.value && !include.is_empty() {
                return Err(Problem::new(
                    pos(parents),
                    "`parents: true` cannot be combined with `include`",
                )
                .hint("list the paths to copy as sources instead of `include` patterns, or drop `parents`"));
            }
        }
        Ok(CopyStep {
            sources,
            from,
            to: self.opt_text(s.to)?,
            include: self.patterns(s.include)?,
            exclude: self.patterns(s.exclude)?,
            parents: s.parents.is_some_and(|b| b.value),
            chown: self.opt_chown(s.chown)?,
            chmod: s.chmod.map(|m| m.value.0),
            link: s.link.is_some_and(|b| b.value),
        })
    }

    fn add(&self, s: StepSyntax) -> Result<AddStep, Problem> {
        let add = s.add.expect("kind");
        let p = pos(&add);
        let a = add.value;
        let source = match (a.url, a.git) {
            (Some(url), None) => {
                if a.git_ref.is_some() || a.keep_git_dir.is_some() {
                    return Err(Problem::new(
                        p,
                        "`ref` and `keep_git_dir` go with `git`, not `url`",
                    )
                    .hint("remove them, or use `git:` for a repository"));
                }
                let url = self.text(url)?;
                let shown = self.with_defaults(&url.value);
                if !(shown.starts_with("https://") || shown.starts_with("http://")) {
                    return Err(Problem::new(
                        url.pos,
                        format!("`{shown}` is not an http(s) URL"),
                    )
                    .hint("`add` downloads `https://…` URLs; fetch other sources in a `run` step"));
                }
                let checksum = self.opt_text(a.checksum)?;
                if let Some(c) = &checksum {
                    let hex = c.value.strip_prefix("sha256:").unwrap_or("");
                    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(Problem::new(
                            c.pos,
                            format!("invalid checksum `{}`", c.value),
                        )
                        .hint("write `sha256:` followed by 64 hex digits (`sha256sum FILE` prints them)"));
                    }
                }
                AddSource::Url {
                    url,
                    checksum: checksum.map(|c| c.value),
                }
            }
            (None, Some(git)) => {
                if let Some(checksum) = &a.checksum {
                    return Err(Problem::new(
                        pos(checksum),
                        "`checksum` goes with `url`, not `git`",
                    )
                    .hint("remove it; to pin a repository, set `ref:` to a commit"));
                }
                AddSource::Git {
                    remote: self.text(git)?,
                    reference: self.opt_text(a.git_ref)?.map(|r| r.value),
                    keep_git_dir: a.keep_git_dir.unwrap_or(false),
                }
            }
            (Some(_), Some(_)) => {
                return Err(Problem::new(p, "`add` has both `url` and `git`")
                    .hint("an `add` step adds one thing; split it into two steps"))
            }
            (None, None) => {
                return Err(Problem::new(p, "`add` needs `url` or `git`").hint(
                    "add `url: https://…` to download a file, or `git: https://…` to clone a repository",
                ))
            }
        };
        Ok(AddStep {
            source,
            to: self.opt_text(s.to)?,
            chown: self.opt_chown(s.chown)?,
            chmod: s.chmod.map(|m| m.value.0),
        })
    }

    fn image(&self, image: Option<syntax::ImageSyntax>) -> Result<ImageSection, Problem> {
        let Some(i) = image else {
            return Ok(ImageSection::default());
        };
        let mut expose = Vec::new();
        for port in i.expose.unwrap_or_default() {
            let p = pos(&port);
            let text = self.text_at(port.value.0, p)?;
            let shown = self.with_defaults(&text.value);
            if parse_port(&shown).is_none() {
                return Err(Problem::new(p, format!("invalid port `{shown}`"))
                    .hint("write a port number 1-65535, optionally with /tcp, /udp or /sctp"));
            }
            expose.push(text.value);
        }
        let mut volumes = Vec::new();
        for v in i.volumes.unwrap_or_default() {
            volumes.push(self.text(v)?);
        }
        Ok(ImageSection {
            entrypoint: i.entrypoint.map(|c| command(c.value)),
            cmd: i.cmd.map(|c| command(c.value)),
            env: self.env_map(i.env)?,
            user: self.opt_text(i.user)?,
            workdir: self.opt_text(i.workdir)?,
            expose,
            labels: self.map(i.labels, false)?,
            volumes,
            stop_signal: self.opt_text(i.stop_signal)?.map(|s| s.value),
            healthcheck: i.healthcheck.map(|h| self.healthcheck(h)).transpose()?,
        })
    }

    fn healthcheck(&self, h: syntax::HealthcheckSyntax) -> Result<Healthcheck, Problem> {
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
        let duration = |d: Option<Spanned<String>>| -> Result<Option<u64>, Problem> {
            d.map(|d| {
                parse_duration(&d.value).ok_or_else(|| {
                    let hint = if d.value.trim().bytes().all(|b| b.is_ascii_digit()) {
                        format!("add a unit: `{}s`", d.value.trim())
                    } else {
                        "write a number and a unit (`ms`, `s`, `m`, `h`), e.g. `30s`, `1m30s`, `500ms`"
                            .to_string()
                    };
                    Problem::new(pos(&d), format!("invalid duration `{}`", d.value)).hint(hint)
                })
            })
            .transpose()
        };
        Ok(Healthcheck {
            test: h.test.value,
            interval: duration(h.interval)?,
            timeout: duration(h.timeout)?,
            start_period: duration(h.start_period)?,
            start_interval: duration(h.start_interval)?,
            retries: h.retries,
        })
    }

    // ---- small pieces ----

    fn text(&self, s: Spanned<String>) -> Result<Located<String>, Problem> {
        let p = pos(&s);
        self.text_at(s.value, p)
    }

    /// A substitutable value: every `${NAME}` in it must be a declared arg.
    fn text_at(&self, value: String, p: Pos) -> Result<Located<String>, Problem> {
        self.check_refs(&value, p)?;
        Ok(Located::new(value, p))
    }

    fn check_refs(&self, value: &str, p: Pos) -> Result<(), Problem> {
        let names = args::references(value).map_err(|e| subst_problem(e, p))?;
        for name in names {
            if !self.is_declared(&name) {
                let declared = self
                    .args
                    .iter()
                    .map(|a| a.name.as_str())
                    .chain(BUILTIN_ARGS.iter().copied());
                let problem = Problem::new(p, format!("`${{{name}}}` is not a declared arg"));
                return Err(match did_you_mean(&name, declared) {
                    Some(near) => problem.hint(format!("did you mean `{near}`?")),
                    None => problem.hint(format!("declare it under `args:` (e.g. `{name}: \"\"`), or write `$${{{name}}}` for a literal `${{`")),
                });
            }
        }
        Ok(())
    }

    fn is_declared(&self, name: &str) -> bool {
        BUILTIN_ARGS.contains(&name) || self.args.iter().any(|a| a.name == name)
    }

    /// The value with every arg at its default, for checks that need the
    /// final shape (image references, ports) before options are known.
    fn with_defaults(&self, value: &str) -> String {
        args::substitute(value, &|name| {
            self.args
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.default.clone())
                .or_else(|| BUILTIN_ARGS.contains(&name).then(|| "linux".to_string()))
        })
        .unwrap_or_else(|_| value.to_string())
    }

    fn opt_text(&self, s: Option<Spanned<String>>) -> Result<Option<Located<String>>, Problem> {
        s.map(|s| self.text(s)).transpose()
    }

    fn opt_from(&self, s: Option<Spanned<String>>) -> Result<Option<Located<String>>, Problem> {
        let from = self.opt_text(s)?;
        if let Some(f) = &from {
            self.base_ref(f)?;
        }
        Ok(from)
    }

    fn opt_chown(&self, s: Option<Spanned<String>>) -> Result<Option<Located<String>>, Problem> {
        let chown = self.opt_text(s)?;
        if let Some(c) = &chown {
            let valid = match c.value.split_once(':') {
                Some((u, g)) => !u.is_empty() && !g.is_empty() && !g.contains(':'),
                None => !c.value.is_empty(),
            };
            if !valid {
                return Err(Problem::new(c.pos, format!("invalid owner `{}`", c.value))
                    .hint("write `user`, `uid`, `user:group` or `uid:gid`"));
            }
        }
        Ok(chown)
    }

    fn paths(
        &self,
        s: Spanned<syntax::OneOrMany>,
        kind: &str,
    ) -> Result<Vec<Located<String>>, Problem> {
        let p = pos(&s);
        if s.value.0.is_empty() {
            return Err(Problem::new(p, format!("`{kind}` needs at least one path"))
                .hint(format!("e.g. `{kind}: [a.txt, dir/]`, or remove the step")));
        }
        s.value.0.into_iter().map(|v| self.text_at(v, p)).collect()
    }

    fn patterns(&self, list: Option<Vec<Spanned<String>>>) -> Result<Vec<String>, Problem> {
        list.unwrap_or_default()
            .into_iter()
            .map(|s| self.text(s).map(|l| l.value))
            .collect()
    }

    fn env_map(
        &self,
        map: Option<syntax::Map<Spanned<String>>>,
    ) -> Result<Vec<(String, Located<String>)>, Problem> {
        self.map(map, true)
    }

    /// Env values may also refer to env variables set earlier (`${PATH}`),
    /// which only the compiler knows, so their references are checked there.
    fn map(
        &self,
        map: Option<syntax::Map<Spanned<String>>>,
        is_env: bool,
    ) -> Result<Vec<(String, Located<String>)>, Problem> {
        let mut out = Vec::new();
        for (key, value) in map.map(|m| m.0).unwrap_or_default() {
            if is_env && (key.value.is_empty() || key.value.contains(['=', '\0'])) {
                return Err(Problem::new(
                    pos(&key),
                    format!("invalid environment variable name `{}`", key.value),
                ));
            }
            let p = pos(&value);
            if !is_env {
                self.check_refs(&value.value, p)?;
            } else {
                args::references(&value.value).map_err(|e| subst_problem(e, p))?;
            }
            out.push((key.value, Located::new(value.value, p)));
        }
        Ok(out)
    }

    /// Lines of the block that starts at `start`: the following lines
    /// indented at least `min_indent`, trailing blank and comment lines
    /// excluded. A stage's body is indented deeper than its key; a step's
    /// keys sit at the column of its first key.
    fn block_lines(&self, start: Pos, min_indent: usize) -> LineRange {
        let mut end = start.line;
        for (index, line) in self.lines.iter().enumerate().skip(start.line as usize) {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if line.len() - trimmed.len() < min_indent {
                break;
            }
            end = index as u32 + 1;
        }
        LineRange {
            start: start.line,
            end,
        }
    }
}

/// Rejects stages that use themselves. Iterative (an explicit stack), so
/// a long chain of stages cannot exhaust the thread's stack.
fn check_cycles(stages: &[Stage], checker: &Checker) -> Result<(), Problem> {
    let index: BTreeMap<&str, usize> = stages
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<(usize, Pos)>> = stages
        .iter()
        .map(|s| {
            stage_deps(s, checker)
                .into_iter()
                .filter_map(|(name, p)| index.get(name.as_str()).map(|i| (*i, p)))
                .collect()
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    let mut marks = vec![Mark::New; stages.len()];
    for root in 0..stages.len() {
        if marks[root] != Mark::New {
            continue;
        }
        // (stage, next dependency to look at); the path is the stack itself.
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        marks[root] = Mark::Visiting;
        while let Some((stage, next)) = stack.last_mut() {
            let Some(&(dep, _)) = deps[*stage].get(*next) else {
                marks[*stage] = Mark::Done;
                stack.pop();
                continue;
            };
            *next += 1;
            match marks[dep] {
                Mark::Done => {}
                Mark::New => {
                    marks[dep] = Mark::Visiting;
                    stack.push((dep, 0));
                }
                Mark::Visiting => return Err(cycle_problem(stages, &deps, &stack, dep)),
            }
        }
    }
    Ok(())
}

/// Names the cycle and where each of its uses is written. `stack` holds
/// the path being followed; each entry's `next - 1` is the edge taken.
fn cycle_problem(
    stages: &[Stage],
    deps: &[Vec<(usize, Pos)>],
    stack: &[(usize, usize)],
    back_to: usize,
) -> Problem {
    let from = stack.iter().position(|(s, _)| *s == back_to).unwrap_or(0);
    let edges: Vec<(usize, usize, Pos)> = stack[from..]
        .iter()
        .map(|(s, next)| {
            let (dep, p) = deps[*s][next - 1];
            (*s, dep, p)
        })
        .collect();
    let mut names: Vec<&str> = edges
        .iter()
        .map(|(s, _, _)| stages[*s].name.as_str())
        .collect();
    names.push(&stages[back_to].name);
    let uses: Vec<String> = edges
        .iter()
        .map(|(s, dep, p)| {
            format!(
                "`{}` uses `{}` at line {}",
                stages[*s].name, stages[*dep].name, p.line
            )
        })
        .collect();
    let at = edges.last().map(|(_, _, p)| *p).unwrap_or_default();
    Problem::new(
        at,
        format!(
            "stages depend on each other in a cycle: {}",
            names.join(" → ")
        ),
    )
    .hint(format!(
        "{}; a stage cannot use itself, directly or through other stages",
        uses.join(", ")
    ))
}

/// Stages a stage uses (`from`, `copy.from`, mount `from`), with where.
fn stage_deps(stage: &Stage, checker: &Checker) -> Vec<(String, Pos)> {
    let mut refs = vec![(checker.with_defaults(&stage.from.value), stage.from.pos)];
    for step in &stage.steps {
        match &step.kind {
            StepKind::Copy(c) => refs.extend(
                c.from
                    .iter()
                    .map(|f| (checker.with_defaults(&f.value), f.pos)),
            ),
            StepKind::Run(r) => {
                for m in &r.mounts {
                    if let MountKind::Bind { from: Some(f), .. }
                    | MountKind::Cache { from: Some(f), .. } = &m.kind
                    {
                        refs.push((checker.with_defaults(&f.value), f.pos));
                    }
                }
            }
            _ => {}
        }
    }
    refs.retain(|(r, _)| checker.stage_set.contains(r));
    refs
}

fn command(c: syntax::Command) -> Command {
    match c {
        syntax::Command::Shell(s) => Command::Shell(s),
        syntax::Command::Exec(v) => Command::Exec(v),
    }
}

fn mount_target(kind: &MountKind) -> Option<&str> {
    match kind {
        MountKind::Cache { target, .. }
        | MountKind::Tmpfs { target, .. }
        | MountKind::Bind { target, .. } => Some(&target.value),
        MountKind::Secret { target, .. } | MountKind::Ssh { target, .. } => target.as_deref(),
    }
}

fn absolute_target(t: &Located<String>) -> Result<(), Problem> {
    if t.value.starts_with('/') || t.value.starts_with("${") {
        Ok(())
    } else {
        Err(Problem::new(
            t.pos,
            format!("mount target `{}` must be an absolute path", t.value),
        )
        .hint(format!("write `/{}`", t.value)))
    }
}

/// Context paths are relative to the context root and stay inside it.
fn context_path(src: &Located<String>) -> Result<(), Problem> {
    if src.value.starts_with('/') {
        return Err(Problem::new(
            src.pos,
            format!(
                "`{}` is an absolute path; context paths are relative to the build context",
                src.value
            ),
        )
        .hint(format!(
            "write `{}`, or add `from:` to copy from a stage or image",
            src.value.trim_start_matches('/')
        )));
    }
    let mut depth: i32 = 0;
    for part in src.value.split('/') {
        match part {
            ".." => depth -= 1,
            "." | "" => {}
            _ => depth += 1,
        }
        if depth < 0 {
            return Err(Problem::new(src.pos, format!("`{}` leaves the build context", src.value))
                .hint("only files inside the context can be copied; move the file or widen the context"));
        }
    }
    Ok(())
}

fn subst_problem(e: SubstError, p: Pos) -> Problem {
    match e {
        SubstError::Unknown(name) => Problem::new(p, format!("`${{{name}}}` has no value")),
        SubstError::Malformed(msg) => Problem::new(p, msg).hint(
            "write `${NAME}`, `${NAME:-default}` or `${NAME:+alternative}`; `$$` is a literal `$`",
        ),
    }
}

fn option_names(s: &StepSyntax) -> Vec<&'static str> {
    set_options(s, Pos::default())
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// The options set on a step, with where each was written.
fn set_options(s: &StepSyntax, step_pos: Pos) -> Vec<(&'static str, Pos)> {
    fn at<T>(name: &'static str, v: &Option<Spanned<T>>) -> Option<(&'static str, Pos)> {
        v.as_ref().map(|v| (name, pos(v)))
    }
    let list_at = |name: &'static str, v: &Option<Vec<Spanned<String>>>| {
        v.as_ref()
            .map(|l| (name, l.first().map(pos).unwrap_or(step_pos)))
    };
    let map_at = |name: &'static str, v: &Option<syntax::Map<Spanned<String>>>| {
        v.as_ref()
            .map(|m| (name, m.0.first().map(|(k, _)| pos(k)).unwrap_or(step_pos)))
    };
    [
        map_at("env", &s.env),
        at("workdir", &s.workdir),
        at("user", &s.user),
        at("network", &s.network),
        at("security", &s.security),
        s.mounts
            .as_ref()
            .map(|m| ("mounts", m.first().map(pos).unwrap_or(step_pos))),
        list_at("cache", &s.cache),
        at("from", &s.from),
        at("to", &s.to),
        list_at("include", &s.include),
        list_at("exclude", &s.exclude),
        at("parents", &s.parents),
        at("chown", &s.chown),
        at("chmod", &s.chmod),
        at("link", &s.link),
        at("content", &s.content),
        at("mode", &s.mode),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Where a top-level `key:` is written, for checks on a whole value.
fn top_level_key(text: &str, key: &str) -> Option<Pos> {
    let prefix = format!("{key}:");
    text.lines()
        .position(|l| l.starts_with(&prefix))
        .map(|i| Pos {
            line: i as u32 + 1,
            column: 1,
        })
}

/// A platform written out (not through an arg) must parse now; one built
/// from args is checked when the args are known.
fn literal_platform(platform: &Located<String>) -> Result<(), Problem> {
    if platform.value.contains('$') || crate::llb::Platform::parse(&platform.value).is_some() {
        return Ok(());
    }
    Err(Problem::new(
        platform.pos,
        format!("invalid platform `{}`", platform.value),
    )
    .hint("write os/arch[/variant], e.g. `linux/amd64`, `linux/arm/v7`, or `${BUILDPLATFORM}`"))
}

/// Up to ten names for a message, then how many there are in all.
fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let head = names
        .iter()
        .take(SHOWN)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        format!("{head}, … ({} in all)", names.len())
    } else {
        head
    }
}

/// A valid stage name close to `name` (`Build` → `build`), for hints.
fn stage_name_like(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(['.', '_', '-']);
    if trimmed.is_empty() {
        "build".to_string()
    } else {
        trimmed.to_string()
    }
}

/// A valid identifier close to `name` (`API-TOKEN` → `API_TOKEN`).
fn identifier_like(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if mapped.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{mapped}")
    } else {
        mapped
    }
}

fn no_kind_hint(options: &[&str]) -> String {
    let kinds: Vec<&str> = STEP_KINDS
        .iter()
        .copied()
        .filter(|k| options.iter().all(|o| options_of(k).contains(o)))
        .collect();
    let listed = options
        .iter()
        .map(|o| format!("`{o}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match kinds.first() {
        Some(kind) if !options.is_empty() => {
            format!("this step has only {listed}; add what it does, e.g. `{kind}: …`")
        }
        _ if options.is_empty() => "add what the step does, e.g. `run: make`".to_string(),
        _ => format!("this step has only {listed}; add what it does, e.g. `run: make`"),
    }
}

pub(crate) fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line() as u32,
        column: s.referenced.column() as u32,
    }
}

fn located(s: Spanned<String>) -> Located<String> {
    let p = pos(&s);
    Located::new(s.value, p)
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn is_stage_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// `8080`, `8080/tcp`, `53/udp` → (port, protocol).
pub fn parse_port(text: &str) -> Option<(u16, &str)> {
    let (number, proto) = text.split_once('/').unwrap_or((text, "tcp"));
    let port: u16 = number.parse().ok().filter(|p| *p > 0)?;
    matches!(proto, "tcp" | "udp" | "sctp").then_some((port, proto))
}

/// `30s`, `1m30s`, `500ms`, `1h` → nanoseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        let number: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let scale: u64 = match &rest[..unit_len] {
            "ns" => 1,
            "us" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(number.checked_mul(scale)?)?;
    }
    Some(total)
}

/// `1024`, `64k`, `64m`, `1g` (also `64mb`, `1GiB`) → bytes.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t.bytes().take_while(|b| b.is_ascii_digit()).count();
    let number: u64 = t[..digits].parse().ok()?;
    let scale: u64 = match t[digits..].trim_end_matches("ib").trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations_sizes_ports() {
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("500ms"), Some(500_000_000));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_port("53/udp"), Some((53, "udp")));
        assert_eq!(parse_port("8080"), Some((8080, "tcp")));
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("80/http"), None);
    }
}
