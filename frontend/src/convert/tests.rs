//! Conversions checked through the project's own spec reader: every
//! emitted spec must parse, and say what the Dockerfile says.

use super::convert;
use crate::spec::{self, Command, StepKind};

fn spec_of(dockerfile: &str) -> spec::Spec {
    let converted = convert("Dockerfile", dockerfile).unwrap_or_else(|e| panic!("{e}"));
    spec::parse("build.yaml", converted.yaml.as_bytes())
        .unwrap_or_else(|e| panic!("{e}\n{}", converted.yaml))
}

fn yaml_of(dockerfile: &str) -> String {
    convert("Dockerfile", dockerfile).unwrap_or_else(|e| panic!("{e}")).yaml
}

#[test]
fn a_simple_dockerfile_converts() {
    let s = spec_of("FROM debian:bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN make\nCMD [\"/app/run\"]\n");
    assert_eq!(s.stages.len(), 1);
    let stage = &s.stages[0];
    assert_eq!(stage.from.value, "debian:bookworm-slim");
    assert_eq!(stage.workdir.as_ref().unwrap().value, "/app");
    assert_eq!(stage.steps.len(), 3);
    assert!(matches!(&stage.steps[2].kind, StepKind::Run(r) if r.command == Command::Shell("make".into())));
}
