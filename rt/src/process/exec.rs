//! How the child replaces itself with the program: `execve`, and, where a command asks for
//! it, glibc's `execvp` rule for a file the kernel refuses as not a program (ENOEXEC: run it
//! as `/bin/sh FILE ARGS...`). Only system calls and the child's own stack: see `spawn`.
//!
//! # Safety
//!
//! Each function here takes a NUL-terminated path and NULL-terminated arrays of
//! NUL-terminated strings, alive for the call (the caller's contract), and passes them to
//! the kernel, which only reads them.
#![allow(unsafe_code)]

use super::*;

/// How the child execs a path: `execve`'s contract.
pub(super) type ExecFn =
    unsafe fn(*const c_char, *const *const c_char, *const *const c_char) -> Errno;

/// The most arguments a program without `#!` is run with through `/bin/sh` (`/bin/sh`
/// and its path included): the new argument vector lives on the child's small stack.
const SHELL_ARGS: usize = 256;

/// `execve`, and where the kernel answers ENOEXEC (a file with neither an ELF header nor
/// `#!`), `/bin/sh PATH ARGS...` as glibc's `execvp` does (and so tini): returns only on
/// failure, ENOEXEC if the shell cannot be run either or the arguments are more than
/// `SHELL_ARGS`. Learned from POSIX's description of `execvp`; musl's `execvp` and glibc's
/// `posix_spawn` (std's `Command`) do not do this.
///
/// # Safety
/// As `execve`.
#[inline(never)]
pub(super) unsafe fn exec_or_shell(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller's contract.
    let e = unsafe { execve(path, argv, envp) };
    if e != Errno::ENOEXEC {
        return e;
    }
    let mut new = [core::ptr::null::<c_char>(); SHELL_ARGS];
    new[0] = c"/bin/sh".as_ptr();
    new[1] = path;
    // argv[1..], then the NULL already there; an empty argv gives none.
    let mut i = 0;
    loop {
        // SAFETY: `argv` is NULL-terminated (the caller's contract): we read up to its NULL.
        let a = unsafe { *argv.add(i) };
        if a.is_null() {
            break;
        }
        i += 1;
        if i == 1 {
            continue;
        }
        match new.get_mut(i) {
            // Room for the NULL after it too.
            Some(slot) if i + 1 < SHELL_ARGS => *slot = a,
            _ => return Errno::ENOEXEC,
        }
    }
    // SAFETY: `new` is NULL-terminated (zeroed past what was written), of NUL-terminated
    // strings: ours, `path` and the caller's.
    let _ = unsafe { execve(new[0], new.as_ptr(), envp) };
    Errno::ENOEXEC
}

/// `execve` as an `ExecFn` (the commands that do not ask for the shell fallback).
///
/// # Safety
/// As `execve`.
pub(super) unsafe fn plain_execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller's contract.
    unsafe { execve(path, argv, envp) }
}

/// `execve(path, argv, envp)`: returns only on failure.
///
/// # Safety
/// `path` is NUL-terminated, `argv` and `envp` NULL-terminated arrays of such strings.
#[inline(always)]
pub(super) unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller's contract.
    let r = unsafe {
        syscall3(
            g::__NR_execve as usize,
            path as usize,
            argv as usize,
            envp as usize,
        )
    };
    Errno::from_ret(r).err().unwrap_or(Errno::EIO)
}
