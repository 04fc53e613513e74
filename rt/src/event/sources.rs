//! The loop's own sources, each a registration marked with the top bit of its epoll data:
//! the signals (one signalfd), the children (a pidfd each, or SIGCHLD and `wait4` where
//! `pidfd_open` is missing or refused) and the waker (an eventfd).

use super::{CHILD, Event, Kind, SIGNALS, Token, WAKER};
use crate::errno::Errno;
use crate::fd::{AsFd, AsRawFd, OwnedFd};
use crate::process::{Child, ExitStatus};
use crate::signal::SignalFdInfo;
use crate::signal::{self, SigSet, Signal, SignalFd, SignalFdFlags};
use crate::sys::event as sys;
use linux_raw_sys::general::{EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLLIN, epoll_event};

/// How many `add_signals` calls (sets with their tokens) a loop takes.
const SIGNAL_SETS: usize = 8;

/// Wakes a [`Poll`](super::Poll) from another thread or a signal handler: a write to the
/// loop's eventfd (async-signal-safe). The loop reports one [`Kind::Wake`] for any number
/// of wakes since its last wait. It owns a descriptor of its own (a duplicate), so it
/// outlives the loop harmlessly.
#[derive(Debug)]
pub struct Waker(OwnedFd);

impl Waker {
    /// Wakes the loop (a wake already pending is enough: the counter's limit is no error).
    pub fn wake(&self) -> Result<(), Errno> {
        match crate::sys::write(self.0.as_raw_fd(), &1u64.to_ne_bytes()) {
            Ok(_) | Err(Errno::EAGAIN) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Another waker of the same loop.
    pub fn try_clone(&self) -> Result<Waker, Errno> {
        self.0.try_clone().map(Waker)
    }
}

/// A child the loop reaps.
#[derive(Debug)]
struct Watched {
    token: Token,
    child: Child,
    /// Its pidfd; `None` where SIGCHLD tells.
    pidfd: Option<OwnedFd>,
    /// Reaped (or failed to be), not yet reported.
    done: Option<Result<ExitStatus, Errno>>,
}

impl Watched {
    /// Reaps the child if it has ended; its pidfd then leaves the epoll set (deleted, not
    /// only closed: a forked copy of the descriptor would keep it there, ready for ever).
    fn try_reap(&mut self, ep: &OwnedFd) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => self.done = Some(Ok(status)),
            Err(e) => self.done = Some(Err(e)),
        }
        if self.done.is_some()
            && let Some(fd) = self.pidfd.take()
        {
            let _ = sys::epoll_ctl(ep.as_raw_fd(), EPOLL_CTL_DEL, fd.as_raw_fd(), None);
        }
    }
}

/// The signals, children and waker of a loop of `N` children.
#[derive(Debug)]
pub(super) struct Sources<const N: usize> {
    signalfd: Option<SignalFd>,
    /// The sets asked for, with their tokens.
    sets: [(SigSet, Token); SIGNAL_SETS],
    nsets: usize,
    /// SIGCHLD read for the children without a pidfd (reported only when asked for).
    sigchld: bool,
    waker: Option<(OwnedFd, Token)>,
    children: [Option<Watched>; N],
}

fn add(ep: &OwnedFd, fd: impl AsFd, data: u64) -> Result<(), Errno> {
    let event = epoll_event {
        events: EPOLLIN,
        data,
    };
    sys::epoll_ctl(
        ep.as_raw_fd(),
        EPOLL_CTL_ADD,
        fd.as_fd().as_raw_fd(),
        Some(&event),
    )
}

impl<const N: usize> Sources<N> {
    pub(super) const fn new() -> Sources<N> {
        Sources {
            signalfd: None,
            sets: [(SigSet::EMPTY, Token(0)); SIGNAL_SETS],
            nsets: 0,
            sigchld: false,
            waker: None,
            children: [const { None }; N],
        }
    }

    /// The signals the descriptor reads.
    fn read_set(&self) -> SigSet {
        let asked = self.sets[..self.nsets]
            .iter()
            .fold(SigSet::EMPTY, |a, (s, _)| a | *s);
        match self.sigchld {
            true => asked.with(Signal::CHLD),
            false => asked,
        }
    }

    /// Blocks the signals the loop reads (in the calling thread) and points the signalfd
    /// at them, making it on first use.
    fn update_signalfd(&mut self, ep: &OwnedFd) -> Result<(), Errno> {
        let set = self.read_set();
        signal::block(set)?;
        match &self.signalfd {
            Some(fd) => fd.set_mask(set),
            None => {
                let fd = SignalFd::new(set, SignalFdFlags::CLOEXEC | SignalFdFlags::NONBLOCK)?;
                add(ep, &fd, SIGNALS)?;
                self.signalfd = Some(fd);
                Ok(())
            }
        }
    }

    pub(super) fn add_signals(
        &mut self,
        ep: &OwnedFd,
        set: SigSet,
        token: Token,
    ) -> Result<(), Errno> {
        if self.nsets == SIGNAL_SETS {
            return Err(Errno::ENOSPC);
        }
        self.sets[self.nsets] = (set, token);
        self.nsets += 1;
        let r = self.update_signalfd(ep);
        if r.is_err() {
            self.nsets -= 1;
        }
        r
    }

    pub(super) fn add_child(
        &mut self,
        ep: &OwnedFd,
        child: Child,
        token: Token,
    ) -> Result<(), (Errno, Child)> {
        let Some(i) = self.children.iter().position(Option::is_none) else {
            return Err((Errno::ENOSPC, child));
        };
        let mut child = child;
        // Reaped already (`try_wait`): its status is the event; its pid may be another's.
        match child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => {
                self.children[i] = Some(Watched {
                    token,
                    child,
                    pidfd: None,
                    done: Some(Ok(status)),
                });
                return Ok(());
            }
            Err(e) => return Err((e, child)),
        }
        let pidfd = match sys::pidfd_open(child.id()) {
            Ok(fd) => match add(ep, &fd, CHILD | i as u64) {
                Ok(()) => Some(fd),
                Err(e) => return Err((e, child)),
            },
            // Linux before 5.3, or a sandbox that refuses it: SIGCHLD tells instead.
            Err(Errno::ENOSYS | Errno::EPERM | Errno::EACCES) => None,
            Err(e) => return Err((e, child)),
        };
        let fallback = pidfd.is_none();
        let mut w = Watched {
            token,
            child,
            pidfd,
            done: None,
        };
        if fallback {
            if !self.sigchld {
                self.sigchld = true;
                if let Err(e) = self.update_signalfd(ep) {
                    self.sigchld = false;
                    return Err((e, w.child));
                }
            }
            // It may have ended before SIGCHLD was blocked (then the signal was discarded).
            w.try_reap(ep);
        }
        self.children[i] = Some(w);
        Ok(())
    }

    pub(super) fn waker(&mut self, ep: &OwnedFd, token: Token) -> Result<Waker, Errno> {
        if let Some((fd, t)) = &mut self.waker {
            *t = token;
            return fd.try_clone().map(Waker);
        }
        let fd = sys::eventfd()?;
        add(ep, &fd, WAKER)?;
        let w = fd.try_clone().map(Waker);
        self.waker = Some((fd, token));
        w
    }

    /// One of the loop's registrations is ready (`data` without the top bit's kind): the
    /// events it gives, into `out`, and how many. Children found ended are reported by
    /// [`Sources::ended`].
    pub(super) fn ready(
        &mut self,
        ep: &OwnedFd,
        data: u64,
        out: &mut [Event],
    ) -> Result<usize, Errno> {
        match data & !0xffff_ffff {
            SIGNALS => self.signals(ep, out),
            WAKER => {
                let Some((fd, token)) = &self.waker else {
                    return Ok(0);
                };
                let mut buf = [0u8; 8];
                match crate::sys::read(fd.as_raw_fd(), &mut buf) {
                    Ok(_) if !out.is_empty() => {
                        out[0] = Event {
                            token: *token,
                            kind: Kind::Wake,
                        };
                        Ok(1)
                    }
                    Ok(_) | Err(Errno::EAGAIN) => Ok(0),
                    Err(e) => Err(e),
                }
            }
            CHILD => {
                if let Some(Some(w)) = self.children.get_mut((data & 0xffff_ffff) as usize) {
                    w.try_reap(ep);
                }
                Ok(0)
            }
            _ => Ok(0),
        }
    }

    /// Reads the pending signals of the set while `out` has room (eight records a read; a
    /// short read means none is left).
    fn signals(&mut self, ep: &OwnedFd, out: &mut [Event]) -> Result<usize, Errno> {
        let Some(fd) = &self.signalfd else {
            return Ok(0);
        };
        let mut n = 0;
        let mut buf = [SignalFdInfo::default(); 8];
        while n < out.len() {
            let want = (out.len() - n).min(buf.len());
            let got = match fd.read_many(&mut buf[..want]) {
                Ok(got) => got,
                Err(Errno::EAGAIN) => break,
                // What was read so far is reported; the error comes back with the next read.
                Err(_) if n > 0 => break,
                Err(e) => return Err(e),
            };
            for info in &buf[..got] {
                let signo = info.signo as i32;
                if self.sigchld && signo == Signal::CHLD.number() {
                    for w in self.children.iter_mut().flatten() {
                        if w.pidfd.is_none() && w.done.is_none() {
                            w.try_reap(ep);
                        }
                    }
                }
                let asked = self.sets[..self.nsets]
                    .iter()
                    .find(|(s, _)| Signal::new(signo).is_some_and(|sig| s.contains(sig)));
                if let Some((_, token)) = asked {
                    out[n] = Event {
                        token: *token,
                        kind: Kind::Signal(*info),
                    };
                    n += 1;
                }
            }
            if got < want {
                break;
            }
        }
        Ok(n)
    }

    /// The children reaped and not yet reported, into `out` (each leaves the loop).
    pub(super) fn ended(&mut self, out: &mut [Event]) -> usize {
        let mut n = 0;
        for slot in &mut self.children {
            if n == out.len() {
                break;
            }
            if let Some(w) = slot
                && let Some(status) = w.done
            {
                out[n] = Event {
                    token: w.token,
                    kind: Kind::Child {
                        pid: w.child.id(),
                        status,
                    },
                };
                n += 1;
                *slot = None;
            }
        }
        n
    }
}
