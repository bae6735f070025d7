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
        if path.extension().is_some_and(|e| e == "md") {
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
