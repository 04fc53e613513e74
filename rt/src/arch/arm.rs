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

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use linux_raw_sys::general as nr;

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

/// Kernel `arch/arm/vdso/vdso.lds.S` (and the compat vDSO of arm64, `vdso32/vdso.lds.S`).
/// The 64-bit `__vdso_clock_gettime64` is trusted only when the 32-bit `__vdso_clock_gettime`
/// is exported too: kernels 5.5 to 5.7 exported a broken one alone. The same rule holds for
/// `__vdso_clock_getres_time64` (Linux 7.2+; before it, `clock_getres` is the system call).
/// The 32-bit-time `__vdso_clock_getres` and `__vdso_gettimeofday` would overflow in 2038
/// and are not used. No `time`, `getcpu` or `getrandom`.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6", clock_gettime: "__vdso_clock_gettime64",
    clock_getres: "__vdso_clock_getres_time64", time64_requires: "__vdso_clock_gettime");

/// The 64-bit-time calls (Linux 5.1+), with the 32-bit ones as fallbacks; gettimeofday has
/// 32-bit fields and the EABI has no `time`.
pub const NR: SyscallNumbers = SyscallNumbers::time32(
    nr::__NR_clock_gettime64 as usize,
    nr::__NR_clock_getres_time64 as usize,
);

/// The rseq signature, the word the kernel expects before an abort handler: a permanently
/// undefined instruction (`udf #24035`) (the value of the kernel's rseq selftests and of
/// glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0xe7f5_def3;

// arm picks by the frame the kernel built: `rt_sigreturn` for a handler with SA_SIGINFO,
// `sigreturn` without.
kernel_action!(restorer: |flags| match flags & nr::SA_SIGINFO as usize {
    0 => restore,
    _ => restore_rt,
});

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

// r0 = stack_top, r1 = child, r2 = arg; r7 (the number) is callee-saved, `svc` keeps
// r3 and r12 in both processes. The parent-tid, tls and child-tid arguments are unused
// without their CLONE_ flags.
clone_vfork!(
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
);

// r0 flags, r1 stack_top, r2 ptid, r3 tls, then on the stack ctid, entry, arg; the kernel
// takes (flags, stack, ptid, tls, ctid in r4), the number in r7: r4 and r7 are
// callee-saved, pushed first (the stack arguments are then 8 bytes further). `entry` and
// `arg` wait on the child's stack (16-byte aligned, more than the 8 the ABI asks).
clone_thread!(
    "push {{r4, r7}}",
    "ldr r4, [sp, #12]",
    "ldr r7, [sp, #16]",
    "bic r1, r1, #15",
    "sub r1, r1, #16",
    "str r4, [r1]",
    "str r7, [r1, #4]",
    "ldr r4, [sp, #8]",
    "mov r7, #{nr}",
    "svc 0",
    "cmp r0, #0",
    "bne 2f",
    "ldr r1, [sp]",
    "ldr r0, [sp, #4]",
    "mov r11, #0",
    "mov lr, #0",
    "blx r1",
    "udf #0",
    "2:",
    "pop {{r4, r7}}",
    "bx lr",
);

unmap_and_exit!(nr: "r7", a1: "r0", a2: "r1",
    "svc 0",
    "mov r7, #{exit}",
    "mov r0, #0",
    "svc 0",
    "udf #0",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant I with the ABI's 8-byte TCB at the thread pointer (TPIDRURO, which only the
/// kernel writes: the ARM-private `set_tls` call).
pub const TLS: TlsVariant = TlsVariant::I { gap: 8, bias: 0 };

/// The calling thread's thread pointer (TPIDRURO, CP15 c13; tinyrt-start's
/// `__aeabi_read_tp` reads the same register for C code).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp;
    // SAFETY: reads a register user space may read.
    unsafe {
        core::arch::asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) tp,
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
    /// `__ARM_NR_set_tls` (asm/unistd.h: the ARM-private calls start at 0x0f0000).
    const SET_TLS: usize = 0x0f_0005;
    // SAFETY: the caller's contract; the call changes only TPIDRURO.
    unsafe { syscall1(SET_TLS, tp) }
}
