//! This process (its id, ending it, subreaper and parent-death settings) and other
//! programs: [`Command`] starts one, [`Child`] and [`wait_any`] collect how they ended.
//!
//! [`Command`] is shaped like std's: a program (absolute, or searched in `PATH` like
//! `execvp`), arguments borrowed from the caller (up to [`MAX_ARGS`] without allocation,
//! any number with the `alloc` feature; or the rest of our own argv,
//! [`Command::from_args`], without limit), the environment (inherited, cleared, changed), a
//! working directory, standard input/output/error (inherited, null, a descriptor, a pipe),
//! a process group, and the signal mask (empty by default: std's passes ours on) and
//! dispositions (SIGPIPE reset by default, as std's) in the child.
//!
//! It starts the child with `clone(CLONE_VM | CLONE_VFORK)` (per-architecture asm in
//! `arch`): the child shares our memory on a stack of its own and we are suspended until it
//! execs or exits, so nothing is copied. Before `clone` every signal is blocked; the child
//! gives every signal that has a handler its default action before it sets its own mask, then
//! makes only system calls (no allocation, no lock, nothing of ours) up to `execve`. An
//! exec that fails sends its errno back through a close-on-exec pipe: [`Command::spawn`]
//! returns it (ENOENT, EACCES, ENOEXEC, ...) after reaping the child, so none is left
//! behind. Learned from musl's `posix_spawn` and the kernel's `clone` documentation.
//!
//! In library mode (inside a std program) tinyrt has no view of libc's environment: an
//! inherited environment is empty there, `PATH` is the default one, and
//! [`Command::from_args`] answers `None`. Set what the child needs with [`Command::env`].
//!
//! ```
//! use tinyrt_rt::io;
//! use tinyrt_rt::process::{Command, Stdio};
//!
//! // As std's: arguments, a changed environment, a pipe for its output.
//! let mut child = Command::new(c"/bin/sh")
//!     .args([c"-c", c"echo $GREETING; exit 3"])
//!     .env(b"GREETING", b"hello")
//!     .stdout(Stdio::Pipe)
//!     .spawn()
//!     .unwrap();
//! let mut out = [0u8; 64];
//! let n = io::read_full(child.stdout.as_ref().unwrap(), &mut out).unwrap();
//! assert_eq!(&out[..n], b"hello\n");
//! let status = child.wait().unwrap();
//! assert_eq!(status.code(), Some(3));
//! // std's Command sees the same.
//! let std_says = std::process::Command::new("/bin/sh")
//!     .args(["-c", "echo $GREETING; exit 3"])
//!     .env("GREETING", "hello")
//!     .output()
//!     .unwrap();
//! assert_eq!((std_says.stdout.as_slice(), std_says.status.code()), (&out[..n], status.code()));
//! // A program that is not there: the error, and no child left behind.
//! assert!(Command::new(c"/nonexistent").spawn().is_err());
//! ```
//!
//! # Safety
//!
//! The child runs on a buffer in `spawn`'s frame, which outlives it (we are suspended until
//! it execs or exits), and reads only the `ChildPlan` that frame owns; every pointer the
//! plan holds is to a NUL-terminated string or NULL-terminated array alive for the call.
//! System calls elsewhere here pass pointers to values they borrow for the call.
#![allow(unsafe_code)]

use crate::arch::{syscall1, syscall2, syscall3, syscall4};
use crate::errno::Errno;
use crate::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use crate::signal::{SigSet, Signal};
use core::ffi::{CStr, c_char, c_void};
use core::mem::MaybeUninit;
use linux_raw_sys::general as g;

/// The handler values of the default action and of ignoring.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// Ends the process (every thread) with `code`; the parent sees `code & 0xff`. Nothing
/// runs first: no destructors, no buffers to flush (tinyrt has none).
#[inline]
pub fn exit(code: i32) -> ! {
    crate::arch::exit_group(code)
}

/// Ends the process abnormally, as std's `std::process::abort` and C's `abort`: by SIGABRT
/// (the parent sees it killed by the signal; a core dump where the system makes them).
/// SIGABRT is unblocked and raised; if a handler catches it and returns, or it is ignored,
/// it gets its default action and is raised again. Nothing runs first: no destructors, no
/// buffers to flush.
///
/// ```no_run
/// let broken = true;
/// if broken {
///     tinyrt_rt::process::abort();
/// }
/// ```
#[inline]
pub fn abort() -> ! {
    crate::signal::abort()
}

/// The code to exit with after `main` returned `code` (`tinyrt::main!` calls it): the same,
/// unless something to report at exit was set (a failed print to standard output). Only a
/// return from `main` gets here: `process::exit` reports nothing.
#[doc(hidden)]
#[must_use]
pub fn exit_code_after_main(code: i32) -> i32 {
    match crate::sys::exit_report() {
        Some(report) => report(code),
        None => code,
    }
}

/// This process's id.
#[must_use]
pub fn id() -> u32 {
    crate::sys::getpid()
}

/// The parent's process id.
#[must_use]
pub fn parent_id() -> u32 {
    // SAFETY: getppid takes no arguments and cannot fail.
    (unsafe { crate::arch::syscall0(g::__NR_getppid as usize) }) as u32
}

fn prctl(option: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: the options used here take an integer (or, GET_CHILD_SUBREAPER, a pointer to
    // an int we own).
    Errno::from_ret(unsafe { syscall2(g::__NR_prctl as usize, option as usize, arg) })
}

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`): orphaned descendants
/// are re-parented to it instead of to PID 1, so it can reap them.
pub fn set_child_subreaper(on: bool) -> Result<(), Errno> {
    prctl(linux_raw_sys::prctl::PR_SET_CHILD_SUBREAPER, on as usize).map(|_| ())
}

/// Whether this process is a child subreaper.
pub fn is_child_subreaper() -> Result<bool, Errno> {
    let mut v: i32 = 0;
    prctl(
        linux_raw_sys::prctl::PR_GET_CHILD_SUBREAPER,
        &mut v as *mut i32 as usize,
    )?;
    Ok(v != 0)
}

/// The signal this process gets when its parent ends (`PR_SET_PDEATHSIG`; `None`: none).
///
/// "Its parent" is the *thread* that created it (Linux's rule): a child started from a
/// `thread` that ends gets the signal then, though the process that started it runs on.
/// Start such children from a thread that lives as long as they should (the main thread).
pub fn set_parent_death_signal(sig: Option<Signal>) -> Result<(), Errno> {
    let n = sig.map_or(0, Signal::number) as usize;
    prctl(linux_raw_sys::prctl::PR_SET_PDEATHSIG, n).map(|_| ())
}

/// How a child ended (or stopped): the raw `wait` status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// From a raw `wait` status.
    #[must_use]
    pub const fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus(raw)
    }

    /// The raw `wait` status.
    #[must_use]
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The exit code, if the child exited.
    #[must_use]
    pub const fn code(self) -> Option<i32> {
        if self.0 & 0x7f == 0 {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// The signal that ended the child, if one did.
    #[must_use]
    pub const fn signal(self) -> Option<Signal> {
        match self.0 & 0x7f {
            0 | 0x7f => None,
            n => Signal::new(n),
        }
    }

    /// Whether the ending signal dumped core.
    #[must_use]
    pub const fn core_dumped(self) -> bool {
        self.signal().is_some() && self.0 & 0x80 != 0
    }

    /// Whether the child exited with code 0.
    #[must_use]
    pub const fn success(self) -> bool {
        self.0 == 0
    }

    /// The shell's number for it: the exit code, or 128 plus the signal.
    #[must_use]
    pub const fn shell_code(self) -> i32 {
        match (self.code(), self.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s.number(),
            (None, None) => 128,
        }
    }
}

/// `wait4(pid, &status, flags, NULL)`, retried on EINTR: `Ok(None)` for WNOHANG with
/// nothing to report.
fn wait4(pid: i32, flags: u32) -> Result<Option<(u32, ExitStatus)>, Errno> {
    loop {
        let mut status: i32 = 0;
        // SAFETY: the kernel writes one int into `status`; no rusage.
        let r = Errno::from_ret(unsafe {
            syscall4(
                g::__NR_wait4 as usize,
                pid as isize as usize,
                &mut status as *mut i32 as usize,
                flags as usize,
                0,
            )
        });
        match r {
            Ok(0) => return Ok(None),
            Ok(p) => return Ok(Some((p as u32, ExitStatus(status)))),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Waits for any child to end and reaps it: its pid and status. ECHILD when there is none.
pub fn wait_any() -> Result<(u32, ExitStatus), Errno> {
    wait4(-1, 0).map(|r| r.unwrap_or((0, ExitStatus(0))))
}

/// Reaps a child that has ended, without waiting: `Ok(None)` when children remain but none
/// has ended; ECHILD when there is none.
pub fn try_wait_any() -> Result<Option<(u32, ExitStatus)>, Errno> {
    wait4(-1, g::WNOHANG)
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    Errno::from_ret(unsafe {
        syscall2(
            g::__NR_pipe2 as usize,
            fds.as_mut_ptr() as usize,
            g::O_CLOEXEC as usize,
        )
    })?;
    // SAFETY: two new descriptors from the kernel: nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Makes `new` a copy of `old` (`dup3(old, new, 0)`): the same number, now for `old`'s open
/// file, without close-on-exec; what `new` was is closed by the kernel in the same step.
/// `new` is borrowed mutably, so nothing else owns it and no borrow of it is alive: the
/// descriptor a [`TimerFd`](crate::time::TimerFd), a [`SignalFd`](crate::signal::SignalFd)
/// or another owner holds cannot be the target. To redirect a standard stream, see
/// [`dup2_stdout`]. (With `new` borrowed mutably, `old` cannot be `new` itself in safe code;
/// if it is, through [`BorrowedFd::borrow_raw`](crate::fd::BorrowedFd::borrow_raw), nothing
/// changes, close-on-exec included, as for POSIX `dup2(x, x)`: `Ok` if it is open.)
///
/// ```compile_fail,E0308
/// use tinyrt_rt::io::AsFd;
/// use tinyrt_rt::time::{ClockId, TimerFd, TimerFlags};
///
/// let timer = TimerFd::new(ClockId::MONOTONIC, TimerFlags::CLOEXEC).unwrap();
/// let (r, _w) = tinyrt_rt::process::pipe().unwrap();
/// // The timer's descriptor is not an `&mut OwnedFd` anyone can name:
/// tinyrt_rt::process::dup2(&r, timer.as_fd()).unwrap();
/// ```
pub fn dup2(old: impl AsFd, new: &mut OwnedFd) -> Result<(), Errno> {
    redirect(old.as_fd().as_raw_fd(), new.as_raw_fd())
}

/// Makes standard input a copy of `fd`, without close-on-exec (a program started next
/// inherits it); what it was is closed in the same step, so the number 0 is never free for
/// another descriptor to take. `fd` being standard input itself changes nothing
/// (close-on-exec included), as POSIX `dup2(0, 0)`.
///
/// The standard streams belong to no [`OwnedFd`] of the program, unless it started with
/// one closed and kept it so (`tinyrt::main!(f, unsafe(keep_closed_stdio))`): then a descriptor it
/// opened may have taken the number, and this replaces that one's file.
pub fn dup2_stdin(fd: impl AsFd) -> Result<(), Errno> {
    redirect(fd.as_fd().as_raw_fd(), 0)
}

/// Makes standard output a copy of `fd`, as [`dup2_stdin`] does for standard input.
pub fn dup2_stdout(fd: impl AsFd) -> Result<(), Errno> {
    redirect(fd.as_fd().as_raw_fd(), 1)
}

/// Makes standard error a copy of `fd`, as [`dup2_stdin`] does for standard input.
pub fn dup2_stderr(fd: impl AsFd) -> Result<(), Errno> {
    redirect(fd.as_fd().as_raw_fd(), 2)
}

/// `dup3(old, new, 0)`, or for `old == new` (which dup3 refuses with EINVAL) only a check
/// that it is open, as POSIX `dup2`.
fn redirect(old: RawFd, new: RawFd) -> Result<(), Errno> {
    if old == new {
        // SAFETY: F_GETFD takes no pointer.
        let r = unsafe { syscall2(g::__NR_fcntl as usize, old as usize, g::F_GETFD as usize) };
        return Errno::from_ret(r).map(|_| ());
    }
    // SAFETY: no pointers.
    Errno::from_ret(unsafe { raw_dup3(old, new) }).map(|_| ())
}

/// `dup3(old, new, 0)` (which every architecture has): the raw result; EINVAL when
/// `old == new`, where `dup2` would do nothing (the child never passes equal numbers: it
/// moves the ones it installs above 2 first).
///
/// # Safety
/// None beyond the system call's own: no pointers. Async-signal-safe (the child uses it).
/// It closes what `new` was: callers make sure nothing else owns `new`.
#[inline(always)]
unsafe fn raw_dup3(old: i32, new: i32) -> usize {
    // SAFETY: no pointers.
    unsafe { syscall3(g::__NR_dup3 as usize, old as usize, new as usize, 0) }
}

mod command;
mod exec;
mod spawn;

pub use command::{Child, Command, MAX_ARGS, MAX_ENV_CHANGES, Stdio};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses() {
        let exited = ExitStatus::from_raw(42 << 8);
        assert_eq!(
            (exited.code(), exited.signal(), exited.shell_code()),
            (Some(42), None, 42)
        );
        let killed = ExitStatus::from_raw(9);
        assert_eq!(killed.code(), None);
        assert_eq!(killed.signal(), Some(Signal::KILL));
        assert_eq!(killed.shell_code(), 137);
        let dumped = ExitStatus::from_raw(0x80 | 11);
        assert!(dumped.core_dumped() && !killed.core_dumped());
        assert!(ExitStatus::from_raw(0).success() && !exited.success());
        let stopped = ExitStatus::from_raw(0x137f);
        assert_eq!((stopped.code(), stopped.signal()), (None, None));
    }
}
