//! Platforms as `os/arch[/variant]` strings and as LLB messages.

use std::fmt;

use stagecraft_proto::pb;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

impl Platform {
    /// Parses `linux/amd64`, `linux/arm/v7`, `linux/arm64/v8`; also accepts
    /// common aliases (`x86_64`, `aarch64`) the way containerd normalizes them.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.trim().split('/');
        let os = parts.next()?.to_ascii_lowercase();
        let arch = parts.next()?.to_ascii_lowercase();
        let variant = parts.next().unwrap_or("").to_ascii_lowercase();
        if parts.next().is_some() || os.is_empty() || arch.is_empty() {
            return None;
        }
        let (architecture, variant) = match (arch.as_str(), variant.as_str()) {
            ("x86_64" | "x86-64", v) => ("amd64".to_string(), v.to_string()),
            ("aarch64", v) | ("arm64", v) => (
                "arm64".to_string(),
                if v == "v8" {
                    String::new()
                } else {
                    v.to_string()
                },
            ),
            ("i386" | "i686", v) => ("386".to_string(), v.to_string()),
            ("armhf", _) => ("arm".to_string(), "v7".to_string()),
            ("arm", "") => ("arm".to_string(), "v7".to_string()),
            (a, v) => (a.to_string(), v.to_string()),
        };
        let valid = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if !valid(&os) || !valid(&architecture) || !valid(&variant) {
            return None;
        }
        Some(Platform {
            os,
            architecture,
            variant,
        })
    }

    /// The platform this program runs on, as BuildKit would name it.
    pub fn host() -> Platform {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "arm" => "arm",
            "powerpc64" => "ppc64le",
            "s390x" => "s390x",
            "riscv64" => "riscv64",
            other => other,
        };
        Platform {
            os: "linux".to_string(),
            architecture: architecture.to_string(),
            variant: if architecture == "arm" {
                "v7".to_string()
            } else {
                String::new()
            },
        }
    }

    pub fn to_pb(&self) -> pb::Platform {
        pb::Platform {
            architecture: self.architecture.clone(),
            os: self.os.clone(),
            variant: self.variant.clone(),
            ..pb::Platform::default()
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        assert_eq!(
            Platform::parse("linux/amd64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/x86_64").unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            Platform::parse("linux/arm64/v8").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/arm").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(
            Platform::parse("linux/386").unwrap().to_string(),
            "linux/386"
        );
        assert!(Platform::parse("linux").is_none());
        assert!(Platform::parse("linux/a/b/c").is_none());
    }
}
