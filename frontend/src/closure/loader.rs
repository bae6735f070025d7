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
use super::elf::{self, Abi, Dynamic};
use super::error::ClosureError;
use super::facts::{gather, Facts, Lookup, Node, Step, Stop, Walked};
use super::ldconf;
use super::paths::{dirname, join, trim_dir};
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
struct Output {
    entries: BTreeMap<String, EntryKind>,
    objects: Vec<LoadedObject>,
    /// A library found only through the cache, and its directory.
    needs_cache: Option<(String, String)>,
}

impl Output {
    /// A path the kernel or the loader opens: its symlinks and its file.
    fn add(&mut self, walked: &Walked) {
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

/// One object of a program's load.
struct Object {
    /// The path it was opened by (its `l_name`).
    path: String,
    real: String,
    /// Names it answers to: the names it was asked for and its soname.
    names: Vec<String>,
    dynamic: Dynamic,
    /// What `$ORIGIN` means in its search paths.
    origin: String,
    /// The object whose `DT_NEEDED` loaded it (`l_loader`).
    loader: Option<usize>,
}

const MAIN: usize = 0;
const INTERPRETER: usize = 1;

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
    let info = elf::parse(lookup, &walked.real)?;
    out.add(&walked);
    let Some(interp) = info.interp else {
        return Ok(());
    };
    let platform = Platform::of(&info.abi);
    for dir in platform.system_dirs() {
        // Asked for early, like ld.so.conf: every search ends here.
        let _ = lookup.walk(&dir);
    }
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
    let interpreter = load_interpreter(lookup, exe, &interp, &info.abi, out)?;
    let mut program = Program {
        lookup,
        out,
        exe: exe.to_string(),
        abi: info.abi,
        platform,
        library_path,
        objects: vec![main, interpreter],
    };
    program.load_dependencies()
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
    let info = elf::parse(lookup, &walked.real)?;
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

/// Where a search directory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rpath,
    LibraryPath,
    Runpath,
    Conf,
    System,
}

/// A library file that the loader would use.
struct Found {
    path: String,
    walked: Walked,
    dynamic: Dynamic,
    shared_object: bool,
}

/// One executable's load in progress.
struct Program<'a, 'f> {
    lookup: &'a mut Lookup<'f>,
    out: &'a mut Output,
    exe: String,
    abi: Abi,
    platform: Platform,
    library_path: &'a [String],
    objects: Vec<Object>,
}

impl Program<'_, '_> {
    /// `DT_NEEDED`, breadth first. A name whose search is pending does not
    /// stop the others: the round fetches what all of them need.
    fn load_dependencies(&mut self) -> Step<()> {
        let mut steps = Vec::new();
        let mut next = MAIN;
        while next < self.objects.len() {
            if next != INTERPRETER {
                for name in self.objects[next].dynamic.needed.clone() {
                    steps.push(self.load_needed(&name, next));
                }
            }
            next += 1;
        }
        gather(steps).map(drop)
    }

    fn load_needed(&mut self, name: &str, requester: usize) -> Step<()> {
        if self
            .objects
            .iter()
            .any(|o| o.names.iter().any(|n| n == name))
        {
            return Ok(());
        }
        let expanded = self.expand(name, requester);
        let found = if expanded.contains('/') {
            self.open_path(&expanded, name, requester)?
        } else {
            self.search(&expanded, requester)?
        };
        self.out.add(&found.walked);
        if let Some(same) = self
            .objects
            .iter_mut()
            .find(|o| o.real == found.walked.real)
        {
            same.names.push(name.to_string());
            return Ok(());
        }
        if !found.shared_object {
            return Err(ClosureError::BadElf {
                path: found.path,
                reason: "it is an executable, not a shared library".into(),
            }
            .into());
        }
        self.out.objects.push(LoadedObject {
            executable: self.exe.clone(),
            name: name.to_string(),
            path: found.path.clone(),
            real_path: found.walked.real.clone(),
        });
        self.objects.push(Object {
            names: std::iter::once(name.to_string())
                .chain(found.dynamic.soname.clone())
                .collect(),
            origin: dirname(&found.path),
            path: found.path,
            real: found.walked.real,
            dynamic: found.dynamic,
            loader: Some(requester),
        });
        Ok(())
    }

    /// A `DT_NEEDED` with a `/`: opened as it is.
    fn open_path(&mut self, path: &str, name: &str, requester: usize) -> Step<Found> {
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            join("/", path)
        };
        match self.candidate(&path)? {
            Candidate::Usable(found) => Ok(found),
            Candidate::Absent | Candidate::OtherAbi(_) => {
                Err(self.missing(name, requester, Vec::new(), Vec::new()))
            }
        }
    }

    fn search(&mut self, name: &str, requester: usize) -> Step<Found> {
        let dirs = self.search_dirs(requester)?;
        let system = self.platform.system_dirs();
        let mut searched: Vec<String> = Vec::new();
        let mut skipped = Vec::new();
        let mut pending = false;
        for (dir, source) in dirs {
            let path = join(&dir, name);
            match self.candidate(&path) {
                Ok(Candidate::Usable(found)) if !pending => {
                    if source == Source::Conf && !system.contains(&dir) {
                        self.out.needs_cache.get_or_insert((name.to_string(), dir));
                    }
                    return Ok(found);
                }
                // An earlier candidate is still unknown: later ones are moot.
                Ok(Candidate::Usable(_)) => break,
                Ok(Candidate::Absent) => {}
                Ok(Candidate::OtherAbi(abi)) => {
                    let note = format!("`{path}` ({abi})");
                    if !skipped.contains(&note) {
                        skipped.push(note);
                    }
                }
                Err(Stop::Pending) => pending = true,
                Err(failed) if !pending => return Err(failed),
                Err(_) => break,
            }
            if !searched.contains(&dir) {
                searched.push(dir);
            }
        }
        if pending {
            return Err(Stop::Pending);
        }
        Err(self.missing(name, requester, searched, skipped))
    }

    fn missing(
        &self,
        name: &str,
        requester: usize,
        searched: Vec<String>,
        skipped: Vec<String>,
    ) -> Stop {
        ClosureError::MissingLibrary {
            name: name.to_string(),
            needed_by: self.objects[requester].path.clone(),
            searched,
            skipped,
        }
        .into()
    }

    /// The directories `ld.so` tries for a name `requester` needs, in
    /// order (see the module comment).
    fn search_dirs(&mut self, requester: usize) -> Step<Vec<(String, Source)>> {
        let mut dirs = Vec::new();
        let dynamic = &self.objects[requester].dynamic;
        if dynamic.runpath.is_none() {
            let mut searched_main = false;
            let mut at = Some(requester);
            while let Some(object) = at {
                if let Some(rpath) = &self.objects[object].dynamic.rpath {
                    dirs.extend(self.path_list(rpath, object, Source::Rpath));
                    searched_main |= object == MAIN;
                }
                at = self.objects[object].loader;
            }
            if let (false, Some(rpath)) = (searched_main, &self.objects[MAIN].dynamic.rpath) {
                dirs.extend(self.path_list(rpath, MAIN, Source::Rpath));
            }
        }
        for dir in self.library_path {
            dirs.extend(self.path_list(dir, MAIN, Source::LibraryPath));
        }
        if let Some(runpath) = &self.objects[requester].dynamic.runpath {
            dirs.extend(self.path_list(runpath, requester, Source::Runpath));
        }
        let nodeflib = self.objects[requester].dynamic.nodeflib;
        let system = self.platform.system_dirs();
        for dir in ldconf::directories(self.lookup)? {
            let under_system = system
                .iter()
                .any(|s| dir == *s || dir.starts_with(&format!("{s}/")));
            if !(nodeflib && under_system) {
                dirs.push((dir, Source::Conf));
            }
        }
        if !nodeflib {
            dirs.extend(system.into_iter().map(|d| (d, Source::System)));
        }
        Ok(dirs)
    }

    /// A `:`-separated search path of `object`, expanded; relative and
    /// empty entries dropped.
    fn path_list(&self, list: &str, object: usize, source: Source) -> Vec<(String, Source)> {
        list.split([':', ';'])
            .map(|dir| self.expand(dir, object))
            .filter(|dir| dir.starts_with('/'))
            .map(|dir| (trim_dir(&dir).to_string(), source))
            .collect()
    }

    /// `$ORIGIN`, `$LIB` and `$PLATFORM` (also in braces) substituted;
    /// a `$` that starts none of them is kept, as `ld.so` keeps it.
    fn expand(&self, text: &str, object: usize) -> String {
        let origin = &self.objects[object].origin;
        let values = [
            ("ORIGIN", origin.clone()),
            ("LIB", self.platform.lib()),
            ("PLATFORM", self.platform.at_platform.to_string()),
        ];
        let mut out = String::new();
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let token = values.iter().find_map(|(name, value)| {
                if let Some(tail) = after.strip_prefix('{').and_then(|a| a.strip_prefix(name)) {
                    tail.strip_prefix('}').map(|tail| (value, tail))
                } else {
                    let tail = after.strip_prefix(name)?;
                    (tail.is_empty() || tail.starts_with('/')).then_some((value, tail))
                }
            });
            match token {
                Some((value, tail)) => {
                    out.push_str(value);
                    rest = tail;
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// What the loader makes of a path in a search: absent (also a
    /// directory or a broken link), a library of another architecture
    /// (passed over), or a library it uses.
    fn candidate(&mut self, path: &str) -> Step<Candidate> {
        let Some(walked) = self.lookup.walk(path)? else {
            return Ok(Candidate::Absent);
        };
        if !matches!(walked.node, Node::File { .. }) {
            return Ok(Candidate::Absent);
        }
        let info = elf::parse(self.lookup, &walked.real)?;
        if !arch::compatible(&self.abi, &info.abi) {
            return Ok(Candidate::OtherAbi(arch::describe(&info.abi)));
        }
        Ok(Candidate::Usable(Found {
            path: path.to_string(),
            walked,
            dynamic: info.dynamic.unwrap_or_default(),
            shared_object: info.shared_object,
        }))
    }
}

enum Candidate {
    Absent,
    OtherAbi(String),
    Usable(Found),
}
