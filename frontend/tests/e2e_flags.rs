//! End-to-end tests of `docker buildx build` flags on Stagecraft specs:
//! each builds a small inline spec through the real daemon and checks the
//! effect of the flag (files, image config, progress output, cache hits),
//! not only that the build succeeds.
//!
//! Most run on the main daemon (docker driver). Multi-platform builds, the
//! OCI exporter and cache export other than inline are refused by buildx
//! for the docker driver unless the daemon uses the containerd image store,
//! so those run on a private second daemon beside the suite's, one with the
//! containerd image store (see [`support::containerd_store_daemon`]).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use support::*;

/// A value no earlier run used: for cache ids, secrets and args that must
/// make a step run again.
fn unique(label: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// An image tag for this test process, removed on drop.
struct Image(String);

impl Image {
    fn new(name: &str) -> Image {
        Image(format!(
            "stagecraft-e2e-flags-{name}-{}",
            std::process::id()
        ))
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = run(docker_cmd().args(["rmi", "-f", &self.0]));
    }
}

/// With `--no-cache` BuildKit solves every op of the build afresh, and an
/// op that another build solves at the same moment (one from the same base
/// image, say) is merged into it and misses the cache there too: a
/// concurrent test would see a step it expects cached run again. So each
/// build with `--no-cache` starts from `image` under a tag of its own,
/// whose source op no other test has.
fn private_base(image: &str, name: &str) -> Image {
    let tag = Image::new(&format!("base-{name}"));
    docker(&["tag", image, &tag.0]);
    tag
}

/// `docker buildx build` of `dir/build.yaml` with extra environment.
fn buildx_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = docker_cmd();
    cmd.envs(env.iter().copied())
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(dir.join("build.yaml"))
        .args(extra)
        .arg(dir);
    run(&mut cmd)
}

/// Builds and insists on success; returns the progress output.
fn build_ok(dir: &TempDir, extra: &[&str]) -> String {
    let out = buildx_build(&dir.path, extra);
    assert!(out.ok, "build failed:\n{}", out.stderr);
    out.stderr
}

/// Builds `dir` and loads the result as `image`.
fn build_image(dir: &TempDir, image: &Image, extra: &[&str]) -> String {
    let mut args = vec!["--load", "-t", &image.0];
    args.extend_from_slice(extra);
    build_ok(dir, &args)
}

/// The content of `path` in `image`, read with the image's `cat`.
fn file_in(image: &Image, path: &str) -> String {
    docker(&["run", "--rm", "--entrypoint", "cat", &image.0, path]).stdout
}

/// How many distinct vertices the progress output names with `name` in
/// their title (`#7 [app 2/3] RUN …`): a step solved once shows once.
fn vertex_count(progress: &str, name: &str) -> usize {
    progress
        .lines()
        .filter_map(|l| {
            let (id, title) = l.split_once(' ')?;
            (id.starts_with('#') && title.starts_with('[') && title.contains(name)).then_some(id)
        })
        .collect::<BTreeSet<_>>()
        .len()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

// ------------------------------------------------------------- --target

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn target_builds_only_the_stages_it_needs() {
    let dir = TempDir::with_spec(
        r#"version: 1
stages:
  broken:
    from: busybox:latest
    steps:
      - run: echo "this stage is not needed" && exit 1
  base:
    from: busybox:latest
    steps:
      - write: /app/version
        content: "1.0"
  dev:
    from: base
    description: with debug tools
    steps:
      - write: /app/debug/tools.txt
        content: strace gdb
      - run: ln -s /bin/busybox /app/debug/shell
  prod:
    from: base
    description: the release image
    steps:
      - run: echo release > /app/mode
"#,
    );
    let dev = Image::new("target-dev");
    let progress = build_image(&dir, &dev, &["--target", "dev"]);
    assert_eq!(vertex_count(&progress, "[broken"), 0, "{progress}");
    let files = image_files(&dev.0);
    for wanted in ["app/version", "app/debug/tools.txt", "app/debug/shell"] {
        assert!(files.iter().any(|f| f == wanted), "{wanted}: {files:?}");
    }
    assert!(!files.iter().any(|f| f == "app/mode"), "{files:?}");

    let prod = Image::new("target-prod");
    // No --target: the last stage.
    let progress = build_image(&dir, &prod, &[]);
    assert_eq!(vertex_count(&progress, "[broken"), 0, "{progress}");
    assert_eq!(vertex_count(&progress, "[dev"), 0, "{progress}");
    assert_eq!(file_in(&prod, "/app/mode"), "release\n");
    assert_eq!(file_in(&prod, "/app/version"), "1.0");
    let files = image_files(&prod.0);
    assert!(
        !files.iter().any(|f| f.starts_with("app/debug")),
        "{files:?}"
    );
}

// ---------------------------------------------------------- --build-arg

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn build_args_override_declared_args_and_rerun_only_the_steps_that_mention_them() {
    let dir = TempDir::with_spec(
        r#"version: 1
args:
  BASE: debian:bookworm-slim
  DIR: /opt/app
  NAME: nobody
  VERSION: "0.1"
stages:
  app:
    from: ${BASE}
    workdir: ${DIR}
    env: {APP_NAME: "${NAME}"}
    steps:
      - run: env > static-env.txt
      - write: ${DIR}/conf/name.txt
        content: ${NAME}
      - run: echo "version $VERSION" > version.txt
    image:
      labels: {org.example.version: "${VERSION}"}
"#,
    );
    let image = Image::new("build-args");
    let first = unique("1.0");
    let progress = build_image(
        &dir,
        &image,
        &[
            "--build-arg",
            "BASE=busybox:latest",
            "--build-arg",
            "DIR=/srv/app",
            "--build-arg",
            "NAME=builder",
            "--build-arg",
            &format!("VERSION={first}"),
            "--build-arg",
            "UNDECLARED_ARG=1",
        ],
    );
    // An undeclared arg is reported in the warnings summary (plain
    // progress shows it on the spec's vertex only when that vertex is
    // printed after the warning arrives, so that is not checked).
    assert!(
        progress.contains("build arg `UNDECLARED_ARG` not declared in build.yaml"),
        "{progress}"
    );
    assert!(progress.contains("1 warning found"), "{progress}");

    let config = image_config(&image.0);
    assert_eq!(config["WorkingDir"], "/srv/app");
    assert!(
        config["Env"].to_string().contains("APP_NAME=builder"),
        "{config}"
    );
    assert_eq!(config["Labels"]["org.example.version"], first.as_str());
    assert_eq!(
        file_in(&image, "/srv/app/version.txt"),
        format!("version {first}\n")
    );
    assert_eq!(file_in(&image, "/srv/app/conf/name.txt"), "builder");
    // The step that does not mention VERSION does not get it.
    let static_env = file_in(&image, "/srv/app/static-env.txt");
    assert!(static_env.contains("APP_NAME=builder"), "{static_env}");
    assert!(!static_env.contains("VERSION="), "{static_env}");
    // BASE chose busybox over Debian.
    assert!(!image_files(&image.0)
        .iter()
        .any(|f| f == "etc/debian_version"));

    let second = unique("2.0");
    let progress = build_image(
        &dir,
        &image,
        &[
            "--build-arg",
            "BASE=busybox:latest",
            "--build-arg",
            "DIR=/srv/app",
            "--build-arg",
            "NAME=builder",
            "--build-arg",
            &format!("VERSION={second}"),
        ],
    );
    for step in [
        "[app 2/4] RUN env > static-env.txt",
        "[app 3/4] WRITE /srv/app/conf/name.txt",
    ] {
        assert!(
            vertex_cached(&progress, step),
            "{step} ran again:\n{progress}"
        );
    }
    let version_step = "[app 4/4] RUN echo \"version $VERSION\" > version.txt";
    assert_eq!(vertex_count(&progress, version_step), 1, "{progress}");
    assert!(!vertex_cached(&progress, version_step), "{progress}");
    assert_eq!(
        file_in(&image, "/srv/app/version.txt"),
        format!("version {second}\n")
    );
    assert_eq!(
        image_config(&image.0)["Labels"]["org.example.version"],
        second.as_str()
    );
}

// ------------------------------------------------------------- --secret

/// Every file of a `docker save` archive, layer archives opened (gzip ones
/// decompressed), as bytes.
fn saved_image_contents(image: &Image, into: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let archive = into.join("image.tar");
    docker(&["save", "-o", archive.to_str().unwrap(), &image.0]);
    let unpacked = into.join("saved");
    std::fs::create_dir_all(&unpacked).unwrap();
    let untar = run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&unpacked));
    assert!(untar.ok, "{}", untar.stderr);
    let mut contents = Vec::new();
    for path in files_under(&unpacked) {
        let bytes = std::fs::read(&path).unwrap();
        let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
            let out = Command::new("gzip").arg("-dc").arg(&path).output().unwrap();
            out.stdout
        } else {
            bytes
        };
        contents.push((path, bytes));
    }
    contents
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => out.push(path),
                _ => {}
            }
        }
    }
    out
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn secrets_reach_the_step_as_file_and_env_but_no_image_layer() {
    let base = private_base("busybox:latest", "secrets");
    let dir = TempDir::with_spec(
        &r#"version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          mkdir -p /proof
          sha256sum < /run/secrets/api-token | cut -d' ' -f1 > /proof/file-sha
          printf %s "$TOKEN" | sha256sum | cut -d' ' -f1 > /proof/env-sha
          printf %s "$TOKEN" | wc -c > /proof/env-len
        mounts:
          - {type: secret, id: api-token, required: true}
          - {type: secret, id: env-token, env: TOKEN, required: true}
"#
        .replace("busybox:latest", &base.0),
    );
    let file_secret = unique("file-secret");
    let env_secret = unique("env-secret");
    let secret_file = dir.path.join("secret.txt");
    std::fs::write(&secret_file, &file_secret).unwrap();
    let image = Image::new("secrets");
    let out = buildx_with_env(
        &dir.path,
        &[
            "--no-cache",
            "--load",
            "-t",
            &image.0,
            "--secret",
            &format!("id=api-token,src={}", secret_file.display()),
            "--secret",
            "id=env-token,env=STAGECRAFT_E2E_TOKEN",
        ],
        &[("STAGECRAFT_E2E_TOKEN", &env_secret)],
    );
    assert!(out.ok, "{}", out.stderr);
    // The step saw the right values (it wrote only their hashes).
    assert_eq!(
        file_in(&image, "/proof/file-sha").trim(),
        sha256_hex(&file_secret)
    );
    assert_eq!(
        file_in(&image, "/proof/env-sha").trim(),
        sha256_hex(&env_secret)
    );
    assert_eq!(
        file_in(&image, "/proof/env-len").trim(),
        env_secret.len().to_string()
    );

    let secrets = [file_secret.as_str(), env_secret.as_str()];
    let leaks = |what: &str, text: &[u8]| {
        for secret in secrets {
            assert!(
                !contains_bytes(text, secret.as_bytes()),
                "the secret is in {what}"
            );
        }
    };
    leaks("the progress output", out.stderr.as_bytes());
    // The LLB the compiler makes for this spec, binary and readable.
    let spec = dir.path.join("build.yaml");
    for format in [&[][..], &["--format", "json"][..]] {
        let compiled = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
            .arg("compile")
            .arg(&spec)
            .args(format)
            .output()
            .unwrap();
        assert!(compiled.status.success());
        leaks("the compiled LLB", &compiled.stdout);
    }
    let inspect = docker(&["image", "inspect", &image.0]).stdout;
    leaks("the image config", inspect.as_bytes());
    let history = docker(&["history", "--no-trunc", &image.0]).stdout;
    leaks("the image history", history.as_bytes());
    let saved = saved_image_contents(&image, &dir.path);
    for (path, bytes) in &saved {
        leaks(&path.display().to_string(), bytes);
    }
    // The scan does read layer contents: it finds the hash the step wrote.
    let proof = sha256_hex(&file_secret);
    assert!(
        saved
            .iter()
            .any(|(_, b)| contains_bytes(b, proof.as_bytes())),
        "no layer holds /proof/file-sha"
    );
    // No mount point is left behind either.
    let files = image_files(&image.0);
    assert!(!files.iter().any(|f| f.starts_with("run/")), "{files:?}");
}

// ---------------------------------------------------------------- --ssh

/// An `ssh-agent` on a socket of its own, killed on drop.
struct SshAgent {
    socket: PathBuf,
    pid: String,
}

impl SshAgent {
    /// Starts an agent holding a new ed25519 key with `comment`.
    fn with_new_key(dir: &Path, comment: &str) -> SshAgent {
        let key = dir.join("id_ed25519");
        let keygen = run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
            .arg(&key));
        assert!(keygen.ok, "ssh-keygen: {}", keygen.stderr);
        let socket = dir.join("agent.sock");
        let started = run(Command::new("ssh-agent").arg("-a").arg(&socket));
        assert!(started.ok, "ssh-agent: {}", started.stderr);
        // `SSH_AGENT_PID=1234; export SSH_AGENT_PID;`
        let pid = started
            .stdout
            .split("SSH_AGENT_PID=")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("ssh-agent prints its pid")
            .to_string();
        let agent = SshAgent { socket, pid };
        let added = run(Command::new("ssh-add")
            .env("SSH_AUTH_SOCK", &agent.socket)
            .arg(&key));
        assert!(added.ok, "ssh-add: {}", added.stderr);
        agent
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn ssh_mounts_reach_the_clients_agent() {
    // Debian's perl-base speaks the agent protocol: ask for the identities
    // (request 11) and print each key's comment from the answer (12).
    let base = private_base("debian:bookworm-slim", "ssh");
    let dir = TempDir::with_spec(
        &r#"version: 1
stages:
  app:
    from: debian:bookworm-slim
    steps:
      - run: |
          test -S "$SSH_AUTH_SOCK"
          perl -MIO::Socket::UNIX -e '
            my $s = IO::Socket::UNIX->new(Peer => $ENV{SSH_AUTH_SOCK}) or die "connect: $!";
            print $s pack("NC", 1, 11);
            read($s, my $n, 4) == 4 or die "no answer";
            read($s, my $body, unpack("N", $n)) or die "short answer";
            my ($type, $count) = unpack("CN", $body);
            die "unexpected answer $type" unless $type == 12;
            my $rest = substr($body, 5);
            for (1 .. $count) {
              (my $key, my $comment, $rest) = unpack("N/a N/a a*", $rest);
              print "$comment\n";
            }' > /agent-keys
        mounts:
          - {type: ssh, required: true}
"#
        .replace("debian:bookworm-slim", &base.0),
    );
    let comment = unique("stagecraft-e2e-key");
    let agent = SshAgent::with_new_key(&dir.path, &comment);
    let image = Image::new("ssh");
    let out = buildx_with_env(
        &dir.path,
        &["--no-cache", "--load", "-t", &image.0, "--ssh", "default"],
        &[("SSH_AUTH_SOCK", agent.socket.to_str().unwrap())],
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(file_in(&image, "/agent-keys"), format!("{comment}\n"));
    let config = image_config(&image.0);
    assert!(
        !config["Env"].to_string().contains("SSH_AUTH_SOCK"),
        "{config}"
    );
    let files = image_files(&image.0);
    assert!(!files.iter().any(|f| f.starts_with("run/buildkit")));
}

// ------------------------------------------------- cache and tmpfs mounts

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn cache_mounts_persist_across_builds_and_tmpfs_mounts_start_empty() {
    let cache_id = unique("stagecraft-e2e-rounds");
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  ROUND: "0"
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "round $ROUND" >> /cache/rounds
          cp /cache/rounds /rounds-seen
          ls -A /scratch > /tmpfs-listing
          echo leftover > /scratch/leftover
        mounts:
          - {{type: cache, target: /cache, id: {cache_id}}}
          - {{type: tmpfs, target: /scratch}}
"#
    ));
    let image = Image::new("cache-mounts");
    let step = "[app 2/2] RUN echo \"round $ROUND\"";
    let (a, b) = (unique("a"), unique("b"));
    build_image(&dir, &image, &["--build-arg", &format!("ROUND={a}")]);
    assert_eq!(file_in(&image, "/rounds-seen"), format!("round {a}\n"));
    let progress = build_image(&dir, &image, &["--build-arg", &format!("ROUND={b}")]);
    assert!(!vertex_cached(&progress, step), "{progress}");
    // The second run found what the first one left in the cache.
    assert_eq!(
        file_in(&image, "/rounds-seen"),
        format!("round {a}\nround {b}\n")
    );
    assert_eq!(file_in(&image, "/tmpfs-listing"), "");
    let files = image_files(&image.0);
    for absent in ["scratch", "cache"] {
        assert!(
            !files.iter().any(|f| f.starts_with(absent)),
            "{absent}: {files:?}"
        );
    }
}

/// Runs two builds of `dir` at once, with `WHO` set to each of `who`,
/// loading them as `images`.
fn build_concurrently(dir: &TempDir, who: [&str; 2], images: [&Image; 2]) {
    std::thread::scope(|s| {
        let handles = [0, 1].map(|i| {
            let arg = format!("WHO={}", who[i]);
            let tag = images[i].0.clone();
            let path = dir.path.clone();
            s.spawn(move || buildx_build(&path, &["--load", "-t", &tag, "--build-arg", &arg]))
        });
        for handle in handles {
            let out = handle.join().expect("the build thread finished");
            assert!(out.ok, "{}", out.stderr);
        }
    });
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn locked_cache_mounts_let_one_build_at_a_time_use_them() {
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  WHO: nobody
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "start $WHO" >> /locked/log
          sleep 2
          echo "end $WHO" >> /locked/log
          cp /locked/log /log
        mounts:
          - {{type: cache, target: /locked, id: {}, sharing: locked}}
"#,
        unique("stagecraft-e2e-locked")
    ));
    let who = [unique("a"), unique("b")];
    let images = [&Image::new("locked-a"), &Image::new("locked-b")];
    build_concurrently(&dir, [&who[0], &who[1]], images);
    // The build that got the cache second saw the first one's whole run:
    // start and end of one, then of the other, never interleaved.
    let logs = images.map(|i| file_in(i, "/log"));
    let full = logs
        .iter()
        .find(|l| l.lines().count() == 4)
        .unwrap_or_else(|| panic!("no build saw both runs: {logs:?}"));
    let lines: Vec<&str> = full.lines().collect();
    let first = lines[0].strip_prefix("start ").expect("a start first");
    let second = if first == who[0] { &who[1] } else { &who[0] };
    assert_eq!(
        lines,
        [
            format!("start {first}"),
            format!("end {first}"),
            format!("start {second}"),
            format!("end {second}")
        ],
        "{logs:?}"
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn private_cache_mounts_are_not_shared_by_concurrent_builds() {
    // Both steps wait, on a shared cache, until both are running; the
    // private cache each wrote into must then hold only its own file.
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  WHO: nobody
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "$WHO" > "/private/$WHO"
          touch "/rendezvous/$WHO"
          i=0
          while [ "$(ls /rendezvous | wc -l)" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
          ls /rendezvous > /rendezvous-seen
          ls /private > /private-seen
        mounts:
          - {{type: cache, target: /private, id: {}, sharing: private}}
          - {{type: cache, target: /rendezvous, id: {}, sharing: shared}}
"#,
        unique("stagecraft-e2e-private"),
        unique("stagecraft-e2e-rendezvous")
    ));
    let who = [unique("a"), unique("b")];
    let images = [&Image::new("private-a"), &Image::new("private-b")];
    build_concurrently(&dir, [&who[0], &who[1]], images);
    let mut both: Vec<&str> = vec![&who[0], &who[1]];
    both.sort();
    for (image, me) in images.iter().zip(&who) {
        let seen = file_in(image, "/rendezvous-seen");
        assert_eq!(
            seen.lines().collect::<Vec<_>>(),
            both,
            "the steps did not overlap"
        );
        assert_eq!(file_in(image, "/private-seen"), format!("{me}\n"));
    }
}

// ------------------------------------------------------- --build-context

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn build_contexts_replace_stages_and_images_in_from_and_copy_from() {
    let dir = TempDir::with_spec(
        r#"version: 1
stages:
  assets:
    from: busybox:latest
    steps:
      - run: exit 1
  base:
    from: busybox:latest
    steps:
      - run: exit 1
  app:
    from: base
    steps:
      - copy: /hello.txt
        from: assets
        to: /from-assets.txt
      - copy: /etc/debian_version
        from: example.invalid/debian:12
        to: /debian_version
  on-debian:
    from: example.invalid/debian:12
    steps:
      - run: cp /etc/debian_version /seen
  on-busybox:
    from: busybox
    steps:
      - run: cp /etc/debian_version /seen
"#,
    );
    let assets = dir.path.join("assets-dir");
    std::fs::create_dir_all(&assets).unwrap();
    std::fs::write(assets.join("hello.txt"), "from a directory\n").unwrap();
    let assets_arg = format!("assets={}", assets.display());
    let contexts = [
        "--build-context",
        &assets_arg,
        "--build-context",
        "base=docker-image://busybox:latest",
        "--build-context",
        "example.invalid/debian:12=docker-image://debian:bookworm-slim",
    ];
    let debian_version = docker(&[
        "run",
        "--rm",
        "debian:bookworm-slim",
        "cat",
        "/etc/debian_version",
    ])
    .stdout;

    let app = Image::new("contexts-app");
    let mut args = contexts.to_vec();
    args.extend(["--target", "app"]);
    build_image(&dir, &app, &args);
    // A stage replaced by a directory in copy.from, one replaced by an
    // image in from:, an image replaced by another in copy.from.
    assert_eq!(file_in(&app, "/from-assets.txt"), "from a directory\n");
    assert_eq!(file_in(&app, "/debian_version"), debian_version);
    assert!(image_files(&app.0).iter().any(|f| f == "bin/busybox"));

    let on_debian = Image::new("contexts-on-debian");
    let mut args = contexts.to_vec();
    args.extend(["--target", "on-debian"]);
    build_image(&dir, &on_debian, &args);
    assert_eq!(file_in(&on_debian, "/seen"), debian_version);

    // `busybox:latest` is found under its short name, as for a Dockerfile.
    let on_busybox = Image::new("contexts-on-busybox");
    build_image(
        &dir,
        &on_busybox,
        &[
            "--build-context",
            "busybox:latest=docker-image://debian:bookworm-slim",
            "--target",
            "on-busybox",
        ],
    );
    assert_eq!(file_in(&on_busybox, "/seen"), debian_version);
}

// ---------------------------------------------- --no-cache, --no-cache-filter

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn no_cache_reruns_every_step_and_no_cache_filter_only_that_stages() {
    let base = private_base("busybox:latest", "no-cache");
    let dir = TempDir::with_spec(
        &r#"version: 1
stages:
  deps:
    from: busybox:latest
    steps:
      - run: cat /proc/sys/kernel/random/uuid > /deps-id
  app:
    from: busybox:latest
    steps:
      - copy: /deps-id
        from: deps
        to: /deps-id
      - run: cat /proc/sys/kernel/random/uuid > /app-id
"#
        .replace("busybox:latest", &base.0),
    );
    let deps_step = "[deps 2/2] RUN cat /proc/sys/kernel/random/uuid > /deps-id";
    let app_step = "[app 3/3] RUN cat /proc/sys/kernel/random/uuid > /app-id";
    let image = Image::new("no-cache");
    build_image(&dir, &image, &[]);
    let progress = build_image(&dir, &image, &[]);
    assert!(vertex_cached(&progress, deps_step), "{progress}");
    assert!(vertex_cached(&progress, app_step), "{progress}");
    let ids = || (file_in(&image, "/deps-id"), file_in(&image, "/app-id"));
    let cached = ids();

    let progress = build_image(&dir, &image, &["--no-cache"]);
    assert!(!vertex_cached(&progress, deps_step), "{progress}");
    assert!(!vertex_cached(&progress, app_step), "{progress}");
    let fresh = ids();
    assert_ne!(fresh.0, cached.0);
    assert_ne!(fresh.1, cached.1);

    let progress = build_image(&dir, &image, &["--no-cache-filter", "app"]);
    assert!(vertex_cached(&progress, deps_step), "{progress}");
    assert!(!vertex_cached(&progress, app_step), "{progress}");
    let filtered = ids();
    assert_eq!(filtered.0, fresh.0, "the deps stage ran again");
    assert_ne!(filtered.1, fresh.1, "the app stage did not run again");

    // A name that is no stage rebuilds nothing, and says so.
    let progress = build_image(&dir, &image, &["--no-cache-filter", "ap"]);
    assert!(vertex_cached(&progress, app_step), "{progress}");
    assert!(
        progress.contains(
            "--no-cache-filter names `ap` (did you mean `app`?), not a stage of build.yaml"
        ),
        "{progress}"
    );
}

// --------------------------------------------------------------- --label

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn labels_land_in_the_image_config() {
    let dir = TempDir::with_spec(
        r#"version: 1
stages:
  app:
    from: busybox:latest
    image:
      labels: {org.example.team: spec, from-spec: "yes"}
"#,
    );
    let image = Image::new("labels");
    build_image(
        &dir,
        &image,
        &[
            "--label",
            "org.example.team=flags",
            "--label",
            "org.example.build=42",
        ],
    );
    let labels = &image_config(&image.0)["Labels"];
    assert_eq!(
        labels["org.example.team"], "flags",
        "--label wins: {labels}"
    );
    assert_eq!(labels["org.example.build"], "42");
    assert_eq!(labels["from-spec"], "yes");
}

// ---------------------------------------------------- --network, --add-host

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn network_flag_sets_the_default_that_steps_can_override_and_add_host_reaches_etc_hosts() {
    let base = private_base("busybox:latest", "network");
    let dir = TempDir::with_spec(
        &r#"version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: ls /sys/class/net > /net-default; cat /etc/hosts > /hosts
      - run: ls /sys/class/net > /net-none
        network: none
      - run: ls /sys/class/net > /net-host
        network: host
"#
        .replace("busybox:latest", &base.0),
    );
    let host_interfaces: BTreeSet<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("veth"))
        .collect();
    let listing = |image: &Image, path: &str| -> BTreeSet<String> {
        file_in(image, path).lines().map(str::to_string).collect()
    };
    let lo_only = BTreeSet::from(["lo".to_string()]);

    let image = Image::new("network");
    let common = ["--no-cache", "--allow", "network.host"];
    let mut args = common.to_vec();
    args.extend(["--add-host", "db.internal:10.1.2.3"]);
    build_image(&dir, &image, &args);
    let sandbox = listing(&image, "/net-default");
    assert!(
        sandbox.contains("eth0") && sandbox.len() == 2,
        "{sandbox:?}"
    );
    assert_eq!(listing(&image, "/net-none"), lo_only);
    let host = listing(&image, "/net-host");
    assert!(host.is_superset(&host_interfaces), "{host:?}");
    let hosts = file_in(&image, "/hosts");
    assert!(
        hosts
            .lines()
            .any(|l| l.split_whitespace().eq(["10.1.2.3", "db.internal"])),
        "{hosts}"
    );

    let mut args = common.to_vec();
    args.extend(["--network", "none"]);
    build_image(&dir, &image, &args);
    assert_eq!(listing(&image, "/net-default"), lo_only);
    assert!(listing(&image, "/net-host").is_superset(&host_interfaces));
}

// -------------------------------------------------------------- --print

fn print_request(dir: &TempDir, extra: &[&str]) -> String {
    let mut cmd = docker_cmd();
    cmd.env("BUILDX_EXPERIMENTAL", "1")
        .args(["buildx", "build", "-f"])
        .arg(dir.path.join("build.yaml"))
        .args(extra)
        .arg(&dir.path);
    let out = run(&mut cmd);
    assert!(out.ok, "{}", out.stderr);
    out.stdout
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn print_lists_targets_and_outlines_what_a_target_needs() {
    let dir = TempDir::with_spec(
        r#"version: 1
args:
  VERSION: "1.0"
  REGISTRY: example.com
  UNUSED: x
stages:
  build:
    from: busybox:latest
    description: compiles the tool
    steps:
      - run: echo $VERSION > /version
        mounts:
          - {type: secret, id: token, required: true}
          - {type: ssh}
  app:
    from: ${REGISTRY}/base:1
    description: the release image
    steps:
      - copy: /version
        from: build
"#,
    );
    let text = print_request(&dir, &["--print=targets"]);
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .eq(["build", "compiles", "the", "tool"])),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("app (default)")),
        "{text}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&print_request(&dir, &["--print=targets,format=json"])).unwrap();
    let targets = json["targets"].as_array().expect("a list of targets");
    let names: Vec<&str> = targets.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["build", "app"]);
    assert_eq!(targets[0]["description"], "compiles the tool");
    assert_eq!(targets[1]["default"], true);

    let outline: serde_json::Value = serde_json::from_str(&print_request(
        &dir,
        &["--print=outline,format=json", "--build-arg", "VERSION=2.5"],
    ))
    .unwrap();
    assert_eq!(outline["name"], "app");
    let args: Vec<(&str, &str)> = outline["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a["value"].as_str().unwrap()))
        .collect();
    assert_eq!(args, [("VERSION", "2.5"), ("REGISTRY", "example.com")]);
    assert_eq!(outline["secrets"][0]["name"], "token");
    assert_eq!(outline["secrets"][0]["required"], true);
    assert_eq!(outline["ssh"][0]["name"], "default");

    // The build stage alone uses VERSION only.
    let text = print_request(&dir, &["--print=outline", "--target", "build"]);
    assert!(text.contains("TARGET:      build"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["VERSION", "1.0"])),
        "{text}"
    );
    assert!(!text.contains("REGISTRY"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["token", "true"])),
        "{text}"
    );

    // `frontend.subrequests.describe` lists the requests answered.
    let text = print_request(&dir, &["--print=subrequests.describe"]);
    for request in ["outline", "targets", "subrequests.describe"] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(request)),
            "{text}"
        );
    }
}

// -------------------------------------------------------------- progress

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn progress_numbers_steps_per_stage_and_loads_the_spec_once() {
    let marker = unique("progress");
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
stages:
  tools:
    from: busybox:latest
    steps:
      - run: echo {marker} > /marker
  app:
    from: busybox:latest
    steps:
      - copy: /marker
        from: tools
        to: /marker
      - write: /etc/app.conf
        content: "x = 1"
"#
    ));
    let first = build_ok(&dir, &[]);
    let steps = [
        format!("[tools 2/2] RUN echo {marker} > /marker"),
        "[app 2/3] COPY --from=tools /marker /marker".to_string(),
        "[app 3/3] WRITE /etc/app.conf".to_string(),
    ];
    for step in &steps {
        assert_eq!(vertex_count(&first, step), 1, "{step}:\n{first}");
        assert!(!vertex_cached(&first, step), "{step}:\n{first}");
    }
    // The base image is step 1 of its stage. Concurrent builds (other
    // tests) share the identical image op, and it carries the name the
    // first of them gave it, so any stage's `1/n` will do.
    assert!(
        first.lines().any(|l| {
            l.contains("] FROM docker.io/library/busybox:latest")
                && (l.contains("[app 1/") || l.contains("[tools 1/"))
        }),
        "{first}"
    );
    // The frontend reads the spec through the very op the daemon used to
    // find the `# syntax=` line: one vertex, one transfer, in all.
    assert!(
        first.contains("docker-image://docker.io/library/stagecraft:dev"),
        "{first}"
    );
    assert_eq!(
        vertex_count(&first, "[internal] load build definition from build.yaml"),
        1,
        "{first}"
    );

    let second = build_ok(&dir, &[]);
    for step in &steps {
        assert!(vertex_cached(&second, step), "{step}:\n{second}");
    }
}

// ------------------------------------------------------ build-time errors

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn copying_a_missing_path_names_the_step_and_the_path() {
    let dir = TempDir::with_spec(
        r#"version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - copy: missing/file.txt
        to: /x
"#,
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    let err = &out.stderr;
    assert!(
        err.contains("ERROR: [app 2/2] COPY missing/file.txt /x")
            || err.contains("> [app 2/2] COPY missing/file.txt /x:"),
        "{err}"
    );
    // The step's place in the spec (line 1 is the syntax line).
    assert!(err.contains("build.yaml:7"), "{err}");
    // BuildKit's own words: 0.13 (dockerd 26) passes on lstat's "no such
    // file or directory", later ones say `"/missing/file.txt": not found`
    // (the Dockerfile frontend's COPY says the same on each daemon).
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains("/missing")
            && (last.contains("no such file or directory") || last.contains("not found")),
        "{last}"
    );
}

// ----------------------------------------------------------------- bake

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn bake_builds_a_target_whose_dockerfile_is_a_spec() {
    let dir = TempDir::with_spec(
        r#"version: 1
args:
  MESSAGE: from the spec
stages:
  app:
    from: busybox:latest
    steps:
      - run: echo "$MESSAGE" > /message
"#,
    );
    let image = Image::new("bake");
    std::fs::write(
        dir.path.join("docker-bake.hcl"),
        format!(
            r#"target "app" {{
  context = "."
  dockerfile = "build.yaml"
  tags = ["{}"]
  args = {{ MESSAGE = "from bake" }}
  labels = {{ "org.example.baked" = "yes" }}
  output = ["type=docker"]
}}
"#,
            image.0
        ),
    )
    .unwrap();
    let out = run(docker_cmd().current_dir(&dir.path).args([
        "buildx",
        "bake",
        "--progress=plain",
        "app",
    ]));
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(file_in(&image, "/message"), "from bake\n");
    assert_eq!(image_config(&image.0)["Labels"]["org.example.baked"], "yes");
}

// ------------------------------------- the containerd-store daemon's tests

/// The tests on that daemon prune its cache: one at a time.
static CONTAINERD_DAEMON: Mutex<()> = Mutex::new(());

fn on_containerd_daemon(dir: &TempDir, extra: &[&str]) -> String {
    let out = run(containerd_store_daemon()
        .cmd()
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(dir.path.join("build.yaml"))
        .args(extra)
        .arg(&dir.path));
    assert!(out.ok, "build failed:\n{}", out.stderr);
    out.stderr
}

/// Empties the private daemon's build cache.
fn prune_containerd_daemon() {
    let out = run(containerd_store_daemon()
        .cmd()
        .args(["builder", "prune", "-af"]));
    assert!(out.ok, "{}", out.stderr);
}

/// One platform's image in an OCI layout.
struct OciImage {
    platform: String,
    config: serde_json::Value,
    /// Layer blobs, bottom first.
    layers: Vec<PathBuf>,
}

fn oci_blob(layout: &Path, digest: &str) -> PathBuf {
    layout.join("blobs").join(digest.replace(':', "/"))
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The images of an OCI layout, following nested indexes; attestation
/// manifests (platform unknown/unknown) are left out.
fn oci_images(layout: &Path) -> Vec<OciImage> {
    let mut images = Vec::new();
    let mut pending = vec![read_json(&layout.join("index.json"))];
    while let Some(index) = pending.pop() {
        for entry in index["manifests"].as_array().into_iter().flatten() {
            let blob = read_json(&oci_blob(layout, entry["digest"].as_str().unwrap()));
            if blob["manifests"].is_array() {
                pending.push(blob);
                continue;
            }
            let platform = &entry["platform"];
            if platform["os"] == "unknown" {
                continue;
            }
            images.push(OciImage {
                platform: format!(
                    "{}/{}",
                    platform["os"].as_str().unwrap(),
                    platform["architecture"].as_str().unwrap()
                ),
                config: read_json(&oci_blob(
                    layout,
                    blob["config"]["digest"].as_str().unwrap(),
                )),
                layers: blob["layers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| oci_blob(layout, l["digest"].as_str().unwrap()))
                    .collect(),
            });
        }
    }
    images.sort_by(|a, b| a.platform.cmp(&b.platform));
    images
}

/// Unpacks an image's layers, in order, into `root`.
fn unpack_layers(image: &OciImage, root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    for layer in &image.layers {
        // GNU tar finds out itself whether a layer is compressed.
        let out = run(Command::new("tar")
            .arg("-xf")
            .arg(layer)
            .arg("-C")
            .arg(root));
        assert!(out.ok, "{}", out.stderr);
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn multi_platform_builds_one_image_per_platform_and_the_build_platform_stage_once() {
    let _one_at_a_time = CONTAINERD_DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    // The base is a linux/amd64 + linux/386 busybox the daemon script
    // pushed; the 386 step runs the i386 busybox natively.
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
stages:
  generate:
    from: busybox:latest
    platform: ${{BUILDPLATFORM}}
    steps:
      - run: echo {} $(cat /proc/sys/kernel/random/uuid) > /generated
  app:
    from: 127.0.0.1:5000/stagecraft-e2e/busybox:multi
    steps:
      - copy: /generated
        from: generate
        to: /generated
      - run: echo "$TARGETARCH $(od -An -tx1 -j4 -N1 /proc/self/exe)" > /arch
    image:
      labels: {{org.example.arch: "${{TARGETARCH}}"}}
"#,
        unique("run")
    ));
    let archive = dir.path.join("out.tar");
    let progress = on_containerd_daemon(
        &dir,
        &[
            "--platform",
            "linux/amd64,linux/386",
            "--output",
            &format!("type=oci,dest={}", archive.display()),
        ],
    );
    // The build-platform stage ran once for both targets; the target
    // stages once per platform, each named with its platform.
    assert_eq!(
        vertex_count(&progress, "[linux/amd64 generate 2/2] RUN"),
        1,
        "{progress}"
    );
    for platform in ["linux/amd64", "linux/386"] {
        assert_eq!(
            vertex_count(&progress, &format!("[{platform} app 3/3] RUN")),
            1,
            "{progress}"
        );
    }

    let layout = dir.path.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    let untar = run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&layout));
    assert!(untar.ok, "{}", untar.stderr);
    let images = oci_images(&layout);
    let platforms: Vec<&str> = images.iter().map(|i| i.platform.as_str()).collect();
    assert_eq!(platforms, ["linux/386", "linux/amd64"]);

    let mut generated = BTreeSet::new();
    // (architecture, ELF class of the process that ran: 01 = 32-bit)
    for (image, arch, class) in [(&images[0], "386", "01"), (&images[1], "amd64", "02")] {
        assert_eq!(image.config["architecture"], arch);
        assert_eq!(image.config["os"], "linux");
        assert_eq!(image.config["config"]["Labels"]["org.example.arch"], arch);
        let root = dir.path.join(arch);
        unpack_layers(image, &root);
        let ran = std::fs::read_to_string(root.join("arch")).unwrap();
        assert_eq!(ran.split_whitespace().collect::<Vec<_>>(), [arch, class]);
        generated.insert(std::fs::read_to_string(root.join("generated")).unwrap());
    }
    assert_eq!(generated.len(), 1, "both got the same generated file");
}

/// A spec whose steps write random ids: a step taken from a cache gives
/// the id of the build that ran it.
fn random_ids_spec() -> TempDir {
    TempDir::with_spec(&format!(
        r#"version: 1
stages:
  app:
    from: busybox:latest
    steps:
      - run: echo {} $(cat /proc/sys/kernel/random/uuid) > /first
      - run: cat /proc/sys/kernel/random/uuid > /second
"#,
        unique("cache")
    ))
}

const FIRST_STEP: &str = "[app 2/3] RUN echo";
const SECOND_STEP: &str = "[app 3/3] RUN cat /proc/sys/kernel/random/uuid > /second";

/// Builds into `dir/<name>` and returns the ids the steps wrote.
fn build_random_ids(dir: &TempDir, name: &str, extra: &[&str]) -> (String, (String, String)) {
    let out = dir.path.join(name);
    let mut args = vec![format!("--output=type=local,dest={}", out.display())];
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let progress = on_containerd_daemon(dir, &args);
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    (progress, (read("first"), read("second")))
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn cache_exported_to_a_directory_is_imported_after_a_prune() {
    let _one_at_a_time = CONTAINERD_DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let dir = random_ids_spec();
    let cache = dir.path.join("cache");
    let (_, exported) = build_random_ids(
        &dir,
        "first",
        &[&format!(
            "--cache-to=type=local,dest={},mode=max",
            cache.display()
        )],
    );
    prune_containerd_daemon();
    let (progress, imported) = build_random_ids(
        &dir,
        "second",
        &[&format!("--cache-from=type=local,src={}", cache.display())],
    );
    assert!(vertex_cached(&progress, FIRST_STEP), "{progress}");
    assert!(vertex_cached(&progress, SECOND_STEP), "{progress}");
    assert_eq!(imported, exported);
    // Without the import the same build runs the steps again.
    prune_containerd_daemon();
    let (progress, rebuilt) = build_random_ids(&dir, "third", &[]);
    assert!(!vertex_cached(&progress, SECOND_STEP), "{progress}");
    assert_ne!(rebuilt.1, exported.1);
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn inline_cache_pushed_to_the_registry_is_imported_after_a_prune() {
    let _one_at_a_time = CONTAINERD_DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let dir = random_ids_spec();
    let reference = format!("127.0.0.1:5000/stagecraft-e2e/inline-cache:{}", unique("t"));
    on_containerd_daemon(
        &dir,
        &[
            "--cache-to=type=inline",
            &format!("--output=type=image,name={reference},push=true"),
        ],
    );
    prune_containerd_daemon();
    let (progress, imported) = build_random_ids(
        &dir,
        "imported",
        &[&format!("--cache-from=type=registry,ref={reference}")],
    );
    assert!(vertex_cached(&progress, FIRST_STEP), "{progress}");
    assert!(vertex_cached(&progress, SECOND_STEP), "{progress}");
    // The ids are those of the image the first build pushed.
    let pushed = docker_on_containerd(&["run", "--rm", &reference, "cat", "/first", "/second"]);
    assert_eq!(pushed, format!("{}{}", imported.0, imported.1));
}

fn docker_on_containerd(args: &[&str]) -> String {
    let out = run(containerd_store_daemon().cmd().args(args));
    assert!(out.ok, "docker {args:?}: {}", out.stderr);
    out.stdout
}
