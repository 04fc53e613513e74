//! `tinyrt::event` in a tinyrt program: each source of the loop checked, one line each.
//!
//! ```text
//! event all                  # every check: `ok NAME` lines, then `event: ok` (exit 0)
//! event all --self           # the same, its children this program (where there is no /bin/sh)
//! event ticks PERIOD_US N    # N ticks of a schedule, nothing else: `ticks N late MAX_NS`
//! event child exit CODE | sleep MS | alarm MS   # (the children of `all --self`)
//! ```
//!
//! The children are `/bin/sh`'s (natively even under qemu-user), or with `--self` this
//! program's own `child` modes (`alarm`: sleeps, then SIGALRM to its parent), as on the real
//! kernels' initramfs.
//!
//! `all` checks: a pipe's readiness with its token and its hang-up; a deadline never early;
//! a late schedule's missed ticks, each on its due time; a raised signal with its siginfo;
//! children reaped with their exit code and their killing signal; a waker woken from a
//! signal handler; a handler that interrupts the wait (EINTR) neither ends it early nor
//! moves its deadline; a one-event buffer that loses nothing; a full loop's ENOSPC.
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use tinyrt::event::{Event, Interest, Kind, Poll, Token, Waker};
use tinyrt::process::{Child, Command};
use tinyrt::signal::{self, Action, Handler, SI_TKILL, SigSet, Signal};
use tinyrt::sync::OnceLock;
use tinyrt::time::{Instant, Interval};
use tinyrt::{env, eprintln, println};

tinyrt::main!(main);

fn check(what: &str, ok: bool) -> bool {
    if ok {
        println!("ok {what}");
    } else {
        eprintln!("event: {what}: FAILED");
    }
    ok
}

fn number(a: Option<&CStr>) -> Option<u64> {
    core::str::from_utf8(a?.to_bytes()).ok()?.parse().ok()
}

/// One wait into a buffer of 16: the events.
fn wait(p: &mut Poll, timeout: Option<Duration>) -> ([Event; 16], usize) {
    let mut events = [Event::EMPTY; 16];
    match p.wait(&mut events, timeout) {
        Ok(n) => (events, n),
        Err(e) => {
            eprintln!("event: wait: {e:?}");
            (events, 0)
        }
    }
}

fn main(args: env::Args) -> i32 {
    let argv: [Option<&CStr>; 5] = {
        let mut a = args;
        [a.next(), a.next(), a.next(), a.next(), a.next()]
    };
    match argv[1].map(CStr::to_bytes) {
        Some(b"all") => match all(argv[2]
            .is_some_and(|a| a == c"--self")
            .then_some(argv[0])
            .flatten())
        {
            true => {
                println!("event: ok");
                0
            }
            false => 1,
        },
        Some(b"child") => match (argv[2].map(CStr::to_bytes), number(argv[3])) {
            (Some(b"exit"), Some(code)) => code as i32,
            (Some(b"sleep"), Some(ms)) => {
                let _ = tinyrt::time::sleep(Duration::from_millis(ms));
                0
            }
            (Some(b"alarm"), Some(ms)) => {
                let _ = tinyrt::time::sleep(Duration::from_millis(ms));
                let parent = tinyrt::process::parent_id() as i32;
                i32::from(signal::kill(parent, Signal::ALRM).is_err())
            }
            _ => usage(),
        },
        Some(b"ticks") => match (number(argv[2]), number(argv[3])) {
            (Some(us), Some(n)) if us > 0 => ticks(Duration::from_micros(us), n),
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> i32 {
    eprintln!("usage: event all [--self] | ticks PERIOD_US N | child exit CODE|sleep MS|alarm MS");
    2
}

/// N ticks of a schedule and nothing else (strace's steady state): the latest lateness.
fn ticks(period: Duration, n: u64) -> i32 {
    let Ok(mut p) = Poll::<16>::new() else {
        return 1;
    };
    let Ok(interval) = Interval::new(period) else {
        return 1;
    };
    if p.add_interval(Token(1), interval).is_err() {
        return 1;
    }
    let (mut seen, mut late) = (0, 0i128);
    let mut events = [Event::EMPTY; 4];
    while seen < n {
        let Ok(k) = p.wait(&mut events, None) else {
            return 1;
        };
        let now = tinyrt::time::clock_gettime(tinyrt::time::ClockId::MONOTONIC);
        for e in &events[..k] {
            if let (Kind::Timer { due }, Ok(now)) = (e.kind(), now) {
                late = late.max(now.as_nanos() - due.as_nanos());
                seen += 1;
            }
        }
    }
    println!("ticks {seen} late {late}");
    0
}

static WAKER: OnceLock<Waker> = OnceLock::new();
static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn wake(_sig: i32) {
    if let Some(w) = WAKER.get() {
        let _ = w.wake();
    }
}

extern "C" fn count(_sig: i32) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

fn install(sig: Signal, f: extern "C" fn(i32)) -> bool {
    // SAFETY: the handlers only write to an eventfd and touch atomics.
    unsafe { signal::set_action(sig, &Action::new(Handler::Plain(f))) }.is_ok()
}

/// The children: `/bin/sh -c SCRIPT`, or this program (`me`) with `child ARGS`.
#[derive(Clone, Copy)]
struct Kids<'a> {
    me: Option<&'a CStr>,
}

impl Kids<'_> {
    fn spawn(self, script: &CStr, args: [&CStr; 2]) -> Option<Child> {
        let c = match self.me {
            Some(me) => {
                let mut c = Command::new(me);
                c.args([c"child", args[0], args[1]]);
                c
            }
            None => {
                let mut c = Command::new(c"/bin/sh");
                c.args([c"-c", script]);
                c
            }
        };
        c.spawn().ok()
    }
}

fn all(me: Option<&CStr>) -> bool {
    let kids = Kids { me };
    let Ok(mut p) = Poll::<16>::new() else {
        return check("Poll::new", false);
    };
    let mut ok = true;
    ok &= pipe(&mut p);
    ok &= deadline(&mut p);
    ok &= schedule(&mut p);
    ok &= signals(&mut p);
    ok &= children(&mut p, kids);
    ok &= waker(&mut p);
    ok &= interrupted(&mut p, kids);
    ok &= small_buffer(&mut p);
    let full = Poll::<1>::new().is_ok_and(|mut q| {
        let at = Instant::now() + Duration::from_secs(60);
        q.add_deadline(Token(1), at).is_ok()
            && q.add_deadline(Token(2), at) == Err(tinyrt::Errno::ENOSPC)
    });
    ok &= check("enospc", full);
    ok
}

fn pipe(p: &mut Poll) -> bool {
    let Ok((r, w)) = tinyrt::process::pipe() else {
        return check("pipe", false);
    };
    let mut ok = p.register(&r, Token(10), Interest::READABLE).is_ok();
    ok &= wait(p, Some(Duration::from_millis(2))).1 == 0;
    ok &= tinyrt::io::write_all(&w, b"x").is_ok();
    let (e, n) = wait(p, None);
    ok &= n == 1
        && e[0].token() == Token(10)
        && matches!(e[0].kind(), Kind::Io(r) if r.readable() && !r.hangup());
    drop(w);
    let (e, n) = wait(p, None);
    ok &= n == 1 && matches!(e[0].kind(), Kind::Io(r) if r.hangup());
    ok &= p.deregister(&r).is_ok();
    check("pipe readable, then hung up", ok)
}

fn deadline(p: &mut Poll) -> bool {
    let at = Instant::now() + Duration::from_millis(20);
    let ok = p.add_deadline(Token(11), at).is_ok();
    let (e, n) = wait(p, None);
    let now = Instant::now();
    let fired = n == 1
        && e[0].token() == Token(11)
        && matches!(e[0].kind(), Kind::Timer { due } if *due == at.to_timespec());
    check("deadline never early", ok && fired && now >= at)
}

fn schedule(p: &mut Poll) -> bool {
    let period = Duration::from_millis(3);
    let Ok(interval) = Interval::new(period) else {
        return check("interval", false);
    };
    let start = interval.deadline().as_nanos();
    let ok = p.add_interval(Token(12), interval).is_ok();
    let _ = tinyrt::time::sleep(Duration::from_millis(20));
    // Due: start, +3, ..., +18 ms: 7 ticks at once, each on its own time.
    let mut k = 0i128;
    let mut exact = true;
    while k < 7 {
        let (e, n) = wait(p, None);
        for e in &e[..n] {
            match e.kind() {
                Kind::Timer { due } => {
                    exact &= due.as_nanos() == start + k * period.as_nanos() as i128;
                    k += 1;
                }
                _ => exact = false,
            }
        }
    }
    let removed = p.remove_timer(Token(12));
    check("missed ticks on their due times", ok && exact && removed)
}

fn signals(p: &mut Poll) -> bool {
    let set = SigSet::of(&[Signal::USR1, Signal::TERM]);
    let mut ok = p.add_signals(set, Token(13)).is_ok();
    ok &= signal::mask().contains(Signal::USR1);
    ok &= signal::raise(Signal::USR1).is_ok();
    let (e, n) = wait(p, None);
    ok &= n == 1
        && e[0].token() == Token(13)
        && matches!(e[0].kind(), Kind::Signal(i)
            if i.signo == 10 && i.pid == tinyrt::process::id() && i.code == SI_TKILL);
    check("signal with its siginfo", ok)
}

fn children(p: &mut Poll, kids: Kids) -> bool {
    let (Some(a), Some(b)) = (
        kids.spawn(c"exit 7", [c"exit", c"7"]),
        kids.spawn(c"sleep 60", [c"sleep", c"60000"]),
    ) else {
        return check("spawn", false);
    };
    let (pa, pb) = (a.id(), b.id());
    let mut ok = p.add_child(a, Token(14)).is_ok() && p.add_child(b, Token(15)).is_ok();
    ok &= signal::kill(pb as i32, Signal::KILL).is_ok();
    let (mut code, mut killed) = (None, None);
    let limit = Instant::now() + Duration::from_secs(30);
    while (code.is_none() || killed.is_none()) && Instant::now() < limit {
        let (e, n) = wait(p, Some(Duration::from_secs(1)));
        for e in &e[..n] {
            match (e.token(), e.kind()) {
                (Token(14), Kind::Child { pid, status: Ok(s) }) if *pid == pa => {
                    code = s.code();
                }
                (Token(15), Kind::Child { pid, status: Ok(s) }) if *pid == pb => {
                    killed = s.signal();
                }
                _ => ok = false,
            }
        }
    }
    check(
        "children reaped: exit 7 and SIGKILL",
        ok && code == Some(7) && killed == Some(Signal::KILL),
    )
}

fn waker(p: &mut Poll) -> bool {
    let Ok(w) = p.waker(Token(16)) else {
        return check("waker", false);
    };
    let _ = WAKER.set(w);
    let mut ok = install(Signal::USR2, wake);
    ok &= signal::raise(Signal::USR2).is_ok();
    let (e, n) = wait(p, Some(Duration::from_secs(10)));
    ok &= n == 1 && e[0].token() == Token(16) && matches!(e[0].kind(), Kind::Wake);
    ok &= wait(p, Some(Duration::from_millis(2))).1 == 0;
    check("waker from a signal handler", ok)
}

/// A child sends SIGALRM (a counting handler) 20 ms into a wait for a deadline at 300 ms:
/// the wait goes on to the deadline.
fn interrupted(p: &mut Poll, kids: Kids) -> bool {
    let Some(kid) = kids.spawn(c"sleep 0.02; kill -ALRM $PPID", [c"alarm", c"20"]) else {
        return check("spawn", false);
    };
    let mut ok = install(Signal::ALRM, count);
    let at = Instant::now() + Duration::from_millis(300);
    ok &= p.add_deadline(Token(17), at).is_ok() && p.add_child(kid, Token(18)).is_ok();
    let (mut fired, mut reaped) = (false, false);
    while !(fired && reaped) {
        let (e, n) = wait(p, Some(Duration::from_secs(30)));
        for e in &e[..n] {
            match e.kind() {
                Kind::Timer { .. } => fired = Instant::now() >= at,
                Kind::Child { status: Ok(s), .. } => reaped = s.success(),
                _ => ok = false,
            }
        }
        if n == 0 {
            ok = false;
            break;
        }
    }
    let handled = HANDLED.load(Ordering::SeqCst);
    check(
        "a handler interrupting the wait moves nothing",
        ok && fired && reaped && handled == 1,
    )
}

fn small_buffer(p: &mut Poll) -> bool {
    let Ok(interval) = Interval::new(Duration::from_millis(1)) else {
        return check("interval", false);
    };
    let Ok((r, w)) = tinyrt::process::pipe() else {
        return check("pipe", false);
    };
    let mut ok = p.add_interval(Token(19), interval).is_ok();
    ok &= p.register(&r, Token(20), Interest::READABLE).is_ok();
    ok &= tinyrt::io::write_all(&w, b"x").is_ok();
    ok &= signal::raise(Signal::TERM).is_ok();
    let _ = tinyrt::time::sleep(Duration::from_millis(10));
    let mut one = [Event::EMPTY; 1];
    let (mut ticks, mut io, mut sig) = (0, 0, 0);
    for _ in 0..40 {
        match p.wait(&mut one, None).map(|_| one[0].kind()) {
            Ok(Kind::Timer { .. }) => ticks += 1,
            Ok(Kind::Io(_)) => io += 1,
            Ok(Kind::Signal(i)) if i.signo == 15 => sig += 1,
            _ => ok = false,
        }
    }
    ok &= p.remove_timer(Token(19)) && p.deregister(&r).is_ok();
    check(
        "a one-event buffer loses nothing",
        ok && ticks >= 10 && io >= 1 && sig == 1,
    )
}
