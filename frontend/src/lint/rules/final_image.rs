//! Rules about what the final image holds and how it runs: the target
//! stage and the stages it is built on (their files are its files).

use std::collections::BTreeMap;

use crate::lint::context::{is_root, Bottom};
use crate::lint::shell::installs;
use crate::lint::{Context, Found, Rule};
use crate::spec::{parse_port, Command, Stage, StepKind};

pub const TOOLCHAIN_IN_FINAL_IMAGE: Rule = Rule {
    name: "ToolchainInFinalImage",
    description: "Compilers and build tools belong in a build stage, not in the final image",
    check: toolchain_in_final_image,
};

pub const ROOT_USER: Rule = Rule {
    name: "RootUser",
    description: "The final image should run as a user other than root",
    check: root_user,
};

pub const COPY_WHOLE_CONTEXT: Rule = Rule {
    name: "CopyWholeContext",
    description: "The final image should not get the whole build context",
    check: copy_whole_context,
};

pub const SHELL_FORM_ENTRYPOINT: Rule = Rule {
    name: "ShellFormEntrypoint",
    description: "The final image's `entrypoint` and `cmd` should be lists (exec form)",
    check: shell_form_entrypoint,
};

pub const DUPLICATE_EXPOSE: Rule = Rule {
    name: "DuplicateExpose",
    description: "A port should be exposed once",
    check: duplicate_expose,
};

/// Packages that compile or build, by name (any version suffix).
const TOOLCHAINS: &[&str] = &[
    "build-essential",
    "gcc",
    "g++",
    "gcc-c++",
    "cpp",
    "clang",
    "llvm",
    "make",
    "cmake",
    "ninja-build",
    "meson",
    "autoconf",
    "automake",
    "libtool",
    "gfortran",
    "golang",
    "golang-go",
    "go",
    "rustc",
    "cargo",
    "rust",
    "build-base",
    "alpine-sdk",
];
/// Names whose versioned packages are toolchains too (`gcc-12`, `golang-1.22-go`).
const VERSIONED: &[&str] = &["gcc", "g++", "cpp", "clang", "llvm", "golang", "gfortran"];

pub fn is_toolchain(package: &str) -> bool {
    // `gcc=4:12.2.0-3`, `gcc:amd64`
    let name = package.split(['=', ':']).next().unwrap_or(package);
    TOOLCHAINS.contains(&name)
        || VERSIONED.iter().any(|base| {
            name.strip_prefix(base)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
}

/// Where the final image's stage chain is described in messages.
fn which(cx: &Context, stage: &str) -> String {
    if stage == cx.target() {
        format!("the final stage `{stage}`")
    } else {
        format!(
            "stage `{stage}`, which the final stage `{}` is built on",
            cx.target()
        )
    }
}

fn toolchain_in_final_image(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for name in cx.final_chain() {
        let stage = cx.build.stage(name);
        for step in stage.leaf_steps() {
            let StepKind::Run(run) = &step.kind else {
                continue;
            };
            let Command::Shell(script) = &run.command else {
                continue;
            };
            let tools: Vec<String> = installs(script)
                .into_iter()
                .flat_map(|i| i.packages)
                .filter(|p| is_toolchain(p))
                .collect();
            let Some(first) = tools.first() else {
                continue;
            };
            let pos = cx.find(first, step.lines.start, step.lines.end, step.pos);
            found.push(Found::new(
                pos,
                format!("{} is installed in {}", tools.join(", "), which(cx, name)),
                "install build tools in a build stage and copy only what it builds into the \
                 final stage (`copy: /out/app` with `from: build`)",
            ));
        }
    }
    found
}

/// The user the final image runs as: the nearest `image.user` or `user`
/// down its chain. None set means root for `scratch`, and the base
/// image's user otherwise (root for nearly every image).
fn root_user(cx: &Context) -> Vec<Found> {
    const HINT: &str = "set a user without privileges under `image:`, e.g. `user: \"65532\"` \
                        (any uid works; a name must exist in the image's /etc/passwd)";
    let target = cx.build.stage(cx.target());
    match cx.config_user(cx.target()) {
        Some(user) if is_root(&user.value) => vec![Found::new(
            user.pos,
            format!("the final image runs as root (`user: {}`)", user.value),
            HINT,
        )],
        Some(_) => Vec::new(),
        None => {
            let base = match cx.bottom(&cx.final_chain()) {
                Bottom::Scratch => "root, as nothing sets a user over `scratch`",
                Bottom::Image => "the base image's user, which for most images is root",
            };
            vec![Found::new(
                target.pos,
                format!(
                    "the final image `{}` sets no `user`, so it runs as {base}",
                    target.name
                ),
                HINT,
            )]
        }
    }
}

fn copy_whole_context(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for name in cx.final_chain() {
        for step in cx.build.stage(name).leaf_steps() {
            let StepKind::Copy(copy) = &step.kind else {
                continue;
            };
            if copy.from.is_some() || !copy.include.is_empty() || !copy.exclude.is_empty() {
                continue;
            }
            let whole = copy
                .sources
                .iter()
                .find(|s| crate::resolve::clean_context_path(&s.value).is_none_or(|p| p == "*"));
            if let Some(source) = whole {
                found.push(Found::new(
                    source.pos,
                    format!(
                        "`copy: {}` puts the whole build context into {}",
                        source.value,
                        which(cx, name)
                    ),
                    "copy only what the image needs (`copy: [app/, requirements.txt]`), or \
                     filter with `include:`/`exclude:`: the whole context brings along .git, \
                     local build output and stray secrets, and any change to any file \
                     rebuilds from this step",
                ));
            }
        }
    }
    found
}

fn shell_form_entrypoint(cx: &Context) -> Vec<Found> {
    let target = cx.build.stage(cx.target());
    let written = cx.written(&target.name);
    let mut found = Vec::new();
    for (key, command) in [
        ("entrypoint", &target.image.entrypoint),
        ("cmd", &target.image.cmd),
    ] {
        let Some(Command::Shell(text)) = command else {
            continue;
        };
        let pos = cx.find(
            &format!("{key}:"),
            written.lines.start,
            written.lines.end,
            target.pos,
        );
        found.push(Found::new(
            pos,
            format!("`{key}: {text}` runs under `/bin/sh -c`, which does not pass signals on: `docker stop` waits, then kills"),
            format!("write it as a list: `{key}: [{}]`", text.split_whitespace().collect::<Vec<_>>().join(", ")),
        ));
    }
    found
}

fn duplicate_expose(cx: &Context) -> Vec<Found> {
    let mut found = Vec::new();
    for stage in cx.stages() {
        found.extend(duplicates_in(stage));
    }
    found
}

fn duplicates_in(stage: &Stage) -> Vec<Found> {
    let mut seen = BTreeMap::new();
    let mut found = Vec::new();
    for port in &stage.image.expose {
        let Some((number, proto)) = parse_port(&port.value) else {
            continue;
        };
        let key = format!("{number}/{proto}");
        match seen.get(&key) {
            Some(first) => found.push(Found::new(
                port.pos,
                format!("port {key} is listed twice in `expose` (first on line {first})"),
                "remove this entry",
            )),
            None => {
                seen.insert(key, port.pos.line);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::rules::testing::{at, run};

    #[test]
    fn toolchain_names() {
        for p in [
            "gcc",
            "g++-12",
            "golang-1.22-go",
            "build-essential",
            "make",
            "gcc=4:12.2",
            "clang-16",
        ] {
            assert!(is_toolchain(p), "{p}");
        }
        for p in [
            "gcc-doc",
            "makedev",
            "python3",
            "libgcc-s1",
            "golang-github-x-dev",
            "cargo-foo",
        ] {
            assert!(!is_toolchain(p), "{p}");
        }
    }

    #[test]
    fn toolchains_in_the_final_chain_only() {
        let yaml = "version: 1\nstages:\n  build:\n    from: debian:12\n    steps:\n      - run: apt-get install -y gcc\n  base:\n    from: debian:12\n    steps:\n      - run: apt-get install -y --no-install-recommends curl make\n  app:\n    from: base\n    steps:\n      - copy: /x\n        from: build\n";
        let found = run(&TOOLCHAIN_IN_FINAL_IMAGE, yaml);
        assert_eq!(at(&found), vec!["10:62"]);
        assert!(
            found[0]
                .message
                .contains("stage `base`, which the final stage `app`"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn root_final_images() {
        let root = |yaml: &str| at(&run(&ROOT_USER, yaml));
        let head = "version: 1\nstages:\n  base:\n    from: debian:12\n";
        assert_eq!(
            root(&format!(
                "{head}    user: \"1000\"\n  app:\n    from: base\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            root(&format!(
                "{head}  app:\n    from: base\n    image: {{user: root}}\n"
            )),
            vec!["7:19"]
        );
        assert_eq!(
            root(&format!("{head}  app:\n    from: base\n")),
            vec!["5:3"]
        );
        assert_eq!(
            root(&format!(
                "{head}    user: app\n  app:\n    from: base\n    image: {{user: \"0:0\"}}\n"
            )),
            vec!["8:19"]
        );
    }

    #[test]
    fn whole_context_into_the_final_image() {
        let yaml = "version: 1\nstages:\n  build:\n    from: debian:12\n    steps:\n      - copy: .\n  app:\n    from: debian:12\n    steps:\n      - copy: ./\n      - copy: .\n        exclude: [.git]\n      - copy: src/\n";
        assert_eq!(at(&run(&COPY_WHOLE_CONTEXT, yaml)), vec!["10:15"]);
    }

    #[test]
    fn shell_form_entrypoint_and_cmd() {
        let yaml = "version: 1\nstages:\n  app:\n    from: debian:12\n    image:\n      entrypoint: /app serve\n      cmd: [--port, \"80\"]\n";
        let found = run(&SHELL_FORM_ENTRYPOINT, yaml);
        assert_eq!(at(&found), vec!["6:7"]);
        assert_eq!(
            found[0].hint,
            "write it as a list: `entrypoint: [/app, serve]`"
        );
    }

    #[test]
    fn ports_exposed_twice() {
        let yaml = "version: 1\nstages:\n  app:\n    from: scratch\n    image:\n      expose: [8080, \"8080/tcp\", 8080/udp, 53]\n";
        assert_eq!(at(&run(&DUPLICATE_EXPOSE, yaml)), vec!["6:22"]);
    }
}
