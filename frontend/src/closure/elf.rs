//! The parts of an ELF file the loader reads: class, machine, `PT_INTERP`
//! and the dynamic section's names.
//!
//! Parsing is done by the `object` crate (gimli-rs, the reader behind
//! Rust's own backtraces), with only its `read_core` and `elf` features:
//! no new transitive dependency (its one, `memchr`, we already had), and
//! ~3 KB of code for what is used here (measured on a stripped LTO build;
//! the whole closure resolver takes the frontend from 4.33 MB to 4.46 MB). `goblin` was the other candidate:
//! its `Elf::parse` wants the whole file in memory, and it pulls in
//! `scroll` and `plain`. `object` reads through a `ReadRef`, which lets a
//! file be read in pieces over the gateway: [`Sparse`] serves the ranges
//! fetched so far and notes each range the parser wanted but did not get,
//! so one parse attempt tells the resolver what to fetch next.
//!
//! A file up to [`WHOLE_FILE`] is read whole, in one call. A larger one
//! takes two rounds: its first 64 KiB (header, program headers,
//! `PT_INTERP`), then its dynamic segment together with the rest of the
//! first loadable segment (where `.dynstr` lives), and a third only for
//! names outside it; never the whole file (libLLVM is 100 MB).

use std::cell::RefCell;
use std::ops::Range;

use object::elf::{self as abi, FileHeader32, FileHeader64};
use object::read::elf::{Dyn, FileHeader, ProgramHeader};
use object::{Endianness, ReadRef, StringTable};

use super::error::ClosureError;
use super::facts::{FileBytes, Lookup, Node, Step, Stop, Walked};

/// The first read of a file too large to read whole.
const HEAD: u64 = 64 << 10;
/// Files up to this size are read whole, in one call: over the gateway a
/// call costs a fixed ~20 ms (the daemon mounts the result for each one),
/// much more than moving a few more megabytes through the pipe, and a
/// library under it (most of them) then takes one round, not two.
const WHOLE_FILE: u64 = 4 << 20;
/// The least read for a string the head did not hold.
const STRING_WINDOW: u64 = 4 << 10;

/// Class, byte order and machine: what the loader checks before it uses a
/// library (`elf_machine_matches_host` and the `e_ident` checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Abi {
    pub class64: bool,
    pub little_endian: bool,
    pub machine: u16,
    /// `e_flags` (the ARM float ABI lives there).
    pub flags: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Dynamic {
    pub needed: Vec<String>,
    pub soname: Option<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    /// `DF_1_NODEFLIB`: the default directories are not searched for this
    /// object's dependencies.
    pub nodeflib: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ElfInfo {
    pub abi: Abi,
    pub shared_object: bool,
    pub interp: Option<String>,
    /// `None` for a static executable.
    pub dynamic: Option<Dynamic>,
}

/// The header, the architecture and the interpreter, known from the first
/// read (the dynamic section usually takes another): enough to start on
/// the loader while the rest of the file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ElfHead {
    pub abi: Abi,
    pub interp: Option<String>,
}

/// Parses the head of the ELF file at `real`; see [`parse`].
pub(super) fn parse_head(lookup: &mut Lookup, file: &Walked) -> Step<ElfHead> {
    parse_with(lookup, file, |sparse, class64| {
        if class64 {
            head_as::<FileHeader64<Endianness>>(sparse)
        } else {
            head_as::<FileHeader32<Endianness>>(sparse)
        }
    })
}

/// Parses the ELF file `walked` leads to from what has been read of it; pending
/// (with the missing ranges asked for) until enough has.
pub(super) fn parse(lookup: &mut Lookup, file: &Walked) -> Step<ElfInfo> {
    parse_with(lookup, file, |sparse, class64| {
        if class64 {
            parse_as::<FileHeader64<Endianness>>(sparse)
        } else {
            parse_as::<FileHeader32<Endianness>>(sparse)
        }
    })
}

fn parse_with<T>(
    lookup: &mut Lookup,
    walked: &Walked,
    parser: impl FnOnce(&Sparse, bool) -> Result<T, String>,
) -> Step<T> {
    let real = walked.real.as_str();
    let file = lookup.file(real);
    if let Some(message) = &file.error {
        return Err(ClosureError::Read {
            path: real.to_string(),
            message: message.clone(),
        }
        .into());
    }
    if !file.chunks.contains_key(&0) {
        let first = match walked.node {
            Node::File { size } if size <= WHOLE_FILE => size,
            _ => HEAD,
        };
        lookup.need_read(real, 0, first);
        return Err(Stop::Pending);
    }
    let head = file.from(0);
    if !head.starts_with(b"\x7fELF") {
        return Err(ClosureError::NotElf {
            path: real.to_string(),
            hint: not_elf_hint(head),
        }
        .into());
    }
    let sparse = Sparse {
        file,
        missing: RefCell::new(Vec::new()),
    };
    let parsed = match head.get(4) {
        Some(&class) if class == abi::ELFCLASS64.0 => parser(&sparse, true),
        Some(&class) if class == abi::ELFCLASS32.0 => parser(&sparse, false),
        _ => Err("unknown ELF class".to_string()),
    };
    let missing = sparse.missing.into_inner();
    match parsed {
        Ok(info) if missing.is_empty() => Ok(info),
        Err(reason) if missing.is_empty() => Err(ClosureError::BadElf {
            path: real.to_string(),
            reason,
        }
        .into()),
        _ => {
            for (offset, len) in coalesce(missing) {
                lookup.need_read(real, offset, len);
            }
            Err(Stop::Pending)
        }
    }
}

/// Ranges merged where they overlap or nearly touch: one read instead of
/// one per string of a library's dozen `DT_NEEDED` names.
fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (offset, len) in ranges {
        let end = offset.saturating_add(len);
        match merged.last_mut() {
            Some((start, last_len)) if offset <= *start + *last_len + STRING_WINDOW => {
                *last_len = end.max(*start + *last_len) - *start;
            }
            _ => merged.push((offset, len)),
        }
    }
    merged
}

fn not_elf_hint(head: &[u8]) -> String {
    if let Some(script) = head.strip_prefix(b"#!") {
        let line = script.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        format!(
            " (it is a script for `{}`; copy that interpreter with `closure` and the script as a plain file)",
            line.trim()
        )
    } else if head.is_empty() {
        " (it is empty)".to_string()
    } else {
        String::new()
    }
}

/// The head with one header type.
fn head_as<Elf: FileHeader<Endian = Endianness>>(data: &Sparse) -> Result<ElfHead, String> {
    let header = Elf::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let phdrs = header
        .program_headers(endian, data)
        .map_err(|e| e.to_string())?;
    let mut interp = None;
    for phdr in phdrs {
        if let Some(bytes) = phdr.interpreter(endian, data).map_err(|e| e.to_string())? {
            interp = Some(String::from_utf8_lossy(bytes).into_owned());
        }
    }
    Ok(ElfHead {
        abi: abi_of(header, endian),
        interp,
    })
}

fn abi_of<Elf: FileHeader<Endian = Endianness>>(header: &Elf, endian: Endianness) -> Abi {
    Abi {
        class64: header.is_class_64(),
        little_endian: header.is_little_endian(),
        machine: header.e_machine(endian).0,
        flags: header.e_flags(endian).0,
    }
}

/// Parses with one header type; an `Err` that comes with recorded missing
/// ranges only means "read more".
fn parse_as<Elf: FileHeader<Endian = Endianness>>(data: &Sparse) -> Result<ElfInfo, String> {
    let header = Elf::parse(data).map_err(|e| e.to_string())?;
    let endian = header.endian().map_err(|e| e.to_string())?;
    let abi = abi_of(header, endian);
    let phdrs = header
        .program_headers(endian, data)
        .map_err(|e| e.to_string())?;
    // Both segments are read before giving up, so that both missing
    // ranges are asked for in the same round.
    let mut interp = Ok(None);
    let mut entries = Ok(None);
    for phdr in phdrs {
        if phdr.p_type(endian) == abi::PT_INTERP {
            interp = phdr.interpreter(endian, data);
        } else if phdr.p_type(endian) == abi::PT_DYNAMIC {
            entries = phdr.dynamic(endian, data);
        }
    }
    if entries.is_err() && !data.missing.borrow().is_empty() {
        read_ahead::<Elf>(endian, data, phdrs);
    }
    let interp = interp.map_err(|e| e.to_string())?;
    let dynamic = match entries.map_err(|e| e.to_string())? {
        Some(entries) => Some(dynamic_names::<Elf>(endian, data, phdrs, entries)?),
        None => None,
    };
    Ok(ElfInfo {
        abi,
        shared_object: header.e_type(endian) == abi::ET_DYN,
        interp: interp.map(|bytes| String::from_utf8_lossy(bytes).into_owned()),
        dynamic,
    })
}

/// The names in the dynamic section. Every string is tried before giving
/// up, so all the missing ones are fetched in one round.
fn dynamic_names<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &Sparse,
    phdrs: &[Elf::ProgramHeader],
    entries: &[Elf::Dyn],
) -> Result<Dynamic, String> {
    let mut strtab = None;
    let mut strsz = None;
    for entry in entries {
        match entry.tag(endian) {
            abi::DT_NULL => break,
            abi::DT_STRTAB => strtab = Some(entry.val(endian)),
            abi::DT_STRSZ => strsz = Some(entry.val(endian)),
            _ => {}
        }
    }
    let strings = match (strtab, strsz) {
        (Some(address), Some(size)) => {
            let offset = file_offset::<Elf>(endian, phdrs, address)
                .ok_or("the string table is outside every loaded segment")?;
            StringTable::new(data, offset, offset.saturating_add(size))
        }
        _ => StringTable::default(),
    };
    let mut dynamic = Dynamic::default();
    let mut unreadable = None;
    let mut string = |entry: &Elf::Dyn| -> Option<String> {
        let read = u32::try_from(entry.val(endian))
            .ok()
            .and_then(|offset| strings.get(offset).ok());
        if read.is_none() {
            unreadable = Some(entry.tag(endian).0);
        }
        read.map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    for entry in entries {
        match entry.tag(endian) {
            abi::DT_NULL => break,
            abi::DT_NEEDED => dynamic.needed.extend(string(entry)),
            abi::DT_SONAME => dynamic.soname = string(entry),
            abi::DT_RPATH => dynamic.rpath = string(entry),
            abi::DT_RUNPATH => dynamic.runpath = string(entry),
            abi::DT_FLAGS_1 => dynamic.nodeflib = entry.val(endian) & abi::DF_1_NODEFLIB.0 != 0,
            _ => {}
        }
    }
    match unreadable {
        Some(tag) => Err(format!(
            "dynamic entry {tag:#x} names no string in the string table"
        )),
        None => Ok(dynamic),
    }
}

/// While the dynamic section is being fetched, the rest of the first
/// loadable segment is fetched with it when it is small: with today's
/// linkers (`-z separate-code`) that read-only segment holds `.dynstr`,
/// so the names are there when the dynamic section says where they are,
/// instead of a round trip later.
fn read_ahead<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    data: &Sparse,
    phdrs: &[Elf::ProgramHeader],
) {
    const LIMIT: u64 = 1 << 20;
    let first = phdrs
        .iter()
        .find(|p| p.p_type(endian) == abi::PT_LOAD && p.p_offset(endian).into() == 0);
    if let Some(segment) = first {
        let size: u64 = segment.p_filesz(endian).into();
        let known = data.file.from(0).len() as u64;
        if size > known && size <= LIMIT {
            data.missing.borrow_mut().push((known, size - known));
        }
    }
}

/// The file offset of a virtual address, through the loadable segments.
fn file_offset<Elf: FileHeader<Endian = Endianness>>(
    endian: Endianness,
    phdrs: &[Elf::ProgramHeader],
    address: u64,
) -> Option<u64> {
    phdrs
        .iter()
        .filter(|p| p.p_type(endian) == abi::PT_LOAD)
        .find_map(|p| {
            let start: u64 = p.p_vaddr(endian).into();
            let size: u64 = p.p_filesz(endian).into();
            let offset: u64 = p.p_offset(endian).into();
            (start <= address && address - start < size).then(|| offset + (address - start))
        })
}

/// A file known in pieces; see the module comment.
struct Sparse<'a> {
    file: &'a FileBytes,
    missing: RefCell<Vec<(u64, u64)>>,
}

impl<'a> ReadRef<'a> for &'a Sparse<'a> {
    fn len(self) -> Result<u64, ()> {
        self.file.eof.ok_or(())
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size == 0 {
            return Ok(&[]);
        }
        self.file.range(offset, size).ok_or_else(|| {
            // Past the end the file is truncated, which the parser reports.
            let truncated = self.file.eof.is_some_and(|eof| offset + size > eof);
            if !truncated {
                self.missing.borrow_mut().push((offset, size));
            }
        })
    }

    fn read_bytes_at_until(self, range: Range<u64>, delimiter: u8) -> Result<&'a [u8], ()> {
        let limit = range.end.saturating_sub(range.start);
        let run = self.file.from(range.start);
        let run = &run[..run.len().min(limit as usize)];
        if let Some(end) = run.iter().position(|&b| b == delimiter) {
            return Ok(&run[..end]);
        }
        let at_end = self
            .file
            .eof
            .is_some_and(|eof| range.start + run.len() as u64 >= eof);
        if (run.len() as u64) < limit && !at_end {
            let wanted = (2 * run.len() as u64).max(STRING_WINDOW).min(limit);
            self.missing.borrow_mut().push((range.start, wanted));
        }
        Err(())
    }
}
