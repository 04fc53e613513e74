//! i686 (i686-unknown-linux-gnu).
//!
//! - Enter the kernel through `__kernel_vsyscall`, the vDSO's entry that the kernel names in
//!   AT_SYSINFO (it uses `sysenter` or `syscall`, whichever the CPU does fastest), or with
//!   `int $0x80` when there is no AT_SYSINFO. Both take the number in `eax`, arguments in
//!   `ebx`, `ecx`, `edx`, `esi`, `edi`, `ebp`, and return the result in `eax` (-4095..=-1 is a
//!   negated errno). The entry is called through a pointer chosen on the first system
//!   call: `__kernel_vsyscall` when AT_SYSINFO names it, else an `int $0x80; ret` stub
//!   (the README compares their costs).
//! - In inline asm rustc refuses `esi` (LLVM's base pointer) and `ebp` (the frame pointer)
//!   as operands; `ebx` (the PIC register) it accepts, saving and restoring it around the
//!   asm. So one to three arguments are plain register operands; with four to six, the
//!   number, the `esi`/`ebp` arguments and the entry address are read from a small array
//!   whose address is the only input besides `ecx`, `edx` and `edi`, and `ebp`, `ebx` and
//!   `esi` are saved on the stack around the call. (Exchanging `ebx` with another register
//!   around the call instead would leave LLVM free to put the entry address in `ebx`, and
//!   the call would jump to the first argument.)
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

// The system calls are made for their effects: their results need no `#[must_use]`.
#![allow(clippy::must_use_candidate)]

use super::{SyscallNumbers, TlsVariant, VdsoNames};
use core::arch::{asm, naked_asm};
use core::sync::atomic::{AtomicUsize, Ordering};
use linux_raw_sys::general as nr;

/// `int $0x80; ret`: the entry used until (and unless) AT_SYSINFO names a better one.
#[unsafe(naked)]
unsafe extern "C" fn int80_entry() {
    naked_asm!("int 0x80", "ret")
}

/// The address the system call functions call: `int80_entry` or `__kernel_vsyscall`.
static ENTRY: AtomicUsize = AtomicUsize::new(0);

// cdecl: the arguments are on the stack. `int 0x80` (never the vDSO's entry, whose
// return goes through a stack the child does not have): ebx flags, ecx new stack, edx,
// esi, edi unused without their CLONE_ flags. The child's stack gets `arg` at its top
// (the first argument of `child`) and `child` beside it.
clone_vfork!(
    "push ebx",
    "mov ecx, [esp + 8]",
    "mov eax, [esp + 12]",
    "mov edx, [esp + 16]",
    "sub ecx, 16",
    "mov [ecx], edx",
    "mov [ecx + 4], eax",
    "mov ebx, {flags}",
    "mov eax, {nr}",
    "int 0x80",
    "test eax, eax",
    "jnz 2f",
    "xor ebp, ebp",
    "mov eax, [esp + 4]",
    "call eax",
    "ud2",
    "2:",
    "pop ebx",
    "ret",
);

// cdecl: every argument on the stack. `int 0x80` (never the vDSO's entry, whose return
// goes through a stack the child does not have): ebx flags, ecx stack, edx ptid, esi tls
// (a `struct user_desc *`), edi ctid, all but ecx and edx callee-saved and pushed first,
// with ebp (the arguments are then 16 bytes further: flags at esp + 20). The child's stack
// gets `arg` at its top (16-byte aligned, `entry`'s first argument) and `entry` beside it.
clone_thread!(
    "push ebp",
    "push ebx",
    "push esi",
    "push edi",
    "mov ecx, [esp + 24]",
    "and ecx, -16",
    "sub ecx, 16",
    "mov eax, [esp + 44]",
    "mov [ecx], eax",
    "mov eax, [esp + 40]",
    "mov [ecx + 4], eax",
    "mov ebx, [esp + 20]",
    "mov edx, [esp + 28]",
    "mov esi, [esp + 32]",
    "mov edi, [esp + 36]",
    "mov eax, {nr}",
    "int 0x80",
    "test eax, eax",
    "jnz 2f",
    "xor ebp, ebp",
    "mov eax, [esp + 4]",
    "call eax",
    "ud2",
    "2:",
    "pop edi",
    "pop esi",
    "pop ebx",
    "pop ebp",
    "ret",
);

// `int 0x80` for both calls: `__kernel_vsyscall` returns through the stack.
unmap_and_exit!(nr: "eax", a1: "ebx", a2: "ecx",
    "int 0x80",
    "mov eax, {exit}",
    "xor ebx, ebx",
    "int 0x80",
    "ud2",
);

// i386 picks by the frame the kernel built: `rt_sigreturn` for a handler with SA_SIGINFO
// (an `rt_sigframe`), `sigreturn` without.
kernel_action!(restorer: |flags| match flags & nr::SA_SIGINFO as usize {
    0 => restore,
    _ => restore_rt,
});

/// The return from a handler without SA_SIGINFO: the handler's `ret` left the signal number
/// on top of the `sigframe`; pop it, then `sigreturn` finds the frame 8 bytes below.
#[unsafe(naked)]
unsafe extern "C" fn restore() {
    naked_asm!("pop eax", "mov eax, {nr}", "int 0x80", "ud2", nr = const nr::__NR_sigreturn)
}

/// The return from a handler with SA_SIGINFO: `rt_sigreturn` (naked: the frame must be
/// untouched).
#[unsafe(naked)]
unsafe extern "C" fn restore_rt() {
    naked_asm!("mov eax, {nr}", "int 0x80", "ud2", nr = const nr::__NR_rt_sigreturn)
}

/// Architecture-specific extras: choosing the system call entry.
pub mod extras {
    pub use super::{SyscallEntry, syscall_entry, use_vsyscall};
}

/// Where system calls enter the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallEntry {
    /// `int $0x80`.
    Int80,
    /// The vDSO's `__kernel_vsyscall`, at this address.
    Vsyscall(usize),
}

/// The entry in use.
#[must_use]
pub fn syscall_entry() -> SyscallEntry {
    match entry() {
        a if a == int80_entry as *const () as usize => SyscallEntry::Int80,
        a => SyscallEntry::Vsyscall(a),
    }
}

/// Chooses the entry: `int $0x80`, or `__kernel_vsyscall` if the kernel named one
/// (AT_SYSINFO on the initial stack: library mode has only `int $0x80`); answers what is in
/// use afterwards. For benchmarks and tests.
pub fn use_vsyscall(yes: bool) -> SyscallEntry {
    if yes {
        choose_entry();
    } else {
        ENTRY.store(int80_entry as *const () as usize, Ordering::Relaxed);
    }
    syscall_entry()
}

/// The entry address: chosen on the first system call, from the stack's auxiliary vector
/// (`__kernel_vsyscall` when the kernel names it in AT_SYSINFO, else `int $0x80`; library
/// mode, which has no stack copy, keeps `int $0x80`). A program that makes no system call
/// but exit_group never pays for the choice.
#[inline(always)]
fn entry() -> usize {
    match ENTRY.load(Ordering::Relaxed) {
        0 => choose_entry(),
        a => a,
    }
}

#[cold]
#[inline(never)]
fn choose_entry() -> usize {
    let e = match stack_sysinfo() {
        Some(&[_, v]) if v != 0 => v,
        _ => int80_entry as *const () as usize,
    };
    ENTRY.store(e, Ordering::Relaxed);
    e
}

/// The AT_SYSINFO pair (`__kernel_vsyscall`'s address, or 0) of the initial stack's
/// auxiliary vector. Only the stack, never `crate::auxv`: its library-mode reader makes
/// system calls, which would come back here to choose their entry.
#[inline(always)]
fn stack_sysinfo() -> Option<&'static [usize; 2]> {
    crate::stack::auxv_entry(linux_raw_sys::auxvec::AT_SYSINFO as usize)
}

/// A system call with no arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall0(n: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract; the entry preserves every
    // register but eax (and flags, declared clobbered).
    unsafe { asm!("call {e}", e = in(reg) entry(), inlateout("eax") n => ret) };
    ret
}

/// A system call with one argument.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall1(n: usize, a1: usize) -> usize {
    let ret;
    // SAFETY: as in `syscall0` (rustc saves and restores ebx around the asm).
    unsafe { asm!("call {e}", e = in(reg) entry(), inlateout("eax") n => ret, in("ebx") a1) };
    ret
}

/// A system call with two arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
    let ret;
    // SAFETY: as in `syscall1`.
    unsafe {
        asm!("call {e}", e = in(reg) entry(), inlateout("eax") n => ret, in("ebx") a1,
             in("ecx") a2);
    }
    ret
}

/// A system call with three arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
    let ret;
    // SAFETY: as in `syscall1`; the entry address goes in the one register left (edi).
    unsafe {
        asm!("call {e}", e = in(reg) entry(), inlateout("eax") n => ret, in("ebx") a1,
             in("ecx") a2, in("edx") a3);
    }
    ret
}

/// Four to six arguments: `[n, a1, a4, a6, entry]` in memory, `a2`, `a3`, `a5` in registers.
#[inline(always)]
unsafe fn syscall_mem(regs: &[usize; 5], a2: usize, a3: usize, a5: usize) -> usize {
    let ret;
    // SAFETY: the caller upholds the system call's contract; ebp, ebx and esi are saved on
    // the stack and restored before the asm ends; `regs` is read before any is changed.
    unsafe {
        asm!(
            "push ebp",
            "push ebx",
            "push esi",
            "push dword ptr [eax + 16]",
            "mov ebx, [eax + 4]",
            "mov esi, [eax + 8]",
            "mov ebp, [eax + 12]",
            "mov eax, [eax]",
            "call dword ptr [esp + 0]",
            "add esp, 4",
            "pop esi",
            "pop ebx",
            "pop ebp",
            inlateout("eax") regs.as_ptr() => ret,
            in("ecx") a2, in("edx") a3, in("edi") a5,
        );
    }
    ret
}

/// A system call with four arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
    // SAFETY: forwarded.
    unsafe { syscall_mem(&[n, a1, a4, 0, entry()], a2, a3, 0) }
}

/// A system call with five arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall5(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> usize {
    // SAFETY: forwarded.
    unsafe { syscall_mem(&[n, a1, a4, 0, entry()], a2, a3, a5) }
}

/// A system call with six arguments.
///
/// # Safety
/// See the module documentation.
#[inline(always)]
pub unsafe fn syscall6(
    n: usize,
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
    a6: usize,
) -> usize {
    // SAFETY: forwarded.
    unsafe { syscall_mem(&[n, a1, a4, a6, entry()], a2, a3, a5) }
}

/// `exit_group(code)`: ends every thread of the process; never returns.
#[inline(always)]
pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and does not return, so overwriting the
    // reserved ebx is harmless.
    unsafe {
        asm!("mov ebx, {code}", "int 0x80", code = in(reg) code,
             in("eax") nr::__NR_exit_group as usize, options(noreturn, nostack));
    }
}

/// Names of the auxiliary-vector keys only this architecture defines.
pub fn auxv_name(key: usize) -> Option<&'static str> {
    (key == linux_raw_sys::auxvec::AT_SYSINFO as usize).then_some("AT_SYSINFO")
}

/// Kernel `arch/x86/entry/vdso/vdso32/vdso32.lds.S`, as far as tinyrt uses it: the
/// 64-bit-time `__vdso_clock_gettime64`, `__vdso_clock_getres_time64` (Linux 7.2+; before
/// it, `clock_getres` is the system call) and `__vdso_getcpu`. The 32-bit-time
/// `__vdso_clock_getres`, `__vdso_gettimeofday` and `__vdso_time` would overflow in 2038 and
/// are not used. No `getrandom`.
pub const VDSO: VdsoNames = vdso_names!("LINUX_2.6", clock_gettime: "__vdso_clock_gettime64",
    clock_getres: "__vdso_clock_getres_time64", getcpu: "__vdso_getcpu");

/// The 64-bit-time calls (Linux 5.1+), with the 32-bit ones as fallbacks; gettimeofday and
/// time have 32-bit fields and are not used.
pub const NR: SyscallNumbers = SyscallNumbers::time32(
    nr::__NR_clock_gettime64 as usize,
    nr::__NR_clock_getres_time64 as usize,
);

/// The rseq signature, the word the kernel expects before an abort handler: an `ud1`
/// operand: the same on both x86 architectures (the value of the kernel's rseq selftests
/// and of glibc, which must agree on it).
pub const RSEQ_SIG: u32 = 0x5305_3053;

// Thread pointer (tinyrt's `threads`; see `crate::tls`).

/// Variant II: the block ends at the thread pointer, whose first word holds its own address
/// (reached through %gs, a GDT entry `set_thread_area` gives).
pub const TLS: TlsVariant = TlsVariant::II;

/// The GDT entry the first `set_thread_area` got (-1: none yet): every thread's %gs selects
/// the same entry, and `clone` sets its base for the child.
static GDT_ENTRY: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(u32::MAX);

/// The kernel's `struct user_desc` (asm/ldt.h): what `set_thread_area` and clone's tls
/// argument take on i386.
#[repr(C)]
#[derive(Debug, Default)]
pub struct TlsArg {
    entry_number: u32,
    base_addr: u32,
    limit: u32,
    /// seg_32bit (bit 0), contents (1-2), read_exec_only (3), limit_in_pages (4),
    /// seg_not_present (5), useable (6).
    flags: u32,
}

impl TlsArg {
    /// A 4 GiB 32-bit data segment based at `tp`, in GDT entry `entry` (-1: any free one).
    fn new(entry: u32, tp: usize) -> TlsArg {
        TlsArg {
            entry_number: entry,
            base_addr: tp as u32,
            limit: 0xf_ffff,
            flags: 0x51,
        }
    }
}

/// The calling thread's thread pointer: the word at `%gs:0`, which variant II makes the
/// thread pointer itself (a crash, not a value, before one is set).
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
#[inline(always)]
pub fn thread_pointer() -> usize {
    let tp;
    // SAFETY: reads one word through %gs, which the set-up points at its own address.
    unsafe {
        asm!("mov {}, dword ptr gs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags));
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
    let mut desc = TlsArg::new(GDT_ENTRY.load(Ordering::Relaxed), tp);
    // SAFETY: the kernel reads and writes `desc` (the entry it chose), which lives across
    // the call.
    let r = unsafe { syscall1(nr::__NR_set_thread_area as usize, &raw mut desc as usize) };
    if r > -4096isize as usize {
        return r;
    }
    GDT_ENTRY.store(desc.entry_number, Ordering::Relaxed);
    let selector = (desc.entry_number << 3) | 3;
    // SAFETY: the caller's contract; %gs now selects the entry just set (RPL 3, GDT), which
    // the compiler never uses otherwise.
    unsafe { asm!("mov gs, {:e}", in(reg) selector, options(nostack, preserves_flags)) };
    0
}

/// Clone's tls argument for a thread whose thread pointer is `tp`: on i386 a `struct
/// user_desc *` (written into `scratch`, which must live until `clone` returns) naming the
/// GDT entry the main thread's `set_thread_pointer` got; the child keeps its %gs.
#[allow(dead_code)] // for the thread module
pub fn clone_tls_arg(tp: usize, scratch: &mut TlsArg) -> usize {
    *scratch = TlsArg::new(GDT_ENTRY.load(Ordering::Relaxed), tp);
    scratch as *mut TlsArg as usize
}
