//! The vDSO: the ELF image the kernel (or qemu-user) maps into every process, and the
//! dispatch that serves `clock_gettime`, `clock_getres`, `gettimeofday`, `time`, `getcpu`
//! and `getrandom` from it, with the raw system call wherever it cannot.
//!
//! - [`image`](live): finding the live image through `AT_SYSINFO_EHDR`, bounding it (one
//!   path for both readers), and refusing an image for another class or machine (an
//!   emulator handing over a host image means "no usable vDSO", never a wrong call);
//! - `dispatch`: one cached function pointer per function ([`Function`], [`Backend`]),
//!   resolved on first use through the small lookup `elf::native`;
//! - `fallback`: the raw system calls that take a slot when the vDSO cannot serve, and the
//!   one rule for retrying a failed vDSO call by system call;
//! - `random`: the opaque-state pool of the vDSO's `getrandom`.
//!
//! # Safety
//!
//! Each submodule says what it trusts: `image` the kernel's mapping at `AT_SYSINFO_EHDR`,
//! `dispatch` the C signatures of what its slots hold, `fallback` the pointers it passes
//! to the kernel, `random` the states it maps and hands out.

mod dispatch;
mod fallback;
mod image;
pub(crate) mod random;

pub use dispatch::{Backend, Function, find};
pub use image::{Error, live};

pub(crate) use dispatch::{
    backend, clock_getres, clock_gettime, getcpu, gettimeofday, is_syscall, peek, time,
};
pub(crate) use fallback::{
    call_sys_clock_getres, call_sys_clock_gettime, call_sys_getcpu, call_sys_getrandom,
    call_sys_gettimeofday, call_sys_time, errno_of, retries,
};
