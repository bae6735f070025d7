//! `stagecraft convert` proven by image equivalence: every Dockerfile of
//! tests/convert/ is built by the Dockerfile frontend and, converted, by
//! Stagecraft, on the same daemon; the two images must hold the same files
//! (path, type, mode, owner, content) and the same config.
//!
//! A case is a directory `tests/convert/NAME/` with a `Dockerfile`, its
//! context files, and optionally `case.txt`, one setting per line:
//!   build-arg NAME=VALUE   (`$HTTP` is the test's file server URL,
//!                           `$GIT` the test's git server URL)
//!   secret id=ID,src=FILE  (relative to the case directory)
//!   differs FIELD          (an image config field the spec cannot set;
//!                           the converter must have warned about it)
//!   warns TEXT             (a warning the conversion must give)
//!
//! Run with `cargo test -p stagecraft --test e2e_convert -- --ignored`;
//! `CONVERT_CASES=a,b` limits the run to some cases, and
//! `CONVERT_FRONTEND=image` builds the specs with another frontend image
//! than the `stagecraft:dev` their first line names.

mod support;

mod tar_listing;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use support::{docker, docker_cmd, repo, run};

/// The corpus the project promises; fewer cases means some were lost.
const MIN_CASES: usize = 25;

/// Config fields compared (docker inspect's `.Config` names).
const CONFIG_FIELDS: &[&str] = &[
    "Env",
    "Entrypoint",
    "Cmd",
    "User",
    "WorkingDir",
    "ExposedPorts",
    "Labels",
    "Healthcheck",
    "Volumes",
    "StopSignal",
    "Shell",
];

struct Case {
    name: String,
    dir: PathBuf,
    build_args: Vec<String>,
    secrets: Vec<String>,
    differs: Vec<String>,
    warns: Vec<String>,
}

fn cases(http: &str, git: &str) -> Vec<Case> {
    let root = repo().join("tests").join("convert");
    let only: Option<Vec<String>> = std::env::var("CONVERT_CASES")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .expect("tests/convert")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| root.join(n).join("Dockerfile").is_file())
        .collect();
    names.sort();
    let total = names.len();
    assert!(
        total >= MIN_CASES,
        "the corpus has {total} cases; it must have at least {MIN_CASES}"
    );
    names
        .into_iter()
        .filter(|n| only.as_ref().is_none_or(|o| o.contains(n)))
        .map(|name| {
            let dir = root.join(&name);
            let settings = std::fs::read_to_string(dir.join("case.txt")).unwrap_or_default();
            let mut case = Case {
                name,
                dir,
                build_args: vec![],
                secrets: vec![],
                differs: vec![],
                warns: vec![],
            };
            for line in settings
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let (key, value) = line.split_once(' ').unwrap_or((line, ""));
                let value = value.replace("$HTTP", http).replace("$GIT", git);
                match key {
                    "build-arg" => case.build_args.push(value),
                    "secret" => case.secrets.push(value),
                    "differs" => case.differs.push(value),
                    "warns" => case.warns.push(value),
                    other => panic!("{}: unknown setting `{other}` in case.txt", case.name),
                }
            }
            case
        })
        .collect()
}

/// Serves tests/convert/files/ over HTTP on loopback (for ADD of URLs),
/// one request per connection, until the test process ends.
fn file_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    let root = repo().join("tests").join("convert").join("files");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let n = stream.read(&mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..n]);
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_string();
            let file = root.join(&path);
            let response = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let mut r =
                        format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                            .into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{address}")
}

/// A git repository served on loopback by `git daemon --inetd`, one
/// process per connection on a listener that is bound before any build
/// starts; returns the URL of the repository (branch `main`, tag `v1`).
fn git_server() -> String {
    let root = repo().join("target").join("convert-e2e").join("git");
    let _ = std::fs::remove_dir_all(&root);
    let work = root.join("work");
    std::fs::create_dir_all(work.join("src")).expect("a work tree");
    std::fs::write(work.join("README.md"), "a repository for ADD\n").expect("a file");
    std::fs::write(work.join("src").join("hello.txt"), "hello from git\n").expect("a file");
    let git = |dir: &Path, args: &[&str]| {
        let out = run(Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
            .env("GIT_CONFIG_GLOBAL", "/dev/null"));
        assert!(out.ok, "git {}: {}", args.join(" "), out.stderr);
    };
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);
    git(
        &work,
        &[
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@example.com",
            "commit",
            "-q",
            "-m",
            "first",
        ],
    );
    git(&work, &["tag", "v1"]);
    git(&root, &["clone", "-q", "--bare", "work", "demo.git"]);
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (Ok(input), Ok(output)) = (stream.try_clone(), stream.try_clone()) else {
                continue;
            };
            let child = Command::new("git")
                .args(["daemon", "--inetd", "--export-all"])
                .arg(format!("--base-path={}", root.display()))
                .stdin(std::os::fd::OwnedFd::from(input))
                .stdout(std::os::fd::OwnedFd::from(output))
                .stderr(Stdio::null())
                .spawn();
            if let Ok(mut child) = child {
                std::thread::spawn(move || child.wait());
            }
        }
    });
    format!("git://{address}/demo.git")
}

/// Converts the case's Dockerfile with the real binary into
/// target/convert-e2e/NAME/build.yaml; returns its path and the warnings.
fn convert(case: &Case) -> (PathBuf, String) {
    let out_dir = repo().join("target").join("convert-e2e").join(&case.name);
    std::fs::create_dir_all(&out_dir).expect("an output directory");
    let spec = out_dir.join("build.yaml");
    let out = run(Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .current_dir(&case.dir)
        .args(["convert", "Dockerfile", "-o"])
        .arg(&spec));
    assert!(out.ok, "{}: convert failed:\n{}", case.name, out.stderr);
    assert!(
        out.stdout.is_empty(),
        "{}: convert -o wrote to stdout",
        case.name
    );
    let checked = run(Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .arg("check")
        .arg(&spec));
    assert!(
        checked.ok,
        "{}: the converted spec fails `stagecraft check`:\n{}",
        case.name, checked.stderr
    );
    (spec, out.stderr)
}

fn build(case: &Case, file: &Path, tag: &str, frontend: Option<&str>) -> Result<(), String> {
    let mut cmd = docker_cmd();
    cmd.args([
        "buildx",
        "build",
        "--progress=plain",
        "--load",
        "-t",
        tag,
        "-f",
    ])
    .arg(file);
    if let Some(image) = frontend {
        cmd.arg("--build-arg")
            .arg(format!("BUILDKIT_SYNTAX={image}"));
    }
    for arg in &case.build_args {
        cmd.args(["--build-arg", arg]);
    }
    for secret in &case.secrets {
        let (id, src) = secret.split_once(",src=").expect("secret id=ID,src=FILE");
        cmd.arg("--secret")
            .arg(format!("{id},src={}", case.dir.join(src).display()));
    }
    cmd.arg(&case.dir);
    let out = run(&mut cmd);
    if out.ok {
        Ok(())
    } else {
        Err(format!(
            "building {} failed:\n{}",
            file.display(),
            tail(&out.stderr, 40)
        ))
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The image's filesystem as `docker export` gives it.
fn listing(image: &str) -> BTreeMap<String, String> {
    let id = docker(&["create", image, "true"]).stdout.trim().to_string();
    let mut child = docker_cmd()
        .args(["export", &id])
        .stdout(Stdio::piped())
        .spawn()
        .expect("docker export");
    let entries = tar_listing::entries(child.stdout.take().expect("piped"));
    let status = child.wait().expect("docker export ends");
    docker(&["rm", &id]);
    assert!(status.success(), "docker export {image} failed");
    entries
        .into_iter()
        .filter(|(path, _)| !ignored(path))
        .collect()
}

/// What Docker puts into every container, and the mount points it makes.
fn ignored(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    matches!(
        path,
        ".dockerenv"
            | "etc/hostname"
            | "etc/hosts"
            | "etc/resolv.conf"
            | "etc/mtab"
            | "dev"
            | "proc"
            | "sys"
    ) || ["dev/", "proc/", "sys/"]
        .iter()
        .any(|p| path.starts_with(p))
}

fn config(image: &str) -> serde_json::Value {
    support::image_config(image)
}

/// null, [] and {} all mean "not set".
fn normalized(value: Option<&serde_json::Value>) -> serde_json::Value {
    match value {
        None | Some(serde_json::Value::Null) => serde_json::Value::Null,
        Some(serde_json::Value::Array(a)) if a.is_empty() => serde_json::Value::Null,
        Some(serde_json::Value::Object(o)) if o.is_empty() => serde_json::Value::Null,
        Some(v) => v.clone(),
    }
}

fn compare(case: &Case, dockerfile_image: &str, spec_image: &str, warnings: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let (want, got) = (listing(dockerfile_image), listing(spec_image));
    for (path, entry) in &want {
        match got.get(path) {
            None => problems.push(format!("missing from the spec's image: {path} ({entry})")),
            Some(other) if other != entry => {
                problems.push(format!("{path}: Dockerfile {entry}, spec {other}"))
            }
            Some(_) => {}
        }
    }
    for (path, entry) in &got {
        if !want.contains_key(path) {
            problems.push(format!("only in the spec's image: {path} ({entry})"));
        }
    }
    let (want, got) = (config(dockerfile_image), config(spec_image));
    for field in CONFIG_FIELDS {
        let (a, b) = (normalized(want.get(field)), normalized(got.get(field)));
        let allowed = case.differs.iter().any(|d| d == field);
        if a != b && !allowed {
            problems.push(format!("config {field}: Dockerfile {a}, spec {b}"));
        }
        if a == b && allowed {
            problems.push(format!(
                "config {field} was expected to differ but does not: update case.txt"
            ));
        }
    }
    for expected in &case.warns {
        if !warnings.contains(expected.as_str()) {
            problems.push(format!(
                "the conversion did not warn `{expected}`; it said:\n{warnings}"
            ));
        }
    }
    if !case.differs.is_empty() && !warnings.contains("warning:") {
        problems.push("the config differs, but the conversion gave no warning".into());
    }
    problems
}

#[test]
#[ignore = "needs the Docker daemon and the frontend image (make e2e)"]
fn every_converted_dockerfile_builds_the_same_image() {
    let http = file_server();
    let git = git_server();
    let frontend = std::env::var("CONVERT_FRONTEND").ok();
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut timings = Vec::new();
    let cases = cases(&http, &git);
    for case in &cases {
        let case_start = Instant::now();
        let (spec, warnings) = convert(case);
        let df_tag = format!("stagecraft-convert-df-{}", case.name);
        let sc_tag = format!("stagecraft-convert-sc-{}", case.name);
        let dockerfile = case.dir.join("Dockerfile");
        // One build after the other: the second reuses the first's
        // layers wherever the two graphs agree, as they should.
        let built = build(case, &dockerfile, &df_tag, None)
            .and_then(|()| build(case, &spec, &sc_tag, frontend.as_deref()));
        match built {
            Err(e) => failures.push(format!("{}: {e}", case.name)),
            Ok(()) => {
                let problems = compare(case, &df_tag, &sc_tag, &warnings);
                if !problems.is_empty() {
                    failures.push(format!(
                        "{}: the images differ:\n  {}",
                        case.name,
                        problems.join("\n  ")
                    ));
                }
            }
        }
        let _ = run(docker_cmd().args(["image", "rm", "-f", &df_tag, &sc_tag]));
        let seconds = case_start.elapsed().as_secs_f64();
        eprintln!("convert e2e: {} {:.1}s", case.name, seconds);
        timings.push((case.name.clone(), seconds));
    }
    eprintln!(
        "convert e2e: {} cases, {} equivalent, {:.0}s in all",
        cases.len(),
        cases.len() - failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
