//! Where `stagecraft compile` spends its time, phase by phase, on generated
//! specs of 10 to 10,000 run steps (the shape `bench/run.py` times end to
//! end): `cargo bench -p stagecraft --bench phases`. Prints medians; asserts
//! nothing. The frontend does parse + resolve + compile once per platform
//! (it used to compile twice: once to find the base images).

use std::time::{Duration, Instant};

use stagecraft::compile::{self, CompileOptions};
use stagecraft::llb::Platform;
use stagecraft::spec;
use stagecraft_proto::Message;

const RUNS: usize = 9;

/// `steps` run steps in stages of 100, each stage built on the last.
fn chain_spec(steps: usize) -> String {
    let mut text = String::from("version: 1\nstages:\n");
    for stage in 0..steps.div_ceil(100) {
        let from = match stage {
            0 => "debian:bookworm-slim".to_string(),
            n => format!("s{}", n - 1),
        };
        text += &format!("  s{stage}:\n    from: {from}\n    steps:\n");
        for i in 0..100.min(steps - stage * 100) {
            text += &format!("      - run: echo step {stage}-{i} > /f{i}\n");
        }
    }
    text
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    println!(
        "| steps | parse + validate | resolve | compile (dispatch + marshal) | encode | total |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    let platform = Platform::parse("linux/amd64").expect("a platform");
    let options = CompileOptions::new(platform);
    for steps in [10, 100, 1_000, 10_000] {
        let text = chain_spec(steps);
        let (mut parse, mut resolve, mut compile, mut encode) = (vec![], vec![], vec![], vec![]);
        for _ in 0..RUNS {
            let start = Instant::now();
            let spec = spec::parse("build.yaml", text.as_bytes()).expect("a valid spec");
            parse.push(start.elapsed());
            let start = Instant::now();
            let build = stagecraft::resolve::resolve(&spec, &options).expect("resolves");
            resolve.push(start.elapsed());
            let start = Instant::now();
            let compiled =
                compile::compile_resolved(&build, &options, &compile::Offline, &Default::default())
                    .expect("compiles");
            compile.push(start.elapsed());
            let start = Instant::now();
            let bytes = compiled.definition.encode_to_vec();
            encode.push(start.elapsed());
            std::hint::black_box(bytes);
        }
        let (p, r, c, e) = (
            median(parse),
            median(resolve),
            median(compile),
            median(encode),
        );
        println!(
            "| {steps} | {p:.2} ms | {r:.2} ms | {c:.2} ms | {e:.2} ms | {:.2} ms |",
            p + r + c + e
        );
    }
}
