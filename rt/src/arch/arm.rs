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

use super::{SyscallNumbers, VdsoNames};
use linux_raw_sys::general as nr;
use linux_raw_sys::general::{__kernel_sighandler_t, kernel_sigaction, kernel_sigset_t};

register_syscalls! {
    insn: "svc 0",
    number: "r7",
    result: "r0",
    args: ["r0", "r1", "r2", "r3", "r4", "r5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// Kernel `arch/arm/vdso/vdso.lds.S`. The 64-bit `__vdso_clock_gettime64` is trusted only
/// when the 32-bit `__vdso_clock_gettime` is exported too: kernels 5.5 to 5.7 exported a
/// broken one alone. The 32-bit-time `__vdso_clock_getres` and `__vdso_gettimeofday` would
/// overflow in 2038 and are not used. No `time`, `getcpu` or `getrandom`.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6", clock_gettime: "__vdso_clock_gettime64",
    clock_gettime_requires: "__vdso_clock_gettime");

/// The 64-bit-time calls (Linux 5.1+), with the 32-bit ones as fallbacks; gettimeofday has
/// 32-bit fields and the EABI has no `time`.
pub const NR: SyscallNumbers = SyscallNumbers::time32(
    nr::__NR_clock_gettime64 as usize,
    nr::__NR_clock_getres_time64 as usize,
);

/// The kernel's `struct sigaction` for `handler` (an address, SIG_DFL or SIG_IGN), `flags`
/// and `mask`, with the signal return for it (SA_RESTORER): `rt_sigreturn` for a handler
/// with SA_SIGINFO (an `rt_sigframe`), `sigreturn` without.
pub fn kernel_action(handler: usize, flags: usize, mask: kernel_sigset_t) -> kernel_sigaction {
    let restorer: unsafe extern "C" fn() = match flags & nr::SA_SIGINFO as usize {
        0 => restore,
        _ => restore_rt,
    };
    kernel_sigaction {
        // SAFETY: a handler field is an address or SIG_DFL (0, `None`) or SIG_IGN (1); the
        // kernel never has us call it.
        sa_handler_kernel: unsafe { core::mem::transmute::<usize, __kernel_sighandler_t>(handler) },
        sa_flags: (flags | nr::SA_RESTORER as usize) as _,
        sa_restorer: Some(restorer),
        sa_mask: mask,
    }
}

/// The return from a handler without SA_SIGINFO: `sigreturn` (naked: the frame must be
/// untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore() {
    core::arch::naked_asm!("mov r7, #{nr}", "svc 0", "udf #0", nr = const nr::__NR_sigreturn)
}

/// The return from a handler with SA_SIGINFO: `rt_sigreturn`.
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("mov r7, #{nr}", "svc 0", "udf #0", nr = const nr::__NR_rt_sigreturn)
}

/// `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` with the child on `stack_top` (16-byte
/// aligned, the top of memory the caller keeps alive and untouched until the child has
/// exec'd or exited): the child calls `child(arg)`, which never returns; the parent (suspended
/// by the kernel until then) gets the child's pid or a negated errno. Naked: the child must
/// not return through frames it shares with the parent.
///
/// # Safety
/// `stack_top` is as above and `child` must end in execve or exit, touching only its own
/// stack and what `arg` grants it.
#[unsafe(naked)]
pub unsafe extern "C" fn clone_vfork(
    stack_top: *mut u8,
    child: unsafe extern "C" fn(*mut core::ffi::c_void) -> !,
    arg: *mut core::ffi::c_void,
) -> isize {
    // r0 = stack_top, r1 = child, r2 = arg; r7 (the number) is callee-saved, `svc` keeps
    // r3 and r12 in both processes. The parent-tid, tls and child-tid arguments are unused
    // without their CLONE_ flags.
    core::arch::naked_asm!(
        "push {{r7, lr}}",
        "mov r12, r1",
        "mov r3, r2",
        "mov r1, r0",
        "movw r0, #{flags}",
        "mov r7, #{nr}",
        "svc 0",
        "cmp r0, #0",
        "bne 2f",
        "mov r11, #0",
        "mov lr, #0",
        "mov r0, r3",
        "blx r12",
        "udf #0",
        "2:",
        "pop {{r7, pc}}",
        flags = const nr::CLONE_VM | nr::CLONE_VFORK | nr::SIGCHLD,
        nr = const nr::__NR_clone,
    )
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
