//! Owned and borrowed file descriptors, shaped like std's `std::os::fd` (and rustix's
//! `fd`): [`OwnedFd`] closes its descriptor when dropped and is not `Copy`;
//! [`BorrowedFd`] is a `Copy` number tied by a lifetime to whatever owns it; [`AsFd`]
//! borrows one from any owner; [`AsRawFd`], [`FromRawFd`] and [`IntoRawFd`] cross to and
//! from plain numbers ([`RawFd`]), the way in being `unsafe`, as in std.
//!
//! With these, no safe call of tinyrt closes or replaces a descriptor that something else
//! owns: a [`TimerFd`](crate::time::TimerFd), a [`SignalFd`](crate::signal::SignalFd), a
//! pipe end and a child's standard streams each own an `OwnedFd`, and
//! [`process::dup2`](crate::process::dup2) takes the descriptor it replaces as
//! `&mut OwnedFd`.
//!
//! Why not rustix's (or std's) types: std's need std, and tinyrt-rt is `no_std`; rustix's
//! `fd` module is `no_std`, but rustix builds its libc-free backend only on five of
//! tinyrt's seven architectures with stable Rust (on s390x and powerpc64 its build script
//! picks the libc backend unless `--cfg rustix_use_experimental_asm`, a nightly feature),
//! so tinyrt-rt cannot depend on it. The types are std's shape, so they convert both ways
//! through the raw number:
//!
//! ```
//! use std::os::fd::{FromRawFd as _, IntoRawFd as _};
//! use tinyrt_rt::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
//!
//! let (r, w) = tinyrt_rt::process::pipe().unwrap();
//! let n = w.as_raw_fd();
//! // SAFETY: `into_raw_fd` gave up the descriptor: the new owner is its only one.
//! let std_w = unsafe { std::os::fd::OwnedFd::from_raw_fd(w.into_raw_fd()) };
//! // And back, with the same number (rustix's `OwnedFd` converts the same way).
//! // SAFETY: as above.
//! let w = unsafe { OwnedFd::from_raw_fd(std_w.into_raw_fd()) };
//! assert_eq!(w.as_raw_fd(), n);
//! tinyrt_rt::io::write_all(&w, b"x").unwrap();
//! let mut b = [0u8; 1];
//! assert_eq!(tinyrt_rt::io::read(&r, &mut b), Ok(1));
//! ```
//!
//! A borrowed descriptor cannot outlive its owner:
//!
//! ```compile_fail,E0505
//! use tinyrt_rt::fd::AsFd;
//! use tinyrt_rt::time::{ClockId, TimerFd, TimerFlags};
//!
//! let timer = TimerFd::new(ClockId::MONOTONIC, TimerFlags::CLOEXEC).unwrap();
//! let fd = timer.as_fd();
//! drop(timer); // closes the descriptor `fd` borrows
//! let _ = tinyrt_rt::io::write(fd, b"x");
//! ```
//!
//! # Safety
//!
//! This module declares the two `unsafe` functions std has ([`BorrowedFd::borrow_raw`] and
//! [`FromRawFd::from_raw_fd`]): their callers promise what the types rely on (a borrowed
//! number stays open for the lifetime; an adopted one has no other owner). The rest keeps
//! those promises by construction: an [`OwnedFd`] is made only from a number its maker
//! owned, gives it up only by value ([`IntoRawFd`]), and lends it only for as long as it is
//! borrowed ([`AsFd`]). Its two unsafe blocks are system calls that take no pointer
//! (`close` in `Drop`, `fcntl(F_DUPFD_CLOEXEC)`), made here through `arch` rather than
//! `sys` so that `sys` can return `OwnedFd`s without a circle between the two.
//!
//! The standard streams' constants lend 0, 1 and 2 for `'static`, as std's `Stdout::as_fd`
//! does: tinyrt closes none of them and replaces them only in place
//! (`process::dup2_stdout` and its twins), and a program that adopts one with `from_raw_fd`
//! takes on not closing it while the constants are in use. (A program started with one
//! closed and `unsafe(keep_closed_stdio)` may have given that number to a descriptor of its
//! own: that option's contract, in `tinyrt::main!`, is the program's promise that the
//! streams then reach none of its own.)
#![allow(unsafe_code)]

use crate::arch::{syscall1, syscall3};
use crate::errno::Errno;
use core::marker::PhantomData;
use linux_raw_sys::general as g;

/// A file descriptor number, as the kernel's calls take it (std's `RawFd`).
pub type RawFd = i32;

/// A file descriptor that this value owns: closed when dropped (errors ignored, as std's).
/// Not `Copy`: [`AsFd::as_fd`] lends it, [`IntoRawFd::into_raw_fd`] gives it up.
#[derive(Debug)]
#[repr(transparent)]
pub struct OwnedFd {
    fd: RawFd,
}

/// A file descriptor borrowed from its owner for `'fd`: `Copy`, never closed through it.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub struct BorrowedFd<'fd> {
    fd: RawFd,
    owner: PhantomData<&'fd OwnedFd>,
}

/// Standard input, borrowed for the whole program (see the [Safety](self#safety) notes).
pub const STDIN: BorrowedFd<'static> = BorrowedFd::std(0);
/// Standard output.
pub const STDOUT: BorrowedFd<'static> = BorrowedFd::std(1);
/// Standard error.
pub const STDERR: BorrowedFd<'static> = BorrowedFd::std(2);

impl core::fmt::Debug for BorrowedFd<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BorrowedFd").field("fd", &self.fd).finish()
    }
}

impl BorrowedFd<'_> {
    /// The standard streams (no `unsafe`: see the module's Safety section).
    const fn std(fd: RawFd) -> BorrowedFd<'static> {
        BorrowedFd {
            fd,
            owner: PhantomData,
        }
    }

    /// Borrows the number `fd`.
    ///
    /// # Safety
    ///
    /// `fd` must be open, and stay open (not closed, not replaced by `dup2`) for the whole
    /// lifetime of the result. It must not be -1.
    #[inline]
    #[must_use]
    pub const unsafe fn borrow_raw(fd: RawFd) -> Self {
        BorrowedFd {
            fd,
            owner: PhantomData,
        }
    }

    /// A new owned descriptor for the same open file (`fcntl(F_DUPFD_CLOEXEC, 3)`:
    /// close-on-exec, numbered above the standard streams, as std's `try_clone_to_owned`).
    pub fn try_clone_to_owned(&self) -> Result<OwnedFd, Errno> {
        // SAFETY: no pointers.
        let r = unsafe {
            syscall3(
                g::__NR_fcntl as usize,
                self.fd as usize,
                g::F_DUPFD_CLOEXEC as usize,
                3,
            )
        };
        Errno::from_ret(r).map(|fd| OwnedFd { fd: fd as RawFd })
    }
}

impl OwnedFd {
    /// A new owned descriptor for the same open file, as [`BorrowedFd::try_clone_to_owned`].
    pub fn try_clone(&self) -> Result<OwnedFd, Errno> {
        self.as_fd().try_clone_to_owned()
    }
}

impl Drop for OwnedFd {
    #[inline]
    fn drop(&mut self) {
        // (Errors ignored, as std's: the number is released either way.)
        // SAFETY: no pointers.
        let _ = unsafe { syscall1(g::__NR_close as usize, self.fd as usize) };
    }
}

/// Lends a descriptor (std's `AsFd`).
pub trait AsFd {
    /// The descriptor, borrowed for as long as `self` is.
    fn as_fd(&self) -> BorrowedFd<'_>;
}

/// The number of a descriptor, with no claim on it (std's `AsRawFd`).
pub trait AsRawFd {
    /// The number; using it after the owner closed it is the caller's affair.
    fn as_raw_fd(&self) -> RawFd;
}

/// Takes ownership of a number (std's `FromRawFd`).
pub trait FromRawFd {
    /// Adopts `fd`.
    ///
    /// # Safety
    ///
    /// `fd` must be open and owned by nothing else: the result closes it when dropped.
    unsafe fn from_raw_fd(fd: RawFd) -> Self;
}

/// Gives a descriptor up as its number, without closing it (std's `IntoRawFd`).
pub trait IntoRawFd {
    /// The number, now the caller's to close.
    fn into_raw_fd(self) -> RawFd;
}

impl AsFd for OwnedFd {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        BorrowedFd {
            fd: self.fd,
            owner: PhantomData,
        }
    }
}

impl AsFd for BorrowedFd<'_> {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        *self
    }
}

impl<T: AsFd + ?Sized> AsFd for &T {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::as_fd(self)
    }
}

impl<T: AsFd + ?Sized> AsFd for &mut T {
    #[inline]
    fn as_fd(&self) -> BorrowedFd<'_> {
        T::as_fd(self)
    }
}

impl AsRawFd for OwnedFd {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl AsRawFd for BorrowedFd<'_> {
    #[inline]
    fn as_raw_fd(&self) -> RawFd {
        self.fd
    }
}

impl FromRawFd for OwnedFd {
    #[inline]
    unsafe fn from_raw_fd(fd: RawFd) -> OwnedFd {
        OwnedFd { fd }
    }
}

impl IntoRawFd for OwnedFd {
    #[inline]
    fn into_raw_fd(self) -> RawFd {
        let fd = self.fd;
        core::mem::forget(self);
        fd
    }
}

/// For the types that own one descriptor as field 0 (`TimerFd`, `SignalFd`): [`AsFd`],
/// [`AsRawFd`], [`IntoRawFd`] and `From<$t> for OwnedFd`, as std gives its `File`.
macro_rules! owns_fd {
    ($t:ty) => {
        impl $crate::fd::AsFd for $t {
            #[inline]
            fn as_fd(&self) -> $crate::fd::BorrowedFd<'_> {
                $crate::fd::AsFd::as_fd(&self.0)
            }
        }

        impl $crate::fd::AsRawFd for $t {
            #[inline]
            fn as_raw_fd(&self) -> $crate::fd::RawFd {
                $crate::fd::AsRawFd::as_raw_fd(&self.0)
            }
        }

        impl $crate::fd::IntoRawFd for $t {
            #[inline]
            fn into_raw_fd(self) -> $crate::fd::RawFd {
                $crate::fd::IntoRawFd::into_raw_fd(self.0)
            }
        }

        impl From<$t> for $crate::fd::OwnedFd {
            #[inline]
            fn from(owner: $t) -> $crate::fd::OwnedFd {
                owner.0
            }
        }
    };
}
pub(crate) use owns_fd;
