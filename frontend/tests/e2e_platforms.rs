//! End-to-end tests that need the containerd image store: multi-platform
//! builds, the OCI exporter, and cache export other than inline. buildx
//! refuses them for the docker driver on the classic store, so they run on
//! a private second daemon beside the suite's (see
//! [`support::containerd_store_daemon`]).

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use support::*;

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

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_cache_id_with_targetarch_keeps_one_cache_per_platform() {
    let _one_at_a_time = CONTAINERD_DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    let cache = unique("stagecraft-e2e-arch");
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  ROUND: "0"
stages:
  app:
    from: 127.0.0.1:5000/stagecraft-e2e/busybox:multi
    steps:
      - run: touch /c/$TARGETARCH-$ROUND && ls /c > /seen
        mounts:
          - {{type: cache, target: /c, id: "{cache}-${{TARGETARCH}}"}}
"#
    ));
    let out = dir.path.join("out");
    for round in ["one", "two"] {
        on_containerd_daemon(
            &dir,
            &[
                "--platform",
                "linux/amd64,linux/386",
                "--build-arg",
                &format!("ROUND={round}"),
                "--output",
                &format!("type=local,dest={}", out.display()),
            ],
        );
    }
    // Each platform's second run sees its own first run, not the other's.
    for arch in ["amd64", "386"] {
        let seen = std::fs::read_to_string(out.join(format!("linux_{arch}/seen"))).unwrap();
        assert_eq!(seen, format!("{arch}-one\n{arch}-two\n"), "linux/{arch}");
    }
}
