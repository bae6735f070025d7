//! `docker buildx build --call=check` (and `--check`) through a real
//! daemon and the stagecraft:dev image: buildx prints the frontend's lint
//! result as it prints a Dockerfile's, and exits as it does for one.
//!
//! The docker CLI and daemon are the environment's (`DOCKER`, `DOCKER_HOST`,
//! `DOCKER_CONFIG`; see support.rs), e.g. the newest daemon:
//! `eval "$(bash scripts/e2e-newest-daemon.sh | sed 's/^/export /')"`.
//! `--call` came with buildx 0.15: with an older buildx every test here
//! says so and passes without checking anything.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{docker_cmd, repo, run, Output, TempDir};

const ALL_RULES: &str = "tests/lint/all-rules.yaml";

/// Whether the buildx in use has `--call`; when not, says why the test
/// checks nothing.
fn buildx_has_call(test: &str) -> bool {
    let help = run(docker_cmd().args(["buildx", "build", "--help"]));
    assert!(
        help.ok,
        "docker buildx build --help failed:\n{}",
        help.stderr
    );
    let has = help.stdout.contains("--call");
    if !has {
        let version = run(docker_cmd().args(["buildx", "version"])).stdout;
        eprintln!(
            "SKIPPED {test}: this buildx ({}) has no --call (buildx 0.15 added it); \
             run with DOCKER/DOCKER_HOST/DOCKER_CONFIG of a newer one",
            version.trim()
        );
    }
    has
}

/// `docker buildx build --call=CALL -f SPEC CONTEXT`.
fn call(call: &str, spec: &Path, context: &Path) -> Output {
    let mut cmd = docker_cmd();
    cmd.args(["buildx", "build", "--progress=plain"])
        .arg(format!("--call={call}"))
        .arg("-f")
        .arg(spec)
        .arg(context);
    run(&mut cmd)
}

/// (line, rule) of each rule the spec's end-of-line comments name.
fn markers(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rule = line.split("# lint: ").nth(1)?;
            Some((i as u64 + 1, rule.trim().to_string()))
        })
        .collect()
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn call_check_lists_every_rule_at_its_line() {
    if !buildx_has_call("call_check_lists_every_rule_at_its_line") {
        return;
    }
    let spec = repo().join(ALL_RULES);
    let context = spec.parent().unwrap();
    let json = call("check,format=json", &spec, context);
    assert!(
        !json.ok,
        "warnings make --call=check fail, as for a Dockerfile"
    );
    let result: serde_json::Value = serde_json::from_str(&json.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", json.stdout, json.stderr));
    let found: Vec<(u64, String)> = result["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            let line = w["location"]["ranges"][0]["start"]["line"]
                .as_u64()
                .unwrap();
            (line, w["ruleName"].as_str().unwrap().to_string())
        })
        .collect();
    let text = std::fs::read_to_string(&spec).unwrap();
    assert_eq!(found, markers(&text), "{}", json.stdout);

    let plain = call("check", &spec, context);
    assert!(!plain.ok);
    let out = &plain.stdout;
    assert!(
        out.starts_with(&format!(
            "Check complete, {} warnings have been found!\n",
            found.len()
        )),
        "{out}\n{}",
        plain.stderr
    );
    // Each warning: rule and URL, the message and hint, the marked line.
    assert!(
        out.contains(
            "\nWARNING: UnusedArg - docs/lint.md#unusedarg\narg `LEFTOVER` is declared but never used\nhint: remove it"
        ),
        "{out}"
    );
    assert!(
        out.contains("all-rules.yaml:10\n--------------------\n"),
        "{out}"
    );
    assert!(out.contains("  10 | >>>   LEFTOVER: \"x\""), "{out}");
    let rules: BTreeSet<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("WARNING: "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(rules.len(), found.len(), "{out}");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn call_check_finds_nothing_in_the_examples() {
    if !buildx_has_call("call_check_finds_nothing_in_the_examples") {
        return;
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let dir = entry.unwrap().path();
        let out = call("check", &dir.join("build.yaml"), &dir);
        assert!(
            out.ok && out.stdout == "Check complete, no warnings found.\n",
            "{}:\n{}\n{}",
            dir.display(),
            out.stdout,
            out.stderr
        );
        checked += 1;
    }
    assert!(checked >= 5);
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn check_shorthand_fails_an_invalid_spec_with_its_lines() {
    if !buildx_has_call("check_shorthand_fails_an_invalid_spec_with_its_lines") {
        return;
    }
    let dir = TempDir::with_spec("version: 1\nstages:\n  app:\n    form: scratch\n");
    let mut cmd = docker_cmd();
    cmd.args(["buildx", "build", "--progress=plain", "--check", "-f"])
        .arg(dir.path.join("build.yaml"))
        .arg(&dir.path);
    let out = run(&mut cmd);
    assert!(!out.ok);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("build.yaml:5:5: unknown key `form` (did you mean `from`?"),
        "{all}"
    );
    assert!(all.contains(" 5 | >>>     form: scratch"), "{all}");
    assert!(!all.contains("WARNING:"), "{all}");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn call_check_fails_on_warnings_made_errors_and_passes_skipped_ones() {
    if !buildx_has_call("call_check_fails_on_warnings_made_errors_and_passes_skipped_ones") {
        return;
    }
    let root = "version: 1\nstages:\n  app:\n    from: debian:bookworm-slim\n";
    let failing = TempDir::with_spec(&format!("{root}lint: {{error: true}}\n"));
    let out = call("check", &failing.path.join("build.yaml"), &failing.path);
    assert!(!out.ok);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("WARNING: RootUser - docs/lint.md#rootuser"),
        "{all}"
    );
    assert!(
        all.contains("build.yaml:6:15: 1 lint warning (RootUser) and `lint: {error: true}`"),
        "{all}"
    );
    assert!(all.contains(" 6 | >>> lint: {error: true}"), "{all}");

    let skipped = TempDir::with_spec(&format!("{root}lint: {{skip: [RootUser], error: true}}\n"));
    let out = call("check", &skipped.path.join("build.yaml"), &skipped.path);
    assert!(
        out.ok && out.stdout == "Check complete, no warnings found.\n",
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}

/// `--print=lint` (buildx 0.13 with BUILDX_EXPERIMENTAL=1; newer buildx
/// reads it as `--call=lint`) shows the warnings as BuildKit's printer
/// does: rule and URL, message and hint, the marked spec lines.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn print_lint_shows_each_warning_with_its_lines() {
    let spec = repo().join(ALL_RULES);
    let mut cmd = docker_cmd();
    cmd.env("BUILDX_EXPERIMENTAL", "1")
        .args(["buildx", "build", "--progress=plain", "--print=lint", "-f"])
        .arg(&spec)
        .arg(spec.parent().unwrap());
    let out = run(&mut cmd);
    let text = std::fs::read_to_string(&spec).unwrap();
    for (line, rule) in markers(&text) {
        let heading = format!(
            "WARNING: {rule} - docs/lint.md#{}\n",
            rule.to_ascii_lowercase()
        );
        let at = out
            .stdout
            .find(&heading)
            .unwrap_or_else(|| panic!("no `{heading}` in:\n{}\n{}", out.stdout, out.stderr));
        let shown = &out.stdout[at..];
        assert!(
            shown.contains(&format!("all-rules.yaml:{line}\n")),
            "{rule}: line {line} not shown:\n{shown}"
        );
    }
}

/// The frontend image's own Dockerfile builds for amd64 and arm64 by
/// cross-compiling; it cannot be built here (no registry for its Rust
/// base), so it is checked as far as that goes: the Dockerfile frontend's
/// `--call=check` for each platform, the base stood in for by a local
/// image.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn the_frontend_image_dockerfile_passes_check_for_amd64_and_arm64() {
    if !buildx_has_call("the_frontend_image_dockerfile_passes_check_for_amd64_and_arm64") {
        return;
    }
    for platform in ["linux/amd64", "linux/arm64"] {
        let out = run(docker_cmd().args([
            "buildx",
            "build",
            "--call=check",
            "--target",
            "image",
            "--platform",
            platform,
            "--build-context",
            "rust:1-bookworm=docker-image://debian:bookworm-slim",
            ".",
        ]));
        let printed = format!("{}{}", out.stdout, out.stderr);
        assert!(out.ok, "{platform}: {printed}");
        assert!(
            printed.contains("Check complete, no warnings found."),
            "{platform}: {printed}"
        );
    }
}
