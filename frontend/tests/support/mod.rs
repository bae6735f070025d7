//! Helpers for the end-to-end tests: run docker, build specs, inspect images.

#![allow(dead_code)] // each test file uses a different subset

mod builds;

#[allow(unused_imports)] // not every test file builds with flags
pub use builds::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root (tests run with the crate dir as cwd).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// The CLI and environment that reach the daemon the suite runs on, chosen
/// by `STAGECRAFT_E2E_DAEMON` (see [`daemon`]).
pub struct Daemon {
    /// `docker 28.5.2+dfsg4`: prefixes every failure message.
    pub label: String,
    /// The docker CLI to run.
    pub cli: String,
    /// `DOCKER_HOST`, `DOCKER_CONFIG`… for that CLI (none: the process's own).
    pub env: Vec<(String, String)>,
}

impl Daemon {
    /// A docker command on this daemon.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(&self.cli);
        cmd.current_dir(repo())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The daemon a setup script prints as `KEY=VALUE` lines (`DOCKER=`
    /// the CLI, the rest its environment).
    fn from_script(args: &[&str]) -> Daemon {
        let out = run(Command::new("bash").args(args).current_dir(repo()));
        assert!(out.ok, "{} failed:\n{}", args.join(" "), out.stderr);
        let mut cli = None;
        let mut env = Vec::new();
        for line in out.stdout.lines() {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("{} printed {line:?}, not KEY=VALUE", args[0]));
            match key {
                "DOCKER" => cli = Some(value.to_string()),
                _ => env.push((key.to_string(), value.to_string())),
            }
        }
        let cli = cli.unwrap_or_else(|| std::env::var("DOCKER").unwrap_or_else(|_| default_cli()));
        Daemon::labelled(cli, env)
    }

    /// The process's own docker (`DOCKER`, else /usr/bin/docker).
    fn from_environment() -> Daemon {
        Daemon::labelled(
            std::env::var("DOCKER").unwrap_or_else(|_| default_cli()),
            Vec::new(),
        )
    }

    fn labelled(cli: String, env: Vec<(String, String)>) -> Daemon {
        let mut daemon = Daemon {
            label: String::new(),
            cli,
            env,
        };
        let version = run(daemon
            .cmd()
            .args(["version", "--format", "{{.Server.Version}}"]));
        assert!(
            version.ok,
            "the test daemon does not answer ({}):\n{}",
            daemon.cli, version.stderr
        );
        daemon.label = format!("docker {}", version.stdout.trim());
        daemon
    }
}

fn default_cli() -> String {
    if Path::new("/usr/bin/docker").exists() {
        "/usr/bin/docker".into()
    } else {
        "docker".into()
    }
}

/// The daemon the suite runs on. `STAGECRAFT_E2E_DAEMON=newest`: Debian
/// testing's dockerd that `scripts/e2e-newest-daemon.sh` starts (and
/// prints the CLI, `DOCKER_HOST` and `DOCKER_CONFIG` of); unset: the
/// environment's (`DOCKER`, `DOCKER_HOST`…), the main dockerd of
/// `scripts/e2e-env.sh` by default. From the first call on, every panic
/// message of the test process starts with the daemon's label.
pub fn daemon() -> &'static Daemon {
    static DAEMON: OnceLock<Daemon> = OnceLock::new();
    DAEMON.get_or_init(|| {
        let daemon = match which_daemon().as_str() {
            "newest" => Daemon::from_script(&["scripts/e2e-newest-daemon.sh"]),
            _ => Daemon::from_environment(),
        };
        name_the_daemon_in_panics(&daemon.label);
        daemon
    })
}

fn which_daemon() -> String {
    let which = std::env::var("STAGECRAFT_E2E_DAEMON").unwrap_or_default();
    assert!(
        matches!(which.as_str(), "" | "main" | "newest"),
        "STAGECRAFT_E2E_DAEMON={which:?}: expected `main` or `newest`"
    );
    which
}

/// The daemon with the containerd image store beside [`daemon`], for
/// multi-platform builds, the OCI exporter and cache export: dockerd 26's
/// `scripts/e2e-containerd-daemon.sh`, or the newest one's twin.
pub fn containerd_store_daemon() -> &'static Daemon {
    static DAEMON: OnceLock<Daemon> = OnceLock::new();
    DAEMON.get_or_init(|| {
        let main = daemon();
        let store = match which_daemon().as_str() {
            "newest" => {
                Daemon::from_script(&["scripts/e2e-newest-daemon.sh", "--containerd-store"])
            }
            _ => Daemon::from_script(&["scripts/e2e-containerd-daemon.sh"]),
        };
        assert_eq!(
            store.label, main.label,
            "the containerd-store daemon runs another version"
        );
        store
    })
}

/// Prefixes every panic message (assertion failures included) with the
/// daemon's label, so a failure says which daemon it happened on.
fn name_the_daemon_in_panics(label: &str) {
    let label = label.to_string();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "Box<dyn Any>".into());
        let thread = std::thread::current();
        let location = info
            .location()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        eprintln!(
            "thread '{}' panicked{location}:\n[{label}] {message}",
            thread.name().unwrap_or("<unnamed>")
        );
        if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
            eprintln!("{}", std::backtrace::Backtrace::force_capture());
        }
    }));
}

/// A docker command on the daemon the suite runs on.
pub fn docker_cmd() -> Command {
    daemon().cmd()
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs docker and insists it succeeds.
pub fn docker(args: &[&str]) -> Output {
    let out = run(docker_cmd().args(args));
    assert!(
        out.ok,
        "docker {} failed:\n{}\n{}",
        args.join(" "),
        out.stdout,
        out.stderr
    );
    out
}

/// `docker buildx build` of `dir/build.yaml` with plain progress.
pub fn buildx_build(dir: &Path, extra: &[&str]) -> Output {
    let spec = dir.join("build.yaml");
    let mut cmd = docker_cmd();
    cmd.args(["buildx", "build", "--progress=plain", "-f"])
        .arg(&spec);
    cmd.args(extra).arg(dir);
    run(&mut cmd)
}

/// Builds `examples/NAME` and loads it as `stagecraft-e2e-NAME`.
pub fn build_example(name: &str, extra: &[&str]) -> String {
    let tag = format!("stagecraft-e2e-{name}");
    let dir = repo().join("examples").join(name);
    let mut args = vec!["--load", "-t", &tag];
    args.extend_from_slice(extra);
    let out = buildx_build(&dir, &args);
    assert!(out.ok, "building example {name} failed:\n{}", out.stderr);
    tag
}

pub fn build_example_target(name: &str, target: &str) -> String {
    let tag = format!("stagecraft-e2e-{name}-{target}");
    let dir = repo().join("examples").join(name);
    let out = buildx_build(&dir, &["--load", "-t", &tag, "--target", target]);
    assert!(
        out.ok,
        "building {name} --target {target} failed:\n{}",
        out.stderr
    );
    tag
}

pub fn image_config(image: &str) -> serde_json::Value {
    let out = docker(&["image", "inspect", "-f", "{{json .Config}}", image]);
    serde_json::from_str(out.stdout.trim()).expect("docker prints JSON")
}

pub fn image_size(image: &str) -> u64 {
    docker(&["image", "inspect", "-f", "{{.Size}}", image])
        .stdout
        .trim()
        .parse()
        .expect("a size")
}

/// Files (not directories) in the image's filesystem, sorted, without
/// the few that Docker itself puts into every container.
pub fn image_files(image: &str) -> Vec<String> {
    // A command is given because scratch images may have none.
    let id = docker(&["create", image, "true"]).stdout.trim().to_string();
    let daemon = daemon();
    let listing = run(Command::new("sh")
        .args(["-c", r#""$0" export "$1" | tar -t"#, &daemon.cli, &id])
        .envs(daemon.env.iter().map(|(k, v)| (k, v))));
    docker(&["rm", &id]);
    assert!(listing.ok, "docker export failed: {}", listing.stderr);
    let mut files: Vec<String> = listing
        .stdout
        .lines()
        .filter(|l| !l.ends_with('/'))
        .filter(|l| {
            !matches!(
                *l,
                ".dockerenv" | "etc/hostname" | "etc/hosts" | "etc/resolv.conf" | "etc/mtab"
            )
        })
        .filter(|l| !l.starts_with("dev/") && !l.starts_with("proc/") && !l.starts_with("sys/"))
        .map(str::to_string)
        .collect();
    files.sort();
    files
}

/// Progress output shows `#N [stage n/m] … ` then `#N CACHED` for a hit.
pub fn vertex_cached(progress: &str, name: &str) -> bool {
    let Some(line) = progress
        .lines()
        .find(|l| l.contains(name) && l.starts_with('#'))
    else {
        return false;
    };
    let id = line.split_whitespace().next().unwrap();
    progress.lines().any(|l| l.trim() == format!("{id} CACHED"))
}

/// Appends to the size report printed at the end of `make test`.
pub fn report_size(example: &str, final_size: u64, builder_size: u64) {
    let key = format!("[{}] {example}:", daemon().label);
    let line = format!(
        "{key} final {:.1} MB, builder stage {:.1} MB ({:.0}x smaller)\n",
        final_size as f64 / 1e6,
        builder_size as f64 / 1e6,
        builder_size as f64 / final_size.max(1) as f64
    );
    eprint!("{line}");
    // Tests run on several threads; the file is rewritten as a whole.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let path = repo().join("target").join("e2e-sizes.txt");
    let _ = std::fs::create_dir_all(path.parent().unwrap());
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&key))
        .map(str::to_string)
        .collect();
    lines.push(line.trim_end().to_string());
    lines.sort();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// A temporary build directory with a spec, removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn with_spec(spec: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "stagecraft-e2e-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(
            path.join("build.yaml"),
            format!("# syntax=stagecraft:dev\n{spec}"),
        )
        .unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A container running in the background, removed on drop.
pub struct Container {
    pub id: String,
}

impl Container {
    /// `docker run -d IMAGE ARGS…`.
    pub fn start(image: &str, args: &[&str]) -> Container {
        let mut run_args = vec!["run", "-d", image];
        run_args.extend_from_slice(args);
        Container {
            id: docker(&run_args).stdout.trim().to_string(),
        }
    }

    /// Runs `cmd` in the container until it succeeds (the server in it may
    /// still be starting), for at most ~10 s; returns the last output.
    pub fn exec_until_ok(&self, cmd: &[&str]) -> Output {
        let mut args = vec!["exec", self.id.as_str()];
        args.extend_from_slice(cmd);
        let mut out = run(docker_cmd().args(&args));
        for _ in 0..50 {
            if out.ok {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            out = run(docker_cmd().args(&args));
        }
        out
    }

    pub fn logs(&self) -> String {
        let out = run(docker_cmd().args(["logs", &self.id]));
        out.stdout + &out.stderr
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = run(docker_cmd().args(["rm", "-f", &self.id]));
    }
}
