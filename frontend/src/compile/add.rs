//! `add` steps: a download or a git clone, copied into the stage.

use super::copy::owner;
use super::paths;
use super::stage::{Compiler, Dispatch};
use crate::llb::{self, CopyOptions, FileOp, OpMeta, State};
use crate::spec::error::Problem;
use crate::spec::{AddSource, AddStep, Step};

impl Compiler<'_> {
    pub(super) fn add(
        &mut self,
        d: &mut Dispatch,
        step: &Step,
        add: &AddStep,
    ) -> Result<String, Problem> {
        let to = add.to.as_ref().map_or(".", |t| &t.value);
        let workdir = &d.config.config.working_dir;
        let options = CopyOptions {
            mode: add.chmod,
            owner: owner(&add.chown),
            ..CopyOptions::default()
        };
        // The source is made once the step's name is known: the download
        // or clone carries the step's name and lines, as the Dockerfile
        // frontend's ADD does, because that is where a bad URL, checksum
        // or ref fails, and the user must see which step it is.
        type MakeSource<'s> = Box<dyn FnOnce(OpMeta) -> State + 's>;
        let (make_source, src, shown, dest): (MakeSource, _, _, _) = match &add.source {
            AddSource::Url { url, checksum } => {
                let filename = paths::url_filename(&url.value);
                let dest = paths::destination(workdir, to, false);
                let dest = if dest.ends_with('/') {
                    format!("{dest}{filename}")
                } else {
                    dest
                };
                let src = format!("/{filename}");
                let checksum = checksum.as_ref().map(|c| c.value.as_str());
                let make = move |meta| llb::http(&url.value, checksum, Some(&filename), meta);
                (Box::new(make), src, url.value.clone(), dest)
            }
            AddSource::Git {
                remote,
                reference,
                keep_git_dir,
            } => {
                let dest = paths::destination(workdir, to, true);
                let reference = reference.as_ref().map(|r| r.value.as_str());
                let shown = match reference {
                    Some(r) => format!("{}#{r}", remote.value),
                    None => remote.value.clone(),
                };
                let keep = *keep_git_dir;
                let make = move |meta| llb::git(&remote.value, reference, keep, meta);
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
}
