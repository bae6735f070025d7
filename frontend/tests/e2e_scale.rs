//! A build whose Definition is larger than the 4 MiB one request may carry
//! to BuildKit 0.13 (dockerd 26); BuildKit 0.14 and later (Docker 27 on)
//! take 16 MiB. Stagecraft sends it either way and lets the daemon decide:
//! the newer daemon builds it, the older one refuses, and the error says
//! how large the build was, the daemon's limit, and what to do.

mod support;

use support::*;

const FILES: usize = 40;
const LINES_PER_FILE: usize = 1024;

/// 40 `write:` steps of 64 KiB each: a 2.6 MB spec, whose Definition holds
/// the contents in its ops and the spec again in its source map (~5.3 MB).
fn large_spec() -> TempDir {
    let line = "x".repeat(63);
    let content: String = (0..LINES_PER_FILE)
        .map(|_| format!("          {line}\n"))
        .collect();
    let steps: String = (0..FILES)
        .map(|i| format!("      - write: /big/{i}\n        content: |\n{content}"))
        .collect();
    TempDir::with_spec(&format!(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n{steps}"
    ))
}

/// BuildKit 0.14 came with Docker 27.
fn daemon_takes_16_mib() -> bool {
    let version = daemon().label.trim_start_matches("docker ");
    let major: u32 = version.split('.').next().unwrap().parse().unwrap();
    major >= 27
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_definition_over_4_mib_is_built_or_refused_by_the_daemon_with_the_size_and_limit() {
    let dir = large_spec();
    let tag = format!("stagecraft-e2e-scale-{}", std::process::id());
    let out = buildx_build(&dir.path, &["--load", "-t", &tag]);
    if daemon_takes_16_mib() {
        assert!(out.ok, "the daemon refused the build:\n{}", out.stderr);
        let sizes = docker(&[
            "run",
            "--rm",
            &tag,
            "sh",
            "-c",
            "ls /big | wc -l; wc -c < /big/39",
        ]);
        let _ = run(docker_cmd().args(["rmi", "-f", &tag]));
        assert_eq!(
            sizes.stdout.split_whitespace().collect::<Vec<_>>(),
            [FILES.to_string(), (LINES_PER_FILE * 64).to_string()]
        );
    } else {
        assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
        let tail = &out.stderr[out.stderr.len().saturating_sub(2000)..];
        for wanted in [
            "the compiled build is 5.",
            "MiB, more than the 4.0 MiB the daemon accepts in one request",
            "build fewer stages at once (--target)",
        ] {
            assert!(tail.contains(wanted), "`{wanted}` not in:\n{tail}");
        }
    }
}
