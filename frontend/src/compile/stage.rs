//! Dispatching a resolved stage into LLB states, step by step; each step
//! kind is compiled in its own file (`run`, `mounts`, `copy`, `add`,
//! `files`, and `image_config` for the `image:` section).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{BaseImage, Closures, ImageResolver};
use crate::image::{self, History, ImageConfig};
use crate::llb::{self, OpMeta, Platform, State};
use crate::options::CompileOptions;
use crate::resolve::{expand_env, ImageOrigin, Resolved};
use crate::spec::error::Problem;
use crate::spec::*;

pub(super) const DEFAULT_SHELL: [&str; 2] = ["/bin/sh", "-c"];
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
    pub(super) entries: Vec<History>,
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

/// What a stage starts from.
pub(super) struct Base {
    pub state: State,
    pub config: ImageConfig,
    pub history: HistoryChain,
    /// The pinned reference, when the stage starts from an image (that
    /// needs a source op of its own).
    pub image: Option<String>,
}

impl Base {
    pub fn empty(state: State) -> Base {
        Base {
            state,
            config: ImageConfig::default(),
            history: HistoryChain::default(),
            image: None,
        }
    }
}

pub(super) struct Compiler<'a> {
    pub build: &'a Resolved,
    pub options: &'a CompileOptions,
    images: &'a dyn ImageResolver,
    pub closures: &'a Closures,
    /// The build context's source, made once.
    pub context: Option<State>,
    done: BTreeMap<String, StageResult>,
}

/// The running state of a stage while its steps are dispatched.
pub(super) struct Dispatch<'s> {
    pub stage: &'s Stage,
    pub state: State,
    pub platform: Platform,
    pub config: ImageConfig,
    pub history: HistoryChain,
    pub shell: Vec<String>,
    /// 1-based number of the next progress entry, and the total.
    pub number: usize,
    pub total: usize,
    /// In a parallel group: the branch, and the step's place in it
    /// (`deps`, `deps 2/3`), shown in progress names.
    pub branch: Option<String>,
}

impl<'a> Compiler<'a> {
    pub fn new(
        build: &'a Resolved,
        options: &'a CompileOptions,
        images: &'a dyn ImageResolver,
        closures: &'a Closures,
    ) -> Self {
        Compiler {
            build,
            options,
            images,
            closures,
            context: None,
            done: BTreeMap::new(),
        }
    }

    /// Compiles every stage of the build in dependency order; returns the
    /// target's result.
    pub fn all(mut self) -> Result<StageResult, Problem> {
        for name in &self.build.order {
            let result = self.dispatch(self.build.stage(name))?;
            self.done.insert(name.clone(), result);
        }
        let target = &self.build.target;
        Ok(self
            .done
            .remove(target)
            .expect("the target is compiled last"))
    }

    /// A stage compiled before (dependency order guarantees it).
    pub fn done(&self, name: &str) -> &StageResult {
        &self.done[name]
    }

    fn dispatch(&mut self, stage: &'a Stage) -> Result<StageResult, Problem> {
        let platform = self.build.platforms[&stage.name].clone();
        let base = self.base(stage, &platform)?;
        let mut config = base.config;
        if config.env_value("PATH").is_none() {
            image::set_env(&mut config.config.env, "PATH", image::DEFAULT_PATH);
        }
        let mut d = Dispatch {
            stage,
            state: base.state,
            platform,
            config,
            history: base.history,
            shell: stage
                .shell
                .clone()
                .unwrap_or_else(|| DEFAULT_SHELL.map(String::from).to_vec()),
            number: 1,
            total: stage.steps.len() + usize::from(base.image.is_some()),
            branch: None,
        };
        if let Some(reference) = base.image {
            let mut meta = self.meta(&d, format!("FROM {reference}"), stage.pos, stage.pos.line);
            // `--no-cache-filter` re-runs a stage's steps, not its base: the
            // image op is shared with every stage on the same image, which
            // would all re-run too (the Dockerfile frontend does the same).
            meta.ignore_cache = self.options.no_cache;
            d.state = llb::image(&reference, &d.platform, meta);
            d.number += 1;
        }
        for (name, value) in &stage.env {
            let value = expand_env(value, &d.config.config.env)?;
            image::set_env(&mut d.config.config.env, name, &value);
        }
        if let Some(w) = &stage.workdir {
            d.config.config.working_dir =
                super::paths::resolve(&d.config.config.working_dir, &w.value);
        }
        if let Some(u) = &stage.user {
            d.config.config.user = u.value.clone();
        }
        for step in &stage.steps {
            self.step(&mut d, step)?;
            d.number += 1;
        }
        super::image_config::apply(&mut d)?;
        Ok(StageResult {
            state: d.state,
            platform: d.platform,
            config: d.config,
            history: Rc::new(d.history),
        })
    }

    pub fn step(&mut self, d: &mut Dispatch, step: &Step) -> Result<(), Problem> {
        let created_by = match &step.kind {
            StepKind::Parallel(group) => return self.parallel(d, step, group),
            StepKind::Run(run) => self.run(d, step, run)?,
            StepKind::Copy(copy) => self.copy(d, step, copy)?,
            StepKind::Add(add) => self.add(d, step, add)?,
            StepKind::Mkdir(m) => self.mkdir(d, step, m),
            StepKind::Write(w) => self.write(d, step, w),
            StepKind::Remove(r) => self.remove(d, step, r),
        };
        d.history.entries.push(History {
            created: None,
            created_by,
            comment: HISTORY_COMMENT.to_string(),
            empty_layer: false,
        });
        Ok(())
    }

    /// The stage's starting filesystem and config, and the pinned image
    /// reference when it starts from an image (that needs a source op).
    fn base(&mut self, stage: &Stage, platform: &Platform) -> Result<Base, Problem> {
        use crate::resolve::Source;
        let from = &stage.from;
        match self.build.source(&from.value).clone() {
            Source::Context(name) => self.context_base(&name, from.pos, platform),
            Source::Scratch => Ok(Base::empty(State::scratch())),
            Source::Stage(name) => {
                let base = self.done(&name);
                Ok(Base {
                    state: base.state.clone(),
                    config: base.config.clone(),
                    history: HistoryChain {
                        parent: Some(base.history.clone()),
                        entries: Vec::new(),
                    },
                    image: None,
                })
            }
            Source::Image(reference) => self.image_base(&reference, from.pos, None, platform),
            Source::Variants(_) => unreachable!("resolution refuses a matrix as a stage's base"),
        }
    }

    /// `context`: the `--build-context` that named this image instead of
    /// the spec.
    pub fn image_base(
        &mut self,
        reference: &str,
        pos: Pos,
        context: Option<&str>,
        platform: &Platform,
    ) -> Result<Base, Problem> {
        let parsed = crate::reference::ImageRef::parse(reference)
            .map_err(|e| Problem::new(pos, e.to_string()))?;
        let normalized = parsed.to_string();
        let origin = ImageOrigin {
            pos,
            context: context.map(str::to_string),
        };
        let base: BaseImage = self
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

    pub fn meta(&self, d: &Dispatch, text: String, pos: Pos, end_line: u32) -> OpMeta {
        let platform = if self.options.platform_in_names {
            format!("{} ", d.platform)
        } else {
            String::new()
        };
        let branch = d.branch.as_ref().map_or(String::new(), |b| format!(" {b}"));
        OpMeta {
            name: Some(format!(
                "[{platform}{} {}/{}{branch}] {}",
                d.stage.name, d.number, d.total, text
            )),
            ignore_cache: self.options.no_cache
                || self.options.no_cache_stages.contains(&d.stage.name),
            lines: Some((pos.line, end_line.max(pos.line))),
            group: None,
        }
    }

    pub fn has_cap(&self, name: &str) -> bool {
        self.options
            .caps
            .as_ref()
            .is_none_or(|caps| caps.contains(name))
    }

    pub fn require(&self, name: &str, pos: Pos, what: &str) -> Result<(), Problem> {
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
