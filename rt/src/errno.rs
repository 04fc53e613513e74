//! `Errno`: the error half of every fallible call.
//!
//! The kernel reports failure by returning a value in -4095..=-1 (read as an unsigned word:
//! the top 4095 values); the negation is the error number. [`Errno::from_ret`] applies that
//! convention, so each wrapper is a one-liner. Numbers come from `linux-raw-sys`, which
//! knows the few architectures whose numbers differ.
//!
//! ```
//! use tinyrt_rt::Errno;
//!
//! // A raw system-call result: -2 is ENOENT, anything else is the value.
//! assert_eq!(Errno::from_ret(-2isize as usize), Err(Errno::ENOENT));
//! assert_eq!(Errno::from_ret(3), Ok(3));
//! assert_eq!(Errno::ENOENT.raw(), 2);
//! assert_eq!(Errno::ENOENT.name(), Some("ENOENT"));
//! // Shown as std shows an `io::Error` from the same number.
//! let std_says = std::io::Error::from_raw_os_error(2).to_string();
//! assert_eq!(Errno::ENOENT.to_string(), std_says);
//! ```

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
    #[must_use]
    pub const fn new(raw: i32) -> Option<Errno> {
        if raw >= 1 && raw <= MAX_ERRNO as i32 {
            Some(Errno(raw as u16))
        } else {
            None
        }
    }

    /// The positive error number, as C's `errno` holds it.
    #[must_use]
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
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        errno_name(self.0 as u32)
    }

    /// The text (`"Invalid argument"`), as the C library's `strerror` and std's `io::Error`
    /// give it, or `None` for a number without one.
    #[must_use]
    pub fn text(self) -> Option<&'static str> {
        errno_text(self.0 as u32)
    }

    /// The text of an error `write(2)` gives (the same as [`Errno::text`]'s), `None` for
    /// another: for reports that should not carry every text.
    pub(crate) fn write_error_text(self) -> Option<&'static str> {
        Some(match self {
            Errno::ENOSPC => "No space left on device",
            Errno::EPIPE => "Broken pipe",
            Errno::EBADF => "Bad file descriptor",
            Errno::EIO => "Input/output error",
            Errno::EDQUOT => "Disk quota exceeded",
            Errno::EFBIG => "File too large",
            Errno::EAGAIN => "Resource temporarily unavailable",
            Errno::EINVAL => "Invalid argument",
            Errno::ENXIO => "No such device or address",
            Errno::EPERM => "Operation not permitted",
            Errno::EFAULT => "Bad address",
            Errno::EDESTADDRREQ => "Destination address required",
            Errno::ECONNRESET => "Connection reset by peer",
            _ => return None,
        })
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

/// What std's `io::Error` says: `Is a directory (os error 21)`, and `Unknown error N (os
/// error N)` for a number without a text. (`{:?}` gives the name, `EISDIR`.)
impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(t) => write!(f, "{} (os error {})", t, self.0),
            None => write!(f, "Unknown error {0} (os error {0})", self.0),
        }
    }
}

impl core::error::Error for Errno {}

/// Numbers below this have a name and a text (the largest on every architecture is 133).
const KNOWN: usize = 160;

/// Strings for the numbers below `KNOWN`: one string, each piece's start and length.
struct Table {
    all: &'static str,
    start: [u16; KNOWN],
    len: [u8; KNOWN],
}

impl Table {
    /// The table of `pieces` (number, string), whose strings, in order, make up `all`.
    const fn new(pieces: &[(u32, &str)], all: &'static str) -> Table {
        let mut t = Table {
            all,
            start: [0; KNOWN],
            len: [0; KNOWN],
        };
        let (mut i, mut at) = (0, 0);
        while i < pieces.len() {
            let (n, s) = pieces[i];
            assert!((n as usize) < KNOWN && s.len() < 256);
            // The first piece of a number wins: EDEADLOCK is listed after EDEADLK, whose
            // number it shares everywhere but on powerpc.
            if t.len[n as usize] == 0 {
                t.start[n as usize] = at as u16;
                t.len[n as usize] = s.len() as u8;
            }
            at += s.len();
            i += 1;
        }
        assert!(at == all.len());
        t
    }

    fn get(&self, raw: u32) -> Option<&'static str> {
        let i = raw as usize;
        let (start, len) = (*self.start.get(i)? as usize, *self.len.get(i)? as usize);
        match len {
            0 => None,
            _ => self.all.get(start..start + len),
        }
    }
}

/// Each error's constant, name and text. The texts are the ones the C library's `strerror`
/// gives (glibc's, which std's `io::Error` shows: a test compares every one).
macro_rules! errnos {
    ($($name:ident $text:literal)*) => {
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

        /// Every name, then every text, each table one string with the pieces' places by
        /// number: a third the size of a `match` over string slices.
        // EDEADLOCK last: its own number only on powerpc (58, glibc's text there).
        static NAMES: Table = Table::new(
            &[$((e::$name, stringify!($name)),)* (e::EDEADLOCK, "EDEADLOCK")],
            concat!($(stringify!($name),)* "EDEADLOCK"),
        );
        static TEXTS: Table = Table::new(
            &[$((e::$name, $text),)* (e::EDEADLOCK, "File locking deadlock error")],
            concat!($($text,)* "File locking deadlock error"),
        );

        fn errno_name(raw: u32) -> Option<&'static str> {
            NAMES.get(raw)
        }

        fn errno_text(raw: u32) -> Option<&'static str> {
            TEXTS.get(raw)
        }
    };
}

errnos! {
    EPERM "Operation not permitted"
    ENOENT "No such file or directory"
    ESRCH "No such process"
    EINTR "Interrupted system call"
    EIO "Input/output error"
    ENXIO "No such device or address"
    E2BIG "Argument list too long"
    ENOEXEC "Exec format error"
    EBADF "Bad file descriptor"
    ECHILD "No child processes"
    EAGAIN "Resource temporarily unavailable"
    ENOMEM "Cannot allocate memory"
    EACCES "Permission denied"
    EFAULT "Bad address"
    ENOTBLK "Block device required"
    EBUSY "Device or resource busy"
    EEXIST "File exists"
    EXDEV "Invalid cross-device link"
    ENODEV "No such device"
    ENOTDIR "Not a directory"
    EISDIR "Is a directory"
    EINVAL "Invalid argument"
    ENFILE "Too many open files in system"
    EMFILE "Too many open files"
    ENOTTY "Inappropriate ioctl for device"
    ETXTBSY "Text file busy"
    EFBIG "File too large"
    ENOSPC "No space left on device"
    ESPIPE "Illegal seek"
    EROFS "Read-only file system"
    EMLINK "Too many links"
    EPIPE "Broken pipe"
    EDOM "Numerical argument out of domain"
    ERANGE "Numerical result out of range"
    EDEADLK "Resource deadlock avoided"
    ENAMETOOLONG "File name too long"
    ENOLCK "No locks available"
    ENOSYS "Function not implemented"
    ENOTEMPTY "Directory not empty"
    ELOOP "Too many levels of symbolic links"
    ENOMSG "No message of desired type"
    EIDRM "Identifier removed"
    ECHRNG "Channel number out of range"
    EL2NSYNC "Level 2 not synchronized"
    EL3HLT "Level 3 halted"
    EL3RST "Level 3 reset"
    ELNRNG "Link number out of range"
    EUNATCH "Protocol driver not attached"
    ENOCSI "No CSI structure available"
    EL2HLT "Level 2 halted"
    EBADE "Invalid exchange"
    EBADR "Invalid request descriptor"
    EXFULL "Exchange full"
    ENOANO "No anode"
    EBADRQC "Invalid request code"
    EBADSLT "Invalid slot"
    EBFONT "Bad font file format"
    ENOSTR "Device not a stream"
    ENODATA "No data available"
    ETIME "Timer expired"
    ENOSR "Out of streams resources"
    ENONET "Machine is not on the network"
    ENOPKG "Package not installed"
    EREMOTE "Object is remote"
    ENOLINK "Link has been severed"
    EADV "Advertise error"
    ESRMNT "Srmount error"
    ECOMM "Communication error on send"
    EPROTO "Protocol error"
    EMULTIHOP "Multihop attempted"
    EDOTDOT "RFS specific error"
    EBADMSG "Bad message"
    EOVERFLOW "Value too large for defined data type"
    ENOTUNIQ "Name not unique on network"
    EBADFD "File descriptor in bad state"
    EREMCHG "Remote address changed"
    ELIBACC "Can not access a needed shared library"
    ELIBBAD "Accessing a corrupted shared library"
    ELIBSCN ".lib section in a.out corrupted"
    ELIBMAX "Attempting to link in too many shared libraries"
    ELIBEXEC "Cannot exec a shared library directly"
    EILSEQ "Invalid or incomplete multibyte or wide character"
    ERESTART "Interrupted system call should be restarted"
    ESTRPIPE "Streams pipe error"
    EUSERS "Too many users"
    ENOTSOCK "Socket operation on non-socket"
    EDESTADDRREQ "Destination address required"
    EMSGSIZE "Message too long"
    EPROTOTYPE "Protocol wrong type for socket"
    ENOPROTOOPT "Protocol not available"
    EPROTONOSUPPORT "Protocol not supported"
    ESOCKTNOSUPPORT "Socket type not supported"
    EOPNOTSUPP "Operation not supported"
    EPFNOSUPPORT "Protocol family not supported"
    EAFNOSUPPORT "Address family not supported by protocol"
    EADDRINUSE "Address already in use"
    EADDRNOTAVAIL "Cannot assign requested address"
    ENETDOWN "Network is down"
    ENETUNREACH "Network is unreachable"
    ENETRESET "Network dropped connection on reset"
    ECONNABORTED "Software caused connection abort"
    ECONNRESET "Connection reset by peer"
    ENOBUFS "No buffer space available"
    EISCONN "Transport endpoint is already connected"
    ENOTCONN "Transport endpoint is not connected"
    ESHUTDOWN "Cannot send after transport endpoint shutdown"
    ETOOMANYREFS "Too many references: cannot splice"
    ETIMEDOUT "Connection timed out"
    ECONNREFUSED "Connection refused"
    EHOSTDOWN "Host is down"
    EHOSTUNREACH "No route to host"
    EALREADY "Operation already in progress"
    EINPROGRESS "Operation now in progress"
    ESTALE "Stale file handle"
    EUCLEAN "Structure needs cleaning"
    ENOTNAM "Not a XENIX named type file"
    ENAVAIL "No XENIX semaphores available"
    EISNAM "Is a named type file"
    EREMOTEIO "Remote I/O error"
    EDQUOT "Disk quota exceeded"
    ENOMEDIUM "No medium found"
    EMEDIUMTYPE "Wrong medium type"
    ECANCELED "Operation canceled"
    ENOKEY "Required key not available"
    EKEYEXPIRED "Key has expired"
    EKEYREVOKED "Key has been revoked"
    EKEYREJECTED "Key was rejected by service"
    EOWNERDEAD "Owner died"
    ENOTRECOVERABLE "State not recoverable"
    ERFKILL "Operation not possible due to RF-kill"
    EHWPOISON "Memory page has hardware error"
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
        assert_eq!(
            format!("{}", Errno::ENOSYS),
            "Function not implemented (os error 38)"
        );
        // Every number as std's io::Error (glibc's strerror) says it, known or not.
        for raw in 1..=4095 {
            let ours = Errno::new(raw).unwrap();
            assert_eq!(
                format!("{ours}"),
                format!("{}", std::io::Error::from_raw_os_error(raw)),
                "{raw}"
            );
            assert_eq!(ours.text().is_some(), ours.name().is_some(), "{raw}");
            if let Some(t) = ours.write_error_text() {
                assert_eq!(Some(t), ours.text(), "{raw}");
            }
        }
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
