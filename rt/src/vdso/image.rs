//! The live image: finding the vDSO the kernel (or qemu-user) mapped, bounding it, and
//! checking that it is for the running program's class and machine.
//!
//! Both readers of the live image go through one bounding path, [`bound`]:
//! `AT_SYSINFO_EHDR` must be page-aligned; its first page is read (always mapped); the
//! reader's extent function tells from that page how many bytes the image has; and only
//! then is a slice of exactly that many bytes made, at most 1 MiB. [`live`] measures with
//! the full parser's header reading (every `PT_LOAD`, plus the section headers when they
//! share the last page) and hands the slice to [`Image::parse`]; the dispatch measures
//! with the small native lookup (`elf::native::Headers`: the one `PT_LOAD`), whose headers
//! it keeps for the lookup.
//!
//! # Safety
//!
//! The slices made here cover memory the kernel mapped read-only at `AT_SYSINFO_EHDR` for
//! the life of the process and that nothing writes. The first is the first page, mapped
//! whenever `AT_SYSINFO_EHDR` is non-zero; the second is no longer than the extent the
//! program headers in that page give for the mapped file (rounded no further than the
//! page holding the last `PT_LOAD` byte), mapped because the kernel maps the whole image
//! it describes, in pages.
#![allow(unsafe_code)]

use crate::elf::native::Headers;
use crate::elf::{self, Image};
use core::fmt;

/// The smallest page size of any Linux architecture: the header reads stay inside it.
const MIN_PAGE: usize = 4096;
/// Real vDSOs are a few pages; an image claiming more is not trusted with a slice.
const MAX_IMAGE: usize = 1 << 20;

/// Why the process has no usable vDSO image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The process has no vDSO (no `AT_SYSINFO_EHDR`).
    NoVdso,
    /// `AT_SYSINFO_EHDR` is not page-aligned: not a mapping's start.
    Misaligned,
    /// The live image claims to be larger than any vDSO (over 1 MiB).
    TooLarge,
    /// The image is for another class or machine than the running program.
    WrongMachine {
        /// The image's `EI_CLASS`.
        class: u8,
        /// The image's `e_machine`.
        machine: u16,
    },
    /// The image is malformed.
    Elf(elf::Error),
}

impl From<elf::Error> for Error {
    fn from(e: elf::Error) -> Error {
        Error::Elf(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::NoVdso => f.write_str("the process has no vDSO"),
            Error::Misaligned => f.write_str("the vDSO address is not page-aligned"),
            Error::TooLarge => f.write_str("the vDSO image claims more than 1 MiB"),
            Error::WrongMachine { class, machine } => write!(
                f,
                "image is for another machine (class {class}, e_machine {machine})"
            ),
            Error::Elf(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for Error {}

/// The vDSO of this process, validated, or why there is none.
pub fn live() -> Result<Image<'static>, Error> {
    let base = crate::auxv::sysinfo_ehdr().ok_or(Error::NoVdso)?;
    // SAFETY: AT_SYSINFO_EHDR is the start of the vDSO mapping (module Safety section).
    let data = unsafe { bound(base, file_extent) }?;
    for_this_machine(Image::parse(data, base)?)
}

/// The live image as a slice for the small native lookup (it starts at the image's run-time
/// address), with the headers the lookup read to bound it; `None` without a vDSO or for an
/// image of a shape the lookup does not read.
pub(super) fn mapped() -> Option<(&'static [u8], Headers)> {
    let base = crate::auxv::sysinfo_ehdr()?;
    // The lookup only needs to know whether there is an image it can read: which error
    // it is does not matter here.
    let mut headers = None;
    let extent = |page: &[u8]| {
        let h = Headers::read(page).ok_or(Error::NoVdso)?;
        headers = Some(h);
        h.extent().ok_or(Error::NoVdso)
    };
    // SAFETY: AT_SYSINFO_EHDR is the start of the vDSO mapping (module Safety section).
    let data = unsafe { bound(base, extent) }.ok()?;
    Some((data, headers?))
}

/// Bounds the image at `base`: its first page, then exactly `extent(first page)` bytes.
///
/// # Safety
/// `base` is the start of a readable mapping of at least one page that holds the whole ELF
/// image its headers describe, unchanged for the life of the process.
#[inline(always)]
unsafe fn bound(
    base: usize,
    extent: impl FnOnce(&[u8]) -> Result<usize, Error>,
) -> Result<&'static [u8], Error> {
    if !base.is_multiple_of(MIN_PAGE) {
        return Err(Error::Misaligned);
    }
    // SAFETY: the first page of the mapping at `base` is readable (caller).
    let page = unsafe { core::slice::from_raw_parts(base as *const u8, MIN_PAGE) };
    let extent = extent(page)?;
    if extent > MAX_IMAGE {
        return Err(Error::TooLarge);
    }
    // SAFETY: the kernel maps the whole file of the image in pages; the extent ends at or
    // before the end of the page that holds the last PT_LOAD byte (module Safety section).
    Ok(unsafe { core::slice::from_raw_parts(base as *const u8, extent) })
}

/// The bytes to take of a mapped image whose first page is `head`: up to the end of its
/// furthest `PT_LOAD`, or further to include the section header table when it ends within
/// that same last page (the kernel and qemu map whole pages of the file, so those bytes are
/// mapped too). Section headers are not needed to use an image, but they let tools read a
/// dump.
fn file_extent(head: &[u8]) -> Result<usize, Error> {
    let (loads, section_headers) = elf::image::file_ends(head)?;
    let page_end = loads.checked_next_multiple_of(MIN_PAGE).unwrap_or(loads);
    Ok(match section_headers {
        Some(end) if end > loads && end <= page_end => end,
        _ => loads,
    })
}

/// The image, if it is for the running program's class, machine and byte order: an
/// emulator may hand over a vDSO for another architecture (or /proc/self/auxv may describe
/// the host's).
fn for_this_machine(img: Image<'_>) -> Result<Image<'_>, Error> {
    // ppc64 and ppc64le share a class and a machine: the byte order must match too.
    if img.class().ident() != linux_raw_sys::elf::ELFCLASS
        || img.machine() != linux_raw_sys::elf::EM_CURRENT
        || img.is_big_endian() != cfg!(target_endian = "big")
    {
        return Err(Error::WrongMachine {
            class: img.class().ident(),
            machine: img.machine(),
        });
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_for_this_machine_are_used() {
        let fixtures: [&[u8]; 10] = [
            include_bytes!("../../../tests/fixtures/vdso/x86_64-linux-6.18.so"),
            include_bytes!("../../../tests/fixtures/vdso/i386-linux-6.18.so"),
            include_bytes!("../../../tests/fixtures/vdso/x86_64-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/i386-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/aarch64-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/riscv64-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/arm-qemu-10.0.2.so"),
            // Big-endian ELF64 and ELF32, and ppc64le: on a big-endian ppc64 host, the
            // little-endian image has the right class and machine but not the byte order.
            include_bytes!("../../../tests/fixtures/vdso/s390x-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/ppc-qemu-10.0.2.so"),
            include_bytes!("../../../tests/fixtures/vdso/ppc64le-qemu-10.0.2.so"),
        ];
        let (mut used, mut refused) = (0, 0);
        for f in fixtures {
            let img = Image::parse(f, 0).unwrap();
            let ours = img.class().ident() == linux_raw_sys::elf::ELFCLASS
                && img.machine() == linux_raw_sys::elf::EM_CURRENT
                && img.is_big_endian() == cfg!(target_endian = "big");
            match for_this_machine(img) {
                Ok(_) => {
                    assert!(ours);
                    used += 1;
                }
                Err(Error::WrongMachine { .. }) => {
                    assert!(!ours);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Whatever the host, at least one fixture is its own (its kernel's or qemu's) and
        // most are another machine's.
        assert_eq!(used + refused, 10);
        assert!(used >= 1 && refused >= 7, "used {used}, refused {refused}");
    }
}
