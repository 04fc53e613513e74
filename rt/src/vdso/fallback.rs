//! The raw system calls that take a slot when the vDSO cannot serve, with the vDSO
//! functions' C signatures so that they can sit in the same slots (the calls themselves,
//! and the one policy for the 32-bit-time twins, are `sys`'s), and the one rule for what
//! follows a failed call through a slot.
//!
//! The rule: a vDSO result of 0 is success and `-EINVAL` is `Err(EINVAL)` (an unknown
//! clock); any other error from the vDSO (some answer `ENOSYS` for clocks they cannot
//! serve) is retried once by system call, whose answer is final: [`retries`], which `time`
//! and `cpu` apply on their out-of-line failure paths.
//!
//! Nothing here calls back into the dispatch: what serves `time` through the
//! `clock_gettime` slot is the dispatch's own (`dispatch::time_via_clock`).
//!
//! # Safety
//!
//! Each function passes its pointer arguments on to the kernel, which writes through them:
//! the caller (a call through a slot) guarantees they are valid for what the kernel writes.
#![allow(unsafe_code)]

use crate::errno::Errno;
use crate::sys;
use core::ffi::c_void;
use linux_raw_sys::general::{__kernel_old_timeval, __kernel_timespec};

/// The error of a nonzero raw result: a negated errno; anything else, which neither the
/// kernel nor a vDSO answers, is EINVAL.
#[inline(never)]
pub(crate) fn errno_of(r: isize) -> Errno {
    Errno::new(r.checked_neg().map_or(0, |e| e.min(4096) as i32)).unwrap_or(Errno::EINVAL)
}

/// The rule for a nonzero result `r` of a call through a slot: whether to ask the system
/// call again. EINVAL stands; a system call's answer stands (`is_syscall`: the slot holds
/// the system call); any other vDSO error is retried once by system call, whose answer is
/// final.
#[inline(always)]
pub(crate) fn retries(r: isize, is_syscall: impl FnOnce() -> bool) -> bool {
    r != -(Errno::EINVAL.raw() as isize) && !is_syscall()
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(super) unsafe extern "C" fn sys_clock_gettime(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { sys::clock_gettime_raw(clock, ts) }
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(super) unsafe extern "C" fn sys_clock_getres(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { sys::clock_getres_raw(clock, ts) }
}

/// # Safety
/// `tv` is valid for writing a `__kernel_old_timeval`; `tz` is NULL or valid.
pub(super) unsafe extern "C" fn sys_gettimeofday(
    tv: *mut __kernel_old_timeval,
    tz: *mut c_void,
) -> i32 {
    // SAFETY: forwarded.
    unsafe { sys::gettimeofday_raw(tv, tz) }
}

/// # Safety
/// `t` is NULL or valid for writing.
pub(super) unsafe extern "C" fn sys_time(t: *mut isize) -> isize {
    // SAFETY: forwarded.
    unsafe { sys::time_raw(t) }
}

/// # Safety
/// `cpu` and `node` are NULL or valid for writing.
pub(super) unsafe extern "C" fn sys_getcpu(
    cpu: *mut u32,
    node: *mut u32,
    cache: *mut c_void,
) -> i32 {
    // SAFETY: forwarded.
    unsafe { sys::getcpu_raw(cpu, node, cache) }
}

/// # Safety
/// `buf` is valid for writing `len` bytes. The opaque state is not used.
pub(super) unsafe extern "C" fn sys_getrandom(
    buf: *mut c_void,
    len: usize,
    flags: u32,
    _state: *mut c_void,
    _state_len: usize,
) -> isize {
    // SAFETY: forwarded.
    unsafe { sys::getrandom_raw(buf, len, flags) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_results_name_their_errno() {
        assert_eq!(errno_of(-22), Errno::EINVAL);
        assert_eq!(errno_of(-4), Errno::EINTR);
        assert_eq!(errno_of(-4095).raw(), 4095);
        // Not a negated errno: no kernel or vDSO answers these.
        for r in [1, 22, -4096, isize::MIN] {
            assert_eq!(errno_of(r), Errno::EINVAL, "{r}");
        }
    }
}
