//! This process: its id, and ending it.
//!
//! # Safety
//!
//! The system calls here take no pointers.
#![allow(unsafe_code)]

use linux_raw_sys::general as g;

/// Ends the process (every thread) with `code`; the parent sees `code & 0xff`. Nothing
/// runs first: no destructors, no buffers to flush (tinyrt has none).
#[inline]
pub fn exit(code: i32) -> ! {
    crate::arch::exit_group(code)
}

/// This process's id.
pub fn id() -> u32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    (unsafe { crate::arch::syscall0(g::__NR_getpid as usize) }) as u32
}
