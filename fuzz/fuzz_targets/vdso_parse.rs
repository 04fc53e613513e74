//! Fuzz target for the vDSO parser: for any input, no panic, and every address that
//! `address()` or `lookup()` reports lies inside the image. The same invariant as the
//! stable mutation test `tests/vdso_mutate.rs`, driven by libFuzzer instead.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tinyrt_rt::elf::Image;

const BASE: usize = 0x7fff_0000_0000;
const NAMES: [(&[u8], &[u8]); 5] = [
    (b"__vdso_clock_gettime", b"LINUX_2.6"),
    (b"__kernel_clock_gettime", b"LINUX_2.6.39"),
    (b"__vdso_clock_gettime", b"LINUX_4.15"),
    (b"__vdso_time", b"LINUX_2.6"),
    (b"__vdso_getcpu", b"LINUX_2.6"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(img) = Image::parse(data, BASE) else {
        return;
    };
    let inside = |a: usize| a >= BASE && a - BASE < data.len();
    for s in img.symbols() {
        if let Ok(s) = s
            && let Ok(a) = img.address(&s)
        {
            assert!(inside(a), "symbol address {a:#x} outside the image");
        }
    }
    for (name, version) in NAMES {
        if let Ok(Some((_, a))) = img.lookup(name, version) {
            assert!(inside(a), "lookup address {a:#x} outside the image");
        }
    }
});
