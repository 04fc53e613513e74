//! The two hash tables of an image: validating DT_HASH and DT_GNU_HASH, the symbol count
//! they imply, and the lookup by name through them. DT_HASH's entries are 4 or 8 bytes
//! (`elf::sysv_hash_entry`); DT_GNU_HASH's buckets and chains are always 4.

use super::Image;
use super::header::to_usize;
use crate::elf::{Class, Error, Symbol, elf_hash, gnu_hash, sysv_hash_entry};

#[derive(Clone, Copy, Debug)]
pub(super) struct SysvHash {
    /// The size of every entry: 4 or 8 bytes.
    entry: usize,
    nbucket: usize,
    nchain: usize,
    buckets: usize,
    chains: usize,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct GnuHash {
    nbuckets: usize,
    symoffset: usize,
    bloom: usize,
    bloom_size: usize,
    bloom_shift: u32,
    buckets: usize,
    chain: usize,
}

impl<'a> Image<'a> {
    pub(super) fn parse_sysv(&self, off: usize) -> Result<SysvHash, Error> {
        let b = self.b();
        let bad = Error::BadHashTable("DT_HASH outside the image");
        let entry = sysv_hash_entry(self.class == Class::Elf64, self.machine);
        let field = |at: usize| b.uint(at, entry).and_then(to_usize).ok_or(bad);
        let nbucket = field(off)?;
        let nchain = field(off + entry)?;
        if nbucket == 0 {
            return Err(Error::BadHashTable("DT_HASH with no buckets"));
        }
        let buckets = off + 2 * entry;
        let chains = nbucket
            .checked_mul(entry)
            .and_then(|n| n.checked_add(buckets))
            .ok_or(bad)?;
        b.get(chains, nchain.checked_mul(entry).ok_or(bad)?)
            .ok_or(bad)?;
        Ok(SysvHash {
            entry,
            nbucket,
            nchain,
            buckets,
            chains,
        })
    }

    /// The symbol count DT_HASH gives: the chain array has one entry per symbol (its length
    /// was checked at parse).
    pub(super) fn sysv_nchain(h: &SysvHash) -> usize {
        h.nchain
    }

    pub(super) fn parse_gnu(&self, off: usize) -> Result<GnuHash, Error> {
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
        if chain > self.bytes.data.len() {
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
    pub(super) fn gnu_nsyms(&self, h: &GnuHash) -> Result<usize, Error> {
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
            let entry = |at: usize| b.uint(at, s.entry).and_then(to_usize).ok_or(bad);
            let mut i = entry(s.buckets + s.entry * (elf_hash(name) as usize % s.nbucket))?;
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
                i = entry(s.chains + s.entry * i)?;
            }
            return if i == 0 { Ok(None) } else { Err(bad) };
        }
        Err(Error::NoHashTable)
    }
}
