//! A bounded reader for vDSO images: ELF32 and ELF64 shared objects of either byte order.
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
//! Every field is read in the image's byte order (`EI_DATA`), whatever the host's, so the
//! inspector reads an s390x vDSO on x86_64. DT_HASH's entries are 8 bytes on ELF64 s390x
//! and alpha, 4 elsewhere (`elf::sysv_hash_entry`).

mod hash;
mod header;

use super::{Class, EM_ARM, Error, elf_hash};
use hash::{GnuHash, SysvHash};
use header::{Bytes, Load, ident, ph_table, phdr, to_usize};
use linux_raw_sys::elf as e;

pub(crate) use header::file_ends;

/// Dynamic tags linux-raw-sys does not name.
const DT_STRSZ: u64 = 10;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
/// `VERSYM_HIDDEN`: the symbol is not to be bound by name from outside.
const VERSYM_HIDDEN: u16 = 0x8000;
/// Bounds that no real vDSO comes near; they keep a forged image from costing time.
const MAX_PHNUM: usize = 64;
pub(super) const MAX_LOADS: usize = 8;
const MAX_VERDEFS: usize = 1024;

#[derive(Clone, Copy, Debug)]
struct Versions {
    versym: usize,
    verdef: usize,
    verdefnum: usize,
}

/// A validated vDSO image; see the [module documentation](self).
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    bytes: Bytes<'a>,
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
    #[must_use]
    pub fn is_exported(&self) -> bool {
        matches!(self.kind, e::STT_FUNC | e::STT_NOTYPE)
            && matches!(self.bind, e::STB_GLOBAL | e::STB_WEAK)
            && self.shndx != e::SHN_UNDEF
            && self.shndx != e::SHN_ABS
            && !self.hidden
    }
}

impl<'a> Image<'a> {
    /// Validates `data` as a vDSO image that lives at address `base` (0 for an image read
    /// from a file, `AT_SYSINFO_EHDR` for the live one).
    pub fn parse(data: &'a [u8], base: usize) -> Result<Image<'a>, Error> {
        let (class, b) = ident(data)?;
        let machine = b.u16(18).ok_or(Error::Truncated("the ELF header"))?;
        let (phoff, phentsize, phnum) = ph_table(class, &b)?;

        let mut loads = [Load::default(); MAX_LOADS];
        let mut nloads = 0;
        let mut dynamic = None;
        for i in 0..phnum {
            let (ty, seg, memsz) = phdr(class, &b, phoff + i * phentsize)?;
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
            bytes: b,
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
        let dyn_bytes = b.sub(dyn_off, dyn_len).ok_or(Error::BadDynamic)?;
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
            (None, Some(s)) => Image::sysv_nchain(&s),
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
    #[must_use]
    pub fn class(&self) -> Class {
        self.class
    }

    /// The image's `e_machine`.
    #[must_use]
    pub fn machine(&self) -> u16 {
        self.machine
    }

    /// Whether the image is big-endian (`ELFDATA2MSB`).
    #[must_use]
    pub fn is_big_endian(&self) -> bool {
        self.bytes.big
    }

    /// Whether `DT_GNU_HASH` is present (and used for lookups).
    #[must_use]
    pub fn has_gnu_hash(&self) -> bool {
        self.gnu.is_some()
    }

    /// Whether `DT_HASH` is present.
    #[must_use]
    pub fn has_sysv_hash(&self) -> bool {
        self.sysv.is_some()
    }

    /// Whether the image has version tables (`DT_VERSYM` and `DT_VERDEF`).
    #[must_use]
    pub fn has_versions(&self) -> bool {
        self.versions.is_some()
    }

    /// The number of entries of the dynamic symbol table (including the null symbol 0).
    #[must_use]
    pub fn symbol_count(&self) -> usize {
        self.nsyms
    }

    /// The image's bytes.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes.data
    }

    fn b(&self) -> &Bytes<'a> {
        &self.bytes
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
        let strtab = self
            .b()
            .sub(self.strtab, self.strsz)
            .ok_or(Error::BadString)?;
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
}
