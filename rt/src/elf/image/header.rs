//! The headers of an image: reads in the image's byte order that fail instead of
//! panicking, the ELF header's identification, and the program headers.

use super::MAX_PHNUM;
use crate::elf::{Class, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, Error};
use linux_raw_sys::elf as e;

/// The image's bytes and its byte order (`EI_DATA`): reads of its fields that fail instead
/// of panicking.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bytes<'a> {
    pub(super) data: &'a [u8],
    /// `ELFDATA2MSB`: the fields are big-endian.
    pub(super) big: bool,
}

impl<'a> Bytes<'a> {
    pub(super) fn get(&self, off: usize, len: usize) -> Option<&'a [u8]> {
        self.data.get(off..off.checked_add(len)?)
    }
    /// The `len` bytes at `off`, read in the same byte order.
    pub(super) fn sub(self, off: usize, len: usize) -> Option<Bytes<'a>> {
        Some(Bytes {
            data: self.get(off, len)?,
            big: self.big,
        })
    }
    fn array<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        self.get(off, N)?.try_into().ok()
    }
    pub(super) fn u8(&self, off: usize) -> Option<u8> {
        self.data.get(off).copied()
    }
    /// The fields of 2, 4 and 8 bytes, in the image's order. Out of line (each is a bounds
    /// check, a load and a byte-order test): the parser is for the inspector and the
    /// tests, where its size counts more than its speed.
    #[inline(never)]
    pub(super) fn u16(&self, off: usize) -> Option<u16> {
        let b = self.array(off)?;
        Some(if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    #[inline(never)]
    pub(super) fn u32(&self, off: usize) -> Option<u32> {
        let b = self.array(off)?;
        Some(if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    #[inline(never)]
    pub(super) fn u64(&self, off: usize) -> Option<u64> {
        let b = self.array(off)?;
        Some(if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }
    /// A field of `size` bytes, 4 or 8, widened to u64.
    pub(super) fn uint(&self, off: usize, size: usize) -> Option<u64> {
        if size == 8 {
            self.u64(off)
        } else {
            self.u32(off).map(u64::from)
        }
    }
    /// A word of the class: 4 or 8 bytes, widened to u64.
    pub(super) fn word(&self, class: Class, off: usize) -> Option<u64> {
        self.uint(off, class.word())
    }
    /// A NUL-terminated string starting at `off`, without its NUL, within `self`.
    pub(super) fn cstr(self, off: usize) -> Option<&'a [u8]> {
        let rest = self.data.get(off..)?;
        let n = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..n])
    }
}

pub(super) fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

/// One `PT_LOAD`, as offsets into the image.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Load {
    pub(super) vaddr: u64,
    pub(super) offset: u64,
    pub(super) filesz: u64,
    pub(super) exec: bool,
}

/// Where an image's file bytes end, from its headers alone (`head` holds the ELF header and
/// the program headers): the end of its furthest `PT_LOAD`'s file bytes, and the end of
/// its section header table if the header's fields give one. For bounding a live image,
/// whose length is not known yet.
pub(crate) fn file_ends(head: &[u8]) -> Result<(usize, Option<usize>), Error> {
    let (class, b) = ident(head)?;
    let (phoff, phentsize, phnum) = ph_table(class, &b)?;
    let mut end = 0usize;
    for i in 0..phnum {
        let ph = phdr(class, &b, phoff + i * phentsize)?;
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

/// The class and the byte order of the ELF header at the start of `data`, checked to be
/// a shared object's.
pub(super) fn ident(data: &[u8]) -> Result<(Class, Bytes<'_>), Error> {
    let mut b = Bytes { data, big: false };
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
    b.big = match b.u8(e::EI_DATA).ok_or(Error::Truncated("the ELF header"))? {
        ELFDATA2LSB => false,
        ELFDATA2MSB => true,
        d => return Err(Error::BadDataEncoding(d)),
    };
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
pub(super) fn ph_table(class: Class, b: &Bytes<'_>) -> Result<(usize, usize, usize), Error> {
    let (phoff, phentsize, phnum) = ph_fields(class, b)?;
    let end = phoff.checked_add(phentsize * phnum);
    if end.is_none_or(|end| end > b.data.len()) {
        return Err(Error::Truncated("the program headers"));
    }
    Ok((phoff, phentsize, phnum))
}

/// (e_phoff, e_phentsize, e_phnum), checked against the class and MAX_PHNUM only.
fn ph_fields(class: Class, b: &Bytes<'_>) -> Result<(usize, usize, usize), Error> {
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
pub(super) fn phdr(class: Class, b: &Bytes<'_>, off: usize) -> Result<(u32, Load, u64), Error> {
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
