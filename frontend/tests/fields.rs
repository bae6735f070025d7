//! The one description of which fields take `${ARG}` (spec/fields.rs)
//! holds for the whole spec: every field of the JSON Schema is either an
//! arg field or a literal one, and every arg field is substituted on the
//! way to the Definition and the image config.

use std::collections::BTreeSet;

use serde_json::Value;
use stagecraft::compile::{self, CompileOptions, Offline};
use stagecraft::llb::{self, Platform};
use stagecraft::spec::fields::{self, Field, ARG_FIELDS, LITERAL_FIELDS};
use stagecraft::spec::{self};

/// Every (schema type, key) the published schema has.
fn schema_fields() -> BTreeSet<(String, String)> {
    let schema: Value = serde_json::from_str(&spec::json_schema()).unwrap();
    let mut found = BTreeSet::new();
    let mut add = |owner: &str, object: &Value| {
        for key in object["properties"].as_object().into_iter().flatten() {
            found.insert((owner.to_string(), key.0.clone()));
        }
    };
    add("SpecFile", &schema);
    for (name, def) in schema["$defs"].as_object().unwrap() {
        add(name, def);
    }
    found
}

fn named(f: &Field) -> (String, String) {
    (f.owner.to_string(), f.key.to_string())
}

#[test]
fn every_schema_field_takes_args_or_is_literal_and_not_both() {
    let args: BTreeSet<_> = ARG_FIELDS.iter().map(|(f, _)| named(f)).collect();
    let literal: BTreeSet<_> = LITERAL_FIELDS.iter().map(named).collect();
    assert!(
        args.is_disjoint(&literal),
        "both: {:?}",
        args.intersection(&literal).collect::<Vec<_>>()
    );
    let described: BTreeSet<_> = args.union(&literal).cloned().collect();
    let schema = schema_fields();
    let missing: Vec<_> = schema.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "schema fields that spec/fields.rs does not classify (add each to ARG_FIELDS or LITERAL_FIELDS): {missing:?}"
    );
    let stale: Vec<_> = described.difference(&schema).collect();
    assert!(
        stale.is_empty(),
        "fields.rs names fields the schema lacks: {stale:?}"
    );
}

#[test]
fn the_schema_says_which_fields_take_args() {
    let schema: Value = serde_json::from_str(&spec::json_schema()).unwrap();
    for (f, _) in ARG_FIELDS {
        let description = schema["$defs"][f.owner]["properties"][f.key]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(
            description.contains("Takes `${ARG}`"),
            "{f:?}: {description}"
        );
    }
}

const MARK: &str = "mk7q";
const SUM: &str = "0000000000000000000000000000000000000000000000000000000000000abc";

/// A spec with `${MARK}` (or, where a number or digest is due, `${PORT}`
/// and `${SUM}`) in every field that takes args.
const EVERY_ARG_FIELD: &str = r#"
version: 1
args: {MARK: "", PORT: "", SUM: ""}
stages:
  mk7q-base:
    from: busybox:${MARK}
    platform: linux/${MARK}
    workdir: /w-${MARK}
    user: u-${MARK}
    env: {E: "e-${MARK}:${PATH}"}
  app:
    from: ${MARK}-base
    steps:
      - copy: ["src-${MARK}"]
        from: ${MARK}-base
        to: /to-${MARK}/
        include: ["*.${MARK}"]
        exclude: ["x-${MARK}"]
        chown: ${MARK}
      - run: echo hi
        env: {R: "r-${MARK}"}
        workdir: /rw-${MARK}
        user: ru-${MARK}
        cache: ["/c1-${MARK}"]
        mounts:
          - {type: cache, target: "/c2-${MARK}", id: "id-${MARK}", from: "${MARK}-base", source: "/s-${MARK}"}
          - {type: secret, id: "tok-${MARK}", target: "/run/t-${MARK}"}
      - add: {url: "https://example.invalid/${MARK}.tgz", checksum: "sha256:${SUM}"}
      - add: {git: "https://example.invalid/${MARK}.git", ref: "v-${MARK}"}
      - mkdir: /d-${MARK}
      - write: /f-${MARK}
        content: c-${MARK}
      - remove: /r-${MARK}
    image:
      env: {I: "i-${MARK}"}
      user: iu-${MARK}
      workdir: /iw-${MARK}
      expose: ["${PORT}"]
      labels: {l: "l-${MARK}"}
      volumes: ["/v-${MARK}"]
      stop_signal: SIG${MARK}
"#;

#[test]
fn every_arg_field_is_substituted_into_the_definition_and_the_config() {
    let spec =
        spec::parse("build.yaml", EVERY_ARG_FIELD.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let mut options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    options.source_map = false;
    for (name, value) in [("MARK", MARK), ("PORT", "8089"), ("SUM", SUM)] {
        options
            .build_args
            .insert(name.to_string(), value.to_string());
    }

    // The fixture covers the description: a field added to ARG_FIELDS
    // fails here until this spec uses it.
    let build = stagecraft::resolve::resolve(&spec, &options).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();
    for name in &build.order {
        let mut stage = build.stage(name).clone();
        fields::each_arg_text(&mut stage, &mut |f, text| {
            seen.insert(named(&f));
            // `env` values keep `${PATH}` for the compiler; no arg is left.
            let left = stagecraft::spec::args::references(&text.value).unwrap();
            assert!(
                left.iter().all(|name| name == "PATH"),
                "{f:?} kept `{}`",
                text.value
            );
            let expected = match f.key {
                "expose" => "8089",
                "checksum" => SUM,
                _ => MARK,
            };
            assert!(text.value.contains(expected), "{f:?} is `{}`", text.value);
            Ok(())
        })
        .unwrap();
    }
    let all: BTreeSet<_> = ARG_FIELDS.iter().map(|(f, _)| named(f)).collect();
    let unused: Vec<_> = all.difference(&seen).collect();
    assert!(
        unused.is_empty(),
        "EVERY_ARG_FIELD does not fill {unused:?}"
    );

    let compiled = compile::compile_resolved(&build, &options, &Offline, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let definition = serde_json::to_string(&llb::dump(&compiled.definition)).unwrap();
    let config = String::from_utf8(compiled.image.to_json()).unwrap();
    for (what, text) in [("definition", &definition), ("image config", &config)] {
        assert!(
            !text.contains("${"),
            "the {what} holds an unsubstituted `${{`: {text}"
        );
    }
    for expected in [
        "tok-mk7q",
        "/run/t-mk7q",
        "id-mk7q",
        "/c1-mk7q",
        "/c2-mk7q",
        "/s-mk7q",
        "src-mk7q",
        "/to-mk7q/",
        "*.mk7q",
        "x-mk7q",
        "https://example.invalid/mk7q.tgz",
        "v-mk7q",
        "/d-mk7q",
        "/f-mk7q",
        "/r-mk7q",
        "r-mk7q",
        "/rw-mk7q",
        "ru-mk7q",
        "docker.io/library/busybox:mk7q",
    ] {
        assert!(
            definition.contains(expected),
            "the definition lacks `{expected}`"
        );
    }
    for expected in [
        "i-mk7q",
        "iu-mk7q",
        "/iw-mk7q",
        "8089/tcp",
        "l-mk7q",
        "/v-mk7q",
        "SIGmk7q",
        "e-mk7q:/usr/local/sbin",
    ] {
        assert!(
            config.contains(expected),
            "the image config lacks `{expected}`: {config}"
        );
    }
}
