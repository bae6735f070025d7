//! `stagecraft graph`: the picture of a spec, as DOT and Mermaid.
//!
//! The SVG test renders with Debian's graphviz (installed by
//! scripts/e2e-env.sh), so it runs with the end-to-end tests.

mod support;

use std::process::{Command, Stdio};

use support::repo;

fn graph(example: &str, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .arg("graph")
        .arg(repo().join("examples").join(example).join("build.yaml"))
        .args(extra)
        .output()
        .expect("stagecraft runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn the_target_s_stages_are_set_apart_and_copies_are_labelled() {
    let dot = graph("parallel", &["--target", "server"]);
    let line = |id: &str| {
        dot.lines()
            .find(|l| l.trim_start().starts_with(&format!("\"{id}\" [label=")))
            .unwrap_or_else(|| panic!("no node {id}:\n{dot}"))
            .to_string()
    };
    assert!(line("server").contains("server (target)"), "{dot}");
    assert!(line("base").contains("#1a73e8"), "needed: {dot}");
    for unneeded in ["client", "app"] {
        assert!(line(unneeded).contains("#9aa0a6"), "{unneeded}: {dot}");
    }
    assert!(
        dot.contains("\"client\" -> \"app\" [label=\"/out/client\", style=dashed];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"debian:bookworm-slim\" -> \"base\" [label=\"from\"];"),
        "{dot}"
    );
}

#[test]
fn matrix_variants_are_grouped_and_fan_in() {
    let dot = graph("matrix", &[]);
    assert!(
        dot.contains("subgraph cluster_0 {\n    label=\"matrix build\";"),
        "{dot}"
    );
    for variant in [
        "build-hello-amd64",
        "build-hello-386",
        "build-sum-amd64",
        "build-sum-386",
    ] {
        assert!(
            dot.contains(&format!(
                "\"{variant}\" -> \"app\" [label=\"/out/\", style=dashed];"
            )),
            "{dot}"
        );
    }
    let mermaid = graph("matrix", &["--format", "mermaid"]);
    assert!(
        mermaid.starts_with("flowchart LR\n  subgraph m_build[\"matrix build\"]\n"),
        "{mermaid}"
    );
    assert_eq!(mermaid.matches("-.->").count(), 4, "{mermaid}");
}

/// The picture in the README: rendered by graphviz here, so the DOT is
/// known to parse, and compared with the committed file (regenerate with
/// `UPDATE_GRAPH=1 cargo test --test graph -- --ignored`).
#[test]
#[ignore = "needs graphviz (scripts/e2e-env.sh installs it): run `make test`"]
fn the_readme_picture_is_what_graphviz_draws_of_the_matrix_example() {
    let dot = graph("matrix", &[]);
    let mut render = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphviz's dot is installed");
    use std::io::Write;
    render
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = render.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dot refused the graph: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "dot warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(
        svg.contains("build&#45;hello&#45;386") || svg.contains("build-hello-386"),
        "{svg}"
    );
    let committed = repo().join("docs/graph-matrix.svg");
    if std::env::var_os("UPDATE_GRAPH").is_some() {
        std::fs::write(&committed, &svg).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        expected == svg,
        "docs/graph-matrix.svg is stale: run UPDATE_GRAPH=1 cargo test --test graph -- --ignored"
    );
}
