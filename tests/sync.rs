//! tinyrt's `sync` in library mode, with std's threads: the counts a lock must keep under
//! contention, producers and consumers that lose and duplicate nothing, timeouts held
//! against `std::time::Instant`, readers that overlap and writers that do not, one run of a
//! `Once` under a race, one leader per `Barrier` round, and lock_api (talc among its users)
//! taking `sync::RawMutex`.
//!
//! Every test runs its threads under a watchdog (`within`): a lost wake-up fails the test
//! after a minute instead of hanging the suite.
//!
//! On every architecture (qemu-user; a std test program for them would need their glibc,
//! which this machine does not have), the `sync` example: each lock's states and a timed
//! wait through the futex call, in a tinyrt program; on i686 also with `futex_time64`
//! refused (seccomp), where the plain `futex` serves.

mod common;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use tinyrt_rt::sync::{Barrier, Condvar, Mutex, Once, OnceLock, RawMutex, RwLock};

/// Runs `f` on a thread of its own; fails if it has not returned after `limit` (a waiter
/// that was never woken).
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still waiting after {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: a thread panicked"),
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// A read and a separate write, so that two holders at once would lose increments.
fn bump(n: &mut u64) {
    let v = std::hint::black_box(*n);
    std::hint::spin_loop();
    *n = v + 1;
}

#[test]
fn eight_threads_increment_a_mutex_800_000_times() {
    let total = within(MINUTE, "Mutex", || {
        let m = Mutex::new(0u64);
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..100_000 {
                        bump(&mut m.lock());
                    }
                });
            }
        });
        m.into_inner()
    });
    assert_eq!(total, 800_000);
}

#[test]
fn lock_api_mutex_over_raw_mutex_counts_exactly() {
    let total = within(MINUTE, "lock_api::Mutex<RawMutex>", || {
        let m = lock_api::Mutex::<RawMutex, u64>::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for i in 0..100_000 {
                        if i % 3 == 0 {
                            // try_lock too: it must never hand out a held lock.
                            if let Some(mut g) = m.try_lock() {
                                bump(&mut g);
                                continue;
                            }
                        }
                        bump(&mut m.lock());
                    }
                });
            }
        });
        m.into_inner()
    });
    assert_eq!(total, 400_000);
}

/// talc, a lock_api user, with `sync::RawMutex` as its lock: four threads allocate, fill,
/// check and free blocks through one `TalcLock`; two threads inside talc at once would
/// hand out overlapping blocks or break its lists.
#[test]
fn talc_takes_raw_mutex() {
    use std::alloc::{GlobalAlloc, Layout, System};
    type Talc = talc::TalcLock<RawMutex, talc::source::GlobalAllocSource<System>>;
    within(MINUTE, "talc", || {
        let talc: Talc = talc::TalcLock::new(talc::source::GlobalAllocSource::new(System));
        thread::scope(|s| {
            for t in 0..4u8 {
                let talc = &talc;
                s.spawn(move || {
                    let mut live = Vec::new();
                    for i in 0..20_000usize {
                        let layout = Layout::from_size_align(8 + (i * 7919) % 500, 8).unwrap();
                        // SAFETY: a non-zero size; the block is ours until freed below.
                        let p = unsafe { talc.alloc(layout) };
                        assert!(!p.is_null());
                        // SAFETY: `p` is valid for `layout.size()` bytes.
                        unsafe { p.write_bytes(t, layout.size()) };
                        live.push((p, layout));
                        if live.len() > 64 {
                            let (p, layout) = live.swap_remove(i % live.len());
                            // SAFETY: written above by this thread, alive until freed here.
                            let bytes = unsafe { std::slice::from_raw_parts(p, layout.size()) };
                            assert!(bytes.iter().all(|&b| b == t), "a block was overwritten");
                            // SAFETY: allocated by `talc` with this layout, freed once.
                            unsafe { talc.dealloc(p, layout) };
                        }
                    }
                    for (p, layout) in live {
                        // SAFETY: as above.
                        unsafe { talc.dealloc(p, layout) };
                    }
                });
            }
        });
    });
}

/// A bounded queue of 4 slots, 3 producers of 20,000 distinct numbers each and 3
/// consumers, woken one at a time (`notify_one`): every number arrives exactly once.
#[test]
fn condvar_producers_and_consumers_lose_and_duplicate_nothing() {
    const PRODUCERS: u64 = 3;
    const EACH: u64 = 20_000;
    const TOTAL: u64 = PRODUCERS * EACH;
    let mut got = within(MINUTE, "Condvar queue", || {
        struct Queue {
            items: VecDeque<u64>,
            taken: u64,
        }
        let q = Mutex::new(Queue {
            items: VecDeque::new(),
            taken: 0,
        });
        let (not_full, not_empty) = (Condvar::new(), Condvar::new());
        thread::scope(|s| {
            for p in 0..PRODUCERS {
                let (q, not_full, not_empty) = (&q, &not_full, &not_empty);
                s.spawn(move || {
                    for i in 0..EACH {
                        let mut g = not_full.wait_while(q.lock(), |q| q.items.len() == 4);
                        g.items.push_back(p * EACH + i);
                        drop(g);
                        not_empty.notify_one();
                    }
                });
            }
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let mut g = not_empty
                                .wait_while(q.lock(), |q| q.items.is_empty() && q.taken < TOTAL);
                            let Some(v) = g.items.pop_front() else {
                                // All taken: let the other consumers see it too.
                                drop(g);
                                not_empty.notify_all();
                                return mine;
                            };
                            g.taken += 1;
                            let done = g.taken == TOTAL;
                            drop(g);
                            mine.push(v);
                            not_full.notify_one();
                            if done {
                                not_empty.notify_all();
                            }
                        }
                    })
                })
                .collect();
            consumers
                .into_iter()
                .flat_map(|c| c.join().unwrap())
                .collect::<Vec<u64>>()
        })
    });
    got.sort_unstable();
    assert_eq!(got.len() as u64, TOTAL);
    assert!(got.iter().copied().eq(0..TOTAL), "lost or duplicated items");
}

/// Two threads hand a turn back and forth 100,000 times, each waking the other with
/// `notify_one` just as it goes to sleep itself: a notification that slips in between a
/// waiter's unlock and its sleep must still wake it (the counter it read changed), or both
/// sleep for ever.
#[test]
fn condvar_ping_pong_loses_no_notification() {
    const HANDOFFS: u32 = 100_000;
    within(MINUTE, "ping-pong", || {
        let turn = Mutex::new(0u32);
        let cv = Condvar::new();
        thread::scope(|s| {
            for me in 0..2 {
                let (turn, cv) = (&turn, &cv);
                s.spawn(move || {
                    loop {
                        let mut t = cv.wait_while(turn.lock(), |t| *t % 2 != me && *t < HANDOFFS);
                        if *t >= HANDOFFS {
                            cv.notify_one();
                            return;
                        }
                        *t += 1;
                        cv.notify_one();
                    }
                });
            }
        });
        assert!(*turn.lock() >= HANDOFFS);
    });
}

#[test]
fn condvar_wait_timeout_times_out_and_never_early() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    for ms in [1u64, 10, 50, 200] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        let (g, r) = cv.wait_timeout(m.lock(), d);
        let took = start.elapsed();
        drop(g);
        // A spurious wake-up may end a wait_timeout early (std allows it), but then it must
        // not claim a timeout; a timeout must not come early.
        if r.timed_out() {
            assert!(took >= d, "timed out after {took:?} of {d:?}");
        }
        let start = Instant::now();
        let (_g, r) = cv.wait_timeout_while(m.lock(), d, |()| true);
        let took = start.elapsed();
        assert!(r.timed_out() && took >= d, "{took:?} of {d:?}");
        assert!(took < d + Duration::from_secs(5), "{took:?} of {d:?}");
    }
}

/// Notifications every millisecond during a 150 ms `wait_timeout_while` whose condition
/// stays true: each wake-up waits again for what is left, so it ends at 150 ms, neither
/// before nor after the notifications stop (1.5 s later).
#[test]
fn condvar_notifications_neither_shorten_nor_stretch_a_timeout_while() {
    within(MINUTE, "wait_timeout_while", || {
        let m = Mutex::new(0u32);
        let cv = Condvar::new();
        let stop = AtomicBool::new(false);
        thread::scope(|s| {
            s.spawn(|| {
                let start = Instant::now();
                while !stop.load(SeqCst) && start.elapsed() < Duration::from_millis(1500) {
                    *m.lock() += 1;
                    cv.notify_all();
                    thread::sleep(Duration::from_millis(1));
                }
            });
            let d = Duration::from_millis(150);
            let start = Instant::now();
            let (g, r) = cv.wait_timeout_while(m.lock(), d, |_| true);
            let took = start.elapsed();
            stop.store(true, SeqCst);
            assert!(r.timed_out());
            assert!(took >= d, "ended early: {took:?}");
            assert!(took < Duration::from_millis(1400), "restarted: {took:?}");
            assert!(*g > 10, "only {} notifications during the wait", *g);
        });
    });
}

/// A signal every millisecond at a thread in a 150 ms `wait_timeout` (a handler without
/// SA_RESTART: each one ends the futex wait with EINTR): the wait resumes toward the same
/// absolute deadline, so it times out at 150 ms, not before, and not after the signals stop
/// (1.5 s) as a wait that restarted its whole time after each interruption would.
#[test]
fn condvar_wait_timeout_is_not_stretched_by_interruptions() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: a handler that does nothing, for SIGURG (ignored by default, used by no other
    // test here), without SA_RESTART; the struct is zeroed, then filled.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = nothing as extern "C" fn(libc::c_int) as usize;
        assert_eq!(libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut()), 0);
    }
    within(MINUTE, "interrupted wait_timeout", || {
        let m = Mutex::new(());
        let cv = Condvar::new();
        let stop = AtomicBool::new(false);
        let signals = AtomicUsize::new(0);
        let (tx, rx) = mpsc::channel();
        thread::scope(|s| {
            let (stop, signals) = (&stop, &signals);
            s.spawn(move || {
                let target: libc::pthread_t = rx.recv().unwrap();
                let start = Instant::now();
                while !stop.load(SeqCst) && start.elapsed() < Duration::from_millis(1500) {
                    // SAFETY: the waiting thread is alive until it sets `stop`.
                    assert_eq!(unsafe { libc::pthread_kill(target, libc::SIGURG) }, 0);
                    signals.fetch_add(1, SeqCst);
                    thread::sleep(Duration::from_millis(1));
                }
            });
            // SAFETY: pthread_self has no preconditions.
            tx.send(unsafe { libc::pthread_self() }).unwrap();
            let d = Duration::from_millis(150);
            let start = Instant::now();
            let (_g, r) = cv.wait_timeout(m.lock(), d);
            let took = start.elapsed();
            stop.store(true, SeqCst);
            assert!(r.timed_out(), "ended without a timeout after {took:?}");
            assert!(took >= d, "ended early: {took:?}");
            assert!(took < Duration::from_millis(1400), "restarted: {took:?}");
            assert!(
                signals.load(SeqCst) > 10,
                "{} signals",
                signals.load(SeqCst)
            );
        });
    });
}

#[test]
fn condvar_notify_one_ends_a_timed_wait_before_its_timeout() {
    within(MINUTE, "notify_one", || {
        let m = Mutex::new(false);
        let cv = Condvar::new();
        thread::scope(|s| {
            s.spawn(|| {
                thread::sleep(Duration::from_millis(20));
                *m.lock() = true;
                cv.notify_one();
            });
            let start = Instant::now();
            let (g, r) = cv.wait_timeout_while(m.lock(), Duration::from_secs(30), |ready| !*ready);
            assert!(*g && !r.timed_out());
            assert!(start.elapsed() < Duration::from_secs(20));
        });
    });
}

/// Four readers hold the lock at the same time (each waits inside until all four are
/// in); then readers and writers mixed: a writer is never inside with anyone, and readers
/// never see a half-written pair.
#[test]
fn rwlock_readers_overlap_and_writers_are_exclusive() {
    within(MINUTE, "RwLock readers", || {
        let l = RwLock::new(());
        let inside = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let _r = l.read();
                    inside.fetch_add(1, SeqCst);
                    while inside.load(SeqCst) < 4 {
                        std::hint::spin_loop();
                        thread::yield_now();
                    }
                });
            }
        });
        assert_eq!(inside.load(SeqCst), 4);
    });
    let violations = within(MINUTE, "RwLock mixed", || {
        let l = RwLock::new((0u64, 0u64));
        let readers = AtomicUsize::new(0);
        let writers = AtomicUsize::new(0);
        let violations = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..5_000 {
                        let mut w = l.write();
                        if writers.fetch_add(1, SeqCst) != 0 || readers.load(SeqCst) != 0 {
                            violations.fetch_add(1, SeqCst);
                        }
                        w.0 += 1;
                        std::hint::spin_loop();
                        w.1 += 1;
                        writers.fetch_sub(1, SeqCst);
                    }
                });
            }
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..20_000 {
                        let r = l.read();
                        readers.fetch_add(1, SeqCst);
                        if writers.load(SeqCst) != 0 || r.0 != r.1 {
                            violations.fetch_add(1, SeqCst);
                        }
                        readers.fetch_sub(1, SeqCst);
                    }
                });
            }
        });
        assert_eq!(l.into_inner(), (10_000, 10_000));
        violations.load(SeqCst)
    });
    assert_eq!(violations, 0);
}

/// Eight threads released together at one `Once`, 200 times: the closure runs once per
/// `Once`, and every caller returns only after it has (it sees its write).
#[test]
fn once_runs_once_under_a_race_of_eight() {
    within(MINUTE, "Once", || {
        for round in 0..200 {
            let once = Once::new();
            let runs = AtomicUsize::new(0);
            let start = std::sync::Barrier::new(8);
            thread::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|| {
                        start.wait();
                        once.call_once(|| {
                            if round % 50 == 0 {
                                // A slow run, so that the others sleep on it.
                                thread::sleep(Duration::from_millis(20));
                            }
                            runs.fetch_add(1, SeqCst);
                        });
                        assert_eq!(runs.load(SeqCst), 1, "returned before the run ended");
                        assert!(once.is_completed());
                    });
                }
            });
            assert_eq!(runs.load(SeqCst), 1);
        }
    });
}

#[test]
fn once_lock_has_one_value_under_a_race() {
    within(MINUTE, "OnceLock", || {
        for _ in 0..200 {
            let cell: OnceLock<usize> = OnceLock::new();
            let inits = AtomicUsize::new(0);
            let sets = AtomicUsize::new(0);
            let start = std::sync::Barrier::new(8);
            let seen: Vec<usize> = thread::scope(|s| {
                let hs: Vec<_> = (0..8)
                    .map(|t| {
                        let (cell, inits, sets, start) = (&cell, &inits, &sets, &start);
                        s.spawn(move || {
                            start.wait();
                            if t % 2 == 0 {
                                *cell.get_or_init(|| {
                                    inits.fetch_add(1, SeqCst);
                                    t
                                })
                            } else {
                                if cell.set(t).is_ok() {
                                    sets.fetch_add(1, SeqCst);
                                }
                                *cell.get().unwrap()
                            }
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert_eq!(inits.load(SeqCst) + sets.load(SeqCst), 1);
            assert!(seen.iter().all(|&v| v == seen[0]));
            assert_eq!(cell.get(), Some(&seen[0]));
        }
    });
}

/// Eight threads through 2,000 rounds of one `Barrier`: nobody leaves a round before all
/// eight arrived, and each round has exactly one leader.
#[test]
fn barrier_rounds_have_one_leader_each() {
    const ROUNDS: usize = 2_000;
    let leaders = within(MINUTE, "Barrier", || {
        let b = Barrier::new(8);
        let arrived: Vec<AtomicUsize> = (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect();
        let leaders: Vec<AtomicUsize> = (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect();
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for r in 0..ROUNDS {
                        arrived[r].fetch_add(1, SeqCst);
                        if b.wait().is_leader() {
                            leaders[r].fetch_add(1, SeqCst);
                        }
                        assert_eq!(arrived[r].load(SeqCst), 8, "left round {r} early");
                    }
                });
            }
        });
        leaders.iter().map(|l| l.load(SeqCst)).collect::<Vec<_>>()
    });
    assert!(leaders.iter().all(|&l| l == 1), "{leaders:?}");
}

/// The `sync` example (one thread: each lock's states, a 30 ms timed wait that times out and
/// not early) on every architecture.
#[test]
fn sync_example_on_every_arch() {
    for arch in common::ARCHES {
        let Some(dir) = common::cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let out = arch.command(&dir.join("sync")).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.ends_with("sync: ok\n"),
            "{name}: {out:?}"
        );
        assert!(text.contains("condvar not early: ok"), "{name}: {text}");
        let waited = text.lines().find(|l| l.starts_with("condvar waited"));
        println!("{name}: {}", waited.unwrap_or_default());
    }
}

/// i686 natively: the timed wait is `futex_time64` with an absolute MONOTONIC deadline
/// (strace); with it refused by seccomp (ENOSYS as before Linux 5.1, EPERM as Docker's
/// profile), the plain `futex` serves it, tried once; with both refused, the wait cannot
/// time out and the example says so (the control: the fallback is what served).
#[test]
fn refused_futex_time64_falls_back_to_futex() {
    use common::i386::{AUDIT_ARCH, FUTEX_TIME64, FUTEX32};
    use std::process::Command;
    let i686 = common::ARCHES[0];
    let Some(dir) = common::cross_examples(&i686) else {
        return;
    };
    let exe = dir.join("sync");
    let traced = |refused: &[i64], errno: i32| {
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-e", "trace=futex,futex_time64"])
            .arg(&exe)
            .arg("50");
        let action = libc::SECCOMP_RET_ERRNO | errno as u32;
        let rules: Vec<(i64, u32)> = refused.iter().map(|&n| (n, action)).collect();
        common::with_seccomp(&mut cmd, common::seccomp_program(AUDIT_ARCH, &rules));
        let start = Instant::now();
        let out = cmd.output().unwrap();
        (out, start.elapsed())
    };
    let (out, _) = traced(&[], 0);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let waits: Vec<&str> = log.lines().filter(|l| l.contains("WAIT")).collect();
    assert_eq!(waits.len(), 1, "{log}");
    assert!(
        waits[0].starts_with("futex_time64(") && waits[0].contains("FUTEX_WAIT_BITSET_PRIVATE"),
        "{log}"
    );
    for errno in [libc::ENOSYS, libc::EPERM] {
        let (out, took) = traced(&[FUTEX_TIME64], errno);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "errno {errno}: {log}");
        assert!(took >= Duration::from_millis(50), "errno {errno}: {took:?}");
        assert_eq!(log.matches("futex_time64(").count(), 1, "{log}");
        assert!(
            log.lines().any(|l| l.starts_with("futex(")
                && l.contains("FUTEX_WAIT_BITSET_PRIVATE")
                && l.ends_with("ETIMEDOUT (Connection timed out)")),
            "errno {errno}: {log}"
        );
    }
    let (out, _) = traced(&[FUTEX_TIME64, FUTEX32], libc::EPERM);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("sync: condvar timed out: FAILED"));
}
