//! Replays inputs the fuzzer once crashed on (fuzz/regressions/, added by
//! scripts/fuzz.sh) through the same path as the fuzz target.

use stagecraft::compile::{self, CompileOptions, Offline};
use stagecraft::llb::Platform;
use stagecraft_proto::Message;

#[test]
fn past_fuzzer_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() || path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        cases += 1;
        let Ok(spec) = stagecraft::spec::parse("fuzz.yaml", &data) else {
            continue;
        };
        let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
        let _ = stagecraft::lint::lint(&spec, &options, &["*.md".to_string()]);
        if let Ok(first) = compile::compile(&spec, &options, &Offline) {
            let second = compile::compile(&spec, &options, &Offline)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                first.definition.encode_to_vec(),
                second.definition.encode_to_vec(),
                "{}",
                path.display()
            );
        }
    }
    eprintln!("replayed {cases} fuzzer findings");
}

/// Dockerfiles the `convert` target once crashed on (fuzz/regressions/convert/).
#[test]
fn past_convert_findings_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/convert");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match stagecraft::convert::convert("Dockerfile", &text) {
            Ok(converted) => {
                stagecraft::spec::parse("build.yaml", converted.yaml.as_bytes())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            Err(e) => assert!(
                !e.message
                    .starts_with(stagecraft::convert::READ_BACK_FAILURE),
                "{}: {e}",
                path.display()
            ),
        }
    }
}
