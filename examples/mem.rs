//! The C memory functions tinyrt-start defines (`memcpy`, `memmove`, `memset`), called
//! through their symbols, for the tests:
//!
//!     mem check            # every case below; one digest line per operation and length
//!     mem guard            # the buffers against inaccessible pages (below); `guard ok N`
//!     mem OP N             # one call of N bytes (OP: copy, shift, move, back, set), for
//!                          # counting instructions (`shift`: memcpy from a source aligned
//!                          # 3 bytes off the destination; `move`, `back`: memmove to a
//!                          # lower or a higher overlapping address)
//!
//! `check` runs `memcpy` and `memset` at every destination and source alignment 0..16 and
//! every length 0..300, `memmove` the same at five distances (apart, and overlapping forward
//! and backward), and a few large ones. After each call it hashes (FNV-1a) the destination
//! and 16 bytes either side, then restores them; tests/mem.rs computes the same digests
//! with std's `copy_within`, `copy_from_slice` and `fill` (glibc's functions) and compares.
//!
//! `guard` maps two regions, each with a `PROT_NONE` page either side, and runs the three
//! functions with the source and the destination touching those pages: starting at the
//! first byte after the lower one, or ending at the last byte before the upper one, the other
//! buffer at 0..16 bytes from its own guard page, for every length 0..=64, 4095 and 4096;
//! `memmove` also inside one region, at distances 1..=16 (overlapping) and len + 0..16
//! (apart), both ways. A load or store beyond either end of a buffer that reaches a guard
//! page is a SIGSEGV (the test sees the signal); the bytes around each destination are
//! checked too. It prints `guard ok` and the number of calls.
#![no_std]
#![no_main]

use core::hint::black_box;
use tinyrt::println;

tinyrt::main!(main);

mod c {
    unsafe extern "C" {
        pub fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8;
        pub fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8;
        pub fn memset(d: *mut u8, c: i32, n: usize) -> *mut u8;
    }
}
type Copy = unsafe extern "C" fn(*mut u8, *const u8, usize) -> *mut u8;
type Fill = unsafe extern "C" fn(*mut u8, i32, usize) -> *mut u8;

/// The functions, through pointers the optimiser cannot see through: called, never expanded
/// in line (LLVM knows these names and, on s390x, would inline a copy loop of its own).
fn functions() -> (Copy, Copy, Fill) {
    black_box((c::memcpy as Copy, c::memmove as Copy, c::memset as Fill))
}

/// Two buffers in .bss: no code fills them before the pattern does.
const BUF: usize = 70_000;
static mut A: [u8; BUF] = [0; BUF];
static mut B: [u8; BUF] = [0; BUF];

/// The byte at `i` of the pattern with `seed`.
fn pattern(seed: u32, i: usize) -> u8 {
    ((i as u32 ^ seed).wrapping_mul(2_654_435_761) >> 24) as u8
}

/// Writes the pattern over `buf[from..to]`, a byte at a time (volatile: never a memcpy call).
fn paint(buf: *mut u8, seed: u32, from: usize, to: usize) {
    for i in from..to {
        // SAFETY: `to` <= BUF for every caller: inside the buffer.
        unsafe { buf.add(i).write_volatile(pattern(seed, i)) };
    }
}

/// FNV-1a over `buf[from..to]`, continuing from `h`.
fn hash(mut h: u64, buf: *const u8, from: usize, to: usize) -> u64 {
    for i in from..to {
        // SAFETY: as in `paint`.
        h ^= u64::from(unsafe { buf.add(i).read_volatile() });
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

const FNV: u64 = 0xcbf2_9ce4_8422_2325;
/// memmove's destination minus source, besides the alignments: apart (both ways) and
/// overlapping in both directions.
const DELTAS: [isize; 5] = [-320, -17, 0, 17, 320];
const MAX: usize = 300;
const BIG: [usize; 3] = [4096, 4099, 65_536 + 7];

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args.skip(1).map(|a| a.to_str().unwrap_or(""));
    let (a, b) = (&raw mut A as *mut u8, &raw mut B as *mut u8);
    let (memcpy, memmove, memset) = functions();
    match (
        args.next(),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) {
        (Some("check"), None) => {
            check(a, b);
            0
        }
        (Some("guard"), None) => guard::run(),
        (Some(op), Some(n)) if n <= 65_536 => {
            let n = black_box(n);
            // SAFETY: 8 + 65,536 + 64 bytes fit both buffers.
            unsafe {
                match op {
                    "copy" => memcpy(b.add(8), a.add(8), n),
                    "shift" => memcpy(b.add(8), a.add(11), n),
                    "move" => memmove(a.add(8), a.add(16), n),
                    "back" => memmove(a.add(16), a.add(8), n),
                    "set" => memset(b.add(8), 0x5a, n),
                    _ => return 2,
                }
            };
            0
        }
        _ => {
            tinyrt::eprintln!(
                "usage: mem check | mem guard | mem copy|shift|move|back|set N (N <= 65536)"
            );
            2
        }
    }
}

fn check(a: *mut u8, b: *mut u8) {
    let (memcpy, memmove, memset) = functions();
    paint(a, 1, 0, BUF);
    paint(b, 2, 0, BUF);
    for len in (0..=MAX).chain(BIG) {
        let big = len > MAX;
        let aligns: &[usize] = if big {
            &[0, 3, 13]
        } else {
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
        };
        let (mut copy, mut mv, mut set) = (FNV, FNV, FNV);
        for &sa in aligns {
            for &da in aligns {
                // memcpy: A + 16 + sa to B + 16 + da.
                let d = 16 + da;
                // SAFETY: d + len + 16 and 16 + sa + len are inside the buffers.
                unsafe { memcpy(b.add(d), a.add(16 + sa), black_box(len)) };
                copy = hash(copy, b, d - 16, d + len + 16);
                paint(b, 2, d - 16, d + len + 16);
                // memset, with the value's high bits set (C converts it to unsigned char).
                // SAFETY: as above.
                unsafe { memset(b.add(d), black_box(0x100 | (len + sa) as i32 & 0xff), len) };
                set = hash(set, b, d - 16, d + len + 16);
                paint(b, 2, d - 16, d + len + 16);
                // memmove within A.
                for delta in DELTAS {
                    let s = 336 + sa;
                    let d = (336 + da).wrapping_add_signed(delta);
                    // SAFETY: s, d >= 16 and s, d + len + 16 <= BUF (see BIG, DELTAS).
                    unsafe { memmove(a.add(d), a.add(s), black_box(len)) };
                    mv = hash(mv, a, d - 16, d + len + 16);
                    paint(a, 1, d - 16, d + len + 16);
                }
            }
        }
        println!("copy {len} {copy:016x}");
        println!("move {len} {mv:016x}");
        println!("set {len} {set:016x}");
    }
}

/// `mem guard`: the three functions at the edges of mappings with inaccessible neighbours.
mod guard {
    use super::{functions, pattern};
    use core::hint::black_box;
    use tinyrt::syscall::{nr, syscall3};
    use tinyrt::{Errno, println};

    /// mmap with 6 arguments: `mmap2` (offset in pages) on 32-bit architectures.
    #[cfg(target_pointer_width = "32")]
    const MMAP: usize = nr::__NR_mmap2;
    #[cfg(target_pointer_width = "64")]
    const MMAP: usize = nr::__NR_mmap;
    /// The kernel's values, the same on the seven architectures.
    const PROT_READ_WRITE: usize = 3;
    const PROT_NONE: usize = 0;
    const MAP_PRIVATE_ANONYMOUS: usize = 0x22;

    /// The lengths: every one to 64, and around a page.
    const LENS: [usize; 2] = [4095, 4096];
    const ALIGNS: usize = 16;

    /// `size` readable and writable bytes from `lo`, between two `PROT_NONE` pages, painted
    /// with the pattern `seed` (byte `i` from `lo` is `pattern(seed, i)`).
    #[derive(Clone, Copy)]
    struct Region {
        lo: *mut u8,
        size: usize,
        seed: u32,
    }

    /// Maps guard page, three pages, guard page (room for two buffers of 4096 bytes and
    /// the gaps).
    fn region(seed: u32) -> Result<Region, Errno> {
        let page = tinyrt::auxv::page_size().unwrap_or(4096);
        let len = 5 * page;
        let args = [
            0,
            len,
            PROT_READ_WRITE,
            MAP_PRIVATE_ANONYMOUS,
            usize::MAX,
            0,
        ];
        // SAFETY: a new anonymous mapping where the kernel chooses: nothing the program
        // holds changes; s390x's mmap is the old one, reading its six arguments from `args`.
        #[cfg(target_arch = "s390x")]
        let r = unsafe { tinyrt::syscall::syscall1(MMAP, args.as_ptr() as usize) };
        #[cfg(not(target_arch = "s390x"))]
        let [a1, a2, a3, a4, a5, a6] = args;
        // SAFETY: as above.
        #[cfg(not(target_arch = "s390x"))]
        let r = unsafe { tinyrt::syscall::syscall6(MMAP, a1, a2, a3, a4, a5, a6) };
        let base = Errno::from_ret(r)?;
        for at in [base, base + 4 * page] {
            // SAFETY: takes access away from a page of the mapping just made, which nothing
            // refers to.
            Errno::from_ret(unsafe { syscall3(nr::__NR_mprotect, at, page, PROT_NONE) })?;
        }
        let r = Region {
            lo: (base + page) as *mut u8,
            size: 3 * page,
            seed,
        };
        r.paint(0, r.size);
        Ok(r)
    }

    impl Region {
        /// Writes the pattern over bytes `from..to`, one at a time (volatile: never a call).
        fn paint(self, from: usize, to: usize) {
            for i in from..to {
                // SAFETY: to <= size: inside the mapping.
                unsafe { self.lo.add(i).write_volatile(pattern(self.seed, i)) };
            }
        }

        fn at(self, i: usize) -> *mut u8 {
            self.lo.wrapping_add(i)
        }

        /// Whether bytes `d..d + len` hold what `want` says and the 16 bytes either side
        /// (inside the mapping) still hold the pattern; paints them back either way.
        fn check(self, d: usize, len: usize, want: impl Fn(usize) -> u8) -> Option<usize> {
            let (from, to) = (d.saturating_sub(16), (d + len + 16).min(self.size));
            let mut bad = None;
            for i in from..to {
                let w = if (d..d + len).contains(&i) {
                    want(i - d)
                } else {
                    pattern(self.seed, i)
                };
                // SAFETY: to <= size: inside the mapping.
                if unsafe { self.lo.add(i).read_volatile() } != w && bad.is_none() {
                    bad = Some(i);
                }
            }
            self.paint(from, to);
            bad
        }
    }

    /// Where a buffer of `len` bytes `gap` bytes from a guard page starts: above the lower
    /// one, or below the upper one.
    fn place(r: Region, upper: bool, gap: usize, len: usize) -> usize {
        if upper { r.size - len - gap } else { gap }
    }

    pub fn run() -> i32 {
        let (x, y) = match (region(1), region(2)) {
            (Ok(x), Ok(y)) => (x, y),
            _ => {
                println!("guard: mmap or mprotect failed");
                return 1;
            }
        };
        let (memcpy, memmove, memset) = functions();
        let mut calls = 0u32;
        let fail = |what: &str, len: usize, a: usize, s: usize, d: usize, i: usize| {
            println!("guard FAILED {what} len {len} gap {a}: source {s} destination {d}, byte {i}");
        };
        for len in (0..=64).chain(LENS) {
            for a in 0..ALIGNS {
                // From one region to the other, each side touching a guard page or `a`
                // bytes from it.
                for (sup, dup, sgap, dgap) in [
                    (false, false, 0, a),
                    (false, true, 0, a),
                    (true, false, 0, a),
                    (true, true, 0, a),
                    (false, false, a, 0),
                    (false, true, a, 0),
                    (true, false, a, 0),
                    (true, true, a, 0),
                ] {
                    let (s, d) = (place(x, sup, sgap, len), place(y, dup, dgap, len));
                    for (name, f) in [("memcpy", memcpy), ("memmove", memmove)] {
                        // SAFETY: both inside their regions (place), in different mappings.
                        unsafe { f(y.at(d), x.at(s), black_box(len)) };
                        calls += 1;
                        if let Some(i) = y.check(d, len, |k| pattern(x.seed, s + k)) {
                            fail(name, len, a, s, d, i);
                            return 1;
                        }
                    }
                }
                // memmove inside one region, the pair's lower end on the lower guard page
                // or its upper end on the upper one; down (d < s) and up (d > s).
                for delta in [a + 1, len + a] {
                    for upper in [false, true] {
                        for down in [false, true] {
                            let lo = place(x, upper, 0, len + delta);
                            let (s, d) = if down {
                                (lo + delta, lo)
                            } else {
                                (lo, lo + delta)
                            };
                            // SAFETY: lo + delta + len <= size.
                            unsafe { memmove(x.at(d), x.at(s), black_box(len)) };
                            calls += 1;
                            if let Some(i) = x.check(d, len, |k| pattern(x.seed, s + k)) {
                                fail("memmove (one region)", len, a, s, d, i);
                                return 1;
                            }
                        }
                    }
                }
                // memset at `a` bytes from either guard page.
                for upper in [false, true] {
                    let d = place(y, upper, a, len);
                    let c = black_box(0x100 | (len + a) as i32 & 0xff);
                    // SAFETY: inside the region (place).
                    unsafe { memset(y.at(d), c, black_box(len)) };
                    calls += 1;
                    if let Some(i) = y.check(d, len, |_| c as u8) {
                        fail("memset", len, a, d, d, i);
                        return 1;
                    }
                }
            }
        }
        println!("guard ok {calls}");
        0
    }
}
