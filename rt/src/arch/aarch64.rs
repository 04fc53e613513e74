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

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
