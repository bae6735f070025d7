//! One executable's load: `DT_NEEDED` breadth first, each name searched
//! the way `ld.so` searches it (the rules are listed in `loader.rs`).

use super::arch::{self, Platform};
use super::elf::{self, Abi, Dynamic};
use super::error::ClosureError;
use super::facts::{gather, Lookup, Node, Step, Stop, Walked};
use super::ldconf;
use super::loader::Output;
use super::paths::{dirname, join, trim_dir};
use super::LoadedObject;

/// One object of a program's load.
pub(super) struct Object {
    /// The path it was opened by (its `l_name`).
    pub path: String,
    pub real: String,
    /// Names it answers to: the names it was asked for and its soname.
    pub names: Vec<String>,
    pub dynamic: Dynamic,
    /// What `$ORIGIN` means in its search paths.
    pub origin: String,
    /// The object whose `DT_NEEDED` loaded it (`l_loader`).
    pub loader: Option<usize>,
}

impl Object {
    /// The loader while its file is still being read.
    pub fn unread(path: &str) -> Object {
        Object {
            path: path.to_string(),
            real: String::new(),
            names: vec![path.to_string()],
            dynamic: Dynamic::default(),
            origin: dirname(path),
            loader: None,
        }
    }
}

pub(super) const MAIN: usize = 0;
pub(super) const INTERPRETER: usize = 1;

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
pub(super) struct Program<'a, 'f> {
    pub lookup: &'a mut Lookup<'f>,
    pub out: &'a mut Output,
    pub exe: String,
    pub abi: Abi,
    pub platform: Platform,
    pub library_path: &'a [String],
    pub objects: Vec<Object>,
}

impl Program<'_, '_> {
    /// `DT_NEEDED`, breadth first. A name whose search is pending does not
    /// stop the others: the round fetches what all of them need.
    pub fn load_dependencies(&mut self) -> Step<()> {
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
        let info = elf::parse(self.lookup, &walked)?;
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
