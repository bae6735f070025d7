//! Dispatching stages into LLB states, step by step.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use stagecraft_proto::caps::llb as cap;

use super::{
    ArgScope, BaseImage, CompileOptions, ImageOrigin, ImageRequest, ImageResolver, NamedContext,
};
use crate::image::{self, History, ImageConfig};
use crate::llb::{self, Chown, CopyOptions, Exec, ExecMount, FileOp, OpMeta, Platform, State};
use crate::reference::ImageRef;
use crate::spec::error::Problem;
use crate::spec::*;

const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];
const SSH_SOCKET: &str = "/run/buildkit/ssh_agent.0";
const HISTORY_COMMENT: &str = "stagecraft.v1";

/// A compiled stage: its filesystem and what a stage built on it inherits.
#[derive(Debug, Clone)]
pub struct StageResult {
    pub state: State,
    pub platform: Platform,
    /// The config without history, which is kept in `history`.
    pub config: ImageConfig,
    pub history: Rc<HistoryChain>,
}

/// History entries of a stage on top of those of its base stage. Shared,
/// not copied: a chain of stages would otherwise copy every earlier
/// stage's entries again.
#[derive(Debug, Default)]
pub struct HistoryChain {
    parent: Option<Rc<HistoryChain>>,
    entries: Vec<History>,
}

impl HistoryChain {
    fn to_vec(&self) -> Vec<History> {
        let mut links = vec![self];
        while let Some(parent) = &links[links.len() - 1].parent {
            links.push(parent);
        }
        links
            .iter()
            .rev()
            .flat_map(|l| l.entries.iter().cloned())
            .collect()
    }
}

/// What a stage starts from.
struct Base {
    state: State,
    config: ImageConfig,
    history: HistoryChain,
    /// The pinned reference, when the stage starts from an image (that
    /// needs a source op of its own).
    image: Option<String>,
}

impl Base {
    fn empty(state: State) -> Base {
        Base {
            state,
            config: ImageConfig::default(),
            history: HistoryChain::default(),
            image: None,
        }
    }
}

impl StageResult {
    /// The image config of this stage as a build result.
    pub fn image_config(&self) -> ImageConfig {
        let mut config = self.config.clone();
        config.history = self.history.to_vec();
        config.os = self.platform.os.clone();
        config.architecture = self.platform.architecture.clone();
        config.variant = self.platform.variant.clone();
        config.rootfs = image::RootFs::default();
        config
    }
}

/// Records the images a compilation asks for (see `images_needed`).
#[derive(Default)]
pub struct Recorder(RefCell<BTreeMap<(String, Platform), ImageOrigin>>);

impl Recorder {
    pub fn into_requests(self) -> Vec<ImageRequest> {
        self.0
            .into_inner()
            .into_iter()
            .map(|((reference, platform), origin)| ImageRequest {
                reference,
                platform,
                origin,
            })
            .collect()
    }
}

impl ImageResolver for Recorder {
    fn resolve(
        &self,
        reference: &str,
        platform: &Platform,
        origin: &ImageOrigin,
    ) -> Option<BaseImage> {
        self.0
            .borrow_mut()
            .entry((reference.to_string(), platform.clone()))
            .or_insert_with(|| origin.clone());
        None
    }
}

pub struct Compiler<'a> {
    spec: &'a Spec,
    options: &'a CompileOptions,
    images: &'a dyn ImageResolver,
    scope: ArgScope,
    context_paths: Vec<String>,
    context: Option<State>,
    done: BTreeMap<String, StageResult>,
    in_progress: Vec<String>,
}

/// The running state of a stage while its steps are dispatched.
struct Dispatch<'s> {
    stage: &'s Stage,
    state: State,
    platform: Platform,
    config: ImageConfig,
    history: HistoryChain,
    shell: Vec<String>,
    /// 1-based number of the next progress entry, and the total.
    number: usize,
    total: usize,
}

impl<'a> Compiler<'a> {
    pub fn new(
        spec: &'a Spec,
        options: &'a CompileOptions,
        images: &'a dyn ImageResolver,
        scope: ArgScope,
        context_paths: Vec<String>,
    ) -> Self {
        Compiler {
            spec,
            options,
            images,
            scope,
            context_paths,
            context: None,
            done: BTreeMap::new(),
            in_progress: Vec::new(),
        }
    }

    /// Compiles stage `name` (once; later uses share the result).
    pub fn stage(&mut self, name: &str, used_at: Pos) -> Result<StageResult, Problem> {
        if let Some(done) = self.done.get(name) {
            return Ok(done.clone());
        }
        if self.in_progress.iter().any(|n| n == name) {
            let mut cycle = self.in_progress.clone();
            cycle.push(name.to_string());
            return Err(Problem::new(
                used_at,
                format!(
                    "stages depend on each other in a cycle: {}",
                    cycle.join(" → ")
                ),
            ));
        }
        let stage = self
            .spec
            .stage(name)
            .expect("callers check the stage exists");
        self.in_progress.push(name.to_string());
        let result = self.dispatch(stage);
        self.in_progress.pop();
        let result = result?;
        self.done.insert(name.to_string(), result.clone());
        Ok(result)
    }

    fn dispatch(&mut self, stage: &Stage) -> Result<StageResult, Problem> {
        let platform = match &stage.platform {
            Some(p) => {
                let text = self.scope.subst(p)?;
                Platform::parse(&text).ok_or_else(|| {
                    Problem::new(p.pos, format!("invalid platform `{text}`"))
                        .hint("write os/arch[/variant], e.g. linux/amd64")
                })?
            }
            None => self.options.target_platform.clone(),
        };
        let from = self.scope.subst(&stage.from)?;
        let Base {
            state,
            mut config,
            history,
            image: from_image,
        } = self.base(stage, &from, &platform)?;
        if config.env_value("PATH").is_none() {
            image::set_env(&mut config.config.env, "PATH", image::DEFAULT_PATH);
        }
        let mut d = Dispatch {
            stage,
            state,
            platform,
            config,
            history,
            shell: stage
                .shell
                .clone()
                .unwrap_or_else(|| DEFAULT_SHELL.map(String::from).to_vec()),
            number: 1,
            total: stage.steps.len() + usize::from(from_image.is_some()),
        };
        if let Some(reference) = from_image {
            let mut meta = self.meta(&d, format!("FROM {reference}"), stage.pos, stage.pos.line);
            // `--no-cache-filter` re-runs a stage's steps, not its base: the
            // image op is shared with every stage on the same image, which
            // would all re-run too (the Dockerfile frontend does the same).
            meta.ignore_cache = self.options.no_cache;
            d.state = llb::image(&reference, &d.platform, meta);
            d.number += 1;
        }
        for (name, value) in &stage.env {
            let value = self.scope.subst_with(value, &d.config.config.env)?;
            image::set_env(&mut d.config.config.env, name, &value);
        }
        if let Some(w) = &stage.workdir {
            d.config.config.working_dir =
                resolve_path(&d.config.config.working_dir, &self.scope.subst(w)?);
        }
        if let Some(u) = &stage.user {
            d.config.config.user = self.scope.subst(u)?;
        }
        for step in &stage.steps {
            self.step(&mut d, step)?;
            d.number += 1;
        }
        self.apply_image_section(&mut d)?;
        Ok(StageResult {
            state: d.state,
            platform: d.platform,
            config: d.config,
            history: Rc::new(d.history),
        })
    }

    /// The stage's starting filesystem and config, and the pinned image
    /// reference when it starts from an image (that needs a source op).
    fn base(&mut self, stage: &Stage, from: &str, platform: &Platform) -> Result<Base, Problem> {
        if let Some(named) = self.options.named_context(from) {
            return match named.clone() {
                NamedContext::Image(reference) => {
                    self.image_base(&reference, stage.from.pos, Some(from), platform)
                }
                NamedContext::Local(local) => Ok(Base::empty(self.named_local(&local, from))),
                NamedContext::State(state) => Ok(Base::empty(state)),
                NamedContext::ImageState(state, config) => Ok(Base {
                    config: *config,
                    ..Base::empty(state)
                }),
            };
        }
        if from == "scratch" {
            return Ok(Base::empty(State::scratch()));
        }
        if self.spec.stage(from).is_some() {
            let base = self.stage(from, stage.from.pos)?;
            return Ok(Base {
                state: base.state,
                config: base.config,
                history: HistoryChain {
                    parent: Some(base.history),
                    entries: Vec::new(),
                },
                image: None,
            });
        }
        self.image_base(from, stage.from.pos, None, platform)
    }

    /// `context`: the `--build-context` that named this image instead of
    /// the spec.
    fn image_base(
        &mut self,
        reference: &str,
        pos: Pos,
        context: Option<&str>,
        platform: &Platform,
    ) -> Result<Base, Problem> {
        let parsed = ImageRef::parse(reference).map_err(|e| Problem::new(pos, e.to_string()))?;
        let normalized = parsed.to_string();
        let origin = ImageOrigin {
            pos,
            context: context.map(str::to_string),
        };
        let base = self
            .images
            .resolve(&normalized, platform, &origin)
            .unwrap_or_default();
        let pinned = match &base.digest {
            Some(d) if parsed.digest.is_none() => parsed.pinned(d).to_string(),
            _ => normalized,
        };
        let mut config = base.config;
        let history = HistoryChain {
            parent: None,
            entries: std::mem::take(&mut config.history),
        };
        Ok(Base {
            state: State::scratch(),
            config,
            history,
            image: Some(pinned),
        })
    }

    fn named_local(&self, local: &str, name: &str) -> State {
        llb::local(
            local,
            &llb::LocalOptions {
                session_id: self.options.session_id.clone(),
                shared_key_hint: Some(local.to_string()),
                ..llb::LocalOptions::default()
            },
            OpMeta::named(format!("[context {name}] load from client")),
        )
    }

    /// The build context, transferred once, limited to the paths used.
    fn context(&mut self) -> State {
        match self
            .options
            .named_context(&self.options.context_name)
            .cloned()
        {
            Some(NamedContext::Local(local)) => return self.named_local(&local, "context"),
            Some(NamedContext::State(state) | NamedContext::ImageState(state, _)) => return state,
            _ => {}
        }
        if let Some(state) = &self.context {
            return state.clone();
        }
        let state = llb::local(
            &self.options.context_name,
            &llb::LocalOptions {
                include_patterns: self.context_paths.clone(),
                exclude_patterns: self.options.context_excludes.clone(),
                shared_key_hint: Some(self.options.context_name.clone()),
                session_id: self.options.session_id.clone(),
                ..llb::LocalOptions::default()
            },
            OpMeta::named("[internal] load build context"),
        );
        self.context = Some(state.clone());
        state
    }

    /// A `from:` of a copy or mount: named context, stage, or image.
    fn source_state(
        &mut self,
        from: &Located<String>,
        platform: &Platform,
    ) -> Result<(State, String), Problem> {
        let name = self.scope.subst(from)?;
        if let Some(named) = self.options.named_context(&name).cloned() {
            return Ok(match named {
                NamedContext::Image(reference) => {
                    let pinned = self
                        .image_base(&reference, from.pos, Some(&name), platform)?
                        .image;
                    let pinned = pinned.expect("image bases are pinned references");
                    (
                        llb::image(
                            &pinned,
                            platform,
                            OpMeta::named(format!("[context {name}] {pinned}")),
                        ),
                        name,
                    )
                }
                NamedContext::Local(local) => (self.named_local(&local, &name), name),
                NamedContext::State(state) | NamedContext::ImageState(state, _) => (state, name),
            });
        }
        if name == "scratch" {
            return Ok((State::scratch(), name));
        }
        if self.spec.stage(&name).is_some() {
            return Ok((self.stage(&name, from.pos)?.state, name));
        }
        let pinned = self.image_base(&name, from.pos, None, platform)?.image;
        let pinned = pinned.expect("image bases are pinned references");
        Ok((
            llb::image(
                &pinned,
                platform,
                OpMeta::named(format!("[internal] load {pinned}")),
            ),
            name,
        ))
    }

    fn meta(&self, d: &Dispatch, text: String, pos: Pos, end_line: u32) -> OpMeta {
        let platform = if self.options.platform_in_names {
            format!("{} ", d.platform)
        } else {
            String::new()
        };
        OpMeta {
            name: Some(format!(
                "[{platform}{} {}/{}] {}",
                d.stage.name, d.number, d.total, text
            )),
            ignore_cache: self.options.no_cache
                || self.options.no_cache_stages.contains(&d.stage.name),
            lines: Some((pos.line, end_line.max(pos.line))),
            group: None,
        }
    }

    fn step(&mut self, d: &mut Dispatch, step: &Step) -> Result<(), Problem> {
        let created_by = match &step.kind {
            StepKind::Run(run) => self.run(d, step, run)?,
            StepKind::Copy(copy) => self.copy(d, step, copy)?,
            StepKind::Add(add) => self.add(d, step, add)?,
            StepKind::Mkdir(m) => {
                let path = resolve_path(&d.config.config.working_dir, &self.scope.subst(&m.path)?);
                let owner = self.chown(&m.chown)?;
                let text = format!("MKDIR {path}");
                let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
                d.state = FileOp::on(&d.state)
                    .mkdir(&path, m.mode.unwrap_or(0o755), owner)
                    .into_state(meta);
                text
            }
            StepKind::Write(w) => {
                let path = resolve_path(&d.config.config.working_dir, &self.scope.subst(&w.path)?);
                let content = self
                    .scope
                    .subst(&Located::new(w.content.clone(), w.path.pos))?;
                let owner = self.chown(&w.chown)?;
                let text = format!("WRITE {path}");
                let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
                let mut op = FileOp::on(&d.state);
                // Like a copy, a write creates the directories it needs.
                if let Some(parent) = parent_dir(&path) {
                    op = op.mkdir(parent, 0o755, None);
                }
                d.state = op
                    .mkfile(&path, w.mode.unwrap_or(0o644), content.into_bytes(), owner)
                    .into_state(meta);
                text
            }
            StepKind::Remove(r) => {
                let mut op = FileOp::on(&d.state);
                let mut shown = Vec::new();
                for p in &r.paths {
                    let path = resolve_path(&d.config.config.working_dir, &self.scope.subst(p)?);
                    op = op.rm(&path);
                    shown.push(path);
                }
                let text = format!("REMOVE {}", shown.join(" "));
                let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
                d.state = op.into_state(meta);
                text
            }
        };
        d.history.entries.push(History {
            created: None,
            created_by,
            comment: HISTORY_COMMENT.to_string(),
            empty_layer: false,
        });
        Ok(())
    }

    fn run(&mut self, d: &mut Dispatch, step: &Step, run: &RunStep) -> Result<String, Problem> {
        let (args, shown) = match &run.command {
            Command::Shell(text) => {
                let mut args = d.shell.clone();
                args.push(text.clone());
                (args, one_line(text))
            }
            Command::Exec(list) => (
                list.clone(),
                serde_json::to_string(list).expect("strings serialize"),
            ),
        };
        // Args first, so an env variable of the same name wins, as ENV
        // wins over ARG in a Dockerfile.
        let mut env = Vec::new();
        let command_text = match &run.command {
            Command::Shell(t) => t.clone(),
            Command::Exec(list) => list.join(" "),
        };
        for (name, value) in self.scope.mentioned_env(&command_text) {
            image::set_env(&mut env, &name, &value);
        }
        for entry in &d.config.config.env {
            let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
            image::set_env(&mut env, name, value);
        }
        for (name, value) in &run.env {
            let value = self.scope.subst_with(value, &env)?;
            image::set_env(&mut env, name, &value);
        }
        let cwd = match &run.workdir {
            Some(w) => resolve_path(&d.config.config.working_dir, &self.scope.subst(w)?),
            None => non_empty_or_root(&d.config.config.working_dir),
        };
        let user = match &run.user {
            Some(u) => self.scope.subst(u)?,
            None => d.config.config.user.clone(),
        };
        let mut exec = Exec {
            args,
            env: Vec::new(),
            cwd,
            user,
            network: match run.network {
                Some(Network::None) => llb::Network::None,
                Some(Network::Host) => llb::Network::Host,
                Some(Network::Default) => llb::Network::Default,
                None => self.options.network,
            },
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

    fn mount(
        &mut self,
        d: &Dispatch,
        mount: &Mount,
        exec: &mut Exec,
        env: &mut Vec<String>,
    ) -> Result<(), Problem> {
        match &mount.kind {
            MountKind::Cache {
                target,
                id,
                sharing,
                from,
                source,
                ..
            } => {
                let target = self.scope.subst(target)?;
                let base = match from {
                    Some(f) => {
                        let (state, _) = self.source_state(f, &d.platform)?;
                        Some((state, source.clone().unwrap_or_else(|| "/".to_string())))
                    }
                    None => None,
                };
                exec.mounts.push(ExecMount::Cache {
                    id: id.clone().unwrap_or_else(|| target.clone()),
                    target,
                    sharing: match sharing {
                        CacheSharing::Shared => llb::CacheSharing::Shared,
                        CacheSharing::Private => llb::CacheSharing::Private,
                        CacheSharing::Locked => llb::CacheSharing::Locked,
                    },
                    base,
                });
            }
            MountKind::Secret {
                id,
                target,
                env: as_env,
                required,
                mode,
                uid,
                gid,
            } => {
                if let Some(name) = as_env {
                    self.require(
                        cap::EXEC_SECRET_ENV,
                        mount.pos,
                        "secrets as environment variables",
                    )?;
                    exec.secret_env.push(llb::SecretEnv {
                        id: id.clone(),
                        name: name.clone(),
                        optional: !required,
                    });
                }
                if let Some(target) = target {
                    exec.mounts.push(ExecMount::Secret {
                        target: target.clone(),
                        file: llb::ClientFile {
                            id: id.clone(),
                            uid: uid.unwrap_or(0),
                            gid: gid.unwrap_or(0),
                            mode: mode.unwrap_or(0o400),
                            optional: !required,
                        },
                    });
                }
            }
            MountKind::Ssh {
                id,
                target,
                required,
                mode,
                uid,
                gid,
            } => {
                let target = target.clone().unwrap_or_else(|| SSH_SOCKET.to_string());
                image::set_env(env, "SSH_AUTH_SOCK", &target);
                exec.mounts.push(ExecMount::Ssh {
                    target,
                    file: llb::ClientFile {
                        id: id.clone(),
                        uid: uid.unwrap_or(0),
                        gid: gid.unwrap_or(0),
                        mode: mode.unwrap_or(0o600),
                        optional: !required,
                    },
                });
            }
            MountKind::Tmpfs { target, size } => exec.mounts.push(ExecMount::Tmpfs {
                target: self.scope.subst(target)?,
                size: size.unwrap_or(0),
            }),
            MountKind::Bind {
                target,
                from,
                source,
                rw,
            } => {
                let target_path = self.scope.subst(target)?;
                let (state, selector) = match from {
                    Some(f) => {
                        let (state, _) = self.source_state(f, &d.platform)?;
                        let selector = match source {
                            Some(s) => self.scope.subst(s)?,
                            None => "/".to_string(),
                        };
                        (state, selector)
                    }
                    None => {
                        let src = match source {
                            Some(s) => self.scope.subst(s)?,
                            None => ".".to_string(),
                        };
                        (
                            self.context(),
                            super::context::clean(&src).unwrap_or_default(),
                        )
                    }
                };
                exec.mounts.push(ExecMount::Bind {
                    target: target_path,
                    source: state,
                    selector: selector.trim_start_matches('/').to_string(),
                    writable: *rw,
                });
            }
        }
        Ok(())
    }

    fn copy(&mut self, d: &mut Dispatch, step: &Step, copy: &CopyStep) -> Result<String, Problem> {
        let (source, from_name) = match &copy.from {
            Some(f) => {
                let (state, name) = self.source_state(f, &d.platform)?;
                (state, Some(name))
            }
            None => (self.context(), None),
        };
        let mut sources = Vec::with_capacity(copy.sources.len());
        for s in &copy.sources {
            sources.push(self.scope.subst(s)?);
        }
        let to = match &copy.to {
            Some(t) => self.scope.subst(t)?,
            None => ".".to_string(),
        };
        let dest = destination(
            &d.config.config.working_dir,
            &to,
            sources.len() > 1 || copy.parents,
        );
        let owner = self.chown(&copy.chown)?;
        let mut base = CopyOptions {
            include_patterns: copy
                .include
                .iter()
                .map(|p| self.scope.subst(&Located::new(p.clone(), step.pos)))
                .collect::<Result<_, _>>()?,
            exclude_patterns: copy
                .exclude
                .iter()
                .map(|p| self.scope.subst(&Located::new(p.clone(), step.pos)))
                .collect::<Result<_, _>>()?,
            mode: copy.chmod,
            owner,
            ..CopyOptions::default()
        };
        if !base.include_patterns.is_empty() || !base.exclude_patterns.is_empty() {
            self.require(
                cap::FILE_COPY_INCLUDE_EXCLUDE_PATTERNS,
                step.pos,
                "`include`/`exclude` on copies",
            )?;
        }
        let link = copy.link && self.has_cap(cap::MERGE_OP);
        let onto = if link {
            State::scratch()
        } else {
            d.state.clone()
        };
        let mut op = FileOp::on(&onto);
        for src in &sources {
            if copy.parents {
                let mut options = base.clone();
                options.include_patterns =
                    vec![super::context::clean(src).unwrap_or_else(|| "**".to_string())];
                op = op.copy(&source, "/", &dest, options);
            } else {
                op = op.copy(&source, &source_path(src), &dest, base.clone());
            }
        }
        base.include_patterns.clear();
        let mut flags = String::new();
        if let Some(name) = &from_name {
            flags.push_str(&format!("--from={name} "));
        }
        if copy.link {
            flags.push_str("--link ");
        }
        if copy.parents {
            flags.push_str("--parents ");
        }
        let text = format!("COPY {flags}{} {dest}", sources.join(" "));
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        if link {
            let layer = op.into_state(meta.clone());
            d.state = llb::merge(&[d.state.clone(), layer], meta);
        } else {
            d.state = op.into_state(meta);
        }
        Ok(text)
    }

    fn add(&mut self, d: &mut Dispatch, step: &Step, add: &AddStep) -> Result<String, Problem> {
        let to = match &add.to {
            Some(t) => self.scope.subst(t)?,
            None => ".".to_string(),
        };
        let owner = self.chown(&add.chown)?;
        let options = CopyOptions {
            mode: add.chmod,
            owner,
            ..CopyOptions::default()
        };
        // The source is made once the step's name is known: the download
        // or clone carries the step's name and lines, as the Dockerfile
        // frontend's ADD does, because that is where a bad URL, checksum
        // or ref fails, and the user must see which step it is.
        type MakeSource = Box<dyn FnOnce(OpMeta) -> State>;
        let (make_source, src, shown, dest): (MakeSource, _, _, _) = match &add.source {
            AddSource::Url { url, checksum } => {
                let url = self.scope.subst(url)?;
                let filename = url_filename(&url);
                let dest = destination(&d.config.config.working_dir, &to, false);
                let dest = if dest.ends_with('/') {
                    format!("{dest}{filename}")
                } else {
                    dest
                };
                let src = format!("/{filename}");
                let (checksum, shown) = (checksum.clone(), url.clone());
                let make = move |meta| llb::http(&url, checksum.as_deref(), Some(&filename), meta);
                (Box::new(make), src, shown, dest)
            }
            AddSource::Git {
                remote,
                reference,
                keep_git_dir,
            } => {
                let remote = self.scope.subst(remote)?;
                let dest = destination(&d.config.config.working_dir, &to, true);
                let shown = match reference {
                    Some(r) => format!("{remote}#{r}"),
                    None => remote.clone(),
                };
                let (reference, keep) = (reference.clone(), *keep_git_dir);
                let make = move |meta| llb::git(&remote, reference.as_deref(), keep, meta);
                (Box::new(make), "/".to_string(), shown, dest)
            }
        };
        let text = format!("ADD {shown} {dest}");
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        let source = make_source(meta.clone());
        d.state = FileOp::on(&d.state)
            .copy(&source, &src, &dest, options)
            .into_state(meta);
        Ok(text)
    }

    fn apply_image_section(&self, d: &mut Dispatch) -> Result<(), Problem> {
        let section = &d.stage.image;
        let c = &mut d.config.config;
        for (name, value) in &section.env {
            let value = self.scope.subst_with(value, &c.env)?;
            image::set_env(&mut c.env, name, &value);
        }
        if let Some(u) = &section.user {
            c.user = self.scope.subst(u)?;
        }
        if let Some(w) = &section.workdir {
            c.working_dir = resolve_path(&c.working_dir, &self.scope.subst(w)?);
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
            let text = self.scope.subst(&Located::new(port.clone(), d.stage.pos))?;
            let (number, proto) = parse_port(&text).ok_or_else(|| {
                Problem::new(d.stage.pos, format!("invalid port `{text}`"))
                    .hint("write a port number 1-65535, optionally with /tcp, /udp or /sctp")
            })?;
            c.exposed_ports
                .insert(format!("{number}/{proto}"), image::Empty {});
        }
        for (name, value) in &section.labels {
            c.labels.insert(name.clone(), self.scope.subst(value)?);
        }
        for v in &section.volumes {
            c.volumes.insert(self.scope.subst(v)?, image::Empty {});
        }
        if let Some(s) = &section.stop_signal {
            c.stop_signal = s.clone();
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

    fn chown(&self, chown: &Option<Located<String>>) -> Result<Option<Chown>, Problem> {
        chown
            .as_ref()
            .map(|c| self.scope.subst(c).map(|t| Chown::parse(&t)))
            .transpose()
    }

    fn has_cap(&self, name: &str) -> bool {
        self.options
            .caps
            .as_ref()
            .is_none_or(|caps| caps.contains(name))
    }

    fn require(&self, name: &str, pos: Pos, what: &str) -> Result<(), Problem> {
        if self.has_cap(name) {
            return Ok(());
        }
        Err(Problem::new(
            pos,
            format!("this BuildKit daemon does not support {what} (capability `{name}`)"),
        )
        .hint("upgrade Docker/BuildKit or remove the option"))
    }
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

/// Progress names are one line, like the Dockerfile frontend's.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty_or_root(dir: &str) -> String {
    if dir.is_empty() {
        "/".to_string()
    } else {
        dir.to_string()
    }
}

/// `path` against the working directory (absolute paths win).
fn resolve_path(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!(
            "{}/{}",
            non_empty_or_root(workdir).trim_end_matches('/'),
            path
        )
    };
    let keep_slash = path.ends_with('/') && path != "/";
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if keep_slash && out != "/" {
        out.push('/');
    }
    out
}

/// The directory holding `path`, unless that is `/`.
fn parent_dir(path: &str) -> Option<&str> {
    path.trim_end_matches('/')
        .rsplit_once('/')
        .map(|(parent, _)| parent)
        .filter(|p| !p.is_empty())
}

/// A copy destination; a directory (trailing `/`) when several sources go
/// there or the user wrote a trailing `/` or `.`.
fn destination(workdir: &str, to: &str, force_dir: bool) -> String {
    let as_dir = force_dir || to.ends_with('/') || to == "." || to.ends_with("/.");
    let path = resolve_path(workdir, to);
    if as_dir && !path.ends_with('/') {
        format!("{path}/")
    } else {
        path
    }
}

/// Source paths are relative to the source's root.
fn source_path(src: &str) -> String {
    match super::context::clean(src) {
        Some(p) => format!("/{p}"),
        None => "/".to_string(),
    }
}

fn url_filename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty()
        || path.ends_with("//")
        || !path.contains("://")
        || path.split("://").nth(1).is_some_and(|r| !r.contains('/'))
    {
        "index.html".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_like_a_shell() {
        assert_eq!(resolve_path("", "app"), "/app");
        assert_eq!(resolve_path("/src", "./out/"), "/src/out/");
        assert_eq!(resolve_path("/src", "/abs"), "/abs");
        assert_eq!(resolve_path("/src/a", "../b"), "/src/b");
        assert_eq!(destination("/src", ".", false), "/src/");
        assert_eq!(destination("/", "/app", false), "/app");
        assert_eq!(destination("/", "/app", true), "/app/");
        assert_eq!(source_path("./go.mod"), "/go.mod");
        assert_eq!(parent_dir("/etc/app/conf"), Some("/etc/app"));
        assert_eq!(parent_dir("/conf"), None);
        assert_eq!(source_path("."), "/");
        assert_eq!(url_filename("https://x.org/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("https://x.org"), "index.html");
    }
}
