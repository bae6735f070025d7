//! Tests of the closure resolver: the loader's rules on small synthetic
//! trees (`rules`), and whole real filesystems against `ldd` (`real`).

mod elf_writer;
mod real;
mod rules;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Closure, ClosureError, EntryKind, LocalRootFs, Poll, Request, Resolver};
use elf_writer::TestElf;

/// A root filesystem in a fresh temporary directory, removed on drop.
pub struct TestRoot {
    dir: PathBuf,
}

impl TestRoot {
    pub fn empty() -> TestRoot {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "stagecraft-closure-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TestRoot { dir }
    }

    /// A merged-/usr Debian amd64 layout like bookworm's: `/lib`, `/lib64`
    /// and `/bin` are symlinks into `/usr`, the loader is reached through
    /// `/lib64/ld-linux-x86-64.so.2 -> …`, libc is in the multiarch
    /// directory, and ld.so.conf includes `ld.so.conf.d/*.conf`.
    pub fn debian() -> TestRoot {
        let root = TestRoot::empty();
        root.symlink("/lib", "usr/lib");
        root.symlink("/lib64", "usr/lib64");
        root.symlink("/bin", "usr/bin");
        root.elf(
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            TestElf::loader(),
        );
        root.symlink(
            "/usr/lib64/ld-linux-x86-64.so.2",
            "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        );
        root.elf(
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            TestElf::lib("libc.so.6", &["ld-linux-x86-64.so.2"]),
        );
        root.file("/etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n\n");
        root.file(
            "/etc/ld.so.conf.d/libc.conf",
            b"# libc default configuration\n/usr/local/lib\n",
        );
        root.file(
            "/etc/ld.so.conf.d/x86_64-linux-gnu.conf",
            b"# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n",
        );
        root.file("/etc/ld.so.cache", b"glibc-ld.so.cache1.1");
        root
    }

    pub fn host(&self, path: &str) -> PathBuf {
        self.dir.join(path.trim_start_matches('/'))
    }

    fn parent_of(&self, path: &str) -> PathBuf {
        let host = self.host(path);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        host
    }

    pub fn file(&self, path: &str, bytes: &[u8]) {
        std::fs::write(self.parent_of(path), bytes).unwrap();
    }

    pub fn elf(&self, path: &str, elf: TestElf) {
        self.file(path, &elf.bytes());
    }

    pub fn symlink(&self, path: &str, target: &str) {
        std::os::unix::fs::symlink(target, self.parent_of(path)).unwrap();
    }

    pub fn resolve(&self, executables: &[&str]) -> Result<Closure, ClosureError> {
        self.resolve_counting(&request(executables)).0
    }

    /// The result and the number of rounds of fetching it took.
    pub fn resolve_counting(&self, request: &Request) -> (Result<Closure, ClosureError>, usize) {
        resolve_counting(&LocalRootFs::new(&self.dir), request)
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn request(executables: &[&str]) -> Request {
    Request {
        executables: executables.iter().map(|s| s.to_string()).collect(),
        library_path: Vec::new(),
    }
}

pub fn resolve_counting(
    fs: &LocalRootFs,
    request: &Request,
) -> (Result<Closure, ClosureError>, usize) {
    let mut resolver = Resolver::new(request.clone());
    let mut rounds = 0;
    loop {
        match resolver.poll() {
            Poll::Done(result) => return (result, rounds),
            Poll::Needs(needs) => {
                rounds += 1;
                assert!(rounds < 100, "the resolver does not converge: {needs:?}");
                for need in needs {
                    let answer = fs.answer(&need);
                    resolver.learn(need, answer);
                }
            }
        }
    }
}

/// The entries as `path` or `path -> target` lines, for readable asserts.
pub fn listing(closure: &Closure) -> Vec<String> {
    closure
        .entries
        .iter()
        .map(|e| match &e.kind {
            EntryKind::File => e.path.clone(),
            EntryKind::Symlink { target } => format!("{} -> {target}", e.path),
        })
        .collect()
}

/// `name => path` of each loaded object.
pub fn loaded(closure: &Closure) -> Vec<String> {
    closure
        .objects
        .iter()
        .map(|o| format!("{} => {}", o.name, o.path))
        .collect()
}
