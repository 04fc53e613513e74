//! Points in time: [`Instant`] on CLOCK_MONOTONIC and [`SystemTime`] on CLOCK_REALTIME, over
//! `core::time::Duration`, shaped like std's.

use super::{ClockId, Timespec, clock_gettime};
use core::fmt;
use core::time::Duration;

/// A point on the MONOTONIC clock, like `std::time::Instant`: the time since the clock's
/// zero, at most `i64::MAX` seconds (what the clock's timespec holds), so that every
/// `Instant` is a [`Timespec`] of the clock and back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

/// The most seconds an `Instant` counts (a timespec's).
const MAX_SECS: u64 = i64::MAX as u64;

impl Instant {
    /// The reading as the clock's timespec (`clock_gettime(CLOCK_MONOTONIC)`'s value).
    #[must_use]
    pub fn to_timespec(self) -> Timespec {
        // An Instant's seconds fit an i64: the cap is never reached.
        Timespec::from_parts(
            i64::try_from(self.0.as_secs()).unwrap_or(i64::MAX),
            self.0.subsec_nanos(),
        )
    }

    /// The instant at which CLOCK_MONOTONIC reads `ts`; `None` for a negative time (before
    /// the clock's zero).
    #[must_use]
    pub fn from_timespec(ts: Timespec) -> Option<Instant> {
        ts.to_duration().map(Instant)
    }

    /// Now. (MONOTONIC cannot fail on Linux; if it ever did, this panics.)
    pub fn now() -> Instant {
        match clock_gettime(ClockId::MONOTONIC).map(Timespec::to_duration) {
            Ok(Some(d)) => Instant(d),
            _ => panic!("CLOCK_MONOTONIC failed"),
        }
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    #[must_use]
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later.
    #[must_use]
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later (as `duration_since`).
    #[must_use]
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// The time since `self`.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, if representable (at most `i64::MAX` seconds after the clock's zero, as
    /// std's).
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0
            .checked_add(d)
            .filter(|t| t.as_secs() <= MAX_SECS)
            .map(Instant)
    }

    /// `self - d`, if representable (not before the clock's zero).
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

/// `t + d` and `t - d` for a point in time with `checked_add`/`checked_sub`: panics on
/// overflow, as std's do.
macro_rules! add_sub_duration {
    ($($t:ident),*) => {$(
        impl core::ops::Add<Duration> for $t {
            type Output = $t;
            fn add(self, d: Duration) -> $t {
                self.checked_add(d)
                    .expect(concat!("overflow when adding a duration to ", stringify!($t)))
            }
        }
        impl core::ops::Sub<Duration> for $t {
            type Output = $t;
            fn sub(self, d: Duration) -> $t {
                self.checked_sub(d)
                    .expect(concat!("overflow when subtracting a duration from ", stringify!($t)))
            }
        }
    )*};
}
add_sub_duration!(Instant, SystemTime);

impl core::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// The clock's timespec of an instant ([`Instant::to_timespec`]).
impl From<Instant> for Timespec {
    fn from(t: Instant) -> Timespec {
        t.to_timespec()
    }
}

/// The instant of a timespec of CLOCK_MONOTONIC ([`Instant::from_timespec`]): an error for
/// a negative time.
impl TryFrom<Timespec> for Instant {
    type Error = NegativeTimeError;
    fn try_from(ts: Timespec) -> Result<Instant, NegativeTimeError> {
        Instant::from_timespec(ts).ok_or(NegativeTimeError(()))
    }
}

/// `Instant::try_from(timespec)` with a negative time: no instant is before the clock's
/// zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NegativeTimeError(());

impl fmt::Display for NegativeTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a negative time is before the monotonic clock's zero")
    }
}

impl core::error::Error for NegativeTimeError {}

/// A point on the REALTIME clock, like `std::time::SystemTime`: nanoseconds from the epoch,
/// possibly negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(i128);

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime(0);

/// `SystemTime::duration_since` with a later `earlier`: how much later it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How far the second time was after the first.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "second time provided was later than self (by {:?})",
            self.0
        )
    }
}

impl core::error::Error for SystemTimeError {}

fn nanos_to_duration(n: i128) -> Option<Duration> {
    let n = u128::try_from(n).ok()?;
    let secs = u64::try_from(n / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (n % 1_000_000_000) as u32))
}

impl SystemTime {
    /// `UNIX_EPOCH`.
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// Now. (REALTIME cannot fail on Linux; if it ever did, this panics.)
    #[must_use]
    pub fn now() -> SystemTime {
        match clock_gettime(ClockId::REALTIME) {
            Ok(ts) => SystemTime(ts.as_nanos()),
            Err(e) => panic!("CLOCK_REALTIME failed: {e}"),
        }
    }

    /// The time from `earlier` to `self`, or how much later `earlier` is.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        let d = self.0 - earlier.0;
        if d >= 0 {
            Ok(nanos_to_duration(d).unwrap_or(Duration::MAX))
        } else {
            Err(SystemTimeError(
                nanos_to_duration(-d).unwrap_or(Duration::MAX),
            ))
        }
    }

    /// The time since `self` (an error if the clock was set back past it).
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }

    /// `self + d`, if representable as seconds in an i64.
    #[must_use]
    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        Self::in_range(self.0.checked_add(d.as_nanos().try_into().ok()?)?)
    }

    /// `self - d`, if representable as seconds in an i64.
    #[must_use]
    pub fn checked_sub(&self, d: Duration) -> Option<SystemTime> {
        Self::in_range(self.0.checked_sub(d.as_nanos().try_into().ok()?)?)
    }

    fn in_range(n: i128) -> Option<SystemTime> {
        let secs = n.div_euclid(1_000_000_000);
        (i128::from(i64::MIN)..=i128::from(i64::MAX))
            .contains(&secs)
            .then_some(SystemTime(n))
    }

    /// As a `Timespec` (seconds and nanoseconds from the epoch, floor division).
    #[must_use]
    pub fn to_timespec(&self) -> Timespec {
        Timespec::from_parts(
            self.0.div_euclid(1_000_000_000) as i64,
            self.0.rem_euclid(1_000_000_000) as u32,
        )
    }

    /// From a `Timespec` (seconds and nanoseconds from the epoch).
    #[must_use]
    pub fn from_timespec(ts: Timespec) -> SystemTime {
        SystemTime(ts.as_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_the_clocks_timespecs() {
        let zero = Instant::from_timespec(Timespec::ZERO).unwrap();
        assert_eq!(zero.to_timespec(), Timespec::ZERO);
        let max = Timespec::new(i64::MAX, 999_999_999).unwrap();
        let last = Instant::try_from(max).unwrap();
        assert_eq!(Timespec::from(last), max);
        assert_eq!(
            last.duration_since(zero),
            Duration::new(i64::MAX as u64, 999_999_999)
        );
        // The clock's value, both ways.
        let now = Instant::now();
        assert_eq!(Instant::from_timespec(now.to_timespec()), Some(now));
    }

    #[test]
    fn a_negative_time_is_no_instant() {
        let t = Timespec::new(-1, 999_999_999).unwrap();
        assert_eq!(Instant::from_timespec(t), None);
        assert_eq!(Instant::try_from(t), Err(NegativeTimeError(())));
        fn error<E: core::error::Error + Send + Sync + 'static>(_: &E) {}
        error(&NegativeTimeError(()));
        extern crate std;
        let text = std::format!("{}", NegativeTimeError(()));
        assert_eq!(text, "a negative time is before the monotonic clock's zero");
    }

    /// As std's on Linux: no instant past i64::MAX seconds of the clock.
    #[test]
    fn instants_end_at_i64_seconds() {
        let last = Instant::from_timespec(Timespec::new(i64::MAX, 999_999_999).unwrap()).unwrap();
        assert_eq!(last.checked_add(Duration::new(0, 1)), None);
        let zero = Instant::from_timespec(Timespec::ZERO).unwrap();
        assert_eq!(
            zero.checked_add(Duration::new(i64::MAX as u64, 999_999_999)),
            Some(last)
        );
        assert_eq!(
            zero.checked_add(Duration::from_secs(i64::MAX as u64 + 1)),
            None
        );
        assert_eq!(zero.checked_sub(Duration::new(0, 1)), None);
    }

    #[test]
    fn saturating_duration_since_is_zero_backwards() {
        let a = Instant::from_timespec(Timespec::new(5, 0).unwrap()).unwrap();
        let b = a + Duration::new(1, 1);
        assert_eq!(b.saturating_duration_since(a), Duration::new(1, 1));
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    }
}
