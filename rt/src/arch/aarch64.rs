//! aarch64 (aarch64-unknown-linux-gnu).
//!
//! - Enter the kernel with `svc #0`: number in `x8`, arguments in `x0` ..= `x5`.
//! - The result comes back in `x0` (-4095..=-1 is a negated errno); nothing else changes.
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
        asm!("svc 0", inlateout("x0") 0usize => ret, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x1") a2, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3, in("x3") a4, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3, in("x3") a4, in("x4") a5, in("x8") n, options(nostack, preserves_flags));
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
        asm!("svc 0", inlateout("x0") a1 => ret, in("x1") a2, in("x2") a3, in("x3") a4, in("x4") a5, in("x5") a6, in("x8") n, options(nostack, preserves_flags));
    }
    ret
}

/// `exit_group(code)`: ends every thread of the process; never returns.
#[inline(always)]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and does not return.
    unsafe {
        asm!("svc 0", in("x0") code as isize as usize,
             in("x8") linux_raw_sys::general::__NR_exit_group as usize,
             options(noreturn, nostack));
    }
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}
