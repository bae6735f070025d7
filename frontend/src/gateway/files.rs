//! Reading files of a solved result: the `ReadFile`, `ReadDir` and
//! `StatFile` requests and what their answers mean.
//!
//! How the daemon answers (BuildKit `cache/util/fsutil.go`, v0.13 as
//! today): every path is resolved inside the result's root with symlinks
//! followed, the last component included, so `ReadFile` and `StatFile`
//! see through a symlink; `ReadDir` lists a directory's entries as
//! `lstat` sees them (a symlink's target in `linkname`), which is the one
//! way to read a link. A directory that does not exist lists as empty.

use stagecraft_proto::gateway as gw;

/// Go's `os.FileMode` type bits, which fsutil sends as `mode`.
mod go_mode {
    pub const DIR: u32 = 1 << 31;
    pub const SYMLINK: u32 = 1 << 27;
    pub const DEVICE: u32 = 1 << 26;
    pub const NAMED_PIPE: u32 = 1 << 25;
    pub const SOCKET: u32 = 1 << 24;
    pub const CHAR_DEVICE: u32 = 1 << 21;
    pub const IRREGULAR: u32 = 1 << 19;
    pub const SETUID: u32 = 1 << 23;
    pub const SETGID: u32 = 1 << 22;
    pub const STICKY: u32 = 1 << 20;
}

/// A file's metadata, not followed when it came from `ReadDir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStat {
    /// The entry's name (`ReadDir`) or the path's last component
    /// (`StatFile`).
    pub name: String,
    pub kind: FileKind,
    pub size: u64,
    /// Unix permission bits, setuid/setgid/sticky included (`0o4755`).
    pub permissions: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink {
        target: String,
    },
    /// A device, pipe or socket.
    Other,
}

impl From<gw::Stat> for FileStat {
    fn from(stat: gw::Stat) -> FileStat {
        let mode = stat.mode;
        let kind = if mode & go_mode::DIR != 0 {
            FileKind::Dir
        } else if mode & go_mode::SYMLINK != 0 {
            FileKind::Symlink {
                target: stat.linkname,
            }
        } else if mode
            & (go_mode::DEVICE
                | go_mode::NAMED_PIPE
                | go_mode::SOCKET
                | go_mode::CHAR_DEVICE
                | go_mode::IRREGULAR)
            != 0
        {
            FileKind::Other
        } else {
            // A regular file may carry a `linkname` too: fsutil puts the
            // first path of a hard link there. It is still a file.
            FileKind::File
        };
        let mut permissions = mode & 0o777;
        for (go, unix) in [
            (go_mode::SETUID, 0o4000),
            (go_mode::SETGID, 0o2000),
            (go_mode::STICKY, 0o1000),
        ] {
            if mode & go != 0 {
                permissions |= unix;
            }
        }
        let name = match stat.path.rfind('/') {
            Some(slash) => stat.path[slash + 1..].to_string(),
            None => stat.path,
        };
        FileStat {
            name,
            kind,
            size: u64::try_from(stat.size).unwrap_or(0),
            permissions,
        }
    }
}

/// `length` bytes at `offset`; the daemon returns fewer at the end of the
/// file (it reads through an `io.SectionReader`).
pub(super) fn read_file_request(
    reference: &str,
    path: &str,
    offset: u64,
    length: u64,
) -> gw::ReadFileRequest {
    gw::ReadFileRequest {
        r#ref: reference.to_string(),
        file_path: path.to_string(),
        range: Some(gw::FileRange {
            offset: i64::try_from(offset).unwrap_or(i64::MAX),
            length: i64::try_from(length).unwrap_or(i64::MAX),
        }),
        mount_index: 0,
    }
}

/// `pattern` filters the entries (fsutil include-pattern syntax; empty for
/// all of them).
pub(super) fn read_dir_request(reference: &str, dir: &str, pattern: &str) -> gw::ReadDirRequest {
    gw::ReadDirRequest {
        r#ref: reference.to_string(),
        dir_path: dir.to_string(),
        include_pattern: pattern.to_string(),
        mount_index: 0,
    }
}

pub(super) fn stat_file_request(reference: &str, path: &str) -> gw::StatFileRequest {
    gw::StatFileRequest {
        r#ref: reference.to_string(),
        path: path.to_string(),
        mount_index: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(path: &str, mode: u32, linkname: &str) -> gw::Stat {
        gw::Stat {
            path: path.to_string(),
            mode,
            size: 42,
            linkname: linkname.to_string(),
            ..gw::Stat::default()
        }
    }

    #[test]
    fn reads_go_file_modes() {
        let dir = FileStat::from(stat("lib", go_mode::DIR | 0o755, ""));
        assert_eq!(dir.kind, FileKind::Dir);
        assert_eq!(dir.permissions, 0o755);

        let link = FileStat::from(stat(
            "libz.so.1",
            go_mode::SYMLINK | 0o777,
            "libz.so.1.2.13",
        ));
        assert_eq!(
            link.kind,
            FileKind::Symlink {
                target: "libz.so.1.2.13".into()
            }
        );

        let file = FileStat::from(stat("sub/su", go_mode::SETUID | 0o755, ""));
        assert_eq!(file.name, "su");
        assert_eq!(file.kind, FileKind::File);
        assert_eq!(file.permissions, 0o4755);
        assert_eq!(file.size, 42);

        let device = FileStat::from(stat(
            "null",
            go_mode::DEVICE | go_mode::CHAR_DEVICE | 0o666,
            "",
        ));
        assert_eq!(device.kind, FileKind::Other);
    }

    #[test]
    fn a_hard_link_is_a_file_not_a_symlink() {
        // fsutil names the first path of a hard link in `linkname`.
        let hardlink = FileStat::from(stat("perl5.36.0", 0o755, "perl"));
        assert_eq!(hardlink.kind, FileKind::File);
    }

    #[test]
    fn builds_requests_for_the_whole_result() {
        let read = read_file_request("ref1", "/usr/lib/libc.so.6", 4096, 65536);
        assert_eq!(read.r#ref, "ref1");
        assert_eq!(read.file_path, "/usr/lib/libc.so.6");
        assert_eq!(
            read.range,
            Some(gw::FileRange {
                offset: 4096,
                length: 65536
            })
        );
        assert_eq!(read.mount_index, 0);

        let list = read_dir_request("ref1", "/usr/lib", "");
        assert_eq!(
            (list.dir_path.as_str(), list.include_pattern.as_str()),
            ("/usr/lib", "")
        );

        let stat = stat_file_request("ref1", "/etc/ld.so.cache");
        assert_eq!(
            (stat.r#ref.as_str(), stat.path.as_str()),
            ("ref1", "/etc/ld.so.cache")
        );
    }
}
