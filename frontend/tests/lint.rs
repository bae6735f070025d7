//! The linter through `stagecraft check` and through the `frontend.lint`
//! answer: tests/lint/all-rules.yaml gives every rule's warning once, at
//! the line its `# lint: Rule` comment marks; the examples give none;
//! `lint:` in a spec skips rules or makes warnings errors; docs/lint.md
//! describes every rule.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use stagecraft::compile::CompileOptions;
use stagecraft::lint::{self, RULES};
use stagecraft::llb::Platform;
use support::{repo, run, Output, TempDir};

const ALL_RULES: &str = "tests/lint/all-rules.yaml";

fn check(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    cmd.current_dir(repo()).arg("check").args(args);
    run(&mut cmd)
}

/// (line, rule) of each `# lint: Rule` comment.
fn markers(text: &str) -> BTreeSet<(u32, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rule = line.split("# lint: ").nth(1)?;
            Some((i as u32 + 1, rule.trim().to_string()))
        })
        .collect()
}

/// (line, rule) of each `file:line:col: warning: Rule: …` line.
fn warnings(stderr: &str) -> Vec<(u32, String)> {
    stderr
        .lines()
        .filter_map(|line| {
            let (place, rest) = line.split_once(": warning: ")?;
            let line_number = place.split(':').nth(1)?.parse().ok()?;
            let rule = rest.split(':').next()?;
            Some((line_number, rule.to_string()))
        })
        .collect()
}

#[test]
fn all_rules_spec_warns_once_per_rule_at_the_marked_lines() {
    let out = check(&[ALL_RULES]);
    assert!(out.ok, "warnings alone exit 0:\n{}", out.stderr);
    assert_eq!(out.stdout, "", "check writes nothing to stdout");
    let text = std::fs::read_to_string(repo().join(ALL_RULES)).unwrap();
    let found = warnings(&out.stderr);
    let expected: Vec<(u32, String)> = markers(&text).into_iter().collect();
    assert_eq!(found, expected, "{}", out.stderr);
    let rules: BTreeSet<&str> = found.iter().map(|(_, r)| r.as_str()).collect();
    let every: BTreeSet<&str> = RULES.iter().map(|r| r.name).collect();
    assert_eq!(rules, every, "the spec must trigger every rule");
    assert!(RULES.len() >= 12);
    // Each warning has its hint and the rule's section of docs/lint.md.
    assert!(out.stderr.contains(
        "\n  hint: remove the `platform:` line (docs/lint.md#redundanttargetplatform)\n"
    ));
    assert!(
        out.stderr.starts_with(&format!(
            "{ALL_RULES}:10:3: warning: UnusedArg: arg `LEFTOVER` is declared but never used\n"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn every_example_has_no_warning() {
    let examples = std::fs::read_dir(repo().join("examples")).unwrap();
    let mut checked = 0;
    for dir in examples {
        let spec = dir.unwrap().path().join("build.yaml");
        let out = check(&[spec.to_str().unwrap()]);
        assert!(
            out.ok && out.stderr.is_empty(),
            "{}:\n{}",
            spec.display(),
            out.stderr
        );
        checked += 1;
    }
    assert!(checked >= 5, "{checked} examples");
}

const ROOT_IMAGE: &str = "version: 1\nstages:\n  app:\n    from: debian:bookworm-slim\n";

fn check_spec(spec: &str) -> Output {
    let dir = TempDir::with_spec(spec);
    let path = dir.path.join("build.yaml");
    check(&[path.to_str().unwrap()])
}

#[test]
fn skip_turns_rules_off() {
    let warned = check_spec(ROOT_IMAGE);
    assert_eq!(
        warnings(&warned.stderr),
        vec![(4, "RootUser".to_string())],
        "{}",
        warned.stderr
    );
    let skipped = check_spec(&format!("{ROOT_IMAGE}lint:\n  skip: [RootUser]\n"));
    assert!(
        skipped.ok && skipped.stderr.is_empty(),
        "{}",
        skipped.stderr
    );
    let all = check_spec(&format!("{ROOT_IMAGE}lint: {{skip: [all]}}\n"));
    assert!(all.ok && all.stderr.is_empty(), "{}", all.stderr);
}

#[test]
fn error_true_makes_warnings_fail_the_check() {
    let out = check_spec(&format!("{ROOT_IMAGE}lint:\n  error: true\n"));
    assert!(!out.ok);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(lines[0].ends_with("build.yaml:4:3: warning: RootUser: the final image `app` sets no `user`, so it runs as the base image's user, which for most images is root"), "{}", out.stderr);
    let error = lines
        .iter()
        .find(|l| l.starts_with("error: "))
        .expect("an error line");
    assert!(
        error.ends_with("build.yaml:7:10: 1 lint warning (RootUser) and `lint: {error: true}`"),
        "{}",
        out.stderr
    );
    // Without warnings, `error: true` changes nothing.
    let clean = check_spec(&format!(
        "{ROOT_IMAGE}    image: {{user: \"1000\"}}\nlint: {{error: true}}\n"
    ));
    assert!(clean.ok && clean.stderr.is_empty(), "{}", clean.stderr);
}

#[test]
fn a_skip_naming_no_rule_is_an_error_with_a_suggestion() {
    let out = check_spec(&format!("{ROOT_IMAGE}lint:\n  skip: [RootUsr]\n"));
    assert!(!out.ok);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: ")
            && lines[0].ends_with("build.yaml:7:10: `RootUsr` is not a lint rule"),
        "{}",
        out.stderr
    );
    assert_eq!(*lines.last().unwrap(), "  hint: did you mean `RootUser`?");
    let unknown_key = check_spec(&format!("{ROOT_IMAGE}lint:\n  skipp: [RootUser]\n"));
    assert!(
        !unknown_key.ok && unknown_key.stderr.contains("unknown key `skipp`"),
        "{}",
        unknown_key.stderr
    );
}

#[test]
fn dockerignore_of_the_context_is_read() {
    let dir = TempDir::with_spec(&format!(
        "{ROOT_IMAGE}    image: {{user: \"1000\"}}\n    steps:\n      - copy: notes.txt\n"
    ));
    let spec = dir.path.join("build.yaml");
    let spec = spec.to_str().unwrap();
    assert!(check(&[spec]).stderr.is_empty());
    std::fs::write(dir.path.join(".dockerignore"), "*.txt\n").unwrap();
    let found = warnings(&check(&[spec]).stderr);
    assert_eq!(found, vec![(8, "CopyIgnoredFile".to_string())]);
    // --context names another directory, whose .dockerignore counts.
    let elsewhere = TempDir::with_spec("");
    let out = check(&[spec, "--context", elsewhere.path.to_str().unwrap()]);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn docs_describe_every_rule() {
    let docs = std::fs::read_to_string(repo().join("docs/lint.md")).unwrap();
    for rule in RULES {
        assert!(
            docs.contains(&format!("\n## {}\n", rule.name)),
            "docs/lint.md has no `## {}`",
            rule.name
        );
        assert_eq!(
            rule.url(),
            format!("docs/lint.md#{}", rule.name.to_ascii_lowercase())
        );
    }
}

fn lint_file(path: &Path) -> (stagecraft::spec::Spec, lint::Report) {
    let spec = stagecraft::spec::parse(ALL_RULES, &std::fs::read(path).unwrap()).unwrap();
    let ignore = vec!["secrets.txt".to_string()];
    let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    let report = lint::lint(&spec, &options, &ignore).unwrap();
    (spec, report)
}

#[test]
fn the_lint_result_has_buildkits_shape() {
    let (spec, report) = lint_file(&repo().join(ALL_RULES));
    let answer = lint::buildkit_results(&spec, &report);
    assert_eq!(
        answer.status, 1,
        "warnings make buildx exit 1, as for a Dockerfile"
    );
    let json = &answer.json;
    let list = json["warnings"].as_array().unwrap();
    assert_eq!(list.len(), RULES.len());
    let expected: Vec<u64> = markers(&spec.text).iter().map(|(l, _)| *l as u64).collect();
    let lines: Vec<u64> = list
        .iter()
        .map(|w| {
            w["location"]["ranges"][0]["start"]["line"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(lines, expected);
    let first = &list[0];
    assert_eq!(first["ruleName"], "UnusedArg");
    assert_eq!(first["url"], "docs/lint.md#unusedarg");
    assert_eq!(first["location"]["sourceIndex"], 0);
    assert_eq!(first["location"]["ranges"][0]["start"]["character"], 2);
    assert!(first["detail"]
        .as_str()
        .unwrap()
        .contains("\nhint: remove it"));
    let source = &json["sources"][0];
    assert_eq!(source["filename"], ALL_RULES);
    assert_eq!(source["language"], "YAML");
    let data = base64::engine::general_purpose::STANDARD
        .decode(source["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, spec.text.as_bytes());
    assert!(json.get("buildError").is_none());
    // The text BuildKit's printer makes: rule, URL, detail, marked lines.
    assert!(answer.text.starts_with("\nWARNING: UnusedArg - docs/lint.md#unusedarg\narg `LEFTOVER` is declared but never used\nhint: "), "{}", answer.text);
    assert!(
        answer
            .text
            .contains(&format!("{ALL_RULES}:10\n--------------------\n")),
        "{}",
        answer.text
    );
    assert!(
        answer.text.contains("  10 | >>>   LEFTOVER: \"x\""),
        "{}",
        answer.text
    );
}

#[test]
fn lint_errors_carry_their_place() {
    let text = "version: 1\nstages:\n  app:\n    from: debian:bookworm-slim\nlint: {error: true}\n";
    let spec = stagecraft::spec::parse("b.yaml", text.as_bytes()).unwrap();
    let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    let report = lint::lint(&spec, &options, &[]).unwrap();
    let answer = lint::buildkit_results(&spec, &report);
    let error = &answer.json["buildError"];
    assert_eq!(error["message"], "b.yaml:5:15: 1 lint warning (RootUser) and `lint: {error: true}` (fix what the warnings say, or list the rules under `lint: {skip: […]}`)");
    assert_eq!(error["location"]["ranges"][0]["start"]["line"], 5);

    let invalid = "version: 1\nstages:\n  app:\n    form: scratch\n";
    let error = stagecraft::spec::parse("b.yaml", invalid.as_bytes()).unwrap_err();
    let answer = lint::buildkit_spec_error(&error, invalid);
    assert_eq!(answer.status, 1);
    assert_eq!(answer.json["warnings"], serde_json::json!([]));
    let error = &answer.json["buildError"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("b.yaml:4:5: unknown key `form`"),
        "{error}"
    );
    assert_eq!(error["location"]["ranges"][0]["start"]["line"], 4);
}

/// The longest chain of stages a spec may have is linted without
/// recursion: a small stack suffices.
#[test]
fn the_longest_chain_of_stages_lints_on_a_small_stack() {
    let mut text = String::from("version: 1\nstages:\n  s0:\n    from: scratch\n");
    for i in 1..1_000 {
        text.push_str(&format!(
            "  s{i}:\n    from: s{}\n    steps:\n      - run: echo $X{i}\n",
            i - 1
        ));
    }
    let found = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let spec = stagecraft::spec::parse("chain.yaml", text.as_bytes()).unwrap();
            let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
            lint::lint(&spec, &options, &[]).unwrap().warnings.len()
        })
        .unwrap()
        .join()
        .expect("no stack overflow or panic");
    // 999 undefined variables, and the final image runs as root.
    assert_eq!(found, 1_000);
}

/// Edits of the all-rules spec (each a character deleted, or a token
/// inserted at a line's start) that still parse are linted without a
/// panic.
#[test]
fn edits_of_the_all_rules_spec_lint_without_panic() {
    let text = std::fs::read_to_string(repo().join(ALL_RULES)).unwrap();
    let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    let ignore = vec![
        "secrets.txt".to_string(),
        "!x".to_string(),
        "**/a[b-".to_string(),
    ];
    let mut edits: Vec<String> = Vec::new();
    let bounds: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .collect();
    for pair in bounds.windows(2) {
        let mut deleted = text.clone();
        deleted.replace_range(pair[0]..pair[1], "");
        edits.push(deleted);
    }
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset + line.len() - line.trim_start().len();
        for inserted in ["$", "${", "'", "\"", "- run: $X\n", "\\", "é"] {
            let mut grown = text.clone();
            grown.insert_str(start, inserted);
            edits.push(grown);
        }
        offset += line.len();
    }
    let mut linted = 0;
    for edit in &edits {
        let Ok(spec) = stagecraft::spec::parse(ALL_RULES, edit.as_bytes()) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| lint::lint(&spec, &options, &ignore));
        assert!(outcome.is_ok(), "lint panicked on:\n{edit}");
        linted += 1;
    }
    assert!(
        linted > 500,
        "only {linted} of {} edits parsed",
        edits.len()
    );
}
