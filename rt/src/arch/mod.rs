//! The one place that picks an architecture.
//!
//! Each file under `arch/` offers the same small surface: `syscall0` ..= `syscall6`, which
//! return the kernel's raw result (a negated errno in -4095..=-1 means failure), and a
//! never-returning `exit_group`. Everything outside this module is written once for all
//! architectures on top of that surface and the thin safe wrappers below.
//!
//! # Safety
//!
//! The raw `syscallN` functions are `unsafe`: the caller upholds the kernel's contract for
//! the call it makes. The wrappers below are safe because each takes only Rust references
//! whose lengths it passes on, or plain integers.
#![allow(unsafe_code)]

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(not(target_arch = "x86_64"), path = "unsupported.rs")]
mod imp;

#[cfg(not(target_os = "linux"))]
compile_error!("tinyrt is a runtime for Linux only");

pub use imp::{
    auxv_name, exit_group, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6,
};

use crate::errno::Errno;
use linux_raw_sys::general as nr;

/// `write(fd, buf)`: the number of bytes written.
#[inline]
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`, which we borrow.
    Errno::from_ret(unsafe {
        syscall3(
            nr::__NR_write as usize,
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
        )
    })
}
