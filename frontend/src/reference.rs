//! Image references (`debian:bookworm-slim`, `ghcr.io/o/app:1@sha256:…`):
//! validation and the normalized form BuildKit's image source expects.

use std::fmt;

/// A parsed, normalized image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (with port), e.g. `docker.io`.
    pub domain: String,
    /// Repository path, e.g. `library/debian`.
    pub path: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` when pinned.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{reference}`: {reason}")]
pub struct RefError {
    pub reference: String,
    pub reason: String,
}

const DEFAULT_DOMAIN: &str = "docker.io";

impl ImageRef {
    pub fn parse(text: &str) -> Result<ImageRef, RefError> {
        let fail = |reason: &str| RefError {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        if text.len() > 512 {
            return Err(fail("it is longer than 512 characters"));
        }
        let (name_and_tag, digest) = match text.split_once('@') {
            Some((n, d)) => (
                n,
                Some(
                    parse_digest(d)
                        .ok_or_else(|| fail("the digest must be `sha256:` and 64 hex digits"))?,
                ),
            ),
            None => (text, None),
        };
        // A `:` after the last `/` starts the tag; one before it is a port.
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].find(':') {
            Some(i) => (
                &name_and_tag[..last_slash + i],
                Some(&name_and_tag[last_slash + i + 1..]),
            ),
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            if !valid_tag(tag) {
                return Err(fail(
                    "a tag is 1–128 of [A-Za-z0-9_.-] and cannot start with `.` or `-`",
                ));
            }
        }
        let (domain, path) = split_domain(name);
        if path.split('/').any(|c| !valid_path_component(c)) {
            return Err(fail(
                "repository names are lowercase letters, digits and separators (`.`, `_`, `__`, `-`), split by `/`",
            ));
        }
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        {
            return Err(fail("the registry host has invalid characters"));
        }
        Ok(ImageRef {
            domain,
            path,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The same image pinned to `digest` (tag kept for readability).
    pub fn pinned(&self, digest: &str) -> ImageRef {
        ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
    }
}

/// Fully qualified, with `:latest` when neither tag nor digest is given.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.domain, self.path)?;
        match (&self.tag, &self.digest) {
            (Some(tag), _) => write!(f, ":{tag}")?,
            (None, None) => write!(f, ":latest")?,
            (None, Some(_)) => {}
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// The key a `--build-context` replacing `name` is found under, as the
/// Dockerfile frontend looks it up: image references in their short form
/// without `:latest` (`docker.io/library/busybox:latest` → `busybox`), so
/// that `--build-context busybox=…` replaces `from: busybox:latest`. Names
/// that are not image references (stage names are) are kept as they are.
pub fn context_key(name: &str) -> String {
    let Ok(r) = ImageRef::parse(name) else {
        return name.to_string();
    };
    let mut key = match (r.domain.as_str(), r.path.strip_prefix("library/")) {
        (DEFAULT_DOMAIN, Some(official)) if !official.contains('/') => official.to_string(),
        (DEFAULT_DOMAIN, _) => r.path.clone(),
        (domain, _) => format!("{domain}/{}", r.path),
    };
    match (&r.tag, &r.digest) {
        (Some(tag), None) if tag == "latest" => {}
        (Some(tag), _) => key.push_str(&format!(":{tag}")),
        (None, _) => {}
    }
    if let Some(digest) = &r.digest {
        key.push_str(&format!("@{digest}"));
    }
    key
}

fn split_domain(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        Some(_) => (DEFAULT_DOMAIN.to_string(), name.to_string()),
        None => (DEFAULT_DOMAIN.to_string(), format!("library/{name}")),
    }
}

fn parse_digest(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then(|| text.to_string())
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn valid_path_component(c: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = c.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    // separators: `.`, `_`, `__`, or one or more `-`
    let mut prev_sep = String::new();
    for &b in bytes {
        if alnum(b) {
            if !matches!(prev_sep.as_str(), "" | "." | "_" | "__")
                && !prev_sep.bytes().all(|s| s == b'-')
            {
                return false;
            }
            prev_sep.clear();
        } else if b"._-".contains(&b) {
            prev_sep.push(b as char);
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_docker_hub_names() {
        let r = ImageRef::parse("debian:bookworm-slim").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/debian:bookworm-slim");
        assert_eq!(
            ImageRef::parse("golang").unwrap().to_string(),
            "docker.io/library/golang:latest"
        );
        assert_eq!(
            ImageRef::parse("user/app:1").unwrap().to_string(),
            "docker.io/user/app:1"
        );
        let r = ImageRef::parse("localhost:5000/a/b-c_d.e:v1.2").unwrap();
        assert_eq!(r.domain, "localhost:5000");
        assert_eq!(r.path, "a/b-c_d.e");
    }

    #[test]
    fn pins_digests() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse("alpine").unwrap().pinned(&d);
        assert_eq!(r.to_string(), format!("docker.io/library/alpine@{d}"));
        assert!(ImageRef::parse(&format!("alpine@{d}")).is_ok());
    }

    #[test]
    fn context_keys_are_short_names_without_latest() {
        for (name, key) in [
            ("busybox", "busybox"),
            ("busybox:latest", "busybox"),
            ("docker.io/library/busybox:latest", "busybox"),
            ("debian:bookworm-slim", "debian:bookworm-slim"),
            ("docker.io/user/app:1", "user/app:1"),
            ("example.com/base:1.0", "example.com/base:1.0"),
            ("localhost:5000/a", "localhost:5000/a"),
            ("my-stage", "my-stage"),
            ("Not A Ref", "Not A Ref"),
        ] {
            assert_eq!(context_key(name), key, "{name}");
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Debian",
            "debian:",
            "a//b",
            "debian:-x",
            "x@sha256:12",
            "a b",
            "-a",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
