//! A small lookup for the live vDSO, for the running program's own class and machine.
//!
//! The dispatch resolves each function once through this instead of [`Image::parse`](super::Image::parse), so
//! that a program that reads a clock carries a few hundred bytes of lookup rather than the
//! whole parser. It accepts the shape every real vDSO has: one `PT_LOAD`, a `DT_GNU_HASH`
//! or `DT_HASH` table (arm64 has had only the GNU one since 2024), GNU version definitions
//! or none. Anything else, and anything malformed, is `None`, and the caller falls back to
//! the system call.
//!
//! It is written for size: records are read as `chunks_exact` of the image (one bounds
//! check per table, none per field), the GNU table only picks the chain of symbols to
//! compare (no Bloom filter, no hash comparison: a symbol's name decides), and a DT_HASH
//! image is scanned in table order over its `nchain` symbols, as musl's vdso.c does (a vDSO
//! has a few dozen). A damaged image makes it answer `None` or an address inside the
//! `PT_LOAD`, never read outside the slice, loop without end or panic. The tests check
//! that it finds exactly what the full parser finds on every real and built image it
//! accepts, and that whatever it returns on a million damaged ones lies inside the image.

use super::gnu_hash;
use linux_raw_sys::elf as e;

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
