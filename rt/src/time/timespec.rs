//! `Timespec` and `Timeval`: seconds with nanoseconds or microseconds, as the clocks give
//! them.
//!
//! The fraction is kept with bit 31 set (`FRACTION_TAG`; a fraction never reaches 2^30),
//! so that it is never zero. That zero is a niche: `Result<Timespec, Errno>` and
//! `Option<Timespec>` are 16 bytes with no tag of their own, returned in two registers and
//! copied without reading padding. (Without it the result is 24 bytes, and copying it
//! read 8 bytes over a 4-byte store: a failed store forward on every clock read, which
//! cost a cheap read a third of its time.)

use core::fmt;
use core::num::NonZeroU32;
use core::time::Duration;
use linux_raw_sys::general::__kernel_timespec;

const FRACTION_TAG: u32 = 1 << 31;

/// `v` with the tag bit: never zero (the `None` arm is never taken and folds away).
#[inline(always)]
const fn tagged(v: u32) -> NonZeroU32 {
    match NonZeroU32::new(v | FRACTION_TAG) {
        Some(n) => n,
        None => NonZeroU32::MAX,
    }
}

/// Seconds and nanoseconds, as clocks give them. The nanoseconds are always below
/// 1,000,000,000; the seconds may be negative (REALTIME before 1970). Ordered by time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    sec: i64,
    /// The nanoseconds, tagged.
    nsec: NonZeroU32,
}

impl Timespec {
    /// Zero seconds, zero nanoseconds (the epoch, or the start of a clock).
    pub const ZERO: Timespec = Timespec::from_parts(0, 0);

    /// `sec` seconds and `nsec` nanoseconds; `None` unless `nsec` is below 1,000,000,000.
    #[must_use]
    pub const fn new(sec: i64, nsec: u32) -> Option<Timespec> {
        if nsec >= 1_000_000_000 {
            return None;
        }
        Some(Timespec::from_parts(sec, nsec))
    }

    /// `new` for a fraction known to be in range.
    #[inline(always)]
    pub(crate) const fn from_parts(sec: i64, nsec: u32) -> Timespec {
        Timespec {
            sec,
            nsec: tagged(nsec),
        }
    }

    /// Whole seconds.
    #[inline(always)]
    #[must_use]
    pub const fn sec(self) -> i64 {
        self.sec
    }

    /// Nanoseconds, 0..=999,999,999.
    #[inline(always)]
    #[must_use]
    pub const fn nsec(self) -> u32 {
        self.nsec.get() & !FRACTION_TAG
    }

    /// The time since zero, for a non-negative value.
    #[must_use]
    pub fn to_duration(self) -> Option<Duration> {
        u64::try_from(self.sec)
            .ok()
            .map(|s| Duration::new(s, self.nsec()))
    }

    /// `self + d`, or `None` past what a timespec holds.
    #[must_use]
    pub fn checked_add(self, d: Duration) -> Option<Timespec> {
        // Unsigned: a duration past i64::MAX seconds still fits from a negative time.
        let nsec = self.nsec() + d.subsec_nanos();
        let carry = i64::from(nsec >= 1_000_000_000);
        Some(Timespec::from_parts(
            self.sec
                .checked_add_unsigned(d.as_secs())?
                .checked_add(carry)?,
            nsec % 1_000_000_000,
        ))
    }

    /// `d` after zero, or `None` past `i64::MAX` seconds.
    #[must_use]
    pub const fn from_duration(d: Duration) -> Option<Timespec> {
        if d.as_secs() > i64::MAX as u64 {
            return None;
        }
        Some(Timespec::from_parts(d.as_secs() as i64, d.subsec_nanos()))
    }

    /// `self - d`, or `None` before what a timespec holds.
    #[must_use]
    pub fn checked_sub(self, d: Duration) -> Option<Timespec> {
        // Unsigned, as in `checked_add`: from a positive time, more than i64::MAX seconds
        // may still be taken away.
        let borrow = self.nsec() < d.subsec_nanos();
        let nsec = self.nsec() + if borrow { 1_000_000_000 } else { 0 } - d.subsec_nanos();
        Some(Timespec::from_parts(
            self.sec
                .checked_sub_unsigned(d.as_secs())?
                .checked_sub(i64::from(borrow))?,
            nsec,
        ))
    }

    /// The time from `earlier` to `self`, or `None` if `earlier` is later. Any two
    /// timespecs are at most `Duration::MAX` apart: there is no other `None`.
    #[must_use]
    pub fn checked_duration_since(self, earlier: Timespec) -> Option<Duration> {
        if self < earlier {
            return None;
        }
        // self >= earlier: a borrow means the seconds differ by at least one.
        let secs = self.sec.abs_diff(earlier.sec);
        Some(match self.nsec().checked_sub(earlier.nsec()) {
            Some(nsec) => Duration::new(secs, nsec),
            None => Duration::new(secs - 1, self.nsec() + 1_000_000_000 - earlier.nsec()),
        })
    }

    /// The time from `earlier` to `self`; zero if `earlier` is later.
    #[must_use]
    pub fn saturating_duration_since(self, earlier: Timespec) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }

    /// Nanoseconds as one number (i128 cannot overflow).
    #[must_use]
    pub fn as_nanos(self) -> i128 {
        i128::from(self.sec) * 1_000_000_000 + i128::from(self.nsec())
    }

    /// The kernel's timespec (whose `tv_nsec` the kernel keeps in 0..1e9).
    #[inline(always)]
    pub(crate) fn from_kernel(ts: &__kernel_timespec) -> Timespec {
        Timespec::from_parts(ts.tv_sec, ts.tv_nsec as u32)
    }

    /// As the kernel's timespec.
    #[inline(always)]
    pub(crate) fn to_kernel(self) -> __kernel_timespec {
        __kernel_timespec {
            tv_sec: self.sec,
            tv_nsec: i64::from(self.nsec()),
        }
    }
}

/// `t + d`: panics past what a timespec holds, as std's `Instant` does
/// ([`Timespec::checked_add`] does not).
impl core::ops::Add<Duration> for Timespec {
    type Output = Timespec;
    fn add(self, d: Duration) -> Timespec {
        self.checked_add(d)
            .expect("overflow when adding a duration to a Timespec")
    }
}

/// `t - d`: panics before what a timespec holds, as std's `Instant` does
/// ([`Timespec::checked_sub`] does not).
impl core::ops::Sub<Duration> for Timespec {
    type Output = Timespec;
    fn sub(self, d: Duration) -> Timespec {
        self.checked_sub(d)
            .expect("overflow when subtracting a duration from a Timespec")
    }
}

impl Default for Timespec {
    fn default() -> Timespec {
        Timespec::ZERO
    }
}

impl fmt::Debug for Timespec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timespec")
            .field("sec", &self.sec)
            .field("nsec", &self.nsec())
            .finish()
    }
}

/// Seconds and microseconds, as `gettimeofday` gives them (the microseconds below
/// 1,000,000). Ordered by time.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeval {
    sec: i64,
    /// The microseconds, tagged.
    usec: NonZeroU32,
}

impl Timeval {
    /// `sec` seconds and `usec` microseconds; `None` unless `usec` is below 1,000,000.
    #[must_use]
    pub const fn new(sec: i64, usec: u32) -> Option<Timeval> {
        if usec >= 1_000_000 {
            return None;
        }
        Some(Timeval::from_parts(sec, usec))
    }

    #[inline(always)]
    pub(crate) const fn from_parts(sec: i64, usec: u32) -> Timeval {
        Timeval {
            sec,
            usec: tagged(usec),
        }
    }

    /// Whole seconds.
    #[inline(always)]
    #[must_use]
    pub const fn sec(self) -> i64 {
        self.sec
    }

    /// Microseconds, 0..=999,999.
    #[inline(always)]
    #[must_use]
    pub const fn usec(self) -> u32 {
        self.usec.get() & !FRACTION_TAG
    }
}

impl Default for Timeval {
    fn default() -> Timeval {
        Timeval::from_parts(0, 0)
    }
}

impl fmt::Debug for Timeval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeval")
            .field("sec", &self.sec)
            .field("usec", &self.usec())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::Errno;

    /// As std's `SystemTime::checked_add`: a duration longer than i64::MAX seconds added
    /// to a negative time gives the time it reaches, if that fits.
    #[test]
    fn adding_past_i64_seconds_to_a_negative_time() {
        let t = Timespec::new(-(i64::MAX - 1), 0).unwrap();
        let d = Duration::from_secs(i64::MAX as u64 + 1);
        assert_eq!(t.checked_add(d), Timespec::new(2, 0));
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(
            Timespec::new(i64::MAX, 999_999_999)
                .unwrap()
                .checked_add(Duration::new(0, 1)),
            None
        );
    }

    /// Subtraction at the ends: a borrow from the seconds, the last representable time, and
    /// more than i64::MAX seconds taken from a positive time.
    #[test]
    fn subtracting_at_the_ends() {
        let t = Timespec::new(6, 100_000_000).unwrap();
        assert_eq!(
            t.checked_sub(Duration::from_millis(200)),
            Timespec::new(5, 900_000_000)
        );
        assert_eq!(t - Duration::new(6, 100_000_000), Timespec::ZERO);
        assert_eq!(
            t - Duration::new(7, 0),
            Timespec::new(-1, 100_000_000).unwrap()
        );
        let min = Timespec::new(i64::MIN, 0).unwrap();
        assert_eq!(min.checked_sub(Duration::new(0, 1)), None);
        assert_eq!(
            Timespec::new(i64::MIN, 1)
                .unwrap()
                .checked_sub(Duration::new(0, 1)),
            Some(min)
        );
        let max = Timespec::new(i64::MAX, 999_999_999).unwrap();
        assert_eq!(max.checked_sub(Duration::MAX), Some(min));
        assert_eq!(
            max.checked_sub(Duration::from_secs(u64::MAX)),
            Timespec::new(i64::MIN, 999_999_999)
        );
        assert_eq!(
            t + Duration::new(0, 900_000_000),
            Timespec::new(7, 0).unwrap()
        );
    }

    #[test]
    fn durations_between_timespecs() {
        let a = Timespec::new(-1, 999_999_999).unwrap();
        let b = Timespec::new(1, 0).unwrap();
        assert_eq!(b.checked_duration_since(a), Some(Duration::new(1, 1)));
        assert_eq!(a.checked_duration_since(b), None);
        assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
        assert_eq!(b.saturating_duration_since(a), Duration::new(1, 1));
        assert_eq!(a.checked_duration_since(a), Some(Duration::ZERO));
        // The widest gap is Duration::MAX exactly.
        let min = Timespec::new(i64::MIN, 0).unwrap();
        let max = Timespec::new(i64::MAX, 999_999_999).unwrap();
        assert_eq!(max.checked_duration_since(min), Some(Duration::MAX));
        assert_eq!(min.saturating_duration_since(max), Duration::ZERO);
    }

    #[test]
    fn from_duration_up_to_i64_seconds() {
        assert_eq!(
            Timespec::from_duration(Duration::ZERO),
            Some(Timespec::ZERO)
        );
        let last = Duration::new(i64::MAX as u64, 999_999_999);
        assert_eq!(
            Timespec::from_duration(last),
            Timespec::new(i64::MAX, 999_999_999)
        );
        assert_eq!(Timespec::from_duration(last + Duration::new(0, 1)), None);
        assert_eq!(Timespec::from_duration(Duration::MAX), None);
    }

    #[test]
    #[should_panic(expected = "overflow when adding a duration to a Timespec")]
    fn adding_past_the_end_panics() {
        let _ = Timespec::new(i64::MAX, 999_999_999).unwrap() + Duration::new(0, 1);
    }

    #[test]
    #[should_panic(expected = "overflow when subtracting a duration from a Timespec")]
    fn subtracting_past_the_start_panics() {
        let _ = Timespec::new(i64::MIN, 0).unwrap() - Duration::new(0, 1);
    }

    #[test]
    fn results_are_two_words() {
        assert_eq!(size_of::<Result<Timespec, Errno>>(), 16);
        assert_eq!(size_of::<Option<Timespec>>(), 16);
        assert_eq!(size_of::<Result<Timeval, Errno>>(), 16);
    }

    #[test]
    fn fractions_round_trip_and_order() {
        for ns in [0, 1, 999_999_999, 1 << 29] {
            assert_eq!(Timespec::new(-3, ns).unwrap().nsec(), ns);
        }
        assert_eq!(Timespec::new(0, 1_000_000_000), None);
        assert_eq!(Timeval::new(0, 1_000_000), None);
        assert_eq!(Timeval::new(7, 999_999).unwrap().usec(), 999_999);
        let a = Timespec::new(1, 999_999_999).unwrap();
        let b = Timespec::new(2, 0).unwrap();
        assert!(a < b && Timespec::new(-1, 5).unwrap() < Timespec::ZERO);
        assert_eq!(Timespec::default(), Timespec::ZERO);
        extern crate std;
        assert_eq!(
            std::format!("{:?}", a),
            "Timespec { sec: 1, nsec: 999999999 }"
        );
    }
}
