//! Signals: numbers and sets, the signal mask, handlers and dispositions, waiting for a
//! signal (`sigtimedwait`, [`SignalFd`]), sending one, and the alternate signal stack.
//!
//! The kernel's signal set is 8 bytes (64 signals), not the 128 of libc's `sigset_t`, and
//! its `struct sigaction` differs per architecture: x86_64, aarch64, i686 and armv7 take a
//! restorer (the code a handler returns into, which makes the `rt_sigreturn` or `sigreturn`
//! call; each architecture's is in its `arch` file, picked by SA_SIGINFO on i686 and armv7),
//! riscv64 has no field for one and returns through its vDSO. Handlers are installed only by
//! tinyrt programs: in library mode glibc owns the handlers (and its restorers), and
//! [`set_action`] answers EOPNOTSUPP there; masks, waiting and sending work in both.
//!
//! Learned from the kernel's `arch/*/kernel/signal*.c` and musl's `sigaction.c` and
//! `sigsetjmp`/restorer files (which restorer each architecture needs, and why i386 pops
//! before `sigreturn`).
//!
//! # Safety
//!
//! Every system call here passes pointers to values this module owns or borrows for the
//! call, with the kernel's 8-byte set size. Installing a handler is `unsafe`
//! ([`set_action`]): the handler runs between any two instructions of the program and must
//! do only async-signal-safe work; the kernel calls it with the arguments its type names
//! (SA_SIGINFO is set exactly for [`Handler::Info`]). The alternate stack is a mapping of
//! our own that is never unmapped.
#![allow(unsafe_code)]

use crate::arch::{NR, syscall2, syscall3, syscall4};
use crate::errno::Errno;
use crate::io::Fd;
use core::ffi::c_void;
use core::sync::atomic::AtomicBool;
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
    pub const fn new(n: i32) -> Option<Signal> {
        if n >= 1 && n <= Signal::MAX {
            Some(Signal(n as u8))
        } else {
            None
        }
    }

    /// Its name, such as `"SIGTERM"`, for the standard signals (1 to 31).
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
    pub const fn with(self, sig: Signal) -> SigSet {
        SigSet(self.0 | 1 << (sig.0 - 1))
    }

    /// This set without `sig`.
    pub const fn without(self, sig: Signal) -> SigSet {
        SigSet(self.0 & !(1 << (sig.0 - 1)))
    }

    /// Whether `sig` is in the set.
    pub const fn contains(self, sig: Signal) -> bool {
        self.0 & 1 << (sig.0 - 1) != 0
    }

    /// Whether the set is empty.
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
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The set of these raw bits.
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
pub fn mask() -> SigSet {
    // Only a bad pointer makes rt_sigprocmask fail.
    sigprocmask(g::SIG_BLOCK, None).unwrap_or_default()
}

/// The signals blocked and waiting (`rt_sigpending`).
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
    pub fn signo(&self) -> i32 {
        self.i32_at(0)
    }

    /// The signal, if the number is one.
    pub fn signal(&self) -> Option<Signal> {
        Signal::new(self.signo())
    }

    /// Why it was sent (`si_code`): SI_USER (0) for `kill`, SI_TKILL (-6) for `tgkill`,
    /// SI_QUEUE (-1), a positive kernel reason (CLD_EXITED, SEGV_MAPERR, ...).
    pub fn code(&self) -> i32 {
        self.i32_at(8)
    }

    /// `si_errno`.
    pub fn errno(&self) -> i32 {
        self.i32_at(4)
    }

    /// The sender's process id (for `kill`, `tgkill`, `sigqueue` and SIGCHLD).
    pub fn pid(&self) -> i32 {
        self.i32_at(UNION)
    }

    /// The sender's real user id.
    pub fn uid(&self) -> u32 {
        self.i32_at(UNION + 4) as u32
    }

    /// SIGCHLD: the exit code or the signal (by [`code`](Self::code)); for a queued
    /// signal, the low half of its value.
    pub fn status(&self) -> i32 {
        self.i32_at(UNION + 8)
    }

    /// SIGSEGV, SIGBUS, SIGILL, SIGFPE: the faulting address.
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
    static REFUSED: AtomicBool = AtomicBool::new(false);
    let mask = set.kernel();
    let mut info = SigInfo::ZERO;
    let mut signo = 0;
    let ts = timeout.map(crate::time::sleep::kernel_duration);
    let r = crate::time::sleep::time64_or_32(&REFUSED, NR.rt_sigtimedwait32.is_some(), |old| {
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
    let pid = crate::process::id() as usize;
    // SAFETY: no pointers.
    let tid = unsafe { crate::arch::syscall0(g::__NR_gettid as usize) };
    // SAFETY: no pointers.
    Errno::from_ret(unsafe { syscall3(g::__NR_tgkill as usize, pid, tid, sig.0 as usize) })
        .map(|_| ())
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
/// an unblocked signal is delivered as usual instead. Closed when dropped.
#[derive(Debug)]
pub struct SignalFd(Fd);

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
        Ok(SignalFd(Fd(fd as i32)))
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
            match crate::sys::read(self.0.0, buf) {
                Ok(128) => return Ok(info),
                Ok(_) => return Err(Errno::EIO),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The descriptor.
    pub fn as_raw_fd(&self) -> Fd {
        self.0
    }
}

impl Drop for SignalFd {
    fn drop(&mut self) {
        let _ = crate::sys::close(self.0.0);
    }
}

/// An alternate signal stack, installed for the thread: handlers with
/// [`Flags::ONSTACK`] run on it, so that one can report a stack overflow of the main
/// stack. It is never removed or unmapped.
#[derive(Clone, Copy, Debug)]
pub struct AltStack {
    /// Its lowest usable address (a guard page lies below).
    pub base: usize,
    /// Its size in bytes.
    pub size: usize,
}

/// The size an alternate stack gets: four times the kernel's need for a signal frame on
/// this machine (AT_MINSIGSTKSZ: AVX-512, AMX and SVE frames are larger than the old
/// MINSIGSTKSZ constant), at least SIGSTKSZ, in whole pages.
pub fn alt_stack_size() -> usize {
    let min = crate::auxv::get(linux_raw_sys::auxvec::AT_MINSIGSTKSZ)
        .unwrap_or(0)
        .max(g::MINSIGSTKSZ as usize);
    let page = crate::auxv::page_size().unwrap_or(4096);
    let want = min.saturating_mul(4).max(g::SIGSTKSZ as usize);
    want.div_ceil(page).saturating_mul(page)
}

/// Maps an alternate stack of [`alt_stack_size`] bytes with a guard page below it and
/// installs it for the calling thread (`sigaltstack`).
pub fn install_alt_stack() -> Result<AltStack, Errno> {
    let size = alt_stack_size();
    let page = crate::auxv::page_size().unwrap_or(4096);
    let len = size.checked_add(page).ok_or(Errno::ENOMEM)?;
    let base = crate::sys::mmap_anonymous(
        len,
        g::PROT_READ | g::PROT_WRITE,
        g::MAP_PRIVATE | g::MAP_ANONYMOUS | g::MAP_STACK,
    )?;
    let give_back = |e: Errno| {
        // SAFETY: our fresh mapping, which nothing uses yet.
        let _ = unsafe { crate::sys::munmap(base, len) };
        e
    };
    crate::sys::mprotect_none(base, page).map_err(give_back)?;
    let ss = g::stack_t {
        ss_sp: (base + page) as *mut c_void,
        ss_flags: 0,
        ss_size: size as _,
    };
    // SAFETY: the kernel reads one stack_t, ours; the stack it names is our mapping, never
    // unmapped.
    Errno::from_ret(unsafe {
        syscall2(
            g::__NR_sigaltstack as usize,
            &ss as *const g::stack_t as usize,
            0,
        )
    })
    .map_err(give_back)?;
    Ok(AltStack {
        base: base + page,
        size,
    })
}

flags_type! {
    /// Flags of an [`Action`].
    pub struct Flags;
    /// Restart interrupted system calls where the kernel can (`SA_RESTART`).
    RESTART = g::SA_RESTART;
    /// Do not block the signal while its handler runs (`SA_NODEFER`).
    NODEFER = g::SA_NODEFER;
    /// Run the handler on the alternate stack (`SA_ONSTACK`; see [`install_alt_stack`]).
    ONSTACK = g::SA_ONSTACK;
    /// Reset to the default action once the handler runs (`SA_RESETHAND`).
    RESETHAND = g::SA_RESETHAND;
    /// SIGCHLD: not for children that stop or continue (`SA_NOCLDSTOP`).
    NOCLDSTOP = g::SA_NOCLDSTOP;
    /// SIGCHLD: children that end leave no zombie (`SA_NOCLDWAIT`).
    NOCLDWAIT = g::SA_NOCLDWAIT;
    /// None.
    NONE = 0;
}

impl Flags {
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// What a signal does when it arrives.
#[derive(Clone, Copy, Debug)]
pub enum Handler {
    /// The default action (end, stop, ignore or dump, by signal).
    Default,
    /// Nothing.
    Ignore,
    /// Call this with the signal number.
    Plain(extern "C" fn(i32)),
    /// Call this with the signal number, what the kernel tells about it, and the interrupted
    /// context (`ucontext_t`, architecture-specific) (SA_SIGINFO).
    Info(extern "C" fn(i32, &SigInfo, *mut c_void)),
    /// A handler, at this address: what [`action`] and [`set_action`] answer for any
    /// installed handler (they cannot tell its type); it cannot be installed again from
    /// here (EINVAL): keep the [`Action`] you installed to restore it.
    Other(usize),
}

/// A signal's disposition: its handler, flags, and the signals blocked while the handler
/// runs (besides the signal itself, unless NODEFER).
#[derive(Clone, Copy, Debug)]
pub struct Action {
    /// What happens.
    pub handler: Handler,
    /// How.
    pub flags: Flags,
    /// Also blocked during the handler.
    pub mask: SigSet,
}

impl Action {
    /// `handler`, no flags, nothing else blocked.
    pub const fn new(handler: Handler) -> Action {
        Action {
            handler,
            flags: Flags::NONE,
            mask: SigSet::EMPTY,
        }
    }

    /// With `flags`.
    pub const fn flags(self, flags: Flags) -> Action {
        Action { flags, ..self }
    }

    /// With `mask` blocked during the handler.
    pub const fn mask(self, mask: SigSet) -> Action {
        Action { mask, ..self }
    }
}

/// The flags the kernel adds that a caller did not choose (SA_RESTORER, SA_SIGINFO).
const CHOSEN: u32 = g::SA_RESTART
    | g::SA_NODEFER
    | g::SA_ONSTACK
    | g::SA_RESETHAND
    | g::SA_NOCLDSTOP
    | g::SA_NOCLDWAIT;

/// `rt_sigaction(sig, act, old)`, raw: the kernel's structs, with the architecture's
/// restorer added to `act`.
///
/// # Safety
/// A handler in `act` must be a function the kernel may call with the arguments its flags
/// imply, doing only async-signal-safe work.
pub(crate) unsafe fn sigaction_raw(
    sig: i32,
    act: Option<(usize, usize, SigSet)>,
) -> Result<(usize, usize, SigSet), Errno> {
    let new = act.map(|(h, f, m)| crate::arch::kernel_action(h, f, m.kernel()));
    let mut old = crate::arch::kernel_action(0, 0, SigSet::EMPTY.kernel());
    let p = new.as_ref().map_or(0, |k| k as *const _ as usize);
    // SAFETY: the kernel reads `new` (or NULL) and writes `old`, both ours; what it installs
    // is the caller's contract.
    Errno::from_ret(unsafe {
        syscall4(
            g::__NR_rt_sigaction as usize,
            sig as usize,
            p,
            &mut old as *mut _ as usize,
            SET_SIZE,
        )
    })?;
    let handler = old.sa_handler_kernel.map_or(0, |f| f as usize);
    Ok((
        handler,
        old.sa_flags as usize,
        SigSet::from_kernel(old.sa_mask),
    ))
}

/// Sets what `sig` does; what it did before. EINVAL for SIGKILL and SIGSTOP (their
/// action cannot change) and for [`Handler::Other`]; EOPNOTSUPP in a program tinyrt did not
/// start (library mode: its libc owns the handlers and their restorers).
///
/// # Safety
/// A handler runs between any two instructions of the program, on its stack (or the
/// alternate one): it must do only async-signal-safe work (no allocation, no lock the
/// interrupted code may hold, atomics and system calls are fine) and must not unwind.
pub unsafe fn set_action(sig: Signal, action: &Action) -> Result<Action, Errno> {
    if !crate::env::started_by_tinyrt() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (handler, info) = match action.handler {
        Handler::Default => (SIG_DFL, 0),
        Handler::Ignore => (SIG_IGN, 0),
        Handler::Plain(f) => (f as usize, 0),
        Handler::Info(f) => (f as usize, g::SA_SIGINFO),
        Handler::Other(_) => return Err(Errno::EINVAL),
    };
    let flags = (action.flags.0 & CHOSEN | info) as usize;
    // SAFETY: the handler's type matches SA_SIGINFO; the rest is the caller's contract.
    let (h, f, m) = unsafe { sigaction_raw(sig.number(), Some((handler, flags, action.mask))) }?;
    Ok(decode(h, f, m))
}

/// What `sig` does now.
pub fn action(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: nothing is installed.
    let (h, f, m) = unsafe { sigaction_raw(sig.number(), None) }?;
    Ok(decode(h, f, m))
}

fn decode(handler: usize, flags: usize, mask: SigSet) -> Action {
    let handler = match handler {
        h if h == SIG_DFL => Handler::Default,
        h if h == SIG_IGN => Handler::Ignore,
        h => Handler::Other(h),
    };
    Action {
        handler,
        flags: Flags(flags as u32 & CHOSEN),
        mask,
    }
}

/// Ignores `sig` from now on; what it did before.
pub fn ignore(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: no handler is installed.
    unsafe { set_action(sig, &Action::new(Handler::Ignore)) }
}

/// Gives `sig` its default action again; what it did before.
pub fn set_default(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: no handler is installed.
    unsafe { set_action(sig, &Action::new(Handler::Default)) }
}

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
}
