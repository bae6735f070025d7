//! The simulation of glibc's `ld.so` (2.36, Debian bookworm's), run
//! against the facts learnt so far.
//!
//! Followed as `ld.so` does it (`elf/dl-load.c`, `elf/dl-deps.c`):
//! - the kernel opens `PT_INTERP`; without it (static, static-pie) the
//!   closure is the executable alone;
//! - `DT_NEEDED` breadth first, each name loaded once: a name matching a
//!   loaded object's name or `DT_SONAME` is not searched again, and a file
//!   found again under another name (same real path: the same inode) is
//!   not loaded twice, though the path it was opened by is still copied;
//! - search order for a name without `/`: `DT_RPATH` of the requesting
//!   object, then of the object that loaded it and so on up, then of the
//!   executable (all skipped when the requester has `DT_RUNPATH`);
//!   `LD_LIBRARY_PATH`; `DT_RUNPATH` of the requester only; the directories
//!   of `/etc/ld.so.conf` (what `ldconfig` puts in the cache); the built-in
//!   directories ([`Platform::system_dirs`]). `DF_1_NODEFLIB` drops the
//!   built-in ones (and cache entries under them);
//! - `$ORIGIN` (the executable's real directory; a library's directory as
//!   it was opened, symlinks unresolved), `$LIB` and `$PLATFORM`;
//! - a candidate of another class or machine is passed over; one that is
//!   no ELF file at all stops the load (as `ld.so` does: "invalid ELF
//!   header");
//! - every path opened is copied with the symlinks on the way.
//!
//! Deliberate differences:
//! - `glibc-hwcaps/x86-64-v3` (etc.) subdirectories are not searched: the
//!   baseline library in the directory itself is copied. That is correct
//!   on every CPU: `ld.so` only prefers a hwcaps variant when one exists,
//!   and falls back to the baseline. A library that exists *only* under
//!   glibc-hwcaps is reported missing (it would not load on a baseline
//!   CPU either). The legacy `tls/`, `x86_64/` subdirectories likewise;
//! - the cache is taken to list what `/etc/ld.so.conf` names. When a
//!   library comes from a directory the loader does not search by itself
//!   (`/usr/local/lib`), the image needs the cache to find it there, so
//!   `/etc/ld.so.cache` is copied too;
//! - relative or empty search path entries (relative to the working
//!   directory at run time) are skipped; a relative `DT_NEEDED` path is
//!   taken relative to `/`.

use std::collections::BTreeMap;

use super::arch::{self, Platform};
use super::elf::{self, Abi};
use super::error::ClosureError;
use super::facts::{gather, Facts, Lookup, Node, Step, Stop, Walked};
use super::ldconf;
use super::paths::dirname;
use super::program::{Object, Program};
use super::{Closure, Entry, EntryKind, LoadedObject, Poll, Request};

const LD_SO_CACHE: &str = "/etc/ld.so.cache";

pub(super) fn run(request: &Request, facts: &Facts) -> Poll {
    let mut lookup = Lookup::new(facts);
    let mut out = Output::default();
    // Asked for up front: every search ends in these directories.
    let _ = ldconf::directories(&mut lookup);
    let steps = request
        .executables
        .iter()
        .map(|exe| load_program(&mut lookup, exe, &request.library_path, &mut out))
        .collect();
    let result = gather(steps).and_then(|_| out.finish(&mut lookup));
    match result {
        Ok(closure) => Poll::Done(Ok(closure)),
        Err(Stop::Failed(e)) => Poll::Done(Err(e)),
        Err(Stop::Pending) if lookup.needs.is_empty() => Poll::Done(Err(ClosureError::Internal(
            "pending without anything to fetch".into(),
        ))),
        Err(Stop::Pending) => Poll::Needs(lookup.needs.into_iter().collect()),
    }
}

/// What the programs need, merged.
#[derive(Default)]
pub(super) struct Output {
    pub entries: BTreeMap<String, EntryKind>,
    pub objects: Vec<LoadedObject>,
    /// A library found only through the cache, and its directory.
    pub needs_cache: Option<(String, String)>,
}

impl Output {
    /// A path the kernel or the loader opens: its symlinks and its file.
    pub fn add(&mut self, walked: &Walked) {
        for (path, target) in &walked.links {
            let target = target.clone();
            self.entries
                .insert(path.clone(), EntryKind::Symlink { target });
        }
        self.entries.insert(walked.real.clone(), EntryKind::File);
    }

    fn finish(mut self, lookup: &mut Lookup) -> Step<Closure> {
        if let Some((library, dir)) = self.needs_cache.take() {
            match lookup.walk(LD_SO_CACHE)? {
                Some(cache) if matches!(cache.node, Node::File { .. }) => self.add(&cache),
                _ => return Err(ClosureError::NoLoaderCache { library, dir }.into()),
            }
        }
        Ok(Closure {
            entries: self
                .entries
                .into_iter()
                .map(|(path, kind)| Entry { path, kind })
                .collect(),
            objects: self.objects,
        })
    }
}

fn load_program(
    lookup: &mut Lookup,
    exe: &str,
    library_path: &[String],
    out: &mut Output,
) -> Step<()> {
    let not_found = || ClosureError::ExecutableNotFound {
        path: exe.to_string(),
    };
    let walked = lookup.walk(exe)?.ok_or_else(not_found)?;
    if !matches!(walked.node, Node::File { .. }) {
        return Err(ClosureError::NotAFile {
            path: exe.to_string(),
        }
        .into());
    }
    // The head (first read) names the loader and the architecture: the
    // loader and the search directories are looked up while the rest of
    // the executable is read.
    let head = elf::parse_head(lookup, &walked).map_err(|stop| through_link(stop, exe))?;
    out.add(&walked);
    let Some(interp) = head.interp else {
        return Ok(());
    };
    let platform = Platform::of(&head.abi);
    list_early(lookup, &platform);
    let interpreter = load_interpreter(lookup, exe, &interp, &head.abi, out);
    let info = match elf::parse(lookup, &walked) {
        Ok(info) => info,
        Err(stop) => return gather(vec![interpreter.map(drop), Err(stop)]).map(drop),
    };
    // A loader still being read does not hold up the search (its soname
    // only matters to libc's `DT_NEEDED`); the result waits for both.
    let (interpreter, interpreter_done) = match interpreter {
        Ok(object) => (object, Ok(())),
        Err(stop) => (Object::unread(&interp), Err(stop)),
    };
    let dynamic = info.dynamic.unwrap_or_default();
    let main = Object {
        path: exe.to_string(),
        // The executable answers to its soname only (its `l_name` is "").
        names: dynamic.soname.iter().cloned().collect(),
        dynamic,
        origin: dirname(&walked.real),
        real: walked.real,
        loader: None,
    };
    let mut program = Program {
        lookup,
        out,
        exe: exe.to_string(),
        abi: head.abi,
        platform,
        library_path,
        objects: vec![main, interpreter],
    };
    let dependencies = program.load_dependencies();
    gather(vec![interpreter_done, dependencies]).map(drop)
}

/// An executable that is not ELF, named as asked for and as found: a
/// `/usr/bin/psql` that is a link to a Perl script says so.
fn through_link(stop: Stop, exe: &str) -> Stop {
    match stop {
        Stop::Failed(ClosureError::NotElf { path, hint }) if path != exe => ClosureError::NotElf {
            path: format!("{exe}` → `{path}"),
            hint,
        }
        .into(),
        other => other,
    }
}

/// Lists the built-in directories ahead of the first search, as
/// ld.so.conf is read ahead: most searches end there.
fn list_early(lookup: &mut Lookup, platform: &Platform) {
    for dir in platform.system_dirs() {
        if let Ok(Some(walked)) = lookup.walk(&dir) {
            if walked.node == Node::Dir {
                let _ = lookup.entries(&walked.real);
            }
        }
    }
}

fn load_interpreter(
    lookup: &mut Lookup,
    exe: &str,
    interp: &str,
    abi: &Abi,
    out: &mut Output,
) -> Step<Object> {
    let missing = || ClosureError::MissingInterpreter {
        path: interp.to_string(),
        executable: exe.to_string(),
    };
    let walked = lookup.walk(interp)?.ok_or_else(missing)?;
    if !matches!(walked.node, Node::File { .. }) {
        return Err(missing().into());
    }
    let info = elf::parse(lookup, &walked)?;
    if !arch::compatible(abi, &info.abi) {
        return Err(ClosureError::WrongArch {
            path: interp.to_string(),
            executable: exe.to_string(),
            found: arch::describe(&info.abi),
            expected: arch::describe(abi),
        }
        .into());
    }
    out.add(&walked);
    out.objects.push(LoadedObject {
        executable: exe.to_string(),
        name: interp.to_string(),
        path: interp.to_string(),
        real_path: walked.real.clone(),
    });
    let dynamic = info.dynamic.unwrap_or_default();
    Ok(Object {
        path: interp.to_string(),
        names: std::iter::once(interp.to_string())
            .chain(dynamic.soname.clone())
            .collect(),
        origin: dirname(interp),
        real: walked.real,
        dynamic,
        loader: None,
    })
}
