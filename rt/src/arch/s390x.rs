//! s390x (s390x-unknown-linux-gnu), big-endian.
//!
//! - Enter the kernel with `svc 0`: number in `r1`, arguments in `r2` ..= `r7`.
//! - The result comes back in `r2` (-4095..=-1 is a negated errno); the kernel keeps every
//!   other register and the condition code is not part of the result.
//! - `clone` takes the new stack first and the flags second (CLONE_BACKWARDS2), and a
//!   callee may store into the 160 bytes above the stack pointer it is given (the register
//!   save area of its caller): a new stack starts 160 bytes below its top.
//! - `mmap` (the old one, number 90) takes a pointer to its six arguments: see
//!   `SyscallNumbers::mmap_args_in_memory`.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use linux_raw_sys::general as nr;

register_syscalls! {
    insn: "svc 0",
    number: "r1",
    result: "r2",
    args: ["r2", "r3", "r4", "r5", "r6", "r7"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// Kernel `arch/s390/kernel/vdso64/vdso64.lds.S` (qemu-user's guest vDSO has the same
/// names): no `time`; `getrandom` on Linux 6.12+.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6.29",
    clock_gettime: "__kernel_clock_gettime", clock_getres: "__kernel_clock_getres",
    gettimeofday: "__kernel_gettimeofday", getcpu: "__kernel_getcpu",
    getrandom: "__kernel_getrandom");

/// 64-bit time throughout; no `time` system call on 64-bit s390; the old `mmap` with its
/// arguments in memory.
pub const NR: SyscallNumbers = SyscallNumbers::time64(None).with_mmap_args_in_memory();

/// The rseq signature, the word the kernel expects before an abort handler: an invalid
/// instruction (the value of the kernel's rseq selftests and of glibc, which must agree on
/// it).
pub const RSEQ_SIG: u32 = 0xb2ff_0fff;

// The kernel returns from a handler through SA_RESTORER's address when it is set (else the
// vDSO's), with `sigreturn` for a plain handler and `rt_sigreturn` for a siginfo one
// (`arch/s390/kernel/signal.c`, setup_frame and setup_rt_frame).
kernel_action!(restorer: |flags| if flags & nr::SA_SIGINFO as usize != 0 {
    restore_rt
} else {
    restore
});

/// A plain handler's return: `sigreturn` (naked: the frame must be untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore() {
    core::arch::naked_asm!("svc {nr}", ".word 0", nr = const nr::__NR_sigreturn)
}

/// A siginfo handler's return: `rt_sigreturn`.
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("svc {nr}", ".word 0", nr = const nr::__NR_rt_sigreturn)
}

// r2 = stack_top, r3 = child, r4 = arg; `svc` keeps every register but r2, so the child
// finds the function in r5 and its argument in r4 (clone's third argument, the parent-tid
// pointer, unused without CLONE_PARENT_SETTID). The child's stack starts 160 bytes below
// the top, with a zero back chain.
clone_vfork!(
    "lgr %r5, %r3",
    "aghi %r2, -160",
    "lgfi %r3, {flags}",
    "lghi %r1, {nr}",
    "svc 0",
    "ltgr %r2, %r2",
    "jnz 2f",
    "lghi %r0, 0",
    "stg %r0, 0(%r15)",
    "lgr %r2, %r4",
    "basr %r14, %r5",
    ".word 0",
    "2:",
    "br %r14",
);

// r2 flags, r3 stack_top, r4 ptid, r5 tls, r6 ctid, entry at 160(%r15), arg at 168(%r15);
// the kernel takes (stack, flags, ptid, ctid, tls): r6 is callee-saved, kept in our
// caller's save area (its slot at 48) across the call. `entry` and `arg` wait at the top of
// the child's stack (8-byte aligned, rounded to 16), above the 160-byte save area its
// callee may use, below which the child starts with a zero back chain; r11, the frame
// pointer, is cleared.
clone_thread!(
    "stg %r6, 48(%r15)",
    "lg %r0, 160(%r15)",
    "lg %r1, 168(%r15)",
    "nill %r3, 65520",
    "aghi %r3, -16",
    "stg %r0, 0(%r3)",
    "stg %r1, 8(%r3)",
    "aghi %r3, -160",
    "lgr %r0, %r2",
    "lgr %r2, %r3",
    "lgr %r3, %r0",
    "lgr %r0, %r5",
    "lgr %r5, %r6",
    "lgr %r6, %r0",
    "lghi %r1, {nr}",
    "svc 0",
    "ltgr %r2, %r2",
    "jnz 2f",
    "lghi %r0, 0",
    "stg %r0, 0(%r15)",
    "lghi %r11, 0",
    "lg %r1, 160(%r15)",
    "lg %r2, 168(%r15)",
    "basr %r14, %r1",
    ".word 0",
    "2:",
    "lg %r6, 48(%r15)",
    "br %r14",
);

unmap_and_exit!(nr: "r1", a1: "r2", a2: "r3",
    "svc 0",
    "lghi %r1, {exit}",
    "lghi %r2, 0",
    "svc 0",
    ".word 0",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant II: the block ends at the thread pointer (access registers a0, high half, and
/// a1, low half).
pub const TLS: TlsVariant = TlsVariant::II;

/// Reads a0:a1 (naked: Rust cannot name access registers).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[unsafe(naked)]
extern "C" fn read_tp() -> usize {
    core::arch::naked_asm!(
        "ear %r2, %a0",
        "sllg %r2, %r2, 32",
        "ear %r2, %a1",
        "br %r14"
    )
}

/// The calling thread's thread pointer (a0:a1).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    read_tp()
}

/// Sets the calling thread's thread pointer to `tp`: the kernel's raw result (0, or a negated
/// errno in -4095..=-1).
///
/// # Safety
/// Code compiled with thread-local variables reaches them through the thread pointer: `tp`
/// must be laid out for it as `TLS` says, and live as long as the thread uses it.
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
pub unsafe fn set_thread_pointer(tp: usize) -> usize {
    /// Writes a0:a1 from r2.
    #[unsafe(naked)]
    unsafe extern "C" fn write(tp: usize) {
        core::arch::naked_asm!(
            "sar %a1, %r2",
            "srlg %r2, %r2, 32",
            "sar %a0, %r2",
            "br %r14"
        )
    }
    // SAFETY: the caller's contract; the compiler never uses the access registers.
    unsafe { write(tp) };
    0
}
