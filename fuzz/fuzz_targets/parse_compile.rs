//! Any bytes through parse → validate → compile → marshal, and lint:
//! errors are fine, panics, hangs and non-determinism are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stagecraft::compile::{self, CompileOptions, Offline};
use stagecraft::llb::Platform;
use stagecraft_proto::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(spec) = stagecraft::spec::parse("fuzz.yaml", data) else {
        return;
    };
    let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    let _ = stagecraft::lint::lint(&spec, &options, &["*.md".to_string()]);
    if let Ok(first) = compile::compile(&spec, &options, &Offline) {
        let second = compile::compile(&spec, &options, &Offline).expect("compiled once, must compile again");
        assert_eq!(first.definition.encode_to_vec(), second.definition.encode_to_vec());
    }
});
