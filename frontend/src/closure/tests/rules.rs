//! The loader's rules, one by one, on synthetic trees.

use super::elf_writer::{TestElf, AARCH64, I386};
use super::{listing, loaded, request, TestRoot};
use crate::closure::{ClosureError, Request};

const LIBDIR: &str = "/usr/lib/x86_64-linux-gnu";

#[test]
fn a_static_executable_is_its_own_closure() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/busybox", TestElf::static_exe());
    let closure = root.resolve(&["/usr/bin/busybox"]).unwrap();
    assert_eq!(listing(&closure), ["/usr/bin/busybox"]);
    assert!(closure.objects.is_empty());
}

#[test]
fn merged_usr_keeps_every_symlink_the_loader_passes() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/tool", TestElf::exe(&["libssl.so.3", "libc.so.6"]));
    root.elf(
        &format!("{LIBDIR}/libssl.so.3.0.11"),
        TestElf::lib("libssl.so.3", &["libc.so.6"]),
    );
    root.symlink(&format!("{LIBDIR}/libssl.so.3"), "libssl.so.3.0.11");
    // Reached through /bin -> usr/bin: the link is copied too.
    let closure = root.resolve(&["/bin/tool"]).unwrap();
    assert_eq!(
        listing(&closure),
        [
            "/bin -> usr/bin",
            "/lib -> usr/lib",
            "/lib64 -> usr/lib64",
            "/usr/bin/tool",
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libssl.so.3 -> libssl.so.3.0.11",
            "/usr/lib/x86_64-linux-gnu/libssl.so.3.0.11",
            "/usr/lib64/ld-linux-x86-64.so.2 -> ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        ]
    );
    // ld.so.conf lists /lib/x86_64-linux-gnu first: that is the path
    // opened (as `ldd` shows it), through the /lib symlink.
    assert_eq!(
        loaded(&closure),
        [
            "/lib64/ld-linux-x86-64.so.2 => /lib64/ld-linux-x86-64.so.2",
            "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3",
            "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6",
        ]
    );
}

#[test]
fn rpath_is_inherited_by_dependencies() {
    let root = TestRoot::debian();
    root.elf(
        "/opt/app/bin/app",
        TestElf::exe(&["liba.so"]).rpath("/opt/app/lib"),
    );
    root.elf(
        "/opt/app/lib/liba.so",
        TestElf::lib("liba.so", &["libb.so"]),
    );
    root.elf(
        "/opt/app/lib/libb.so",
        TestElf::lib("libb.so", &["libc.so.6"]),
    );
    let closure = root.resolve(&["/opt/app/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"libb.so => /opt/app/lib/libb.so".to_string()));
}

#[test]
fn runpath_applies_only_to_direct_dependencies() {
    let root = TestRoot::debian();
    root.elf(
        "/opt/app/bin/app",
        TestElf::exe(&["liba.so"]).runpath("/opt/app/lib"),
    );
    root.elf(
        "/opt/app/lib/liba.so",
        TestElf::lib("liba.so", &["libb.so"]),
    );
    root.elf("/opt/app/lib/libb.so", TestElf::lib("libb.so", &[]));
    let error = root.resolve(&["/opt/app/bin/app"]).unwrap_err();
    match &error {
        ClosureError::MissingLibrary {
            name,
            needed_by,
            searched,
            ..
        } => {
            assert_eq!(name, "libb.so");
            assert_eq!(needed_by, "/opt/app/lib/liba.so");
            assert!(
                !searched.contains(&"/opt/app/lib".to_string()),
                "{searched:?}"
            );
            assert!(searched.contains(&"/usr/lib/x86_64-linux-gnu".to_string()));
        }
        other => panic!("{other}"),
    }
    let message = error.to_string();
    assert!(message.starts_with("`libb.so`, needed by `/opt/app/lib/liba.so`, is not in the source stage; looked in /usr/local/lib, "), "{message}");
}

#[test]
fn runpath_makes_the_loader_ignore_rpath() {
    let root = TestRoot::debian();
    let exe = TestElf::exe(&["libx.so"]).rpath("/opt/r").runpath("/opt/u");
    root.elf("/usr/bin/app", exe);
    root.elf("/opt/r/libx.so", TestElf::lib("libx.so", &[]));
    root.elf("/opt/u/libx.so", TestElf::lib("libx.so", &[]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"libx.so => /opt/u/libx.so".to_string()));
    assert!(!closure.by_path().contains_key("/opt/r/libx.so"));
}

#[test]
fn rpath_of_the_loading_chain_comes_before_the_system() {
    // libx in the system directory and in the executable's RPATH: the
    // inherited RPATH wins for a dependency of a dependency.
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["liba.so"]).rpath("/opt/r"));
    root.elf(
        &format!("{LIBDIR}/liba.so"),
        TestElf::lib("liba.so", &["libx.so"]),
    );
    root.elf(&format!("{LIBDIR}/libx.so"), TestElf::lib("libx.so", &[]));
    root.elf("/opt/r/libx.so", TestElf::lib("libx.so", &[]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"libx.so => /opt/r/libx.so".to_string()));
}

#[test]
fn origin_is_the_real_directory_of_the_executable() {
    let root = TestRoot::debian();
    root.elf(
        "/app/bin/tool",
        TestElf::exe(&["libtool.so.1"]).runpath("$ORIGIN/../lib"),
    );
    root.elf(
        "/app/lib/libtool.so.1",
        TestElf::lib("libtool.so.1", &["libplug.so"]).runpath("${ORIGIN}/plugins"),
    );
    root.elf(
        "/app/lib/plugins/libplug.so",
        TestElf::lib("libplug.so", &[]),
    );
    root.symlink("/usr/local/bin/tool", "/app/bin/tool");
    let closure = root.resolve(&["/usr/local/bin/tool"]).unwrap();
    assert_eq!(
        loaded(&closure)[1..],
        [
            "libtool.so.1 => /app/bin/../lib/libtool.so.1",
            "libplug.so => /app/bin/../lib/plugins/libplug.so",
        ]
    );
    let paths = closure.by_path();
    assert!(paths.contains_key("/usr/local/bin/tool"));
    assert!(paths.contains_key("/app/bin/tool"));
    assert!(paths.contains_key("/app/lib/plugins/libplug.so"));
}

#[test]
fn origin_dot_dot_is_taken_physically() {
    // $ORIGIN/../lib from a library opened through /lib (-> usr/lib):
    // `..` of /lib/x86_64-linux-gnu is /usr/lib, as the kernel sees it.
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["liba.so"]));
    root.elf(
        &format!("{LIBDIR}/liba.so"),
        TestElf::lib("liba.so", &["libz.so"]).runpath("$ORIGIN/../extra"),
    );
    root.elf("/usr/lib/extra/libz.so", TestElf::lib("libz.so", &[]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(
        loaded(&closure).contains(&"libz.so => /lib/x86_64-linux-gnu/../extra/libz.so".to_string())
    );
    assert!(closure.by_path().contains_key("/usr/lib/extra/libz.so"));
}

#[test]
fn ld_so_conf_includes_are_searched_and_bring_the_cache() {
    let root = TestRoot::debian();
    root.file("/etc/ld.so.conf.d/zz-local.conf", b"/opt/vendor/lib/\n");
    root.file("/etc/ld.so.conf.d/ignored.conf.disabled", b"/opt/never\n");
    root.elf("/opt/never/libv.so.2", TestElf::lib("libv.so.2", &[]));
    root.elf("/opt/vendor/lib/libv.so.2", TestElf::lib("libv.so.2", &[]));
    root.elf("/usr/bin/app", TestElf::exe(&["libv.so.2"]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"libv.so.2 => /opt/vendor/lib/libv.so.2".to_string()));
    // The loader in the image finds /opt/vendor/lib only through the cache.
    assert!(closure.by_path().contains_key("/etc/ld.so.cache"));

    std::fs::remove_file(root.host("/etc/ld.so.cache")).unwrap();
    let error = root.resolve(&["/usr/bin/app"]).unwrap_err();
    assert!(
        matches!(error, ClosureError::NoLoaderCache { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("run `ldconfig`"), "{error}");
}

#[test]
fn the_system_directories_need_no_cache() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libc.so.6"]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(!closure.by_path().contains_key("/etc/ld.so.cache"));
}

#[test]
fn libraries_of_another_class_or_machine_are_passed_over() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libq.so.1"]));
    root.elf(
        &format!("{LIBDIR}/libq.so.1"),
        TestElf::lib("libq.so.1", &[]).class32(I386),
    );
    root.elf(
        "/usr/lib/libq.so.1",
        TestElf::lib("libq.so.1", &[]).machine(AARCH64),
    );
    root.elf("/usr/lib64/libq.so.1", TestElf::lib("libq.so.1", &[]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"libq.so.1 => /lib64/libq.so.1".to_string()));

    std::fs::remove_file(root.host("/usr/lib64/libq.so.1")).unwrap();
    let message = root.resolve(&["/usr/bin/app"]).unwrap_err().to_string();
    assert!(
        message.contains("passed over `/lib/x86_64-linux-gnu/libq.so.1` (ELFCLASS32 i386)"),
        "{message}"
    );
    assert!(
        message.contains("`/lib/libq.so.1` (ELFCLASS64 aarch64)"),
        "{message}"
    );
}

#[test]
fn a_library_needed_twice_is_loaded_once() {
    let root = TestRoot::debian();
    root.elf(
        "/usr/bin/app",
        TestElf::exe(&["liba.so", "libb.so", "libc.so.6"]),
    );
    root.elf(
        &format!("{LIBDIR}/liba.so"),
        TestElf::lib("liba.so", &["libc.so.6"]),
    );
    // libb asks for libc by a name that is a symlink to the same file.
    root.elf(
        &format!("{LIBDIR}/libb.so"),
        TestElf::lib("libb.so", &["libc-alias.so"]),
    );
    root.symlink(&format!("{LIBDIR}/libc-alias.so"), "libc.so.6");
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    let libcs = closure
        .objects
        .iter()
        .filter(|o| o.real_path.ends_with("libc.so.6"))
        .count();
    assert_eq!(libcs, 1, "{:?}", loaded(&closure));
    // The loader opened the alias before seeing it was libc: it is copied.
    assert!(closure
        .by_path()
        .contains_key("/usr/lib/x86_64-linux-gnu/libc-alias.so"));
    // libc's need of ld-linux-x86-64.so.2 is the loader itself.
    assert_eq!(
        closure
            .objects
            .iter()
            .filter(|o| o.real_path.contains("ld-linux"))
            .count(),
        1
    );
}

#[test]
fn nodeflib_skips_the_default_directories() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libc.so.6"]).nodeflib());
    let error = root.resolve(&["/usr/bin/app"]).unwrap_err();
    match error {
        ClosureError::MissingLibrary { searched, .. } => assert_eq!(
            searched,
            ["/usr/local/lib", "/usr/local/lib/x86_64-linux-gnu"]
        ),
        other => panic!("{other}"),
    }
}

#[test]
fn a_needed_path_with_a_slash_is_opened_as_is() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["/opt/abs/libabs.so"]));
    root.elf("/opt/abs/libabs.so", TestElf::lib("libabs.so", &[]));
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(loaded(&closure).contains(&"/opt/abs/libabs.so => /opt/abs/libabs.so".to_string()));
}

#[test]
fn ld_library_path_of_the_image_comes_before_runpath() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libx.so"]).runpath("/opt/u"));
    root.elf("/opt/u/libx.so", TestElf::lib("libx.so", &[]));
    root.elf("/opt/env/libx.so", TestElf::lib("libx.so", &[]));
    let request = Request {
        library_path: vec!["/opt/env".into()],
        ..request(&["/usr/bin/app"])
    };
    let closure = root.resolve_counting(&request).0.unwrap();
    assert!(loaded(&closure).contains(&"libx.so => /opt/env/libx.so".to_string()));
}

#[test]
fn the_baseline_library_is_copied_not_the_hwcaps_variant() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libz.so.1"]));
    root.elf(
        &format!("{LIBDIR}/libz.so.1"),
        TestElf::lib("libz.so.1", &[]),
    );
    root.elf(
        &format!("{LIBDIR}/glibc-hwcaps/x86-64-v3/libz.so.1"),
        TestElf::lib("libz.so.1", &[]),
    );
    let closure = root.resolve(&["/usr/bin/app"]).unwrap();
    assert!(closure
        .by_path()
        .contains_key("/usr/lib/x86_64-linux-gnu/libz.so.1"));
    assert!(!closure.by_path().keys().any(|p| p.contains("hwcaps")));
}

#[test]
fn files_beyond_the_first_read_take_more_rounds_not_more_errors() {
    let root = TestRoot::debian();
    // Small files are read whole; these are not (more than 4 MiB).
    root.elf("/usr/bin/app", TestElf::exe(&["libbig.so"]).padded(5 << 20));
    let big = TestElf::lib("libbig.so", &["libc.so.6"]).padded(5 << 20);
    root.elf(&format!("{LIBDIR}/libbig.so"), big);
    let (closure, rounds) = root.resolve_counting(&request(&["/usr/bin/app"]));
    let closure = closure.unwrap();
    assert!(loaded(&closure).contains(&"libbig.so => /lib/x86_64-linux-gnu/libbig.so".to_string()));
    // The same files without the padding, read whole, take fewer rounds.
    root.elf("/usr/bin/small", TestElf::exe(&["libsmall.so"]));
    root.elf(
        &format!("{LIBDIR}/libsmall.so"),
        TestElf::lib("libsmall.so", &["libc.so.6"]),
    );
    let (small, small_rounds) = root.resolve_counting(&request(&["/usr/bin/small"]));
    assert_eq!(small.unwrap().objects.len(), closure.objects.len());
    assert!(
        rounds > small_rounds,
        "{rounds} rounds padded, {small_rounds} whole"
    );
}

#[test]
fn rounds_grow_with_the_depth_of_the_tree_not_its_size() {
    // Ten libraries side by side need no more rounds than one.
    let root = TestRoot::debian();
    let names: Vec<String> = (0..10).map(|i| format!("lib{i}.so")).collect();
    let needed: Vec<&str> = names.iter().map(String::as_str).collect();
    root.elf("/usr/bin/wide", TestElf::exe(&needed));
    root.elf("/usr/bin/narrow", TestElf::exe(&["lib0.so"]));
    for name in &names {
        root.elf(
            &format!("{LIBDIR}/{name}"),
            TestElf::lib(name, &["libc.so.6"]),
        );
    }
    let (wide, wide_rounds) = root.resolve_counting(&request(&["/usr/bin/wide"]));
    let (_, narrow_rounds) = root.resolve_counting(&request(&["/usr/bin/narrow"]));
    assert_eq!(wide.unwrap().objects.len(), 12);
    assert_eq!(wide_rounds, narrow_rounds);
    assert!(wide_rounds <= 8, "{wide_rounds} rounds");
}

#[test]
fn the_same_request_gives_the_same_closure() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/a", TestElf::exe(&["libc.so.6"]));
    root.elf("/usr/bin/b", TestElf::exe(&["libc.so.6"]));
    let one = root.resolve(&["/usr/bin/a", "/bin/b"]).unwrap();
    let two = root.resolve(&["/usr/bin/a", "/bin/b"]).unwrap();
    assert_eq!(one, two);
    let mut sorted = one.entries.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(one.entries, sorted);
}

#[test]
fn bad_executables_are_named() {
    let root = TestRoot::debian();
    root.file("/usr/bin/script", b"#!/bin/sh\necho hi\n");
    root.file("/usr/bin/empty", b"");
    root.file("/usr/bin/trunc", b"\x7fELF\x02\x01\x01");
    root.symlink("/usr/bin/loop", "loop");
    root.symlink("/usr/bin/psql", "../share/postgresql-common/pg_wrapper");
    root.file(
        "/usr/share/postgresql-common/pg_wrapper",
        b"#! /usr/bin/perl\n",
    );
    let err = |path: &str| root.resolve(&[path]).unwrap_err().to_string();
    assert_eq!(
        err("/usr/bin/nothere"),
        "`/usr/bin/nothere` does not exist in the source stage"
    );
    assert_eq!(
        err("/usr/bin"),
        "`/usr/bin` is a directory, not an executable"
    );
    assert_eq!(
        err("/usr/bin/script"),
        "`/usr/bin/script` is not an ELF file (it is a script for `/bin/sh`; copy that \
         interpreter with `closure` and the script as a plain file)"
    );
    assert_eq!(
        err("/usr/bin/empty"),
        "`/usr/bin/empty` is not an ELF file (it is empty)"
    );
    assert!(err("/usr/bin/trunc").starts_with("`/usr/bin/trunc` is not a valid ELF file: "));
    assert_eq!(
        err("/usr/bin/loop"),
        "`/usr/bin/loop`: too many levels of symbolic links"
    );
    assert_eq!(
        err("/usr/bin/psql"),
        "`/usr/bin/psql` → `/usr/share/postgresql-common/pg_wrapper` is not an ELF file (it is a \
         script for `/usr/bin/perl`; copy that interpreter with `closure` and the script as a \
         plain file)"
    );
}

#[test]
fn the_loader_must_exist_and_match() {
    let root = TestRoot::debian();
    root.elf(
        "/usr/bin/app",
        TestElf::exe(&[]).interp("/lib/ld-musl-x86_64.so.1"),
    );
    assert_eq!(
        root.resolve(&["/usr/bin/app"]).unwrap_err().to_string(),
        "the loader `/lib/ld-musl-x86_64.so.1` of `/usr/bin/app` does not exist in the source stage"
    );
    root.elf("/usr/bin/arm", TestElf::exe(&[]).machine(AARCH64));
    assert_eq!(
        root.resolve(&["/usr/bin/arm"]).unwrap_err().to_string(),
        "`/lib64/ld-linux-x86-64.so.2` is ELFCLASS64 x86-64, but `/usr/bin/arm` needs ELFCLASS64 aarch64"
    );
}

#[test]
fn a_non_elf_file_in_the_search_stops_the_load_as_in_ld_so() {
    let root = TestRoot::debian();
    root.elf("/usr/bin/app", TestElf::exe(&["libc.so"]));
    root.file(
        &format!("{LIBDIR}/libc.so"),
        b"/* GNU ld script */\nGROUP ( libc.so.6 )\n",
    );
    let message = root.resolve(&["/usr/bin/app"]).unwrap_err().to_string();
    assert_eq!(
        message,
        "`/usr/lib/x86_64-linux-gnu/libc.so` is not an ELF file"
    );
}
