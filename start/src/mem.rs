//! The C memory functions the compiler emits calls to.
//!
//! On `*-linux-gnu` targets the prebuilt `compiler_builtins` leaves `memcpy` and friends to
//! the C library, which a tinyrt program does not have, so we define them. The copies and
//! fills are the architecture's (`arch::copy_forward` and friends, `asm!` where the CPU has
//! string instructions). The comparison and length loops read through `read_volatile`: LLVM
//! recognises plain loops of this shape as `memcmp`/`bcmp`/`strlen` idioms and would turn
//! them into calls to themselves. (`#![no_builtins]` would forbid that too, but it keeps
//! the crate out of LTO, which then cannot see the statics crt0 shares with tinyrt-rt.)
//!
//! # Safety
//!
//! These have C's contracts: pointers valid for `n` bytes, and non-overlapping regions for
//! `memcpy`. They are called by compiler-generated code that guarantees this.
#![allow(unsafe_code)]

use core::ffi::{c_char, c_int};

/// # Safety
/// C's `memcpy`: `d` and `s` valid for `n` bytes, not overlapping.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
    // SAFETY: C's contract, forwarded.
    unsafe { crate::arch::copy_forward(d, s, n) };
    d
}

/// # Safety
/// C's `memmove`: `d` and `s` valid for `n` bytes; they may overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
    // A forward copy is safe unless the destination starts inside the source.
    if (d as usize).wrapping_sub(s as usize) >= n {
        // SAFETY: C's contract; no byte is written before it is read.
        unsafe { crate::arch::copy_forward(d, s, n) };
    } else {
        // SAFETY: C's contract; copying from the end, no byte is written before it is read.
        unsafe { crate::arch::copy_backward(d, s, n) };
    }
    d
}

/// # Safety
/// C's `memset`: `d` valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(d: *mut u8, c: c_int, n: usize) -> *mut u8 {
    // SAFETY: C's contract, forwarded.
    unsafe { crate::arch::fill(d, c as u8, n) };
    d
}

/// # Safety
/// C's `memcmp`: `a` and `b` valid for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> c_int {
    let mut i = 0;
    while i < n {
        // SAFETY: i < n, inside both regions by C's contract.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return x as c_int - y as c_int;
        }
        i += 1;
    }
    0
}

/// # Safety
/// C's `bcmp`: `a` and `b` valid for `n` bytes. Zero means equal.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> c_int {
    // SAFETY: the same contract.
    unsafe { memcmp(a, b, n) }
}

/// # Safety
/// C's `strlen`: `s` points at a NUL-terminated string. (`CStr::from_ptr` calls it.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: every byte up to and including the NUL is readable by C's contract.
    while unsafe { s.add(n).read_volatile() } != 0 {
        n += 1;
    }
    n
}
