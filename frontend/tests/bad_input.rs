//! The bad-input corpus (tests/bad-input/) and generated hostile inputs:
//! every one must give one clear error naming file:line:col, through the
//! real binary, without a panic, a signal or a hang.
//!
//! Each `NN-name.yaml` has a sibling `NN-name.expected`: its first line is
//! the exact first line of stderr, its second line (when the error has a
//! hint) the exact hint line. `UPDATE_EXPECTED=1 cargo test --test
//! bad_input` rewrites them from the binary's output; read them before
//! committing.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{repo, TempDir};

/// The corpus the project promises; fewer files means some were lost.
const MIN_CASES: usize = 60;
/// Generous: a case takes milliseconds; this only catches hangs.
const TIMEOUT: Duration = Duration::from_secs(10);

struct Run {
    code: Option<i32>,
    stderr: String,
    stdout_len: usize,
}

/// `stagecraft check NAME` in `dir`, killed (and reported) after `TIMEOUT`.
fn check(dir: &Path, name: &str) -> Result<Run, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .current_dir(dir)
        .args(["check", name])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run stagecraft: {e}"))?;
    let stderr = drain(child.stderr.take().expect("piped"));
    let stdout = drain(child.stdout.take().expect("piped"));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`check {name}` did not finish within {TIMEOUT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Run {
        code: status.code(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("reader")).into_owned(),
        stdout_len: stdout.join().expect("reader").len(),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The checks every bad input must pass, whatever its message.
fn assert_clean_failure(name: &str, run: &Run) -> Result<(), String> {
    match run.code {
        None => return Err(format!("{name}: killed by a signal\n{}", run.stderr)),
        Some(0) => return Err(format!("{name}: accepted (exit 0)")),
        Some(101) => return Err(format!("{name}: panicked (exit 101)\n{}", run.stderr)),
        Some(_) => {}
    }
    if run.stdout_len != 0 {
        return Err(format!("{name}: wrote to stdout on failure"));
    }
    let first = run.stderr.lines().next().unwrap_or("");
    if !has_position(first, name) {
        return Err(format!(
            "{name}: the first line does not start with `error: {name}:LINE:COL:`\n{first}"
        ));
    }
    // One error, not a flood: a few lines (message, snippet, hint).
    if run.stderr.lines().count() > 6 || run.stderr.len() > 2_000 {
        return Err(format!(
            "{name}: {} bytes of stderr for one error",
            run.stderr.len()
        ));
    }
    Ok(())
}

/// `error: NAME:LINE:COL: message` with positive LINE and COL.
fn has_position(line: &str, name: &str) -> bool {
    let Some(rest) = line.strip_prefix(&format!("error: {name}:")) else {
        return false;
    };
    let mut parts = rest.splitn(3, ':');
    let number = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok()).is_some_and(|n| n > 0);
    number(parts.next()) && number(parts.next()) && parts.next().is_some_and(|m| m.len() > 1)
}

/// What a `.expected` file pins: the first line and the hint line.
fn pinned_lines(stderr: &str) -> String {
    let mut lines = vec![stderr.lines().next().unwrap_or("")];
    lines.extend(stderr.lines().find(|l| l.starts_with("  hint: ")));
    lines.join("\n") + "\n"
}

fn corpus() -> (PathBuf, Vec<String>) {
    let dir = repo().join("tests").join("bad-input");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    (dir, names)
}

fn check_case(dir: &Path, name: &str, update: bool) -> Result<(), String> {
    let expected_path = dir.join(name.replace(".yaml", ".expected"));
    let run = check(dir, name)?;
    assert_clean_failure(name, &run)?;
    let actual = pinned_lines(&run.stderr);
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
            "{name}: stderr differs from {}\nexpected:\n{expected}actual:\n{actual}full stderr:\n{}",
            expected_path.display(),
            run.stderr
        ));
    }
    Ok(())
}

#[test]
fn every_corpus_case_fails_with_its_expected_message() {
    let update = std::env::var("UPDATE_EXPECTED").is_ok_and(|v| v == "1");
    let (dir, names) = corpus();
    assert!(
        names.len() >= MIN_CASES,
        "the corpus has {} cases; it must have at least {MIN_CASES}",
        names.len()
    );
    let mut failures = Vec::new();
    for name in &names {
        let well_named = name.split_once('-').is_some_and(|(n, rest)| {
            n.len() >= 2 && n.bytes().all(|b| b.is_ascii_digit()) && rest.len() > ".yaml".len()
        });
        if !well_named {
            failures.push(format!("{name}: corpus files are named NN-short-name.yaml"));
        }
        if let Err(e) = check_case(&dir, name, update) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A `.expected` without its case is a case that was lost.
#[test]
fn every_expected_file_has_its_case() {
    let (dir, names) = corpus();
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let name = entry
            .expect("an entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = name.strip_suffix(".expected") {
            assert!(
                names.contains(&format!("{stem}.yaml")),
                "{name} has no {stem}.yaml"
            );
        }
    }
}

/// Small edits of every corpus case give an error or a spec, never a
/// panic: a character deleted (at a sample of places), and a YAML indicator
/// or odd whitespace inserted where each line's content starts (where keys
/// are, which error messages read back).
#[test]
fn edits_of_the_corpus_never_panic() {
    const INSERTED: &[&str] = &[
        ":", "- ", "[", "{", "\t", "\u{3000}", "\"", "*a", "\n", "${", "é",
    ];
    let (dir, names) = corpus();
    let mut edits = 0;
    for name in &names {
        let bytes = std::fs::read(dir.join(name)).expect("a corpus file");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let bounds: Vec<usize> = (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .collect();
        for pair in bounds.windows(2).step_by(3) {
            let mut deleted = text.clone();
            deleted.replace_range(pair[0]..pair[1], "");
            parse_without_panic(name, &deleted);
            edits += 1;
        }
        for at in content_starts(&text) {
            for inserted in INSERTED {
                let mut grown = text.clone();
                grown.insert_str(at, inserted);
                parse_without_panic(name, &grown);
                edits += 1;
            }
        }
    }
    assert!(edits > 5_000, "only {edits} edits");
}

/// Byte offsets where each line's text starts, after its indentation.
fn content_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        starts.push(offset + line.len() - line.trim_start_matches(' ').len());
        offset += line.len();
    }
    starts
}

fn parse_without_panic(name: &str, text: &str) {
    let outcome = std::panic::catch_unwind(|| stagecraft::spec::parse(name, text.as_bytes()));
    assert!(
        outcome.is_ok(),
        "parsing an edit of {name} panicked:\n{text}"
    );
}

// ---------------------------------------------------------------- hostile inputs

/// Inputs made to exhaust a parser: each with the words its error must use.
fn hostile_inputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let header = "version: 1\n";
    let mut bomb =
        format!("{header}x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        bomb.push_str(&format!("x-l{level}: &l{level} [{items}]\n"));
    }
    bomb.push_str("stages:\n  app:\n    from: scratch\n");
    let mut stages = format!("{header}stages:\n  s0:\n    from: scratch\n");
    for i in 1..100_000 {
        stages.push_str(&format!("  s{i}:\n    from: s{}\n", i - 1));
    }
    let deep = 10_000;
    vec![
        (
            "huge.yaml",
            format!("{header}# {}\n", "x".repeat(8 << 20)).into_bytes(),
            "larger than 4 MiB",
        ),
        (
            "alias-bomb.yaml",
            bomb.into_bytes(),
            "aliases expand to more than",
        ),
        (
            "deep-lists.yaml",
            format!("{header}x-deep: {}{}\n", "[".repeat(deep), "]".repeat(deep)).into_bytes(),
            "nested more than 64 levels deep",
        ),
        (
            "deep-maps.yaml",
            format!(
                "{header}x-deep: {}a{}\n",
                "{a: ".repeat(deep),
                "}".repeat(deep)
            )
            .into_bytes(),
            "nested more than 64 levels deep",
        ),
        (
            "deep-block-lists.yaml",
            format!(
                "{header}x-deep:\n{}",
                (1..2_000)
                    .map(|i| format!("{}-\n", " ".repeat(i)))
                    .collect::<String>()
            )
            .into_bytes(),
            "nested more than 64 levels deep",
        ),
        (
            "many-stages.yaml",
            stages.into_bytes(),
            "more than 1000 stages",
        ),
        (
            "long-line.yaml",
            format!(
                "{header}stages:\n  app:\n    from: {}\n",
                "a".repeat(3 << 20)
            )
            .into_bytes(),
            "longer than 512 characters",
        ),
        (
            "long-key.yaml",
            format!(
                "{header}stages:\n  {}: {{from: scratch}}\n",
                "a".repeat(3 << 20)
            )
            .into_bytes(),
            "YAML reads keys of at most 1024",
        ),
    ]
}

/// The error for `bytes`, parsed and checked on a thread with a 2 MiB stack: recursion
/// that grows with the input would overflow it (and abort the test), so
/// getting an error back proves the parse is bounded.
fn error_on_small_stack(name: &'static str, bytes: Vec<u8>) -> String {
    let outcome = std::thread::Builder::new()
        .name(format!("parse {name}"))
        .stack_size(2 << 20)
        .spawn(move || {
            // What `stagecraft check` does: read, then resolve every stage.
            let spec = stagecraft::spec::parse(name, &bytes).map_err(|e| e.to_string())?;
            let options = stagecraft::compile::CompileOptions::new(
                stagecraft::llb::Platform::parse("linux/amd64").expect("a platform"),
            );
            stagecraft::resolve::check_all(&spec, &options).map_err(|e| e.to_string())
        })
        .expect("a thread")
        .join();
    match outcome {
        Err(_) => panic!("{name}: parsing panicked"),
        Ok(Ok(())) => panic!("{name}: accepted"),
        Ok(Err(message)) => message,
    }
}

#[test]
fn hostile_inputs_give_one_bounded_error_through_the_library() {
    for (name, bytes, words) in hostile_inputs() {
        let message = error_on_small_stack(name, bytes);
        assert!(
            has_position(&format!("error: {message}"), name),
            "{message}"
        );
        assert!(
            message.contains(words),
            "{name}: expected `{words}` in:\n{message}"
        );
        assert!(
            message.len() < 2_000,
            "{name}: a {} byte message",
            message.len()
        );
    }
}

#[test]
fn hostile_inputs_give_one_bounded_error_through_the_binary() {
    let dir = TempDir::with_spec("");
    let mut failures = Vec::new();
    for (name, bytes, words) in hostile_inputs() {
        std::fs::write(dir.path.join(name), bytes).expect("a temp file");
        let result = check(&dir.path, name).and_then(|run| {
            assert_clean_failure(name, &run)?;
            if run.stderr.contains(words) {
                Ok(())
            } else {
                Err(format!("{name}: expected `{words}` in:\n{}", run.stderr))
            }
        });
        if let Err(e) = result {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The most stages a spec may have, in one chain: checking and compiling
/// follow it without recursing stage by stage, so a small stack suffices.
#[test]
fn the_longest_allowed_chain_of_stages_compiles_on_a_small_stack() {
    let mut text = String::from("version: 1\nstages:\n  s0:\n    from: scratch\n");
    for i in 1..1_000 {
        text.push_str(&format!(
            "  s{i}:\n    from: s{}\n    steps:\n      - write: /f{i}\n        content: x\n",
            i - 1
        ));
    }
    let ops = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let spec =
                stagecraft::spec::parse("chain.yaml", text.as_bytes()).expect("a valid spec");
            let platform = stagecraft::llb::Platform::parse("linux/amd64").expect("a platform");
            let options = stagecraft::compile::CompileOptions::new(platform);
            let compiled =
                stagecraft::compile::compile(&spec, &options, &stagecraft::compile::Offline)
                    .expect("it compiles");
            compiled.definition.def.len()
        })
        .expect("a thread")
        .join()
        .expect("no stack overflow or panic");
    assert!(ops >= 999, "{ops} ops for 999 write steps");
}
