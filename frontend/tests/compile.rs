//! Compiling without a daemon: every example compiles to the expected
//! graph, compilation is deterministic, and the schema is current.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use stagecraft::compile::{self, CompileOptions, Offline};
use stagecraft::llb::{self, Platform};
use stagecraft::spec;
use stagecraft_proto::{pb, Message};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn options() -> CompileOptions {
    CompileOptions::new(Platform::parse("linux/amd64").unwrap())
}

fn compile_text(name: &str, text: &str, options: &CompileOptions) -> pb::Definition {
    let spec = spec::parse(name, text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    compile::compile(&spec, options, &Offline)
        .unwrap_or_else(|e| panic!("{e}"))
        .definition
}

fn examples() -> Vec<(String, String)> {
    let mut list: Vec<(String, String)> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let dir = e.ok()?.path();
            let text = std::fs::read_to_string(dir.join("build.yaml")).ok()?;
            Some((dir.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    list.sort();
    assert!(!list.is_empty(), "no examples found");
    list
}

/// The readable dump of each example is kept under tests/snapshots; any
/// change to the compiled graph shows up as a diff there. Regenerate with
/// `UPDATE_SNAPSHOTS=1 cargo test`.
#[test]
fn every_example_matches_its_snapshot() {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    for (name, text) in examples() {
        let def = compile_text("build.yaml", &text, &options());
        let mut dump = serde_json::to_string_pretty(&llb::dump(&def)).unwrap();
        dump.push('\n');
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots")
            .join(format!("{name}.json"));
        if update {
            std::fs::write(&path, &dump).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("no snapshot for {name}; run UPDATE_SNAPSHOTS=1 cargo test")
        });
        assert!(expected == dump, "example {name} compiles differently from {}; run UPDATE_SNAPSHOTS=1 cargo test and review the diff", path.display());
    }
}

#[test]
fn every_op_decodes_and_the_result_op_is_last() {
    for (name, text) in examples() {
        let def = compile_text("build.yaml", &text, &options());
        let ops: Vec<pb::Op> = def
            .def
            .iter()
            .map(|b| pb::Op::decode(b.as_slice()).unwrap())
            .collect();
        let (last, rest) = ops.split_last().unwrap();
        assert!(
            last.op.is_none() && last.inputs.len() == 1,
            "{name}: last op must be the result"
        );
        assert!(
            rest.iter().all(|o| o.op.is_some()),
            "{name}: only the last op is empty"
        );
        // Inputs come before the ops that use them.
        let mut seen = BTreeSet::new();
        for bytes in &def.def {
            let op = pb::Op::decode(bytes.as_slice()).unwrap();
            for input in &op.inputs {
                assert!(
                    seen.contains(&input.digest),
                    "{name}: input {} used before it is defined",
                    input.digest
                );
            }
            seen.insert(llb::digest_of(bytes));
        }
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    for (name, text) in examples() {
        let mut o = options();
        o.build_args.insert("UNUSED".into(), "x".into());
        let a = compile_text("build.yaml", &text, &o).encode_to_vec();
        let b = compile_text("build.yaml", &text, &o).encode_to_vec();
        assert_eq!(a, b, "{name} is not deterministic");
    }
}

/// Op digests depend on what is built, not on where it is written: moving
/// stages around in the file changes only the source map.
#[test]
fn reordering_stages_keeps_every_op_digest() {
    let first = "version: 1\nstages:\n  base:\n    from: debian:bookworm-slim\n    steps:\n      - run: echo base\n  app:\n    from: base\n    steps:\n      - run: echo app\n      - copy: src\n        to: /src\ntarget: app\n";
    let second = "version: 1\ntarget: app\nstages:\n  app:\n    from: base\n    steps:\n      - run: echo app\n      - copy: src\n        to: /src\n  base:\n    from: debian:bookworm-slim\n    steps:\n      - run: echo base\n";
    let digests = |text: &str| -> BTreeSet<String> {
        compile_text("build.yaml", text, &options())
            .def
            .iter()
            .map(|b| llb::digest_of(b))
            .collect()
    };
    assert_eq!(digests(first), digests(second));
    let a = compile_text("build.yaml", first, &options());
    let b = compile_text("build.yaml", second, &options());
    assert_ne!(a.source, b.source, "the source map follows the file");
}

/// Changing an arg changes only the steps that mention it (and what
/// depends on them).
#[test]
fn an_arg_only_invalidates_the_steps_that_use_it() {
    let text = "version: 1\nargs:\n  V: one\nstages:\n  a:\n    from: debian:bookworm-slim\n    steps:\n      - run: echo untouched\n      - run: echo $V\n";
    let names = |v: &str| -> BTreeMap<String, String> {
        let mut o = options();
        o.build_args.insert("V".into(), v.into());
        let dump = llb::dump(&compile_text("build.yaml", text, &o));
        dump["ops"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|op| {
                Some((
                    op["name"].as_str()?.to_string(),
                    op["digest"].as_str()?.to_string(),
                ))
            })
            .collect()
    };
    let (one, two) = (names("one"), names("two"));
    assert_eq!(
        one["[a 2/3] RUN echo untouched"],
        two["[a 2/3] RUN echo untouched"]
    );
    assert_ne!(one["[a 3/3] RUN echo $V"], two["[a 3/3] RUN echo $V"]);
}

/// Only the context paths the build reads are transferred.
#[test]
fn the_context_transfer_is_limited_to_the_paths_used() {
    let text = "version: 1\nstages:\n  a:\n    from: scratch\n    steps:\n      - copy: src/\n        to: /src\n      - copy: [go.mod, ./cmd/main.go]\n        to: /\n";
    let dump = llb::dump(&compile_text("build.yaml", text, &options()));
    let local = dump["ops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["source"]["identifier"] == "local://context")
        .unwrap();
    assert_eq!(
        local["source"]["attrs"]["local.includepattern"],
        r#"["cmd/main.go","go.mod","src"]"#
    );
}

/// Stages the target does not need are not compiled at all.
#[test]
fn unreachable_stages_are_left_out() {
    let text = "version: 1\nstages:\n  broken:\n    from: debian:bookworm-slim\n    steps:\n      - run: exit 1\n  app:\n    from: debian:bookworm-slim\n    steps:\n      - run: echo ok\n";
    let dump =
        serde_json::to_string(&llb::dump(&compile_text("build.yaml", text, &options()))).unwrap();
    assert!(!dump.contains("exit 1"));
    assert!(dump.contains("echo ok"));
}

/// In `parallel`, the client and server branches share only the base.
#[test]
fn parallel_branches_share_only_the_base() {
    let Some((_, text)) = examples().into_iter().find(|(n, _)| n == "parallel") else {
        panic!("examples/parallel is missing");
    };
    let dump = llb::dump(&compile_text("build.yaml", &text, &options()));
    let ops = dump["ops"].as_array().unwrap();
    // digest → (name, input digests)
    let graph: BTreeMap<String, (String, Vec<String>)> = ops
        .iter()
        .map(|o| {
            let inputs = o["inputs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| i.as_str().unwrap().rsplit_once(':').unwrap().0.to_string())
                .collect();
            (
                o["digest"].as_str().unwrap().to_string(),
                (o["name"].as_str().unwrap_or("").to_string(), inputs),
            )
        })
        .collect();
    let name_of = |d: &str| graph[d].0.clone();
    let ancestry = |stage: &str| -> BTreeSet<String> {
        let mut todo: Vec<String> = graph
            .iter()
            .filter(|(_, (n, _))| n.starts_with(&format!("[{stage} ")))
            .map(|(d, _)| d.clone())
            .collect();
        assert!(!todo.is_empty(), "no ops for stage {stage}");
        let mut seen = BTreeSet::new();
        while let Some(d) = todo.pop() {
            if seen.insert(d.clone()) {
                todo.extend(graph[&d].1.iter().cloned());
            }
        }
        seen
    };
    let (client, server) = (ancestry("client"), ancestry("server"));
    for shared in client.intersection(&server) {
        let name = name_of(shared);
        assert!(
            name.starts_with("[base ") || name.starts_with("[internal]"),
            "client and server share `{name}`"
        );
    }
    assert!(
        client.iter().any(|d| name_of(d).starts_with("[base ")),
        "client builds on base"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let committed =
        std::fs::read_to_string(repo().join("docs/stagecraft.schema.json")).unwrap_or_default();
    assert!(
        committed == spec::json_schema(),
        "docs/stagecraft.schema.json is stale: run `make schema`"
    );
}

#[test]
fn a_compiled_definition_round_trips_through_the_cli_format() {
    let (_, text) = examples().into_iter().next().unwrap();
    let def = compile_text("build.yaml", &text, &options());
    let bytes = def.encode_to_vec();
    assert_eq!(pb::Definition::decode(bytes.as_slice()).unwrap(), def);
    let _: Value = llb::dump(&def);
}

#[test]
fn an_unknown_target_points_at_the_stage_it_most_likely_meant() {
    let text = "version: 1\nstages:\n  build:\n    from: scratch\n  app:\n    from: build\n";
    let spec = spec::parse("build.yaml", text.as_bytes()).unwrap();
    let mut options = options();
    options.target = Some("ap".to_string());
    let error = compile::compile(&spec, &options, &Offline)
        .expect_err("an unknown target is an error")
        .to_string();
    assert!(
        error.starts_with(
            "build.yaml:5:3: target stage `ap` (from --target) is not defined in this spec"
        ),
        "{error}"
    );
    assert!(error.contains("did you mean `app`?"), "{error}");

    options.target = Some("release".to_string());
    let error = compile::compile(&spec, &options, &Offline)
        .expect_err("an unknown target is an error")
        .to_string();
    assert!(error.starts_with("build.yaml:3:3: "), "{error}");
    assert!(error.contains("stages are: build, app"), "{error}");
}
