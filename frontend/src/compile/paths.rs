//! Paths as the compiler writes them into ops: against the working
//! directory, with Dockerfile rules for destinations.

/// Progress names are one line, like the Dockerfile frontend's.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub fn non_empty_or_root(dir: &str) -> String {
    if dir.is_empty() {
        "/".to_string()
    } else {
        dir.to_string()
    }
}

/// `path` against the working directory (absolute paths win).
pub fn resolve(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!(
            "{}/{}",
            non_empty_or_root(workdir).trim_end_matches('/'),
            path
        )
    };
    normalize(&joined, path.ends_with('/') && path != "/")
}

/// An absolute path with `.`, `..` and `//` worked out as a shell would,
/// and a trailing `/` when `keep_slash`.
pub fn normalize(path: &str, keep_slash: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let mut out = format!("/{}", parts.join("/"));
    if keep_slash && out != "/" {
        out.push('/');
    }
    out
}

/// The directory holding `path`, unless that is `/`.
pub fn parent_dir(path: &str) -> Option<&str> {
    path.trim_end_matches('/')
        .rsplit_once('/')
        .map(|(parent, _)| parent)
        .filter(|p| !p.is_empty())
}

/// A copy destination; a directory (trailing `/`) when several sources go
/// there or the user wrote a trailing `/` or `.`.
pub fn destination(workdir: &str, to: &str, force_dir: bool) -> String {
    let as_dir = force_dir || to.ends_with('/') || to == "." || to.ends_with("/.");
    let path = resolve(workdir, to);
    if as_dir && !path.ends_with('/') {
        format!("{path}/")
    } else {
        path
    }
}

/// Source paths are relative to the source's root.
pub fn source_path(src: &str) -> String {
    match crate::resolve::clean_context_path(src) {
        Some(p) => format!("/{p}"),
        None => "/".to_string(),
    }
}

pub fn url_filename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path.rsplit('/').next().unwrap_or("");
    if name.is_empty()
        || path.ends_with("//")
        || !path.contains("://")
        || path.split("://").nth(1).is_some_and(|r| !r.contains('/'))
    {
        "index.html".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths_like_a_shell() {
        assert_eq!(resolve("", "app"), "/app");
        assert_eq!(resolve("/src", "./out/"), "/src/out/");
        assert_eq!(resolve("/src", "/abs"), "/abs");
        assert_eq!(resolve("/src/a", "../b"), "/src/b");
        assert_eq!(destination("/src", ".", false), "/src/");
        assert_eq!(destination("/", "/app", false), "/app");
        assert_eq!(destination("/", "/app", true), "/app/");
        assert_eq!(source_path("./go.mod"), "/go.mod");
        assert_eq!(parent_dir("/etc/app/conf"), Some("/etc/app"));
        assert_eq!(parent_dir("/conf"), None);
        assert_eq!(source_path("."), "/");
        assert_eq!(url_filename("https://x.org/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_filename("https://x.org"), "index.html");
    }
}
