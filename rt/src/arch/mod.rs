//! The one place that picks an architecture: per-architecture code only.
//!
//! Each file under `arch/` offers the same small surface, and nothing else:
//!
//! - `syscall0` ..= `syscall6`, which return the kernel's raw result (a negated errno in
//!   -4095..=-1 means failure), and a never-returning `exit_group`;
//! - `VDSO`, the architecture's [`VdsoNames`], and `NR`, its [`SyscallNumbers`];
//! - `clone_vfork`, starting a child that shares our memory on a stack of its own until it
//!   execs (the one thing the compiler cannot be trusted to write: the child must never
//!   return into the parent's frames);
//! - for threads: `clone_thread(flags, stack_top, ptid, tls, ctid, entry, arg) -> isize`
//!   (naked: plain `clone` with the arguments put in the architecture's order, the child
//!   on its own stack calling `entry(arg)`, which never returns), `unmap_and_exit(base,
//!   len) -> !` (munmap of the thread's own mapping, then `exit`, in one asm block), and,
//!   written once here, `exit_thread(code) -> !`;
//! - `kernel_action`, the kernel's `struct sigaction` for a handler, with the signal
//!   return (restorer) the architecture needs, or none where it has no field for one;
//! - `auxv_name` for the auxiliary-vector keys only it defines, and `extras`, what only it
//!   has (i686: choosing the kernel entry);
//! - at the end of the file, the thread pointer: `thread_pointer`, `set_thread_pointer`,
//!   `TLS` (its [`TlsVariant`]), and on i686 `TlsArg` and `clone_tls_arg` (elsewhere the
//!   ones below).
//!
//! The files are leaves: they read nothing above `crate::stack`. Everything else is written
//! once for all architectures on top of this surface (the thin wrappers are in
//! `crate::sys`). To add an architecture: a file here and a `path` line below, its `_start`
//! in tinyrt-start's `arch/`, and its target in the tests' architecture list.
//!
//! # Safety
//!
//! The raw `syscallN` functions are `unsafe`: the caller upholds the kernel's contract for
//! the call it makes.
#![allow(unsafe_code)]

/// An architecture's [`VdsoNames`]: its version, then the symbols it exports, by field;
/// every field not named is `None`.
macro_rules! vdso_names {
    ($version:literal $(, $field:ident: $name:literal)* $(,)?) => {
        VdsoNames { version: $version, $($field: Some($name),)* ..VdsoNames::NONE }
    };
}

/// An architecture's `kernel_action`: the kernel's `struct sigaction` for `handler` (an
/// address, SIG_DFL or SIG_IGN), `flags` and `mask`. `restorer: pick` adds SA_RESTORER and
/// the signal return `pick(flags)` chooses (a naked function of the architecture's file);
/// `no_restorer` is for an architecture whose struct has no field for one, and
/// `restorer_ignored` for one whose kernel never reads it.
macro_rules! kernel_action {
    (restorer: $pick:expr) => {
        /// The kernel's `struct sigaction` for `handler`, `flags` and `mask`, with this
        /// architecture's signal return (see `arch::kernel_action!`).
        pub fn kernel_action(
            handler: usize,
            flags: usize,
            mask: linux_raw_sys::general::kernel_sigset_t,
        ) -> linux_raw_sys::general::kernel_sigaction {
            let pick: fn(usize) -> unsafe extern "C" fn() = $pick;
            linux_raw_sys::general::kernel_sigaction {
                sa_handler_kernel: super::handler_field(handler),
                sa_flags: (flags | linux_raw_sys::general::SA_RESTORER as usize) as _,
                sa_restorer: Some(pick(flags)),
                sa_mask: mask,
            }
        }
    };
    (restorer_ignored) => {
        kernel_action!(@plain "the kernel never reads its restorer field", sa_restorer: None,);
    };
    (no_restorer) => {
        kernel_action!(@plain "no restorer field",);
    };
    (@plain $why:literal, $($restorer:tt)*) => {
        #[doc = concat!("The kernel's `struct sigaction` for `handler`, `flags` and `mask` (",
            $why, ": see `arch::kernel_action!`).")]
        pub fn kernel_action(
            handler: usize,
            flags: usize,
            mask: linux_raw_sys::general::kernel_sigset_t,
        ) -> linux_raw_sys::general::kernel_sigaction {
            linux_raw_sys::general::kernel_sigaction {
                sa_handler_kernel: super::handler_field(handler),
                sa_flags: flags as _,
                $($restorer)*
                sa_mask: mask,
            }
        }
    };
}

/// A `struct sigaction`'s handler field for `handler`: an address, or SIG_DFL (0, `None`)
/// or SIG_IGN (1).
fn handler_field(handler: usize) -> linux_raw_sys::general::__kernel_sighandler_t {
    // SAFETY: any non-zero word is a valid (non-null) function pointer value; the kernel,
    // never we, calls it, and only when it is a handler's address.
    unsafe { core::mem::transmute::<usize, linux_raw_sys::general::__kernel_sighandler_t>(handler) }
}

/// The flags of `clone_vfork`'s clone.
const CLONE_FLAGS: u32 = nr::CLONE_VM | nr::CLONE_VFORK | nr::SIGCHLD;

/// An architecture's `clone_vfork`, from the lines of its naked body (which may use the
/// operands `flags`, the clone flags, and `nr`, the clone system call's number).
macro_rules! clone_vfork {
    ($($line:literal),* $(,)?) => {
        /// `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)` with the child on `stack_top` (16-byte
        /// aligned, the top of memory the caller keeps alive and untouched until the child
        /// has exec'd or exited): the child calls `child(arg)`, which never returns; the
        /// parent (suspended by the kernel until then) gets the child's pid or a negated
        /// errno. Naked: the child must not return through frames it shares with the parent.
        ///
        /// # Safety
        /// `stack_top` is as above and `child` must end in execve or exit, touching only its
        /// own stack and what `arg` grants it.
        #[unsafe(naked)]
        pub unsafe extern "C" fn clone_vfork(
            stack_top: *mut u8,
            child: unsafe extern "C" fn(*mut core::ffi::c_void) -> !,
            arg: *mut core::ffi::c_void,
        ) -> isize {
            core::arch::naked_asm!(
                $($line,)*
                flags = const super::CLONE_FLAGS,
                nr = const linux_raw_sys::general::__NR_clone,
            )
        }
    };
}

/// An architecture's `clone_thread`, from the lines of its naked body (which may use the
/// operand `nr`, the clone system call's number). Every architecture takes the arguments
/// in this order and puts them in its kernel's (DESIGN.md, fact 27).
macro_rules! clone_thread {
    ($($line:literal),* $(,)?) => {
        /// `clone(flags, stack_top, ptid, ctid, tls)` in this architecture's argument order,
        /// for a thread: plain `clone`, never `clone3` (qemu-user has none, old seccomp
        /// profiles refuse it). The child starts on `stack_top`, rounded down to 16 bytes
        /// (every ABI here asks 16 or less), with the ABI's frame below it (a zero back chain
        /// where the architecture has one) and its frame pointer cleared (and its link
        /// register, where calls keep the return address in one), and calls
        /// `entry(arg)`, which never returns. The parent gets the child's tid or a negated
        /// errno. `ptid`, `tls` and `ctid` are read by the kernel only under
        /// `CLONE_PARENT_SETTID`, `CLONE_SETTLS` and `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID`;
        /// `tls` is the new thread pointer (i686: a `struct user_desc *`). Naked: the child
        /// must never return into the parent's frames.
        ///
        /// # Safety
        /// `flags` make a thread or a process the caller is ready for (with `CLONE_VM`, the
        /// child shares every byte of memory: it must touch only what `arg` grants it); the
        /// memory below `stack_top` (at least a few hundred bytes, and what `entry` uses) is
        /// the child's alone until it exits; `ptid` and `ctid` are valid for the flags that
        /// name them for as long as the kernel may write them (`ctid` until the thread has
        /// exited, or has called `set_tid_address` with another); `entry` ends the thread
        /// (`exit_thread`, `unmap_and_exit`) or the process. The caller blocks signals
        /// across the call if the child must not run a handler before its set-up.
        #[unsafe(naked)]
        pub unsafe extern "C" fn clone_thread(
            flags: usize,
            stack_top: *mut u8,
            ptid: *mut u32,
            tls: usize,
            ctid: *mut u32,
            entry: unsafe extern "C" fn(usize) -> !,
            arg: usize,
        ) -> isize {
            core::arch::naked_asm!(
                $($line,)*
                nr = const linux_raw_sys::general::__NR_clone,
            )
        }
    };
}

/// An architecture's `unmap_and_exit`: `$lines` run `munmap` (its number already in
/// register `$nr`, `base` in `$a1`, `len` in `$a2`) and then `exit(0)` (the operand `exit`,
/// its number), touching no memory in between.
macro_rules! unmap_and_exit {
    (nr: $nr:tt, a1: $a1:tt, a2: $a2:tt, $($line:literal),* $(,)?) => {
        /// `munmap(base, len)`, then `exit(0)` of the calling thread, in one asm block that
        /// touches no memory between the two: for a thread that frees the mapping holding
        /// the stack it runs on. A failed munmap is not reported (the thread exits anyway).
        ///
        /// # Safety
        /// Every signal is blocked (a handler would run on the unmapped stack: SIGSEGV);
        /// the kernel's clear-child-tid word is not in the range (`set_tid_address(NULL)`
        /// first, else the kernel writes 0 into whatever is mapped there next) and
        /// neither is an rseq area still registered; nothing else refers to the range.
        pub unsafe fn unmap_and_exit(base: usize, len: usize) -> ! {
            // SAFETY: the caller gives the range up and has blocked every signal; the asm
            // uses only registers and never returns.
            unsafe {
                core::arch::asm!(
                    $($line,)*
                    exit = const linux_raw_sys::general::__NR_exit,
                    in($nr) linux_raw_sys::general::__NR_munmap as usize,
                    in($a1) base,
                    in($a2) len,
                    options(noreturn, nostack),
                )
            }
        }
    };
}

/// `exit(code)`: ends the calling thread only (the process ends with its last thread).
/// The kernel then clears and wakes the thread's clear-child-tid word, if it has one (a
/// *shared* futex wake). On the main thread the process lives on, a zombie leader, until
/// its other threads end.
pub fn exit_thread(code: i32) -> ! {
    loop {
        // SAFETY: exit takes no pointers and does not return.
        unsafe { imp::syscall1(nr::__NR_exit as usize, code as isize as usize) };
    }
}

// i686 and powerpc64 write their own system call functions (see register.rs).
#[cfg_attr(
    any(target_arch = "x86", target_arch = "powerpc64"),
    allow(unused_macros)
)]
#[macro_use]
mod register;

#[cfg_attr(target_arch = "x86_64", path = "x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "riscv64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
#[cfg_attr(target_arch = "s390x", path = "s390x.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "powerpc64.rs")]
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "arm",
        target_arch = "s390x",
        target_arch = "powerpc64"
    )),
    path = "unsupported.rs"
)]
mod imp;

#[cfg(not(target_os = "linux"))]
compile_error!("tinyrt is a runtime for Linux only");

use linux_raw_sys::general as nr;

pub use imp::{
    NR, RSEQ_SIG, VDSO, auxv_name, clone_thread, clone_vfork, exit_group, extras, kernel_action,
    syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6, unmap_and_exit,
};

// The thread pointer: used by `crate::tls` with `threads`, `clone_tls_arg` by `thread`.
#[cfg_attr(not(feature = "threads"), allow(unused_imports))]
pub use imp::{TLS, set_thread_pointer, thread_pointer};
#[cfg(target_arch = "x86")]
#[allow(unused_imports)]
pub use imp::{TlsArg, clone_tls_arg};

/// Where an architecture's thread-local storage lies around its thread pointer (the ELF TLS
/// ABI's two variants, with the offsets LLD computes; `crate::tls` lays the areas out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)] // each architecture constructs one variant
pub enum TlsVariant {
    /// Variant I: the block lies above the thread pointer, past a TCB of `gap` bytes the ABI
    /// reserves there, at the first address congruent to the segment's `p_vaddr` modulo its
    /// alignment; the register holds the thread pointer plus `bias` (powerpc64's 0x7000).
    I {
        /// The TCB's size at the thread pointer (two words on arm and aarch64).
        gap: usize,
        /// What the register holds beyond the thread pointer.
        bias: usize,
    },
    /// Variant II: the block ends just below the thread pointer (its end padded so that its
    /// start is congruent to `p_vaddr`), whose first word holds its own address on x86.
    II,
}

/// What `clone_tls_arg` builds clone's tls argument in: nothing on this architecture.
#[cfg(not(target_arch = "x86"))]
#[derive(Debug, Default)]
#[allow(dead_code)]
pub struct TlsArg;

/// Clone's tls argument for a thread whose thread pointer is `tp`: `tp` itself (i686's
/// names a GDT entry, see its file).
#[cfg(not(target_arch = "x86"))]
#[allow(dead_code)]
pub fn clone_tls_arg(tp: usize, _scratch: &mut TlsArg) -> usize {
    tp
}

/// What an architecture's vDSO exports, as far as tinyrt uses it: the symbol of each
/// function the dispatch serves, or `None` where the vDSO has none or none that is right
/// after 2038 (32-bit time fields). Every symbol carries the one GNU `version`.
pub struct VdsoNames {
    /// The version every symbol below carries (`LINUX_2.6` on x86).
    pub version: &'static str,
    /// `clock_gettime` with a `__kernel_timespec` (64-bit fields).
    pub clock_gettime: Option<&'static str>,
    /// A symbol that must be exported too before `clock_gettime` and `clock_getres` are
    /// trusted (arm: the 32-bit-time twin, see its file).
    pub time64_requires: Option<&'static str>,
    /// `clock_getres` with a `__kernel_timespec` (`clock_getres_time64` on 32-bit
    /// architectures: Linux 7.2+ on i386 and arm).
    pub clock_getres: Option<&'static str>,
    /// `gettimeofday` with a `__kernel_old_timeval` (64-bit fields on 64-bit architectures).
    pub gettimeofday: Option<&'static str>,
    /// `time`, answering a `long`.
    pub time: Option<&'static str>,
    /// `getcpu`.
    pub getcpu: Option<&'static str>,
    /// `getrandom` with the opaque-state protocol (Linux 6.11+).
    pub getrandom: Option<&'static str>,
    /// Whether the functions answer an error with a positive errno (powerpc64, where the
    /// flag that says so, CR0.SO, is invisible to a Rust call) rather than a negated one.
    /// Each function that answers `int` answers 0 on success.
    pub positive_errors: bool,
}

impl VdsoNames {
    /// No symbols: the fields `vdso_names!` leaves out.
    const NONE: VdsoNames = VdsoNames {
        version: "",
        clock_gettime: None,
        time64_requires: None,
        clock_getres: None,
        gettimeofday: None,
        time: None,
        getcpu: None,
        getrandom: None,
        positive_errors: false,
    };
}

/// The system calls behind the vDSO functions, by number.
pub struct SyscallNumbers {
    /// `clock_gettime` with a `__kernel_timespec`: `clock_gettime64` on 32-bit
    /// architectures (Linux 5.1+).
    pub clock_gettime: usize,
    /// `clock_getres` with a `__kernel_timespec`: `clock_getres_time64` on 32-bit ones.
    pub clock_getres: usize,
    /// The 32-bit-time `clock_gettime` where `clock_gettime` is the 64-bit-time one: for
    /// kernels before 5.1 and sandboxes that refuse the 64-bit call (Docker's default
    /// profile answers EPERM).
    pub clock_gettime32: Option<usize>,
    /// The 32-bit-time `clock_getres`, likewise.
    pub clock_getres32: Option<usize>,
    /// `gettimeofday`, where its fields are 64-bit.
    pub gettimeofday: Option<usize>,
    /// `time`, where the architecture has it and its `long` is 64-bit.
    pub time: Option<usize>,
    /// `getcpu`.
    pub getcpu: usize,
    /// `clock_nanosleep` with a `__kernel_timespec`: `clock_nanosleep_time64` on 32-bit
    /// architectures (Linux 5.1+).
    pub clock_nanosleep: usize,
    /// The 32-bit-time `clock_nanosleep` where the one above is the 64-bit-time one.
    pub clock_nanosleep32: Option<usize>,
    /// `timerfd_settime` with a `__kernel_itimerspec`: `timerfd_settime64` on 32-bit ones.
    pub timerfd_settime: usize,
    /// The 32-bit-time `timerfd_settime`, likewise.
    pub timerfd_settime32: Option<usize>,
    /// `timerfd_gettime` with a `__kernel_itimerspec`: `timerfd_gettime64` on 32-bit ones.
    pub timerfd_gettime: usize,
    /// The 32-bit-time `timerfd_gettime`, likewise.
    pub timerfd_gettime32: Option<usize>,
    /// `rt_sigtimedwait` with 64-bit time (`rt_sigtimedwait_time64` on 32-bit architectures).
    pub rt_sigtimedwait: usize,
    /// The 32-bit-time `rt_sigtimedwait`, where the 64-bit one may be refused.
    pub rt_sigtimedwait32: Option<usize>,
    /// `futex` with 64-bit time (`futex_time64` on 32-bit architectures, Linux 5.1+): the
    /// timed waits.
    pub futex: usize,
    /// The plain `futex` where the one above is `futex_time64`: the timed waits' 32-bit-time
    /// twin, and every futex call that carries no time (wakes, untimed waits).
    pub futex32: Option<usize>,
    /// `mmap` with its offset in bytes, or on 32-bit architectures `mmap2` (offset in pages;
    /// the plain call of some takes a pointer to its arguments).
    pub mmap: usize,
    /// `rseq` (Linux 4.18+): registers the thread's restartable-sequences area.
    pub rseq: usize,
    /// Whether `mmap` takes one pointer to its six arguments (s390x's old `mmap`) instead
    /// of the arguments themselves.
    pub mmap_args_in_memory: bool,
}

impl SyscallNumbers {
    /// An architecture whose `long` and time fields are 64-bit: the plain calls, no 32-bit
    /// fallbacks, and `time` where it has one.
    #[cfg(target_pointer_width = "64")]
    const fn time64(time: Option<usize>) -> SyscallNumbers {
        SyscallNumbers {
            clock_gettime: nr::__NR_clock_gettime as usize,
            clock_getres: nr::__NR_clock_getres as usize,
            clock_gettime32: None,
            clock_getres32: None,
            gettimeofday: Some(nr::__NR_gettimeofday as usize),
            time,
            getcpu: nr::__NR_getcpu as usize,
            clock_nanosleep: nr::__NR_clock_nanosleep as usize,
            clock_nanosleep32: None,
            timerfd_settime: nr::__NR_timerfd_settime as usize,
            timerfd_settime32: None,
            timerfd_gettime: nr::__NR_timerfd_gettime as usize,
            timerfd_gettime32: None,
            rt_sigtimedwait: nr::__NR_rt_sigtimedwait as usize,
            rt_sigtimedwait32: None,
            futex: nr::__NR_futex as usize,
            futex32: None,
            mmap: nr::__NR_mmap as usize,
            rseq: nr::__NR_rseq as usize,
            mmap_args_in_memory: false,
        }
    }

    /// A 32-bit architecture: the 64-bit-time calls `clock_gettime` and `clock_getres` (its
    /// `clock_gettime64` and `clock_getres_time64`), `clock_nanosleep_time64`,
    /// `timerfd_settime64`, `timerfd_gettime64` and `futex_time64`, with the plain ones, which
    /// have 32-bit time, as their fallbacks; `gettimeofday` and `time` have 32-bit fields and are not
    /// used.
    #[cfg(target_pointer_width = "32")]
    const fn time32(clock_gettime: usize, clock_getres: usize) -> SyscallNumbers {
        SyscallNumbers {
            clock_gettime,
            clock_getres,
            clock_gettime32: Some(nr::__NR_clock_gettime as usize),
            clock_getres32: Some(nr::__NR_clock_getres as usize),
            gettimeofday: None,
            time: None,
            getcpu: nr::__NR_getcpu as usize,
            clock_nanosleep: nr::__NR_clock_nanosleep_time64 as usize,
            clock_nanosleep32: Some(nr::__NR_clock_nanosleep as usize),
            timerfd_settime: nr::__NR_timerfd_settime64 as usize,
            timerfd_settime32: Some(nr::__NR_timerfd_settime as usize),
            timerfd_gettime: nr::__NR_timerfd_gettime64 as usize,
            timerfd_gettime32: Some(nr::__NR_timerfd_gettime as usize),
            rt_sigtimedwait: nr::__NR_rt_sigtimedwait_time64 as usize,
            rt_sigtimedwait32: Some(nr::__NR_rt_sigtimedwait as usize),
            futex: nr::__NR_futex_time64 as usize,
            futex32: Some(nr::__NR_futex as usize),
            mmap: nr::__NR_mmap2 as usize,
            rseq: nr::__NR_rseq as usize,
            mmap_args_in_memory: false,
        }
    }

    /// These numbers, with `mmap` taking its arguments in memory.
    #[cfg_attr(not(target_arch = "s390x"), allow(dead_code))]
    const fn with_mmap_args_in_memory(self) -> SyscallNumbers {
        SyscallNumbers {
            mmap_args_in_memory: true,
            ..self
        }
    }
}
