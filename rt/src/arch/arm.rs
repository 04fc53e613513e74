//! armv7 (armv7-unknown-linux-gnueabihf), EABI.
//!
//! - Enter the kernel with `svc #0`: number in `r7`, arguments in `r0` ..= `r5`.
//! - The result comes back in `r0` (-4095..=-1 is a negated errno); nothing else changes.
//! - This target compiles to A32 (ARM) code, whose frame pointer is `r11`, so `r7` is free
//!   for inline asm.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use core::arch::asm;

/// A system call with no arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall0(n: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") 0usize => ret, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with one argument.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall1(n: usize, a1: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with two arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r1") a2, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with three arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r1") a2, in("r2") a3, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with four arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r1") a2, in("r2") a3, in("r3") a4, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with five arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall5(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r1") a2, in("r2") a3, in("r3") a4, in("r4") a5, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// A system call with six arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract.
    unsafe {
        asm!("svc 0", inlateout("r0") a1 => ret, in("r1") a2, in("r2") a3, in("r3") a4, in("r4") a5, in("r5") a6, in("r7") n, options(nostack, preserves_flags));
    }
    ret
}

/// `exit_group(code)`: ends every thread of the process; never returns.
#[inline(always)]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and does not return.
    unsafe {
        asm!("svc 0", in("r0") code as isize as usize,
             in("r7") linux_raw_sys::general::__NR_exit_group as usize,
             options(noreturn, nostack));
    }
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// What this architecture's vDSO exports (kernel `arch/arm/vdso/vdso.lds.S`). The 64-bit
/// `__vdso_clock_gettime64` is trusted only when the 32-bit `__vdso_clock_gettime` is
/// exported too: kernels 5.5 to 5.7 exported a broken one alone. No `time`, no `getcpu`.
/// The 32-bit-time entries (`__vdso_clock_getres`, `__vdso_gettimeofday`) would overflow in
/// 2038: `clock_getres` uses `clock_getres_time64`, `gettimeofday` is derived from
/// `clock_gettime`.
pub mod vdso_names {
    /// The version every symbol below carries.
    pub const VERSION: &str = "LINUX_2.6";
    /// `clock_gettime` with a `__kernel_timespec` (64-bit fields).
    pub const CLOCK_GETTIME: Option<&str> = Some("__vdso_clock_gettime64");
    /// A symbol that must be exported too before `CLOCK_GETTIME` is trusted.
    pub const CLOCK_GETTIME_REQUIRES: Option<&str> = Some("__vdso_clock_gettime");
    /// `clock_getres` with a `__kernel_timespec`: none.
    pub const CLOCK_GETRES: Option<&str> = None;
    /// `gettimeofday`: derived from `clock_gettime` (the vDSO's has 32-bit fields).
    pub const GETTIMEOFDAY: Option<&str> = None;
    /// `time`: none.
    pub const TIME: Option<&str> = None;
    /// `getcpu`: none.
    pub const GETCPU: Option<&str> = None;
}

/// System calls of the time functions: the 64-bit-time ones (Linux 5.1+).
pub mod time_nr {
    use linux_raw_sys::general as nr;
    /// `clock_gettime64`.
    pub const CLOCK_GETTIME: usize = nr::__NR_clock_gettime64 as usize;
    /// `clock_getres_time64`.
    pub const CLOCK_GETRES: usize = nr::__NR_clock_getres_time64 as usize;
    /// `gettimeofday`: not used (32-bit fields); derived from `clock_gettime`.
    pub const GETTIMEOFDAY: Option<usize> = None;
    /// The 32-bit-time `clock_gettime`, for kernels before 5.1 and sandboxes that refuse
    /// the 64-bit one (Docker's default profile answers EPERM).
    pub const CLOCK_GETTIME32: Option<usize> = Some(nr::__NR_clock_gettime as usize);
    /// The 32-bit-time `clock_getres`, likewise.
    pub const CLOCK_GETRES32: Option<usize> = Some(nr::__NR_clock_getres as usize);
    /// `time`: none in the EABI.
    pub const TIME: Option<usize> = None;
    /// `getcpu`.
    pub const GETCPU: usize = nr::__NR_getcpu as usize;
}

/// Called by crt0 after the stack is recorded: nothing to set up on this architecture.
#[inline(always)]
pub fn on_start() {}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
