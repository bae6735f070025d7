//! The states a step reads from: the build context, named contexts,
//! stages and images.

use super::stage::{Base, Compiler};
use crate::llb::{self, OpMeta, Platform, State};
use crate::options::NamedContext;
use crate::resolve::Source;
use crate::spec::error::Problem;
use crate::spec::{Located, Pos};

impl Compiler<'_> {
    /// The build context, transferred once, limited to the paths used.
    pub(super) fn context(&mut self) -> State {
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
                include_patterns: self.build.context_paths.clone(),
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

    /// A stage's base from `--build-context NAME=…`.
    pub(super) fn context_base(
        &mut self,
        name: &str,
        pos: Pos,
        platform: &Platform,
    ) -> Result<Base, Problem> {
        match self.options.named_context(name).cloned() {
            Some(NamedContext::Image(reference)) => {
                self.image_base(&reference, pos, Some(name), platform)
            }
            Some(NamedContext::Local(local)) => Ok(Base::empty(self.named_local(&local, name))),
            Some(NamedContext::State(state)) => Ok(Base::empty(state)),
            Some(NamedContext::ImageState(state, config)) => Ok(Base {
                config: *config,
                ..Base::empty(state)
            }),
            None => unreachable!("resolution classified `{name}` as a named context"),
        }
    }

    /// A `from:` of a copy or mount: named context, stage, or image; and
    /// the name shown for it.
    pub(super) fn source_state(
        &mut self,
        from: &Located<String>,
        platform: &Platform,
    ) -> Result<State, Problem> {
        let name = &from.value;
        Ok(match self.build.source(name).clone() {
            Source::Context(_) => match self.options.named_context(name).cloned() {
                Some(NamedContext::Image(reference)) => {
                    let pinned = self.pinned(&reference, from.pos, Some(name), platform)?;
                    let meta = OpMeta::named(format!("[context {name}] {pinned}"));
                    llb::image(&pinned, platform, meta)
                }
                Some(NamedContext::Local(local)) => self.named_local(&local, name),
                Some(NamedContext::State(state) | NamedContext::ImageState(state, _)) => state,
                None => unreachable!("resolution classified `{name}` as a named context"),
            },
            Source::Scratch => State::scratch(),
            Source::Stage(stage) => self.done(&stage).state.clone(),
            Source::Variants(_) => unreachable!("resolution refuses a matrix as a mount's source"),
            Source::Image(reference) => {
                let pinned = self.pinned(&reference, from.pos, None, platform)?;
                let meta = OpMeta::named(format!("[internal] load {pinned}"));
                llb::image(&pinned, platform, meta)
            }
        })
    }

    fn pinned(
        &mut self,
        reference: &str,
        pos: Pos,
        context: Option<&str>,
        platform: &Platform,
    ) -> Result<String, Problem> {
        let base = self.image_base(reference, pos, context, platform)?;
        Ok(base.image.expect("image bases are pinned references"))
    }
}
