//! The loop in library mode (std's test threads): each source, nothing early, nothing lost.
use super::*;

#[test]
fn milliseconds_round_up_and_cap() {
    assert_eq!(milliseconds(None), -1);
    assert_eq!(milliseconds(Some(Duration::ZERO)), 0);
    assert_eq!(milliseconds(Some(Duration::from_nanos(1))), 1);
    assert_eq!(milliseconds(Some(Duration::from_micros(1500))), 2);
    assert_eq!(milliseconds(Some(Duration::from_millis(7))), 7);
    assert_eq!(milliseconds(Some(Duration::MAX)), i32::MAX);
}

#[test]
fn tokens_past_isize_max_are_refused() {
    let poll: Poll = Poll::new().unwrap();
    let (r, _w) = crate::process::pipe().unwrap();
    let big = Token(isize::MAX as usize + 1);
    assert_eq!(
        poll.register(&r, big, Interest::READABLE),
        Err(Errno::EINVAL)
    );
    poll.register(&r, Token(isize::MAX as usize), Interest::READABLE)
        .unwrap();
}

extern crate std;

use crate::process::Command;
use crate::signal::Signal;
use crate::time::MissedTicks;
use std::vec::Vec;

fn poll() -> Poll {
    Poll::new().unwrap()
}

fn wait(p: &mut Poll, timeout: Option<Duration>) -> Vec<Event> {
    let mut events = [Event::EMPTY; 16];
    let n = p.wait(&mut events, timeout).unwrap();
    events[..n].to_vec()
}

#[test]
fn a_pipe_is_readable_with_its_token_and_stays_so_until_read() {
    let mut p = poll();
    let (r, w) = crate::process::pipe().unwrap();
    p.register(&r, Token(7), Interest::READABLE).unwrap();
    assert_eq!(
        p.register(&r, Token(7), Interest::READABLE),
        Err(Errno::EEXIST)
    );
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
    crate::sys::write(w.as_raw_fd(), b"x").unwrap();
    for _ in 0..2 {
        let e = wait(&mut p, None);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].token(), Token(7));
        assert!(matches!(e[0].kind(), Kind::Io(r) if r.readable() && !r.writable()));
    }
    let mut buf = [0u8; 4];
    assert_eq!(crate::sys::read(r.as_raw_fd(), &mut buf), Ok(1));
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
    // The writer gone: a hang-up; then writable interest on the writer's side.
    drop(w);
    let e = wait(&mut p, None);
    assert!(matches!(e[0].kind(), Kind::Io(r) if r.hangup()), "{e:?}");
    p.deregister(&r).unwrap();
    assert_eq!(p.deregister(&r), Err(Errno::ENOENT));
    let (_r2, w2) = crate::process::pipe().unwrap();
    p.register(&w2, Token(8), Interest::WRITABLE).unwrap();
    let e = wait(&mut p, None);
    assert!(matches!(e[0].kind(), Kind::Io(r) if r.writable()), "{e:?}");
    p.reregister(&w2, Token(9), Interest::READABLE).unwrap();
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
}

#[test]
fn the_timeout_is_never_early_and_an_empty_buffer_is_refused() {
    let mut p = poll();
    assert_eq!(p.wait(&mut [], None), Err(Errno::EINVAL));
    for ms in [0, 1, 3, 20] {
        let t = std::time::Instant::now();
        assert!(wait(&mut p, Some(Duration::from_millis(ms))).is_empty());
        assert!(t.elapsed() >= Duration::from_millis(ms), "{ms} ms");
    }
}

#[test]
fn a_deadline_fires_once_never_early() {
    let mut p = poll();
    let at = Instant::now() + Duration::from_millis(15);
    p.add_deadline(Token(3), at).unwrap();
    let e = wait(&mut p, None);
    let now = Instant::now();
    assert!(now >= at);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].token(), Token(3));
    assert!(matches!(e[0].kind(), Kind::Timer { due } if *due == at.to_timespec()));
    // Gone after firing; the caller's timeout rules again.
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
    assert!(!p.remove_timer(Token(3)));
}

#[test]
fn a_late_schedule_gives_each_missed_tick_on_its_due_time() {
    let mut p = poll();
    let period = Duration::from_millis(4);
    let interval = Interval::new(period).unwrap();
    let start = interval.deadline();
    p.add_interval(Token(1), interval).unwrap();
    std::thread::sleep(Duration::from_millis(30));
    // Due: start, +4, ..., +28 (8 ticks), all at once and in order, with no wait.
    let mut dues = Vec::new();
    while dues.len() < 8 {
        for e in wait(&mut p, None) {
            match e.kind() {
                Kind::Timer { due } => dues.push(due.as_nanos()),
                k => panic!("{k:?}"),
            }
        }
    }
    for (k, d) in dues.iter().enumerate() {
        assert_eq!(*d, start.as_nanos() + k as i128 * period.as_nanos() as i128);
    }
    assert!(p.remove_timer(Token(1)));
    assert!(wait(&mut p, Some(Duration::from_millis(10))).is_empty());
}

#[test]
fn a_small_buffer_loses_nothing() {
    let mut p = poll();
    let mut interval = Interval::new(Duration::from_millis(1)).unwrap();
    interval.set_missed_tick_behavior(MissedTicks::Burst);
    p.add_interval(Token(1), interval).unwrap();
    let (r, w) = crate::process::pipe().unwrap();
    p.register(&r, Token(2), Interest::READABLE).unwrap();
    crate::sys::write(w.as_raw_fd(), b"x").unwrap();
    std::thread::sleep(Duration::from_millis(10));
    let mut one = [Event::EMPTY; 1];
    let (mut ticks, mut io) = (0, 0);
    for _ in 0..30 {
        assert_eq!(p.wait(&mut one, None), Ok(1));
        match one[0].kind() {
            Kind::Timer { .. } => ticks += 1,
            Kind::Io(_) => io += 1,
            k => panic!("{k:?}"),
        }
    }
    assert!(ticks >= 10, "{ticks}");
    assert!(io >= 1, "{io}");
}

#[test]
fn too_many_timers_is_enospc() {
    let mut p: Poll<2> = Poll::new().unwrap();
    let at = Instant::now() + Duration::from_secs(60);
    p.add_deadline(Token(1), at).unwrap();
    p.add_deadline(Token(1), at).unwrap();
    assert_eq!(p.add_deadline(Token(2), at), Err(Errno::ENOSPC));
    assert!(p.remove_timer(Token(1)));
    p.add_deadline(Token(2), at).unwrap();
}

#[test]
fn a_raised_signal_is_an_event_with_its_siginfo() {
    // Blocked in this test's thread only; raise sends to it.
    let mut p = poll();
    p.add_signals(SigSet::of(&[Signal::USR2]), Token(4))
        .unwrap();
    assert!(crate::signal::mask().contains(Signal::USR2));
    crate::signal::raise(Signal::USR2).unwrap();
    let e = wait(&mut p, None);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].token(), Token(4));
    match e[0].kind() {
        Kind::Signal(info) => {
            assert_eq!(info.signo, Signal::USR2.number() as u32);
            assert_eq!(info.pid, crate::process::id());
        }
        k => panic!("{k:?}"),
    }
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
}

#[test]
fn a_child_is_reaped_with_its_status() {
    // (The SIGCHLD path needs SIGCHLD blocked in every thread, which std's test threads do
    // not: tests/event.rs checks it in a program of one thread, pidfd_open refused.)
    let mut p = poll();
    let child = Command::new(c"/bin/sh")
        .args([c"-c", c"sleep 0.05; exit 3"])
        .spawn()
        .unwrap();
    let pid = child.id();
    p.add_child(child, Token(5)).map_err(|(e, _)| e).unwrap();
    let e = wait(&mut p, Some(Duration::from_secs(10)));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].token(), Token(5));
    match e[0].kind() {
        Kind::Child { pid: p, status } => {
            assert_eq!(*p, pid);
            assert_eq!(status.map(|s| s.code()), Ok(Some(3)));
        }
        k => panic!("{k:?}"),
    }
    // Reaped: no such child any more.
    assert_eq!(
        crate::signal::kill(pid as i32, Signal::new(0).unwrap_or(Signal::CHLD)),
        Err(Errno::ESRCH)
    );
}

#[test]
fn a_waker_on_another_thread_wakes_the_loop_once() {
    let mut p = poll();
    let w = p.waker(Token(6)).unwrap();
    let w2 = w.try_clone().unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        w.wake().unwrap();
        w2.wake().unwrap();
    });
    let e = wait(&mut p, Some(Duration::from_secs(10)));
    t.join().unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].token(), Token(6));
    assert!(matches!(e[0].kind(), Kind::Wake));
    // Both wakes in one event, or the second in a second one: never more.
    let more = wait(&mut p, Some(Duration::from_millis(5)));
    assert!(more.len() <= 1);
    assert!(wait(&mut p, Some(Duration::from_millis(5))).is_empty());
}

#[test]
fn a_zero_timeout_looks_without_waiting() {
    let mut p = poll();
    let (r, w) = crate::process::pipe().unwrap();
    p.register(&r, Token(1), Interest::READABLE).unwrap();
    assert!(wait(&mut p, Some(Duration::ZERO)).is_empty());
    crate::sys::write(w.as_raw_fd(), b"x").unwrap();
    for t in [Duration::ZERO, Duration::from_nanos(1)] {
        let e = wait(&mut p, Some(t));
        assert_eq!(e.len(), 1, "{t:?}");
        assert!(matches!(e[0].kind(), Kind::Io(r) if r.readable()));
    }
}

#[test]
fn a_schedule_far_behind_starves_neither_descriptors_nor_other_timers() {
    let mut p = poll();
    for token in [1, 2] {
        let every = Interval::new(Duration::from_millis(1)).unwrap();
        p.add_interval(Token(token), every).unwrap();
    }
    let (r, w) = crate::process::pipe().unwrap();
    p.register(&r, Token(3), Interest::READABLE).unwrap();
    crate::sys::write(w.as_raw_fd(), b"x").unwrap();
    std::thread::sleep(Duration::from_millis(30));
    let mut four = [Event::EMPTY; 4];
    // Timers take turns: the first wait has ticks of both.
    assert_eq!(p.wait(&mut four, None), Ok(4));
    let tokens: Vec<usize> = four.iter().map(|e| e.token().0).collect();
    assert_eq!(tokens, [1, 2, 1, 2]);
    // The buffer was full of ticks: the descriptor comes first in the next wait.
    let n = p.wait(&mut four, None).unwrap();
    assert_eq!(four[0].token(), Token(3), "{:?}", &four[..n]);
}

#[test]
fn a_child_reaped_before_it_is_added_is_reported_at_once() {
    let mut p = poll();
    let mut child = Command::new(c"/bin/sh")
        .args([c"-c", c"exit 6"])
        .spawn()
        .unwrap();
    let status = child.wait().unwrap();
    p.add_child(child, Token(2)).map_err(|(e, _)| e).unwrap();
    let e = wait(&mut p, Some(Duration::ZERO));
    assert!(
        matches!(e[0].kind(), Kind::Child { status: Ok(s), .. } if *s == status),
        "{e:?}"
    );
}

#[test]
#[allow(unsafe_code)] // fork, a CPU clock and waitpid through libc: the test's, not the loop's
fn a_reaped_childs_pidfd_leaves_the_set_even_when_a_fork_holds_a_copy() {
    let mut p = poll();
    let child = Command::new(c"/bin/sh")
        .args([c"-c", c"exit 0"])
        .spawn()
        .unwrap();
    p.add_child(child, Token(2)).map_err(|(e, _)| e).unwrap();
    // A forked process holds every descriptor, the pidfd too, for a while.
    // SAFETY: the child only sleeps and exits (no allocation, no locks).
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain calls in the forked child.
        unsafe {
            libc::usleep(600_000);
            libc::_exit(0);
        }
    }
    let e = wait(&mut p, Some(Duration::from_secs(10)));
    assert!(matches!(e[0].kind(), Kind::Child { .. }), "{e:?}");
    let cpu = || {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: writes one timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    };
    let before = cpu();
    assert!(wait(&mut p, Some(Duration::from_millis(200))).is_empty());
    let spent = cpu() - before;
    // SAFETY: reaps the forked child.
    unsafe { libc::waitpid(pid, core::ptr::null_mut(), 0) };
    assert!(
        spent < Duration::from_millis(20),
        "a busy wait: {spent:?} of CPU"
    );
}

#[test]
fn two_signal_sets_keep_their_tokens() {
    let mut p = poll();
    p.add_signals(SigSet::of(&[Signal::USR1]), Token(1))
        .unwrap();
    p.add_signals(SigSet::of(&[Signal::USR2, Signal::USR1]), Token(2))
        .unwrap();
    crate::signal::raise(Signal::USR2).unwrap();
    crate::signal::raise(Signal::USR1).unwrap();
    let mut got: Vec<(usize, u32)> = wait(&mut p, None)
        .iter()
        .map(|e| match e.kind() {
            Kind::Signal(i) => (e.token().0, i.signo),
            k => panic!("{k:?}"),
        })
        .collect();
    got.sort_unstable();
    // USR1 is in both sets: the first one's token.
    assert_eq!(got, [(1, 10), (2, 12)]);
}

#[test]
fn readiness_prints_its_names() {
    let r = Readiness(g::EPOLLIN | g::EPOLLHUP);
    assert_eq!(std::format!("{r:?}"), "READABLE | HANGUP");
    assert_eq!(std::format!("{:?}", Readiness(0)), "(empty)");
    assert_eq!(
        (Interest::READABLE | Interest::PRIORITY).bits(),
        g::EPOLLIN | g::EPOLLRDHUP | g::EPOLLPRI
    );
}
