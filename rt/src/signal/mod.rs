//! Signals: numbers and sets, the signal mask, handlers and dispositions, waiting for a
//! signal (`sigtimedwait`, [`SignalFd`]), sending one, and the alternate signal stack.
//!
//! The kernel's signal set is 8 bytes (64 signals), not the 128 of libc's `sigset_t`, and
//! its `struct sigaction` differs per architecture: most take a restorer (the code a
//! handler returns into, which makes the `rt_sigreturn` or `sigreturn` call), some pick it
//! by SA_SIGINFO, one has no field for it; each architecture's choice is its `arch` file's
//! `kernel_action`. Handlers are installed only by tinyrt programs: in library mode glibc
//! owns the handlers (and its restorers), and [`set_action`] answers EOPNOTSUPP there;
//! masks, waiting and sending work in both.
//!
//! ```
//! use std::time::Duration;
//! use tinyrt_rt::signal::{self, SigSet, Signal};
//!
//! assert_eq!(Signal::from_name(b"USR1"), Some(Signal::USR1));
//! assert_eq!(Signal::USR1.name(), Some("SIGUSR1"));
//! let usr1 = SigSet::of(&[Signal::USR1]);
//! // Blocked, a raised signal stays pending until it is taken.
//! let before = signal::block(usr1).unwrap();
//! signal::raise(Signal::USR1).unwrap();
//! assert!(signal::pending().contains(Signal::USR1));
//! let info = signal::timed_wait(usr1, Some(Duration::ZERO)).unwrap().unwrap();
//! assert_eq!(info.signal(), Some(Signal::USR1));
//! assert_eq!(info.code(), signal::SI_TKILL);
//! assert!(!signal::pending().contains(Signal::USR1));
//! signal::set_mask(before).unwrap();
//! ```
//!
//! Learned from the kernel's `arch/*/kernel/signal*.c` and musl's `sigaction.c` and
//! restorer files (which restorer each architecture needs).
//!
//! # Safety
//!
//! Every system call here passes pointers to values this module owns or borrows for the
//! call, with the kernel's 8-byte set size. Installing a handler is `unsafe`
//! ([`set_action`]): the handler runs between any two instructions of the program and must
//! do only async-signal-safe work; the kernel calls it with the arguments its type names
//! (SA_SIGINFO is set exactly for [`Handler::Info`], and for a [`Handler::Saved`] the kernel
//! called that way when it was found). The alternate stack is a mapping of
//! our own that is never unmapped, or, for a thread of the thread module's, a part of that
//! thread's mapping, freed only once the thread can run nothing more.
#![allow(unsafe_code)]

use crate::arch::{NR, syscall2, syscall3, syscall4};
use crate::errno::Errno;
use crate::fd::{AsRawFd, FromRawFd, OwnedFd};
use core::ffi::c_void;
use core::time::Duration;
use linux_raw_sys::general as g;
use linux_raw_sys::general::{__kernel_timespec, kernel_sigset_t};

/// The kernel's signal set size, in bytes (`_NSIG / 8`).
const SET_SIZE: usize = 8;
/// The handler values of the default action and of ignoring.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// A signal number, 1 to 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(u8);

macro_rules! signals {
    ($($(#[$doc:meta])* $name:ident = $nr:ident,)*) => {
        /// The names of the standard signals in number order, each followed by a space:
        /// signal `n`'s is the `n`th (no table of `&str`: that would be 16 bytes a signal).
        const NAMES: &str = concat!($("SIG", stringify!($name), " "),*);

        // The list below must be in number order from 1, without gaps (as it is on every
        // Linux architecture tinyrt supports): `name` counts on it.
        const _: () = {
            let mut n = 1;
            $(
                assert!(g::$nr == n);
                n += 1;
            )*
        };

        impl Signal {
            $($(#[$doc])* pub const $name: Signal = Signal(g::$nr as u8);)*
        }
    };
}

signals! {
    /// Hangup.
    HUP = SIGHUP,
    /// Interrupt (Ctrl-C).
    INT = SIGINT,
    /// Quit (Ctrl-\).
    QUIT = SIGQUIT,
    /// Illegal instruction.
    ILL = SIGILL,
    /// Trace trap.
    TRAP = SIGTRAP,
    /// Abort.
    ABRT = SIGABRT,
    /// Bus error.
    BUS = SIGBUS,
    /// Arithmetic error.
    FPE = SIGFPE,
    /// Kill (cannot be caught, blocked or ignored).
    KILL = SIGKILL,
    /// User-defined 1.
    USR1 = SIGUSR1,
    /// Invalid memory access.
    SEGV = SIGSEGV,
    /// User-defined 2.
    USR2 = SIGUSR2,
    /// Write to a pipe nobody reads.
    PIPE = SIGPIPE,
    /// Timer (`alarm`).
    ALRM = SIGALRM,
    /// Termination request.
    TERM = SIGTERM,
    /// Stack fault (unused by Linux).
    STKFLT = SIGSTKFLT,
    /// A child stopped, continued or ended.
    CHLD = SIGCHLD,
    /// Continue if stopped.
    CONT = SIGCONT,
    /// Stop (cannot be caught, blocked or ignored).
    STOP = SIGSTOP,
    /// Stop from the terminal (Ctrl-Z).
    TSTP = SIGTSTP,
    /// Background read from the terminal.
    TTIN = SIGTTIN,
    /// Background write to the terminal.
    TTOU = SIGTTOU,
    /// Urgent data on a socket.
    URG = SIGURG,
    /// CPU time limit exceeded.
    XCPU = SIGXCPU,
    /// File size limit exceeded.
    XFSZ = SIGXFSZ,
    /// Virtual timer.
    VTALRM = SIGVTALRM,
    /// Profiling timer.
    PROF = SIGPROF,
    /// Window size change.
    WINCH = SIGWINCH,
    /// I/O possible.
    IO = SIGIO,
    /// Power failure.
    PWR = SIGPWR,
    /// Bad system call.
    SYS = SIGSYS,
}

impl Signal {
    /// The highest signal number (`_NSIG`).
    pub const MAX: i32 = 64;

    /// Signal `n`, if 1 ≤ `n` ≤ 64.
    #[must_use]
    pub const fn new(n: i32) -> Option<Signal> {
        if n >= 1 && n <= Signal::MAX {
            Some(Signal(n as u8))
        } else {
            None
        }
    }

    /// Its name, such as `"SIGTERM"`, for the standard signals (1 to 31).
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        // The `n`th space-terminated word of NAMES, by a plain loop (`str::split` brings
        // the pattern machinery, more code than the table it reads).
        let want = (self.0 as usize).checked_sub(1)?;
        let (mut word, mut start) = (0, 0);
        for (i, &b) in NAMES.as_bytes().iter().enumerate() {
            if b == b' ' {
                if word == want {
                    return NAMES.get(start..i);
                }
                word += 1;
                start = i + 1;
            }
        }
        None
    }

    /// The standard signal named `name` (`"SIGTERM"`; also without the `SIG` prefix).
    pub fn from_name(name: &[u8]) -> Option<Signal> {
        let short = name.strip_prefix(b"SIG").unwrap_or(name);
        (1..32).filter_map(Signal::new).find(|s| {
            s.name()
                .is_some_and(|n| n.as_bytes().get(3..) == Some(short))
        })
    }

    /// The number.
    #[must_use]
    pub const fn number(self) -> i32 {
        self.0 as i32
    }
}

/// A set of signals: the kernel's 64-bit set (bit `n - 1` for signal `n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SigSet(u64);

impl SigSet {
    /// No signal.
    pub const EMPTY: SigSet = SigSet(0);
    /// Every signal (the kernel never blocks SIGKILL or SIGSTOP, whatever a mask says).
    pub const FULL: SigSet = SigSet(u64::MAX);

    /// The set of `signals`.
    #[must_use]
    pub const fn of(signals: &[Signal]) -> SigSet {
        let mut s = SigSet::EMPTY;
        let mut i = 0;
        while i < signals.len() {
            s = s.with(signals[i]);
            i += 1;
        }
        s
    }

    /// This set and `sig`.
    #[must_use]
    pub const fn with(self, sig: Signal) -> SigSet {
        SigSet(self.0 | 1 << (sig.0 - 1))
    }

    /// This set without `sig`.
    #[must_use]
    pub const fn without(self, sig: Signal) -> SigSet {
        SigSet(self.0 & !(1 << (sig.0 - 1)))
    }

    /// Whether `sig` is in the set.
    #[must_use]
    pub const fn contains(self, sig: Signal) -> bool {
        self.0 & 1 << (sig.0 - 1) != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        (1..=Signal::MAX)
            .filter_map(Signal::new)
            .filter(move |s| self.contains(*s))
    }

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set of these raw bits.
    #[must_use]
    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// As the kernel's `sigset_t` (one 64-bit word, or two 32-bit words low first: the
    /// same bytes on a little-endian machine, and on every 64-bit one).
    pub(crate) fn kernel(self) -> kernel_sigset_t {
        const { assert!(size_of::<kernel_sigset_t>() == SET_SIZE) };
        // SAFETY: both are 8 bytes of plain integers (checked above).
        unsafe { core::mem::transmute::<u64, kernel_sigset_t>(self.0) }
    }

    fn from_kernel(k: kernel_sigset_t) -> SigSet {
        // SAFETY: as in `kernel`.
        SigSet(unsafe { core::mem::transmute::<kernel_sigset_t, u64>(k) })
    }
}

impl core::ops::BitOr for SigSet {
    type Output = SigSet;
    fn bitor(self, rhs: SigSet) -> SigSet {
        SigSet(self.0 | rhs.0)
    }
}

/// `rt_sigprocmask(how, set, old)`: the mask before.
fn sigprocmask(how: u32, set: Option<SigSet>) -> Result<SigSet, Errno> {
    let new = set.map(SigSet::kernel);
    let mut old = SigSet::EMPTY.kernel();
    let p = new
        .as_ref()
        .map_or(0, |k| k as *const kernel_sigset_t as usize);
    // SAFETY: `new` (or NULL) is read and `old` written, 8 bytes each, both ours.
    Errno::from_ret(unsafe {
        syscall4(
            g::__NR_rt_sigprocmask as usize,
            how as usize,
            p,
            &mut old as *mut kernel_sigset_t as usize,
            SET_SIZE,
        )
    })?;
    Ok(SigSet::from_kernel(old))
}

/// Adds `set` to the signal mask (the signals stay pending until unblocked); the mask
/// before.
pub fn block(set: SigSet) -> Result<SigSet, Errno> {
    sigprocmask(g::SIG_BLOCK, Some(set))
}

/// Removes `set` from the signal mask (pending ones are delivered now); the mask before.
pub fn unblock(set: SigSet) -> Result<SigSet, Errno> {
    sigprocmask(g::SIG_UNBLOCK, Some(set))
}

/// Sets the signal mask to `set`; the mask before.
pub fn set_mask(set: SigSet) -> Result<SigSet, Errno> {
    sigprocmask(g::SIG_SETMASK, Some(set))
}

/// The signal mask.
#[must_use]
pub fn mask() -> SigSet {
    // Only a bad pointer makes rt_sigprocmask fail.
    sigprocmask(g::SIG_BLOCK, None).unwrap_or_default()
}

/// The signals blocked and waiting (`rt_sigpending`).
#[must_use]
pub fn pending() -> SigSet {
    let mut k = SigSet::EMPTY.kernel();
    // SAFETY: the kernel writes 8 bytes into `k`.
    let r = unsafe {
        syscall2(
            g::__NR_rt_sigpending as usize,
            &mut k as *mut kernel_sigset_t as usize,
            SET_SIZE,
        )
    };
    match Errno::from_ret(r) {
        Ok(_) => SigSet::from_kernel(k),
        Err(_) => SigSet::EMPTY,
    }
}

/// Sends `sig` to process `pid` (`pid` 0: our process group; -1: every process we may
/// signal; below -1: process group `-pid`).
pub fn kill(pid: i32, sig: Signal) -> Result<(), Errno> {
    // SAFETY: no pointers.
    Errno::from_ret(unsafe {
        syscall2(g::__NR_kill as usize, pid as isize as usize, sig.0 as usize)
    })
    .map(|_| ())
}

/// Sends `sig` to the calling thread; a handler for it runs before this returns (unless
/// it is blocked).
pub fn raise(sig: Signal) -> Result<(), Errno> {
    let (pid, tid) = (crate::sys::getpid() as usize, crate::sys::gettid() as usize);
    // SAFETY: no pointers.
    Errno::from_ret(unsafe { syscall3(g::__NR_tgkill as usize, pid, tid, sig.0 as usize) })
        .map(|_| ())
}

mod action;
mod overflow;
mod wait;

pub(crate) use action::sigaction_raw;
pub use action::{
    Action, AltStack, Flags, Handler, SavedHandler, action, alt_stack_size, ignore,
    install_alt_stack, set_action, set_default,
};
pub(crate) use overflow::abort;
pub use overflow::report_stack_overflow;
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) use overflow::{
    protect_thread_guard, thread_alt_stack, thread_guard_size, thread_start,
};
pub use wait::{SI_TKILL, SI_USER, SigInfo, SignalFd, SignalFdFlags, SignalFdInfo, timed_wait};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(Signal::from_name(b"SIGTERM"), Some(Signal::TERM));
        assert_eq!(Signal::from_name(b"KILL"), Some(Signal::KILL));
        assert_eq!(Signal::from_name(b"SIGFOO"), None);
        assert_eq!(Signal::from_name(b"SIG"), None);
        assert_eq!(Signal::from_name(b""), None);
        assert_eq!(Signal::TERM.number(), 15);
        assert_eq!(Signal::WINCH.name(), Some("SIGWINCH"));
        assert_eq!(Signal::new(0), None);
        assert_eq!(Signal::new(65), None);
        assert_eq!(Signal::new(64).and_then(Signal::name), None);
        for n in 1..32 {
            let s = Signal::new(n).unwrap();
            if let Some(name) = s.name() {
                assert_eq!(Signal::from_name(name.as_bytes()), Some(s), "{name}");
            }
        }
    }

    #[test]
    fn sets() {
        let s = SigSet::of(&[Signal::HUP, Signal::TERM]);
        assert_eq!(s.bits(), 1 | 1 << 14);
        assert!(s.contains(Signal::TERM) && !s.contains(Signal::INT));
        let mut it = s.without(Signal::HUP).iter();
        assert_eq!((it.next(), it.next()), (Some(Signal::TERM), None));
        assert_eq!(SigSet::FULL.iter().count(), 64);
        assert!(SigSet::EMPTY.is_empty());
        assert_eq!(SigSet::from_kernel(s.kernel()), s);
    }

    #[test]
    fn a_signalfd_changes_its_set_and_reads_several_at_once() {
        // Blocked in this test's thread only; `raise` sends to it.
        let both = SigSet::of(&[Signal::USR1, Signal::USR2]);
        let before = block(both).unwrap();
        let fd = SignalFd::new(
            SigSet::of(&[Signal::USR1]),
            SignalFdFlags::NONBLOCK | SignalFdFlags::CLOEXEC,
        )
        .unwrap();
        let mut buf = [SignalFdInfo::default(); 4];
        assert_eq!(fd.read_many(&mut []), Err(Errno::EINVAL));
        raise(Signal::USR2).unwrap();
        // USR2 is not in the set yet: nothing to read.
        assert_eq!(fd.read_many(&mut buf), Err(Errno::EAGAIN));
        fd.set_mask(both).unwrap();
        raise(Signal::USR1).unwrap();
        assert_eq!(fd.read_many(&mut buf), Ok(2));
        let mut got = [buf[0].signo, buf[1].signo];
        got.sort_unstable();
        assert_eq!(got, [10, 12]);
        assert!(buf[..2].iter().all(|i| i.pid == crate::sys::getpid()));
        assert_eq!(fd.read_many(&mut buf), Err(Errno::EAGAIN));
        set_mask(before).unwrap();
    }
}
