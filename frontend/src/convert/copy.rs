//! COPY and ADD → `copy` steps (context, stage or image sources), `add`
//! steps (URLs, git repositories) and `write` steps (heredocs).

use super::assemble::{Dest, OutStep, StepKind};
use super::mounts::{context_relative, octal};
use super::parse::{heredoc_word, Flag, Heredoc, Instruction};
use super::state::resolve;
use super::words::{expand, json_array, Mode, Value};
use super::yaml::Node;
use super::{Converter, StageBuild};
use crate::spec::error::Problem;

const COPY_FLAGS: &[(&str, bool)] = &[
    ("from", true),
    ("chown", true),
    ("chmod", true),
    ("link", false),
    ("parents", false),
    ("exclude", true),
];
const ADD_FLAGS: &[(&str, bool)] = &[
    ("chown", true),
    ("chmod", true),
    ("link", false),
    ("checksum", true),
    ("keep-git-dir", false),
    ("exclude", true),
];

/// A COPY's or ADD's flags and destination, expanded.
struct Copy {
    add: bool,
    dest: Value,
    from: Option<String>,
    chown: Option<String>,
    chmod: Option<String>,
    link: bool,
    parents: bool,
    excludes: Vec<String>,
    checksum: Option<String>,
    keep_git_dir: bool,
    /// More than one source: a download goes into `dest` as a directory.
    many: bool,
}

impl Converter {
    pub fn copy(
        &mut self,
        stage: &mut StageBuild,
        i: &Instruction,
        add: bool,
    ) -> Result<(), Problem> {
        let (copy, sources) = self.copy_options(stage, i, add)?;
        let mut local = Vec::new();
        let mut steps = Vec::new();
        for source in &sources {
            if let Some((name, _, _)) = heredoc_word(source) {
                let doc = i.heredocs.iter().find(|d| d.name == name).ok_or_else(|| {
                    Problem::new(i.rest_pos, format!("no heredoc named `{name}`"))
                        .hint("check the heredoc's name")
                })?;
                steps.push(self.heredoc_file(stage, i, doc, &copy)?);
                continue;
            }
            let value = self.expand_at(source, &stage.state, i.rest_pos, false)?;
            match self.remote_source(stage, i, &value, &copy)? {
                Some(step) => steps.push(step),
                None => local.push(self.local_source(i, &value, &copy)?),
            }
        }
        if !local.is_empty() {
            steps.insert(0, copy_step(stage, i, &copy, &local));
        }
        for (n, kind) in steps.into_iter().enumerate() {
            if n == 0 {
                stage.out.push_step(i, kind);
            } else {
                let pos = i.pos;
                stage.out.steps.push(OutStep {
                    comments: Vec::new(),
                    pos,
                    kind,
                });
            }
        }
        Ok(())
    }

    /// The flags, destination and (unexpanded) sources of a COPY or ADD.
    fn copy_options(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        add: bool,
    ) -> Result<(Copy, Vec<String>), Problem> {
        let flags = self.flags(i, if add { ADD_FLAGS } else { COPY_FLAGS })?;
        let flag = |name: &str| flags.iter().find(|f| f.name == name).copied();
        let args = match json_array(&i.rest).map_err(|m| Problem::new(i.rest_pos, m))? {
            Some(list) => list,
            None => i.rest.split_whitespace().map(str::to_string).collect(),
        };
        let Some((dest_word, sources)) = args.split_last().filter(|(_, s)| !s.is_empty()) else {
            return Err(Problem::new(
                i.pos,
                format!("{} needs a source and a destination", i.keyword),
            )
            .hint(format!("write `{} SOURCE… DEST`", i.keyword)));
        };
        let vars = &stage.state;
        let dest = self.expand_at(dest_word, vars, i.rest_pos, false)?;
        let dest = match dest.literal().as_deref() {
            Some("." | "") => Value::lit("./"),
            _ => dest,
        };
        let text_of = |f: &Flag| f.value.clone().unwrap_or_default();
        let chown = flag("chown").map(|f| self.owner(stage, f)).transpose()?;
        let chmod = flag("chmod").map(chmod_bits).transpose()?;
        let from = match flag("from") {
            Some(f) => {
                let value = self.expand_at(&text_of(f), vars, f.pos, false)?;
                Some(self.source_name(&self.literal(&value, f.pos, "--from")?, f.pos)?)
            }
            None => None,
        };
        let copy = Copy {
            add,
            dest,
            from,
            // The Dockerfile frontend links (merges) only copies without --chmod.
            link: bool_flag(flag("link"))? && chmod.is_none(),
            chown,
            chmod,
            parents: bool_flag(flag("parents"))?,
            excludes: flags
                .iter()
                .filter(|f| f.name == "exclude")
                .map(|f| text_of(f))
                .collect(),
            checksum: flag("checksum").map(text_of),
            keep_git_dir: bool_flag(flag("keep-git-dir"))?,
            many: sources.len() > 1,
        };
        Ok((copy, sources.to_vec()))
    }

    /// `--chown`, expanded and checked.
    fn owner(&self, stage: &StageBuild, f: &Flag) -> Result<String, Problem> {
        let text = f.value.clone().unwrap_or_default();
        let owner = self.expand_at(&text, &stage.state, f.pos, false)?;
        if owner
            .literal()
            .is_some_and(|t| !super::config::valid_owner(&t))
        {
            return Err(Problem::new(f.pos, format!("invalid owner `{text}`"))
                .hint("write `user`, `uid`, `user:group` or `uid:gid`"));
        }
        Ok(owner.spec_text())
    }

    /// A source read from the context, a stage or an image.
    fn local_source(
        &mut self,
        i: &Instruction,
        value: &Value,
        copy: &Copy,
    ) -> Result<String, Problem> {
        let text = value.spec_text();
        if copy.parents && text.contains("/./") {
            return Err(Problem::new(
                i.rest_pos,
                format!("`{text}`: a `/./` pivot cannot be written in a spec"),
            )
            .hint("copy from the pivot directory with --parents instead"));
        }
        if copy.from.is_some() {
            return Ok(text);
        }
        if copy.add {
            if is_archive(&text) {
                return Err(Problem::new(i.rest_pos, format!("ADD unpacks the archive `{text}`, which a spec cannot do"))
                    .hint("unpack it in a RUN step (e.g. with a bind mount of the context and tar), or add the unpacked files to the context"));
            }
            self.warn(i.pos, format!("ADD of the local path `{text}` becomes a copy: ADD would unpack it if it were a tar archive, a copy does not"));
        }
        Ok(context_relative(&text))
    }

    /// An absolute destination, for steps that take no relative one.
    fn absolute_dest(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        dest: &Value,
    ) -> Result<Value, Problem> {
        resolve(stage.state.workdir.as_ref(), dest).ok_or_else(|| {
            Problem::new(
                i.rest_pos,
                "a relative destination on an image whose working directory is unknown",
            )
            .hint("write an absolute destination")
        })
    }

    /// `COPY <<NAME dest`: a `write` step (the Dockerfile makes the file
    /// 0644 and copies it, creating missing directories for the owner).
    fn heredoc_file(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        doc: &Heredoc,
        copy: &Copy,
    ) -> Result<StepKind, Problem> {
        let mut path = self.absolute_dest(stage, i, &copy.dest)?.spec_text();
        if path.ends_with('/') {
            path.push_str(&doc.name);
        }
        let data = if doc.chomp {
            chomp(&doc.content)
        } else {
            doc.content.clone()
        };
        let content = if doc.expand {
            let mode = Mode {
                keep_quotes: true,
                escape: '\\',
                base_refs: false,
            };
            expand(&data, &stage.state, mode)
                .map_err(|m| {
                    Problem::new(i.pos, m)
                        .hint("quote the heredoc's name (<<'EOF') to keep its text as written")
                })?
                .spec_text()
        } else {
            data.replace('$', "$$")
        };
        let mut steps = Vec::new();
        if let (Some(owner), Some((parent, _))) = (&copy.chown, path.rsplit_once('/')) {
            if !parent.is_empty() {
                // A copy creates missing directories owned by --chown; a
                // write step would make them root's.
                let mut mkdir = Node::map();
                mkdir.set("mkdir", Node::str(parent));
                mkdir.set("chown", Node::str(owner));
                steps.push(mkdir);
            }
        }
        let mut write = Node::map();
        write.set("write", Node::str(path));
        write.set("content", Node::str(content));
        write.set("mode", Node::str(copy.chmod.as_deref().unwrap_or("0644")));
        if let Some(owner) = &copy.chown {
            write.set("chown", Node::str(owner));
        }
        steps.push(write);
        Ok(StepKind::Nodes(steps))
    }

    /// ADD of a URL or a git repository: an `add` step; `None` for other
    /// sources. Which it is, the Dockerfile frontend tells after expanding
    /// the source; here its args are at their defaults.
    fn remote_source(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        value: &Value,
        copy: &Copy,
    ) -> Result<Option<StepKind>, Problem> {
        if !copy.add || copy.from.is_some() {
            return Ok(None);
        }
        let kind = self.with_defaults(value);
        let src = value.spec_text();
        let (source, to) = if git_source(&kind).is_some() {
            self.git_source(stage, i, &src, &kind, copy)?
        } else if kind.starts_with("http://") || kind.starts_with("https://") {
            self.url_source(stage, i, &src, &kind, copy)?
        } else {
            return Ok(None);
        };
        let mut node = Node::map();
        node.set("add", source);
        node.set("to", Node::str(to));
        for (key, value) in [("chown", &copy.chown), ("chmod", &copy.chmod)] {
            if let Some(v) = value {
                node.set(key, Node::str(v));
            }
        }
        Ok(Some(StepKind::Node(node)))
    }
}

impl Converter {
    /// `add: {git, ref, keep_git_dir}` and its destination.
    fn git_source(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        src: &str,
        kind: &str,
        copy: &Copy,
    ) -> Result<(Node, String), Problem> {
        let mut source = Node::map();
        source.set(
            "git",
            Node::str(src.split_once('#').map_or(src, |(r, _)| r)),
        );
        if let Some((_, Some(fragment))) = git_source(kind) {
            let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment.as_str(), ""));
            if !subdir.is_empty() {
                return Err(Problem::new(
                    i.rest_pos,
                    "a git subdirectory (`#ref:dir`) cannot be written in a spec",
                )
                .hint("add the whole repository and copy the directory from it"));
            }
            if !reference.is_empty() {
                source.set("ref", Node::str(reference));
            }
        }
        if copy.keep_git_dir {
            source.set("keep_git_dir", Node::Raw("true".into()));
        }
        Ok((
            source,
            self.absolute_dest(stage, i, &copy.dest)?.spec_text(),
        ))
    }

    /// `add: {url, checksum}` and its destination: a file named as the
    /// Dockerfile frontend names downloads when it goes into a directory.
    fn url_source(
        &self,
        stage: &StageBuild,
        i: &Instruction,
        src: &str,
        kind: &str,
        copy: &Copy,
    ) -> Result<(Node, String), Problem> {
        let mut source = Node::map();
        source.set("url", Node::str(src));
        if let Some(c) = &copy.checksum {
            let hex = c.strip_prefix("sha256:").unwrap_or("");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Problem::new(
                    i.pos,
                    format!("checksum `{c}` cannot be written in a spec"),
                )
                .hint("write `sha256:` followed by 64 hex digits"));
            }
            source.set("checksum", Node::str(c));
        }
        let mut to = self.absolute_dest(stage, i, &copy.dest)?.spec_text();
        if to.ends_with('/') || copy.many {
            if !to.ends_with('/') {
                to.push('/');
            }
            to.push_str(&url_file_name(kind));
        }
        Ok((source, to))
    }
}

/// The `copy` step for the sources read from the context, a stage or an
/// image; its `to` is decided with the stage's working directory.
fn copy_step(stage: &StageBuild, i: &Instruction, copy: &Copy, sources: &[String]) -> StepKind {
    let first = if sources.len() == 1 {
        Node::str(&sources[0])
    } else {
        Node::strs(sources)
    };
    let mut entries = vec![("copy".to_string(), first)];
    if let Some(f) = &copy.from {
        entries.push(("from".into(), Node::str(f)));
    }
    let to_at = entries.len();
    for (key, value) in [("chown", &copy.chown), ("chmod", &copy.chmod)] {
        if let Some(v) = value {
            entries.push((key.into(), Node::str(v)));
        }
    }
    for (key, set) in [("link", copy.link), ("parents", copy.parents)] {
        if set {
            entries.push((key.into(), Node::Raw("true".into())));
        }
    }
    if !copy.excludes.is_empty() {
        entries.push(("exclude".into(), Node::strs(&copy.excludes)));
    }
    let dest = Dest {
        written: copy.dest.clone(),
        absolute: resolve(stage.state.workdir.as_ref(), &copy.dest),
        workdir: stage.state.workdir.clone(),
        pos: i.rest_pos,
    };
    StepKind::Copy {
        entries,
        to_at,
        dest,
    }
}

/// `--chmod`, as octal bits.
fn chmod_bits(f: &Flag) -> Result<String, Problem> {
    octal(f.value.as_deref().unwrap_or("")).ok_or_else(|| {
        Problem::new(f.pos, "--chmod must be octal permission bits here")
            .hint("write e.g. --chmod=0755")
    })
}

fn bool_flag(flag: Option<&Flag>) -> Result<bool, Problem> {
    let Some(f) = flag else { return Ok(false) };
    match f.value.as_deref() {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(
            Problem::new(f.pos, format!("`--{}={v}` is not true or false", f.name))
                .hint(format!("write `--{}`", f.name)),
        ),
    }
}

/// BuildKit's `ChompHeredocContent`: leading tabs off every line.
pub fn chomp(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}
/// The file name the Dockerfile frontend gives a download.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = path.split_once("://").map_or("", |(_, rest)| rest);
    let path = path.split_once('/').map_or("", |(_, p)| p);
    match path.trim_end_matches('/').rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." => name.to_string(),
        _ => "__unnamed__".to_string(),
    }
}

/// A git source as BuildKit 0.13 recognizes one: (remote, fragment).
fn git_source(src: &str) -> Option<(String, Option<String>)> {
    let (remote, fragment) = match src.split_once('#') {
        Some((r, f)) => (r, Some(f.to_string())),
        None => (src, None),
    };
    let is_git = remote.starts_with("git://")
        || remote.starts_with("ssh://")
        || remote.starts_with("git@")
        || ((remote.starts_with("http://") || remote.starts_with("https://"))
            && remote.ends_with(".git"));
    is_git.then(|| (remote.to_string(), fragment))
}

fn is_archive(path: &str) -> bool {
    let lower = path.to_lowercase();
    [
        ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tbz2", ".tar.xz", ".txz", ".tar.zst",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_downloads_and_recognizes_git() {
        assert_eq!(url_file_name("https://x.org/a/b.tgz?x=1"), "b.tgz");
        assert_eq!(url_file_name("https://x.org"), "__unnamed__");
        assert_eq!(url_file_name("https://x.org/"), "__unnamed__");
        assert!(git_source("https://x.org/r.git#v1").is_some());
        assert!(git_source("https://x.org/r.tar").is_none());
        assert_eq!(chomp("\ta\n\t\tb\n"), "a\nb\n");
    }
}
