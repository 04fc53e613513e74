//! tinyrt-rt: the library half of tinyrt — raw system calls, `Errno`, the auxiliary vector,
//! arguments and environment, and unbuffered formatted output.
//!
//! It has no entry point and no global symbols, so it works in two settings:
//!
//! - under tinyrt's own crt0 (crate `tinyrt-start`, linked by the `tinyrt` facade), which
//!   records the initial stack before `main` so that [`env`](mod@env) and [`auxv`] read the
//!   kernel's arrays in place;
//! - inside an ordinary std program ("library mode"), where the arguments, environment and
//!   auxiliary vector it has from the stack are empty.
//!
//! Unsafe code is confined to the modules that must read raw memory or enter the kernel:
//! `stack` (the initial stack), `arch` (the per-architecture `asm!`), `sys` (the safe
//! wrappers over it), [`auxv`] (pointers the kernel put in the vector), [`vdso`] (the
//! live vDSO mapping), [`random`]'s state pool (the vDSO getrandom's opaque states),
//! [`signal`], [`process`], `heap` and [`sync`] (the locks' data cells); and
//! [`fd`](mod@fd), which declares the `unsafe` functions of std's descriptor types
//! (`BorrowedFd::borrow_raw`, `FromRawFd::from_raw_fd`) and closes and copies descriptors
//! (system calls without pointers). Each has a `# Safety` section. The ELF parser ([`elf`]) is safe code over a byte slice.
//!
//! Nothing runs at start-up that a program does not ask for: the vDSO functions resolve on
//! their first call, getrandom's state pool is mapped by the first vDSO getrandom, and rseq
//! is registered by the first `cpu::getcpu`. [`init`] does all of that at once.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]
// `#[must_use]` where std has it: on pure functions and by-value builders.
#![warn(clippy::must_use_candidate, clippy::return_self_not_must_use)]

#[cfg(feature = "alloc")]
extern crate alloc;

/// A newtype of `u32` flags: its constants, `bits`, and `|`.
macro_rules! flags_type {
    ($(#[$m:meta])* pub struct $name:ident; $($(#[$cm:meta])* $c:ident = $v:expr;)*) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*

            /// The raw bits.
            pub const fn bits(self) -> u32 {
                self.0
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }
    };
}

mod stack;

mod arch;
mod sys;
// Above io, auxv and env: the per-thread area and the thread pointer.
mod tls;

pub mod auxv;
pub mod cpu;
pub mod elf;
pub mod env;
pub mod errno;
pub mod event;
pub mod fd;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod io;
pub mod process;
pub mod random;
pub mod signal;
pub mod sync;
pub mod thread;
pub mod time;
pub mod vdso;

pub use errno::Errno;

/// The runtime's start-up work, done now rather than on first use: resolves every vDSO
/// function (`time::Function::ALL`), sets getrandom's state pool up (one `mmap`) where the
/// vDSO has getrandom, and decides where `cpu::getcpu` reads from (in a tinyrt program, one
/// `rseq` call). Each first use is async-signal-safe, but needs a few KiB of stack (it
/// validates the vDSO image, and in library mode reads the auxiliary vector): call this
/// before relying on a small alternate signal stack, or before installing a seccomp filter
/// that forbids `prctl`, `openat`, `mmap` or `rseq`. Later calls do nothing.
pub fn init() {
    // As each function is read: `time::backend` maps 32-bit `gettimeofday` and `time` to
    // the `clock_gettime` they read through, and getrandom's to `random::backend` (its pool).
    for f in vdso::Function::ALL {
        time::backend(f);
    }
    cpu::backend();
}

/// What crt0 (`tinyrt-start`) needs from the initial stack; not an API.
#[doc(hidden)]
pub mod __private_start {
    pub use crate::stack::{auxv_start, init};

    /// Calls `f` with the calling thread's name (the panic handler's message): `main` for
    /// the main thread, `None` for an unnamed one.
    pub fn with_thread_name<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
        #[cfg(all(feature = "threads", not(feature = "library-mode")))]
        return crate::thread::with_current_name(f);
        #[cfg(not(all(feature = "threads", not(feature = "library-mode"))))]
        f(Some("main"))
    }

    /// Feature `threads`: the main thread's thread-local storage and thread pointer, set up
    /// after `init` and before `main`.
    #[cfg(feature = "threads")]
    pub use crate::tls::init_main_thread;
}

pub mod syscall;

/// What tinyrt's own tests, benchmarks and diagnostic examples reach inside for; not an
/// API (no semver promise, hidden from the documentation).
#[doc(hidden)]
pub mod __private_tests {
    use crate::Errno;
    use crate::time::{ClockId, Timespec};
    use crate::vdso::{Backend, Function};

    /// The dispatch's small vDSO lookup for the running program's class, machine and byte
    /// order (`elf::native::lookup`).
    pub use crate::elf::native::lookup as elf_lookup;
    /// That lookup for word size `W`, machine `MACHINE` and byte order `BIG_ENDIAN`
    /// (`elf::native::lookup_as`): tests on any host cover every instantiation.
    pub use crate::elf::native::lookup_as as elf_lookup_as;

    /// `clock_gettime` through the dispatch's slot alone, none of `time::clock_gettime`'s
    /// rules around it: the vDSO function's own answer, an error included.
    pub fn clock_gettime_slot(clock: ClockId) -> Result<Timespec, Errno> {
        crate::time::slot_clock_gettime(clock)
    }

    /// The calling thread's thread pointer, its Block's address (`this`) and its thread id as
    /// the Block holds them (the `tls` example prints them).
    #[cfg(feature = "threads")]
    #[must_use]
    pub fn thread_block() -> (usize, usize, u32) {
        let b = crate::tls::current();
        (
            crate::arch::thread_pointer(),
            b.this,
            b.tid.load(core::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Runs `f` with the calling thread's thread-local storage moved to a fresh area laid
    /// out as a new thread's, then moves it back (the `tls` example: a new thread's view
    /// without a thread).
    #[cfg(feature = "threads")]
    pub fn with_fresh_tls_area(f: fn()) -> Result<(), Errno> {
        crate::tls::with_fresh_area(f)
    }

    /// What serves `f`, or `None` while it is still unresolved (resolves nothing).
    #[must_use]
    pub fn peek(f: Function) -> Option<Backend> {
        crate::time::peek(f)
    }

    /// The primitives below the `thread` module, raw (`examples/clone_raw.rs` starts,
    /// joins and ends threads with them): `clone_thread`, `exit_thread`, `unmap_and_exit`,
    /// the thread flags, `set_tid_address`, `tgkill`, `sched_yield`, the affinity count,
    /// and the anonymous mappings their stacks are.
    pub mod thread {
        pub use crate::sys::thread::*;
        pub use crate::sys::{mmap_anonymous, mprotect_none, munmap};
    }
}

#[cfg(test)]
mod tests {
    /// Every error type a public function returns is an error as std's `?` and `Box<dyn
    /// Error>` take it (this fails to compile if one is not).
    #[test]
    fn every_error_type_is_an_error() {
        fn is_error<E: core::error::Error + Send + Sync + 'static>() {}
        is_error::<crate::Errno>();
        is_error::<crate::elf::Error>();
        is_error::<crate::vdso::Error>();
        is_error::<crate::time::SleepError>();
        is_error::<crate::time::SystemTimeError>();
    }

    /// The descriptor types, their owners and `Command` cross threads as std's do
    /// (`OwnedFd`, `BorrowedFd`, `File`, `Command` are `Send + Sync`); this fails to
    /// compile if one does not.
    #[test]
    fn descriptors_and_their_owners_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::fd::OwnedFd>();
        send_sync::<crate::fd::BorrowedFd<'static>>();
        send_sync::<crate::time::TimerFd>();
        send_sync::<crate::signal::SignalFd>();
        send_sync::<crate::process::Child>();
        send_sync::<crate::process::Command<'static>>();
    }
}
