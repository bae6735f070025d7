//! Minimal ELF files with exactly the headers the loader reads, so that
//! each search rule can be tested with files whose `RPATH`, `RUNPATH`,
//! class or machine the test chooses (no compiler needed).

/// `EM_X86_64`, `EM_386`, `EM_AARCH64`.
pub const X86_64: u16 = 62;
pub const I386: u16 = 3;
pub const AARCH64: u16 = 183;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

#[derive(Debug, Clone)]
pub struct TestElf {
    class64: bool,
    machine: u16,
    e_type: u16,
    interp: Option<String>,
    dynamic: bool,
    needed: Vec<String>,
    soname: Option<String>,
    rpath: Option<String>,
    runpath: Option<String>,
    nodeflib: bool,
    /// Zero bytes before the dynamic section and its strings, to put them
    /// beyond the first read.
    padding: usize,
}

impl TestElf {
    /// A dynamically linked x86-64 executable with the Debian loader.
    pub fn exe(needed: &[&str]) -> TestElf {
        TestElf {
            class64: true,
            machine: X86_64,
            e_type: ET_DYN,
            interp: Some("/lib64/ld-linux-x86-64.so.2".into()),
            dynamic: true,
            needed: needed.iter().map(|s| s.to_string()).collect(),
            soname: None,
            rpath: None,
            runpath: None,
            nodeflib: false,
            padding: 0,
        }
    }

    /// A statically linked executable: no interpreter, no dynamic section.
    pub fn static_exe() -> TestElf {
        TestElf {
            e_type: ET_EXEC,
            interp: None,
            dynamic: false,
            ..TestElf::exe(&[])
        }
    }

    /// An x86-64 shared library.
    pub fn lib(soname: &str, needed: &[&str]) -> TestElf {
        TestElf {
            interp: None,
            soname: Some(soname.into()),
            ..TestElf::exe(needed)
        }
    }

    /// The loader itself.
    pub fn loader() -> TestElf {
        TestElf::lib("ld-linux-x86-64.so.2", &[])
    }

    pub fn class32(mut self, machine: u16) -> TestElf {
        self.class64 = false;
        self.machine = machine;
        if self.interp.is_some() {
            self.interp = Some("/lib/ld-linux.so.2".into());
        }
        self
    }

    pub fn machine(mut self, machine: u16) -> TestElf {
        self.machine = machine;
        self
    }

    pub fn interp(mut self, interp: &str) -> TestElf {
        self.interp = Some(interp.into());
        self
    }

    pub fn rpath(mut self, rpath: &str) -> TestElf {
        self.rpath = Some(rpath.into());
        self
    }

    pub fn runpath(mut self, runpath: &str) -> TestElf {
        self.runpath = Some(runpath.into());
        self
    }

    pub fn nodeflib(mut self) -> TestElf {
        self.nodeflib = true;
        self
    }

    pub fn padded(mut self, padding: usize) -> TestElf {
        self.padding = padding;
        self
    }

    /// The file: header, program headers, interpreter, then (after the
    /// padding) the string table and the dynamic section, all in one
    /// `PT_LOAD` whose addresses equal file offsets.
    pub fn bytes(&self) -> Vec<u8> {
        let (ehsize, phentsize, dynsize) = if self.class64 {
            (64, 56, 16)
        } else {
            (52, 32, 8)
        };
        let phnum = 1 + usize::from(self.interp.is_some()) + usize::from(self.dynamic);
        let interp_offset = ehsize + phnum * phentsize;
        let interp = self
            .interp
            .as_ref()
            .map(|i| format!("{i}\0").into_bytes())
            .unwrap_or_default();
        let strtab_offset = interp_offset + interp.len() + self.padding;

        let mut strtab = vec![0u8];
        let mut string = |s: &str| {
            let at = strtab.len() as u64;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            at
        };
        let mut entries: Vec<(u64, u64)> = Vec::new();
        for name in &self.needed {
            entries.push((1, string(name))); // DT_NEEDED
        }
        if let Some(soname) = &self.soname {
            entries.push((14, string(soname))); // DT_SONAME
        }
        if let Some(rpath) = &self.rpath {
            entries.push((15, string(rpath))); // DT_RPATH
        }
        if let Some(runpath) = &self.runpath {
            entries.push((29, string(runpath))); // DT_RUNPATH
        }
        if self.nodeflib {
            entries.push((0x6fff_fffb, 0x800)); // DT_FLAGS_1 = DF_1_NODEFLIB
        }
        entries.push((5, strtab_offset as u64)); // DT_STRTAB
        entries.push((10, strtab.len() as u64)); // DT_STRSZ
        entries.push((0, 0)); // DT_NULL
        let dynamic_offset = (strtab_offset + strtab.len()).next_multiple_of(8);
        let dynamic_size = if self.dynamic {
            entries.len() * dynsize
        } else {
            0
        };
        let total = dynamic_offset + dynamic_size;

        let mut w = Writer {
            out: Vec::new(),
            class64: self.class64,
        };
        w.header(self, phnum as u16, ehsize as u16, phentsize as u16);
        w.phdr(PT_LOAD, 0, total as u64);
        if self.interp.is_some() {
            w.phdr(PT_INTERP, interp_offset as u64, interp.len() as u64);
        }
        if self.dynamic {
            w.phdr(PT_DYNAMIC, dynamic_offset as u64, dynamic_size as u64);
        }
        w.out.extend_from_slice(&interp);
        w.out.resize(strtab_offset, 0);
        if self.dynamic {
            w.out.extend_from_slice(&strtab);
            w.out.resize(dynamic_offset, 0);
            for (tag, value) in entries {
                w.word(tag);
                w.word(value);
            }
        }
        w.out
    }
}

struct Writer {
    out: Vec<u8>,
    class64: bool,
}

impl Writer {
    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    /// An address, offset or size: 8 bytes in ELF64, 4 in ELF32.
    fn word(&mut self, v: u64) {
        if self.class64 {
            self.out.extend_from_slice(&v.to_le_bytes());
        } else {
            self.u32(v as u32);
        }
    }

    fn header(&mut self, elf: &TestElf, phnum: u16, ehsize: u16, phentsize: u16) {
        let class = if elf.class64 { 2 } else { 1 };
        self.out
            .extend_from_slice(&[0x7f, b'E', b'L', b'F', class, 1, 1, 0]);
        self.out.extend_from_slice(&[0; 8]);
        self.u16(elf.e_type);
        self.u16(elf.machine);
        self.u32(1); // e_version
        self.word(0); // e_entry
        self.word(u64::from(ehsize)); // e_phoff
        self.word(0); // e_shoff
        self.u32(0); // e_flags
        self.u16(ehsize);
        self.u16(phentsize);
        self.u16(phnum);
        self.u16(0); // e_shentsize
        self.u16(0); // e_shnum
        self.u16(0); // e_shstrndx
    }

    /// A program header whose address is its offset.
    fn phdr(&mut self, kind: u32, offset: u64, size: u64) {
        self.u32(kind);
        if self.class64 {
            self.u32(4); // p_flags
            self.word(offset);
            self.word(offset); // p_vaddr
            self.word(offset); // p_paddr
            self.word(size);
            self.word(size);
            self.word(8); // p_align
        } else {
            self.word(offset);
            self.word(offset);
            self.word(offset);
            self.word(size);
            self.word(size);
            self.u32(4);
            self.word(8);
        }
    }
}
