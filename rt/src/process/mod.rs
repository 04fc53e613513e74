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
//! # Safety
//!
//! The child runs on a buffer in `spawn`'s frame, which outlives it (we are suspended until
//! it execs or exits), and reads only the `ChildPlan` that frame owns; every pointer the
//! plan holds is to a NUL-terminated string or NULL-terminated array alive for the call.
//! System calls elsewhere here pass pointers to values they borrow for the call.
#![allow(unsafe_code)]

use crate::arch::{syscall1, syscall2, syscall3, syscall4};
use crate::errno::Errno;
use crate::io::Fd;
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

/// The code to exit with after `main` returned `code` (`tinyrt::main!` calls it): the same,
/// unless something to report at exit was set (a failed print to standard output). Only a
/// return from `main` gets here: `process::exit` reports nothing.
#[doc(hidden)]
pub fn exit_code_after_main(code: i32) -> i32 {
    match crate::sys::exit_report() {
        Some(report) => report(code),
        None => code,
    }
}

/// This process's id.
pub fn id() -> u32 {
    crate::sys::getpid()
}

/// The parent's process id.
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
pub fn set_parent_death_signal(sig: Option<Signal>) -> Result<(), Errno> {
    let n = sig.map_or(0, Signal::number) as usize;
    prctl(linux_raw_sys::prctl::PR_SET_PDEATHSIG, n).map(|_| ())
}

/// How a child ended (or stopped): the raw `wait` status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// From a raw `wait` status.
    pub const fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus(raw)
    }

    /// The raw `wait` status.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The exit code, if the child exited.
    pub const fn code(self) -> Option<i32> {
        if self.0 & 0x7f == 0 {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// The signal that ended the child, if one did.
    pub const fn signal(self) -> Option<Signal> {
        match self.0 & 0x7f {
            0 | 0x7f => None,
            n => Signal::new(n),
        }
    }

    /// Whether the ending signal dumped core.
    pub const fn core_dumped(self) -> bool {
        self.signal().is_some() && self.0 & 0x80 != 0
    }

    /// Whether the child exited with code 0.
    pub const fn success(self) -> bool {
        self.0 == 0
    }

    /// The shell's number for it: the exit code, or 128 plus the signal.
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

/// An owned file descriptor from [`pipe`] or [`Stdio::Pipe`]: closed when dropped.
#[derive(Debug)]
pub struct OwnedFd(Fd);

impl OwnedFd {
    /// The descriptor.
    pub fn as_raw_fd(&self) -> Fd {
        self.0
    }

    /// Gives the descriptor up without closing it.
    pub fn into_raw_fd(self) -> Fd {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }

    /// Reads into `buf`, retrying on EINTR: the number of bytes, 0 at end of file.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match crate::sys::read(self.0.0, buf) {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// Reads until end of file or until `buf` is full: the number of bytes.
    pub fn read_full(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(buf.get_mut(n..).unwrap_or_default())? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// Writes all of `buf`.
    pub fn write_all(&self, buf: &[u8]) -> Result<(), Errno> {
        crate::io::write_all(self.0, buf)
    }
}

impl Drop for OwnedFd {
    fn drop(&mut self) {
        let _ = crate::sys::close(self.0.0);
    }
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
    Ok((OwnedFd(Fd(fds[0])), OwnedFd(Fd(fds[1]))))
}

/// Makes `new` a copy of `old` (closing what `new` was), without close-on-exec; for
/// `old == new`, clears close-on-exec (EBADF if `old` is not open).
pub fn dup2(old: Fd, new: Fd) -> Result<(), Errno> {
    // SAFETY: no pointers.
    Errno::from_ret(unsafe { raw_dup2(old.0, new.0) }).map(|_| ())
}

/// `dup2` from `dup3` (which every architecture has) and `fcntl`: the raw result.
///
/// # Safety
/// None beyond the system calls' own: no pointers. Async-signal-safe (the child uses it).
#[inline(always)]
unsafe fn raw_dup2(old: i32, new: i32) -> usize {
    if old == new {
        // SAFETY: no pointers.
        return unsafe { syscall3(g::__NR_fcntl as usize, old as usize, g::F_SETFD as usize, 0) };
    }
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
