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
        last_chars(&out.stderr, 3_000)
    );
    assert!(
        out.stderr.len() < 100_000,
        "{} bytes of stderr",
        out.stderr.len()
    );
}

/// Every corpus case, as it is, through buildx (the frontend chosen with
/// `BUILDKIT_SYNTAX`, since binary and empty cases cannot carry a syntax
/// line): the first error line `stagecraft check` gives, and its hint,
/// come back to the user unchanged.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn every_corpus_case_gives_the_same_error_through_buildx() {
    let dir = repo().join("tests").join("bad-input");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(".yaml").map(str::to_string))
        .collect();
    cases.sort();
    assert!(cases.len() >= 60, "only {} corpus cases", cases.len());
    let next = std::sync::Mutex::new(cases.iter());
    let failures = std::sync::Mutex::new(Vec::new());
    // A few at a time: each build starts a frontend container.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| loop {
                let Some(case) = next.lock().unwrap().next() else {
                    break;
                };
                if let Err(e) = same_error_through_buildx(&dir, case) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn same_error_through_buildx(dir: &std::path::Path, case: &str) -> Result<(), String> {
    let (first, hint) = expected(case);
    let message = first.strip_prefix("error: ").unwrap_or(&first);
    let out = support::run(support::docker_cmd().current_dir(dir).args([
        "buildx",
        "build",
        "--progress=plain",
        "--build-arg",
        "BUILDKIT_SYNTAX=stagecraft:dev",
        "-f",
        &format!("{case}.yaml"),
        ".",
    ]));
    if out.ok {
        return Err(format!("{case}: built"));
    }
    let tail = last_chars(&out.stderr, 2_000);
    if !out.stderr.contains(message) {
        return Err(format!("{case}: `{message}` not in:\n{tail}"));
    }
    match hint {
        Some(hint) if !out.stderr.contains(&hint) => {
            Err(format!("{case}: hint `{hint}` not in:\n{tail}"))
        }
        _ => Ok(()),
    }
}

/// The end of a long output, cut at a character boundary.
fn last_chars(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

// ------------------------------------------ failures the daemon finds

/// Builds `spec` (after the syntax line) with `flags`, expects the build
/// to fail, and every `wanted` text in buildx's output.
fn fails_showing(spec: &str, flags: &[&str], wanted: &[&str]) {
    let dir = TempDir::with_spec(spec);
    let out = buildx_build(&dir.path, flags);
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    for wanted in wanted {
        assert!(
            out.stderr.contains(wanted),
            "`{wanted}` not in:\n{}",
            out.stderr
        );
    }
}

/// An image no registry has (a registry address nothing listens on, so the
/// lookup fails at once and needs no network) is reported at the line
/// that names it, as the Dockerfile frontend marks the FROM line.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_missing_base_image_is_reported_at_the_line_that_names_it() {
    fails_showing(
        "version: 1\nstages:\n  app:\n    from: 127.0.0.1:9/nosuch:1\n    steps:\n      - run: echo hi\n",
        &[],
        &[
            "build.yaml:5:11: cannot load image `127.0.0.1:9/nosuch:1` for linux/",
            ">>>     from: 127.0.0.1:9/nosuch:1",
            "check the name, tag and platform",
        ],
    );
}

/// The same through `--build-context name=docker-image://…`: the line that
/// uses the name, and the flag that put the image there.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_missing_build_context_image_names_the_flag_and_the_line_that_uses_it() {
    fails_showing(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - copy: /x\n        from: assets\n        to: /x\n",
        &[
            "--build-context",
            "assets=docker-image://127.0.0.1:9/nosuch:1",
        ],
        &[
            "[context assets] load metadata for 127.0.0.1:9/nosuch:1",
            "build.yaml:8:15: cannot load image `127.0.0.1:9/nosuch:1`",
            "(from --build-context assets=docker-image://…)",
            ">>>         from: assets",
        ],
    );
}

/// A download that fails shows as the `add` step, with its lines.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_failing_download_is_reported_against_its_add_step() {
    fails_showing(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - add:\n          url: http://127.0.0.1:9/tool.tar.gz\n        to: /opt/\n",
        &[],
        &[
            "> [app 2/2] ADD http://127.0.0.1:9/tool.tar.gz /opt/tool.tar.gz:",
            ">>>       - add:",
            ">>>           url: http://127.0.0.1:9/tool.tar.gz",
        ],
    );
}
