//! Word-at-a-time loops for the C memory functions, for architectures without a string-copy
//! instruction worth using here (every one but x86_64, which takes only `copy_backward`).
//!
//! The shape is the classic one (as in musl's and compiler_builtins' C-style versions; the
//! code is ours): bytes until the destination is word-aligned, then whole words, then the
//! bytes left. When the source is not aligned like the destination, each destination word
//! is two aligned source words shifted together (by the target's byte order), so no load
//! is ever misaligned (riscv64 may trap and emulate those; armv7 and powerpc64 slow down).
//! Every word loaded lies wholly inside the source: the partial first aligned word (and, in
//! the downward copy, the partial one at the end) is read a byte at a time, and the bytes
//! after the last whole word by the byte loop. So no load touches a byte outside the
//! regions, not even one in the same aligned word (examples/mem.rs `guard` checks this
//! with the buffers against inaccessible pages).
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
/// time, and the others zero: the part of a word that lies inside a region. `at` itself
/// may lie outside the region's allocation (below it), so it is only offset with
/// `wrapping_add`, never dereferenced outside `from..to`.
///
/// # Safety
/// Bytes `at + from .. at + to` are readable.
#[inline(always)]
unsafe fn part(at: *const u8, from: usize, to: usize) -> usize {
    let mut v = 0;
    let mut j = from;
    while j < to {
        // SAFETY: from <= j < to: a byte inside the region (caller), reached from `at`
        // with wrapping arithmetic (no in-bounds requirement on `at`).
        let b = unsafe { at.wrapping_add(j).read() } as usize;
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
        // Every word loaded lies wholly inside the source (see the misaligned branch), so
        // no load reaches a byte, or a page, outside it.
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
                // The aligned word below `s`, of which bytes off..W are the source's: read
                // by bytes, as its bytes 0..off belong to some other object (reading them
                // is outside Rust's model, although an aligned word never crosses a page
                // and would not fault). Then the aligned words after it while they lie
                // wholly inside the source. `at` may be below the source's allocation, so
                // it is formed and offset with wrapping arithmetic (`sub` and `add` require
                // in-bounds results); every address loaded through it is in the source.
                let at = s.wrapping_sub(off);
                let mut lo = part(at, off, W);
                // Word k (k >= 1) after `at` spans s - off + kW .. s - off + (k + 1)W: inside
                // s..s + n iff k + 1 <= (n + off) / W. So k runs to m = (n + off) / W - 1
                // (0 when n + off < 2W), at most `words` (off < W); the n - mW bytes left
                // go to the byte loop below, never to a word load.
                let m = ((n + off) / W - 1).min(words);
                let mut i = 0;
                while i < m {
                    let hi = at.wrapping_add((i + 1) * W).cast::<usize>().read();
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
                // source's (read by bytes: the rest belong to some other object); then the
                // aligned words below it while they lie inside it. `at` is inside the
                // source (n >= off), and word i (1..=m) below it spans
                // at - iW .. at - iW + W, inside s..se iff iW <= n - off: m = (n - off) / W.
                // The bytes below the last one go to the byte loop below.
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
