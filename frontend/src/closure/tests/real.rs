//! Real filesystems, with `ldd` as the oracle: what the resolver says the
//! loader opens must be what the loader opens. (Only the tests run `ldd`;
//! the product never does.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{loaded, request, resolve_counting, TestRoot};
use crate::closure::paths::join;
use crate::closure::{Closure, EntryKind, LocalRootFs};

/// `name => path` per line of `ldd` (the vDSO, which is no file, left
/// out; the loader's line, which has no `=>`, as `path => path`), run in
/// `root` through chroot unless it is `/`.
fn ldd(root: &Path, exe: &str) -> BTreeSet<String> {
    let output = if root == Path::new("/") {
        Command::new("ldd").arg(exe).output()
    } else {
        Command::new("chroot")
            .arg(root)
            .args(["/usr/bin/ldd", exe])
            .output()
    }
    .expect("run ldd");
    assert!(
        output.status.success(),
        "ldd {exe}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.rsplit_once(" (0x").map_or(line, |(l, _)| l);
            match line.split_once(" => ") {
                Some(_) => Some(line.to_string()),
                None if line.starts_with('/') => Some(format!("{line} => {line}")),
                None => None,
            }
        })
        .collect()
}

/// Whether `path` can be opened in a tree holding only the closure:
/// walked with the closure's symlinks, ending at one of its files.
pub fn opens_within(closure: &Closure, path: &str) -> bool {
    let entries = closure.by_path();
    let mut real: Vec<String> = Vec::new();
    let mut rest: Vec<String> = path
        .split('/')
        .filter(|c| !c.is_empty())
        .map(String::from)
        .rev()
        .collect();
    let mut hops = 0;
    while let Some(name) = rest.pop() {
        if name == "." {
            continue;
        }
        if name == ".." {
            real.pop();
            continue;
        }
        let here = join(&crate::closure::paths::from_components(&real), &name);
        match entries.get(here.as_str()) {
            Some(EntryKind::Symlink { target }) => {
                hops += 1;
                if hops > 40 {
                    return false;
                }
                if target.starts_with('/') {
                    real.clear();
                }
                rest.extend(
                    target
                        .split('/')
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .rev(),
                );
            }
            Some(EntryKind::File) => return rest.is_empty(),
            // A directory: it exists if some entry lies under it.
            None => {
                let prefix = format!("{here}/");
                if !entries.keys().any(|p| p.starts_with(&prefix)) {
                    return false;
                }
                real.push(name);
            }
        }
    }
    false
}

/// Resolves `exe` in `root`, checks it against `ldd` and checks that
/// every path the loader opens exists in the closure, with each entry of
/// the kind it has in `root`. Returns the closure and the rounds taken.
fn check_against_ldd(root: &Path, exe: &str) -> (Closure, usize) {
    let (closure, rounds) = resolve_counting(&LocalRootFs::new(root), &request(&[exe]));
    let closure = closure.unwrap_or_else(|e| panic!("{exe}: {e}"));
    let ours: BTreeSet<String> = loaded(&closure).into_iter().collect();
    assert_eq!(ours, ldd(root, exe), "{exe} in {}", root.display());
    for object in &closure.objects {
        assert!(
            opens_within(&closure, &object.path),
            "{} is not openable in the closure",
            object.path
        );
    }
    assert!(opens_within(&closure, exe));
    for entry in &closure.entries {
        let host = root.join(entry.path.trim_start_matches('/'));
        let meta = std::fs::symlink_metadata(&host).unwrap();
        match &entry.kind {
            EntryKind::File => assert!(meta.is_file(), "{}", entry.path),
            EntryKind::Symlink { target } => {
                assert_eq!(std::fs::read_link(&host).unwrap(), PathBuf::from(target));
            }
        }
    }
    (closure, rounds)
}

#[test]
fn host_apt_matches_ldd() {
    // apt is on every Debian host: 17 libraries, C++ and systemd among them.
    let (closure, rounds) = check_against_ldd(Path::new("/"), "/usr/bin/apt");
    assert!(closure.objects.len() >= 15, "{:?}", loaded(&closure));
    // Seven today; one round per file would be over forty.
    assert!(rounds <= 10, "{rounds} rounds");
}

#[test]
fn host_ls_matches_ldd() {
    let (closure, _) = check_against_ldd(Path::new("/"), "/usr/bin/ls");
    // On a merged-/usr host the loader's path goes through two links.
    let by_path = closure.by_path();
    if std::fs::symlink_metadata("/lib64").unwrap().is_symlink() {
        assert!(by_path.contains_key("/lib64"), "{:?}", by_path.keys());
    }
}

#[test]
#[ignore = "needs curl on the host: scripts/e2e-env.sh installs it (make e2e runs it)"]
fn host_curl_matches_ldd() {
    let (closure, rounds) = check_against_ldd(Path::new("/"), "/usr/bin/curl");
    // libcurl's chain: TLS, Kerberos, LDAP, HTTP/2, IDN, compression.
    assert!(closure.objects.len() >= 30, "{:?}", loaded(&closure));
    // Nine today; one round per file would be over ninety.
    assert!(rounds <= 13, "{rounds} rounds");
}

/// The debootstrap'd bookworm tree that scripts/e2e-env.sh builds the
/// `debian:bookworm-slim` image from.
fn bookworm_rootfs() -> PathBuf {
    let cache = Path::new("/var/cache/stagecraft/rootfs");
    let newest = std::fs::read_dir(cache)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("debian-bookworm-minbase-r"))
                && p.join(".stagecraft-complete").exists()
        })
        .max();
    newest.expect("no debootstrap rootfs in /var/cache/stagecraft/rootfs: run scripts/e2e-env.sh")
}

#[test]
#[ignore = "needs the debootstrap rootfs of scripts/e2e-env.sh and root (chroot ldd)"]
fn bookworm_rootfs_programs_match_ldd() {
    let root = bookworm_rootfs();
    for exe in [
        "/usr/bin/apt",
        "/usr/bin/bash",
        "/usr/bin/gpgv",
        "/usr/bin/dpkg",
        "/usr/bin/ls",
    ] {
        let (closure, _) = check_against_ldd(&root, exe);
        // Merged /usr: the link the loader path goes through is copied.
        assert_eq!(
            closure.by_path().get("/lib64"),
            Some(&&EntryKind::Symlink {
                target: "usr/lib64".into()
            })
        );
    }
    // Through /bin -> usr/bin, several at once.
    let (closure, _) = resolve_counting(
        &LocalRootFs::new(&root),
        &request(&["/bin/bash", "/bin/ls"]),
    );
    let closure = closure.unwrap();
    assert!(opens_within(&closure, "/bin/bash") && opens_within(&closure, "/bin/ls"));
}

#[test]
fn opens_within_follows_only_the_closure() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", super::TestElf::exe(&["libc.so.6"]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(opens_within(&closure, "/lib64/ld-linux-x86-64.so.2"));
    assert!(opens_within(&closure, "/lib/x86_64-linux-gnu/libc.so.6"));
    assert!(!opens_within(&closure, "/lib/x86_64-linux-gnu/libm.so.6"));
    assert!(!opens_within(&closure, "/usr/lib"));
}
