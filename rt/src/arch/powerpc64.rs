//! powerpc64 (powerpc64le-unknown-linux-gnu: little-endian, ELFv2).
//!
//! - Enter the kernel with `sc`: number in `r0`, arguments in `r3` ..= `r8`.
//! - Errors come back as on no other architecture here: CR0's summary-overflow bit set and
//!   a *positive* errno in `r3`. The functions below negate it, so that they answer like
//!   every other architecture's (-4095..=-1 is a negated errno). The vDSO's functions report
//!   errors the same way, which a Rust `extern "C"` call cannot see (`VDSO`).
//! - The kernel may change `r0`, `r4` ..= `r12`, `cr0`, `ctr` and `xer` (the C ABI's
//!   volatile registers, less the link register): the system call functions declare the
//!   C ABI's clobbers.
//! - `clone` takes the flags first and the new stack second; a callee may store into the
//!   32 bytes above its stack pointer (back chain, CR, LR and TOC save words) and needs a
//!   zero back chain to end a stack walk.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use linux_raw_sys::general as nr;

/// `syscallN`: `sc`, then the negation of `r3` when CR0.SO says it is an errno.
macro_rules! sc {
    ($name:ident) => {
        /// A system call without arguments; see the module documentation.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn $name(n: usize) -> usize {
            let ret;
            // SAFETY: the caller upholds the system call's contract; every register the
            // kernel may change is declared (the C ABI's volatile ones).
            unsafe {
                core::arch::asm!("sc", "bns+ 1f", "neg 3, 3", "1:",
                    inlateout("r0") n => _, lateout("r3") ret,
                    clobber_abi("C"), options(nostack));
            }
            ret
        }
    };
    ($name:ident, $a1:ident $(, $a:ident: $r:tt)*) => {
        /// A system call; see the module documentation.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn $name(n: usize, $a1: usize $(, $a: usize)*) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!("sc", "bns+ 1f", "neg 3, 3", "1:",
                    inlateout("r0") n => _, inlateout("r3") $a1 => ret,
                    $(inlateout($r) $a => _,)* clobber_abi("C"), options(nostack));
            }
            ret
        }
    };
}

sc!(syscall0);
sc!(syscall1, a1);
sc!(syscall2, a1, a2: "r4");
sc!(syscall3, a1, a2: "r4", a3: "r5");
sc!(syscall4, a1, a2: "r4", a3: "r5", a4: "r6");
sc!(syscall5, a1, a2: "r4", a3: "r5", a4: "r6", a5: "r7");
sc!(syscall6, a1, a2: "r4", a3: "r5", a4: "r6", a5: "r7", a6: "r8");

/// `exit_group(code)`: ends every thread of the process; never returns.
#[inline(always)]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and does not return.
    unsafe {
        core::arch::asm!("sc", in("r0") nr::__NR_exit_group as usize,
            in("r3") code as isize as usize, options(noreturn, nostack));
    }
}

/// Names of the auxiliary-vector keys only this architecture defines.
pub fn auxv_name(key: usize) -> Option<&'static str> {
    Some(match key {
        19 => "AT_DCACHEBSIZE",
        20 => "AT_ICACHEBSIZE",
        21 => "AT_UCACHEBSIZE",
        22 => "AT_IGNOREPPC",
        _ => return None,
    })
}

/// Kernel `arch/powerpc/kernel/vdso/vdso64.lds.S` (qemu-user's guest vDSO has the same
/// names). Its functions answer errors as the system calls do, CR0.SO and a positive errno
/// in `r3`, of which a Rust call sees only `r3`: `positive_errors`. Its `__kernel_getrandom`
/// (6.12+) answers a byte count or, with CR0.SO, an errno, both positive and not to be
/// told apart that way, so it is not used.
pub const VDSO: VdsoNames = VdsoNames {
    positive_errors: true,
    ..vdso_names!("LINUX_2.6.15",
        clock_gettime: "__kernel_clock_gettime", clock_getres: "__kernel_clock_getres",
        gettimeofday: "__kernel_gettimeofday", time: "__kernel_time",
        getcpu: "__kernel_getcpu")
};

/// 64-bit time throughout, with a `time` system call.
pub const NR: SyscallNumbers = SyscallNumbers::time64(Some(nr::__NR_time as usize));

/// The rseq signature, the word the kernel expects before an abort handler: `twui r5, 11`
/// (the value of the kernel's rseq selftests and of glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0x0fe5_000b;

// The kernel returns from a handler through the vDSO's sigtramp, or a trampoline it writes
// into the signal frame: it never reads sa_restorer (`arch/powerpc/kernel/signal_64.c`).
kernel_action!(restorer_ignored);

// r3 = stack_top, r4 = child, r5 = arg. The kernel may change every volatile register, so
// the child's function and argument wait on its own stack: the child starts 48 bytes below
// the top, a frame with a zero back chain and, at 32 and 40, the function and its argument.
clone_vfork!(
    "std 4, -16(3)",
    "std 5, -8(3)",
    "li 0, 0",
    "std 0, -48(3)",
    "addi 4, 3, -48",
    "li 3, {flags}",
    "li 0, {nr}",
    "sc",
    "bns+ 1f",
    "neg 3, 3",
    "1:",
    "cmpdi 3, 0",
    "bnelr",
    "ld 12, 32(1)",
    "ld 3, 40(1)",
    "mtctr 12",
    "bctrl",
    "trap",
);

// r3 flags, r4 stack_top, r5 ptid, r6 tls, r7 ctid, r8 entry, r9 arg: the kernel's order
// already (flags, stack, ptid, tls, ctid). As in `clone_vfork`, `entry` and `arg` wait on
// the child's stack: it starts 48 bytes below the top (16-byte aligned), a frame with a
// zero back chain and, at 32 and 40, the function and its argument; r2 (the TOC) is the
// parent's, `entry` is called through r12 as ELFv2 asks, r31 (the frame pointer) cleared.
clone_thread!(
    "clrrdi 4, 4, 4",
    "std 8, -16(4)",
    "std 9, -8(4)",
    "li 0, 0",
    "std 0, -48(4)",
    "addi 4, 4, -48",
    "li 0, {nr}",
    "sc",
    "bns+ 1f",
    "neg 3, 3",
    "1:",
    "cmpdi 3, 0",
    "bnelr",
    "ld 12, 32(1)",
    "ld 3, 40(1)",
    "li 31, 0",
    "mtctr 12",
    "bctrl",
    "trap",
);

unmap_and_exit!(nr: "r0", a1: "r3", a2: "r4",
    "sc",
    "li 0, {exit}",
    "li 3, 0",
    "sc",
    "trap",
);

/// Architecture-specific extras: none on this architecture.
pub mod extras {}

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant I without a TCB gap, the thread pointer (`r13`) 0x7000 past the block's start so
/// that signed 16-bit offsets reach 60 KiB of it.
pub const TLS: TlsVariant = TlsVariant::I {
    gap: 0,
    bias: 0x7000,
};

/// The calling thread's thread pointer (`r13`).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let v;
    // SAFETY: reads a register (named in the template: Rust cannot name r13 as an operand).
    unsafe {
        core::arch::asm!("mr {}, 13", out(reg) v, options(nomem, nostack, preserves_flags));
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
    /// Writes r13: naked, since the register is no operand Rust lets an `asm!` change.
    #[unsafe(naked)]
    unsafe extern "C" fn write(tp: usize) {
        core::arch::naked_asm!("mr 13, 3", "blr")
    }
    // SAFETY: the caller's contract; the compiler never uses r13 (the ABI reserves it).
    unsafe { write(tp) };
    0
}
