//! End-to-end tests of cache and tmpfs mounts, and of `--no-cache` and
//! `--no-cache-filter`.

mod support;

use support::*;

// ------------------------------------------------- cache and tmpfs mounts

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn cache_mounts_persist_across_builds_and_tmpfs_mounts_start_empty() {
    let cache_id = unique("stagecraft-e2e-rounds");
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  ROUND: "0"
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "round $ROUND" >> /cache/rounds
          cp /cache/rounds /rounds-seen
          ls -A /scratch > /tmpfs-listing
          echo leftover > /scratch/leftover
        mounts:
          - {{type: cache, target: /cache, id: {cache_id}}}
          - {{type: tmpfs, target: /scratch}}
"#
    ));
    let image = Image::new("cache-mounts");
    let step = "[app 2/2] RUN echo \"round $ROUND\"";
    let (a, b) = (unique("a"), unique("b"));
    build_image(&dir, &image, &["--build-arg", &format!("ROUND={a}")]);
    assert_eq!(file_in(&image, "/rounds-seen"), format!("round {a}\n"));
    let progress = build_image(&dir, &image, &["--build-arg", &format!("ROUND={b}")]);
    assert!(!vertex_cached(&progress, step), "{progress}");
    // The second run found what the first one left in the cache.
    assert_eq!(
        file_in(&image, "/rounds-seen"),
        format!("round {a}\nround {b}\n")
    );
    assert_eq!(file_in(&image, "/tmpfs-listing"), "");
    let files = image_files(&image.0);
    for absent in ["scratch", "cache"] {
        assert!(
            !files.iter().any(|f| f.starts_with(absent)),
            "{absent}: {files:?}"
        );
    }
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn a_cache_mount_with_an_owner_lets_a_non_root_step_keep_files_and_readonly_keeps_it_unchanged() {
    let cache_id = unique("stagecraft-e2e-owned");
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  ROUND: "0"
stages:
  app:
    from: busybox:latest
    steps:
      - mkdir: /out
        chown: "1000:1000"
      - run: stat -c '%u:%g %a' /c > /out/owner && ls /c > /out/before && touch /c/from-$ROUND
        user: "1000"
        mounts:
          - {{type: cache, target: /c, id: {cache_id}, uid: 1000, gid: 1000, mode: "0750"}}
      - run: (touch /c/x-$ROUND 2>&1 || true) > /out/readonly && ls /c > /out/after
        mounts:
          # The same cache: BuildKit tells caches apart by id and first
          # content, so the owner and mode are given again.
          - {{type: cache, target: /c, id: {cache_id}, uid: 1000, gid: 1000, mode: "0750", readonly: true}}
"#
    ));
    let image = Image::new("cache-owner");
    let (a, b) = (unique("a"), unique("b"));
    build_image(&dir, &image, &["--build-arg", &format!("ROUND={a}")]);
    // A step running as uid 1000 could write: the cache directory was made
    // with the owner and mode asked for.
    assert_eq!(file_in(&image, "/out/owner"), "1000:1000 750\n");
    assert_eq!(file_in(&image, "/out/before"), "");
    build_image(&dir, &image, &["--build-arg", &format!("ROUND={b}")]);
    assert_eq!(file_in(&image, "/out/before"), format!("from-{a}\n"));
    // The read-only mount saw both files and could add none.
    assert!(
        file_in(&image, "/out/readonly").contains("Read-only file system"),
        "{}",
        file_in(&image, "/out/readonly")
    );
    assert_eq!(
        file_in(&image, "/out/after"),
        format!("from-{a}\nfrom-{b}\n")
    );
}

/// Runs two builds of `dir` at once, with `WHO` set to each of `who`,
/// loading them as `images`.
fn build_concurrently(dir: &TempDir, who: [&str; 2], images: [&Image; 2]) {
    std::thread::scope(|s| {
        let handles = [0, 1].map(|i| {
            let arg = format!("WHO={}", who[i]);
            let tag = images[i].0.clone();
            let path = dir.path.clone();
            s.spawn(move || buildx_build(&path, &["--load", "-t", &tag, "--build-arg", &arg]))
        });
        for handle in handles {
            let out = handle.join().expect("the build thread finished");
            assert!(out.ok, "{}", out.stderr);
        }
    });
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn locked_cache_mounts_let_one_build_at_a_time_use_them() {
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  WHO: nobody
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "start $WHO" >> /locked/log
          sleep 2
          echo "end $WHO" >> /locked/log
          cp /locked/log /log
        mounts:
          - {{type: cache, target: /locked, id: {}, sharing: locked}}
"#,
        unique("stagecraft-e2e-locked")
    ));
    let who = [unique("a"), unique("b")];
    let images = [&Image::new("locked-a"), &Image::new("locked-b")];
    build_concurrently(&dir, [&who[0], &who[1]], images);
    // The build that got the cache second saw the first one's whole run:
    // start and end of one, then of the other, never interleaved.
    let logs = images.map(|i| file_in(i, "/log"));
    let full = logs
        .iter()
        .find(|l| l.lines().count() == 4)
        .unwrap_or_else(|| panic!("no build saw both runs: {logs:?}"));
    let lines: Vec<&str> = full.lines().collect();
    let first = lines[0].strip_prefix("start ").expect("a start first");
    let second = if first == who[0] { &who[1] } else { &who[0] };
    assert_eq!(
        lines,
        [
            format!("start {first}"),
            format!("end {first}"),
            format!("start {second}"),
            format!("end {second}")
        ],
        "{logs:?}"
    );
}

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn private_cache_mounts_are_not_shared_by_concurrent_builds() {
    // Both steps wait, on a shared cache, until both are running; the
    // private cache each wrote into must then hold only its own file.
    let dir = TempDir::with_spec(&format!(
        r#"version: 1
args:
  WHO: nobody
stages:
  app:
    from: busybox:latest
    steps:
      - run: |
          echo "$WHO" > "/private/$WHO"
          touch "/rendezvous/$WHO"
          i=0
          while [ "$(ls /rendezvous | wc -l)" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
          ls /rendezvous > /rendezvous-seen
          ls /private > /private-seen
        mounts:
          - {{type: cache, target: /private, id: {}, sharing: private}}
          - {{type: cache, target: /rendezvous, id: {}, sharing: shared}}
"#,
        unique("stagecraft-e2e-private"),
        unique("stagecraft-e2e-rendezvous")
    ));
    let who = [unique("a"), unique("b")];
    let images = [&Image::new("private-a"), &Image::new("private-b")];
    build_concurrently(&dir, [&who[0], &who[1]], images);
    let mut both: Vec<&str> = vec![&who[0], &who[1]];
    both.sort();
    for (image, me) in images.iter().zip(&who) {
        let seen = file_in(image, "/rendezvous-seen");
        assert_eq!(
            seen.lines().collect::<Vec<_>>(),
            both,
            "the steps did not overlap"
        );
        assert_eq!(file_in(image, "/private-seen"), format!("{me}\n"));
    }
}

// ---------------------------------------------- --no-cache, --no-cache-filter

#[test]
#[ignore = "needs a Docker daemon and stagecraft:dev: run `make test`"]
fn no_cache_reruns_every_step_and_no_cache_filter_only_that_stages() {
    let base = private_base("busybox:latest", "no-cache");
    let dir = TempDir::with_spec(
        &r#"version: 1
stages:
  deps:
    from: busybox:latest
    steps:
      - run: cat /proc/sys/kernel/random/uuid > /deps-id
  app:
    from: busybox:latest
    steps:
      - copy: /deps-id
        from: deps
        to: /deps-id
      - run: cat /proc/sys/kernel/random/uuid > /app-id
"#
        .replace("busybox:latest", &base.0),
    );
    let deps_step = "[deps 2/2] RUN cat /proc/sys/kernel/random/uuid > /deps-id";
    let app_step = "[app 3/3] RUN cat /proc/sys/kernel/random/uuid > /app-id";
    let image = Image::new("no-cache");
    build_image(&dir, &image, &[]);
    let progress = build_image(&dir, &image, &[]);
    assert!(vertex_cached(&progress, deps_step), "{progress}");
    assert!(vertex_cached(&progress, app_step), "{progress}");
    let ids = || (file_in(&image, "/deps-id"), file_in(&image, "/app-id"));
    let cached = ids();

    let progress = build_image(&dir, &image, &["--no-cache"]);
    assert!(!vertex_cached(&progress, deps_step), "{progress}");
    assert!(!vertex_cached(&progress, app_step), "{progress}");
    let fresh = ids();
    assert_ne!(fresh.0, cached.0);
    assert_ne!(fresh.1, cached.1);

    let progress = build_image(&dir, &image, &["--no-cache-filter", "app"]);
    assert!(vertex_cached(&progress, deps_step), "{progress}");
    assert!(!vertex_cached(&progress, app_step), "{progress}");
    let filtered = ids();
    assert_eq!(filtered.0, fresh.0, "the deps stage ran again");
    assert_ne!(filtered.1, fresh.1, "the app stage did not run again");

    // A name that is no stage rebuilds nothing, and says so.
    let progress = build_image(&dir, &image, &["--no-cache-filter", "ap"]);
    assert!(vertex_cached(&progress, app_step), "{progress}");
    assert!(
        progress.contains(
            "--no-cache-filter names `ap` (did you mean `app`?), not a stage of build.yaml"
        ),
        "{progress}"
    );
}
