//! Byte loops for the C memory functions on architectures without a string-copy instruction
//! worth using here (every one but x86_64). The stores are volatile: LLVM recognises plain
//! copy and fill loops and would turn them into calls to memcpy and memset, which are these
//! very functions.
//!
//! # Safety
//!
//! Each function has C's contract for the region it is given: the caller passes pointers
//! valid for `n` bytes.

/// Copies `n` bytes upward.
///
/// # Safety
/// `d` and `s` valid for `n` bytes; if they overlap, `d` is below `s`.
#[inline(always)]
pub unsafe fn copy_forward(d: *mut u8, s: *const u8, n: usize) {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside both regions (caller).
        unsafe { d.add(i).write_volatile(s.add(i).read()) };
        i += 1;
    }
}

/// Copies `n` bytes downward, from the last byte.
///
/// # Safety
/// `d` and `s` valid for `n` bytes.
#[inline(always)]
pub unsafe fn copy_backward(d: *mut u8, s: *const u8, n: usize) {
    let mut i = n;
    while i > 0 {
        i -= 1;
        // SAFETY: i < n, inside both regions (caller).
        unsafe { d.add(i).write_volatile(s.add(i).read()) };
    }
}

/// Sets `n` bytes to `c`.
///
/// # Safety
/// `d` valid for `n` bytes.
#[inline(always)]
pub unsafe fn fill(d: *mut u8, c: u8, n: usize) {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside the region (caller).
        unsafe { d.add(i).write_volatile(c) };
        i += 1;
    }
}
