//! ELF for vDSO images: what the full parser and the dispatch's small lookup share (the
//! [`Error`] of a malformed image, the [`Class`], the two hash functions), the parser
//! itself ([`image`]: [`Image::parse`], for the inspector and the tests) and the dispatch's
//! small lookup (crate-private: for the running program's own class, machine and byte
//! order). Both read either byte order.
//!
//! Written from the ELF gABI, the GNU hash and symbol-versioning conventions as glibc's
//! `elf.h` and the Linux kernel's `tools/testing/selftests/vDSO/parse_vdso.c` describe them
//! (we learned the vDSO-specific checks from that file: versym bit 15, skipping the
//! `VER_FLG_BASE` definition, comparing `vd_hash`); no code is taken from either.
//! This module has no unsafe code.
//!
//! ```
//! use tinyrt_rt::elf::{Error, Image};
//!
//! // The parser bounds every read by the slice it is given: garbage is an error, never a
//! // read past the end.
//! assert!(matches!(Image::parse(b"not an ELF image", 0), Err(_)));
//! // The live vDSO, where the kernel mapped one, parses; its symbols carry versions.
//! if let Ok(vdso) = tinyrt_rt::vdso::live() {
//!     for sym in vdso.symbols().flatten().filter(|s| s.is_exported()) {
//!         let addr = vdso.address(&sym).expect("an exported symbol lies in the image");
//!         assert!(addr != 0);
//!     }
//! }
//! # let _: Option<Error> = None;
//! ```

use core::fmt;

pub mod image;
pub(crate) mod native;

pub use image::{Image, Symbol};

/// `ELFCLASS32` and `ELFCLASS64` (gABI `e_ident[EI_CLASS]`).
pub(crate) const ELFCLASS32: u8 = 1;
pub(crate) const ELFCLASS64: u8 = 2;
/// `ELFDATA2LSB`, `ELFDATA2MSB`.
pub(crate) const ELFDATA2LSB: u8 = 1;
pub(crate) const ELFDATA2MSB: u8 = 2;
/// `EM_ARM`: function symbols with bit 0 set are Thumb code at the even address.
pub(crate) const EM_ARM: u16 = 40;
/// `EM_S390` (s390 and s390x), its old unofficial value, and the `EM_ALPHA` Linux uses:
/// see [`sysv_hash_entry`].
pub(crate) const EM_S390: u16 = 22;
const EM_S390_OLD: u16 = 0xa390;
const EM_ALPHA: u16 = 0x9026;

/// The size of a DT_HASH entry (nbucket, nchain and each bucket and chain): 8 bytes in
/// ELF64 images for s390x and alpha, 4 everywhere else, as binutils (readelf, bfd) reads
/// them; the kernel's s390x vDSO is such an image (its commit 01587d80 notes it).
/// DT_GNU_HASH's buckets and chains are 4 bytes on every machine.
pub(crate) const fn sysv_hash_entry(elf64: bool, machine: u16) -> usize {
    if elf64 && matches!(machine, EM_S390 | EM_S390_OLD | EM_ALPHA) {
        8
    } else {
        4
    }
}

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
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::Truncated(what) => write!(f, "truncated image: no room for {what}"),
            Error::BadMagic => f.write_str("not an ELF image (bad magic)"),
            Error::BadClass(c) => write!(f, "unknown ELF class {c}"),
            Error::BadDataEncoding(d) => write!(f, "unknown ELF data encoding {d}"),
            Error::BadVersion => f.write_str("unknown ELF version"),
            Error::NotSharedObject(t) => write!(f, "not a shared object (e_type {t})"),
            Error::BadPhentsize(s) => write!(f, "wrong program header size {s}"),
            Error::TooManyProgramHeaders(n) => write!(f, "too many program headers ({n})"),
            Error::TooManyLoads => write!(f, "more than {} PT_LOAD segments", image::MAX_LOADS),
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
    #[must_use]
    pub fn ident(self) -> u8 {
        match self {
            Class::Elf32 => ELFCLASS32,
            Class::Elf64 => ELFCLASS64,
        }
    }
    pub(crate) fn word(self) -> usize {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
    pub(crate) fn ehsize(self) -> usize {
        match self {
            Class::Elf32 => 52,
            Class::Elf64 => 64,
        }
    }
    pub(crate) fn phentsize(self) -> usize {
        match self {
            Class::Elf32 => 32,
            Class::Elf64 => 56,
        }
    }
    pub(crate) fn syment(self) -> usize {
        match self {
            Class::Elf32 => 16,
            Class::Elf64 => 24,
        }
    }
}

/// The SysV ELF hash (gABI).
#[must_use]
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

/// The GNU hash (Bernstein's djb2, `h * 33 + c`, from 5381). A `const fn`: the dispatch
/// hashes its symbol names at compile time.
#[must_use]
pub const fn gnu_hash(name: &[u8]) -> u32 {
    let mut h = 5381u32;
    let mut i = 0;
    while i < name.len() {
        h = h.wrapping_mul(33).wrapping_add(name[i] as u32);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::native::lookup_as;
    use super::*;

    type Native = fn(&[u8], usize, &[u8], &[u8]) -> Option<usize>;

    /// A real image, what it is, and the small lookup's instantiation for it.
    struct Case {
        data: &'static [u8],
        kind: (Class, u16, bool),
        version: &'static str,
        native: Native,
        functions: &'static [&'static str],
    }

    /// qemu-user's vDSOs for s390x (ELF64, big-endian, 8-byte DT_HASH entries), 32-bit
    /// powerpc (ELF32, big-endian) and ppc64le: the full parser reads each in its own byte
    /// order on any host, and the small lookup's instantiation for it finds the same
    /// functions at the same addresses, where the other byte order's finds nothing.
    #[test]
    fn images_are_read_in_their_own_byte_order() {
        const BASE: usize = 0x7f00_0000;
        const POWERPC: &[&str] = &[
            "clock_gettime",
            "clock_getres",
            "gettimeofday",
            "time",
            "getcpu",
        ];
        let cases = [
            Case {
                data: include_bytes!("../../../tests/fixtures/vdso/s390x-qemu-10.0.2.so"),
                kind: (Class::Elf64, EM_S390, true),
                version: "LINUX_2.6.29",
                native: lookup_as::<8, 22, true>,
                functions: &["clock_gettime", "clock_getres", "gettimeofday", "getcpu"],
            },
            Case {
                data: include_bytes!("../../../tests/fixtures/vdso/ppc-qemu-10.0.2.so"),
                kind: (Class::Elf32, 20, true),
                version: "LINUX_2.6.15",
                native: lookup_as::<4, 20, true>,
                functions: POWERPC,
            },
            Case {
                data: include_bytes!("../../../tests/fixtures/vdso/ppc64le-qemu-10.0.2.so"),
                kind: (Class::Elf64, 21, false),
                version: "LINUX_2.6.15",
                native: lookup_as::<8, 21, false>,
                functions: POWERPC,
            },
        ];
        for c in cases {
            let img = Image::parse(c.data, BASE).unwrap();
            assert_eq!((img.class(), img.machine(), img.is_big_endian()), c.kind);
            assert!(img.has_gnu_hash() && img.has_sysv_hash() && img.has_versions());
            let other: Native = match c.kind {
                (Class::Elf64, _, true) => lookup_as::<8, 22, false>,
                (Class::Elf32, ..) => lookup_as::<4, 20, false>,
                _ => lookup_as::<8, 21, true>,
            };
            let version = c.version.as_bytes();
            for f in c.functions {
                let name = [b"__kernel_", f.as_bytes()].concat();
                let (_, at) = img.lookup(&name, version).unwrap().unwrap();
                assert!(at > BASE && at < BASE + c.data.len(), "{f}");
                assert_eq!((c.native)(c.data, BASE, &name, version), Some(at), "{f}");
                assert_eq!(other(c.data, BASE, &name, version), None, "{f}");
            }
        }
        assert_eq!(sysv_hash_entry(true, EM_S390), 8);
        assert_eq!(sysv_hash_entry(false, EM_S390), 4);
        assert_eq!(sysv_hash_entry(true, 62), 4);
    }
}
