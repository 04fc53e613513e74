//! `Errno`: the error half of every fallible call.
//!
//! The kernel reports failure by returning a value in -4095..=-1 (read as an unsigned word:
//! the top 4095 values); the negation is the error number. [`Errno::from_ret`] applies that
//! convention, so each wrapper is a one-liner. Numbers come from `linux-raw-sys`, which
//! knows the few architectures whose numbers differ.

use core::fmt;
use linux_raw_sys::errno as e;

/// A Linux error number, always in 1..=4095.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Errno(u16);

/// The largest error number the kernel's return convention can carry.
pub const MAX_ERRNO: usize = 4095;

impl Errno {
    /// Wraps a positive error number; `None` outside 1..=4095.
    pub const fn new(raw: i32) -> Option<Errno> {
        if raw >= 1 && raw <= MAX_ERRNO as i32 {
            Some(Errno(raw as u16))
        } else {
            None
        }
    }

    /// The positive error number, as C's `errno` holds it.
    pub const fn raw(self) -> i32 {
        self.0 as i32
    }

    /// Reads a raw system call result: values in -4095..=-1 (as a signed word) are errors,
    /// every other value is a success.
    #[inline(always)]
    pub const fn from_ret(ret: usize) -> Result<usize, Errno> {
        if ret > usize::MAX - MAX_ERRNO {
            Err(Errno(ret.wrapping_neg() as u16))
        } else {
            Ok(ret)
        }
    }

    /// The symbolic name (`"EINVAL"`), or `None` for a number without one.
    pub fn name(self) -> Option<&'static str> {
        errno_name(self.0 as u32)
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} (os error {})", n, self.0),
            None => write!(f, "os error {}", self.0),
        }
    }
}

impl core::error::Error for Errno {}

macro_rules! errnos {
    ($($name:ident)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Errno = Errno(e::$name as u16);
            )*
            /// `EWOULDBLOCK`, the same number as `EAGAIN`.
            pub const EWOULDBLOCK: Errno = Errno(e::EWOULDBLOCK as u16);
            /// `EDEADLOCK`, the same number as `EDEADLK`.
            pub const EDEADLOCK: Errno = Errno(e::EDEADLOCK as u16);
        }

        fn errno_name(raw: u32) -> Option<&'static str> {
            #[allow(unreachable_patterns)]
            match raw {
                $(e::$name => Some(stringify!($name)),)*
                _ => None,
            }
        }
    };
}

errnos! {
    EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM EACCES EFAULT
    ENOTBLK EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOTTY ETXTBSY EFBIG
    ENOSPC ESPIPE EROFS EMLINK EPIPE EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY
    ELOOP ENOMSG EIDRM ECHRNG EL2NSYNC EL3HLT EL3RST ELNRNG EUNATCH ENOCSI EL2HLT EBADE EBADR
    EXFULL ENOANO EBADRQC EBADSLT EBFONT ENOSTR ENODATA ETIME ENOSR ENONET ENOPKG EREMOTE
    ENOLINK EADV ESRMNT ECOMM EPROTO EMULTIHOP EDOTDOT EBADMSG EOVERFLOW ENOTUNIQ EBADFD
    EREMCHG ELIBACC ELIBBAD ELIBSCN ELIBMAX ELIBEXEC EILSEQ ERESTART ESTRPIPE EUSERS ENOTSOCK
    EDESTADDRREQ EMSGSIZE EPROTOTYPE ENOPROTOOPT EPROTONOSUPPORT ESOCKTNOSUPPORT EOPNOTSUPP
    EPFNOSUPPORT EAFNOSUPPORT EADDRINUSE EADDRNOTAVAIL ENETDOWN ENETUNREACH ENETRESET
    ECONNABORTED ECONNRESET ENOBUFS EISCONN ENOTCONN ESHUTDOWN ETOOMANYREFS ETIMEDOUT
    ECONNREFUSED EHOSTDOWN EHOSTUNREACH EALREADY EINPROGRESS ESTALE EUCLEAN ENOTNAM ENAVAIL
    EISNAM EREMOTEIO EDQUOT ENOMEDIUM EMEDIUMTYPE ECANCELED ENOKEY EKEYEXPIRED EKEYREVOKED
    EKEYREJECTED EOWNERDEAD ENOTRECOVERABLE ERFKILL EHWPOISON
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_convention() {
        assert_eq!(Errno::from_ret(0), Ok(0));
        assert_eq!(Errno::from_ret(4096), Ok(4096));
        assert_eq!(Errno::from_ret(usize::MAX - 4095), Ok(usize::MAX - 4095));
        assert_eq!(Errno::from_ret(-1isize as usize), Err(Errno::EPERM));
        assert_eq!(Errno::from_ret(-22isize as usize), Err(Errno::EINVAL));
        assert_eq!(
            Errno::from_ret(-4095isize as usize).unwrap_err().raw(),
            4095
        );
    }

    #[test]
    fn names_and_bounds() {
        assert_eq!(Errno::EINVAL.name(), Some("EINVAL"));
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::new(0), None);
        assert_eq!(Errno::new(4096), None);
        assert_eq!(Errno::new(4000).unwrap().name(), None);
        extern crate std;
        use std::format;
        assert_eq!(format!("{}", Errno::ENOSYS), "ENOSYS (os error 38)");
        assert_eq!(format!("{:?}", Errno::new(999).unwrap()), "Errno(999)");
        // The numbers agree with the C library's.
        for (ours, theirs) in [
            (Errno::EPERM, libc::EPERM),
            (Errno::EINVAL, libc::EINVAL),
            (Errno::ENOSYS, libc::ENOSYS),
            (Errno::EOVERFLOW, libc::EOVERFLOW),
            (Errno::EHWPOISON, libc::EHWPOISON),
        ] {
            assert_eq!(ours.raw(), theirs);
        }
    }
}
