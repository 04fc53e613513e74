//! aarch64 (aarch64-unknown-linux-gnu).
//!
//! - Enter the kernel with `svc #0`: number in `x8`, arguments in `x0` ..= `x5`.
//! - The result comes back in `x0` (-4095..=-1 is a negated errno); nothing else changes.
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
    number: "x8",
    result: "x0",
    args: ["x0", "x1", "x2", "x3", "x4", "x5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// Kernel `arch/arm64/kernel/vdso/vdso.lds.S`: no `time`, no `getcpu`; `getrandom` from
/// Linux 6.12.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6.39",
    clock_gettime: "__kernel_clock_gettime", clock_getres: "__kernel_clock_getres",
    gettimeofday: "__kernel_gettimeofday", getrandom: "__kernel_getrandom");

/// 64-bit time throughout; no `time` system call.
pub const NR: SyscallNumbers = SyscallNumbers::time64(None);

/// The kernel's `struct sigaction` for `handler` (an address, SIG_DFL or SIG_IGN), `flags`
/// and `mask`, with our own signal return (SA_RESTORER): without one the kernel returns
/// through the vDSO's `__kernel_rt_sigreturn`, and a process may have no vDSO.
pub fn kernel_action(handler: usize, flags: usize, mask: kernel_sigset_t) -> kernel_sigaction {
    kernel_sigaction {
        // SAFETY: a handler field is an address or SIG_DFL (0, `None`) or SIG_IGN (1); the
        // kernel never has us call it.
        sa_handler_kernel: unsafe { core::mem::transmute::<usize, __kernel_sighandler_t>(handler) },
        sa_flags: (flags | nr::SA_RESTORER as usize) as _,
        sa_restorer: Some(restore_rt),
        sa_mask: mask,
    }
}

/// Where a handler returns to: `rt_sigreturn` (naked: the frame must be untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("mov x8, #{nr}", "svc 0", "udf #0", nr = const nr::__NR_rt_sigreturn)
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
    // x0 = stack_top, x1 = child, x2 = arg; `svc` keeps x9 and x10 in both processes. The
    // parent-tid, tls and child-tid arguments are unused without their CLONE_ flags.
    core::arch::naked_asm!(
        "mov x9, x1",
        "mov x10, x2",
        "mov x1, x0",
        "mov x0, #{flags}",
        "mov x8, #{nr}",
        "svc 0",
        "cbnz x0, 2f",
        "mov x29, xzr",
        "mov x30, xzr",
        "mov x0, x10",
        "blr x9",
        "udf #0",
        "2:",
        "ret",
        flags = const nr::CLONE_VM | nr::CLONE_VFORK | nr::SIGCHLD,
        nr = const nr::__NR_clone,
    )
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
