//! `copy` steps: FileOp copies from the context, a stage, an image or a
//! named context; `link: true` copies onto an empty layer merged on top.

use stagecraft_proto::caps::llb as cap;

use super::paths;
use super::stage::{Compiler, Dispatch};
use crate::llb::{self, Chown, CopyOptions, FileOp, State};
use crate::resolve::{clean_context_path, Source};
use crate::spec::error::Problem;
use crate::spec::{CopyStep, Located, Step};

impl Compiler<'_> {
    pub(super) fn copy(
        &mut self,
        d: &mut Dispatch,
        step: &Step,
        copy: &CopyStep,
    ) -> Result<String, Problem> {
        if copy.libraries {
            return self.copy_with_libraries(d, step, copy);
        }
        let sources: Vec<&str> = copy.sources.iter().map(|s| s.value.as_str()).collect();
        let to = copy.to.as_ref().map_or(".", |t| &t.value);
        let dest = paths::destination(
            &d.config.config.working_dir,
            to,
            sources.len() > 1 || copy.parents,
        );
        // From a matrix stage: every variant, each into its own directory.
        let from: Vec<(State, String)> = match &copy.from {
            Some(f) => match self.build.source(&f.value) {
                Source::Variants(names) => names
                    .iter()
                    .map(|v| {
                        let dir = paths::destination(&dest, v, true);
                        (self.done(v).state.clone(), dir)
                    })
                    .collect(),
                _ => vec![(self.source_state(f, &d.platform)?, dest.clone())],
            },
            None => vec![(self.context(), dest.clone())],
        };
        let values = |list: &[Located<String>]| list.iter().map(|p| p.value.clone()).collect();
        let base = CopyOptions {
            include_patterns: values(&copy.include),
            exclude_patterns: values(&copy.exclude),
            mode: copy.chmod,
            owner: owner(&copy.chown),
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
        for (source, dest) in &from {
            for src in &sources {
                if copy.parents {
                    let mut options = base.clone();
                    options.include_patterns =
                        vec![clean_context_path(src).unwrap_or_else(|| "**".to_string())];
                    op = op.copy(source, "/", dest, options);
                } else {
                    op = op.copy(source, &paths::source_path(src), dest, base.clone());
                }
            }
        }
        let mut flags = String::new();
        if let Some(from) = &copy.from {
            flags.push_str(&format!("--from={} ", from.value));
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
}

/// A `chown:` value (`user`, `uid:gid`, …), checked by resolution.
pub(super) fn owner(chown: &Option<Located<String>>) -> Option<Chown> {
    chown.as_ref().map(|c| Chown::parse(&c.value))
}
