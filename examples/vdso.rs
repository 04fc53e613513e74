//! The vDSO inspector.
//!
//! ```text
//! vdso                 list the live vDSO's symbols
//! vdso FILE            list the symbols of an image file (any arch, 32/64-bit, either byte order)
//! vdso --dump FILE     write the live vDSO image to FILE
//! ```
//!
//! The list is a `#` line (class, machine, hash tables, versions) and then one line per
//! exported dynamic symbol (FUNC or NOTYPE, GLOBAL or WEAK, defined, not absolute, not
//! hidden), sorted by name: `NAME@VERSION 0xVALUE`, VALUE being `st_value` as stored and
//! `@VERSION` absent when the image has no version tables (or the symbol no version). A
//! malformed or unreadable image prints one line on stderr and exits 1.
#![no_std]
#![no_main]

use core::ffi::CStr;
use tinyrt::elf::Image;
use tinyrt::{eprintln, print, println, vdso};

tinyrt::main!(main);

/// Images larger than this are refused (a real vDSO is a few KiB).
const MAX_FILE: usize = 1 << 20;
/// Listed symbols beyond this are refused (a real vDSO has a dozen).
const MAX_SYMS: usize = 4096;

#[derive(Clone, Copy, Default)]
struct Line<'a> {
    name: &'a [u8],
    version: Option<&'a [u8]>,
    value: u64,
}

fn fail(what: &[u8], why: impl core::fmt::Display) -> i32 {
    eprintln!("vdso: {}: {}", what.escape_ascii(), why);
    1
}

fn list(img: &Image<'_>, what: &[u8]) -> i32 {
    let mut lines = [Line::default(); MAX_SYMS];
    let mut n = 0;
    for s in img.symbols() {
        let s = match s {
            Ok(s) => s,
            Err(e) => return fail(what, e),
        };
        if !s.is_exported() {
            continue;
        }
        let Some(slot) = lines.get_mut(n) else {
            return fail(what, "more than 4096 exported symbols");
        };
        *slot = Line {
            name: s.name,
            version: s.version,
            value: s.value,
        };
        n += 1;
    }
    let lines = &mut lines[..n];
    lines.sort_unstable_by(|a, b| (a.name, a.version, a.value).cmp(&(b.name, b.version, b.value)));

    let hash = match (img.has_gnu_hash(), img.has_sysv_hash()) {
        (true, true) => "gnu,sysv",
        (true, false) => "gnu",
        _ => "sysv",
    };
    let class = match img.class() {
        tinyrt::elf::Class::Elf32 => "ELF32",
        tinyrt::elf::Class::Elf64 => "ELF64",
    };
    let versions = if img.has_versions() { "yes" } else { "no" };
    println!(
        "# class={} machine={} hash={} versions={}",
        class,
        img.machine(),
        hash,
        versions
    );
    for l in lines.iter() {
        print!("{}", l.name.escape_ascii());
        if let Some(v) = l.version {
            print!("@{}", v.escape_ascii());
        }
        println!(" 0x{:x}", l.value);
    }
    0
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let first = args.nth(1);
    let second = args.next();
    if args.next().is_some() {
        return usage();
    }
    match (first.map(CStr::to_bytes), second) {
        (None, None) => match vdso::live() {
            Ok(img) => list(&img, b"live vDSO"),
            Err(e) => fail(b"live vDSO", e),
        },
        (Some(b"--dump"), Some(path)) => match vdso::live() {
            Ok(img) => match tinyrt::io::write_file(path, img.bytes()) {
                Ok(()) => 0,
                Err(e) => fail(path.to_bytes(), e),
            },
            Err(e) => fail(b"live vDSO", e),
        },
        (Some(b"--help" | b"-h"), None) => {
            usage();
            0
        }
        (Some(f), None) if !f.starts_with(b"-") => {
            let path = first.unwrap_or_default();
            let mut buf = [0u8; MAX_FILE];
            let len = match tinyrt::io::read_file(path, &mut buf) {
                Ok(n) => n,
                Err(tinyrt::Errno::EFBIG) => return fail(f, "larger than 1 MiB: not a vDSO"),
                Err(e) => return fail(f, e),
            };
            match Image::parse(&buf[..len], 0) {
                Ok(img) => list(&img, f),
                Err(e) => fail(f, e),
            }
        }
        _ => usage(),
    }
}

fn usage() -> i32 {
    eprintln!("usage: vdso [FILE | --dump FILE]");
    2
}
