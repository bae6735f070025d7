//! What the loader's built-in configuration depends on: the executable's
//! architecture. The loader never reads a library built for another one.

use object::elf as abi;

use super::elf::Abi;

/// `EF_ARM_ABI_FLOAT_HARD`: the hard-float ABI (armhf) of 32-bit ARM.
const EF_ARM_ABI_FLOAT_HARD: u32 = 0x400;

/// The loader's view of an architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Platform {
    /// The Debian multiarch tuple (`x86_64-linux-gnu`), if it has one.
    pub triplet: Option<&'static str>,
    /// Whether RPM-style distributions keep its libraries in `lib64`.
    pub lib64: bool,
    /// `AT_PLATFORM`, what `$PLATFORM` expands to.
    pub at_platform: &'static str,
}

impl Platform {
    pub fn of(abi: &Abi) -> Platform {
        let (triplet, lib64, at_platform) = match (abi.machine, abi.class64, abi.little_endian) {
            (m, true, true) if m == abi::EM_X86_64.0 => (Some("x86_64-linux-gnu"), true, "x86_64"),
            (m, false, true) if m == abi::EM_X86_64.0 => {
                (Some("x86_64-linux-gnux32"), false, "x86_64")
            }
            (m, false, true) if m == abi::EM_386.0 => (Some("i386-linux-gnu"), false, "i686"),
            (m, true, true) if m == abi::EM_AARCH64.0 => {
                (Some("aarch64-linux-gnu"), true, "aarch64")
            }
            (m, false, true) if m == abi::EM_ARM.0 => {
                let hard = abi.flags & EF_ARM_ABI_FLOAT_HARD != 0;
                let triplet = if hard {
                    "arm-linux-gnueabihf"
                } else {
                    "arm-linux-gnueabi"
                };
                (Some(triplet), false, "v7l")
            }
            (m, true, true) if m == abi::EM_PPC64.0 => {
                (Some("powerpc64le-linux-gnu"), true, "powerpc64le")
            }
            (m, true, false) if m == abi::EM_PPC64.0 => {
                (Some("powerpc64-linux-gnu"), true, "powerpc64")
            }
            (m, true, false) if m == abi::EM_S390.0 => (Some("s390x-linux-gnu"), true, "s390x"),
            (m, true, true) if m == abi::EM_RISCV.0 => (Some("riscv64-linux-gnu"), true, "riscv64"),
            (m, true, true) if m == abi::EM_MIPS.0 => {
                (Some("mips64el-linux-gnuabi64"), true, "mips64")
            }
            (m, false, true) if m == abi::EM_MIPS.0 => (Some("mipsel-linux-gnu"), false, "mips"),
            (m, true, true) if m == abi::EM_LOONGARCH.0 => {
                (Some("loongarch64-linux-gnu"), true, "loongarch64")
            }
            (_, class64, _) => (None, class64, "unknown"),
        };
        Platform {
            triplet,
            lib64,
            at_platform,
        }
    }

    /// The loader's built-in directories, searched last. Debian's `ld.so`
    /// has `/lib/<tuple>:/usr/lib/<tuple>:/lib:/usr/lib`; Fedora's and
    /// SUSE's have `/lib64:/usr/lib64` for 64-bit. The loader in the image
    /// is the source stage's own, whose list we cannot read, so this is
    /// the union, Debian's tuple directories first: on Debian, `lib64`
    /// holds only the loader's own symlink, and on Fedora the tuple
    /// directories do not exist, so each finds what its loader finds.
    pub fn system_dirs(&self) -> Vec<String> {
        let mut dirs = Vec::new();
        if let Some(triplet) = self.triplet {
            dirs.push(format!("/lib/{triplet}"));
            dirs.push(format!("/usr/lib/{triplet}"));
        }
        if self.lib64 {
            dirs.push("/lib64".to_string());
            dirs.push("/usr/lib64".to_string());
        }
        dirs.push("/lib".to_string());
        dirs.push("/usr/lib".to_string());
        dirs
    }

    /// What `$LIB` expands to (Debian's value when there is a tuple).
    pub fn lib(&self) -> String {
        match self.triplet {
            Some(triplet) => format!("lib/{triplet}"),
            None if self.lib64 => "lib64".to_string(),
            None => "lib".to_string(),
        }
    }
}

/// Whether the loader of an `exe` program would use a library of `lib`.
pub(super) fn compatible(exe: &Abi, lib: &Abi) -> bool {
    let same = exe.class64 == lib.class64
        && exe.little_endian == lib.little_endian
        && exe.machine == lib.machine;
    let float_abi = exe.machine != abi::EM_ARM.0
        || (exe.flags & EF_ARM_ABI_FLOAT_HARD) == (lib.flags & EF_ARM_ABI_FLOAT_HARD);
    same && float_abi
}

/// `ELFCLASS64 x86-64`, for messages.
pub(super) fn describe(a: &Abi) -> String {
    let machine = match a.machine {
        m if m == abi::EM_X86_64.0 => "x86-64",
        m if m == abi::EM_386.0 => "i386",
        m if m == abi::EM_AARCH64.0 => "aarch64",
        m if m == abi::EM_ARM.0 => "arm",
        m if m == abi::EM_PPC64.0 => "ppc64",
        m if m == abi::EM_S390.0 => "s390",
        m if m == abi::EM_RISCV.0 => "riscv",
        m if m == abi::EM_MIPS.0 => "mips",
        m if m == abi::EM_LOONGARCH.0 => "loongarch",
        _ => "",
    };
    let class = if a.class64 {
        "ELFCLASS64"
    } else {
        "ELFCLASS32"
    };
    if machine.is_empty() {
        format!("{class} machine {}", a.machine)
    } else {
        format!("{class} {machine}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi(machine: object::elf::Machine, class64: bool) -> Abi {
        Abi {
            class64,
            little_endian: true,
            machine: machine.0,
            flags: 0,
        }
    }

    #[test]
    fn knows_the_debian_and_rpm_directories() {
        let amd64 = Platform::of(&abi(abi::EM_X86_64, true));
        assert_eq!(
            amd64.system_dirs(),
            [
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib"
            ]
        );
        assert_eq!(amd64.lib(), "lib/x86_64-linux-gnu");
        let i386 = Platform::of(&abi(abi::EM_386, false));
        assert_eq!(
            i386.system_dirs(),
            [
                "/lib/i386-linux-gnu",
                "/usr/lib/i386-linux-gnu",
                "/lib",
                "/usr/lib"
            ]
        );
        assert_eq!(
            Platform::of(&abi(abi::EM_AARCH64, true)).triplet,
            Some("aarch64-linux-gnu")
        );
    }

    #[test]
    fn refuses_other_classes_and_machines() {
        let amd64 = abi(abi::EM_X86_64, true);
        assert!(compatible(&amd64, &amd64));
        assert!(!compatible(&amd64, &abi(abi::EM_386, false)));
        assert!(!compatible(&amd64, &abi(abi::EM_AARCH64, true)));
        assert_eq!(describe(&abi(abi::EM_386, false)), "ELFCLASS32 i386");
    }
}
