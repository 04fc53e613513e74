//! One wait for everything a program waits on: descriptors, deadlines and schedules,
//! signals, child exits and wakes from other threads, as events with the caller's tokens.
//!
//! [`Poll`] is an epoll set and the runtime's own sources beside it:
//!
//! - **Descriptors** ([`Poll::register`]): any [`AsFd`], for reading and/or writing,
//!   level-triggered (a descriptor stays ready until read or written).
//! - **Deadlines and schedules** ([`Poll::add_deadline`], [`Poll::add_interval`]): no
//!   descriptor each, only a slot; the earliest becomes the wait's timeout, and after each
//!   wake the due ones are events, read against each one's clock through the vDSO (no
//!   system call). An [`Interval`] keeps its schedule (start + k·period, missed ticks as
//!   its [`MissedTicks`](crate::time::MissedTicks) says), so lateness never turns into
//!   drift. The wait's timeout runs on CLOCK_MONOTONIC: a schedule on BOOTTIME or REALTIME
//!   keeps its due times, but a suspend or a step of the wall clock is seen at the next
//!   wake, not at once (a [`TimerFd`](crate::time::TimerFd) registered as a descriptor
//!   follows those clocks exactly).
//! - **Signals** ([`Poll::add_signals`]): blocked in the calling thread and read through a
//!   signalfd, each an event with its siginfo (sender, child status, ...). Block them in
//!   every thread (add them before spawning threads, which inherit the mask): an unblocked
//!   thread would take them instead. A signal that comes before `add_signals` takes its
//!   default action (SIGHUP, SIGUSR1, SIGTERM end the process).
//! - **Child exits** ([`Poll::add_child`]): the loop owns the [`Child`] and reaps it; a
//!   pidfd tells (Linux 5.3+), or where `pidfd_open` is missing or refused, SIGCHLD (read
//!   by the loop, reported only if asked for) and `wait4`: the same event either way.
//! - **Wakes** ([`Poll::waker`]): a [`Waker`] another thread or a signal handler uses.
//!
//! Each [`Poll::wait`] makes one wait system call: `epoll_pwait2` with a nanosecond
//! timeout where the kernel has it (5.11+), else `epoll_pwait` with the timeout rounded up
//! to the next millisecond (never early); a ready signalfd or eventfd costs a `read` more.
//! When events are already known (a due tick, a child reaped at registration) the wait
//! only looks (a zero timeout), so that a loop behind its schedule still sees its
//! descriptors and signals; a wait whose buffer due ticks filled lets the descriptors go
//! first the next time. A signal handler that interrupts the wait (EINTR) makes it wait
//! again, to the same deadlines. Events fill a buffer the caller gives: nothing is
//! allocated, and what does not fit stays for the next wait. An [`Event`] is 144 bytes (a
//! signal's whole siginfo): a buffer of 32 is 4.5 KiB of stack.
//!
//! Tokens are the caller's: any `usize` on 32-bit targets, up to `isize::MAX` on 64-bit
//! ones (the loop marks its own registrations with the top bit of the kernel's data).
//!
//! ```
//! use core::time::Duration;
//! use tinyrt_rt::event::{Event, Kind, Poll, Token};
//! use tinyrt_rt::signal::{self, SigSet, Signal};
//! use tinyrt_rt::time::Interval;
//!
//! let mut poll: Poll = Poll::new().unwrap();
//! poll.add_interval(Token(1), Interval::new(Duration::from_millis(2)).unwrap()).unwrap();
//! poll.add_signals(SigSet::of(&[Signal::TERM]), Token(2)).unwrap();
//! let mut events = [Event::EMPTY; 8];
//! let mut ticks = 0;
//! 'run: loop {
//!     let n = poll.wait(&mut events, None).unwrap();
//!     for e in &events[..n] {
//!         match (e.token(), e.kind()) {
//!             (Token(1), Kind::Timer { .. }) => {
//!                 ticks += 1; // sample
//!                 if ticks == 3 {
//!                     signal::raise(Signal::TERM).unwrap(); // blocked: read by the loop
//!                 }
//!             }
//!             (Token(2), Kind::Signal(info)) => {
//!                 assert_eq!(info.signo, 15);
//!                 break 'run;
//!             }
//!             _ => {}
//!         }
//!     }
//! }
//! // (A tick due as the signal came may be in the same batch, before it.)
//! assert!(ticks >= 3);
//! ```

mod sources;
mod timers;

pub use sources::Waker;

use crate::errno::Errno;
use crate::fd::{AsFd, AsRawFd, OwnedFd};
use crate::process::{Child, ExitStatus};
use crate::signal::{SigSet, SignalFdInfo};
use crate::sys::event as sys;
use crate::time::{ClockId, Instant, Interval, Timespec};
use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use linux_raw_sys::general as g;
use linux_raw_sys::general::epoll_event;

/// The caller's name for a registration, given back with its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Token(pub usize);

/// The top bit of the kernel's data: the loop's own registrations.
const INTERNAL: u64 = 1 << 63;
const SIGNALS: u64 = INTERNAL | 1 << 32;
const WAKER: u64 = INTERNAL | 2 << 32;
const CHILD: u64 = INTERNAL | 3 << 32;

flags_type! {
    /// What readiness of a descriptor to wait for ([`Poll::register`]); combine with `|`.
    pub struct Interest;
    /// Data to read, or the other end closed (`EPOLLIN | EPOLLRDHUP`).
    READABLE = g::EPOLLIN | g::EPOLLRDHUP;
    /// Room to write (`EPOLLOUT`).
    WRITABLE = g::EPOLLOUT;
    /// Urgent data (`EPOLLPRI`: a socket's out-of-band data, a sysfs attribute's change).
    PRIORITY = g::EPOLLPRI;
}

/// How a descriptor is ready (the kernel's `EPOLL*` bits). Errors and hang-ups are
/// reported whatever the interest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Readiness(u32);

impl Readiness {
    /// Data to read (`EPOLLIN`).
    #[must_use]
    pub const fn readable(self) -> bool {
        self.0 & g::EPOLLIN != 0
    }

    /// Room to write (`EPOLLOUT`).
    #[must_use]
    pub const fn writable(self) -> bool {
        self.0 & g::EPOLLOUT != 0
    }

    /// Urgent data (`EPOLLPRI`).
    #[must_use]
    pub const fn priority(self) -> bool {
        self.0 & g::EPOLLPRI != 0
    }

    /// An error on the descriptor (`EPOLLERR`; a pipe's read end closed, for a writer).
    #[must_use]
    pub const fn error(self) -> bool {
        self.0 & g::EPOLLERR != 0
    }

    /// Hung up (`EPOLLHUP`: a pipe's write end closed, for a reader, a socket shut down).
    #[must_use]
    pub const fn hangup(self) -> bool {
        self.0 & g::EPOLLHUP != 0
    }

    /// The peer closed its writing half (`EPOLLRDHUP`).
    #[must_use]
    pub const fn read_hangup(self) -> bool {
        self.0 & g::EPOLLRDHUP != 0
    }

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.readable(), "READABLE"),
            (self.writable(), "WRITABLE"),
            (self.priority(), "PRIORITY"),
            (self.error(), "ERROR"),
            (self.hangup(), "HANGUP"),
            (self.read_hangup(), "READ_HANGUP"),
        ];
        let mut first = true;
        for (_, name) in names.iter().filter(|(on, _)| *on) {
            f.write_str(if first { "" } else { " | " })?;
            f.write_str(name)?;
            first = false;
        }
        if first {
            f.write_str("(empty)")?;
        }
        Ok(())
    }
}

/// What happened.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Kind {
    /// A registered descriptor is ready.
    Io(Readiness),
    /// A deadline or a schedule's tick, due at `due` on its clock.
    Timer {
        /// When it was due (the schedule's time, not the wake's).
        due: Timespec,
    },
    /// A signal of an added set, taken from the pending ones.
    Signal(SignalFdInfo),
    /// An added child ended and the loop reaped it (`status`: how it ended, or the error
    /// of `wait4`, ECHILD when something else reaped it).
    Child {
        /// Its process id.
        pid: u32,
        /// How it ended.
        status: Result<ExitStatus, Errno>,
    },
    /// A [`Waker`] woke the loop (once for any number of wakes).
    Wake,
}

/// One event: the token it was registered with, and what happened.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    token: Token,
    kind: Kind,
}

impl Event {
    /// A placeholder, to make the buffer [`Poll::wait`] fills.
    pub const EMPTY: Event = Event {
        token: Token(0),
        kind: Kind::Wake,
    };

    /// The token of the registration.
    #[must_use]
    pub fn token(&self) -> Token {
        self.token
    }

    /// What happened.
    #[must_use]
    pub fn kind(&self) -> &Kind {
        &self.kind
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::EMPTY
    }
}

/// An event loop: an epoll set, up to `N` deadlines or schedules and up to `N` children
/// (16 each by default), the loop's signals and its waker. See the [module](self).
#[derive(Debug)]
pub struct Poll<const N: usize = 16> {
    ep: OwnedFd,
    timers: timers::Timers<N>,
    sources: sources::Sources<N>,
    /// The last wait returned timers only, filling the buffer: the descriptors go first.
    io_first: bool,
}

/// `epoll_pwait2` refused once (ENOSYS before Linux 5.11, EPERM from a sandbox): the
/// process uses `epoll_pwait` from then on.
static NO_PWAIT2: AtomicBool = AtomicBool::new(false);

/// At most this many kernel events per wait (a buffer on the stack).
const BATCH: usize = 64;

impl<const N: usize> Poll<N> {
    /// A new loop (`epoll_create1`, close-on-exec).
    pub fn new() -> Result<Poll<N>, Errno> {
        Ok(Poll {
            ep: sys::epoll_create()?,
            timers: timers::Timers::new(),
            sources: sources::Sources::new(),
            io_first: false,
        })
    }

    fn ctl(&self, op: u32, fd: impl AsFd, event: Option<(Token, Interest)>) -> Result<(), Errno> {
        let event = match event {
            Some((token, _)) if token.0 as u64 & INTERNAL != 0 => return Err(Errno::EINVAL),
            Some((token, interest)) => Some(epoll_event {
                events: interest.bits(),
                data: token.0 as u64,
            }),
            None => None,
        };
        sys::epoll_ctl(
            self.ep.as_raw_fd(),
            op,
            fd.as_fd().as_raw_fd(),
            event.as_ref(),
        )
    }

    /// Waits for `fd` to be ready as `interest` says; its events carry `token`. EEXIST if
    /// it is registered already, EPERM for a descriptor epoll cannot wait on (a regular
    /// file), EINVAL for a token above `isize::MAX`. Closing the descriptor (its last
    /// duplicate) ends the registration.
    pub fn register(&self, fd: impl AsFd, token: Token, interest: Interest) -> Result<(), Errno> {
        self.ctl(g::EPOLL_CTL_ADD, fd, Some((token, interest)))
    }

    /// Changes a registration's token and interest. ENOENT if it is not registered.
    pub fn reregister(&self, fd: impl AsFd, token: Token, interest: Interest) -> Result<(), Errno> {
        self.ctl(g::EPOLL_CTL_MOD, fd, Some((token, interest)))
    }

    /// Ends a registration. ENOENT if it is not registered.
    pub fn deregister(&self, fd: impl AsFd) -> Result<(), Errno> {
        self.ctl(g::EPOLL_CTL_DEL, fd, None)
    }

    /// A deadline on the MONOTONIC clock: one [`Kind::Timer`] event once it has passed.
    /// ENOSPC when the loop has `N` timers.
    pub fn add_deadline(&mut self, token: Token, at: Instant) -> Result<(), Errno> {
        self.timers
            .add_once(token, ClockId::MONOTONIC, at.to_timespec())
    }

    /// A schedule: a [`Kind::Timer`] event for each of its ticks, on its clock. ENOSPC
    /// when the loop has `N` timers.
    pub fn add_interval(&mut self, token: Token, interval: Interval) -> Result<(), Errno> {
        self.timers.add_every(token, interval)
    }

    /// Removes the deadlines and schedules of `token`; whether there were any.
    pub fn remove_timer(&mut self, token: Token) -> bool {
        self.timers.remove(token)
    }

    /// Delivers the signals of `set` as [`Kind::Signal`] events with `token`: blocks them
    /// in the calling thread (for good, also when the signalfd then fails) and reads them
    /// through the loop's signalfd. Up to 8 sets; a signal in two goes to the first.
    /// ENOSPC past that.
    pub fn add_signals(&mut self, set: SigSet, token: Token) -> Result<(), Errno> {
        self.sources.add_signals(&self.ep, set, token)
    }

    /// Watches `child` (take its pipes first: they go with it) and reaps it when it ends:
    /// one [`Kind::Child`] event (at once for a child `try_wait` already reaped). Until
    /// then its process id is the child's (signal it with
    /// [`signal::kill`](crate::signal::kill)); do not reap it elsewhere (`wait_any`): the
    /// loop would then report ECHILD, or a newer process with the same id. On an error the
    /// child comes back: ENOSPC when the loop has `N` children, the kernel's (EMFILE, ...).
    ///
    /// Where `pidfd_open` is missing or refused, SIGCHLD tells instead: it is blocked in
    /// the calling thread, and must be in every thread, as for [`Poll::add_signals`] (a
    /// thread that leaves it unblocked takes it, and the exit is seen only with the next
    /// SIGCHLD).
    pub fn add_child(&mut self, child: Child, token: Token) -> Result<(), (Errno, Child)> {
        self.sources.add_child(&self.ep, child, token)
    }

    /// A [`Waker`] for this loop; its wakes are [`Kind::Wake`] events with `token` (the
    /// latest given, for every waker of the loop).
    pub fn waker(&mut self, token: Token) -> Result<Waker, Errno> {
        self.sources.waker(&self.ep, token)
    }

    /// Waits until something happens or `timeout` passes (`None`: no limit but the
    /// timers; zero: look without waiting), and fills `events`: how many (0 only when
    /// `timeout` passed). EINVAL for an empty buffer.
    pub fn wait(
        &mut self,
        events: &mut [Event],
        timeout: Option<Duration>,
    ) -> Result<usize, Errno> {
        if events.is_empty() {
            return Err(Errno::EINVAL);
        }
        // The caller's limit as a deadline, so that waiting again after EINTR or an empty
        // wake does not stretch it (`None` past what the clock counts: no limit).
        let limit = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            // What is known without waiting: children reaped, due timers; but after a wait
            // that timers filled, the descriptors first (a loop that falls behind its
            // schedule still sees its signals and descriptors).
            let mut n = self.sources.ended(events);
            let room = if self.io_first { n } else { events.len() };
            let (fired, next) = self.timers.fire(&mut events[n..room])?;
            n += fired;
            if n == events.len() {
                self.io_first = true;
                return Ok(n);
            }
            self.io_first = false;
            let left = match (n, limit) {
                (1.., _) => Some(Duration::ZERO),
                (0, Some(l)) => {
                    let left = l.duration_since(Instant::now());
                    Some(next.map_or(left, |d| d.min(left)))
                }
                (0, None) => next,
            };
            let mut raw = [epoll_event { events: 0, data: 0 }; BATCH];
            let len = (events.len() - n).min(BATCH);
            let got = match self.epoll_wait(&mut raw[..len], left) {
                Ok(got) => got,
                // A handler ran: the same deadlines again.
                Err(Errno::EINTR) if n == 0 => continue,
                Err(_) if n > 0 => return Ok(n),
                Err(e) => return Err(e),
            };
            match self.dispatch(&raw[..got], &mut events[n..]) {
                (m, None) => n += m,
                // What was taken is reported; the error comes back with the next wait.
                (m, Some(_)) if n + m > 0 => return Ok(n + m),
                (_, Some(e)) => return Err(e),
            }
            n += self.sources.ended(&mut events[n..]);
            n += self.timers.fire(&mut events[n..]).map_or(0, |(k, _)| k);
            if n > 0 || limit.is_some_and(|l| Instant::now() >= l) {
                return Ok(n);
            }
            // Nothing for the caller (a signal only the loop wanted, a wake taken by another
            // reader, a pidfd's child not yet reaped): wait again.
        }
    }

    /// The kernel's events as the caller's: a descriptor's readiness with its token, or
    /// what the loop's own registration gives; how many, and an error that stopped it.
    fn dispatch(&mut self, raw: &[epoll_event], events: &mut [Event]) -> (usize, Option<Errno>) {
        let mut n = 0;
        for (i, e) in raw.iter().enumerate() {
            let (bits, data) = (e.events, e.data);
            if data & INTERNAL == 0 {
                events[n] = Event {
                    token: Token(data as usize),
                    kind: Kind::Io(Readiness(bits)),
                };
                n += 1;
            } else {
                // Leave a slot for each kernel event still to come.
                let room = events.len() - (raw.len() - i - 1);
                match self.sources.ready(&self.ep, data, &mut events[n..room]) {
                    Ok(m) => n += m,
                    Err(e) => return (n, Some(e)),
                }
            }
        }
        (n, None)
    }

    /// One wait: `epoll_pwait2` with the exact timeout where the kernel has it, else
    /// `epoll_pwait` with the timeout rounded up to milliseconds.
    fn epoll_wait(&self, raw: &mut [epoll_event], left: Option<Duration>) -> Result<usize, Errno> {
        let ep = self.ep.as_raw_fd();
        if !NO_PWAIT2.load(Ordering::Relaxed) {
            let ts = left.map(crate::time::sleep::kernel_duration);
            match sys::epoll_pwait2(ep, raw, ts.as_ref()) {
                Err(Errno::ENOSYS | Errno::EPERM) => NO_PWAIT2.store(true, Ordering::Relaxed),
                r => return r,
            }
        }
        sys::epoll_pwait(ep, raw, milliseconds(left))
    }
}

/// A timeout for `epoll_pwait`: rounded up (never early), -1 for none, capped.
fn milliseconds(left: Option<Duration>) -> i32 {
    match left {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            i32::try_from(ms).unwrap_or(i32::MAX)
        }
    }
}

#[cfg(test)]
mod tests;
