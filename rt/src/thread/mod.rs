//! Threads, in std's shape: `spawn`, `Builder`, `JoinHandle`, `scope`, `current`,
//! `park`/`Thread::unpark`, [`yield_now`], [`sleep`], [`available_parallelism`].
//!
//! Threads come with the facade's `threads` feature (closures, `spawn` and `scope`, also
//! with `alloc`); without a heap, `spawn_raw` starts a plain function on memory the
//! program gives for ever (a `static` buffer). Without `threads` a program has one thread,
//! `current` is `main`, and [`yield_now`], [`sleep`] and [`available_parallelism`] work
//! as anywhere.
//!
//! - **What a thread is.** Each thread is one mapping: a guard page (`PROT_NONE`; below
//!   it, with the overflow report, the thread's alternate signal stack and a guard page of
//!   its own), its stack, and at the top its thread-local storage: the program's `PT_TLS`
//!   image (`.tdata` copied, `.tbss` zeroed) and the runtime's per-thread block, reached
//!   from the thread pointer. It is made by a plain `clone` (never `clone3`) with all
//!   signals blocked; the new thread unblocks the creator's mask once set up, so a handler
//!   never runs on a half-made thread.
//! - **Stack size.** `DEFAULT_STACK_SIZE` (std's 2 MiB on 64-bit targets, 512 KiB on 32-bit
//!   ones) unless `RUST_MIN_STACK` (read once, as std does) or `Builder::stack_size` says
//!   otherwise. The stack is virtual memory: a thread uses what it touches.
//! - **Ending.** A thread ends by returning. `main` returning ends the process, other
//!   threads with it, as in std. A panic on any thread prints `thread '<name>' panicked at
//!   ...` and ends the process with status 101: tinyrt programs abort on panic, so a
//!   `JoinHandle::join` never sees one (it returns the value, not a `Result`), and locks
//!   are never poisoned.
//! - **Joining and detaching.** `JoinHandle::join` waits for the kernel to clear the
//!   thread's id at its exit (a shared futex: the kernel's wake is not private), then keeps
//!   the mapping for the next thread of that size (up to four) or frees it. Dropping the
//!   handle detaches the thread, which then frees its own mapping as its last act.
//! - **Signals.** A signal sent to the process runs its handler on any thread that does not
//!   block it; `Thread::kill` sends one to one thread (`tgkill`), and never to a thread
//!   that has ended. An alternate signal stack is per thread: once the program asked for
//!   the stack overflow report (`signal::report_stack_overflow`), each new thread gets one
//!   of its own, carved from its mapping below its guard page; otherwise it has none.
//! - **`fork`** (a raw one, through `syscall`): the child has only the thread that forked,
//!   and locks other threads held stay held there (the heap's among them): as POSIX says,
//!   such a child may make system calls only, until it `exec`s. `process::Command` never
//!   forks: its vfork child makes system calls only, from any thread.
//! - **`PR_SET_PDEATHSIG`** (`process::set_parent_death_signal`) fires when the *thread* that
//!   created the child ends, not the process: create such children from a thread that
//!   lives as long as they should.
//!
//! ```
//! use tinyrt_rt::thread;
//!
//! // Works anywhere, also in a std program: the CPUs this thread may run on.
//! let n = thread::available_parallelism().unwrap();
//! assert_eq!(n, std::thread::available_parallelism().unwrap());
//! thread::yield_now();
//! ```
//!
//! # Safety
//!
//! The unsafe code makes and ends threads: `clone` onto a mapping this module made (or
//! memory the program gave up for ever), the new thread's start-up reading what its
//! creator wrote at the top of that stack before `clone`, and the mapping's release, by the
//! joiner once the kernel says the thread has exited, or by a detached thread itself in one
//! `asm!` block with signals blocked. A scoped thread's closure has its lifetime erased
//! exactly as std's does: `scope` does not return before every such thread has dropped it.
#![allow(unsafe_code)]

#[cfg(all(feature = "threads", not(feature = "library-mode")))]
mod native;
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
mod park;
#[cfg(all(feature = "threads", feature = "alloc", not(feature = "library-mode")))]
mod scope;
#[cfg(all(feature = "threads", feature = "alloc", not(feature = "library-mode")))]
mod spawn;

#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub use native::{RawJoinHandle, spawn_raw};
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) use park::with_current_name;
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub use park::{Thread, ThreadId, current, park, park_timeout};
#[cfg(all(feature = "threads", feature = "alloc", not(feature = "library-mode")))]
pub use scope::{Scope, ScopedJoinHandle, scope};
#[cfg(all(feature = "threads", feature = "alloc", not(feature = "library-mode")))]
pub use spawn::{Builder, JoinHandle, spawn};

use crate::errno::Errno;
use core::num::NonZeroUsize;
use core::time::Duration;

/// The stack size of a new thread unless `RUST_MIN_STACK` or `Builder::stack_size`
/// says otherwise: std's 2 MiB on 64-bit targets, where address space is plentiful and Rust
/// code expects what std gives; 512 KiB on 32-bit ones, where a thousand threads of 2 MiB
/// would take half the address space (musl's 128 KiB is too little for formatting-heavy
/// Rust code).
pub const DEFAULT_STACK_SIZE: usize = if usize::BITS == 64 {
    2 << 20
} else {
    512 << 10
};

/// Gives up the rest of the thread's time slice (`sched_yield`).
pub fn yield_now() {
    crate::sys::thread::sched_yield();
}

/// Puts the calling thread to sleep for at least `d` (as [`time::sleep`](crate::time::sleep),
/// which this is: on `CLOCK_MONOTONIC`, resumed after a signal handler runs).
///
/// # Errors
/// As [`time::sleep`](crate::time::sleep).
pub fn sleep(d: Duration) -> Result<(), Errno> {
    crate::time::sleep(d)
}

/// How many threads can run at once: the CPUs in the calling thread's affinity mask
/// (`sched_getaffinity`), which is what std's answer is on Linux without cgroup quotas.
///
/// # Errors
/// The kernel's error (a seccomp filter refusing the call).
pub fn available_parallelism() -> Result<NonZeroUsize, Errno> {
    let n = crate::sys::thread::sched_getaffinity_count()?;
    NonZeroUsize::new(n).ok_or(Errno::EINVAL)
}

/// The kernel's id of the calling thread (`gettid`; the process id on the main thread):
/// what `/proc/self/task/` lists and `tgkill` takes. With `threads`, read from the thread's
/// own block, no system call.
#[must_use]
pub fn current_os_id() -> u32 {
    #[cfg(all(feature = "threads", not(feature = "library-mode")))]
    return crate::tls::current()
        .tid
        .load(core::sync::atomic::Ordering::Relaxed);
    #[cfg(not(all(feature = "threads", not(feature = "library-mode"))))]
    crate::sys::gettid()
}

/// The handles cross threads as std's do (`Thread`, `JoinHandle`, `ScopedJoinHandle` are
/// `Send + Sync`, `Scope` is `Sync`): a build with `threads` fails if one does not.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Thread>();
    send_sync::<ThreadId>();
    send_sync::<RawJoinHandle>();
    #[cfg(feature = "alloc")]
    {
        send_sync::<JoinHandle<u8>>();
        send_sync::<ScopedJoinHandle<'static, u8>>();
        send_sync::<Scope<'static, 'static>>();
        send_sync::<Builder>();
    }
};
