//! The raw system calls behind the vDSO functions, with the vDSO functions' C signatures so
//! that they can sit in the same slots, and the one rule for what follows a failed call.
//!
//! The rule: a vDSO result of 0 is success and `-EINVAL` is `Err(EINVAL)` (an unknown
//! clock); any other error from the vDSO (some answer `ENOSYS` for clocks they cannot
//! serve) is retried once by system call, whose answer is final: [`retries`], which `time`
//! and `cpu` apply on their out-of-line failure paths.
//!
//! On 32-bit architectures the clocks are read with the 64-bit-time system calls, and
//! with their 32-bit twins where those fail ([`time64_call`]).
//!
//! # Safety
//!
//! Each `sys_*` function passes its pointer arguments to the kernel, which writes through
//! them: the caller (a slot call, or the safe `call_sys_*` entries below, which pass
//! mutable borrows) guarantees they are valid for what the kernel writes.
#![allow(unsafe_code)]

use crate::arch::{self, NR};
use crate::errno::Errno;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
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

/// Set once a 64-bit-time system call failed and its 32-bit twin then worked.
static TIME64_REFUSED: AtomicBool = AtomicBool::new(false);

/// `struct old_timespec32`: what the 32-bit-time system calls write.
#[repr(C)]
struct Timespec32 {
    sec: i32,
    nsec: i32,
}

/// The 64-bit-time call `nr64`; on 32-bit architectures, when it fails for any reason but
/// EINVAL (ENOSYS before Linux 5.1, EPERM from sandboxes such as Docker's default seccomp
/// profile), the 32-bit-time call `nr32`, whose answer is refused with EOVERFLOW when its
/// seconds went negative (a time between 2038 and 2106 wrapped by the kernel's 32-bit
/// field; past 2106 the wrap turns positive again and cannot be told apart). Once the
/// 32-bit call has served where the 64-bit one failed, later calls go to it directly.
///
/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
unsafe fn time64_call(
    nr64: usize,
    nr32: Option<usize>,
    clock: i32,
    ts: *mut __kernel_timespec,
) -> i32 {
    let clk = clock as isize as usize;
    let refused = nr32.is_some() && TIME64_REFUSED.load(Ordering::Relaxed);
    if !refused {
        // SAFETY: the kernel writes one __kernel_timespec at `ts` (caller).
        let r = unsafe { arch::syscall2(nr64, clk, ts as usize) } as isize as i32;
        let einval = -(linux_raw_sys::errno::EINVAL as i32);
        if nr32.is_none() || r == 0 || r == einval {
            return r;
        }
    }
    let Some(nr32) = nr32 else {
        return -(linux_raw_sys::errno::ENOSYS as i32);
    };
    let mut t32 = Timespec32 { sec: 0, nsec: 0 };
    // SAFETY: the kernel writes one old_timespec32 into `t32`, which is ours.
    let r32 =
        unsafe { arch::syscall2(nr32, clk, &mut t32 as *mut Timespec32 as usize) } as isize as i32;
    if r32 != 0 {
        return r32;
    }
    // The 64-bit call failed where the 32-bit one works: it will keep failing (an old
    // kernel, a sandbox), so later reads skip it instead of paying two system calls.
    TIME64_REFUSED.store(true, Ordering::Relaxed);
    match widen_timespec32(t32.sec, t32.nsec) {
        Ok(t) => {
            // SAFETY: `ts` is valid (caller).
            unsafe { *ts = t };
            0
        }
        Err(e) => e,
    }
}

/// A 32-bit-time call's answer as a 64-bit `__kernel_timespec`, or -EOVERFLOW when its
/// seconds are negative: the kernel wrapped a time past 2038 into the 32-bit field.
fn widen_timespec32(sec: i32, nsec: i32) -> Result<__kernel_timespec, i32> {
    if sec < 0 {
        return Err(-(linux_raw_sys::errno::EOVERFLOW as i32));
    }
    Ok(__kernel_timespec {
        tv_sec: i64::from(sec),
        tv_nsec: i64::from(nsec),
    })
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(super) unsafe extern "C" fn sys_clock_gettime(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { time64_call(NR.clock_gettime, NR.clock_gettime32, clock, ts) }
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(super) unsafe extern "C" fn sys_clock_getres(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { time64_call(NR.clock_getres, NR.clock_getres32, clock, ts) }
}

/// The realtime clock for `time` where it has no entry of its own: `first` (a clock id)
/// through the clock_gettime slot when given, else (or when that fails) CLOCK_REALTIME by
/// system call. The raw error on failure.
fn realtime(first: Option<u32>) -> Result<__kernel_timespec, i32> {
    if let Some(clock) = first
        && let Ok(ts) = super::dispatch::clock_gettime(clock as i32)
    {
        return Ok(ts);
    }
    let mut ts = __kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match call_sys_clock_gettime(linux_raw_sys::general::CLOCK_REALTIME as i32, &mut ts) {
        0 => Ok(ts),
        r => Err(r),
    }
}

/// Stores `sec` at `t` unless it is NULL, and answers it, as `time` does.
///
/// # Safety
/// `t` is NULL or valid for writing.
unsafe fn put_time(t: *mut isize, sec: i64) -> isize {
    if !t.is_null() {
        // SAFETY: non-NULL `t` is valid (caller).
        unsafe { *t = sec as isize };
    }
    sec as isize
}

/// # Safety
/// `tv` is valid for writing a `__kernel_old_timeval`; `tz` is NULL or valid.
pub(super) unsafe extern "C" fn sys_gettimeofday(
    tv: *mut __kernel_old_timeval,
    tz: *mut c_void,
) -> i32 {
    match NR.gettimeofday {
        // SAFETY: the kernel writes one timeval at `tv` and, if non-NULL, a timezone (caller).
        Some(nr) => unsafe { arch::syscall2(nr, tv as usize, tz as usize) as isize as i32 },
        // 32-bit fields only (32-bit architectures): `time::gettimeofday` reads
        // clock_gettime there and never comes here.
        None => -(linux_raw_sys::errno::ENOSYS as i32),
    }
}

/// # Safety
/// `t` is NULL or valid for writing.
pub(super) unsafe extern "C" fn sys_time(t: *mut isize) -> isize {
    match NR.time {
        // SAFETY: the kernel writes the time at `t` unless it is NULL (caller).
        Some(nr) => unsafe { arch::syscall1(nr, t as usize) as isize },
        // The coarse clock: its seconds are what time(2) answers (the fine clock's can be a
        // second ahead of them near a boundary).
        None => {
            let mut ts = __kernel_timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let coarse = linux_raw_sys::general::CLOCK_REALTIME_COARSE as i32;
            match call_sys_clock_gettime(coarse, &mut ts) {
                // SAFETY: `t` is NULL or valid (caller).
                0 => unsafe { put_time(t, ts.tv_sec) },
                r => r as isize,
            }
        }
    }
}

/// # Safety
/// `cpu` and `node` are NULL or valid for writing.
pub(super) unsafe extern "C" fn sys_getcpu(
    cpu: *mut u32,
    node: *mut u32,
    cache: *mut c_void,
) -> i32 {
    // SAFETY: the kernel writes the cpu and node numbers where they are not NULL (caller).
    unsafe {
        arch::syscall3(NR.getcpu, cpu as usize, node as usize, cache as usize) as isize as i32
    }
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
    let nr = linux_raw_sys::general::__NR_getrandom as usize;
    // SAFETY: the kernel writes at most `len` bytes at `buf` (caller).
    unsafe { arch::syscall3(nr, buf as usize, len, flags as usize) as isize }
}

/// `time` without a vDSO `time`: CLOCK_REALTIME_COARSE through the clock_gettime slot
/// (`time` has one-tick precision anyway).
pub(super) unsafe extern "C" fn time_via_clock(t: *mut isize) -> isize {
    let clock = Some(linux_raw_sys::general::CLOCK_REALTIME_COARSE);
    // SAFETY: `t` is NULL or valid (the signature's contract, as for `time`).
    realtime(clock).map_or_else(|r| r as isize, |ts| unsafe { put_time(t, ts.tv_sec) })
}

// Safe entries to the raw system calls, for `time::syscall` and `cpu`.

pub(crate) fn call_sys_clock_gettime(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: `ts` is a valid, mutably borrowed __kernel_timespec.
    unsafe { sys_clock_gettime(clock, ts) }
}

pub(crate) fn call_sys_clock_getres(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: as above.
    unsafe { sys_clock_getres(clock, ts) }
}

pub(crate) fn call_sys_gettimeofday(tv: &mut __kernel_old_timeval) -> i32 {
    // SAFETY: `tv` is valid; the time zone is NULL.
    unsafe { sys_gettimeofday(tv, core::ptr::null_mut()) }
}

pub(crate) fn call_sys_time() -> isize {
    // SAFETY: NULL is accepted.
    unsafe { sys_time(core::ptr::null_mut()) }
}

pub(crate) fn call_sys_getrandom(buf: &mut [u8], flags: u32) -> isize {
    // SAFETY: `buf` is valid for its length, borrowed mutably.
    unsafe {
        sys_getrandom(
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            core::ptr::null_mut(),
            0,
        )
    }
}

pub(crate) fn call_sys_getcpu(cpu: &mut u32, node: &mut u32) -> i32 {
    // SAFETY: both are valid, mutably borrowed; the cache argument may be NULL.
    unsafe { sys_getcpu(cpu, node, core::ptr::null_mut()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_bit_answers_widen_or_overflow() {
        let t = widen_timespec32(i32::MAX, 999_999_999).unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (2_147_483_647, 999_999_999)); // 2038-01-19 03:14:07
        // One second later the kernel's 32-bit field wraps negative: refused, not wrong.
        let wrapped = (2_147_483_648i64 as u32) as i32;
        assert_eq!(
            widen_timespec32(wrapped, 0).unwrap_err(),
            -(linux_raw_sys::errno::EOVERFLOW as i32)
        );
    }

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
