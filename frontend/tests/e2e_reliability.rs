//! Reliability through a real daemon: many builds at once, and builds
//! interrupted half-way. `#[ignore]`d like the other end-to-end tests.

mod support;

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::*;

/// Peak resident memory (KiB) of any `stagecraft` process seen while `f`
/// runs, sampled from /proc.
fn peak_frontend_rss<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(frontend_rss_now());
                std::thread::sleep(Duration::from_millis(25));
            }
            peak
        })
    };
    let result = f();
    done.store(true, Ordering::SeqCst);
    (result, sampler.join().unwrap())
}

fn frontend_rss_now() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| {
            let status = std::fs::read_to_string(e.path().join("status")).ok()?;
            if !status.lines().next()?.ends_with("stagecraft") {
                return None;
            }
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .max()
        .unwrap_or(0)
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn twenty_builds_at_once_all_succeed_with_their_own_output() {
    const BUILDS: usize = 20;
    let run_id = std::process::id();
    let dirs: Vec<TempDir> = (0..BUILDS)
        .map(|i| {
            TempDir::with_spec(&format!(
                "version: 1\nstages:\n  work:\n    from: busybox:latest\n    steps:\n      - run: echo build-{i}-{run_id} > /out.txt && sleep 1\n  result:\n    from: scratch\n    steps:\n      - copy: /out.txt\n        from: work\n        to: /\n"
            ))
        })
        .collect();
    let (outputs, peak_kib) = peak_frontend_rss(|| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let path = d.path.clone();
                std::thread::spawn(move || {
                    let dest = path.join("out");
                    let result = buildx_build(
                        &path,
                        &["--output", &format!("type=local,dest={}", dest.display())],
                    );
                    (
                        result,
                        std::fs::read_to_string(dest.join("out.txt")).unwrap_or_default(),
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    for (i, (result, content)) in outputs.iter().enumerate() {
        assert!(result.ok, "build {i} failed:\n{}", result.stderr);
        assert_eq!(
            content.trim(),
            format!("build-{i}-{run_id}"),
            "build {i} has the wrong output"
        );
    }
    eprintln!(
        "peak frontend RSS during {BUILDS} concurrent builds: {} KiB",
        peak_kib
    );
    assert!(
        peak_kib > 0,
        "no frontend process was seen: are builds going through stagecraft:dev?"
    );
    let report = repo().join("target").join("e2e-load.txt");
    std::fs::write(
        report,
        format!("{BUILDS} concurrent builds: peak frontend RSS {peak_kib} KiB\n"),
    )
    .unwrap();
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_interrupted_build_leaves_the_daemon_healthy_and_the_cache_correct() {
    let marker = format!("interrupt-{}", std::process::id());
    let spec = |second: &str| {
        format!("version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo {marker} > /first\n      - run: {second}\n")
    };
    let dir = TempDir::with_spec(&spec("sleep 60"));
    let mut child = docker_cmd()
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(dir.path.join("build.yaml"))
        .arg(&dir.path)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once the long step is running.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("RUN sleep 60") {
                let _ = tx.send(());
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the long step never started");
    std::thread::sleep(Duration::from_secs(1));
    let start = Instant::now();
    let pid = child.id().to_string();
    assert!(run(std::process::Command::new("kill").args(["-INT", &pid])).ok);
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted build must not report success"
    );
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "buildx took {:?} to stop",
        start.elapsed()
    );

    docker(&["info", "--format", "{{.ServerVersion}}"]);
    let next = TempDir::with_spec(&spec("echo done > /second"));
    let out = buildx_build(&next.path, &[]);
    assert!(out.ok, "the next build failed:\n{}", out.stderr);
    assert!(
        vertex_cached(&out.stderr, &format!("RUN echo {marker} > /first")),
        "the completed step was not reused:\n{}",
        out.stderr
    );
}
