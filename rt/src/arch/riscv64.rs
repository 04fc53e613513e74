//! riscv64 (riscv64gc-unknown-linux-gnu).
//!
//! - Enter the kernel with `ecall`: number in `a7`, arguments in `a0` ..= `a5`.
//! - The result comes back in `a0` (-4095..=-1 is a negated errno); nothing else changes.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use super::{SyscallNumbers, TlsVariant, VdsoNames};

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

/// The rseq signature, the word the kernel expects before an abort handler: `csrr mhartid,
/// x0`, an illegal instruction for user code (the value of the kernel's rseq selftests and
/// of glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0xf140_1073;

// riscv64's `struct sigaction` has no restorer field: a returning handler always goes
// through the vDSO's `__vdso_rt_sigreturn`, which the kernel puts in `ra`.
kernel_action!(no_restorer);

// a0 = stack_top, a1 = child, a2 = arg; `ecall` keeps t0 and t1 in both processes.
// The parent-tid, tls and child-tid arguments are unused without their CLONE_ flags.
clone_vfork!(
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
);

// a0 flags, a1 stack_top, a2 ptid, a3 tls, a4 ctid, a5 entry, a6 arg: the kernel's order
// already (flags, stack, ptid, tls, ctid). `entry` and `arg` wait on the child's stack
// (16-byte aligned); the child loads them and pops the 16 bytes. `gp` is the program's
// global pointer, the same in every thread: kept.
clone_thread!(
    "andi a1, a1, -16",
    "addi a1, a1, -16",
    "sd a5, 0(a1)",
    "sd a6, 8(a1)",
    "li a7, {nr}",
    "ecall",
    "bnez a0, 2f",
    "ld a1, 0(sp)",
    "ld a0, 8(sp)",
    "addi sp, sp, 16",
    "mv s0, zero",
    "mv ra, zero",
    "jalr a1",
    "unimp",
    "2:",
    "ret",
);

unmap_and_exit!(nr: "a7", a1: "a0", a2: "a1",
    "ecall",
    "li a7, {exit}",
    "li a0, 0",
    "ecall",
    "unimp",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant I without a TCB gap: the block starts at the thread pointer (`tp`), aligned.
pub const TLS: TlsVariant = TlsVariant::I { gap: 0, bias: 0 };

/// The calling thread's thread pointer (`tp`).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let v;
    // SAFETY: reads a register (named in the template: Rust cannot name `tp` as an operand).
    unsafe {
        core::arch::asm!("mv {}, tp", out(reg) v, options(nomem, nostack, preserves_flags));
    }
    v
}

/// Sets the calling thread's thread pointer to `tp`: the kernel's raw result (0, or a negated
/// errno in -4095..=-1).
///
/// # Safety
/// Code compiled with thread-local variables reaches them through the thread pointer: `tp`
/// must be laid out for it as `TLS` says, and live as long as the thread uses it.
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
pub unsafe fn set_thread_pointer(tp: usize) -> usize {
    /// Writes `tp`: naked, since the register is no operand Rust lets an `asm!` change.
    #[unsafe(naked)]
    unsafe extern "C" fn write(tp: usize) {
        core::arch::naked_asm!("mv tp, a0", "ret")
    }
    // SAFETY: the caller's contract; the compiler never uses `tp`.
    unsafe { write(tp) };
    0
}
