//! Conversions read back through the project's own spec reader: every
//! emitted spec must parse and say exactly what the Dockerfile says.

use super::convert;
use crate::spec::{self, Command, StepKind};

fn spec_of(dockerfile: &str) -> spec::Spec {
    let converted = convert("Dockerfile", dockerfile).unwrap_or_else(|e| panic!("{e}"));
    spec::parse("build.yaml", converted.yaml.as_bytes())
        .unwrap_or_else(|e| panic!("{e}\n{}", converted.yaml))
}

/// `value` shows the string `text` (as `String` or a located value: the
/// checks hold whichever way the spec model wraps its strings).
fn shows(value: &impl std::fmt::Debug, text: &str) -> bool {
    format!("{value:?}").contains(&format!("{text:?}"))
}

fn error_of(dockerfile: &str) -> String {
    convert("Dockerfile", dockerfile)
        .expect_err("an error")
        .to_string()
}

/// Strings YAML would misread unless quoted or block-scalared.
const TRICKY: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "null",
    "~",
    "true",
    "0755",
    "1e3",
    "0x1F",
    "12:30",
    "1.22",
    "key: value",
    "a #comment",
    "*alias",
    "&anchor",
    "!tag",
    "%directive",
    "@at",
    "`tick",
    "- dash",
    "? question",
    "[flow]",
    "{map}",
    "'single'",
    "\"double\"",
    "trailing ",
    " leading",
    "two\nlines",
    "ends with newline\n",
    "tab\tinside",
    "back\\slash",
    "unicode é ✓",
    "|",
    ">",
    ",comma",
    "#",
    "",
    "nel\u{85}",
    "line\u{2028}sep",
    "bom\u{feff}",
    "bell\u{7}",
    "nonchar\u{ffff}",
];

#[test]
fn comments_with_control_characters_stay_comments() {
    let spec = spec_of("# a \u{1d} b\u{2028}c\nFROM busybox\n# trailing \u{7}\n");
    assert_eq!(spec.stages.len(), 1);
}

#[test]
fn tricky_strings_survive_the_round_trip_in_every_position() {
    for text in TRICKY {
        let json = serde_json::to_string(text).expect("a JSON string");
        // Exec-form RUN keeps the text as written (JSON in the Dockerfile).
        let dockerfile = format!(
            "FROM scratch\nRUN [\"/bin/echo\", {json}]\nLABEL tricky=\"{}\"\n",
            text.replace(['\n', '\t'], " ")
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        );
        let spec = spec_of(&dockerfile);
        let stage = &spec.stages[0];
        let StepKind::Run(run) = &stage.steps[0].kind else {
            panic!("a run step")
        };
        assert_eq!(
            run.command,
            Command::Exec(vec!["/bin/echo".into(), text.to_string()]),
            "{text:?}"
        );
        let label = &stage.image.labels[0].1.value;
        assert_eq!(label, &text.replace(['\n', '\t'], " "), "{text:?}");
    }
}

#[test]
fn heredoc_text_survives_the_round_trip() {
    for text in TRICKY.iter().filter(|t| !t.is_empty() && !t.contains('\n')) {
        let dockerfile = format!("FROM busybox\nRUN <<EOF\n{text}\nsecond line: {text}\nEOF\nCOPY <<'DOC' /doc.txt\n{text} $HOME\nDOC\n");
        let spec = spec_of(&dockerfile);
        let steps = &spec.stages[0].steps;
        let StepKind::Run(run) = &steps[0].kind else {
            panic!("a run step")
        };
        assert_eq!(
            run.command,
            Command::Shell(format!("{text}\nsecond line: {text}\n")),
            "{text:?}"
        );
        let StepKind::Write(write) = &steps[1].kind else {
            panic!("a write step")
        };
        // `$` is doubled: the spec substitutes `${}` in a write's content.
        let expected = format!("{} $$HOME\n", text.replace('$', "$$"));
        assert!(shows(&write.content, &expected), "{text:?}");
    }
}

#[test]
fn env_values_and_paths_round_trip() {
    let spec = spec_of("FROM busybox\nENV A=\"x: y\" B='#not a comment' C=yes D=0755 E=$$ F=\"a\\\"b\"\nRUN true\nENV G=\"two words\"\n");
    let stage = &spec.stages[0];
    let env: Vec<(&str, &str)> = stage
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        env,
        vec![
            ("A", "x: y"),
            ("B", "#not a comment"),
            ("C", "yes"),
            ("D", "0755"),
            ("E", ""),
            ("F", "a\"b")
        ]
    );
    assert_eq!(stage.image.env[0].1.value, "two words");
}

#[test]
fn every_corpus_dockerfile_converts_to_a_spec_that_checks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/convert");
    let mut count = 0;
    for entry in std::fs::read_dir(&root).expect("tests/convert") {
        let path = entry.expect("an entry").path().join("Dockerfile");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let converted =
            convert("Dockerfile", &text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        spec::parse("build.yaml", converted.yaml.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), converted.yaml));
        // Deterministic: the same Dockerfile gives the same bytes.
        assert_eq!(
            convert("Dockerfile", &text).expect("again").yaml,
            converted.yaml
        );
        count += 1;
    }
    assert!(count >= 25, "{count} corpus Dockerfiles");
}

#[test]
fn mid_stage_changes_become_per_step_options() {
    let spec = spec_of("FROM busybox\nWORKDIR /a\nUSER 1\nRUN one\nWORKDIR b\nUSER 2\nENV X=1\nRUN two\nCOPY f g\n");
    let stage = &spec.stages[0];
    assert_eq!(stage.workdir.as_ref().unwrap().value, "/a");
    assert_eq!(stage.user.as_ref().unwrap().value, "1");
    let StepKind::Run(two) = &stage.steps[3].kind else {
        panic!("run")
    };
    assert_eq!(two.workdir.as_ref().unwrap().value, "/a/b");
    assert_eq!(two.user.as_ref().unwrap().value, "2");
    assert_eq!(two.env[0].0, "X");
    let StepKind::Copy(copy) = &stage.steps[4].kind else {
        panic!("copy")
    };
    assert_eq!(copy.to.as_ref().unwrap().value, "/a/b/g");
    assert_eq!(stage.image.workdir.as_ref().unwrap().value, "/a/b");
    assert_eq!(stage.image.user.as_ref().unwrap().value, "2");
}

#[test]
fn args_out_of_scope_are_masked_and_in_scope_args_passed_on() {
    let converted = convert(
        "Dockerfile",
        "ARG V=1\nFROM busybox\nRUN echo $V\nARG V\nRUN ./build.sh\n",
    )
    .unwrap();
    assert_eq!(converted.warnings.len(), 1, "{:?}", converted.warnings);
    let spec = spec::parse("b.yaml", converted.yaml.as_bytes()).unwrap();
    let steps = &spec.stages[0].steps;
    let StepKind::Run(first) = &steps[0].kind else {
        panic!("run")
    };
    assert_eq!(
        (first.env[0].0.as_str(), first.env[0].1.value.as_str()),
        ("V", "")
    );
    let StepKind::Run(second) = &steps[1].kind else {
        panic!("run")
    };
    assert_eq!(
        (second.env[0].0.as_str(), second.env[0].1.value.as_str()),
        ("V", "${V}")
    );
}

#[test]
fn errors_name_the_line_and_column() {
    assert!(error_of("FROM busybox\nONBUILD RUN x\n").starts_with("Dockerfile:2:1: ONBUILD"));
    assert!(error_of("FROM busybox\nCOPY --nope a b\n").starts_with("Dockerfile:2:6: unknown flag"));
}

/// Flags the daemon's built-in Dockerfile frontend (1.7) only has in its
/// `labs` syntax, so the equivalence corpus cannot build them.
#[test]
fn labs_flags_convert() {
    let spec = spec_of(
        "FROM busybox\nCOPY --parents --exclude=*.tmp --exclude=cache/ src/a/x.txt src/b/ /dst/\nRUN --security=insecure --network=none true\n",
    );
    let steps = &spec.stages[0].steps;
    let StepKind::Copy(copy) = &steps[0].kind else {
        panic!("copy")
    };
    assert!(copy.parents);
    assert!(shows(&copy.exclude, "*.tmp") && shows(&copy.exclude, "cache/"));
    assert_eq!(copy.exclude.len(), 2);
    assert_eq!(copy.sources.len(), 2);
    let StepKind::Run(run) = &steps[1].kind else {
        panic!("run")
    };
    assert!(run.insecure);
    assert_eq!(run.network, Some(spec::Network::None));
}

#[test]
fn secrets_as_env_and_ssh_ids_convert() {
    let spec = spec_of("FROM busybox\nRUN --mount=type=secret,id=tok,env=TOKEN,required --mount=type=ssh,id=gh true\n");
    let StepKind::Run(run) = &spec.stages[0].steps[0].kind else {
        panic!("run")
    };
    let secret = &run.mounts[0].kind;
    assert!(matches!(
        secret,
        spec::MountKind::Secret { required: true, .. }
    ));
    assert!(shows(secret, "tok") && shows(secret, "TOKEN"), "{secret:?}");
    let ssh = &run.mounts[1].kind;
    assert!(
        matches!(ssh, spec::MountKind::Ssh { .. }) && shows(ssh, "gh"),
        "{ssh:?}"
    );
}

#[test]
fn every_mount_option_converts() {
    let spec = spec_of(
        "FROM busybox AS a\nFROM busybox\nWORKDIR /w\nRUN --mount=type=cache,target=c,id=x,sharing=locked,from=a,source=/s,mode=0700,uid=1,gid=2 \\\n    --mount=type=tmpfs,dst=/t,size=64m --mount=type=secret,target=/run/secrets/tok,required=true,mode=0440,uid=3 \\\n    --mount=type=ssh,id=gh,required --mount=from=0,src=/bin,target=/b,rw true\n",
    );
    let StepKind::Run(run) = &spec.stages[1].steps[1].kind else {
        panic!("run")
    };
    let kinds: Vec<String> = run.mounts.iter().map(|m| format!("{:?}", m.kind)).collect();
    let all = kinds.join("\n");
    for expected in [
        "Cache {",
        "\"/w/c\"",
        "\"x\"",
        "Locked",
        "\"a\"",
        "\"/s\"",
        "448",
        "Some(1)",
        "Some(2)",
        "Tmpfs {",
        "\"/t\"",
        "67108864",
        "Secret {",
        "\"tok\"",
        "\"/run/secrets/tok\"",
        "288",
        "Some(3)",
        "Ssh {",
        "\"gh\"",
        "Bind {",
        "\"/b\"",
        "\"/bin\"",
    ] {
        assert!(all.contains(expected), "{expected}\nnot in\n{all}");
    }
    for (n, on) in [
        (2, "required: true"),
        (3, "required: true"),
        (4, "rw: true"),
    ] {
        assert!(kinds[n].contains(on), "{on} not in {}", kinds[n]);
    }
}
