//! End-to-end tests of `--secret` and `--ssh`: what reaches the step, and
//! that nothing of it reaches the Definition, the config or a layer.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

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
