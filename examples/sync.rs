//! `tinyrt::sync` in a tinyrt program, one thread (the threads come with the `thread`
//! module): each lock's states, and a timed `Condvar` wait that must time out, no earlier
//! than asked, through the futex system call with an absolute deadline (on 32-bit
//! architectures `futex_time64`, or the plain `futex` where that is refused).
//!
//! ```text
//! sync [MILLISECONDS]   # the timed wait's length (default 30)
//! ```
//!
//! Prints one line per check and `sync: ok`, exit 0; or what failed, exit 1.
#![no_std]
#![no_main]

use core::time::Duration;
use tinyrt::sync::{Barrier, Condvar, Mutex, Once, OnceLock, RawMutex, RwLock};
use tinyrt::time::Instant;
use tinyrt::{env, eprintln, println};

tinyrt::main!(main);

fn check(what: &str, ok: bool) -> bool {
    if ok {
        println!("{what}: ok");
    } else {
        eprintln!("sync: {what}: FAILED");
    }
    ok
}

fn main(args: env::Args) -> i32 {
    let mut args = args;
    let ms = args
        .nth(1)
        .and_then(|a| core::str::from_utf8(a.to_bytes()).ok()?.parse().ok())
        .unwrap_or(30u64);
    let mut ok = true;

    let m = Mutex::new(1u32);
    {
        let mut g = m.lock();
        *g += 1;
        ok &= check("mutex held", m.try_lock().is_none());
    }
    ok &= check("mutex free", m.try_lock().map(|g| *g) == Some(2));

    let raw = RawMutex::new();
    ok &= check(
        "raw mutex",
        raw.try_lock() && raw.is_locked() && !raw.try_lock(),
    );
    // SAFETY: locked just above, on this thread.
    unsafe { raw.unlock() };

    let l = RwLock::new(5u32);
    {
        let (a, b) = (l.read(), l.read());
        ok &= check("rwlock readers", *a + *b == 10 && l.try_write().is_none());
    }
    {
        let mut w = l.write();
        *w = 6;
        ok &= check("rwlock writer", l.try_read().is_none());
    }
    ok &= check("rwlock free", l.try_write().is_some());

    let once = Once::new();
    let mut runs = 0;
    once.call_once(|| runs += 1);
    once.call_once(|| runs += 1);
    ok &= check("once", runs == 1 && once.is_completed());
    let cell = OnceLock::new();
    ok &= check(
        "once_lock",
        *cell.get_or_init(|| 7u32) == 7 && cell.set(8).is_err(),
    );
    ok &= check("barrier of one", Barrier::new(1).wait().is_leader());

    // Nobody waits: the wakes find no one (the futex wake call, harmless).
    let cv = Condvar::new();
    cv.notify_one();
    cv.notify_all();
    let d = Duration::from_millis(ms);
    let start = Instant::now();
    let (g, r) = cv.wait_timeout(m.lock(), d);
    let took = start.elapsed();
    drop(g);
    ok &= check("condvar timed out", r.timed_out());
    ok &= check("condvar not early", took >= d);
    println!(
        "condvar waited {} us of {} us",
        took.as_micros(),
        d.as_micros()
    );
    let (_g, r) = cv.wait_timeout_while(m.lock(), Duration::from_secs(100), |_| false);
    ok &= check("condvar condition met", !r.timed_out());

    if ok {
        println!("sync: ok");
        0
    } else {
        1
    }
}
