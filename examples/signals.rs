//! `signals CHECK`: exercises `tinyrt::signal` and prints what it saw, one line per check,
//! `ok ...` or `FAILED ...`; exits 0 when every check passed, 1 otherwise.
//!
//! CHECK is one of:
//! - `handler`: a plain handler runs on `raise` and returns; the program goes on.
//! - `siginfo`: a handler with siginfo sees our own pid and SI_TKILL for a `raise`.
//! - `mask`: a blocked signal stays pending and its handler runs when it is unblocked.
//! - `signalfd`: a blocked signal is read from a `SignalFd`, with the sender's pid.
//! - `timedwait`: `timed_wait` times out on nothing, then takes a raised signal.
//! - `restore`: save, replace, restore: the action `set_action` returned (a siginfo
//!   handler with its flags and mask, then SIG_IGN, then SIG_DFL) installed again is what
//!   was there: the original handler runs on `raise`, an ignored signal stays ignored.
//! - `all`: the six above.
//! - `external`: prints `ready PID`, then waits up to 10 s for SIGUSR1 from another
//!   process and prints `ok from PID` with the sender's pid.
//! - `overflow`: overflows the main stack; a SIGSEGV handler on the alternate stack
//!   reports it (`ok stack overflow caught ...`) and exits 0.
//! - `overflow-no-altstack`: the same handler without the alternate stack: the kernel
//!   cannot run it, and the process dies of SIGSEGV.
#![no_std]
#![no_main]

use core::ffi::c_void;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use core::time::Duration;
use tinyrt::signal::{
    self, Action, Flags, Handler, SI_TKILL, SigInfo, SigSet, Signal, SignalFd, SignalFdFlags,
};
use tinyrt::{eprintln, println};

tinyrt::main!(main);

static COUNT: AtomicUsize = AtomicUsize::new(0);
static PID: AtomicI32 = AtomicI32::new(0);
static CODE: AtomicI32 = AtomicI32::new(i32::MIN);

extern "C" fn count(_sig: i32) {
    COUNT.fetch_add(1, Ordering::SeqCst);
}

extern "C" fn record(_sig: i32, info: &SigInfo, _ctx: *mut c_void) {
    PID.store(info.pid(), Ordering::SeqCst);
    CODE.store(info.code(), Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
}

fn install(sig: Signal, handler: Handler, flags: Flags) -> bool {
    // SAFETY: the handlers above only touch atomics.
    match unsafe { signal::set_action(sig, &Action::new(handler).flags(flags)) } {
        Ok(_) => true,
        Err(e) => {
            eprintln!("FAILED sigaction({}): {e:?}", sig.number());
            false
        }
    }
}

fn check(what: &str, ok: bool) -> bool {
    if ok {
        println!("ok {what}");
    } else {
        println!("FAILED {what}");
    }
    ok
}

fn handler() -> bool {
    COUNT.store(0, Ordering::SeqCst);
    let installed = install(Signal::USR1, Handler::Plain(count), Flags::RESTART);
    let raised = signal::raise(Signal::USR1).is_ok();
    let again = signal::raise(Signal::USR1).is_ok();
    let n = COUNT.load(Ordering::SeqCst);
    check(
        "handler ran twice and returned",
        installed && raised && again && n == 2,
    )
}

fn siginfo() -> bool {
    COUNT.store(0, Ordering::SeqCst);
    let installed = install(Signal::USR2, Handler::Info(record), Flags::NONE);
    let raised = signal::raise(Signal::USR2).is_ok();
    let (pid, code) = (PID.load(Ordering::SeqCst), CODE.load(Ordering::SeqCst));
    let me = tinyrt::process::id() as i32;
    println!("siginfo pid={pid} self={me} code={code}");
    check(
        "siginfo carries our pid and SI_TKILL",
        installed && raised && pid == me && code == SI_TKILL,
    )
}

static OTHER: AtomicUsize = AtomicUsize::new(0);

extern "C" fn other(_sig: i32) {
    OTHER.fetch_add(1, Ordering::SeqCst);
}

/// `set_action(sig, action)`, or None after printing why not.
fn set(sig: Signal, action: &Action) -> Option<Action> {
    // SAFETY: the handlers here only touch atomics; a saved one is what was installed.
    unsafe { signal::set_action(sig, action) }
        .inspect_err(|e| eprintln!("FAILED sigaction({}): {e:?}", sig.number()))
        .ok()
}

fn restore() -> bool {
    let sig = Signal::USR2;
    let (count, others) = (
        || COUNT.load(Ordering::SeqCst),
        || OTHER.load(Ordering::SeqCst),
    );
    COUNT.store(0, Ordering::SeqCst);
    OTHER.store(0, Ordering::SeqCst);
    PID.store(0, Ordering::SeqCst);
    // A handler of ours with siginfo, a flag and a mask; saved while another replaces it.
    let first = Action::new(Handler::Info(record))
        .flags(Flags::RESTART)
        .mask(SigSet::EMPTY.with(Signal::USR1));
    let Some(saved) = set(sig, &first).and_then(|_| set(sig, &Action::new(Handler::Plain(other))))
    else {
        return false;
    };
    let replaced = signal::raise(sig).is_ok() && others() == 1 && count() == 0;
    let restored = set(sig, &saved).is_some();
    let now = signal::action(sig);
    let same = now.is_ok_and(|a| {
        matches!(a.handler, Handler::Saved(h) if h.takes_info())
            && a.flags.contains(Flags::RESTART)
            && a.mask.contains(Signal::USR1)
    });
    let ran = signal::raise(sig).is_ok() && count() == 1 && others() == 1;
    let info = PID.load(Ordering::SeqCst) == tinyrt::process::id() as i32;
    println!(
        "restore handler: replaced={replaced} restored={restored} same={same} ran={ran} info={info}"
    );
    // SIG_IGN saved, replaced and restored: a raise then runs nothing.
    let ign = signal::ignore(sig).is_ok()
        && set(sig, &Action::new(Handler::Plain(other)))
            .is_some_and(|old| matches!(old.handler, Handler::Ignore) && set(sig, &old).is_some())
        && signal::raise(sig).is_ok()
        && count() == 1
        && others() == 1
        && signal::action(sig).is_ok_and(|a| matches!(a.handler, Handler::Ignore));
    // SIG_DFL likewise (not raised: SIGUSR2's default ends the program).
    let dfl = signal::set_default(sig).is_ok()
        && set(sig, &Action::new(Handler::Plain(other)))
            .is_some_and(|old| matches!(old.handler, Handler::Default) && set(sig, &old).is_some())
        && signal::action(sig).is_ok_and(|a| matches!(a.handler, Handler::Default));
    println!("restore SIG_IGN={ign} SIG_DFL={dfl}");
    check(
        "a saved action installed again: the original handler runs, SIG_IGN and SIG_DFL return",
        replaced && restored && same && ran && info && ign && dfl,
    )
}

fn mask() -> bool {
    COUNT.store(0, Ordering::SeqCst);
    let set = SigSet::EMPTY.with(Signal::USR1);
    let installed = install(Signal::USR1, Handler::Plain(count), Flags::NONE);
    let before = signal::block(set);
    let blocked = signal::mask().contains(Signal::USR1);
    let raised = signal::raise(Signal::USR1).is_ok();
    let held = COUNT.load(Ordering::SeqCst) == 0;
    let pending = signal::pending().contains(Signal::USR1);
    let unblocked = signal::unblock(set).is_ok();
    let ran = COUNT.load(Ordering::SeqCst) == 1;
    let cleared = !signal::pending().contains(Signal::USR1);
    let was = before.is_ok_and(|m| !m.contains(Signal::USR1));
    println!(
        "mask blocked={blocked} held={held} pending={pending} ran_on_unblock={ran} cleared={cleared}"
    );
    check(
        "a blocked signal waits, and runs its handler when unblocked",
        installed && was && blocked && raised && held && pending && unblocked && ran && cleared,
    )
}

fn signalfd() -> bool {
    let set = SigSet::EMPTY.with(Signal::USR2);
    let blocked = signal::block(set).is_ok();
    let fd = match SignalFd::new(set, SignalFdFlags::CLOEXEC | SignalFdFlags::NONBLOCK) {
        Ok(fd) => fd,
        Err(e) => return failed("signalfd", e),
    };
    let empty = matches!(fd.read(), Err(tinyrt::Errno::EAGAIN));
    let sent = signal::kill(tinyrt::process::id() as i32, Signal::USR2).is_ok();
    let info = fd.read();
    let me = tinyrt::process::id();
    let good = info
        .as_ref()
        .is_ok_and(|i| i.signo == Signal::USR2.number() as u32 && i.pid == me && i.code == 0);
    if let Ok(i) = &info {
        println!("signalfd signo={} pid={} code={}", i.signo, i.pid, i.code);
    }
    let _ = signal::unblock(set);
    check(
        "signalfd reads what kill sent",
        blocked && empty && sent && good,
    )
}

fn failed(what: &str, e: tinyrt::Errno) -> bool {
    println!("FAILED {what}: {e:?}");
    false
}

fn timedwait() -> bool {
    let set = SigSet::EMPTY.with(Signal::USR1);
    let blocked = signal::block(set).is_ok();
    let t = tinyrt::time::Instant::now();
    let none = signal::timed_wait(set, Some(Duration::from_millis(50)));
    let waited = t.elapsed();
    let timed_out = matches!(none, Ok(None)) && waited >= Duration::from_millis(50);
    let raised = signal::raise(Signal::USR1).is_ok();
    let got = signal::timed_wait(set, Some(Duration::from_secs(5)));
    let me = tinyrt::process::id() as i32;
    let good = matches!(&got, Ok(Some(i)) if i.signal() == Some(Signal::USR1) && i.pid() == me);
    let _ = signal::unblock(set);
    println!(
        "timedwait timed_out={timed_out} waited_ms={} got={good}",
        waited.as_millis()
    );
    check(
        "timed_wait times out, then takes the raised signal",
        blocked && timed_out && raised && good,
    )
}

fn external() -> bool {
    COUNT.store(0, Ordering::SeqCst);
    if !install(Signal::USR1, Handler::Info(record), Flags::RESTART) {
        return false;
    }
    println!("ready {}", tinyrt::process::id());
    for _ in 0..1000 {
        if COUNT.load(Ordering::SeqCst) != 0 {
            println!("ok from {}", PID.load(Ordering::SeqCst));
            return true;
        }
        let _ = tinyrt::time::sleep(Duration::from_millis(10));
    }
    check("SIGUSR1 arrived within 10 s", false)
}

static DEPTH: AtomicUsize = AtomicUsize::new(0);
static ALT: AtomicUsize = AtomicUsize::new(0);
static ALT_SIZE: AtomicUsize = AtomicUsize::new(0);

extern "C" fn overflowed(_sig: i32, info: &SigInfo, _ctx: *mut c_void) {
    let here = &info as *const &SigInfo as usize;
    let (base, size) = (ALT.load(Ordering::SeqCst), ALT_SIZE.load(Ordering::SeqCst));
    let on_alt = here >= base && here < base + size;
    // println! formats into a buffer on this (alternate) stack and writes it: no allocation.
    println!(
        "{} stack overflow caught at depth {} (fault {:#x}, handler on the alternate stack: {on_alt})",
        if on_alt { "ok" } else { "FAILED" },
        DEPTH.load(Ordering::SeqCst),
        info.addr(),
    );
    tinyrt::process::exit(if on_alt { 0 } else { 1 })
}

/// Recurses until the stack runs out: it is meant never to return.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let frame = core::hint::black_box([n; 64]);
    DEPTH.store(n, Ordering::Relaxed);
    recurse(n + 1).wrapping_add(frame[n % 64])
}

fn overflow(alt_stack: bool) -> bool {
    if alt_stack {
        let alt = match signal::install_alt_stack() {
            Ok(a) => a,
            Err(e) => return failed("sigaltstack", e),
        };
        ALT.store(alt.base, Ordering::SeqCst);
        ALT_SIZE.store(alt.size, Ordering::SeqCst);
        println!("alternate stack {} bytes", alt.size);
    }
    if !install(
        Signal::SEGV,
        Handler::Info(overflowed),
        Flags::ONSTACK | Flags::RESETHAND,
    ) {
        return false;
    }
    let r = recurse(0);
    check("the stack never overflowed", r == usize::MAX)
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let Some(what) = args.nth(1) else {
        eprintln!(
            "usage: signals handler|siginfo|mask|signalfd|timedwait|restore|all|external|overflow"
        );
        return 2;
    };
    let ok = match what.to_bytes() {
        b"handler" => handler(),
        b"siginfo" => siginfo(),
        b"mask" => mask(),
        b"signalfd" => signalfd(),
        b"timedwait" => timedwait(),
        b"restore" => restore(),
        b"all" => [
            handler(),
            siginfo(),
            mask(),
            signalfd(),
            timedwait(),
            restore(),
        ]
        .iter()
        .all(|&b| b),
        b"external" => external(),
        b"overflow" => overflow(true),
        b"overflow-no-altstack" => overflow(false),
        _ => {
            eprintln!("signals: unknown check");
            return 2;
        }
    };
    if ok { 0 } else { 1 }
}
