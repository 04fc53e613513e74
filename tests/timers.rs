//! Sleeping and timers in library mode (tinyrt-rt inside this std test), against signal
//! handlers installed through the libc crate: interruptions neither stretch nor shorten a
//! sleep, deadlines stay where they were, clocks that cannot be slept on give the kernel's
//! error, intervals keep their schedule, and timerfds count what they were not read for.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tinyrt_rt::errno::Errno;
use tinyrt_rt::io::AsRawFd;
use tinyrt_rt::time::{
    self, ClockId, Interval, MissedTicks, SleepError, Timeout, TimerFd, TimerFlags, Timespec,
};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Installs the counting handler for SIGUSR1, with SA_RESTART or without.
fn install(restart: bool) {
    // SAFETY: a zeroed sigaction is valid; the handler only touches an atomic.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = if restart { libc::SA_RESTART } else { 0 };
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

/// Sends SIGUSR1 to the calling thread every `every` until the returned guard is dropped
/// (or `for_at_most` has passed).
struct Pester {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl Pester {
    fn start(every: Duration, for_at_most: Duration) -> Pester {
        // SAFETY: pthread_self has no preconditions.
        let target = unsafe { libc::pthread_self() };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut sent = 0;
            while !s.load(Ordering::Relaxed) && start.elapsed() < for_at_most {
                // SAFETY: the target thread outlives the guard that stops this loop.
                unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
                sent += 1;
                std::thread::sleep(every);
            }
            sent
        });
        Pester {
            stop,
            thread: Some(thread),
        }
    }

    fn stop(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// One lock for the tests that count signals: the handler and its counter are global.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const D: Duration = Duration::from_millis(200);
const SLACK: Duration = Duration::from_millis(20);

#[test]
fn sleep_lasts_its_duration_through_a_signal_every_millisecond() {
    let _g = serial();
    for restart in [false, true] {
        install(restart);
        let before = SIGNALS.load(Ordering::Relaxed);
        let p = Pester::start(Duration::from_millis(1), Duration::from_secs(5));
        let start = Instant::now();
        time::sleep(D).unwrap();
        let took = start.elapsed();
        p.stop();
        let handled = SIGNALS.load(Ordering::Relaxed) - before;
        assert!(
            handled >= 50,
            "restart={restart}: only {handled} signals handled"
        );
        assert!(
            took >= D && took < D + SLACK,
            "restart={restart}: slept {took:?} for {D:?} through {handled} signals"
        );
    }
}

/// The fault the test above must catch: a sleep that starts its relative duration again after
/// each interruption (or, as rustix's does, gives up on EINTR) never ends on time.
#[test]
fn a_sleep_that_restarts_its_duration_fails_the_same_measure() {
    let _g = serial();
    install(false);
    fn restarting_sleep(d: Duration) {
        while let Err(SleepError::Interrupted { .. }) =
            time::clock_nanosleep(ClockId::MONOTONIC, Timeout::After(d))
        {}
    }
    let p = Pester::start(Duration::from_millis(1), Duration::from_millis(400));
    let start = Instant::now();
    restarting_sleep(D);
    let took = start.elapsed();
    p.stop();
    assert!(
        took >= D + SLACK,
        "the restarting sleep took {took:?}: the measure would not catch it"
    );
}

#[test]
fn sleep_until_keeps_its_deadline_through_signals() {
    let _g = serial();
    install(false);
    let deadline = time::Instant::now() + Duration::from_millis(150);
    let p = Pester::start(Duration::from_millis(1), Duration::from_secs(5));
    time::sleep_until(deadline).unwrap();
    let woke = time::Instant::now();
    p.stop();
    assert!(woke >= deadline, "woke before the deadline");
    assert!(woke - deadline < SLACK, "woke {:?} late", woke - deadline);
    // A deadline in the past returns at once.
    let start = Instant::now();
    time::sleep_until(deadline).unwrap();
    time::sleep(Duration::ZERO).unwrap();
    assert!(start.elapsed() < Duration::from_millis(5));
}

#[test]
fn an_interrupted_relative_clock_nanosleep_says_what_was_left() {
    let _g = serial();
    install(false);
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() } as usize;
    let kicker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: the sleeping thread waits for this thread (join below).
        unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
    });
    let asked = Duration::from_millis(200);
    let r = time::clock_nanosleep(ClockId::MONOTONIC, Timeout::After(asked));
    kicker.join().unwrap();
    let Err(SleepError::Interrupted { remaining }) = r else {
        panic!("{r:?}");
    };
    assert!(remaining <= asked, "{remaining:?}");
    let want = Duration::from_millis(150);
    assert!(
        remaining.abs_diff(want) < SLACK,
        "{remaining:?} left, about {want:?} expected"
    );
    // Interrupted absolute sleeps report EINTR: their deadline has not moved.
    let kicker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: as above.
        unsafe { libc::pthread_kill(me as libc::pthread_t, libc::SIGUSR1) };
    });
    let now = time::clock_gettime(ClockId::MONOTONIC).unwrap();
    let at = Timespec::new(now.sec() + 1, now.nsec()).unwrap();
    let r = time::clock_nanosleep(ClockId::MONOTONIC, Timeout::At(at));
    kicker.join().unwrap();
    assert_eq!(r, Err(SleepError::Errno(Errno::EINTR)));
}

/// The clocks the kernel cannot sleep on give its own answer (as the raw system call through
/// glibc's `syscall`; glibc's `clock_nanosleep` itself turns the thread CPU clock's
/// EOPNOTSUPP into POSIX's EINVAL), at once.
#[test]
fn clocks_that_cannot_be_slept_on_give_the_kernels_error() {
    for clock in [
        ClockId::MONOTONIC_RAW,
        ClockId::MONOTONIC_COARSE,
        ClockId::REALTIME_COARSE,
        ClockId::THREAD_CPUTIME_ID,
        ClockId::from_raw(99),
    ] {
        let req = libc::timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        // SAFETY: valid timespec; no remainder pointer.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clock_nanosleep,
                clock.raw(),
                0,
                &req as *const libc::timespec,
                std::ptr::null_mut::<libc::timespec>(),
            )
        };
        assert_eq!(r, -1, "{clock:?}");
        let glibc = std::io::Error::last_os_error().raw_os_error().unwrap();
        let start = Instant::now();
        let r = time::clock_nanosleep(clock, Timeout::After(Duration::from_millis(10)));
        assert_eq!(
            r,
            Err(SleepError::Errno(Errno::new(glibc).unwrap())),
            "{clock:?}"
        );
        assert!(start.elapsed() < Duration::from_millis(5), "{clock:?}");
        // An Interval on it: the first tick is due at once (no sleep), the second one has to
        // wait and gives the kernel's error. (Clock 99 cannot even be read.)
        if let Ok(mut iv) = Interval::with_clock(Duration::from_millis(10), clock) {
            assert!(iv.tick().is_ok(), "{clock:?}");
            let err = Errno::new(glibc).unwrap();
            assert_eq!(iv.tick(), Err(err), "{clock:?}");
        } else {
            assert_eq!(clock, ClockId::from_raw(99));
        }
    }
}

#[test]
fn boottime_and_realtime_deadlines_work() {
    for clock in [ClockId::BOOTTIME, ClockId::REALTIME, ClockId::MONOTONIC] {
        let now = time::clock_gettime(clock).unwrap();
        let d = now.as_nanos() + 30_000_000;
        let at = Timespec::new((d / 1_000_000_000) as i64, (d % 1_000_000_000) as u32).unwrap();
        time::clock_nanosleep(clock, Timeout::At(at)).unwrap();
        let after = time::clock_gettime(clock).unwrap();
        assert!(after >= at, "{clock:?}: woke at {after:?} before {at:?}");
        assert!(after.as_nanos() - at.as_nanos() < SLACK.as_nanos() as i128);
        // Relative, too.
        let start = Instant::now();
        time::clock_nanosleep(clock, Timeout::After(Duration::from_millis(20))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }
}

#[test]
fn an_interval_keeps_its_schedule_exactly() {
    let period = Duration::from_millis(1);
    for clock in [ClockId::MONOTONIC, ClockId::BOOTTIME] {
        let mut iv = Interval::with_clock(period, clock).unwrap();
        let start = iv.deadline();
        for k in 0..200i128 {
            let due = iv.tick().unwrap();
            assert_eq!(
                due.as_nanos(),
                start.as_nanos() + k * 1_000_000,
                "{clock:?} tick {k}"
            );
            let now = time::clock_gettime(clock).unwrap();
            assert!(now >= due);
        }
    }
    assert_eq!(Interval::new(Duration::ZERO).err(), Some(Errno::EINVAL));
}

/// A consumer 35 ms late on a 10 ms interval: burst fires the missed ticks at once and keeps
/// the schedule, delay moves the schedule to a period after the late tick, skip drops the
/// missed ticks and goes on with the schedule.
#[test]
fn missed_ticks_burst_delay_or_skip() {
    let period = Duration::from_millis(10);
    let ns = |t: Timespec| t.as_nanos();
    let p = period.as_nanos() as i128;
    for missed in [MissedTicks::Burst, MissedTicks::Delay, MissedTicks::Skip] {
        let mut iv = Interval::new(period).unwrap();
        iv.set_missed_tick_behavior(missed);
        assert_eq!(iv.missed_tick_behavior(), missed);
        let start = ns(iv.tick().unwrap());
        std::thread::sleep(Duration::from_millis(35));
        // The tick due at start + 1 period is late: it fires at once, whatever the choice.
        let t = Instant::now();
        assert_eq!(ns(iv.tick().unwrap()), start + p, "{missed:?}");
        assert!(t.elapsed() < Duration::from_millis(10));
        let next = ns(iv.deadline());
        let now = ns(time::clock_gettime(ClockId::MONOTONIC).unwrap());
        match missed {
            MissedTicks::Burst => {
                assert_eq!(next, start + 2 * p);
                assert_eq!(ns(iv.tick().unwrap()), start + 2 * p);
                assert_eq!(ns(iv.tick().unwrap()), start + 3 * p);
                assert_eq!(iv.deadline().as_nanos(), start + 4 * p);
            }
            MissedTicks::Delay => {
                assert!(next > now && next - now <= p, "{next} {now}");
                assert_eq!(ns(iv.tick().unwrap()), next);
            }
            MissedTicks::Skip => {
                // On the schedule, the first point of it after the late tick fired.
                assert_eq!((next - start) % p, 0, "{next} off the schedule");
                assert!(next >= start + 4 * p && next - p <= now, "{next} {now}");
                assert_eq!(ns(iv.tick().unwrap()), next);
                assert_eq!(iv.deadline().as_nanos(), next + p);
            }
        }
    }
}

/// From now on this thread's `clock_nanosleep` calls fail with EPERM (seccomp; the filter
/// binds the calling thread only).
#[cfg(target_arch = "x86_64")]
fn refuse_clock_nanosleep_in_this_thread() {
    let refuse = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let prog = common::seccomp_program(
        common::AUDIT_ARCH_X86_64,
        &[(libc::SYS_clock_nanosleep, refuse)],
    );
    common::seccomp_this_thread(&prog);
}

/// A tick whose deadline is already past makes no `clock_nanosleep` call: with the call
/// refused (seccomp, EPERM) the late ticks of each mode still come, and the first tick due
/// in the future reports the refusal.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_late_tick_makes_no_sleeping_call() {
    for missed in [MissedTicks::Burst, MissedTicks::Delay, MissedTicks::Skip] {
        std::thread::spawn(move || {
            let period = Duration::from_millis(10);
            let mut iv = Interval::new(period).unwrap();
            iv.set_missed_tick_behavior(missed);
            iv.tick().unwrap();
            std::thread::sleep(Duration::from_millis(35));
            refuse_clock_nanosleep_in_this_thread();
            // The tick due 25 ms ago, and for a burst the one due 15 ms ago.
            assert!(iv.tick().is_ok(), "{missed:?}");
            if missed == MissedTicks::Burst {
                assert!(iv.tick().is_ok(), "{missed:?}");
            }
            iv.reset().unwrap();
            assert_eq!(iv.tick(), Err(Errno::EPERM), "{missed:?}");
        })
        .join()
        .unwrap();
    }
}

#[test]
fn a_timerfd_counts_the_expirations_it_was_not_read_for() {
    let t = TimerFd::new(ClockId::MONOTONIC, TimerFlags::CLOEXEC).unwrap();
    assert!(t.as_raw_fd() > 2);
    let period = Duration::from_millis(10);
    t.set(Timeout::After(period), period).unwrap();
    let state = t.get().unwrap();
    assert_eq!(state.interval, period);
    assert!(state.next <= period && !state.next.is_zero(), "{state:?}");
    std::thread::sleep(Duration::from_millis(105));
    let n = t.wait().unwrap();
    assert!(
        (9..=11).contains(&n),
        "{n} expirations in 105 ms of 10 ms periods"
    );
    assert_eq!(t.wait().unwrap(), 1);
    t.disarm().unwrap();
    assert_eq!(t.get().unwrap().next, Duration::ZERO);

    // Non-blocking: nothing has expired yet.
    let nb = TimerFd::new(
        ClockId::BOOTTIME,
        TimerFlags::CLOEXEC | TimerFlags::NONBLOCK,
    )
    .unwrap();
    assert_eq!(nb.wait(), Err(Errno::EAGAIN));
    // After(ZERO) fires at once (zero would have disarmed it).
    nb.set(Timeout::After(Duration::ZERO), Duration::ZERO)
        .unwrap();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(nb.wait(), Ok(1));
    // An absolute time on the timer's clock.
    let now = time::clock_gettime(ClockId::BOOTTIME).unwrap();
    nb.set(Timeout::At(now), Duration::ZERO).unwrap();
    assert_eq!(nb.wait(), Ok(1));
    // A closed descriptor is closed: the fd number is free again once the timer is dropped.
    let fd = nb.as_raw_fd();
    drop(nb);
    // SAFETY: fcntl on a number we no longer own only queries it.
    assert_eq!(unsafe { libc::fcntl(fd, libc::F_GETFD) }, -1);
    // The kernel's error for a clock without timers.
    assert_eq!(
        TimerFd::new(ClockId::MONOTONIC_RAW, TimerFlags::NONE).err(),
        Some(Errno::EINVAL)
    );
}

/// TFD_TIMER_CANCEL_ON_SET: a wall-clock change (here the clock set to what it reads, which
/// the kernel counts as a change; the step is the microseconds between the read and the set)
/// ends the wait with ECANCELED. Setting the clock needs CAP_SYS_TIME: without it the test is
/// skipped loudly (and fails where skips are not allowed, as scripts/test runs it).
#[test]
fn a_wall_clock_change_cancels_a_cancel_on_set_timer() {
    let t = TimerFd::new(ClockId::REALTIME, TimerFlags::CLOEXEC).unwrap();
    let now = time::clock_gettime(ClockId::REALTIME).unwrap();
    t.set_cancel_on_set(Timespec::new(now.sec() + 60, 0).unwrap(), Duration::ZERO)
        .unwrap();
    // SAFETY: pure system calls on plain structs.
    let set = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
        libc::clock_settime(libc::CLOCK_REALTIME, &ts)
    };
    assert_eq!(
        set,
        0,
        "setting the clock needs root: {}",
        std::io::Error::last_os_error()
    );
    assert_eq!(t.wait(), Err(Errno::ECANCELED));
}

/// A sandbox refusing clock_nanosleep (EPERM, in this thread only): every sleep reports the
/// refusal, also one too long for 32-bit fields, and a later short one is not sent to a
/// 32-bit twin this architecture does not have (nothing is remembered).
#[cfg(target_arch = "x86_64")]
#[test]
fn a_refused_sleep_reports_the_refusal_every_time() {
    std::thread::spawn(|| {
        refuse_clock_nanosleep_in_this_thread();
        assert_eq!(time::sleep(Duration::from_millis(1)), Err(Errno::EPERM));
        assert_eq!(time::sleep(Duration::from_secs(1 << 40)), Err(Errno::EPERM));
        assert_eq!(time::sleep(Duration::from_millis(1)), Err(Errno::EPERM));
        let r = time::clock_nanosleep(ClockId::BOOTTIME, Timeout::After(Duration::from_millis(1)));
        assert_eq!(r, Err(SleepError::Errno(Errno::EPERM)));
    })
    .join()
    .unwrap();
}
