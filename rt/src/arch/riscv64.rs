//! riscv64 (riscv64gc-unknown-linux-gnu).
//!
//! - Enter the kernel with `ecall`: number in `a7`, arguments in `a0` ..= `a5`.
//! - The result comes back in `a0` (-4095..=-1 is a negated errno); nothing else changes.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use super::{SyscallNumbers, VdsoNames};
use linux_raw_sys::general as nr;
use linux_raw_sys::general::{__kernel_sighandler_t, kernel_sigaction, kernel_sigset_t};

register_syscalls! {
    insn: "ecall",
    number: "a7",
    result: "a0",
    args: ["a0", "a1", "a2", "a3", "a4", "a5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// Kernel `arch/riscv/kernel/vdso/vdso.lds.S`: no `time`; `getrandom` on recent kernels
/// (qemu-user has none).
pub const VDSO: VdsoNames = vdso_names!("LINUX_4.15", clock_gettime: "__vdso_clock_gettime",
    clock_getres: "__vdso_clock_getres", gettimeofday: "__vdso_gettimeofday",
    getcpu: "__vdso_getcpu", getrandom: "__vdso_getrandom");

/// 64-bit time throughout; no `time` system call.
pub const NR: SyscallNumbers = SyscallNumbers::time64(None);

/// The kernel's `struct sigaction` for `handler` (an address, SIG_DFL or SIG_IGN), `flags`
/// and `mask`. riscv64's has no restorer field: a returning handler always goes through
/// the vDSO's `__vdso_rt_sigreturn`, which the kernel puts in `ra`.
pub fn kernel_action(handler: usize, flags: usize, mask: kernel_sigset_t) -> kernel_sigaction {
    kernel_sigaction {
        // SAFETY: a handler field is an address or SIG_DFL (0, `None`) or SIG_IGN (1); the
        // kernel never has us call it.
        sa_handler_kernel: unsafe { core::mem::transmute::<usize, __kernel_sighandler_t>(handler) },
        sa_flags: flags as _,
        sa_mask: mask,
    }
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
    // a0 = stack_top, a1 = child, a2 = arg; `ecall` keeps t0 and t1 in both processes.
    // The parent-tid, tls and child-tid arguments are unused without their CLONE_ flags.
    core::arch::naked_asm!(
        "mv t0, a1",
        "mv t1, a2",
        "mv a1, a0",
        "li a0, {flags}",
        "li a7, {nr}",
        "ecall",
        "bnez a0, 2f",
        "mv s0, zero",
        "mv ra, zero",
        "mv a0, t1",
        "jalr t0",
        "unimp",
        "2:",
        "ret",
        flags = const nr::CLONE_VM | nr::CLONE_VFORK | nr::SIGCHLD,
        nr = const nr::__NR_clone,
    )
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
