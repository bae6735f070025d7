//! Contexts that are URLs: a git repository, a file or tarball over HTTP,
//! an OCI layout, as the main build context and as `--build-context`.
//!
//! The servers listen on 127.0.0.1 in this test process: the daemon fetches
//! git and HTTP sources itself, from the host, so loopback reaches them.
//! Each listener is bound before the build starts, so nothing waits for a
//! server to come up.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::*;

/// Accepts connections on 127.0.0.1 in a thread, each handled by `serve`,
/// until dropped.
struct Loopback {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Loopback {
    fn start(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> Loopback {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let serve = Arc::new(serve);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let serve = serve.clone();
                std::thread::spawn(move || serve(stream));
            }
        });
        Loopback { port, stop }
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// `git daemon --inetd` per connection, serving the bare repositories
/// under `root` at `git://127.0.0.1:PORT/NAME.git`.
fn git_server(root: &Path) -> Loopback {
    let root = root.to_path_buf();
    Loopback::start(move |stream| {
        let input = OwnedFd::from(stream.try_clone().unwrap());
        let output = OwnedFd::from(stream);
        let status = Command::new("git")
            .args(["daemon", "--inetd", "--export-all"])
            .arg(format!("--base-path={}", root.display()))
            .arg(&root)
            .stdin(Stdio::from(input))
            .stdout(Stdio::from(output))
            .status();
        assert!(status.is_ok(), "cannot run git daemon: {status:?}");
    })
}

/// Serves the files of `root` over HTTP/1.1 (GET and HEAD; 404 for the rest).
fn http_server(root: &Path) -> Loopback {
    let root = root.to_path_buf();
    Loopback::start(move |mut stream| {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        if reader.read_line(&mut request).is_err() {
            return;
        }
        // The headers: read up to the blank line, then ignored.
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let mut parts = request.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let file = root.join(path.trim_start_matches('/'));
        let body = match std::fs::read(&file) {
            Ok(body) if !path.contains("..") => body,
            _ => {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        if method != "HEAD" {
            let _ = stream.write_all(&body);
        }
        let _ = stream.read(&mut [0; 1]);
    })
}

fn sh(dir: &Path, script: &str) {
    let out = run(Command::new("sh").args(["-ec", script]).current_dir(dir));
    assert!(out.ok, "{script}:\n{}{}", out.stdout, out.stderr);
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const SPEC_COPYING_DATA: &str = "# syntax=stagecraft:dev
version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - copy: data.txt
        to: /data.txt
";

/// A bare repository `repo.git` under `root`: branch `main` has
/// `app/build.yaml` and `app/data.txt` = `main`, branch `feature` the same
/// with `data.txt` = `feature`.
fn repository(root: &Path) -> PathBuf {
    let work = root.join("work");
    write(&work.join("app/build.yaml"), SPEC_COPYING_DATA);
    write(&work.join("app/data.txt"), "main\n");
    let git = "git -c user.name=e2e -c user.email=e2e@example.com";
    sh(
        &work,
        &format!(
            "git init -q -b main . && git add . && {git} commit -qm main && \
             git checkout -qb feature && echo feature > app/data.txt && \
             {git} commit -qam feature && git clone -q --bare . ../repo.git"
        ),
    );
    root.join("repo.git")
}

/// Builds and loads `image`; `context` is the last argument.
fn build(image: &str, args: &[&str], context: &str) {
    let mut cmd = docker_cmd();
    cmd.args(["buildx", "build", "--progress=plain", "--load", "-t", image])
        .args(args)
        .arg(context);
    let out = run(&mut cmd);
    assert!(out.ok, "building {context} failed:\n{}", out.stderr);
}

fn cat(image: &str, path: &str) -> String {
    docker(&["run", "--rm", image, "cat", path]).stdout
}

/// An image tag for this process, removed on drop.
struct Tag(String);

impl Tag {
    fn new(name: &str) -> Tag {
        Tag(format!(
            "stagecraft-e2e-remote-{name}-{}",
            std::process::id()
        ))
    }
}

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = run(docker_cmd().args(["rmi", "-f", &self.0]));
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_git_url_with_ref_and_subdir_is_the_context_and_holds_the_spec() {
    let dir = TempDir::with_spec("");
    repository(&dir.path);
    let server = git_server(&dir.path);
    let image = Tag::new("git-main");
    let url = format!("git://127.0.0.1:{}/repo.git#feature:app", server.port);
    build(&image.0, &["-f", "build.yaml"], &url);
    assert_eq!(cat(&image.0, "/data.txt"), "feature\n");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_git_url_is_a_named_context() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - copy: data.txt\n        from: src\n        to: /from-git.txt\n",
    );
    let served = TempDir::with_spec("");
    repository(&served.path);
    let server = git_server(&served.path);
    let image = Tag::new("git-named");
    let context = format!("src=git://127.0.0.1:{}/repo.git#main:app", server.port);
    let spec = dir.path.join("build.yaml");
    build(
        &image.0,
        &["-f", spec.to_str().unwrap(), "--build-context", &context],
        dir.path.to_str().unwrap(),
    );
    assert_eq!(cat(&image.0, "/from-git.txt"), "main\n");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_http_tarball_is_the_context_and_holds_the_spec() {
    let dir = TempDir::with_spec("");
    let files = dir.path.join("files");
    write(&files.join("build.yaml"), SPEC_COPYING_DATA);
    write(&files.join("data.txt"), "from the tarball\n");
    sh(&dir.path, "mkdir www && tar -C files -czf www/ctx.tar.gz .");
    let server = http_server(&dir.path.join("www"));
    let image = Tag::new("http-main");
    let url = format!("http://127.0.0.1:{}/ctx.tar.gz", server.port);
    build(&image.0, &["-f", "build.yaml"], &url);
    assert_eq!(cat(&image.0, "/data.txt"), "from the tarball\n");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_http_file_that_is_no_archive_is_the_spec_itself() {
    let dir = TempDir::with_spec("");
    write(
        &dir.path.join("www/spec.yaml"),
        "# syntax=stagecraft:dev\nversion: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - write: /hello\n        content: from a served spec\n",
    );
    let server = http_server(&dir.path.join("www"));
    let image = Tag::new("http-spec");
    build(
        &image.0,
        &[],
        &format!("http://127.0.0.1:{}/spec.yaml", server.port),
    );
    assert_eq!(cat(&image.0, "/hello"), "from a served spec");
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_http_file_is_a_named_context_holding_the_file_as_context() {
    // As for a Dockerfile: the downloaded file is called `context`.
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - copy: context\n        from: tool\n        to: /tool.txt\n",
    );
    write(&dir.path.join("www/tool.txt"), "downloaded\n");
    let server = http_server(&dir.path.join("www"));
    let image = Tag::new("http-named");
    let context = format!("tool=http://127.0.0.1:{}/tool.txt", server.port);
    let spec = dir.path.join("build.yaml");
    build(
        &image.0,
        &["-f", spec.to_str().unwrap(), "--build-context", &context],
        dir.path.to_str().unwrap(),
    );
    assert_eq!(cat(&image.0, "/tool.txt"), "downloaded\n");
}

/// An OCI layout made by exporting a build from the containerd-store
/// daemon (the docker driver on the other store cannot export OCI), and a
/// spec that starts from it as `base`.
fn oci_layout_and_spec() -> (TempDir, String) {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: base\n    steps:\n      - run: echo \"$FROM_LAYOUT $(pwd) $(cat marker)\" > /seen\n",
    );
    let layout_build = dir.path.join("layout-build");
    write(
        &layout_build.join("build.yaml"),
        "# syntax=stagecraft:dev\nversion: 1\nstages:\n  base:\n    from: busybox:latest\n    workdir: /layout\n    env: {FROM_LAYOUT: \"yes\"}\n    steps:\n      - write: /layout/marker\n        content: in the layout\n",
    );
    let layout = dir.path.join("layout");
    let out = run(containerd_store_daemon()
        .cmd()
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(layout_build.join("build.yaml"))
        .arg(format!(
            "--output=type=oci,tar=false,name=stagecraft-e2e/layout:v1,dest={}",
            layout.display()
        ))
        .arg(&layout_build));
    assert!(out.ok, "exporting the layout failed:\n{}", out.stderr);
    let context = format!("base=oci-layout://{}:v1", layout.display());
    (dir, context)
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_oci_layout_is_a_named_context_with_its_image_config() {
    // The docker driver reads OCI layouts only with the containerd image
    // store (as for a Dockerfile), so the build runs on that daemon.
    let (dir, context) = oci_layout_and_spec();
    let out_dir = dir.path.join("out");
    let out = run(containerd_store_daemon()
        .cmd()
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(dir.path.join("build.yaml"))
        .args(["--build-context", &context])
        .arg(format!("--output=type=local,dest={}", out_dir.display()))
        .arg(&dir.path));
    assert!(out.ok, "building from the layout failed:\n{}", out.stderr);
    // The layout's files, and its config: env and working directory.
    let seen = std::fs::read_to_string(out_dir.join("seen")).unwrap();
    assert_eq!(seen, "yes /layout in the layout\n");
    assert!(
        out.stderr
            .contains("[context base] load OCI layout docker.io/library/base@sha256:"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_oci_layout_on_a_daemon_that_cannot_read_one_says_what_would() {
    let (dir, context) = oci_layout_and_spec();
    let out = buildx_build(&dir.path, &["--build-context", &context]);
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    for wanted in [
        "cannot load the OCI layout of --build-context base",
        "unknown scheme oci-layout",
        "use one with the containerd image store, or a docker-container builder",
    ] {
        assert!(
            out.stderr.contains(wanted),
            "`{wanted}` not in:\n{}",
            out.stderr
        );
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_unsupported_context_url_names_the_forms_that_work() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - copy: x\n        from: src\n        to: /x\n",
    );
    let out = buildx_build(
        &dir.path,
        &["--build-context", "src=git@127.0.0.1:repo.git"],
    );
    assert!(!out.ok, "the build succeeded:\n{}", out.stderr);
    assert!(
        out.stderr.contains("git over ssh is not supported yet"),
        "{}",
        out.stderr
    );
}
