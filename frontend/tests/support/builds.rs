//! Helpers for the end-to-end tests of buildx flags: unique values, image
//! tags removed on drop, builds that must succeed, files read out of images.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;

/// A value no earlier run used: for cache ids, secrets and args that must
/// make a step run again.
pub fn unique(label: &str) -> String {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{label}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// An image tag for this test process, removed on drop.
pub struct Image(pub String);

impl Image {
    pub fn new(name: &str) -> Image {
        Image(format!(
            "stagecraft-e2e-flags-{name}-{}",
            std::process::id()
        ))
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let _ = run(docker_cmd().args(["rmi", "-f", &self.0]));
    }
}

/// With `--no-cache` BuildKit solves every op of the build afresh, and an
/// op that another build solves at the same moment (one from the same base
/// image, say) is merged into it and misses the cache there too: a
/// concurrent test would see a step it expects cached run again. So each
/// build with `--no-cache` starts from `image` under a tag of its own,
/// whose source op no other test has.
pub fn private_base(image: &str, name: &str) -> Image {
    let tag = Image::new(&format!("base-{name}"));
    docker(&["tag", image, &tag.0]);
    tag
}

/// `docker buildx build` of `dir/build.yaml` with extra environment.
pub fn buildx_with_env(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = docker_cmd();
    cmd.envs(env.iter().copied())
        .args(["buildx", "build", "--progress=plain", "-f"])
        .arg(dir.join("build.yaml"))
        .args(extra)
        .arg(dir);
    run(&mut cmd)
}

/// Builds and insists on success; returns the progress output.
pub fn build_ok(dir: &TempDir, extra: &[&str]) -> String {
    let out = buildx_build(&dir.path, extra);
    assert!(out.ok, "build failed:\n{}", out.stderr);
    out.stderr
}

/// Builds `dir` and loads the result as `image`.
pub fn build_image(dir: &TempDir, image: &Image, extra: &[&str]) -> String {
    let mut args = vec!["--load", "-t", &image.0];
    args.extend_from_slice(extra);
    build_ok(dir, &args)
}

/// The content of `path` in `image`, read with the image's `cat`.
pub fn file_in(image: &Image, path: &str) -> String {
    docker(&["run", "--rm", "--entrypoint", "cat", &image.0, path]).stdout
}

/// How many distinct vertices the progress output names with `name` in
/// their title (`#7 [app 2/3] RUN …`): a step solved once shows once.
pub fn vertex_count(progress: &str, name: &str) -> usize {
    progress
        .lines()
        .filter_map(|l| {
            let (id, title) = l.split_once(' ')?;
            (id.starts_with('#') && title.starts_with('[') && title.contains(name)).then_some(id)
        })
        .collect::<BTreeSet<_>>()
        .len()
}

pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
