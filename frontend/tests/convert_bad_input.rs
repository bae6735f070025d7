//! The convert bad-input corpus (tests/convert-bad-input/): every Dockerfile
//! there must give one clear error naming file:line:col, through the real
//! binary, without a panic, a signal, a hang, output on stdout, or an
//! output file left behind.
//!
//! Each `NN-name.Dockerfile` has a sibling `NN-name.expected`: its first
//! line is the exact first line of stderr, its second line (when the error
//! has a hint) the exact hint line. `UPDATE_EXPECTED=1 cargo test --test
//! convert_bad_input` rewrites them; read them before committing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::repo;

const MIN_CASES: usize = 35;

fn corpus() -> (PathBuf, Vec<String>) {
    let dir = repo().join("tests").join("convert-bad-input");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/convert-bad-input")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".Dockerfile"))
        .collect();
    names.sort();
    (dir, names)
}

/// `stagecraft convert NAME -o OUT` in `dir`.
fn convert(dir: &Path, name: &str, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .current_dir(dir)
        .args(["convert", name, "-o"])
        .arg(out)
        .output()
        .expect("stagecraft runs")
}

fn pinned_lines(stderr: &str) -> String {
    let mut lines = vec![stderr.lines().next().unwrap_or("")];
    lines.extend(stderr.lines().find(|l| l.starts_with("  hint: ")));
    lines.join("\n") + "\n"
}

fn check_case(dir: &Path, name: &str, update: bool) -> Result<(), String> {
    let out_file =
        std::env::temp_dir().join(format!("convert-bad-{}-{name}.yaml", std::process::id()));
    let _ = std::fs::remove_file(&out_file);
    let output = convert(dir, name, &out_file);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        None => return Err(format!("{name}: killed by a signal\n{stderr}")),
        Some(0) => return Err(format!("{name}: converted (exit 0)")),
        Some(101) => return Err(format!("{name}: panicked\n{stderr}")),
        Some(_) => {}
    }
    if !output.stdout.is_empty() {
        return Err(format!("{name}: wrote to stdout on failure"));
    }
    if out_file.exists() {
        return Err(format!("{name}: left an output file behind on failure"));
    }
    let first = stderr.lines().next().unwrap_or("");
    let located = first
        .strip_prefix(&format!("error: {name}:"))
        .and_then(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line: u32 = parts.next()?.parse().ok()?;
            let col: u32 = parts.next()?.parse().ok()?;
            Some(line > 0 && col > 0)
        })
        .unwrap_or(false);
    if !located {
        return Err(format!(
            "{name}: the first line does not start with `error: {name}:LINE:COL:`\n{first}"
        ));
    }
    if stderr.lines().count() > 6 {
        return Err(format!(
            "{name}: {} lines of stderr for one error",
            stderr.lines().count()
        ));
    }
    let actual = pinned_lines(&stderr);
    let expected_path = dir.join(name.replace(".Dockerfile", ".expected"));
    if update {
        std::fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path).map_err(|e| {
        format!(
            "{name}: no {} ({e}); run with UPDATE_EXPECTED=1",
            expected_path.display()
        )
    })?;
    if expected != actual {
        return Err(format!(
            "{name}: stderr differs\nexpected:\n{expected}actual:\n{actual}full:\n{stderr}"
        ));
    }
    Ok(())
}

#[test]
fn every_bad_dockerfile_fails_with_its_expected_message() {
    let update = std::env::var("UPDATE_EXPECTED").is_ok_and(|v| v == "1");
    let (dir, names) = corpus();
    assert!(
        names.len() >= MIN_CASES,
        "{} cases; the corpus must have at least {MIN_CASES}",
        names.len()
    );
    let failures: Vec<String> = names
        .iter()
        .filter_map(|name| check_case(&dir, name, update).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_expected_file_has_its_case() {
    let (dir, names) = corpus();
    for entry in std::fs::read_dir(&dir).expect("the corpus") {
        let name = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = name.strip_suffix(".expected") {
            assert!(
                names.contains(&format!("{stem}.Dockerfile")),
                "{name} has no {stem}.Dockerfile"
            );
        }
    }
}

/// A failed conversion leaves an existing output file as it was.
#[test]
fn a_failed_conversion_keeps_the_old_output_file() {
    let (dir, _) = corpus();
    let out = std::env::temp_dir().join(format!("convert-keep-{}.yaml", std::process::id()));
    std::fs::write(&out, "old content\n").expect("a temp file");
    let output = convert(&dir, "01-onbuild.Dockerfile", &out);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&out).expect("still there"),
        "old content\n"
    );
    std::fs::remove_file(&out).expect("removed");
}

/// Small edits of every corpus case and of every equivalence-corpus
/// Dockerfile give an error or a spec, never a panic; and whatever spec
/// comes out is one the spec reader accepts.
#[test]
fn edits_of_dockerfiles_never_panic_and_convert_to_valid_specs() {
    const INSERTED: &[&str] = &[
        "\\", "`", "<<EOF", "\"", "'", "$", "${", "--", "\n", "#", "é", "[",
    ];
    let mut texts = Vec::new();
    let (dir, names) = corpus();
    for name in names {
        texts.push(
            String::from_utf8_lossy(&std::fs::read(dir.join(name)).expect("a case")).into_owned(),
        );
    }
    let good = repo().join("tests").join("convert");
    for entry in std::fs::read_dir(&good).expect("tests/convert") {
        let path = entry.expect("an entry").path().join("Dockerfile");
        if let Ok(text) = std::fs::read_to_string(path) {
            texts.push(text);
        }
    }
    let mut edits = 0;
    for text in &texts {
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        for pair in bounds.windows(2).step_by(7) {
            let mut deleted = text.clone();
            deleted.replace_range(pair[0]..pair[1], "");
            convert_without_panic(&deleted);
            edits += 1;
        }
        for (at, _) in text.match_indices('\n').step_by(2) {
            for inserted in INSERTED {
                let mut grown = text.clone();
                grown.insert_str(at + 1, inserted);
                convert_without_panic(&grown);
                edits += 1;
            }
        }
    }
    assert!(edits > 3_000, "only {edits} edits");
}

fn convert_without_panic(text: &str) {
    let outcome = std::panic::catch_unwind(|| stagecraft::convert::convert("Dockerfile", text));
    match outcome {
        Err(_) => panic!("converting panicked:\n{text}"),
        Ok(Ok(converted)) => {
            if let Err(e) = stagecraft::spec::parse("build.yaml", converted.yaml.as_bytes()) {
                panic!(
                    "the converted spec is invalid: {e}\nDockerfile:\n{text}\nspec:\n{}",
                    converted.yaml
                );
            }
        }
        Ok(Err(e))
            if e.message
                .starts_with(stagecraft::convert::READ_BACK_FAILURE) =>
        {
            panic!("{e}\nDockerfile:\n{text}")
        }
        Ok(Err(_)) => {}
    }
}
