//! End-to-end tests of `copy … libraries: true`: dynamically linked
//! programs copied onto `scratch` with exactly the libraries they load,
//! found by reading the source stage's files through the gateway.

mod support;

use support::*;

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn the_c_tool_runs_on_scratch_with_only_its_libraries() {
    let image = build_example_target("c-tool", "tiny");
    assert_eq!(
        docker(&["run", "--rm", &image, "--version"]).stdout,
        "wordfreq 1.0.0\n"
    );
    let files = image_files(&image);
    // The program, glibc and the loader (and the links that lead to them,
    // such as Debian's /lib64 -> usr/lib64): nothing else.
    assert!(files.contains(&"out/bin/wordfreq".to_string()), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("/libc.so.6")), "{files:?}");
    assert!(
        files.iter().any(|f| f.contains("ld-linux-x86-64.so.2")),
        "{files:?}"
    );
    assert!(files.len() <= 8, "{files:?}");
    let size = image_size(&image);
    assert!(size <= 5_000_000, "c-tool on scratch is {size} bytes");
    report_size(
        "c-tool (tiny, libraries: true)",
        size,
        image_size(&build_example_target("c-tool", "build")),
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn curl_and_its_library_chain_run_on_scratch() {
    let dir = TempDir::with_spec(
        r#"version: 1
stages:
  tools:
    from: debian:bookworm-slim
    steps:
      - run: apt-get update && apt-get install -y --no-install-recommends curl
        mounts:
          - {type: cache, target: /var/cache/apt, sharing: locked}
          - {type: cache, target: /var/lib/apt/lists, sharing: locked}
  app:
    from: scratch
    steps:
      - copy: /usr/bin/curl
        from: tools
        libraries: true
    image:
      entrypoint: [/usr/bin/curl]
"#,
    );
    let tag = format!("stagecraft-e2e-curl-{}", std::process::id());
    let out = buildx_build(&dir.path, &["--load", "-t", &tag]);
    assert!(out.ok, "{}", out.stderr);
    let version = docker(&["run", "--rm", &tag, "--version"]).stdout;
    assert!(version.starts_with("curl "), "{version}");
    assert!(version.contains("OpenSSL"), "{version}");
    // It talks HTTP: the loopback registry answers its API root.
    let reply = docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        &tag,
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "http://127.0.0.1:5000/v2/",
    ]);
    assert_eq!(reply.stdout, "200");
    let files = image_files(&tag);
    for library in [
        "libcurl.so.4",
        "libssl.so.3",
        "libcrypto.so.3",
        "libnghttp2.so.14",
    ] {
        assert!(
            files.iter().any(|f| f.contains(library)),
            "{library}: {files:?}"
        );
    }
    let _ = run(docker_cmd().args(["rmi", "-f", &tag]));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_program_that_is_not_elf_is_an_error_at_the_step() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  tools:\n    from: busybox:latest\n    steps:\n      - write: /usr/local/bin/hello\n        content: \"#!/bin/sh\\necho hi\\n\"\n  app:\n    from: scratch\n    steps:\n      - copy: /usr/local/bin/hello\n        from: tools\n        libraries: true\n",
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    assert!(out.stderr.contains("build.yaml:12:9"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`/usr/local/bin/hello` is not an ELF file"),
        "{}",
        out.stderr
    );
}
