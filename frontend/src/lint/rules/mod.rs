//! The rules, grouped by what they look at; each file's rules are
//! constants listed here in the order docs/lint.md describes them.

mod apt;
mod args;
mod env;
mod final_image;
mod ignore;
mod mounts;
mod sources;
mod stages;

use super::Rule;

/// Every rule.
pub static RULES: &[Rule] = &[
    stages::UNUSED_STAGE,
    args::UNUSED_ARG,
    env::UNDEFINED_VAR,
    env::SECRETS_IN_ARG_OR_ENV,
    apt::APT_INSTALL_RECOMMENDS,
    apt::APT_LISTS_IN_LAYER,
    apt::APT_CACHE_NOT_LOCKED,
    final_image::TOOLCHAIN_IN_FINAL_IMAGE,
    final_image::ROOT_USER,
    final_image::COPY_WHOLE_CONTEXT,
    final_image::SHELL_FORM_ENTRYPOINT,
    final_image::DUPLICATE_EXPOSE,
    sources::UNPINNED_IMAGE,
    sources::ADD_WITHOUT_CHECKSUM,
    sources::GIT_WITHOUT_REF,
    ignore::COPY_IGNORED_FILE,
    stages::WORKDIR_RELATIVE_PATH,
    stages::REDUNDANT_TARGET_PLATFORM,
    mounts::CACHE_MOUNT_NOT_WRITABLE,
];

#[cfg(test)]
pub(super) mod testing {
    //! Runs one rule on a spec given as text.

    use crate::lint::{Context, Found, Rule};
    use crate::llb::Platform;
    use crate::options::CompileOptions;

    pub fn run(rule: &Rule, yaml: &str) -> Vec<Found> {
        run_ignoring(rule, yaml, &[])
    }

    pub fn run_ignoring(rule: &Rule, yaml: &str, ignore: &[&str]) -> Vec<Found> {
        let spec = crate::spec::parse("t.yaml", yaml.as_bytes()).expect("a valid spec");
        let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
        let build = crate::resolve::resolve_all(&spec, &options).expect("it resolves");
        let ignore: Vec<String> = ignore.iter().map(|s| s.to_string()).collect();
        (rule.check)(&Context::new(&spec, &build, &ignore))
    }

    /// `line:column` of each finding.
    pub fn at(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| format!("{}:{}", f.pos.line, f.pos.column))
            .collect()
    }
}
