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

use super::{
    Class, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, EM_ARM, Error, elf_hash, gnu_hash,
};
use linux_raw_sys::elf as e;

/// Dynamic tags linux-raw-sys does not name.
const DT_STRSZ: u64 = 10;
const DT_VERDEFNUM: u64 = 0x6fff_fffd;
/// `VERSYM_HIDDEN`: the symbol is not to be bound by name from outside.
const VERSYM_HIDDEN: u16 = 0x8000;
/// Bounds that no real vDSO comes near; they keep a forged image from costing time.
const MAX_PHNUM: usize = 64;
pub(super) const MAX_LOADS: usize = 8;
const MAX_VERDEFS: usize = 1024;

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

/// Where an image's file bytes end, from its headers alone (`head` holds the ELF header and
/// the program headers): the end of its furthest `PT_LOAD`'s file bytes, and the end of
/// its section header table if the header's fields give one. For bounding a live image,
/// whose length is not known yet.
pub(crate) fn file_ends(head: &[u8]) -> Result<(usize, Option<usize>), Error> {
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
        return Err(Error::NoLoad);
    }
    let sh = match class {
        Class::Elf32 => (b.u32(32).map(u64::from), b.u16(46), b.u16(48)),
        Class::Elf64 => (b.u64(40), b.u16(58), b.u16(60)),
    };
    let sh_end = match sh {
        (Some(off), Some(size), Some(num)) => off.checked_add(u64::from(size) * u64::from(num)),
        _ => None,
    };
    Ok((end, sh_end.and_then(to_usize)))
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
