//! End-to-end tests of `docker buildx build` flags on Stagecraft specs:
//! each builds a small inline spec through the real daemon and checks the
//! effect of the flag (files, image config, progress output, cache hits),
//! not only that the build succeeds. Secrets and SSH, cache mounts, the
//! `--print` requests and the containerd-store daemon's flags have files
//! of their own (`e2e_secrets.rs`, `e2e_cache.rs`, `e2e_print.rs`,
//! `e2e_platforms.rs`).

mod support;

use std::collections::BTreeSet;

use support::*;

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
