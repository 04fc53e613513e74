//! The C memory functions tinyrt-start defines (`memcpy`, `memmove`, `memset`), called
//! through their symbols, for the tests:
//!
//!     mem check            # every case below; one digest line per operation and length
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
            tinyrt::eprintln!("usage: mem check | mem copy|shift|move|back|set N (N <= 65536)");
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
