//! The system calls under `event`: epoll (`epoll_create1`, `epoll_ctl`, `epoll_pwait`, and
//! `epoll_pwait2` with a nanosecond timeout on Linux 5.11+), `eventfd2` and `pidfd_open`
//! (Linux 5.3+), each safe over Rust references. `epoll_pwait` is the one epoll wait every
//! architecture has (aarch64 and riscv64 have no `epoll_wait`); the kernel's
//! `struct epoll_event` is linux-raw-sys's, packed to 12 bytes on x86_64 as the kernel's.
//!
//! # Safety
//!
//! As the module above: each call passes only references it borrows, with their lengths,
//! or plain integers; a new descriptor from the kernel becomes an `OwnedFd` at once.

use crate::arch::{syscall2, syscall4, syscall6};
use crate::errno::Errno;
use crate::fd::{FromRawFd, OwnedFd};
use linux_raw_sys::general::{self as g, __kernel_timespec, epoll_event};

/// The kernel's signal set size, for the calls' `sigsetsize` (no mask is passed).
const SET_SIZE: usize = 8;

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub fn epoll_create() -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers.
    let fd = Errno::from_ret(unsafe {
        crate::arch::syscall1(g::__NR_epoll_create1 as usize, g::EPOLL_CLOEXEC as usize)
    })?;
    // SAFETY: a new descriptor from the kernel: nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `epoll_ctl(ep, op, fd, event)`: `event` is NULL for `EPOLL_CTL_DEL`.
pub fn epoll_ctl(ep: i32, op: u32, fd: i32, event: Option<&epoll_event>) -> Result<(), Errno> {
    let ptr = event.map_or(0, |e| e as *const epoll_event as usize);
    // SAFETY: the kernel reads one `epoll_event` we borrow (or nothing).
    Errno::from_ret(unsafe {
        syscall4(
            g::__NR_epoll_ctl as usize,
            ep as usize,
            op as usize,
            fd as usize,
            ptr,
        )
    })
    .map(|_| ())
}

/// `epoll_pwait(ep, events, len, ms, NULL)`: how many events it wrote; `ms` -1 waits for
/// ever.
pub fn epoll_pwait(ep: i32, events: &mut [epoll_event], ms: i32) -> Result<usize, Errno> {
    let len = events.len().min(i32::MAX as usize);
    // SAFETY: the kernel writes at most `len` events into the slice we borrow mutably; no
    // signal mask.
    Errno::from_ret(unsafe {
        syscall6(
            g::__NR_epoll_pwait as usize,
            ep as usize,
            events.as_mut_ptr() as usize,
            len,
            ms as isize as usize,
            0,
            SET_SIZE,
        )
    })
}

/// `epoll_pwait2(ep, events, len, timeout, NULL)` (Linux 5.11+; the timeout is 64-bit on
/// every architecture): how many events it wrote; `None` waits for ever.
pub fn epoll_pwait2(
    ep: i32,
    events: &mut [epoll_event],
    timeout: Option<&__kernel_timespec>,
) -> Result<usize, Errno> {
    let len = events.len().min(i32::MAX as usize);
    let t = timeout.map_or(0, |t| t as *const __kernel_timespec as usize);
    // SAFETY: the kernel writes at most `len` events into the slice we borrow mutably and
    // reads the timeout we borrow (or none); no signal mask.
    Errno::from_ret(unsafe {
        syscall6(
            g::__NR_epoll_pwait2 as usize,
            ep as usize,
            events.as_mut_ptr() as usize,
            len,
            t,
            0,
            SET_SIZE,
        )
    })
}

/// `eventfd2(0, EFD_CLOEXEC | EFD_NONBLOCK)`.
pub fn eventfd() -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers.
    let fd = Errno::from_ret(unsafe {
        syscall2(
            g::__NR_eventfd2 as usize,
            0,
            (g::O_CLOEXEC | g::O_NONBLOCK) as usize,
        )
    })?;
    // SAFETY: a new descriptor from the kernel: nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_open(pid, 0)` (Linux 5.3+; close-on-exec always).
pub fn pidfd_open(pid: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: no pointers.
    let fd = Errno::from_ret(unsafe { syscall2(g::__NR_pidfd_open as usize, pid as usize, 0) })?;
    // SAFETY: a new descriptor from the kernel: nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
