//! Word-at-a-time loops for the C memory functions, for architectures without a string-copy
//! instruction worth using here (every one but x86_64, which takes only `copy_backward`).
//!
//! The shape is the classic one (as in musl's and compiler_builtins' C-style versions; the
//! code is ours): bytes until the destination is word-aligned, then whole words, then the
//! bytes left. When the source is not aligned like the destination, each destination word
//! is two aligned source words shifted together (by the target's byte order), so no load
//! is ever misaligned (riscv64 may trap and emulate those; armv7 and powerpc64 slow down);
//! the words read are whole words inside the source, the partial first one is read by bytes.
//!
//! Every store is volatile: LLVM recognises plain copy and fill loops and would turn them
//! into calls to memcpy and memset, which are these very functions (tests/mem.rs checks the
//! disassembly of every architecture for such a call). Volatile word stores are ordinary
//! word stores; only merging and vectorising them is given up.
//!
//! # Safety
//!
//! Each function has C's contract for the region it is given: the caller passes pointers
//! valid for `n` bytes.

const W: usize = size_of::<usize>();
/// Below this many bytes, only the byte loop runs (there is at least one whole word after
/// aligning the destination from here on).
const SMALL: usize = 2 * W;

/// Copies `n` bytes upward, one at a time.
///
/// # Safety
/// As `copy_forward`.
#[inline(always)]
unsafe fn bytes_forward(d: *mut u8, s: *const u8, n: usize) {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside both regions (caller).
        unsafe { d.add(i).write_volatile(s.add(i).read()) };
        i += 1;
    }
}

/// Copies `n` bytes downward, one at a time, from the last.
///
/// # Safety
/// As `copy_backward`.
#[inline(always)]
unsafe fn bytes_backward(d: *mut u8, s: *const u8, n: usize) {
    let mut i = n;
    while i > 0 {
        i -= 1;
        // SAFETY: i < n, inside both regions (caller).
        unsafe { d.add(i).write_volatile(s.add(i).read()) };
    }
}

/// The destination word made of the bytes `off..W` (in memory order) of the aligned source
/// word `lo` followed by the bytes `0..off` of the next one, `hi`. `off` is 1..W.
#[inline(always)]
fn merge(lo: usize, hi: usize, off: usize) -> usize {
    let (a, b) = (8 * off, 8 * (W - off));
    if cfg!(target_endian = "little") {
        (lo >> a) | (hi << b)
    } else {
        (lo << a) | (hi >> b)
    }
}

/// The aligned word at `at` with only its bytes `from..to` (memory order) read, one at a
/// time, and the others zero: the part of a word that lies inside a region.
///
/// # Safety
/// Bytes `at + from .. at + to` are readable.
#[inline(always)]
unsafe fn part(at: *const u8, from: usize, to: usize) -> usize {
    let mut v = 0;
    let mut j = from;
    while j < to {
        // SAFETY: from <= j < to (caller).
        let b = unsafe { at.add(j).read() } as usize;
        v |= if cfg!(target_endian = "little") {
            b << (8 * j)
        } else {
            b << (8 * (W - 1 - j))
        };
        j += 1;
    }
    v
}

/// Copies `n` bytes upward.
///
/// # Safety
/// `d` and `s` valid for `n` bytes; if they overlap, `d` is below `s`.
#[inline(always)]
pub unsafe fn copy_forward(mut d: *mut u8, mut s: *const u8, mut n: usize) {
    if n >= SMALL {
        let head = (d as usize).wrapping_neg() & (W - 1);
        // SAFETY: head < W <= n: inside both regions (caller); afterwards `d` is aligned and
        // n > W. Every word stored is one of the destination's (i < words); whenever a
        // store overlaps the source (`d` below `s`), the source bytes it covers were read.
        unsafe {
            bytes_forward(d, s, head);
            (d, s, n) = (d.add(head), s.add(head), n - head);
            let words = n / W;
            let off = s as usize & (W - 1);
            let done = if off == 0 {
                let mut i = 0;
                while i < words {
                    let v = s.add(i * W).cast::<usize>().read();
                    d.add(i * W).cast::<usize>().write_volatile(v);
                    i += 1;
                }
                words
            } else {
                // The aligned word below `s`, of which bytes off..W are the source's; then
                // the aligned words after it while they lie wholly inside the source.
                let at = s.sub(off);
                let mut lo = part(at, off, W);
                let m = ((n + off) / W - 1).min(words);
                let mut i = 0;
                while i < m {
                    let hi = at.add((i + 1) * W).cast::<usize>().read();
                    d.add(i * W)
                        .cast::<usize>()
                        .write_volatile(merge(lo, hi, off));
                    lo = hi;
                    i += 1;
                }
                m
            };
            (d, s, n) = (d.add(done * W), s.add(done * W), n - done * W);
        }
    }
    // SAFETY: the last `n` bytes of both regions.
    unsafe { bytes_forward(d, s, n) };
}

/// Copies `n` bytes downward, from the end, for overlapping moves to higher addresses.
///
/// # Safety
/// `d` and `s` valid for `n` bytes.
#[inline(always)]
pub unsafe fn copy_backward(d: *mut u8, s: *const u8, mut n: usize) {
    if n >= SMALL {
        // SAFETY: as in `copy_forward`, mirrored: the destination's end is aligned first;
        // every store is one of the destination's words, and whenever it overlaps the
        // source (`d` above `s`) the source bytes it covers were read.
        unsafe {
            let (de, se) = (d.add(n), s.add(n));
            let tail = de as usize & (W - 1);
            bytes_backward(de.sub(tail), se.sub(tail), tail);
            let (de, se) = (de.sub(tail), se.sub(tail));
            n -= tail;
            let words = n / W;
            let off = se as usize & (W - 1);
            let done = if off == 0 {
                let mut i = 1;
                while i <= words {
                    let v = se.sub(i * W).cast::<usize>().read();
                    de.sub(i * W).cast::<usize>().write_volatile(v);
                    i += 1;
                }
                words
            } else {
                // The aligned word at the source's end, of which bytes 0..off are the
                // source's; then the aligned words below it while they lie inside it.
                let at = se.sub(off);
                let mut hi = part(at, 0, off);
                let m = ((n - off) / W).min(words);
                let mut i = 1;
                while i <= m {
                    let lo = at.sub(i * W).cast::<usize>().read();
                    de.sub(i * W)
                        .cast::<usize>()
                        .write_volatile(merge(lo, hi, off));
                    hi = lo;
                    i += 1;
                }
                m
            };
            n -= done * W;
        }
    }
    // SAFETY: the first `n` bytes of both regions.
    unsafe { bytes_backward(d, s, n) };
}

/// Sets `n` bytes to `c`.
///
/// # Safety
/// `d` valid for `n` bytes.
#[inline(always)]
pub unsafe fn fill(mut d: *mut u8, c: u8, mut n: usize) {
    if n >= SMALL {
        let head = (d as usize).wrapping_neg() & (W - 1);
        let v = usize::from(c) * (usize::MAX / 255);
        // SAFETY: head < n bytes, then whole aligned words, inside the region (caller).
        unsafe {
            let mut i = 0;
            while i < head {
                d.add(i).write_volatile(c);
                i += 1;
            }
            (d, n) = (d.add(head), n - head);
            let words = n / W;
            let mut i = 0;
            while i < words {
                d.add(i * W).cast::<usize>().write_volatile(v);
                i += 1;
            }
            (d, n) = (d.add(words * W), n - words * W);
        }
    }
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside the region (caller).
        unsafe { d.add(i).write_volatile(c) };
        i += 1;
    }
}
