//! A small lookup for the live vDSO, for the running program's own class, machine and byte
//! order.
//!
//! The dispatch resolves each function once through this instead of
//! [`Image::parse`](super::Image::parse), so that a program that reads a clock carries a
//! few hundred bytes of lookup rather than the whole parser. It accepts the shape every
//! real vDSO has: one `PT_LOAD`, a `DT_GNU_HASH` or `DT_HASH` table (arm64 has had only the
//! GNU one since 2024), GNU version definitions or none. Anything else, and anything
//! malformed, is `None`, and the caller falls back to the system call.
//!
//! It is written for size: records are read as `chunks_exact` of the image (one bounds
//! check per table, none per field), the GNU table only picks the chain of symbols to
//! compare (no Bloom filter, no hash comparison: a symbol's name decides), and a DT_HASH
//! image is scanned in table order over its `nchain` symbols, as musl's vdso.c does (a vDSO
//! has a few dozen). A damaged image makes it answer `None` or an address inside the
//! `PT_LOAD`, never read outside the slice, loop without end or panic. The tests check
//! that it finds exactly what the full parser finds on every real and built image it
//! accepts, and that whatever it returns on a million damaged ones lies inside the image.
//!
//! The byte order is a constant like the class and the machine: a little-endian program
//! reads little-endian fields with plain loads and a big-endian one big-endian fields, and
//! neither carries code for the other. DT_HASH's entries are 8 bytes on ELF64 s390x
//! (`elf::sysv_hash_entry`), also a constant.

use super::{ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, EM_ARM, gnu_hash, sysv_hash_entry};
use core::ops::Range;
use linux_raw_sys::elf as e;

/// The running program's word size, machine and byte order: what `extent` and `lookup`
/// accept. (`lookup_as` takes them as parameters, so that tests on any host cover every
/// class and byte order.)
const NATIVE_W: usize = size_of::<usize>();
const NATIVE_MACHINE: usize = linux_raw_sys::elf::EM_CURRENT as usize;
const NATIVE_BIG: bool = cfg!(target_endian = "big");

/// Where the fields the lookup reads lie in one class's records (gABI): the ELF header's
/// `e_phoff` and `e_phentsize` (`e_phnum` follows it), a program header's size and its
/// `p_offset`, `p_vaddr`, `p_filesz` and `p_flags`, and a symbol's size and its `st_info`,
/// `st_shndx` and `st_value` (`st_name` is first in both classes).
struct Layout {
    class: u8,
    e_phoff: usize,
    e_phentsize: usize,
    phdr: usize,
    p: [usize; 4],
    sym: usize,
    st: [usize; 3],
}

/// The layout of ELF64 (`W` = 8) or ELF32 records.
#[inline(always)]
const fn layout<const W: usize>() -> Layout {
    if W == 8 {
        Layout {
            class: ELFCLASS64,
            e_phoff: 32,
            e_phentsize: 54,
            phdr: 56,
            p: [8, 16, 32, 4],
            sym: 24,
            st: [4, 6, 8],
        }
    } else {
        Layout {
            class: ELFCLASS32,
            e_phoff: 28,
            e_phentsize: 42,
            phdr: 32,
            p: [4, 8, 16, 24],
            sym: 16,
            st: [12, 14, 4],
        }
    }
}

/// The field of `n` (1, 2, 4 or 8) bytes at `off` of the record `r`, big-endian if `BIG`
/// else little-endian, 0 outside the record. With constant `off` and `n` on a record of a
/// length the compiler knows (a `chunks_exact` item), this is one load (and a byte swap
/// where the order is not the host's).
#[inline(always)]
fn rd<const BIG: bool>(r: &[u8], off: usize, n: usize) -> usize {
    let Some(b) = r.get(off..off.wrapping_add(n)) else {
        return 0;
    };
    match n {
        8 => b.try_into().map_or(0, |b| {
            if BIG {
                u64::from_be_bytes(b)
            } else {
                u64::from_le_bytes(b)
            }
        }) as usize,
        4 => b.try_into().map_or(0, |b| {
            if BIG {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        }) as usize,
        2 => b
            .try_into()
            .map_or(0, |b| {
                if BIG {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                }
            })
            .into(),
        _ => b.first().map_or(0, |&b| b.into()),
    }
}

/// Whether `a` and `b`, of the same length, hold the same bytes: four at a time (a symbol
/// name is compared in a fifth of the steps of a byte loop; the order they are read in
/// does not matter).
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let (mut x, mut y) = (a.chunks_exact(4), b.chunks_exact(4));
    x.by_ref()
        .zip(y.by_ref())
        .all(|(p, q)| rd::<false>(p, 0, 4) == rd::<false>(q, 0, 4))
        && x.remainder().iter().eq(y.remainder())
}

/// The records of `size` bytes from `off` to the end of `d`.
#[inline(always)]
fn records(d: &[u8], off: usize, size: usize) -> core::slice::ChunksExact<'_, u8> {
    d.get(off..).unwrap_or_default().chunks_exact(size)
}

/// What the lookup needs of an image's headers, read once: its one `PT_LOAD`'s p_offset,
/// p_vaddr and p_filesz, and `PT_DYNAMIC`'s p_offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Headers([usize; 4]);

impl Headers {
    /// The headers of the image starting with `head` (which holds the ELF header and the
    /// program headers), if it is one this lookup accepts, for this program's class,
    /// machine and byte order.
    pub fn read(head: &[u8]) -> Option<Headers> {
        load::<NATIVE_W, NATIVE_MACHINE, NATIVE_BIG>(head).map(Headers)
    }

    /// The bytes the `PT_LOAD` ends at: how much of the mapping the lookup reads.
    #[must_use]
    pub fn extent(self) -> Option<usize> {
        let [off, _, size, _] = self.0;
        off.checked_add(size)
    }
}

/// Whether the ELF header `h` is a shared object of class `W` for `MACHINE`, big-endian if
/// `BIG` else little-endian, with program headers of its class's size.
#[inline(always)]
fn accepts<const W: usize, const MACHINE: usize, const BIG: bool>(h: &[u8]) -> bool {
    let l = layout::<W>();
    let data = if BIG { ELFDATA2MSB } else { ELFDATA2LSB };
    // e_type and e_machine, read as one field of four bytes in the image's order.
    let kind = if BIG {
        (e::ET_DYN as usize) << 16 | MACHINE
    } else {
        e::ET_DYN as usize | MACHINE << 16
    };
    // The magic, EI_CLASS and EI_DATA are bytes: read as little-endian words and compared
    // with little-endian constants, whatever the image's order.
    rd::<false>(h, 0, 4) == u32::from_le_bytes(e::ELFMAG) as usize
        && rd::<false>(h, e::EI_CLASS, 2) == l.class as usize | (data as usize) << 8
        && rd::<BIG>(h, 16, 4) == kind
        && rd::<BIG>(h, l.e_phentsize, 2) == l.phdr
}

/// The one `PT_LOAD`'s p_offset, p_vaddr and p_filesz, and `PT_DYNAMIC`'s p_offset.
#[inline(always)]
fn load<const W: usize, const MACHINE: usize, const BIG: bool>(d: &[u8]) -> Option<[usize; 4]> {
    let l = layout::<W>();
    let h = d.get(..64)?;
    if !accepts::<W, MACHINE, BIG>(h) {
        return None;
    }
    let (mut load, mut dynamic) = (None, None);
    let phdrs = records(d, rd::<BIG>(h, l.e_phoff, W), l.phdr);
    for p in phdrs.take(rd::<BIG>(h, l.e_phentsize + 2, 2)) {
        let [offset, vaddr, filesz, flags] = l.p;
        match rd::<BIG>(p, 0, 4) as u32 {
            // One PT_LOAD, executable: it holds the functions.
            e::PT_LOAD if load.is_some() || rd::<BIG>(p, flags, 4) as u32 & e::PF_X == 0 => {
                return None;
            }
            e::PT_LOAD => {
                load = Some([
                    rd::<BIG>(p, offset, W),
                    rd::<BIG>(p, vaddr, W),
                    rd::<BIG>(p, filesz, W),
                ])
            }
            e::PT_DYNAMIC => dynamic = Some(rd::<BIG>(p, offset, W)),
            _ => {}
        }
    }
    let [off, vaddr, size] = load?;
    Some([off, vaddr, size, dynamic?])
}

/// The image's one `PT_LOAD`: where its file bytes lie in the image and in its link.
#[derive(Clone, Copy)]
struct Segment {
    offset: usize,
    vaddr: usize,
    size: usize,
}

impl Segment {
    /// A virtual address inside the segment's file bytes, as an offset in the image.
    #[inline(always)]
    fn at(self, v: usize) -> Option<usize> {
        let o = v.wrapping_sub(self.vaddr);
        (o < self.size).then(|| o + self.offset)
    }
}

/// DT_HASH, DT_STRTAB, DT_SYMTAB, DT_GNU_HASH, DT_VERSYM and DT_VERDEF of the dynamic
/// section at `dynamic`, as offsets in `d`; 0 (the ELF header, which none of them can be)
/// when absent. `None` when one points outside the segment.
#[inline(always)]
fn tables<const W: usize, const BIG: bool>(
    d: &[u8],
    dynamic: usize,
    seg: Segment,
) -> Option<[usize; 6]> {
    let mut t = [0usize; 6];
    for entry in records(d, dynamic, 2 * W) {
        let tag = rd::<BIG>(entry, 0, W);
        if tag == e::DT_NULL {
            break;
        }
        // A match, not a search of a table of tags: a few compares per entry.
        let i = match tag {
            e::DT_HASH => 0,
            e::DT_STRTAB => 1,
            e::DT_SYMTAB => 2,
            e::DT_GNU_HASH => 3,
            e::DT_VERSYM => 4,
            e::DT_VERDEF => 5,
            _ => continue,
        };
        if let Some(slot) = t.get_mut(i) {
            *slot = seg.at(rd::<BIG>(entry, W, W))?;
        }
    }
    Some(t)
}

/// The version index to ask for: that of the first definition named `version` that is not
/// the file's own (`VER_FLG_BASE`); `None` when there is no such definition (no symbol can
/// match). `is(off, name)`: whether string `off` of the string table is `name`. Each step
/// moves forward: the walk ends inside the image.
#[inline(always)]
fn version_index<const BIG: bool>(
    d: &[u8],
    verdef: usize,
    version: &[u8],
    is: impl Fn(usize, &[u8]) -> bool,
) -> Option<usize> {
    let mut v = verdef;
    loop {
        // Elf_Verdef: vd_version, vd_flags, vd_ndx, vd_cnt, vd_hash, vd_aux, vd_next.
        let r = records(d, v, 20).next()?;
        if rd::<BIG>(r, 0, 2) != e::VER_DEF_CURRENT as usize {
            return None;
        }
        let aux = records(d, v.checked_add(rd::<BIG>(r, 12, 4))?, 4).next();
        if rd::<BIG>(r, 2, 2) & e::VER_FLG_BASE as usize == 0
            && aux.is_some_and(|a| is(rd::<BIG>(a, 0, 4), version))
        {
            return Some(rd::<BIG>(r, 4, 2));
        }
        match rd::<BIG>(r, 16, 4) {
            0 => return None,
            next => v = v.checked_add(next)?,
        }
    }
}

/// The indices of the symbols to compare: the GNU hash chain of the bucket of the name
/// hashed to `name_hash` (from the
/// bucket to the word with the end bit, or the image's end), or without DT_GNU_HASH
/// DT_HASH's `nchain` symbols from 1 (in table order: where two symbols have the same name
/// and version, which no linker produces, the full parser's chain walk may pick the other
/// one). The chain words' hashes are not compared: a chain is a few symbols, and their
/// names decide (comparing cost more code than it saved instructions).
#[inline(always)]
fn candidates<const W: usize, const MACHINE: usize, const BIG: bool>(
    d: &[u8],
    gnu: usize,
    hash: usize,
    name_hash: u32,
) -> Option<Range<usize>> {
    if gnu != 0 {
        // Every product and sum of image words is checked: on a 32-bit target they could
        // wrap.
        let g = d.get(gnu..)?;
        let (nbuckets, symoffset) = (rd::<BIG>(g, 0, 4), rd::<BIG>(g, 4, 4));
        let buckets = rd::<BIG>(g, 8, 4).checked_mul(W)?.checked_add(16)?;
        let bucket = (name_hash as usize).checked_rem(nbuckets)?;
        let chain = nbuckets.checked_mul(4)?.checked_add(buckets)?;
        // bucket < nbuckets: its product fits where nbuckets' did.
        let first = rd::<BIG>(g.get(buckets + bucket * 4..)?, 0, 4);
        let link = first.checked_sub(symoffset)?.checked_mul(4)?;
        let mut n = 0;
        for c in records(g, chain.checked_add(link)?, 4) {
            n += 1;
            if rd::<BIG>(c, 0, 4) & 1 != 0 {
                break;
            }
        }
        Some(first..first.checked_add(n)?)
    } else if hash != 0 {
        // nbucket, then nchain: entries of 4 bytes, or 8 on ELF64 s390x.
        let entry = sysv_hash_entry(W == 8, MACHINE as u16);
        Some(1..rd::<BIG>(d.get(hash..)?, entry, entry))
    } else {
        None
    }
}

/// Whether the symbol record `s` is an exported function or untyped symbol: global or weak,
/// defined, not absolute.
#[inline(always)]
fn exported<const W: usize, const BIG: bool>(s: &[u8]) -> bool {
    let [info, shndx, _] = layout::<W>().st;
    let (info, shndx) = (rd::<BIG>(s, info, 1) as u8, rd::<BIG>(s, shndx, 2) as u16);
    matches!(info & 0xf, e::STT_NOTYPE | e::STT_FUNC)
        && matches!(info >> 4, e::STB_GLOBAL | e::STB_WEAK)
        && shndx != e::SHN_UNDEF
        && shndx != e::SHN_ABS
}

/// The run-time address of the exported function `name` with GNU version `version`
/// (any version when the image has no version tables) in the image `d` mapped at
/// `base`, or `None`. Reads the headers and hashes the name first: the dispatch, which
/// has both already, calls `lookup_with`.
#[must_use]
pub fn lookup(d: &[u8], base: usize, name: &[u8], version: &[u8]) -> Option<usize> {
    lookup_as::<NATIVE_W, NATIVE_MACHINE, NATIVE_BIG>(d, base, name, version)
}

/// `lookup` for an image of word size `W` (4 or 8), machine `MACHINE` (EM_ARM, 40, keeps
/// the Thumb bit of function addresses; EM_S390, 22, has DT_HASH entries of 8 bytes in
/// ELF64) and byte order `BIG_ENDIAN` (`ELFDATA2MSB` if true, else `ELFDATA2LSB`), reading
/// the headers from the image's first page as the dispatch does.
#[must_use]
pub fn lookup_as<const W: usize, const MACHINE: usize, const BIG_ENDIAN: bool>(
    d: &[u8],
    base: usize,
    name: &[u8],
    version: &[u8],
) -> Option<usize> {
    let headers = Headers(load::<W, MACHINE, BIG_ENDIAN>(d.get(..PAGE).unwrap_or(d))?);
    find::<W, MACHINE, BIG_ENDIAN>(d, &headers, base, name, gnu_hash(name), version)
}

/// The first page: what the dispatch reads the headers from.
const PAGE: usize = 4096;

/// `lookup` in an image whose headers were read (from its first page, by
/// [`Headers::read`]) when it was bounded, for a name whose GNU hash is known (the
/// dispatch's are computed at compile time).
#[inline(always)]
#[must_use]
pub fn lookup_with(
    d: &[u8],
    headers: &Headers,
    base: usize,
    name: &[u8],
    name_hash: u32,
    version: &[u8],
) -> Option<usize> {
    find::<NATIVE_W, NATIVE_MACHINE, NATIVE_BIG>(d, headers, base, name, name_hash, version)
}

#[inline(always)]
fn find<const W: usize, const MACHINE: usize, const BIG: bool>(
    d: &[u8],
    &Headers([offset, vaddr, size, dynamic]): &Headers,
    base: usize,
    name: &[u8],
    name_hash: u32,
    version: &[u8],
) -> Option<usize> {
    if offset > d.len() || size > d.len() - offset {
        return None;
    }
    let seg = Segment {
        offset,
        vaddr,
        size,
    };
    let [hash, strtab, symtab, gnu, versym, verdef] = tables::<W, BIG>(d, dynamic, seg)?;
    // Whether the NUL-terminated string `off` of the string table is `want`.
    let strs = d.get(strtab..)?;
    let is = |off: usize, want: &[u8]| {
        let s = strs.get(off..).unwrap_or_default();
        s.get(want.len()) == Some(&0) && s.get(..want.len()).is_some_and(|s| same(s, want))
    };
    // Any version when the image has no version tables.
    let want = if versym != 0 && verdef != 0 {
        Some(version_index::<BIG>(d, verdef, version, is)?)
    } else {
        None
    };
    let l = layout::<W>();
    for i in candidates::<W, MACHINE, BIG>(d, gnu, hash, name_hash)? {
        let s = d
            .get(i.checked_mul(l.sym)?.checked_add(symtab)?..)?
            .get(..l.sym)?;
        if is(rd::<BIG>(s, 0, 4), name)
            && exported::<W, BIG>(s)
            // Symbol i's version index: inside the image, and the one asked for.
            && want.is_none_or(|w| {
                let v = d.get(versym..).and_then(|v| v.get(2 * i..2 * i + 2));
                v.is_some_and(|v| rd::<BIG>(v, 0, 2) == w)
            })
        {
            let value = rd::<BIG>(s, l.st[2], W);
            let thumb = if MACHINE == EM_ARM as usize {
                value & 1
            } else {
                0
            };
            return seg.at(value - thumb)?.checked_add(base)?.checked_add(thumb);
        }
    }
    None
}
