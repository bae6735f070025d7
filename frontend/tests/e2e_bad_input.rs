//! Bad-input corpus cases through `docker buildx build` and the frontend
//! image: the message `stagecraft check` gives, with its file:line:col,
//! reaches buildx's stderr, and buildx shows the offending line.

mod support;

use support::{buildx_build, repo, TempDir};

/// One case of each layer: the YAML reader, validation across stages, and
/// a check on one step's options.
const CASES: &[&str] = &[
    "25-unknown-stage-key",
    "46-dependency-cycle-three",
    "93-parents-with-include",
];

/// The pinned `error: NN-name.yaml:L:C: message` and hint lines.
fn expected(case: &str) -> (String, Option<String>) {
    let dir = repo().join("tests").join("bad-input");
    let text = std::fs::read_to_string(dir.join(format!("{case}.expected")))
        .unwrap_or_else(|e| panic!("{case}.expected: {e}"));
    let mut lines = text.lines();
    let first = lines.next().expect("a first line").to_string();
    let hint = lines
        .next()
        .map(|l| l.trim_start().trim_start_matches("hint: ").to_string());
    (first, hint)
}

fn builds_with_the_corpus_message(case: &str) {
    let source = repo()
        .join("tests")
        .join("bad-input")
        .join(format!("{case}.yaml"));
    let spec = std::fs::read_to_string(&source).expect("the corpus case");
    assert!(
        spec.starts_with("# syntax=stagecraft:dev\n"),
        "{case} must name the frontend on its first line"
    );
    let dir = TempDir::with_spec("");
    std::fs::write(dir.path.join("build.yaml"), &spec).expect("the spec");
    let (first, hint) = expected(case);
    // `error: NN-name.yaml:L:C: message` → `build.yaml:L:C: message`
    let message = first
        .strip_prefix(&format!("error: {case}.yaml"))
        .map(|rest| format!("build.yaml{rest}"))
        .expect("the pinned line names the case's file");
    let line: usize = message.split(':').nth(1).unwrap().parse().unwrap();

    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok, "{case} built");
    assert!(
        out.stderr.contains(&message),
        "{case}: `{message}` not in:\n{}",
        out.stderr
    );
    if let Some(hint) = hint {
        assert!(
            out.stderr.contains(&hint),
            "{case}: hint `{hint}` not in:\n{}",
            out.stderr
        );
    }
    let offending = spec.lines().nth(line - 1).expect("the line exists");
    assert!(
        out.stderr.contains(&format!(">>> {offending}")),
        "{case}: line {line} not shown:\n{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_unknown_key_is_reported_through_buildx() {
    builds_with_the_corpus_message(CASES[0]);
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_dependency_cycle_is_reported_through_buildx() {
    builds_with_the_corpus_message(CASES[1]);
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn parents_with_include_is_reported_through_buildx() {
    builds_with_the_corpus_message(CASES[2]);
}

/// A spec of megabytes with an error in it: the error (not a failed
/// frontend) reaches the client, its quoted value shortened.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_error_in_a_spec_of_megabytes_reaches_buildx() {
    let dir = TempDir::with_spec(&format!(
        "version: 1\nstages:\n  app:\n    from: {}\n",
        "a".repeat(3 << 20)
    ));
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("build.yaml:5:11: invalid image reference `aaaa"),
        "{}",
        &out.stderr[out.stderr.len().saturating_sub(3_000)..]
    );
    assert!(
        out.stderr.len() < 100_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
}
