//! Any bytes through Dockerfile parse → convert → the spec reader: errors
//! are fine; panics, hangs, non-determinism and converted specs the spec
//! reader refuses are not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let converted = match stagecraft::convert::convert("Dockerfile", text) {
        Ok(converted) => converted,
        Err(e) if e.message.starts_with(stagecraft::convert::READ_BACK_FAILURE) => {
            panic!("{e}\n{text}")
        }
        Err(_) => return,
    };
    if let Err(e) = stagecraft::spec::parse("build.yaml", converted.yaml.as_bytes()) {
        panic!("the converted spec is invalid: {e}\n{}", converted.yaml);
    }
    let again = stagecraft::convert::convert("Dockerfile", text).expect("converted once, must convert again");
    assert_eq!(again.yaml, converted.yaml);
});
