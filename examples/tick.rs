//! `tick PERIOD COUNT [--clock monotonic|boottime] [--missed burst|delay|skip] [--timerfd]`:
//! runs a periodic timer (`tinyrt::time::Interval`) for COUNT ticks and prints how late each
//! tick woke up (minimum, median, 99th percentile, maximum) and the cumulative drift: how far
//! the last ticks woke from the schedule set by the first (when it was due, plus k periods),
//! the least of the last 50 (one late wake-up is lateness, not drift).
//!
//! With `--timerfd` the ticks come from a periodic `TimerFd` instead: each read says how many
//! periods passed since the last one, so ticks the program missed (stopped, busy) are counted,
//! not fired late; it also prints `reads R expirations E`.
//!
//! PERIOD is a whole number with a unit: `500us`, `1ms`, `2s` (also `ns`). The output's last
//! line, `summary ticks=N period_ns=P min_ns=.. median_ns=.. p99_ns=.. max_ns=.. drift_ns=..`,
//! is what scripts/report compares with the same loop in C and Rust std.
#![no_std]
#![no_main]

use core::time::Duration;
use tinyrt::time::{self, ClockId, Interval, MissedTicks, Timeout, TimerFd, TimerFlags};
use tinyrt::{eprintln, println};

tinyrt::main!(main);

/// The most ticks one run records (their lateness lives on the stack).
const MAX_TICKS: usize = 100_000;

fn main(args: tinyrt::env::Args) -> i32 {
    let mut clock = (ClockId::MONOTONIC, "monotonic");
    let mut missed = (MissedTicks::Burst, "burst");
    let mut operands = [None; 2];
    let mut n = 0;
    let mut timerfd = false;
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        match a.to_bytes() {
            b"--clock" => {
                clock = match args.next().map(|v| v.to_bytes()) {
                    Some(b"monotonic") => (ClockId::MONOTONIC, "monotonic"),
                    Some(b"boottime") => (ClockId::BOOTTIME, "boottime"),
                    _ => return usage("--clock takes monotonic or boottime"),
                }
            }
            b"--missed" => {
                missed = match args.next().map(|v| v.to_bytes()) {
                    Some(b"burst") => (MissedTicks::Burst, "burst"),
                    Some(b"delay") => (MissedTicks::Delay, "delay"),
                    Some(b"skip") => (MissedTicks::Skip, "skip"),
                    _ => return usage("--missed takes burst, delay or skip"),
                }
            }
            b"--timerfd" => timerfd = true,
            operand if n < 2 => {
                operands[n] = Some(operand);
                n += 1;
            }
            _ => return usage("too many arguments"),
        }
    }
    let (Some(period), Some(count)) = (operands[0], operands[1]) else {
        return usage("PERIOD and COUNT are needed");
    };
    let Some(period) = parse_period(period) else {
        return usage("PERIOD is a whole number and a unit: 500us, 1ms, 2s");
    };
    let count = match core::str::from_utf8(count)
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
    {
        Some(c) if (1..=MAX_TICKS).contains(&c) => c,
        _ => return usage("COUNT is a whole number from 1 to 100000"),
    };
    if timerfd {
        return by_timerfd(period, count, clock.0);
    }
    let mut interval = match Interval::with_clock(period, clock.0) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("tick: cannot make the timer: {e}");
            return 1;
        }
    };
    interval.set_missed_tick_behavior(missed.0);
    println!(
        "tick: {count} ticks of {} ns on {}, missed ticks: {}",
        period.as_nanos(),
        clock.1,
        missed.1
    );
    let mut late = [0u64; MAX_TICKS];
    let mut first = None;
    let mut drift = Drift::new(count);
    for (k, slot) in late.iter_mut().take(count).enumerate() {
        let woke = interval.tick().and_then(|deadline| {
            let now = time::clock_gettime(clock.0)?;
            Ok((deadline, now))
        });
        let (deadline, now) = match woke {
            Ok(t) => t,
            Err(e) => {
                eprintln!("tick: the timer failed: {e}");
                return 1;
            }
        };
        *slot = u64::try_from(now.as_nanos() - deadline.as_nanos()).unwrap_or(0);
        let first_due = *first.get_or_insert(deadline.as_nanos());
        drift.tick(
            k,
            now.as_nanos() - (first_due + k as i128 * period.as_nanos() as i128),
        );
    }
    report(&mut late[..count], period, count, drift.get());
    0
}

/// The drift of a run of `count` ticks: the least of how far each of the last 50 woke from
/// the schedule.
struct Drift {
    count: usize,
    least: Option<i128>,
}

impl Drift {
    fn new(count: usize) -> Drift {
        Drift { count, least: None }
    }

    /// Tick `k` (from 0) woke `off` nanoseconds after its place on the schedule.
    fn tick(&mut self, k: usize, off: i128) {
        if k + 50 >= self.count {
            self.least = Some(self.least.map_or(off, |l| l.min(off)));
        }
    }

    fn get(&self) -> i128 {
        self.least.unwrap_or(0)
    }
}

/// Prints the lateness statistics of `late` and the `drift` of `count` ticks.
fn report(late: &mut [u64], period: Duration, count: usize, drift: i128) {
    let n = late.len();
    late.sort_unstable();
    let at = |q: usize| late[(n - 1) * q / 100];
    println!(
        "lateness: min {} ns, median {} ns, p99 {} ns, max {} ns; drift over the run {} ns",
        at(0),
        at(50),
        at(99),
        at(100),
        drift
    );
    println!(
        "summary ticks={count} period_ns={} min_ns={} median_ns={} p99_ns={} max_ns={} drift_ns={drift}",
        period.as_nanos(),
        at(0),
        at(50),
        at(99),
        at(100)
    );
}

/// The same run on a periodic timerfd: a read that reports n expirations counts n ticks,
/// the last of them due n - 1 periods after the first.
fn by_timerfd(period: Duration, count: usize, clock: ClockId) -> i32 {
    let fail = |what: &str, e: tinyrt::Errno| {
        eprintln!("tick: {what}: {e}");
        1
    };
    let timer = match TimerFd::new(clock, TimerFlags::CLOEXEC) {
        Ok(t) => t,
        Err(e) => return fail("cannot make the timer", e),
    };
    let start = match time::clock_gettime(clock) {
        Ok(t) => t,
        Err(e) => return fail("cannot read the clock", e),
    };
    let first_due = start.as_nanos() + period.as_nanos() as i128;
    let Some(first_at) = start.checked_add(period) else {
        return fail("cannot arm the timer", tinyrt::Errno::EOVERFLOW);
    };
    if let Err(e) = timer.set(Timeout::At(first_at), period) {
        return fail("cannot arm the timer", e);
    }
    println!(
        "tick: {count} ticks of {} ns on a timerfd",
        period.as_nanos()
    );
    let mut late = [0u64; MAX_TICKS];
    let (mut ticks, mut reads) = (0usize, 0usize);
    let mut drift = Drift::new(count);
    while ticks < count {
        let n = match timer.wait() {
            Ok(n) => n as usize,
            Err(e) => return fail("the timer failed", e),
        };
        let now = match time::clock_gettime(clock) {
            Ok(t) => t.as_nanos(),
            Err(e) => return fail("cannot read the clock", e),
        };
        reads += 1;
        ticks += n;
        // The latest expiration this read reports was due at first + (ticks - 1) periods.
        let due = first_due + (ticks as i128 - 1) * period.as_nanos() as i128;
        if let Some(slot) = late.get_mut(reads - 1) {
            *slot = u64::try_from(now - due).unwrap_or(0);
        }
        drift.tick(ticks - 1, now - due);
    }
    println!("reads {reads} expirations {ticks}");
    report(
        &mut late[..reads.min(MAX_TICKS)],
        period,
        ticks,
        drift.get(),
    );
    0
}

fn usage(problem: &str) -> i32 {
    eprintln!("tick: {problem}");
    eprintln!("usage: tick PERIOD COUNT [--clock monotonic|boottime] [--missed burst|delay|skip]");
    2
}

/// `500us`, `1ms`, `2s`, `100ns`: a positive whole number and a unit.
fn parse_period(p: &[u8]) -> Option<Duration> {
    let digits = p.iter().take_while(|c| c.is_ascii_digit()).count();
    let (number, unit) = p.split_at(digits);
    let n: u64 = core::str::from_utf8(number).ok()?.parse().ok()?;
    let d = match unit {
        b"ns" => Duration::from_nanos(n),
        b"us" => Duration::from_micros(n),
        b"ms" => Duration::from_millis(n),
        b"s" => Duration::from_secs(n),
        _ => return None,
    };
    (!d.is_zero()).then_some(d)
}
