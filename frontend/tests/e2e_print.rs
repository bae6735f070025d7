//! End-to-end tests of `--print` / `--call`: targets, outline, describe.

mod support;

use support::*;

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn outline_lists_args_that_only_steps_use() {
    let dir = TempDir::with_spec(
        r#"version: 1
args:
  CACHE_NS: apt
  DEST: /opt/app
  NOT_USED: x
stages:
  app:
    from: busybox:latest
    steps:
      - copy: /etc/passwd
        from: busybox:latest
        to: ${DEST}/
      - run: "true"
        mounts:
          - {type: cache, target: /var/cache/apt, id: "${CACHE_NS}-cache"}
"#,
    );
    let outline: serde_json::Value =
        serde_json::from_str(&print_request(&dir, &["--print=outline,format=json"])).unwrap();
    let names: Vec<&str> = outline["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["CACHE_NS", "DEST"], "{outline}");
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
    for request in ["outline", "targets", "lint", "subrequests.describe"] {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().next() == Some(request)),
            "{text}"
        );
    }
}
