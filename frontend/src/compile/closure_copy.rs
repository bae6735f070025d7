//! `copy … libraries: true`: programs with every shared library they need,
//! each at its own path. The files were found beforehand on the daemon
//! (see `frontend::closures`); compiling them is one file op.

use super::stage::{Compiler, Dispatch};
use crate::closure;
use crate::spec::error::Problem;
use crate::spec::{CopyStep, Step};

impl Compiler<'_> {
    pub(super) fn copy_with_libraries(
        &mut self,
        d: &mut Dispatch,
        step: &Step,
        copy: &CopyStep,
    ) -> Result<String, Problem> {
        let from = copy.from.as_ref().expect("validation requires `from`");
        let key = (d.stage.name.clone(), step.pos);
        let Some(found) = self.closures.0.get(&key) else {
            return Err(Problem::new(
                step.pos,
                format!(
                    "`libraries: true` needs the files of `{}`, which exist only on the daemon",
                    from.value
                ),
            )
            .hint("build with `docker buildx build` (the frontend finds the libraries there), or copy the libraries explicitly"));
        };
        let source = self.source_state(from, &d.platform)?;
        let programs: Vec<&str> = copy.sources.iter().map(|s| s.value.as_str()).collect();
        let text = format!(
            "COPY --from={} --libraries {} ({} files)",
            from.value,
            programs.join(" "),
            found.entries.len()
        );
        let meta = self.meta(d, text.clone(), step.pos, step.lines.end);
        d.state = closure::copy_closure(&d.state, &source, found, meta);
        Ok(text)
    }
}
