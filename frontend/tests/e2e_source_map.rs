//! Build-time failures show the spec lines of the step that failed, as the
//! Dockerfile frontend shows its Dockerfile lines: BuildKit attaches the
//! source map of the Definition to the error of the failing vertex.
//!
//! On BuildKit ≥ 0.18 (dockerd 28) the solver re-encodes every op with Go's
//! protobuf and names the vertex by the digest of those bytes, while the
//! source map keeps the frontend's digests: an op that Stagecraft encoded
//! differently from Go lost its lines (`stagecraft_proto::canonical`). The
//! suite runs on both daemons (`make e2e`), so this holds on both.

mod support;

use support::*;

/// Builds `spec` (after the syntax line), expects it to fail and buildx to
/// show each of `wanted`.
fn fails_showing(spec: &str, wanted: &[&str]) {
    let dir = TempDir::with_spec(spec);
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    for wanted in wanted {
        assert!(
            out.stderr.contains(wanted),
            "`{wanted}` not in:\n{}",
            out.stderr
        );
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_failing_run_copy_and_add_step_each_show_their_yaml_lines() {
    // Line 1 is the syntax line; the failing step starts on line 8.
    let stage =
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo ok\n";
    fails_showing(
        &format!("{stage}      - run: |\n          echo failing\n          exit 3\n"),
        &[
            "exit code: 3",
            "build.yaml:8",
            ">>>       - run: |",
            ">>>           echo failing",
            ">>>           exit 3",
        ],
    );
    fails_showing(
        &format!("{stage}      - copy: missing/file.txt\n        to: /x\n"),
        &[
            "missing/file.txt",
            "build.yaml:8",
            ">>>       - copy: missing/file.txt",
            ">>>         to: /x",
        ],
    );
    fails_showing(
        &format!("{stage}      - add:\n          url: http://127.0.0.1:9/tool.tar.gz\n        to: /opt/\n"),
        &[
            "127.0.0.1:9",
            "build.yaml:8",
            ">>>       - add:",
            ">>>           url: http://127.0.0.1:9/tool.tar.gz",
            ">>>         to: /opt/",
        ],
    );
}

/// What the above matches: the Dockerfile frontend on the same daemon.
#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_failing_dockerfile_run_shows_its_lines_on_the_same_daemon() {
    let dir = TempDir::with_spec("");
    std::fs::write(
        dir.path.join("Dockerfile"),
        "FROM busybox:latest\nRUN echo ok\nRUN echo failing && exit 3\n",
    )
    .unwrap();
    let out = run(docker_cmd()
        .args(["buildx", "build", "--progress=plain"])
        .arg(&dir.path));
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    for wanted in ["Dockerfile:3", ">>> RUN echo failing && exit 3"] {
        assert!(
            out.stderr.contains(wanted),
            "`{wanted}` not in:\n{}",
            out.stderr
        );
    }
}
