//! x86_64 (x86_64-unknown-linux-gnu).
//!
//! - Enter the kernel with `syscall`: number in `rax`, arguments in `rdi`, `rsi`, `rdx`,
//!   `r10`, `r8`, `r9` (`r10`, not `rcx`, for the fourth).
//! - The result comes back in `rax`; -4095..=-1 is a negated errno.
//! - The instruction itself overwrites `rcx` (return address) and `r11` (rflags); nothing
//!   else is clobbered, and the kernel never touches the red zone or the stack.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names: pointers valid for the lengths the
//! kernel will read or write, file descriptors it owns, and so on.

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use linux_raw_sys::general as nr;

register_syscalls! {
    insn: "syscall",
    number: "rax",
    result: "rax",
    args: ["rdi", "rsi", "rdx", "r10", "r8", "r9"],
    clobbers: ["rcx", "r11"],
}

/// Names of the auxiliary-vector keys only this architecture defines (none on x86_64).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// Kernel `arch/x86/entry/vdso/vdso.lds.S`: every function, with 64-bit fields.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6", clock_gettime: "__vdso_clock_gettime",
    clock_getres: "__vdso_clock_getres", gettimeofday: "__vdso_gettimeofday",
    time: "__vdso_time", getcpu: "__vdso_getcpu", getrandom: "__vdso_getrandom");

/// 64-bit time throughout, and a `time` system call.
pub const NR: SyscallNumbers = SyscallNumbers::time64(Some(nr::__NR_time as usize));

/// The rseq signature, the word the kernel expects before an abort handler: an `ud1`
/// operand: the same on both x86 architectures (the value of the kernel's rseq selftests
/// and of glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0x5305_3053;

// x86_64 has no default signal return: without SA_RESTORER and `restore_rt` a handler
// that returns jumps to address 0 (a SIGSEGV).
kernel_action!(restorer: |_| restore_rt);

/// Where a handler returns to: `rt_sigreturn`, which restores the interrupted context
/// from the frame the kernel left on the stack (naked: the frame must be untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    core::arch::naked_asm!("mov eax, {nr}", "syscall", "ud2", nr = const nr::__NR_rt_sigreturn)
}

// rdi = stack_top, rsi = child, rdx = arg. `syscall` keeps r8 and r9 in both
// processes; the child starts on the new stack with everything else as the parent had.
clone_vfork!(
    "mov r8, rsi",
    "mov r9, rdx",
    "mov rsi, rdi",
    "mov edi, {flags}",
    "mov eax, {nr}",
    "syscall",
    "test rax, rax",
    "jnz 2f",
    "xor ebp, ebp",
    "mov rdi, r9",
    "call r8",
    "ud2",
    "2:",
    "ret",
);

// rdi flags, rsi stack_top, rdx ptid, rcx tls, r8 ctid, r9 entry, [rsp + 8] arg; the
// kernel takes (flags, stack, ptid, ctid in r10, tls in r8). `entry` and `arg` wait on the
// child's stack (16-byte aligned below the top); the child pops them, which leaves its
// stack pointer 16-aligned before the call, as the ABI asks.
clone_thread!(
    "mov rax, [rsp + 8]",
    "and rsi, -16",
    "sub rsi, 16",
    "mov [rsi], r9",
    "mov [rsi + 8], rax",
    "mov r10, r8",
    "mov r8, rcx",
    "mov eax, {nr}",
    "syscall",
    "test rax, rax",
    "jnz 2f",
    "xor ebp, ebp",
    "pop rax",
    "pop rdi",
    "call rax",
    "ud2",
    "2:",
    "ret",
);

unmap_and_exit!(nr: "rax", a1: "rdi", a2: "rsi",
    "syscall",
    "mov eax, {exit}",
    "xor edi, edi",
    "syscall",
    "ud2",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant II: the block ends at the thread pointer, whose first word holds its own address.
pub const TLS: TlsVariant = TlsVariant::II;

/// The calling thread's thread pointer: the word at `%fs:0`, which variant II makes the
/// thread pointer itself (a crash, not a value, before one is set).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp;
    // SAFETY: reads one word through %fs, which the set-up points at its own address.
    unsafe {
        core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp,
                         options(nostack, readonly, preserves_flags));
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
    /// `arch_prctl`'s code for the %fs base (asm/prctl.h).
    const ARCH_SET_FS: usize = 0x1002;
    // SAFETY: the caller's contract; the call changes only %fs.
    unsafe { syscall2(nr::__NR_arch_prctl as usize, ARCH_SET_FS, tp) }
}
