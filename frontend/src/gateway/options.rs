//! Frontend options, as BuildKit passes them: one environment variable
//! `BUILDKIT_FRONTEND_OPT_<n>=<key>=<value>` per option.

use std::collections::BTreeMap;

const PREFIX: &str = "BUILDKIT_FRONTEND_OPT_";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontendOptions {
    opts: BTreeMap<String, String>,
}

impl FrontendOptions {
    /// Reads the options of this process.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::vars())
    }

    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let opts = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .map(|(_, v)| match v.split_once('=') {
                Some((key, value)) => (key.to_string(), value.to_string()),
                None => (v, String::new()),
            })
            .collect();
        FrontendOptions { opts }
    }

    pub fn from_map(opts: BTreeMap<String, String>) -> Self {
        FrontendOptions { opts }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.opts.get(key).map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.opts.contains_key(key)
    }

    /// Every option `prefix<name>=value`, as `(name, value)`
    /// (`build-arg:`, `label:`, `context:`).
    pub fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.opts
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|name| (name, v.as_str())))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.opts.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbered_variables() {
        let o = FrontendOptions::from_vars([
            (
                "BUILDKIT_FRONTEND_OPT_0".to_string(),
                "filename=build.yaml".to_string(),
            ),
            (
                "BUILDKIT_FRONTEND_OPT_1".to_string(),
                "build-arg:A=x=y".to_string(),
            ),
            (
                "BUILDKIT_FRONTEND_OPT_2".to_string(),
                "no-cache".to_string(),
            ),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        assert_eq!(o.get("filename"), Some("build.yaml"));
        assert_eq!(
            o.with_prefix("build-arg:").collect::<Vec<_>>(),
            vec![("A", "x=y")]
        );
        assert_eq!(o.get("no-cache"), Some(""));
        assert!(!o.contains("PATH"));
    }
}
