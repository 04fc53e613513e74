//! A bounded reader for vDSO images: ELF32 and ELF64 shared objects, little-endian.
//!
//! [`Image::parse`] takes the image as a byte slice and validates everything it will later
//! use: the ELF header, the program headers, the dynamic section, the symbol, string, hash
//! and version tables. Every read afterwards goes through checked slice accessors, every
//! count is bounded by the bytes that hold it, arithmetic is checked, and hash chains are
//! walked at most as many steps as there are symbols, so a malformed image yields an
//! [`Error`], never a panic, an out-of-bounds read or a hang.
//!
//! Addresses in the image (`d_ptr`, `st_value`) are virtual addresses of the image's own
//! link: the kernel links its vDSO at 0, qemu-user relocates its guest vDSO to where it
//! maps it. Both are turned into offsets in the slice through the `PT_LOAD` that contains
//! them (`offset = vaddr - p_vaddr + p_offset`), so both resolve correctly. A symbol's run
//! time address is then `base + offset`, where `base` is where the slice lives (for the live
//! vDSO: `AT_SYSINFO_EHDR`); it must fall inside an executable `PT_LOAD`.
//!
//! Written from the ELF gABI, the GNU hash and symbol-versioning conventions as glibc's
//! `elf.h` and the Linux kernel's `tools/testing/selftests/vDSO/parse_vdso.c` describe them
//! (we learned the vDSO-specific checks from that file: versym bit 15, skipping the
//! `VER_FLG_BASE` definition, comparing `vd_hash`); no code is taken from either.
//! This module has no unsafe code.

use core::fmt;
use linux_raw_sys::elf as e;

/// `ELFCLASS32` and `ELFCLASS64` (gABI `e_ident[EI_CLASS]`).
const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
/// `ELFDATA2LSB`, `ELFDATA2MSB`.
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;
/// Dynamic tags linux-raw-sys does not name.
const DT_STRSZ: u64 = 10;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
/// `EM_ARM`: function symbols with bit 0 set are Thumb code at the even address.
const EM_ARM: u16 = 40;
/// `VERSYM_HIDDEN`: the symbol is not to be bound by name from outside.
const VERSYM_HIDDEN: u16 = 0x8000;
/// Bounds that no real vDSO comes near; they keep a forged image from costing time.
const MAX_PHNUM: usize = 64;
const MAX_LOADS: usize = 8;
const MAX_VERDEFS: usize = 1024;

/// What is wrong with an image. Each variant names the part that failed a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Shorter than an ELF header, or the header's tables lie outside the image.
    Truncated(&'static str),
    /// The first four bytes are not `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is neither ELFCLASS32 nor ELFCLASS64.
    BadClass(u8),
    /// A big-endian image: not supported yet.
    BigEndian,
    /// `EI_DATA` is neither little- nor big-endian.
    BadDataEncoding(u8),
    /// `EI_VERSION` or `e_version` is not 1.
    BadVersion,
    /// `e_type` is not `ET_DYN`.
    NotSharedObject(u16),
    /// `e_phentsize` does not match the class.
    BadPhentsize(u16),
    /// More program headers than any vDSO has.
    TooManyProgramHeaders(usize),
    /// More `PT_LOAD`s than any vDSO has.
    TooManyLoads,
    /// A `PT_LOAD` whose file bytes lie outside the image, or with `p_filesz > p_memsz`.
    BadLoad,
    /// No `PT_LOAD` at all.
    NoLoad,
    /// No `PT_DYNAMIC`.
    NoDynamic,
    /// The dynamic section lies outside the image.
    BadDynamic,
    /// A required dynamic entry is missing (`DT_SYMTAB` or `DT_STRTAB`).
    Missing(&'static str),
    /// Neither `DT_GNU_HASH` nor `DT_HASH`.
    NoHashTable,
    /// An address in the dynamic section is not inside any `PT_LOAD`'s file bytes.
    AddressOutsideImage(&'static str),
    /// `DT_SYMENT` does not match the class.
    BadSyment(u64),
    /// A hash table's header or arrays lie outside the image, or its counts are impossible.
    BadHashTable(&'static str),
    /// A table indexed by symbol (symtab, versym) is too short for the symbol count.
    TableTooShort(&'static str),
    /// A name's offset is outside the string table, or the name is not NUL-terminated.
    BadString,
    /// The version definitions are malformed (outside the image, cyclic, too many).
    BadVersionTable,
    /// A symbol's address is not inside an executable `PT_LOAD`.
    SymbolOutsideText,
    /// A hash chain is longer than the symbol table or leaves it.
    BadHashChain,
    /// The image is for another class or machine than the running program.
    WrongMachine {
        /// The image's `EI_CLASS`.
        class: u8,
        /// The image's `e_machine`.
        machine: u16,
    },
    /// The process has no vDSO (no `AT_SYSINFO_EHDR`).
    NoVdso,
    /// `AT_SYSINFO_EHDR` is not page-aligned: not a mapping's start.
    Misaligned,
    /// The live image claims to be larger than any vDSO (over 1 MiB).
    TooLarge,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated(what) => write!(f, "truncated image: no room for {what}"),
            Error::BadMagic => f.write_str("not an ELF image (bad magic)"),
            Error::BadClass(c) => write!(f, "unknown ELF class {c}"),
            Error::BigEndian => f.write_str("big-endian ELF images are not supported"),
            Error::BadDataEncoding(d) => write!(f, "unknown ELF data encoding {d}"),
            Error::BadVersion => f.write_str("unknown ELF version"),
            Error::NotSharedObject(t) => write!(f, "not a shared object (e_type {t})"),
            Error::BadPhentsize(s) => write!(f, "wrong program header size {s}"),
            Error::TooManyProgramHeaders(n) => write!(f, "too many program headers ({n})"),
            Error::TooManyLoads => write!(f, "more than {MAX_LOADS} PT_LOAD segments"),
            Error::BadLoad => f.write_str("a PT_LOAD segment lies outside the image"),
            Error::NoLoad => f.write_str("no PT_LOAD segment"),
            Error::NoDynamic => f.write_str("no PT_DYNAMIC segment"),
            Error::BadDynamic => f.write_str("the dynamic section lies outside the image"),
            Error::Missing(what) => write!(f, "no {what} in the dynamic section"),
            Error::NoHashTable => f.write_str("neither DT_GNU_HASH nor DT_HASH"),
            Error::AddressOutsideImage(what) => write!(f, "{what} points outside the image"),
            Error::BadSyment(s) => write!(f, "wrong symbol entry size {s}"),
            Error::BadHashTable(what) => write!(f, "malformed hash table: {what}"),
            Error::TableTooShort(what) => write!(f, "{what} is too short for the symbol count"),
            Error::BadString => f.write_str("a name lies outside the string table"),
            Error::BadVersionTable => f.write_str("malformed version definitions"),
            Error::SymbolOutsideText => f.write_str("a symbol points outside executable code"),
            Error::BadHashChain => f.write_str("a hash chain leaves the symbol table"),
            Error::WrongMachine { class, machine } => {
                write!(
                    f,
                    "image is for another machine (class {class}, e_machine {machine})"
                )
            }
            Error::NoVdso => f.write_str("the process has no vDSO"),
            Error::Misaligned => f.write_str("the vDSO address is not page-aligned"),
            Error::TooLarge => f.write_str("the vDSO image claims more than 1 MiB"),
        }
    }
}

impl core::error::Error for Error {}

/// 32- or 64-bit ELF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// ELFCLASS32.
    Elf32,
    /// ELFCLASS64.
    Elf64,
}

impl Class {
    /// The `EI_CLASS` byte.
    pub fn ident(self) -> u8 {
        match self {
            Class::Elf32 => ELFCLASS32,
            Class::Elf64 => ELFCLASS64,
        }
    }
    fn word(self) -> usize {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
    fn ehsize(self) -> usize {
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }
    fn phentsize(self) -> usize {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }
    fn syment(self) -> usize {
        match self {
            Class::Elf32 => 16,
            Class::Elf64 => 24,
        }
    }
}

/// Little-endian reads that fail instead of panicking.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn get(self, off: usize, len: usize) -> Option<&'a [u8]> {
        self.0.get(off..off.checked_add(len)?)
    }
    fn u8(self, off: usize) -> Option<u8> {
        self.0.get(off).copied()
    }
    fn u16(self, off: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.get(off, 2)?.try_into().ok()?))
    }
    fn u32(self, off: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.get(off, 4)?.try_into().ok()?))
    }
    fn u64(self, off: usize) -> Option<u64> {
        Some(u64::from_le_bytes(self.get(off, 8)?.try_into().ok()?))
    }
    /// A word of the class: 4 or 8 bytes, widened to u64.
    fn word(self, class: Class, off: usize) -> Option<u64> {
        match class {
            Class::Elf32 => self.u32(off).map(u64::from),
            Class::Elf64 => self.u64(off),
        }
    }
    /// A NUL-terminated string starting at `off`, without its NUL, within `self`.
    fn cstr(self, off: usize) -> Option<&'a [u8]> {
        let rest = self.0.get(off..)?;
        let n = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..n])
    }
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

/// One `PT_LOAD`, as offsets into the image.
#[derive(Clone, Copy, Debug, Default)]
struct Load {
    vaddr: u64,
    offset: u64,
    filesz: u64,
    exec: bool,
}

#[derive(Clone, Copy, Debug)]
struct SysvHash {
    nbucket: usize,
    buckets: usize,
    chains: usize,
}

#[derive(Clone, Copy, Debug)]
struct GnuHash {
    nbuckets: usize,
    symoffset: usize,
    bloom: usize,
    bloom_size: usize,
    bloom_shift: u32,
    buckets: usize,
    chain: usize,
}

#[derive(Clone, Copy, Debug)]
struct Versions {
    versym: usize,
    verdef: usize,
    verdefnum: usize,
}

/// A validated vDSO image; see the [module documentation](self).
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    data: &'a [u8],
    base: usize,
    class: Class,
    machine: u16,
    loads: [Load; MAX_LOADS],
    nloads: usize,
    symtab: usize,
    strtab: usize,
    strsz: usize,
    nsyms: usize,
    sysv: Option<SysvHash>,
    gnu: Option<GnuHash>,
    versions: Option<Versions>,
}

/// A dynamic symbol as the image stores it, with its GNU version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Its index in the dynamic symbol table.
    pub index: usize,
    /// Its name, without the NUL.
    pub name: &'a [u8],
    /// `st_value` as stored: a virtual address of the image's link.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `ELF_ST_TYPE(st_info)`: `STT_FUNC` = 2, `STT_NOTYPE` = 0, ...
    pub kind: u8,
    /// `ELF_ST_BIND(st_info)`: `STB_GLOBAL` = 1, `STB_WEAK` = 2, ...
    pub bind: u8,
    /// `st_shndx`.
    pub shndx: u16,
    /// The name of its version definition; `None` when the image has no version tables or
    /// the symbol's version index names no definition (0 local, 1 global).
    pub version: Option<&'a [u8]>,
    /// The versym entry has `VERSYM_HIDDEN` set.
    pub hidden: bool,
}

impl Symbol<'_> {
    /// A function (or untyped) symbol that is global or weak, defined, not absolute and not
    /// hidden: the kind a vDSO exports and the kind lookups consider.
    pub fn is_exported(&self) -> bool {
        matches!(self.kind, e::STT_FUNC | e::STT_NOTYPE)
            && matches!(self.bind, e::STB_GLOBAL | e::STB_WEAK)
            && self.shndx != e::SHN_UNDEF
            && self.shndx != e::SHN_ABS
            && !self.hidden
    }
}

/// The SysV ELF hash (gABI).
pub fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        h ^= g >> 24;
        h &= !g;
    }
    h
}

/// The GNU hash (Bernstein's djb2, `h * 33 + c`, from 5381).
pub fn gnu_hash(name: &[u8]) -> u32 {
    name.iter().fold(5381u32, |h, &c| {
        h.wrapping_mul(33).wrapping_add(u32::from(c))
    })
}

/// The bytes an image needs so that its ELF and program headers can be read: a first step
/// for a live image whose length is not known yet. Needs the first 64 bytes.
pub fn header_extent(head: &[u8]) -> Result<usize, Error> {
    let (class, b) = ident(head)?;
    let (phoff, _, phnum) = ph_fields(class, b)?;
    phoff
        .checked_add(class.phentsize() * phnum)
        .ok_or(Error::Truncated("the program headers"))
}

/// The length of the whole image from its headers: the end of the furthest `PT_LOAD`'s
/// file bytes. `head` must hold [`header_extent`] bytes.
pub fn image_extent(head: &[u8]) -> Result<usize, Error> {
    let (class, b) = ident(head)?;
    let (phoff, phentsize, phnum) = ph_table(class, b)?;
    let mut end = 0usize;
    for i in 0..phnum {
        let ph = phdr(class, b, phoff + i * phentsize)?;
        if ph.0 == e::PT_LOAD {
            let stop = ph.1.offset.checked_add(ph.1.filesz).and_then(to_usize);
            end = end.max(stop.ok_or(Error::BadLoad)?);
        }
    }
    if end == 0 {
        Err(Error::NoLoad)
    } else {
        Ok(end)
    }
}

/// The bytes to take of a mapped image that ends its `PT_LOAD`s at `image_extent(head)`:
/// that, or more to include the section header table when it follows within the same last
/// page (the kernel and qemu map whole pages of the file, so those bytes are mapped too).
/// Section headers are not needed to use an image, but they let tools read a dump.
pub fn file_extent(head: &[u8], page: usize) -> Result<usize, Error> {
    let (class, b) = ident(head)?;
    let loads = image_extent(head)?;
    let page_end = loads.checked_next_multiple_of(page.max(1)).unwrap_or(loads);
    let sh = match class {
        Class::Elf32 => (b.u32(32).map(u64::from), b.u16(46), b.u16(48)),
        Class::Elf64 => (b.u64(40), b.u16(58), b.u16(60)),
    };
    let sh_end = match sh {
        (Some(off), Some(size), Some(num)) => off.checked_add(u64::from(size) * u64::from(num)),
        _ => None,
    };
    Ok(match sh_end.and_then(to_usize) {
        Some(end) if end > loads && end <= page_end => end,
        _ => loads,
    })
}

fn ident(data: &[u8]) -> Result<(Class, Bytes<'_>), Error> {
    let b = Bytes(data);
    if b.get(0, 4).ok_or(Error::Truncated("the ELF header"))? != e::ELFMAG {
        return Err(Error::BadMagic);
    }
    let class = match b
        .u8(e::EI_CLASS)
        .ok_or(Error::Truncated("the ELF header"))?
    {
        ELFCLASS32 => Class::Elf32,
        ELFCLASS64 => Class::Elf64,
        c => return Err(Error::BadClass(c)),
    };
    match b.u8(e::EI_DATA).ok_or(Error::Truncated("the ELF header"))? {
        ELFDATA2LSB => {}
        ELFDATA2MSB => return Err(Error::BigEndian),
        d => return Err(Error::BadDataEncoding(d)),
    }
    if data.len() < class.ehsize() {
        return Err(Error::Truncated("the ELF header"));
    }
    if b.u8(e::EI_VERSION) != Some(1) || b.u32(20) != Some(1) {
        return Err(Error::BadVersion);
    }
    let e_type = b.u16(16).ok_or(Error::Truncated("the ELF header"))?;
    if e_type != e::ET_DYN {
        return Err(Error::NotSharedObject(e_type));
    }
    Ok((class, b))
}

/// (e_phoff, e_phentsize, e_phnum), with the table inside `b`.
fn ph_table(class: Class, b: Bytes<'_>) -> Result<(usize, usize, usize), Error> {
    let (phoff, phentsize, phnum) = ph_fields(class, b)?;
    let end = phoff.checked_add(phentsize * phnum);
    if end.is_none_or(|end| end > b.0.len()) {
        return Err(Error::Truncated("the program headers"));
    }
    Ok((phoff, phentsize, phnum))
}

/// (e_phoff, e_phentsize, e_phnum), checked against the class and MAX_PHNUM only.
fn ph_fields(class: Class, b: Bytes<'_>) -> Result<(usize, usize, usize), Error> {
    let t = Error::Truncated("the ELF header");
    let (phoff, phentsize, phnum) = match class {
        Class::Elf32 => (b.u32(28).map(u64::from), b.u16(42), b.u16(44)),
        Class::Elf64 => (b.u64(32), b.u16(54), b.u16(56)),
    };
    let (phoff, phentsize, phnum) = (phoff.ok_or(t)?, phentsize.ok_or(t)?, phnum.ok_or(t)?);
    if usize::from(phentsize) != class.phentsize() {
        return Err(Error::BadPhentsize(phentsize));
    }
    let phnum = usize::from(phnum);
    if phnum > MAX_PHNUM {
        return Err(Error::TooManyProgramHeaders(phnum));
    }
    let phoff = to_usize(phoff).ok_or(Error::Truncated("the program headers"))?;
    Ok((phoff, class.phentsize(), phnum))
}

/// (p_type, the segment as a Load, p_memsz) of the program header at `off`.
fn phdr(class: Class, b: Bytes<'_>, off: usize) -> Result<(u32, Load, u64), Error> {
    let t = Error::Truncated("the program headers");
    let r = match class {
        Class::Elf32 => (
            b.u32(off),
            b.u32(off + 4).map(u64::from),
            b.u32(off + 8).map(u64::from),
            b.u32(off + 16).map(u64::from),
            b.u32(off + 20).map(u64::from),
            b.u32(off + 24),
        ),
        Class::Elf64 => (
            b.u32(off),
            b.u64(off + 8),
            b.u64(off + 16),
            b.u64(off + 32),
            b.u64(off + 40),
            b.u32(off + 4),
        ),
    };
    let (ty, offset, vaddr, filesz, memsz, flags) = (
        r.0.ok_or(t)?,
        r.1.ok_or(t)?,
        r.2.ok_or(t)?,
        r.3.ok_or(t)?,
        r.4.ok_or(t)?,
        r.5.ok_or(t)?,
    );
    let exec = flags & e::PF_X != 0;
    Ok((
        ty,
        Load {
            vaddr,
            offset,
            filesz,
            exec,
        },
        memsz,
    ))
}

impl<'a> Image<'a> {
    /// Validates `data` as a vDSO image that lives at address `base` (0 for an image read
    /// from a file, `AT_SYSINFO_EHDR` for the live one).
    pub fn parse(data: &'a [u8], base: usize) -> Result<Image<'a>, Error> {
        let (class, b) = ident(data)?;
        let machine = b.u16(18).ok_or(Error::Truncated("the ELF header"))?;
        let (phoff, phentsize, phnum) = ph_table(class, b)?;

        let mut loads = [Load::default(); MAX_LOADS];
        let mut nloads = 0;
        let mut dynamic = None;
        for i in 0..phnum {
            let (ty, seg, memsz) = phdr(class, b, phoff + i * phentsize)?;
            if ty == e::PT_LOAD {
                let end = seg.offset.checked_add(seg.filesz).ok_or(Error::BadLoad)?;
                if end > data.len() as u64 || seg.filesz > memsz {
                    return Err(Error::BadLoad);
                }
                if seg.vaddr.checked_add(seg.filesz).is_none() {
                    return Err(Error::BadLoad);
                }
                *loads.get_mut(nloads).ok_or(Error::TooManyLoads)? = seg;
                nloads += 1;
            } else if ty == e::PT_DYNAMIC {
                dynamic = Some(seg);
            }
        }
        if nloads == 0 {
            return Err(Error::NoLoad);
        }
        let dynamic = dynamic.ok_or(Error::NoDynamic)?;

        let mut img = Image {
            data,
            base,
            class,
            machine,
            loads,
            nloads,
            symtab: 0,
            strtab: 0,
            strsz: 0,
            nsyms: 0,
            sysv: None,
            gnu: None,
            versions: None,
        };

        // The dynamic section, read through its file offset.
        let dyn_off = to_usize(dynamic.offset).ok_or(Error::BadDynamic)?;
        let dyn_len = to_usize(dynamic.filesz).ok_or(Error::BadDynamic)?;
        let dyn_bytes = Bytes(b.get(dyn_off, dyn_len).ok_or(Error::BadDynamic)?);
        let (mut symtab, mut strtab, mut strsz, mut hash, mut gnu_hash) =
            (None, None, None, None, None);
        let (mut versym, mut verdef, mut verdefnum, mut syment) = (None, None, None, None);
        let w = class.word();
        for i in 0..dyn_len / (2 * w) {
            let tag = dyn_bytes.word(class, 2 * w * i).ok_or(Error::BadDynamic)?;
            let val = dyn_bytes
                .word(class, 2 * w * i + w)
                .ok_or(Error::BadDynamic)?;
            match tag {
                0 => break, // DT_NULL
                t if t == e::DT_SYMTAB as u64 => symtab = Some(val),
                t if t == e::DT_STRTAB as u64 => strtab = Some(val),
                DT_STRSZ => strsz = Some(val),
                t if t == e::DT_HASH as u64 => hash = Some(val),
                t if t == e::DT_GNU_HASH as u64 => gnu_hash = Some(val),
                t if t == e::DT_VERSYM as u64 => versym = Some(val),
                t if t == e::DT_VERDEF as u64 => verdef = Some(val),
                DT_VERDEFNUM => verdefnum = Some(val),
                t if t == e::DT_SYMENT as u64 => syment = Some(val),
                _ => {}
            }
        }

        if let Some(s) = syment
            && s != class.syment() as u64
        {
            return Err(Error::BadSyment(s));
        }
        img.symtab = img.offset_of(symtab.ok_or(Error::Missing("DT_SYMTAB"))?, "DT_SYMTAB")?;
        img.strtab = img.offset_of(strtab.ok_or(Error::Missing("DT_STRTAB"))?, "DT_STRTAB")?;
        let room = data.len() - img.strtab;
        img.strsz = match strsz {
            Some(n) if n <= room as u64 => n as usize,
            Some(_) => return Err(Error::AddressOutsideImage("DT_STRSZ")),
            None => room,
        };

        if let Some(h) = hash {
            img.sysv = Some(img.parse_sysv(img.offset_of(h, "DT_HASH")?)?);
        }
        if let Some(h) = gnu_hash {
            img.gnu = Some(img.parse_gnu(img.offset_of(h, "DT_GNU_HASH")?)?);
        }
        img.nsyms = match (img.gnu, img.sysv) {
            (Some(g), _) => img.gnu_nsyms(&g)?,
            (None, Some(s)) => img.sysv_nchain(&s)?,
            (None, None) => return Err(Error::NoHashTable),
        };
        let symtab_len = img
            .nsyms
            .checked_mul(class.syment())
            .ok_or(Error::TableTooShort("DT_SYMTAB"))?;
        if b.get(img.symtab, symtab_len).is_none() {
            return Err(Error::TableTooShort("DT_SYMTAB"));
        }

        // Versions: both tables or none ("unversioned").
        if let (Some(vs), Some(vd)) = (versym, verdef) {
            let versym = img.offset_of(vs, "DT_VERSYM")?;
            let verdef = img.offset_of(vd, "DT_VERDEF")?;
            if b.get(
                versym,
                img.nsyms
                    .checked_mul(2)
                    .ok_or(Error::TableTooShort("DT_VERSYM"))?,
            )
            .is_none()
            {
                return Err(Error::TableTooShort("DT_VERSYM"));
            }
            let verdefnum = match verdefnum {
                Some(n) => to_usize(n)
                    .filter(|&n| n <= MAX_VERDEFS)
                    .ok_or(Error::BadVersionTable)?,
                None => MAX_VERDEFS,
            };
            img.versions = Some(Versions {
                versym,
                verdef,
                verdefnum,
            });
            // Walk the definitions once so that a malformed list is an error now.
            img.verdef_name(u16::MAX)?;
        }
        Ok(img)
    }

    /// The image's class.
    pub fn class(&self) -> Class {
        self.class
    }

    /// The image's `e_machine`.
    pub fn machine(&self) -> u16 {
        self.machine
    }

    /// Whether `DT_GNU_HASH` is present (and used for lookups).
    pub fn has_gnu_hash(&self) -> bool {
        self.gnu.is_some()
    }

    /// Whether `DT_HASH` is present.
    pub fn has_sysv_hash(&self) -> bool {
        self.sysv.is_some()
    }

    /// Whether the image has version tables (`DT_VERSYM` and `DT_VERDEF`).
    pub fn has_versions(&self) -> bool {
        self.versions.is_some()
    }

    /// The number of entries of the dynamic symbol table (including the null symbol 0).
    pub fn symbol_count(&self) -> usize {
        self.nsyms
    }

    /// The image's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    fn b(&self) -> Bytes<'a> {
        Bytes(self.data)
    }

    fn loads(&self) -> &[Load] {
        &self.loads[..self.nloads]
    }

    /// The offset in the image of virtual address `vaddr` (inside some PT_LOAD's file bytes).
    fn offset_of(&self, vaddr: u64, what: &'static str) -> Result<usize, Error> {
        for l in self.loads() {
            if vaddr >= l.vaddr && vaddr - l.vaddr < l.filesz {
                return to_usize(vaddr - l.vaddr + l.offset)
                    .ok_or(Error::AddressOutsideImage(what));
            }
        }
        Err(Error::AddressOutsideImage(what))
    }

    fn parse_sysv(&self, off: usize) -> Result<SysvHash, Error> {
        let b = self.b();
        let bad = Error::BadHashTable("DT_HASH outside the image");
        let nbucket = b.u32(off).ok_or(bad)? as usize;
        let nchain = b.u32(off + 4).ok_or(bad)? as usize;
        if nbucket == 0 {
            return Err(Error::BadHashTable("DT_HASH with no buckets"));
        }
        let buckets = off + 8;
        let chains = nbucket
            .checked_mul(4)
            .and_then(|n| n.checked_add(buckets))
            .ok_or(bad)?;
        b.get(chains, nchain.checked_mul(4).ok_or(bad)?)
            .ok_or(bad)?;
        Ok(SysvHash {
            nbucket,
            buckets,
            chains,
        })
    }

    fn sysv_nchain(&self, h: &SysvHash) -> Result<usize, Error> {
        // The chain array has one entry per symbol; its length was checked at parse.
        let bad = Error::BadHashTable("DT_HASH");
        Ok(self.b().u32(h.buckets - 4).ok_or(bad)? as usize)
    }

    fn parse_gnu(&self, off: usize) -> Result<GnuHash, Error> {
        let b = self.b();
        let bad = Error::BadHashTable("DT_GNU_HASH outside the image");
        let nbuckets = b.u32(off).ok_or(bad)? as usize;
        let symoffset = b.u32(off + 4).ok_or(bad)? as usize;
        let bloom_size = b.u32(off + 8).ok_or(bad)? as usize;
        let bloom_shift = b.u32(off + 12).ok_or(bad)?;
        if nbuckets == 0 {
            return Err(Error::BadHashTable("DT_GNU_HASH with no buckets"));
        }
        if bloom_size == 0 || !bloom_size.is_power_of_two() {
            return Err(Error::BadHashTable(
                "DT_GNU_HASH bloom size not a power of two",
            ));
        }
        let w = self.class.word();
        if bloom_shift as usize >= 8 * w {
            return Err(Error::BadHashTable("DT_GNU_HASH bloom shift too large"));
        }
        let bloom = off + 16;
        let buckets = bloom_size
            .checked_mul(w)
            .and_then(|n| n.checked_add(bloom))
            .ok_or(bad)?;
        let chain = nbuckets
            .checked_mul(4)
            .and_then(|n| n.checked_add(buckets))
            .ok_or(bad)?;
        if chain > self.data.len() {
            return Err(bad);
        }
        Ok(GnuHash {
            nbuckets,
            symoffset,
            bloom,
            bloom_size,
            bloom_shift,
            buckets,
            chain,
        })
    }

    /// The symbol count a GNU hash table implies: one past the end of the last chain.
    fn gnu_nsyms(&self, h: &GnuHash) -> Result<usize, Error> {
        let b = self.b();
        let bad = Error::BadHashTable("DT_GNU_HASH");
        let mut last = 0usize;
        for i in 0..h.nbuckets {
            last = last.max(b.u32(h.buckets + 4 * i).ok_or(bad)? as usize);
        }
        if last == 0 {
            return Ok(h.symoffset);
        }
        if last < h.symoffset {
            return Err(Error::BadHashTable("DT_GNU_HASH bucket below symoffset"));
        }
        // Walk the last chain to its end bit; it cannot be longer than the bytes left.
        let mut i = last;
        loop {
            let at = (i - h.symoffset)
                .checked_mul(4)
                .and_then(|n| n.checked_add(h.chain));
            let c = at.and_then(|at| b.u32(at)).ok_or(Error::BadHashChain)?;
            if c & 1 != 0 {
                return i.checked_add(1).ok_or(Error::BadHashChain);
            }
            i = i.checked_add(1).ok_or(Error::BadHashChain)?;
        }
    }

    /// The dynamic symbol at `index` (< [`symbol_count`](Self::symbol_count)).
    pub fn symbol(&self, index: usize) -> Result<Symbol<'a>, Error> {
        if index >= self.nsyms {
            return Err(Error::TableTooShort("DT_SYMTAB"));
        }
        let b = self.b();
        let off = self.symtab + index * self.class.syment();
        let t = Error::TableTooShort("DT_SYMTAB");
        let (name, value, size, info, shndx) = match self.class {
            Class::Elf32 => (
                b.u32(off),
                b.u32(off + 4).map(u64::from),
                b.u32(off + 8).map(u64::from),
                b.u8(off + 12),
                b.u16(off + 14),
            ),
            Class::Elf64 => (
                b.u32(off),
                b.u64(off + 8),
                b.u64(off + 16),
                b.u8(off + 4),
                b.u16(off + 6),
            ),
        };
        let (name, value, size, info, shndx) = (
            name.ok_or(t)?,
            value.ok_or(t)?,
            size.ok_or(t)?,
            info.ok_or(t)?,
            shndx.ok_or(t)?,
        );
        let name = self.string(name as usize)?;
        let (version, hidden) = match self.versions {
            None => (None, false),
            Some(v) => {
                let vs = b
                    .u16(v.versym + 2 * index)
                    .ok_or(Error::TableTooShort("DT_VERSYM"))?;
                (
                    self.verdef_name(vs & !VERSYM_HIDDEN)?,
                    vs & VERSYM_HIDDEN != 0,
                )
            }
        };
        Ok(Symbol {
            index,
            name,
            value,
            size,
            kind: info & 0xf,
            bind: info >> 4,
            shndx,
            version,
            hidden,
        })
    }

    fn string(&self, off: usize) -> Result<&'a [u8], Error> {
        let strtab = Bytes(
            self.b()
                .get(self.strtab, self.strsz)
                .ok_or(Error::BadString)?,
        );
        strtab.cstr(off).ok_or(Error::BadString)
    }

    /// The name of the version definition with index `ndx`, skipping the file's own
    /// (`VER_FLG_BASE`) definition; `None` when there is none. Walks the whole list (bounded)
    /// and fails on a malformed one.
    fn verdef_name(&self, ndx: u16) -> Result<Option<&'a [u8]>, Error> {
        let Some(v) = self.versions else {
            return Ok(None);
        };
        let b = self.b();
        let bad = Error::BadVersionTable;
        let mut off = v.verdef;
        let mut found = None;
        for _ in 0..v.verdefnum {
            // Elf_Verdef: vd_version u16, vd_flags u16, vd_ndx u16, vd_cnt u16, vd_hash u32,
            // vd_aux u32, vd_next u32 (the same in both classes).
            if b.u16(off).ok_or(bad)? != e::VER_DEF_CURRENT {
                return Err(bad);
            }
            let flags = b.u16(off + 2).ok_or(bad)?;
            let vd_ndx = b.u16(off + 4).ok_or(bad)?;
            let cnt = b.u16(off + 6).ok_or(bad)?;
            let hash = b.u32(off + 8).ok_or(bad)?;
            let aux = b.u32(off + 12).ok_or(bad)? as usize;
            let next = b.u32(off + 16).ok_or(bad)? as usize;
            if cnt == 0 {
                return Err(bad);
            }
            // Elf_Verdaux: vda_name u32, vda_next u32. The first names the version.
            let aux_off = off.checked_add(aux).ok_or(bad)?;
            let name = self.string(b.u32(aux_off).ok_or(bad)? as usize)?;
            if hash != 0 && hash != elf_hash(name) {
                return Err(bad);
            }
            if vd_ndx == ndx && flags & e::VER_FLG_BASE == 0 && found.is_none() {
                found = Some(name);
            }
            if next == 0 {
                return Ok(found);
            }
            off = off.checked_add(next).ok_or(bad)?;
        }
        // More definitions than DT_VERDEFNUM (or than any image has): a loop or garbage.
        if v.verdefnum == MAX_VERDEFS {
            Err(bad)
        } else {
            Ok(found)
        }
    }

    /// Every dynamic symbol, index 1 upward (the null symbol 0 is skipped).
    pub fn symbols(&self) -> impl Iterator<Item = Result<Symbol<'a>, Error>> + '_ {
        (1..self.nsyms).map(|i| self.symbol(i))
    }

    /// The run-time address of `sym`: `base` plus its offset in the image, which must lie
    /// in an executable `PT_LOAD`. On arm images bit 0 (Thumb) is kept in the result.
    pub fn address(&self, sym: &Symbol<'_>) -> Result<usize, Error> {
        let thumb = if self.machine == EM_ARM {
            sym.value & 1
        } else {
            0
        };
        let v = sym.value - thumb;
        for l in self.loads() {
            if l.exec && v >= l.vaddr && v - l.vaddr < l.filesz {
                let off = to_usize(v - l.vaddr + l.offset).ok_or(Error::SymbolOutsideText)?;
                return self
                    .base
                    .checked_add(off)
                    .and_then(|a| a.checked_add(thumb as usize))
                    .ok_or(Error::SymbolOutsideText);
            }
        }
        Err(Error::SymbolOutsideText)
    }

    /// Finds the exported symbol `name` with GNU version `version`, through the GNU hash
    /// table when present, else the SysV one. Without version tables every symbol counts as
    /// matching (the image is "unversioned"); with them, the symbol's version definition
    /// must have that name (and, where it records one, that ELF hash). `Ok(None)` means
    /// not there; `Err` means the image is malformed along the way.
    pub fn lookup(
        &self,
        name: &[u8],
        version: &[u8],
    ) -> Result<Option<(Symbol<'a>, usize)>, Error> {
        let check = |i: usize| -> Result<Option<(Symbol<'a>, usize)>, Error> {
            let s = self.symbol(i)?;
            if s.name != name || !s.is_exported() {
                return Ok(None);
            }
            if self.versions.is_some() && s.version != Some(version) {
                return Ok(None);
            }
            Ok(Some((s, self.address(&s)?)))
        };
        if let Some(g) = self.gnu {
            let b = self.b();
            let bad = Error::BadHashChain;
            let h = gnu_hash(name);
            let w = self.class.word();
            let bits = 8 * w as u32;
            let word = b
                .word(
                    self.class,
                    g.bloom + w * ((h / bits) as usize & (g.bloom_size - 1)),
                )
                .ok_or(Error::BadHashTable("DT_GNU_HASH bloom"))?;
            let mask = (1u64 << (h % bits))
                | (1u64 << ((u64::from(h) >> g.bloom_shift) % u64::from(bits)));
            if word & mask != mask {
                return Ok(None);
            }
            let mut i = b
                .u32(g.buckets + 4 * (h as usize % g.nbuckets))
                .ok_or(bad)? as usize;
            if i == 0 {
                return Ok(None);
            }
            if i < g.symoffset {
                return Err(bad);
            }
            // At most nsyms steps: every step moves to the next symbol index.
            while i < self.nsyms {
                let c = b.u32(g.chain + 4 * (i - g.symoffset)).ok_or(bad)?;
                if c | 1 == h | 1
                    && let Some(found) = check(i)?
                {
                    return Ok(Some(found));
                }
                if c & 1 != 0 {
                    return Ok(None);
                }
                i += 1;
            }
            return Err(bad);
        }
        if let Some(s) = self.sysv {
            let b = self.b();
            let bad = Error::BadHashChain;
            let mut i = b
                .u32(s.buckets + 4 * (elf_hash(name) as usize % s.nbucket))
                .ok_or(bad)? as usize;
            // A chain visits each symbol at most once: more steps than symbols is a cycle.
            for _ in 0..self.nsyms {
                if i == 0 {
                    return Ok(None);
                }
                if i >= self.nsyms {
                    return Err(bad);
                }
                if let Some(found) = check(i)? {
                    return Ok(Some(found));
                }
                i = b.u32(s.chains + 4 * i).ok_or(bad)? as usize;
            }
            return if i == 0 { Ok(None) } else { Err(bad) };
        }
        Err(Error::NoHashTable)
    }
}

/// A small lookup for the live vDSO, for the running program's own class and machine.
///
/// The dispatch resolves each function once through this instead of [`Image::parse`], so
/// that a program that reads a clock carries a few hundred bytes of lookup rather than the
/// whole parser. It accepts the shape every real vDSO has: one `PT_LOAD`, a `DT_GNU_HASH`
/// or `DT_HASH` table (arm64 has had only the GNU one since 2024), GNU version definitions
/// or none. Anything else, and anything malformed, is `None`, and the caller falls back to
/// the system call.
///
/// It is written for size: records are read as `chunks_exact` of the image (one bounds
/// check per table, none per field), the GNU table only picks the chain of symbols to
/// compare (no Bloom filter, no hash comparison: a symbol's name decides), and a DT_HASH
/// image is scanned in table order over its `nchain` symbols, as musl's vdso.c does (a vDSO
/// has a few dozen). A damaged image makes it answer `None` or an address inside the
/// `PT_LOAD`, never read outside the slice, loop without end or panic. The tests check
/// that it finds exactly what the full parser finds on every real and built image it
/// accepts, and that whatever it returns on a million damaged ones lies inside the image.
pub mod native {
    use super::{e, gnu_hash};

    /// The running program's word size and machine: what `extent` and `lookup` accept.
    /// (`lookup_as` takes them as parameters, so that tests on any host cover every class.)
    const NATIVE_W: usize = size_of::<usize>();
    const NATIVE_MACHINE: usize = linux_raw_sys::elf::EM_CURRENT as usize;

    /// The little-endian field of `n` (1, 2, 4 or 8) bytes at `off` of the record `r`, 0
    /// outside it. With constant `off` and `n` on a record of a length the compiler knows
    /// (a `chunks_exact` item), this is one load.
    #[inline(always)]
    fn rd(r: &[u8], off: usize, n: usize) -> usize {
        let Some(b) = r.get(off..off.wrapping_add(n)) else {
            return 0;
        };
        match n {
            8 => b.try_into().map_or(0, u64::from_le_bytes) as usize,
            4 => b.try_into().map_or(0, u32::from_le_bytes) as usize,
            2 => b.try_into().map_or(0, u16::from_le_bytes).into(),
            _ => b.first().map_or(0, |&b| b.into()),
        }
    }

    /// The records of `size` bytes from `off` to the end of `d`.
    #[inline(always)]
    fn records(d: &[u8], off: usize, size: usize) -> core::slice::ChunksExact<'_, u8> {
        d.get(off..).unwrap_or_default().chunks_exact(size)
    }

    /// The bytes the header's `PT_LOAD` ends at, if the header is one this lookup accepts;
    /// `head` must hold the ELF header and the program headers.
    pub fn extent(head: &[u8]) -> Option<usize> {
        let [off, _, size, _] = load::<NATIVE_W, NATIVE_MACHINE>(head)?;
        off.checked_add(size)
    }

    /// The one `PT_LOAD`'s p_offset, p_vaddr and p_filesz, and `PT_DYNAMIC`'s p_offset.
    #[inline(never)]
    fn load<const W: usize, const MACHINE: usize>(d: &[u8]) -> Option<[usize; 4]> {
        // (class, e_phoff, e_phentsize, program header size, p_offset, p_vaddr, p_filesz)
        // (class, e_phoff, e_phentsize, program header size, p_offset, p_vaddr, p_filesz,
        // p_flags)
        let (class, phoff, phentsize, phsz, f) = if W == 8 {
            (2, 32, 54, 56, [8, 16, 32, 4])
        } else {
            (1, 28, 42, 32, [4, 8, 16, 24])
        };
        let h = d.get(..64)?;
        if rd(h, 0, 4) != 0x464c_457f
            || rd(h, 4, 2) != class | 1 << 8
            || rd(h, 16, 4) != 3 | MACHINE << 16
            || rd(h, phentsize, 2) != phsz
        {
            return None;
        }
        let (mut load, mut dynamic) = (None, None);
        let phdrs = records(d, rd(h, phoff, W), phsz);
        for p in phdrs.take(rd(h, phentsize + 2, 2)) {
            match rd(p, 0, 4) {
                // One PT_LOAD, executable (PF_X): it holds the functions.
                1 if load.is_some() || rd(p, f[3], 4) & 1 == 0 => return None,
                1 => load = Some([rd(p, f[0], W), rd(p, f[1], W), rd(p, f[2], W)]),
                2 => dynamic = Some(rd(p, f[0], W)),
                _ => {}
            }
        }
        let [off, vaddr, size] = load?;
        Some([off, vaddr, size, dynamic?])
    }

    /// The dynamic entries the lookup reads, in the order of its table of offsets. (As
    /// `u32`: every tag fits, and the table is half the size of a `usize` one.)
    const TAGS: [u32; 6] = [
        e::DT_HASH as u32,
        e::DT_STRTAB as u32,
        e::DT_SYMTAB as u32,
        e::DT_GNU_HASH as u32,
        e::DT_VERSYM as u32,
        e::DT_VERDEF as u32,
    ];

    /// The run-time address of the exported function `name` with GNU version `version`
    /// (any version when the image has no version tables) in the image `d` mapped at
    /// `base`, or `None`.
    #[inline(never)]
    pub fn lookup(d: &[u8], base: usize, name: &[u8], version: &[u8]) -> Option<usize> {
        lookup_as::<NATIVE_W, NATIVE_MACHINE>(d, base, name, version)
    }

    /// `lookup` for an image of word size `W` (4 or 8) and machine `MACHINE` (EM_ARM, 40,
    /// keeps the Thumb bit of function addresses).
    pub fn lookup_as<const W: usize, const MACHINE: usize>(
        d: &[u8],
        base: usize,
        name: &[u8],
        version: &[u8],
    ) -> Option<usize> {
        let [loff, lvaddr, lsize, dynamic] = load::<W, MACHINE>(d)?;
        if loff > d.len() || lsize > d.len() - loff {
            return None;
        }
        // A virtual address inside the PT_LOAD's file bytes, as an offset in `d`.
        let at = |v: usize| {
            let o = v.wrapping_sub(lvaddr);
            (o < lsize).then(|| o + loff)
        };
        // DT_HASH, DT_STRTAB, DT_SYMTAB, DT_GNU_HASH, DT_VERSYM, DT_VERDEF as offsets in
        // `d`; 0 (the ELF header, which none of them can be) when absent.
        let mut t = [0usize; 6];
        for e in records(d, dynamic, 2 * W) {
            let tag = rd(e, 0, W);
            if tag == 0 {
                break;
            }
            if let Some(i) = TAGS.iter().position(|&k| k as usize == tag)
                && let Some(slot) = t.get_mut(i)
            {
                *slot = at(rd(e, W, W))?;
            }
        }
        let [hash, strtab, symtab, gnu, versym, verdef] = t;
        // Whether the NUL-terminated string `off` of the string table is `want`.
        let strs = d.get(strtab..)?;
        let is = |off: usize, want: &[u8]| {
            strs.get(off..)
                .is_some_and(|s| s.starts_with(want) && s.get(want.len()) == Some(&0))
        };
        // The version index to ask for: that of the first definition named `version` that
        // is not the file's own (VER_FLG_BASE); any when the image has no version tables.
        // Without such a definition no symbol can match. (Each step moves forward: the
        // walk ends inside the image.)
        let mut want = None;
        if versym != 0 && verdef != 0 {
            let mut v = verdef;
            // Verdef: vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next.
            while want.is_none() {
                let r = records(d, v, 20).next()?;
                if rd(r, 0, 2) != 1 {
                    return None;
                }
                let aux = records(d, v.checked_add(rd(r, 12, 4))?, 4).next();
                if rd(r, 2, 2) & 1 == 0 && aux.is_some_and(|a| is(rd(a, 0, 4), version)) {
                    want = Some(rd(r, 4, 2));
                } else {
                    match rd(r, 16, 4) {
                        0 => return None,
                        next => v = v.checked_add(next)?,
                    }
                }
            }
        }
        // The symbols to compare: a GNU hash chain (from its bucket to its end bit), or
        // DT_HASH's nchain symbols from 1 (in table order: where two symbols have the same
        // name and version, which no linker produces, the full parser's chain walk may
        // pick the other one).
        let (first, end) = if gnu != 0 {
            // Every product and sum of image words is checked: on a 32-bit target they
            // could wrap.
            let g = d.get(gnu..)?;
            let (nbuckets, symoffset) = (rd(g, 0, 4), rd(g, 4, 4));
            let buckets = rd(g, 8, 4).checked_mul(W)?.checked_add(16)?;
            let bucket = (gnu_hash(name) as usize).checked_rem(nbuckets)?;
            let chain = nbuckets.checked_mul(4)?.checked_add(buckets)?;
            // bucket < nbuckets: its product fits where nbuckets' did.
            let first = rd(g.get(buckets + bucket * 4..)?, 0, 4);
            let link = first.checked_sub(symoffset)?.checked_mul(4)?;
            // The chain's words up to the one with the end bit (or the image's end).
            let mut n = 0;
            for c in records(g, chain.checked_add(link)?, 4) {
                n += 1;
                if rd(c, 0, 4) & 1 != 0 {
                    break;
                }
            }
            (first, first.checked_add(n)?)
        } else if hash != 0 {
            (1, rd(d.get(hash..)?, 4, 4))
        } else {
            return None;
        };
        // (symbol size, its fields: info, shndx, value)
        let (syment, f) = if W == 8 {
            (24, [4, 6, 8])
        } else {
            (16, [12, 14, 4])
        };
        for i in first..end {
            let s = d
                .get(i.checked_mul(syment)?.checked_add(symtab)?..)?
                .get(..syment)?;
            let (info, shndx) = (rd(s, f[0], 1), rd(s, f[1], 2));
            if is(rd(s, 0, 4), name)
                // STT_NOTYPE or STT_FUNC; STB_GLOBAL or STB_WEAK; defined, not absolute.
                && matches!(info & 0xf, 0 | 2)
                && matches!(info >> 4, 1 | 2)
                && shndx != 0
                && shndx != 0xfff1
                // Symbol i's version index: inside the image, and the one asked for.
                && want.is_none_or(|w| {
                    let v = d.get(versym..).and_then(|v| v.get(2 * i..2 * i + 2));
                    v.is_some_and(|v| rd(v, 0, 2) == w)
                })
            {
                let value = rd(s, f[2], W);
                let thumb = if MACHINE == 40 { value & 1 } else { 0 };
                return at(value - thumb)?.checked_add(base)?.checked_add(thumb);
            }
        }
        None
    }
}
