//! What every rule looks at: the spec as written, the build with every
//! stage resolved, and the questions several rules ask of them (which
//! stages the final image is made of, who a step runs as).

use crate::resolve::{Resolved, Source};
use crate::spec::{Located, Pos, Spec, Stage};

pub struct Context<'a> {
    /// The spec as written (`${ARG}` unsubstituted).
    pub spec: &'a Spec,
    /// Every stage resolved; `build.target` is the final image.
    pub build: &'a Resolved,
    /// `.dockerignore` patterns of the build context.
    pub ignore: &'a [String],
    lines: Vec<&'a str>,
}

/// How a chain of stages (a stage, its base stage, that one's base…) ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bottom {
    /// An image (or a named context) whose config the spec does not show.
    Image,
    Scratch,
}

impl<'a> Context<'a> {
    pub fn new(spec: &'a Spec, build: &'a Resolved, ignore: &'a [String]) -> Context<'a> {
        Context {
            spec,
            build,
            ignore,
            lines: spec.text.lines().collect(),
        }
    }

    /// The final image's stage.
    pub fn target(&self) -> &'a str {
        &self.build.target
    }

    /// Resolved stages in file order.
    pub fn stages(&self) -> impl Iterator<Item = &'a Stage> + '_ {
        self.spec.stages.iter().map(|s| self.build.stage(&s.name))
    }

    /// A stage as written.
    pub fn written(&self, name: &str) -> &'a Stage {
        self.spec
            .stage(name)
            .expect("resolved stages are spec stages")
    }

    /// What a resolved `from:` names.
    pub fn source(&self, from: &Located<String>) -> &'a Source {
        self.build.source(&from.value)
    }

    /// The stage `name` is built on, if it is built on one.
    pub fn base_stage(&self, name: &str) -> Option<&'a str> {
        match self.source(&self.build.stage(name).from) {
            Source::Stage(base) => Some(base.as_str()),
            _ => None,
        }
    }

    /// `name`, the stage it is built on, and so on down to an image or
    /// scratch. The resolver refused cycles, so this ends.
    pub fn chain(&self, name: &str) -> Vec<&'a str> {
        let mut chain = vec![self.build.stage(name).name.as_str()];
        while let Some(base) = self.base_stage(chain[chain.len() - 1]) {
            chain.push(base);
        }
        chain
    }

    /// What the bottom of `chain` starts from.
    pub fn bottom(&self, chain: &[&str]) -> Bottom {
        let last = self.build.stage(chain[chain.len() - 1]);
        match self.source(&last.from) {
            Source::Scratch => Bottom::Scratch,
            _ => Bottom::Image,
        }
    }

    /// The stages whose files are in the final image: the target and the
    /// stages it is built on.
    pub fn final_chain(&self) -> Vec<&'a str> {
        self.chain(self.target())
    }

    /// The user a stage's config names (its `image.user`, else its `user`,
    /// else its base stage's), if some stage of its chain names one.
    pub fn config_user(&self, name: &str) -> Option<&'a Located<String>> {
        self.chain(name).into_iter().find_map(|n| {
            let stage = self.build.stage(n);
            stage.image.user.as_ref().or(stage.user.as_ref())
        })
    }

    /// The user the steps of `stage` run as by default: its own `user`,
    /// else what the stage it is built on leaves in its config.
    pub fn step_user(&self, stage: &Stage) -> Option<&'a Located<String>> {
        let own = self.build.stage(&stage.name);
        own.user.as_ref().or_else(|| {
            self.base_stage(&stage.name)
                .and_then(|b| self.config_user(b))
        })
    }

    /// The first place in lines `from..=to` of the spec where `needle`
    /// is written, else `fallback`.
    pub fn find(&self, needle: &str, from: u32, to: u32, fallback: Pos) -> Pos {
        super::text::find(&self.lines, needle, from, to).unwrap_or(fallback)
    }

    /// The spec's line `line` (1-based), or "".
    pub fn line(&self, line: u32) -> &'a str {
        self.lines
            .get((line as usize).wrapping_sub(1))
            .copied()
            .unwrap_or("")
    }
}

/// `root`, `0`, `root:…`, `0:…`: the users that are root.
pub fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("");
    name == "root" || name == "0"
}
