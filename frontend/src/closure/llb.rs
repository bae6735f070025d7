//! The LLB that copies a closure.
//!
//! One FileOp on scratch with one copy action per entry, each from its
//! path in the source to the same path: no wildcards (a path is literal,
//! whatever its characters), `FollowSymlink` off (BuildKit's copier then
//! resolves only the parent directories and recreates a symlink as a
//! symlink, fsutil `copy.rootPath`), parents created as plain 0755
//! directories. The entries' directories contain no symlinks, so the order
//! of the actions does not matter; they are in path order, so the same
//! closure is the same op, byte for byte, and BuildKit's per-path content
//! checksums make a rebuild with the same libraries a cache hit.
//!
//! Onto a stage that already has files, the closure is built on scratch
//! first and then copied as a tree (`/` to `/`, links kept). Copying each
//! entry straight onto such a stage fails where the stage has a symlink at
//! an entry's path (`/lib -> usr/lib` on Debian): BuildKit resolves the
//! destination path, so the link would be created inside its own target,
//! and BuildKit 0.13 stops with "too many links" (tried on the daemon). A
//! tree copy replaces a link by a link (checked: curl's closure onto
//! `debian:bookworm-slim` and `busybox` runs), and fails clearly where
//! the stage has a directory the closure has as a link.

use super::Closure;
use crate::llb::{CopyOptions, FileOp, OpMeta, State};

/// The options of every closure copy.
fn exact_copy() -> CopyOptions {
    CopyOptions {
        follow_symlinks: false,
        dir_contents: false,
        create_dest_path: true,
        allow_wildcard: false,
        allow_empty_wildcard: false,
        ..CopyOptions::default()
    }
}

/// The closure's files alone, on scratch.
pub fn closure_layer(source: &State, closure: &Closure, meta: OpMeta) -> State {
    closure
        .entries
        .iter()
        // Files and links are copied alike: the copier sees which.
        .fold(FileOp::on(&State::scratch()), |op, entry| {
            op.copy(source, &entry.path, &entry.path, exact_copy())
        })
        .into_state(meta)
}

/// `dest` with the closure's files of `source` added.
pub fn copy_closure(dest: &State, source: &State, closure: &Closure, meta: OpMeta) -> State {
    let layer = closure_layer(source, closure, meta.clone());
    if dest.is_scratch() {
        return layer;
    }
    let tree = CopyOptions {
        dir_contents: true,
        ..exact_copy()
    };
    FileOp::on(dest)
        .copy(&layer, "/", "/", tree)
        .into_state(meta)
}

#[cfg(test)]
mod tests {
    use stagecraft_proto::{pb, Message};

    use super::*;
    use crate::closure::{Entry, EntryKind};
    use crate::llb::{self, Platform};

    fn closure() -> Closure {
        let entry = |path: &str, kind| Entry {
            path: path.into(),
            kind,
        };
        Closure {
            entries: vec![
                entry(
                    "/lib",
                    EntryKind::Symlink {
                        target: "usr/lib".into(),
                    },
                ),
                entry("/usr/bin/[weird]*", EntryKind::File),
                entry("/usr/lib/x86_64-linux-gnu/libc.so.6", EntryKind::File),
            ],
            objects: Vec::new(),
        }
    }

    fn file_ops(state: &State) -> Vec<(pb::FileOp, Vec<pb::Input>)> {
        llb::marshal(state, None, llb::Encoding::default())
            .def
            .iter()
            .map(|bytes| pb::Op::decode(bytes.as_slice()).unwrap())
            .filter_map(|op| match op.op {
                Some(pb::op::Op::File(file)) => Some((file, op.inputs)),
                _ => None,
            })
            .collect()
    }

    fn copies(file: &pb::FileOp) -> Vec<pb::FileActionCopy> {
        file.actions
            .iter()
            .map(|a| match &a.action {
                Some(pb::file_action::Action::Copy(copy)) => copy.clone(),
                other => panic!("not a copy: {other:?}"),
            })
            .collect()
    }

    fn source() -> State {
        let platform = Platform::parse("linux/amd64").unwrap();
        llb::image(
            "docker.io/library/debian:bookworm",
            &platform,
            OpMeta::default(),
        )
    }

    #[test]
    fn onto_scratch_one_literal_copy_per_entry() {
        let state = copy_closure(
            &State::scratch(),
            &source(),
            &closure(),
            OpMeta::named("closure"),
        );
        let ops = file_ops(&state);
        assert_eq!(ops.len(), 1);
        let (file, inputs) = &ops[0];
        assert_eq!(inputs.len(), 1, "only the source is an input");
        assert_eq!(
            file.actions[0].input, -1,
            "the first copy starts from scratch"
        );
        let copies = copies(file);
        let paths: Vec<_> = copies
            .iter()
            .map(|c| (c.src.as_str(), c.dest.as_str()))
            .collect();
        assert_eq!(
            paths,
            [
                ("/lib", "/lib"),
                ("/usr/bin/[weird]*", "/usr/bin/[weird]*"),
                (
                    "/usr/lib/x86_64-linux-gnu/libc.so.6",
                    "/usr/lib/x86_64-linux-gnu/libc.so.6"
                ),
            ]
        );
        for copy in &copies {
            assert!(
                !copy.follow_symlink && !copy.allow_wildcard && copy.create_dest_path,
                "{copy:?}"
            );
            assert_eq!(copy.mode, -1, "modes are kept");
        }
    }

    #[test]
    fn onto_a_stage_the_closure_is_copied_as_a_tree() {
        let dest = llb::image(
            "docker.io/library/busybox:latest",
            &Platform::parse("linux/amd64").unwrap(),
            OpMeta::default(),
        );
        let state = copy_closure(&dest, &source(), &closure(), OpMeta::named("closure"));
        let ops = file_ops(&state);
        assert_eq!(ops.len(), 2);
        let tree = ops
            .iter()
            .find(|(file, _)| file.actions.len() == 1)
            .unwrap();
        let copy = &copies(&tree.0)[0];
        assert_eq!((copy.src.as_str(), copy.dest.as_str()), ("/", "/"));
        assert!(!copy.follow_symlink && copy.dir_copy_contents && !copy.allow_wildcard);
    }

    #[test]
    fn the_same_closure_is_the_same_definition() {
        let one = llb::marshal(
            &copy_closure(&State::scratch(), &source(), &closure(), OpMeta::default()),
            None,
            llb::Encoding::default(),
        );
        let two = llb::marshal(
            &copy_closure(&State::scratch(), &source(), &closure(), OpMeta::default()),
            None,
            llb::Encoding::default(),
        );
        assert_eq!(one, two);
    }
}
