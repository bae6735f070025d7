//! End-to-end tests: real builds through a real Docker daemon and the
//! `stagecraft:dev` frontend image, checking what ends up in the images.
//!
//! They need the environment `make e2e-env` brings up and the image `make
//! image` builds, so they are `#[ignore]`d in a plain `cargo test`; `make
//! test` runs them with `--ignored`. Asked for without a daemon, they fail.

mod support;

use support::*;

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn go_hello_builds_a_tiny_scratch_image_that_runs() {
    let image = build_example("go-hello", &[]);
    let out = docker(&["run", "--rm", &image, "a", "b"]);
    assert_eq!(out.stdout, "hello from stagecraft\nargs: [a b]\n");

    let config = image_config(&image);
    assert_eq!(config["Entrypoint"], serde_json::json!(["/hello"]));
    assert_eq!(config["User"], "65532");
    assert_eq!(
        config["Labels"]["org.opencontainers.image.title"],
        "go-hello"
    );
    // Only the binary was selected from the builder: no compiler, no sources.
    assert_eq!(image_files(&image), vec!["hello"]);
    let size = image_size(&image);
    assert!(size < 5_000_000, "go-hello is {size} bytes");

    let builder = build_example_target("go-hello", "build");
    report_size("go-hello", size, image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn docker_build_uses_the_frontend_too() {
    let tag = "stagecraft-e2e-docker-build";
    let out = run(docker_cmd().env("DOCKER_BUILDKIT", "1").args([
        "build",
        "-q",
        "-f",
        "examples/go-hello/build.yaml",
        "-t",
        tag,
        "examples/go-hello",
    ]));
    assert!(out.ok, "docker build failed:\n{}", out.stderr);
    assert_eq!(
        docker(&["run", "--rm", tag]).stdout,
        "hello from stagecraft\n"
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn spec_errors_point_at_file_line_and_column() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    form: busybox\n    steps:\n      - run: echo hi\n",
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("build.yaml:5:5: unknown key `form`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `from`?"),
        "{}",
        out.stderr
    );
    // The offending line is shown, as buildx does for Dockerfiles.
    assert!(
        out.stderr.contains(">>>     form: busybox"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_failing_run_step_is_reported_against_its_yaml_lines() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo ok\n      - run: |\n          echo failing\n          exit 3\n",
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("[app 3/3] RUN echo failing exit 3"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exit code: 3"), "{}", out.stderr);
    assert!(out.stderr.contains("build.yaml:8"), "{}", out.stderr);
    assert!(out.stderr.contains(">>>       - run: |"), "{}", out.stderr);
    assert!(
        out.stderr.contains(">>>           exit 3"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_identical_second_build_is_fully_cached() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: date > /built-at\n      - write: /etc/greeting\n        content: hi\n",
    );
    std::fs::write(dir.path.join("data.txt"), "data").unwrap();
    let first = buildx_build(&dir.path, &[]);
    assert!(first.ok, "{}", first.stderr);
    let second = buildx_build(&dir.path, &[]);
    assert!(second.ok, "{}", second.stderr);
    for step in [
        "[app 2/3] RUN date > /built-at",
        "[app 3/3] WRITE /etc/greeting",
    ] {
        assert!(
            vertex_cached(&second.stderr, step),
            "{step} was not cached:\n{}",
            second.stderr
        );
    }
}
