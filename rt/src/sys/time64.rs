//! The time system calls, and the one rule for their 32-bit-time twins.
//!
//! On 32-bit architectures every call that carries a time has two forms: the 64-bit-time
//! one (`clock_gettime64`, `clock_nanosleep_time64`, `timerfd_settime64`, ...; Linux 5.1+)
//! and the 32-bit-time twin, which wraps in 2038. [`time64_or_32`] is the one policy every
//! caller follows (the clock reads here, `time`'s sleeps and timers, `signal`'s
//! `sigtimedwait`): the 64-bit call first; its twin only after ENOSYS (kernels before 5.1)
//! or EPERM (sandboxes such as Docker's default seccomp profile); and one process-wide flag,
//! set only when the twin then served (any answer but ENOSYS, EPERM or EOVERFLOW: a
//! timeout or an interruption is served), that sends later calls to the twins directly. A
//! refusal the twin shares (EPERM for `clock_nanosleep(CLOCK_BOOTTIME_ALARM)` without
//! CAP_WAKE_ALARM, say) proves nothing about 64-bit time and is not remembered. 64-bit
//! architectures have no twins: there the first answer stands.
//!
//! The clock reads are also the raw system calls the vDSO dispatch falls back to: the
//! `*_raw` forms take the pointers the vDSO functions' C signatures take, and answer 0 or a
//! negated errno as those do.
//!
//! # Safety
//!
//! The safe wrappers take only Rust references (or plain integers) and pass the kernel
//! nothing it could use to change other memory. The `*_raw` functions are `unsafe`: their
//! caller guarantees that the pointers are valid for what the kernel writes.
#![allow(unsafe_code)]

use crate::arch::{self, NR, syscall2, syscall4};
use crate::errno::Errno;
use crate::fd::OwnedFd;
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, Ordering};
use linux_raw_sys::general as nr;
use linux_raw_sys::general::{__kernel_itimerspec, __kernel_old_timeval, __kernel_timespec};

/// `struct old_timespec32`: the time of the 32-bit-time system calls.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Timespec32 {
    pub sec: i32,
    pub nsec: i32,
}

/// `struct old_itimerspec32`: a timer setting of the 32-bit-time system calls.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Itimerspec32 {
    pub interval: Timespec32,
    pub value: Timespec32,
}

/// Set once a 64-bit-time call was refused and its 32-bit-time twin then served: from then
/// on the twins serve directly. The process's one such flag.
static TIME64_REFUSED: AtomicBool = AtomicBool::new(false);

/// Calls `call(false)`, the 64-bit-time system call; on a 32-bit architecture (`has32`: the
/// call has a 32-bit-time twin) where that is refused with ENOSYS or EPERM, `call(true)`,
/// the twin. Only a twin that the kernel then served is remembered (its answer is not
/// ENOSYS, EPERM or EOVERFLOW: see the module's text); any other error of the 64-bit call
/// stands, and without a twin the first answer stands.
#[inline]
pub fn time64_or_32<T>(
    has32: bool,
    call: impl FnMut(bool) -> Result<T, Errno>,
) -> Result<T, Errno> {
    policy(&TIME64_REFUSED, has32, call)
}

/// [`time64_or_32`] with the flag passed in (the unit tests pass their own).
#[inline(always)]
fn policy<T>(
    refused: &AtomicBool,
    has32: bool,
    mut call: impl FnMut(bool) -> Result<T, Errno>,
) -> Result<T, Errno> {
    if !(has32 && refused.load(Ordering::Relaxed)) {
        match call(false) {
            Err(Errno::ENOSYS | Errno::EPERM) if has32 => {}
            r => return r,
        }
    }
    let r = call(true);
    // Served: any answer but a refusal the twin shares (ENOSYS, EPERM) or an EOVERFLOW
    // (a time the twin cannot carry, which says nothing of the 64-bit call). A timeout
    // (EAGAIN), an interruption (EINTR) or EINVAL came from a twin the kernel ran.
    if !matches!(r, Err(Errno::ENOSYS | Errno::EPERM | Errno::EOVERFLOW)) {
        refused.store(true, Ordering::Relaxed);
    }
    r
}

/// A raw result: 0, or the negated errno.
fn raw(r: Result<(), Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => -e.raw(),
    }
}

/// A 32-bit-time answer as a 64-bit `__kernel_timespec`; EOVERFLOW when its seconds are
/// negative: the kernel wrapped a time past 2038 into the 32-bit field (past 2106 the wrap
/// turns positive again and cannot be told apart).
fn widen(t: Timespec32) -> Result<__kernel_timespec, Errno> {
    if t.sec < 0 {
        return Err(Errno::EOVERFLOW);
    }
    Ok(__kernel_timespec {
        tv_sec: i64::from(t.sec),
        tv_nsec: i64::from(t.nsec),
    })
}

/// The clock call `nr64` (`clock_gettime` or `clock_getres` with 64-bit time), or its twin
/// `nr32` under [`time64_or_32`].
///
/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
unsafe fn clock_call(
    nr64: usize,
    nr32: Option<usize>,
    clock: i32,
    ts: *mut __kernel_timespec,
) -> i32 {
    let clk = clock as isize as usize;
    let Some(n32) = nr32 else {
        // No twin (64-bit architectures): the kernel's answer as it is.
        // SAFETY: the kernel writes one __kernel_timespec at `ts` (caller).
        return unsafe { syscall2(nr64, clk, ts as usize) } as isize as i32;
    };
    raw(time64_or_32(true, |old| {
        if !old {
            // SAFETY: as above.
            return Errno::from_ret(unsafe { syscall2(nr64, clk, ts as usize) }).map(|_| ());
        }
        let mut t32 = Timespec32::default();
        // SAFETY: the kernel writes one old_timespec32 into `t32`, which is ours.
        Errno::from_ret(unsafe { syscall2(n32, clk, &raw mut t32 as usize) })?;
        let t = widen(t32)?;
        // SAFETY: `ts` is valid for the write (caller).
        unsafe { ts.write(t) };
        Ok(())
    }))
}

/// `clock_gettime(clock, ts)` by system call: 0 or a negated errno, as the vDSO's.
///
/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
#[inline]
pub unsafe fn clock_gettime_raw(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { clock_call(NR.clock_gettime, NR.clock_gettime32, clock, ts) }
}

/// `clock_getres(clock, ts)` by system call: 0 or a negated errno.
///
/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
#[inline]
pub unsafe fn clock_getres_raw(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { clock_call(NR.clock_getres, NR.clock_getres32, clock, ts) }
}

/// `clock_gettime` by system call into a timespec we borrow.
pub fn clock_gettime(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: `ts` is a valid, mutably borrowed __kernel_timespec.
    unsafe { clock_gettime_raw(clock, ts) }
}

/// `clock_getres` by system call into a timespec we borrow.
pub fn clock_getres(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: as above.
    unsafe { clock_getres_raw(clock, ts) }
}

/// `gettimeofday(tv, tz)` by system call: 0 or a negated errno; ENOSYS on 32-bit
/// architectures, whose call has 32-bit fields only (`time::gettimeofday` reads
/// clock_gettime there and never comes here).
///
/// # Safety
/// `tv` is valid for writing a `__kernel_old_timeval`; `tz` is NULL or valid.
pub unsafe fn gettimeofday_raw(tv: *mut __kernel_old_timeval, tz: *mut c_void) -> i32 {
    match NR.gettimeofday {
        // SAFETY: the kernel writes one timeval at `tv` and, if non-NULL, a timezone (caller).
        Some(n) => unsafe { syscall2(n, tv as usize, tz as usize) as isize as i32 },
        None => -(Errno::ENOSYS.raw()),
    }
}

/// `gettimeofday` by system call into a timeval we borrow (no time zone).
pub fn gettimeofday(tv: &mut __kernel_old_timeval) -> i32 {
    // SAFETY: `tv` is valid; the time zone is NULL.
    unsafe { gettimeofday_raw(tv, core::ptr::null_mut()) }
}

/// Stores `sec` at `t` unless it is NULL, and answers it, as `time` does.
///
/// # Safety
/// `t` is NULL or valid for writing.
pub unsafe fn put_time(t: *mut isize, sec: i64) -> isize {
    if !t.is_null() {
        // SAFETY: non-NULL `t` is valid (caller).
        unsafe { *t = sec as isize };
    }
    sec as isize
}

/// `time(t)` by system call: the seconds, or a negated errno. Where the architecture has no
/// `time` call, the seconds of CLOCK_REALTIME_COARSE by system call: they are what time(2)
/// answers (the fine clock's can be a second ahead of them near a boundary).
///
/// # Safety
/// `t` is NULL or valid for writing.
pub unsafe fn time_raw(t: *mut isize) -> isize {
    match NR.time {
        // SAFETY: the kernel writes the time at `t` unless it is NULL (caller).
        Some(n) => unsafe { arch::syscall1(n, t as usize) as isize },
        None => {
            let mut ts = __kernel_timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            match clock_gettime(nr::CLOCK_REALTIME_COARSE as i32, &mut ts) {
                // SAFETY: `t` is NULL or valid (caller).
                0 => unsafe { put_time(t, ts.tv_sec) },
                r => r as isize,
            }
        }
    }
}

/// `time(NULL)` by system call.
pub fn time() -> isize {
    // SAFETY: NULL is accepted.
    unsafe { time_raw(core::ptr::null_mut()) }
}

/// `clock_nanosleep(clock, flags, req, rem)` with 64-bit time (`clock_nanosleep_time64` on
/// 32-bit architectures). The kernel writes `rem` only when a relative sleep is interrupted.
pub fn clock_nanosleep(
    clock: i32,
    flags: u32,
    req: &__kernel_timespec,
    rem: &mut __kernel_timespec,
) -> Result<(), Errno> {
    // SAFETY: the kernel reads one __kernel_timespec from `req` and writes at most one into
    // `rem`, both borrowed for the call.
    Errno::from_ret(unsafe {
        syscall4(
            NR.clock_nanosleep,
            clock as isize as usize,
            flags as usize,
            req as *const __kernel_timespec as usize,
            rem as *mut __kernel_timespec as usize,
        )
    })
    .map(|_| ())
}

/// The 32-bit-time `clock_nanosleep`; ENOSYS without a system call where the architecture
/// has only the 64-bit-time one.
pub fn clock_nanosleep32(
    clock: i32,
    flags: u32,
    req: &Timespec32,
    rem: &mut Timespec32,
) -> Result<(), Errno> {
    let Some(n) = NR.clock_nanosleep32 else {
        return Err(Errno::ENOSYS);
    };
    // SAFETY: as above, with the 32-bit-time struct this call takes.
    Errno::from_ret(unsafe {
        syscall4(
            n,
            clock as isize as usize,
            flags as usize,
            req as *const Timespec32 as usize,
            rem as *mut Timespec32 as usize,
        )
    })
    .map(|_| ())
}

/// `timerfd_create(clock, flags)`: a new file descriptor.
pub fn timerfd_create(clock: i32, flags: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers.
    Errno::from_ret(unsafe {
        syscall2(
            nr::__NR_timerfd_create as usize,
            clock as isize as usize,
            flags as usize,
        )
    })
    .map(super::owned)
}

/// `timerfd_settime(fd, flags, new, old)` with 64-bit time (`timerfd_settime64` on 32-bit
/// architectures).
pub fn timerfd_settime(
    fd: i32,
    flags: u32,
    new: &__kernel_itimerspec,
    old: &mut __kernel_itimerspec,
) -> Result<(), Errno> {
    // SAFETY: the kernel reads one __kernel_itimerspec from `new` and writes one into `old`,
    // both borrowed for the call.
    Errno::from_ret(unsafe {
        syscall4(
            NR.timerfd_settime,
            fd as usize,
            flags as usize,
            new as *const __kernel_itimerspec as usize,
            old as *mut __kernel_itimerspec as usize,
        )
    })
    .map(|_| ())
}

/// The 32-bit-time `timerfd_settime`; ENOSYS where there is none.
pub fn timerfd_settime32(
    fd: i32,
    flags: u32,
    new: &Itimerspec32,
    old: &mut Itimerspec32,
) -> Result<(), Errno> {
    let Some(n) = NR.timerfd_settime32 else {
        return Err(Errno::ENOSYS);
    };
    // SAFETY: as above, with the 32-bit-time struct this call takes.
    Errno::from_ret(unsafe {
        syscall4(
            n,
            fd as usize,
            flags as usize,
            new as *const Itimerspec32 as usize,
            old as *mut Itimerspec32 as usize,
        )
    })
    .map(|_| ())
}

/// `timerfd_gettime(fd, cur)` with 64-bit time.
pub fn timerfd_gettime(fd: i32, cur: &mut __kernel_itimerspec) -> Result<(), Errno> {
    // SAFETY: the kernel writes one __kernel_itimerspec into `cur`, borrowed for the call.
    Errno::from_ret(unsafe {
        syscall2(
            NR.timerfd_gettime,
            fd as usize,
            cur as *mut __kernel_itimerspec as usize,
        )
    })
    .map(|_| ())
}

/// The 32-bit-time `timerfd_gettime`; ENOSYS where there is none.
pub fn timerfd_gettime32(fd: i32, cur: &mut Itimerspec32) -> Result<(), Errno> {
    let Some(n) = NR.timerfd_gettime32 else {
        return Err(Errno::ENOSYS);
    };
    // SAFETY: as above, with the 32-bit-time struct this call takes.
    Errno::from_ret(unsafe { syscall2(n, fd as usize, cur as *mut Itimerspec32 as usize) })
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::vec::Vec;

    /// Runs the policy on a fresh flag whose state is `refused`, with the 64-bit call
    /// answering `r64` and the twin `r32`: (the answer, the calls made, the flag after).
    fn run(
        refused: bool,
        has32: bool,
        r64: Result<(), Errno>,
        r32: Result<(), Errno>,
    ) -> (Result<(), Errno>, Vec<bool>, bool) {
        let flag = AtomicBool::new(refused);
        let mut calls = Vec::new();
        let r = policy(&flag, has32, |old| {
            calls.push(old);
            if old { r32 } else { r64 }
        });
        (r, calls, flag.load(Ordering::Relaxed))
    }

    #[test]
    fn a_twin_that_fails_too_is_not_remembered() {
        // clock_nanosleep(BOOTTIME_ALARM) without CAP_WAKE_ALARM: both forms answer EPERM.
        for e in [Errno::EPERM, Errno::ENOSYS] {
            for e32 in [Errno::EPERM, Errno::ENOSYS, Errno::EOVERFLOW] {
                let (r, calls, flag) = run(false, true, Err(e), Err(e32));
                assert_eq!((r, &calls[..], flag), (Err(e32), &[false, true][..], false));
            }
        }
        // ... so the next call asks the 64-bit call first again.
        let (r, calls, flag) = run(false, true, Ok(()), Err(Errno::EPERM));
        assert_eq!((r, &calls[..], flag), (Ok(()), &[false][..], false));
    }

    #[test]
    fn a_twin_that_serves_is_remembered_and_then_serves_directly() {
        for e in [Errno::EPERM, Errno::ENOSYS] {
            let (r, calls, flag) = run(false, true, Err(e), Ok(()));
            assert_eq!((r, &calls[..], flag), (Ok(()), &[false, true][..], true));
        }
        // A twin that answered with an error of its own was served too: a timeout
        // (sigtimedwait's EAGAIN), an interruption, a bad argument.
        for e32 in [Errno::EAGAIN, Errno::EINTR, Errno::EINVAL] {
            let (r, calls, flag) = run(false, true, Err(Errno::EPERM), Err(e32));
            assert_eq!((r, &calls[..], flag), (Err(e32), &[false, true][..], true));
        }
        let (r, calls, flag) = run(true, true, Ok(()), Ok(()));
        assert_eq!((r, &calls[..], flag), (Ok(()), &[true][..], true));
        // Once remembered, the twin's answer is the answer, an error included.
        let (r, calls, flag) = run(true, true, Ok(()), Err(Errno::EINTR));
        assert_eq!(
            (r, &calls[..], flag),
            (Err(Errno::EINTR), &[true][..], true)
        );
    }

    #[test]
    fn other_errors_and_no_twin_mean_no_fallback() {
        for e in [
            Errno::EINVAL,
            Errno::EINTR,
            Errno::EFAULT,
            Errno::EOVERFLOW,
            Errno::EACCES,
        ] {
            let (r, calls, flag) = run(false, true, Err(e), Ok(()));
            assert_eq!((r, &calls[..], flag), (Err(e), &[false][..], false));
        }
        // No twin (64-bit architectures): the first answer stands, whatever it is, even
        // with the flag set.
        for refused in [false, true] {
            for e in [Errno::EPERM, Errno::ENOSYS, Errno::EOVERFLOW] {
                let (r, calls, flag) = run(refused, false, Err(e), Ok(()));
                assert_eq!((r, &calls[..], flag), (Err(e), &[false][..], refused));
            }
        }
    }

    #[test]
    fn thirty_two_bit_answers_widen_or_overflow() {
        let t = widen(Timespec32 {
            sec: i32::MAX,
            nsec: 999_999_999,
        })
        .unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (2_147_483_647, 999_999_999)); // 2038-01-19 03:14:07
        // One second later the kernel's 32-bit field wraps negative: refused, not wrong.
        let wrapped = (2_147_483_648i64 as u32) as i32;
        let r = widen(Timespec32 {
            sec: wrapped,
            nsec: 0,
        });
        assert_eq!(r.unwrap_err(), Errno::EOVERFLOW);
    }
}
