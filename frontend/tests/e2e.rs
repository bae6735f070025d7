//! End-to-end tests: real builds through a real Docker daemon and the
//! `stagecraft:dev` frontend image, checking what ends up in the images.
//!
//! They need the environment `make e2e-env` brings up and the image `make
//! image` builds, so they are `#[ignore]`d in a plain `cargo test`; `make
//! test` runs them with `--ignored`. Asked for without a daemon, they fail.

mod support;

use support::*;

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn go_hello_builds_a_tiny_scratch_image_that_runs() {
    let image = build_example("go-hello", &[]);
    let out = docker(&["run", "--rm", &image, "a", "b"]);
    assert_eq!(out.stdout, "hello from stagecraft\nargs: [a b]\n");

    let config = image_config(&image);
    assert_eq!(config["Entrypoint"], serde_json::json!(["/hello"]));
    assert_eq!(config["User"], "65532");
    assert_eq!(
        config["Labels"]["org.opencontainers.image.title"],
        "go-hello"
    );
    // Only the binary was selected from the builder: no compiler, no sources.
    assert_eq!(image_files(&image), vec!["hello"]);
    let size = image_size(&image);
    assert!(size < 5_000_000, "go-hello is {size} bytes");

    let builder = build_example_target("go-hello", "build");
    report_size("go-hello", size, image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn the_frontend_image_is_one_small_binary_that_asks_for_no_network() {
    let image = "stagecraft:dev";
    let size = image_size(image);
    assert!(size < 5_000_000, "the frontend image is {size} bytes");
    assert_eq!(image_files(image), vec!["stagecraft"]);
    let config = image_config(image);
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/stagecraft", "frontend"])
    );
    let labels = &config["Labels"];
    // Without it BuildKit sets up a network namespace for the frontend's
    // container on every build: ~0.1 s of a cached rebuild.
    assert_eq!(labels["moby.buildkit.frontend.network.none"], "true");
    let caps = labels["moby.buildkit.frontend.caps"].as_str().unwrap_or("");
    for cap in ["inputs", "subrequests", "contexts"] {
        assert!(
            caps.contains(&format!("moby.buildkit.frontend.{cap}")),
            "{caps}"
        );
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn docker_build_uses_the_frontend_too() {
    let tag = "stagecraft-e2e-docker-build";
    let out = run(docker_cmd().env("DOCKER_BUILDKIT", "1").args([
        "build",
        "-q",
        "-f",
        "examples/go-hello/build.yaml",
        "-t",
        tag,
        "examples/go-hello",
    ]));
    assert!(out.ok, "docker build failed:\n{}", out.stderr);
    assert_eq!(
        docker(&["run", "--rm", tag]).stdout,
        "hello from stagecraft\n"
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn spec_errors_point_at_file_line_and_column() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    form: busybox\n    steps:\n      - run: echo hi\n",
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("build.yaml:5:5: unknown key `form`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `from`?"),
        "{}",
        out.stderr
    );
    // The offending line is shown, as buildx does for Dockerfiles.
    assert!(
        out.stderr.contains(">>>     form: busybox"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_failing_run_step_is_reported_against_its_yaml_lines() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: echo ok\n      - run: |\n          echo failing\n          exit 3\n",
    );
    let out = buildx_build(&dir.path, &[]);
    assert!(!out.ok);
    assert!(
        out.stderr.contains("[app 3/3] RUN echo failing exit 3"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("exit code: 3"), "{}", out.stderr);
    assert!(out.stderr.contains("build.yaml:8"), "{}", out.stderr);
    assert!(out.stderr.contains(">>>       - run: |"), "{}", out.stderr);
    assert!(
        out.stderr.contains(">>>           exit 3"),
        "{}",
        out.stderr
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn an_identical_second_build_is_fully_cached() {
    let dir = TempDir::with_spec(
        "version: 1\nstages:\n  app:\n    from: busybox:latest\n    steps:\n      - run: date > /built-at\n      - write: /etc/greeting\n        content: hi\n",
    );
    std::fs::write(dir.path.join("data.txt"), "data").unwrap();
    let first = buildx_build(&dir.path, &[]);
    assert!(first.ok, "{}", first.stderr);
    let second = buildx_build(&dir.path, &[]);
    assert!(second.ok, "{}", second.stderr);
    for step in [
        "[app 2/3] RUN date > /built-at",
        "[app 3/3] WRITE /etc/greeting",
    ] {
        assert!(
            vertex_cached(&second.stderr, step),
            "{step} was not cached:\n{}",
            second.stderr
        );
    }
}

/// Files of `image` that its base image does not have.
fn files_added_to(base: &str, image: &str) -> Vec<String> {
    let base: std::collections::BTreeSet<String> = image_files(base).into_iter().collect();
    image_files(image)
        .into_iter()
        .filter(|f| !base.contains(f))
        .collect()
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn parallel_builds_client_and_server_that_talk_to_each_other() {
    let image = build_example("parallel", &[]);
    // Exactly one artifact from each branch.
    assert_eq!(
        image_files(&image),
        vec!["usr/bin/client", "usr/bin/server"]
    );
    let config = image_config(&image);
    assert_eq!(config["Entrypoint"], serde_json::json!(["/usr/bin/server"]));
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");
    assert_eq!(config["User"], "65532");

    let server = Container::start(&image, &[]);
    let network = format!("container:{}", server.id);
    let client = || {
        run(docker_cmd().args([
            "run",
            "--rm",
            "--network",
            &network,
            "--entrypoint",
            "/usr/bin/client",
            &image,
        ]))
    };
    // The server may still be starting: retry for a few seconds.
    let mut reply = client();
    for _ in 0..50 {
        if reply.ok {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        reply = client();
    }
    assert_eq!(
        reply.stdout,
        "client 1.0 got: hello from server 1.0\n",
        "{}\n{}",
        reply.stderr,
        server.logs()
    );

    let builder = build_example_target("parallel", "server");
    report_size("parallel", image_size(&image), image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn c_tool_is_a_slim_debian_with_only_the_binary() {
    let image = build_example("c-tool", &[]);
    assert_eq!(
        files_added_to("debian:bookworm-slim", &image),
        vec!["usr/local/bin/wordfreq"]
    );
    let config = image_config(&image);
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/wordfreq"])
    );
    assert_eq!(config["Cmd"], serde_json::json!(["--serve", "8080"]));
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");
    assert_eq!(config["User"], "65534");
    assert_eq!(
        docker(&["run", "--rm", &image, "--version"]).stdout,
        "wordfreq 1.0.0\n"
    );
    let no_toolchain = run(docker_cmd().args([
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        &image,
        "-c",
        "command -v gcc || command -v cc || command -v make",
    ]));
    assert!(
        !no_toolchain.ok,
        "toolchain in the image: {}",
        no_toolchain.stdout
    );

    // The default command serves on the exposed port.
    let server = Container::start(&image, &[]);
    let request = "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'POST / HTTP/1.0\\r\\nContent-Length: 19\\r\\n\\r\\nthe cat and the hat' >&3 && cat <&3";
    let reply = server.exec_until_ok(&["bash", "-c", request]);
    assert!(
        reply.stdout.ends_with("5 words, most frequent: the (2)\n"),
        "{}{}\n{}",
        reply.stdout,
        reply.stderr,
        server.logs()
    );

    let builder = build_example_target("c-tool", "build");
    report_size("c-tool", image_size(&image), image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn python_app_serves_with_compiled_deps_but_no_compiler() {
    let image = build_example("python-app", &[]);
    let config = image_config(&image);
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["python3", "-m", "app.main"])
    );
    let env = config["Env"].to_string();
    assert!(env.contains("PYTHONPATH=/opt/deps"), "{env}");
    assert!(env.contains("PORT=8000"), "{env}");
    assert_eq!(config["WorkingDir"], "/srv");

    let added = files_added_to("debian:bookworm-slim", &image);
    assert!(added.iter().any(|f| f == "srv/app/main.py"), "{added:?}");
    assert!(added.iter().any(|f| f.starts_with("opt/deps/flask/")));
    for unwanted in ["bin/gcc", "bin/pip", "include/python3", "requirements.txt"] {
        assert!(
            !added.iter().any(|f| f.contains(unwanted)),
            "{unwanted} is in the image"
        );
    }

    let app = Container::start(&image, &[]);
    let fetch = |path: &str| {
        let code = format!(
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000{path}').read().decode(), end='')"
        );
        app.exec_until_ok(&["python3", "-c", &code])
    };
    let page = fetch("/");
    assert_eq!(page.stdout, "<h1>hello, world</h1>\n", "{}", app.logs());
    let health: serde_json::Value = serde_json::from_str(&fetch("/health").stdout).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["speedups"], true,
        "MarkupSafe's C extension was built"
    );

    let builder = build_example_target("python-app", "deps");
    report_size("python-app", image_size(&image), image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn static_site_serves_only_the_generated_pages() {
    let image = build_example("static-site", &[]);
    assert_eq!(
        files_added_to("busybox:1.35", &image),
        vec![
            "etc/localtime",
            "www/about.html",
            "www/howto.html",
            "www/index.html"
        ]
    );
    let config = image_config(&image);
    assert_eq!(config["User"], "65534");
    assert!(config["ExposedPorts"]["8080/tcp"].is_object(), "{config}");

    let server = Container::start(&image, &[]);
    let index = server.exec_until_ok(&["wget", "-qO-", "http://127.0.0.1:8080/"]);
    assert!(
        index
            .stdout
            .contains(r#"<li><a href="about.html">About this site</a></li>"#),
        "{}{}",
        index.stdout,
        server.logs()
    );
    let about = server.exec_until_ok(&["wget", "-qO-", "http://127.0.0.1:8080/about.html"]);
    assert!(
        about.stdout.contains("<em>Markdown</em>"),
        "{}",
        about.stdout
    );
    // The zone file copied from Debian sets the clock's zone (CET or CEST).
    let zone = server.exec_until_ok(&["date", "+%Z"]).stdout;
    assert!(zone.starts_with("CE"), "time zone {zone}");

    let builder = build_example_target("static-site", "generate");
    report_size("static-site", image_size(&image), image_size(&builder));
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn matrix_builds_two_programs_for_two_architectures_into_one_image() {
    let dir = repo().join("examples/matrix");
    let tag = "stagecraft-e2e-matrix";
    let out = buildx_build(&dir, &["--load", "-t", tag]);
    assert!(out.ok, "building example matrix failed:\n{}", out.stderr);
    // The four variants are stages of their own: each built once.
    for variant in ["hello-amd64", "hello-386", "sum-amd64", "sum-386"] {
        let step = format!("[build-{variant} 1/1] RUN go build");
        assert!(out.stderr.contains(&step), "{step}:\n{}", out.stderr);
    }
    // Every binary runs here (an amd64 kernel runs 386 programs) and was
    // built for its architecture.
    for arch in ["amd64", "386"] {
        let hello = docker(&[
            "run",
            "--rm",
            "--entrypoint",
            &format!("/opt/build-hello-{arch}/hello"),
            tag,
        ]);
        assert_eq!(hello.stdout, format!("hello from linux/{arch}\n"));
        let sum = docker(&[
            "run",
            "--rm",
            "--entrypoint",
            &format!("/opt/build-sum-{arch}/sum"),
            tag,
            "2",
            "40",
        ]);
        assert_eq!(sum.stdout, format!("42 ({arch})\n"));
    }
    let files = image_files(tag);
    assert_eq!(
        files,
        [
            "opt/build-hello-386/hello",
            "opt/build-hello-amd64/hello",
            "opt/build-sum-386/sum",
            "opt/build-sum-amd64/sum"
        ]
    );

    // `--print=targets` lists the variants, not the matrix stage itself.
    let mut cmd = docker_cmd();
    cmd.env("BUILDX_EXPERIMENTAL", "1")
        .args(["buildx", "build", "--print=targets", "-f"])
        .arg(dir.join("build.yaml"))
        .arg(&dir);
    let targets = run(&mut cmd);
    assert!(targets.ok, "{}", targets.stderr);
    for variant in ["build-hello-amd64", "build-sum-386"] {
        assert!(
            targets.stdout.lines().any(|l| l.starts_with(variant)),
            "{}",
            targets.stdout
        );
    }
    assert!(
        !targets.stdout.lines().any(|l| l.starts_with("build ")),
        "{}",
        targets.stdout
    );
    let _ = run(docker_cmd().args(["rmi", "-f", tag]));
}
