//! The live vDSO: the ELF image the kernel (or qemu-user) maps into every process.
//!
//! [`live`] finds it through `AT_SYSINFO_EHDR`, validates its ELF header, reads the
//! program headers to learn the image's extent (the end of its furthest `PT_LOAD`), and only
//! then makes a byte slice of exactly that extent for [`elf::Image::parse`]. It checks the
//! image's class and machine against the running program: a mismatch (an emulator handing
//! over a host image) means "no usable vDSO", never a wrong call.
//!
//! # Safety
//!
//! The slices made here cover memory the kernel mapped read-only at `AT_SYSINFO_EHDR` for
//! the life of the process and that nothing writes. They are made in three steps, each no
//! longer than what the previous step proved mapped: the first 64 bytes (the ELF header,
//! inside the first page), the program headers (checked to lie inside that first page), then
//! the extent the program headers give for the mapped file (rounded no further than the
//! page holding the last `PT_LOAD` byte). The first page is mapped whenever
//! `AT_SYSINFO_EHDR` is non-zero; the rest is mapped because the kernel maps the whole image
//! it describes, in pages.
#![allow(unsafe_code)]

use crate::elf::{self, Error, Image};

/// The smallest page size of any Linux architecture: the header reads stay inside it.
const MIN_PAGE: usize = 4096;

/// The vDSO of this process, validated, or why there is none.
pub fn live() -> Result<Image<'static>, Error> {
    let base = crate::auxv::sysinfo_ehdr().ok_or(Error::NoVdso)?;
    // SAFETY: see the module's Safety section: AT_SYSINFO_EHDR is the start of a mapped page.
    unsafe { at(base) }
}

/// Validates and bounds the image at `base`.
///
/// # Safety
/// `base` is page-aligned and the start of a readable mapping of at least one page that
/// holds the whole ELF image its headers describe, unchanged while the result lives.
unsafe fn at(base: usize) -> Result<Image<'static>, Error> {
    if !base.is_multiple_of(MIN_PAGE) {
        return Err(Error::BadMagic);
    }
    // SAFETY: the first page is mapped (caller); 64 bytes are inside it.
    let head = unsafe { core::slice::from_raw_parts(base as *const u8, 64) };
    let headers = elf::header_extent(head)?;
    if headers > MIN_PAGE {
        return Err(Error::Truncated("the program headers"));
    }
    // SAFETY: `headers` <= one page, mapped (caller).
    let head = unsafe { core::slice::from_raw_parts(base as *const u8, headers) };
    let extent = elf::file_extent(head, MIN_PAGE)?;
    // SAFETY: the kernel maps the whole file of the image in pages; its PT_LOADs end at or
    // before `extent`, which stays inside the page that holds their last byte.
    let data = unsafe { core::slice::from_raw_parts(base as *const u8, extent) };
    for_this_machine(Image::parse(data, base)?)
}

/// The image, if it is for the running program's class and machine: an emulator may hand
/// over a vDSO for another architecture (or /proc/self/auxv may describe the host's).
fn for_this_machine(img: Image<'_>) -> Result<Image<'_>, Error> {
    if img.class().ident() != linux_raw_sys::elf::ELFCLASS
        || img.machine() != linux_raw_sys::elf::EM_CURRENT
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
        let fixtures: [&[u8]; 7] = [
            include_bytes!("../../tests/fixtures/vdso/x86_64-linux-6.18.so"),
            include_bytes!("../../tests/fixtures/vdso/i386-linux-6.18.so"),
            include_bytes!("../../tests/fixtures/vdso/x86_64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/i386-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/aarch64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/riscv64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/arm-qemu-10.0.2.so"),
        ];
        let (mut used, mut refused) = (0, 0);
        for f in fixtures {
            let img = Image::parse(f, 0).unwrap();
            let ours = img.class().ident() == linux_raw_sys::elf::ELFCLASS
                && img.machine() == linux_raw_sys::elf::EM_CURRENT;
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
        // Tests run on the x86_64 host: its two images (kernel, qemu) are used, the
        // other five refused.
        assert_eq!((used, refused), (2, 5));
    }
}
