//! Property tests over generated specs: every valid spec compiles, the
//! same spec always compiles to the same bytes, and where a stage is
//! written in the file does not change any op's digest.

use std::collections::BTreeSet;

use proptest::prelude::*;
use stagecraft::compile::{self, CompileOptions, Offline};
use stagecraft::llb::{self, Platform};
use stagecraft::spec;
use stagecraft_proto::Message;

/// A generated stage: its base and its steps, already rendered as YAML
/// lines (indented for a stage body).
#[derive(Debug, Clone)]
struct GenStage {
    base: Base,
    env: Vec<(String, String)>,
    workdir: Option<String>,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Base {
    Image(&'static str),
    Scratch,
    /// Index of an earlier stage.
    Stage(usize),
}

#[derive(Debug, Clone)]
enum Step {
    Run(String, bool),
    CopyContext(Vec<String>, String),
    /// From an earlier stage, by index.
    CopyStage(usize, String, String, bool),
    Mkdir(String),
    Write(String, String),
    Remove(String),
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,6}"
}

fn path() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 1..4).prop_map(|p| p.join("/"))
}

fn step(earlier: usize) -> BoxedStrategy<Step> {
    let mut options = vec![
        ("echo [a-z ]{0,20}", any::<bool>())
            .prop_map(|(c, uses_arg)| Step::Run(c, uses_arg))
            .boxed(),
        (prop::collection::vec(path(), 1..3), path())
            .prop_map(|(s, d)| Step::CopyContext(s, format!("/{d}/")))
            .boxed(),
        path().prop_map(|p| Step::Mkdir(format!("/{p}"))).boxed(),
        (path(), "[a-z ]{0,30}")
            .prop_map(|(p, c)| Step::Write(format!("/{p}"), c))
            .boxed(),
        path().prop_map(|p| Step::Remove(format!("/{p}"))).boxed(),
    ];
    if earlier > 0 {
        options.push(
            (0..earlier, path(), path(), any::<bool>())
                .prop_map(|(i, s, d, link)| {
                    Step::CopyStage(i, format!("/{s}"), format!("/{d}"), link)
                })
                .boxed(),
        );
    }
    prop::strategy::Union::new(options).boxed()
}

fn stages() -> impl Strategy<Value = Vec<GenStage>> {
    (1usize..7).prop_flat_map(|n| {
        let per_stage: Vec<BoxedStrategy<GenStage>> = (0..n)
            .map(|i| {
                let base = if i == 0 {
                    prop_oneof![
                        Just(Base::Image("debian:bookworm-slim")),
                        Just(Base::Image("busybox")),
                        Just(Base::Scratch)
                    ]
                    .boxed()
                } else {
                    prop_oneof![
                        Just(Base::Image("debian:bookworm-slim")),
                        Just(Base::Scratch),
                        (0..i).prop_map(Base::Stage)
                    ]
                    .boxed()
                };
                (
                    base,
                    prop::collection::vec(("[A-Z][A-Z0-9_]{0,5}", "[a-z0-9]{0,8}"), 0..3),
                    prop::option::of(path()),
                    prop::collection::vec(step(i), 0..6),
                )
                    .prop_map(|(base, env, workdir, steps)| GenStage {
                        base,
                        env,
                        workdir: workdir.map(|w| format!("/{w}")),
                        steps,
                    })
                    .boxed()
            })
            .collect();
        per_stage
    })
}

fn render_stage(i: usize, s: &GenStage) -> String {
    let mut out = format!("  s{i}:\n");
    out += &match &s.base {
        Base::Image(r) => format!("    from: {r}\n"),
        Base::Scratch => "    from: scratch\n".to_string(),
        Base::Stage(j) => format!("    from: s{j}\n"),
    };
    if !s.env.is_empty() {
        out += "    env:\n";
        let mut seen = BTreeSet::new();
        for (k, v) in &s.env {
            if seen.insert(k) {
                out += &format!("      {k}: \"{v}\"\n");
            }
        }
    }
    if let Some(w) = &s.workdir {
        out += &format!("    workdir: {w}\n");
    }
    out += "    steps:\n";
    if s.steps.is_empty() {
        out += "      - mkdir: /empty\n";
    }
    for step in &s.steps {
        out += &match step {
            Step::Run(c, uses_arg) => format!(
                "      - run: {c}{}\n",
                if *uses_arg { " $VERSION" } else { "" }
            ),
            Step::CopyContext(srcs, to) => {
                format!("      - copy: [{}]\n        to: {to}\n", srcs.join(", "))
            }
            Step::CopyStage(j, src, to, link) => format!(
                "      - copy: {src}\n        from: s{j}\n        to: {to}\n        link: {link}\n"
            ),
            Step::Mkdir(p) => format!("      - mkdir: {p}\n"),
            Step::Write(p, c) => format!("      - write: {p}\n        content: \"{c}\"\n"),
            Step::Remove(p) => format!("      - remove: {p}\n"),
        };
    }
    out
}

/// Renders the stages in `order` (a permutation of indices).
fn render(stages: &[GenStage], order: &[usize]) -> String {
    let mut text = format!(
        "version: 1\nargs:\n  VERSION: \"1\"\ntarget: s{}\nstages:\n",
        stages.len() - 1
    );
    for &i in order {
        text += &render_stage(i, &stages[i]);
    }
    text
}

fn compile_text(text: &str) -> stagecraft_proto::pb::Definition {
    let spec = spec::parse("gen.yaml", text.as_bytes())
        .unwrap_or_else(|e| panic!("generated spec rejected: {e}\n{text}"));
    let options = CompileOptions::new(Platform::parse("linux/amd64").unwrap());
    compile::compile(&spec, &options, &Offline)
        .unwrap_or_else(|e| panic!("generated spec does not compile: {e}\n{text}"))
        .definition
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn valid_specs_compile_deterministically(stages in stages()) {
        let order: Vec<usize> = (0..stages.len()).collect();
        let text = render(&stages, &order);
        let a = compile_text(&text).encode_to_vec();
        let b = compile_text(&text).encode_to_vec();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn stage_order_in_the_file_does_not_change_digests(stages in stages(), seed in any::<u64>()) {
        let order: Vec<usize> = (0..stages.len()).collect();
        let mut shuffled = order.clone();
        // A deterministic shuffle from the seed.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let digests = |text: &str| -> BTreeSet<String> { compile_text(text).def.iter().map(|b| llb::digest_of(b)).collect() };
        prop_assert_eq!(digests(&render(&stages, &order)), digests(&render(&stages, &shuffled)));
    }
}
