//! The loop's deadlines and schedules: no descriptor each, only a slot. The earliest
//! becomes the wait's timeout; the due ones become events after each wake, read against
//! each timer's own clock (a vDSO read, not a system call).

use super::{Event, Kind, Token};
use crate::errno::Errno;
use crate::time::{ClockId, Interval, Timespec, clock_gettime};
use core::time::Duration;

/// One deadline or schedule.
#[derive(Clone, Debug)]
enum When {
    /// Once, when `clock` reads `due`.
    Once { clock: ClockId, due: Timespec },
    /// Each tick of the schedule.
    Every(Interval),
}

impl When {
    fn clock(&self) -> ClockId {
        match self {
            When::Once { clock, .. } => *clock,
            When::Every(i) => i.clock(),
        }
    }

    fn due(&self) -> Timespec {
        match self {
            When::Once { due, .. } => *due,
            When::Every(i) => i.deadline(),
        }
    }
}

/// Up to `N` timers.
#[derive(Debug)]
pub(super) struct Timers<const N: usize> {
    slots: [Option<(Token, When)>; N],
}

/// Readings of the clocks the timers use, each read once per pass.
struct Clocks {
    read: [(ClockId, Timespec); 4],
    len: usize,
}

impl Clocks {
    fn now(&mut self, clock: ClockId) -> Result<Timespec, Errno> {
        if let Some((_, t)) = self.read[..self.len].iter().find(|(c, _)| *c == clock) {
            return Ok(*t);
        }
        let t = clock_gettime(clock)?;
        if self.len < self.read.len() {
            self.read[self.len] = (clock, t);
            self.len += 1;
        }
        Ok(t)
    }
}

impl<const N: usize> Timers<N> {
    pub(super) const fn new() -> Timers<N> {
        Timers {
            slots: [const { None }; N],
        }
    }

    fn add(&mut self, token: Token, when: When) -> Result<(), Errno> {
        let slot = self
            .slots
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(Errno::ENOSPC)?;
        *slot = Some((token, when));
        Ok(())
    }

    /// A deadline, once, on `clock`.
    pub(super) fn add_once(
        &mut self,
        token: Token,
        clock: ClockId,
        due: Timespec,
    ) -> Result<(), Errno> {
        self.add(token, When::Once { clock, due })
    }

    /// A schedule.
    pub(super) fn add_every(&mut self, token: Token, interval: Interval) -> Result<(), Errno> {
        self.add(token, When::Every(interval))
    }

    /// Removes every timer of `token`; whether there was one.
    pub(super) fn remove(&mut self, token: Token) -> bool {
        let mut found = false;
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|(t, _)| *t == token) {
                *slot = None;
                found = true;
            }
        }
        found
    }

    /// Puts an event for each due tick into `out`, one tick of each timer per pass (so that
    /// a schedule far behind does not keep the others waiting; a schedule behind by several
    /// ticks gives one each, as its `MissedTicks` says, while there is room); returns how
    /// many, and how long until the next timer is due (`None`: no timer; zero: due ones were
    /// left for want of room). Each clock is read once.
    pub(super) fn fire(&mut self, out: &mut [Event]) -> Result<(usize, Option<Duration>), Errno> {
        let mut clocks = Clocks {
            read: [(ClockId::MONOTONIC, Timespec::ZERO); 4],
            len: 0,
        };
        let mut n = 0;
        loop {
            let mut fired = false;
            for slot in &mut self.slots {
                if n == out.len() {
                    break;
                }
                let Some((token, when)) = slot else {
                    continue;
                };
                let now = clocks.now(when.clock())?;
                let due = when.due();
                if due > now {
                    continue;
                }
                out[n] = Event {
                    token: *token,
                    kind: Kind::Timer { due },
                };
                n += 1;
                fired = true;
                match when {
                    When::Once { .. } => *slot = None,
                    When::Every(interval) => {
                        interval.advance(now);
                    }
                }
            }
            if !fired || n == out.len() {
                break;
            }
        }
        let mut next: Option<Duration> = None;
        for (_, when) in self.slots.iter().flatten() {
            let now = clocks.now(when.clock())?;
            let left = when.due().saturating_duration_since(now);
            next = Some(next.map_or(left, |d| d.min(left)));
        }
        Ok((n, next))
    }
}
