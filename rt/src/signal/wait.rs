//! Taking a signal without a handler: [`timed_wait`] (`rt_sigtimedwait`) and its
//! [`SigInfo`], and [`SignalFd`], which reads pending signals through a descriptor.
//!
//! # Safety
//!
//! Each system call passes the 8-byte set and a record of ours, borrowed for the call.

use super::*;

/// What the kernel tells about a signal (`siginfo_t`, 128 bytes): who sent it, why, and
/// for SIGCHLD how the child changed.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SigInfo {
    words: [usize; 128 / size_of::<usize>()],
}

impl core::fmt::Debug for SigInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigInfo")
            .field("signo", &self.signo())
            .field("code", &self.code())
            .field("pid", &self.pid())
            .finish()
    }
}

/// Where the union of `siginfo_t` starts: after three ints, aligned for a pointer.
const UNION: usize = if size_of::<usize>() == 8 { 16 } else { 12 };

impl SigInfo {
    const ZERO: SigInfo = SigInfo {
        words: [0; 128 / size_of::<usize>()],
    };

    fn i32_at(&self, off: usize) -> i32 {
        let b = self.bytes();
        let mut w = [0u8; 4];
        w.copy_from_slice(b.get(off..off + 4).unwrap_or(&[0; 4]));
        i32::from_ne_bytes(w)
    }

    fn bytes(&self) -> &[u8; 128] {
        // SAFETY: 128 bytes of plain integers, seen as bytes.
        unsafe { &*(self as *const SigInfo as *const [u8; 128]) }
    }

    /// The signal number (`si_signo`).
    #[must_use]
    pub fn signo(&self) -> i32 {
        self.i32_at(0)
    }

    /// The signal, if the number is one.
    #[must_use]
    pub fn signal(&self) -> Option<Signal> {
        Signal::new(self.signo())
    }

    /// Why it was sent (`si_code`): SI_USER (0) for `kill`, SI_TKILL (-6) for `tgkill`,
    /// SI_QUEUE (-1), a positive kernel reason (CLD_EXITED, SEGV_MAPERR, ...).
    #[must_use]
    pub fn code(&self) -> i32 {
        self.i32_at(8)
    }

    /// `si_errno`.
    #[must_use]
    pub fn errno(&self) -> i32 {
        self.i32_at(4)
    }

    /// The sender's process id (for `kill`, `tgkill`, `sigqueue` and SIGCHLD).
    #[must_use]
    pub fn pid(&self) -> i32 {
        self.i32_at(UNION)
    }

    /// The sender's real user id.
    #[must_use]
    pub fn uid(&self) -> u32 {
        self.i32_at(UNION + 4) as u32
    }

    /// SIGCHLD: the exit code or the signal (by [`code`](Self::code)); for a queued
    /// signal, the low half of its value.
    #[must_use]
    pub fn status(&self) -> i32 {
        self.i32_at(UNION + 8)
    }

    /// SIGSEGV, SIGBUS, SIGILL, SIGFPE: the faulting address.
    #[must_use]
    pub fn addr(&self) -> usize {
        self.words[UNION / size_of::<usize>()]
    }
}

/// The code of a signal sent by `kill` (`si_code`).
pub const SI_USER: i32 = 0;
/// The code of a signal sent by `tgkill` or `raise`.
pub const SI_TKILL: i32 = -6;

/// Waits until one of `set` is pending, takes it and tells about it; `Ok(None)` when
/// `timeout` passes first (`None`: no limit). The signals should be blocked: an unblocked
/// one may be delivered (to a handler, or its default action) instead. EINTR when a
/// signal outside the set ran a handler.
pub fn timed_wait(set: SigSet, timeout: Option<Duration>) -> Result<Option<SigInfo>, Errno> {
    let mask = set.kernel();
    let mut info = SigInfo::ZERO;
    let mut signo = 0;
    let ts = timeout.map(crate::time::sleep::kernel_duration);
    let r = crate::sys::time64_or_32(NR.rt_sigtimedwait32.is_some(), |old| {
        let (nr, t32);
        let tp = match (old, ts.as_ref()) {
            (_, None) => {
                nr = if old {
                    NR.rt_sigtimedwait32
                } else {
                    Some(NR.rt_sigtimedwait)
                };
                0
            }
            (false, Some(t)) => {
                nr = Some(NR.rt_sigtimedwait);
                t as *const __kernel_timespec as usize
            }
            (true, Some(t)) => {
                nr = NR.rt_sigtimedwait32;
                t32 = crate::sys::Timespec32 {
                    sec: t.tv_sec.min(i32::MAX as i64) as i32,
                    nsec: t.tv_nsec as i32,
                };
                &t32 as *const crate::sys::Timespec32 as usize
            }
        };
        let Some(nr) = nr else {
            return Err(Errno::ENOSYS);
        };
        // SAFETY: the kernel reads the 8-byte set and the timeout (or NULL) and writes one
        // siginfo_t into `info`: all ours, alive for the call.
        let r = Errno::from_ret(unsafe {
            syscall4(
                nr,
                &mask as *const kernel_sigset_t as usize,
                &mut info as *mut SigInfo as usize,
                tp,
                SET_SIZE,
            )
        });
        r.map(|n| signo = n)
    });
    match r {
        Ok(()) => Ok(Some(info).filter(|_| signo != 0)),
        Err(Errno::EAGAIN) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One record read from a [`SignalFd`] (`struct signalfd_siginfo`, 128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SignalFdInfo {
    /// The signal number.
    pub signo: u32,
    /// `si_errno`.
    pub errno: i32,
    /// `si_code` (see [`SigInfo::code`]).
    pub code: i32,
    /// The sender's process id.
    pub pid: u32,
    /// The sender's real user id.
    pub uid: u32,
    /// SIGIO: the file descriptor.
    pub fd: i32,
    /// A POSIX timer's id.
    pub tid: u32,
    /// SIGIO: the band event.
    pub band: u32,
    /// A POSIX timer's overrun count.
    pub overrun: u32,
    /// The trap number.
    pub trapno: u32,
    /// SIGCHLD: the exit code or signal.
    pub status: i32,
    /// A queued signal's value (as an int).
    pub int: i32,
    /// A queued signal's value (as a pointer).
    pub ptr: u64,
    /// SIGCHLD: user CPU time.
    pub utime: u64,
    /// SIGCHLD: system CPU time.
    pub stime: u64,
    /// The faulting address.
    pub addr: u64,
    /// `ssi_addr_lsb`.
    pub addr_lsb: u16,
    _pad2: u16,
    /// SIGSYS: the system call.
    pub syscall: i32,
    /// SIGSYS: its address.
    pub call_addr: u64,
    /// SIGSYS: its AUDIT_ARCH.
    pub arch: u32,
    _pad: [u8; 28],
}

flags_type! {
    /// Flags for [`SignalFd::new`].
    pub struct SignalFdFlags;
    /// Close-on-exec (`SFD_CLOEXEC`).
    CLOEXEC = g::O_CLOEXEC;
    /// Reads answer EAGAIN when nothing is pending (`SFD_NONBLOCK`).
    NONBLOCK = g::O_NONBLOCK;
    /// Neither.
    NONE = 0;
}

/// A file descriptor that reads the pending signals of a set (`signalfd4`), so that a
/// program can wait for signals together with other descriptors. Block the set first:
/// an unblocked signal is delivered as usual instead. It owns the descriptor (closed when
/// dropped), lent through [`AsFd`](crate::fd::AsFd).
#[derive(Debug)]
pub struct SignalFd(OwnedFd);

crate::fd::owns_fd!(SignalFd);

impl SignalFd {
    /// A new descriptor for `set`.
    pub fn new(set: SigSet, flags: SignalFdFlags) -> Result<SignalFd, Errno> {
        let k = set.kernel();
        // SAFETY: the kernel reads the 8-byte set, ours.
        let fd = Errno::from_ret(unsafe {
            syscall4(
                g::__NR_signalfd4 as usize,
                -1isize as usize,
                &k as *const kernel_sigset_t as usize,
                SET_SIZE,
                flags.0 as usize,
            )
        })?;
        // SAFETY: a new descriptor from the kernel: nothing else owns it.
        Ok(SignalFd(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
    }

    /// Changes the set the descriptor reads (`signalfd4` on it).
    pub fn set_mask(&self, set: SigSet) -> Result<(), Errno> {
        let k = set.kernel();
        // SAFETY: the kernel reads the 8-byte set, ours.
        Errno::from_ret(unsafe {
            syscall4(
                g::__NR_signalfd4 as usize,
                self.0.as_raw_fd() as usize,
                &k as *const kernel_sigset_t as usize,
                SET_SIZE,
                0,
            )
        })
        .map(|_| ())
    }

    /// Takes pending signals of the set into `buf`, as many as are pending and fit, in one
    /// `read`: how many (blocking until there is one, unless NONBLOCK: then EAGAIN). EINVAL
    /// for an empty `buf`.
    pub fn read_many(&self, buf: &mut [SignalFdInfo]) -> Result<usize, Errno> {
        const { assert!(size_of::<SignalFdInfo>() == 128) };
        if buf.is_empty() {
            return Err(Errno::EINVAL);
        }
        // SAFETY: SignalFdInfo is 128 bytes of plain integers: any bytes are a value; the
        // byte view covers exactly the records we borrow mutably.
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut u8, buf.len() * 128)
        };
        loop {
            match crate::sys::read(self.0.as_raw_fd(), bytes) {
                Ok(n) if n > 0 && n % 128 == 0 => return Ok(n / 128),
                Ok(_) => return Err(Errno::EIO),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes one pending signal of the set (blocking until there is one, unless NONBLOCK:
    /// then EAGAIN).
    pub fn read(&self) -> Result<SignalFdInfo, Errno> {
        let mut info = SignalFdInfo::default();
        const { assert!(size_of::<SignalFdInfo>() == 128) };
        // SAFETY: SignalFdInfo is 128 bytes of plain integers: any bytes are a value.
        let buf = unsafe {
            core::slice::from_raw_parts_mut(&mut info as *mut SignalFdInfo as *mut u8, 128)
        };
        loop {
            match crate::sys::read(self.0.as_raw_fd(), buf) {
                Ok(128) => return Ok(info),
                Ok(_) => return Err(Errno::EIO),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
