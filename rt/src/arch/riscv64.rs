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

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
