//! Absolute paths as strings (the gateway speaks strings; a root
//! filesystem path never needs to be a host path).

/// `dir/name`, with `/` as the root.
pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory part of a path as the loader writes it: everything
/// before the last `/` (`/` itself for a file in the root). This is
/// textual, symlinks are not resolved: it is what `$ORIGIN` means for a
/// library.
pub(super) fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// The absolute path of components (`/` for none).
pub(super) fn from_components(components: &[String]) -> String {
    if components.is_empty() {
        "/".to_string()
    } else {
        components.iter().fold(String::new(), |mut path, c| {
            path.push('/');
            path.push_str(c);
            path
        })
    }
}

/// A search directory as `ld.so` keeps it: trailing slashes removed,
/// except for the root itself.
pub(super) fn trim_dir(dir: &str) -> &str {
    let trimmed = dir.trim_end_matches('/');
    if trimmed.is_empty() && dir.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_and_splits() {
        assert_eq!(join("/", "lib"), "/lib");
        assert_eq!(join("/usr/lib", "libc.so.6"), "/usr/lib/libc.so.6");
        assert_eq!(dirname("/usr/bin/curl"), "/usr/bin");
        assert_eq!(dirname("/init"), "/");
        assert_eq!(from_components(&[]), "/");
        assert_eq!(from_components(&["usr".into(), "lib".into()]), "/usr/lib");
        assert_eq!(trim_dir("/usr/lib/"), "/usr/lib");
        assert_eq!(trim_dir("///"), "/");
    }
}
