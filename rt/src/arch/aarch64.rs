//! aarch64 (aarch64-unknown-linux-gnu).
//!
//! - Enter the kernel with `svc #0`: number in `x8`, arguments in `x0` ..= `x5`.
//! - The result comes back in `x0` (-4095..=-1 is a negated errno); nothing else changes.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use linux_raw_sys::general as nr;

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

/// The rseq signature, the word the kernel expects before an abort handler: `brk #0x45e0`
/// (the value of the kernel's rseq selftests and of glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0xd428_bc00;

// Our own signal return: without one the kernel returns through the vDSO's
// `__kernel_rt_sigreturn`, and a process may have no vDSO.
kernel_action!(restorer: |_| restore_rt);

/// Where a handler returns to: `rt_sigreturn` (naked: the frame must be untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("mov x8, #{nr}", "svc 0", "udf #0", nr = const nr::__NR_rt_sigreturn)
}

// x0 = stack_top, x1 = child, x2 = arg; `svc` keeps x9 and x10 in both processes. The
// parent-tid, tls and child-tid arguments are unused without their CLONE_ flags.
clone_vfork!(
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
);

// x0 flags, x1 stack_top, x2 ptid, x3 tls, x4 ctid, x5 entry, x6 arg: the kernel's order
// already (flags, stack, ptid, tls, ctid). `entry` and `arg` wait on the child's stack
// (16-byte aligned, as sp must be); the child loads them and pops the 16 bytes.
clone_thread!(
    "and x1, x1, #0xfffffffffffffff0",
    "stp x5, x6, [x1, #-16]!",
    "mov x8, #{nr}",
    "svc 0",
    "cbnz x0, 2f",
    "ldp x1, x0, [sp], #16",
    "mov x29, xzr",
    "mov x30, xzr",
    "blr x1",
    "udf #0",
    "2:",
    "ret",
);

unmap_and_exit!(nr: "x8", a1: "x0", a2: "x1",
    "svc 0",
    "mov x8, #{exit}",
    "mov x0, #0",
    "svc 0",
    "udf #0",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant I with the ABI's 16-byte TCB at the thread pointer (`tpidr_el0`).
pub const TLS: TlsVariant = TlsVariant::I { gap: 16, bias: 0 };

/// The calling thread's thread pointer (`tpidr_el0`).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp;
    // SAFETY: reads a register.
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp,
                         options(nomem, nostack, preserves_flags));
    }
    tp
}

/// Sets the calling thread's thread pointer to `tp`: the kernel's raw result (0, or a negated
/// errno in -4095..=-1).
///
/// # Safety
/// Code compiled with thread-local variables reaches them through the thread pointer: `tp`
/// must be laid out for it as `TLS` says, and live as long as the thread uses it.
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
pub unsafe fn set_thread_pointer(tp: usize) -> usize {
    // SAFETY: the caller's contract; writes one register the compiler never uses.
    unsafe {
        core::arch::asm!("msr tpidr_el0, {}", in(reg) tp, options(nomem, nostack, preserves_flags));
    }
    0
}
