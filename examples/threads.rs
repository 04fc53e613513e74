//! `threads CHECK [N]`: exercises `tinyrt::thread` and `tinyrt::sync` and prints one line per
//! check, `ok ...` or `FAILED ...`; exits 0 when every check passed, 1 otherwise. Built with
//! the `threads` and `alloc` features.
//!
//! CHECK is one of:
//! - `spawn N`: N threads spawned and joined, each returning its own number.
//! - `detach N`: N threads whose handles are dropped; once all have run, no mapping and no
//!   task of theirs is left (`/proc/self/maps`, `/proc/self/task`).
//! - `scope`: scoped threads that borrow and write the caller's stack.
//! - `mutex`: 8 threads x 100,000 increments under a `Mutex`: exactly 800,000.
//! - `condvar`: a producer and a consumer through a `Condvar`: nothing lost or duplicated.
//! - `rwlock`: readers together, writers alone.
//! - `once`: 8 threads race on a `Once` and a `OnceLock`: one runs.
//! - `park`: park/unpark ping-pong, and `park_timeout` returns.
//! - `names`: `current()` names and ids; a named thread's kernel name (`comm`).
//! - `raw`: `spawn_raw` on a static buffer, joined.
//! - `kill`: a signal sent to one thread runs its handler on that thread.
//! - `process`: a thread spawns a process and waits for it.
//! - `panic`: a thread named `worker` panics: the process ends with 101 and std's message.
//! - `errors`: a thread that cannot be made (a stack larger than memory): `Err(ENOMEM)`, its
//!   closure dropped, a scope with such a spawn still returns; a thread signalled right
//!   after `spawn` returns, and the main thread signalled from another.
//! - `panic2`: two named threads panic at once: one message, whole, then 101.
//! - `nul-name`: a name with a NUL byte: `spawn` panics as std's does.
//! - `join-self`: a thread that joins its own handle panics as std's does.
//! - `stack`: the size of the mapping a spawned thread runs on, with the default stack
//!   (`RUST_MIN_STACK` if set) and with `Builder::stack_size(1 MiB)`: `stack DEFAULT BUILDER`.
//! - `all`: every check but the panics, `detach` and `spawn` with small counts.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use core::time::Duration;
use tinyrt::sync::{Condvar, Mutex, Once, OnceLock, RwLock};
use tinyrt::thread;
use tinyrt::{eprintln, println};

tinyrt::main!(main);

fn check(what: &str, ok: bool) -> bool {
    if ok {
        println!("ok {what}");
    } else {
        println!("FAILED {what}");
    }
    ok
}

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args.skip(1);
    let which = args.next().and_then(|a| a.to_str().ok()).unwrap_or("all");
    let n: usize = args
        .next()
        .and_then(|a| a.to_str().ok())
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let ok = match which {
        "spawn" => spawn(n),
        "detach" => detach(n),
        "scope" => scope(),
        "mutex" => mutex(),
        "condvar" => condvar(),
        "rwlock" => rwlock(),
        "once" => once(),
        "park" => park(),
        "names" => names(),
        "raw" => raw(),
        "kill" => kill(),
        "process" => process(),
        "panic" => {
            let h = thread::Builder::new()
                .name(String::from("worker"))
                .spawn(|| panic!("boom"))
                .unwrap();
            h.join();
            false
        }
        "panic2" => panic_twice(),
        "nul-name" => {
            let _ = thread::Builder::new()
                .name(String::from("a\0b"))
                .spawn(|| ());
            false
        }
        "join-self" => join_self(),
        "stack" => stack(),
        "errors" => errors(),
        "all" => [
            errors(),
            spawn(100),
            detach(100),
            scope(),
            mutex(),
            condvar(),
            rwlock(),
            once(),
            park(),
            names(),
            raw(),
            kill(),
            process(),
        ]
        .iter()
        .all(|ok| *ok),
        other => {
            eprintln!("threads: unknown check {other}");
            return 2;
        }
    };
    if ok { 0 } else { 1 }
}

fn spawn(n: usize) -> bool {
    let handles: Vec<_> = (0..n).map(|i| thread::spawn(move || i * 3)).collect();
    let sum: usize = handles.into_iter().map(|h| h.join()).sum();
    check(
        &alloc::format!("spawn {n}: sum {sum}"),
        sum == 3 * n * (n.saturating_sub(1)) / 2,
    )
}

/// Lines of /proc/self/maps: the process's mappings.
fn mappings() -> usize {
    let mut buf = alloc::vec![0u8; 1 << 20];
    let n = tinyrt::io::read_file(c"/proc/self/maps", &mut buf).unwrap_or(0);
    buf[..n].iter().filter(|&&b| b == b'\n').count()
}

/// The process's tasks (the `Threads:` line of /proc/self/status).
fn tasks() -> usize {
    let mut buf = [0u8; 4096];
    let n = tinyrt::io::read_file(c"/proc/self/status", &mut buf).unwrap_or(0);
    let text = core::str::from_utf8(&buf[..n]).unwrap_or("");
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(usize::MAX)
}

fn detach(n: usize) -> bool {
    static DONE: AtomicUsize = AtomicUsize::new(0);
    // qemu-user runs a task of its own beside the program's. Counted before the thread
    // below: the kernel clears a thread's tid (and `join` returns) in its exit's
    // `mm_release`, before the task leaves the group's count, so a real kernel may still
    // count a thread just joined (seen on 6.1 and 7.2 under qemu-system); earlier joined
    // threads (`all`) may still be counted here too, hence `<=` below.
    let tasks_before = tasks();
    // One thread first, so that a kept mapping exists before counting (the first detached
    // thread takes it), and the heap grown past what n threads' handles need at once (its
    // arenas are never given back: one mapped during the run is no thread's leftover).
    thread::spawn(|| ()).join();
    drop(
        (0..4 * n.max(1000))
            .map(|_| alloc::boxed::Box::new([0u8; 200]))
            .collect::<Vec<_>>(),
    );
    let before = mappings();
    for _ in 0..n {
        drop(thread::spawn(|| {
            DONE.fetch_add(1, Ordering::Relaxed);
        }));
    }
    while DONE.load(Ordering::Relaxed) < n {
        thread::yield_now();
    }
    // The last threads may still be freeing themselves.
    let mut waited = 0;
    while tasks() > tasks_before && waited < 1000 {
        let _ = thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    let after = mappings();
    check(
        &alloc::format!(
            "detach {n}: maps {before} -> {after}, tasks {tasks_before} -> {}",
            tasks()
        ),
        // A leak is one mapping a thread (n of them); the kernel's merging and splitting of
        // neighbouring anonymous mappings as threads come and go (a kept stack, the heap's
        // arenas) may leave a line or two more (seen on arm64 kernels 6.12 and 7.2).
        after <= before + 2 && tasks() <= tasks_before,
    )
}

fn scope() -> bool {
    let mut slots = [0usize; 16];
    let base = 7;
    thread::scope(|s| {
        for (i, slot) in slots.iter_mut().enumerate() {
            s.spawn(move || *slot = base + i);
        }
    });
    let joined = thread::scope(|s| s.spawn(|| slots.iter().sum::<usize>()).join());
    check(
        "scope: borrowed slots written",
        slots.iter().enumerate().all(|(i, v)| *v == base + i) && joined == 16 * 7 + 120,
    )
}

fn mutex() -> bool {
    let m = Mutex::new(0u64);
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..100_000 {
                    *m.lock() += 1;
                }
            });
        }
    });
    let total = *m.lock();
    check(&alloc::format!("mutex: {total}"), total == 800_000)
}

fn condvar() -> bool {
    const ITEMS: u32 = 10_000;
    let queue = Mutex::new(Vec::new());
    let cv = Condvar::new();
    let mut seen = Vec::new();
    thread::scope(|s| {
        s.spawn(|| {
            for i in 0..ITEMS {
                let mut q = queue.lock();
                q.push(i);
                drop(q);
                cv.notify_one();
            }
        });
        while seen.len() < ITEMS as usize {
            let mut q = cv.wait_while(queue.lock(), |q| q.is_empty());
            seen.append(&mut q);
        }
    });
    check(
        &alloc::format!("condvar: {} items in order", seen.len()),
        seen.iter().copied().eq(0..ITEMS),
    )
}

fn rwlock() -> bool {
    let lock = RwLock::new(0u32);
    let readers = AtomicU32::new(0);
    let most = AtomicU32::new(0);
    let bad = AtomicU32::new(0);
    thread::scope(|s| {
        for t in 0..6 {
            let (lock, readers, most, bad) = (&lock, &readers, &most, &bad);
            s.spawn(move || {
                for i in 0..2_000 {
                    if (t + i) % 5 == 0 {
                        let mut w = lock.write();
                        if readers.load(Ordering::SeqCst) != 0 {
                            bad.fetch_add(1, Ordering::SeqCst);
                        }
                        *w += 1;
                    } else {
                        let r = lock.read();
                        let now = readers.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        let _ = *r;
                        for _ in 0..50 {
                            core::hint::spin_loop();
                        }
                        readers.fetch_sub(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let writes = *lock.read();
    check(
        &alloc::format!(
            "rwlock: {writes} writes, up to {} readers at once, {} overlaps",
            most.load(Ordering::SeqCst),
            bad.load(Ordering::SeqCst)
        ),
        writes == 2_400 && bad.load(Ordering::SeqCst) == 0,
    )
}

fn once() -> bool {
    let once = Once::new();
    let cell = OnceLock::new();
    let runs = AtomicU32::new(0);
    let inits = AtomicU32::new(0);
    thread::scope(|s| {
        for t in 0..8u32 {
            let (once, cell, runs, inits) = (&once, &cell, &runs, &inits);
            s.spawn(move || {
                once.call_once(|| {
                    runs.fetch_add(1, Ordering::SeqCst);
                });
                let v = cell.get_or_init(|| {
                    inits.fetch_add(1, Ordering::SeqCst);
                    t
                });
                assert!(*v < 8);
            });
        }
    });
    check(
        "once: one run, one init",
        runs.load(Ordering::SeqCst) == 1 && inits.load(Ordering::SeqCst) == 1,
    )
}

fn park() -> bool {
    static FLAG: AtomicU32 = AtomicU32::new(0);
    let main = thread::current();
    let h = thread::spawn(move || {
        for i in 1..=100 {
            while FLAG.load(Ordering::Acquire) != 2 * i - 1 {
                thread::park();
            }
            FLAG.store(2 * i, Ordering::Release);
            main.unpark();
        }
    });
    for i in 1..=100 {
        FLAG.store(2 * i - 1, Ordering::Release);
        h.thread().unpark();
        while FLAG.load(Ordering::Acquire) != 2 * i {
            thread::park();
        }
    }
    h.join();
    let t = tinyrt::time::Instant::now();
    thread::park_timeout(Duration::from_millis(20));
    thread::park_timeout(Duration::from_millis(20));
    let waited = t.elapsed();
    check(
        &alloc::format!("park: 100 round trips, park_timeout {waited:?}"),
        FLAG.load(Ordering::Relaxed) == 200 && waited >= Duration::from_millis(20),
    )
}

/// The size of the mapping (`/proc/self/maps`) that holds `addr`.
fn mapping_of(addr: usize) -> usize {
    let mut buf = alloc::vec![0u8; 1 << 16];
    let n = tinyrt::io::read_file(c"/proc/self/maps", &mut buf).unwrap_or(0);
    let text = core::str::from_utf8(&buf[..n]).unwrap_or("");
    text.lines()
        .filter_map(|l| {
            let (a, b) = l.split(' ').next()?.split_once('-')?;
            Some((
                usize::from_str_radix(a, 16).ok()?,
                usize::from_str_radix(b, 16).ok()?,
            ))
        })
        .find(|&(a, b)| a <= addr && addr < b)
        .map_or(0, |(a, b)| b - a)
}

fn stack() -> bool {
    let on_own_stack = || {
        let local = 0u8;
        mapping_of(core::hint::black_box(&local) as *const u8 as usize)
    };
    let default = thread::spawn(on_own_stack).join();
    let builder = thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(on_own_stack)
        .map_or(0, |h| h.join());
    println!("stack {default} {builder}");
    default > 0 && builder >= 1 << 20
}

fn names() -> bool {
    let main = thread::current();
    let mine = main.name() == Some("main") && main.id().as_u64().get() == 1;
    let h = thread::Builder::new()
        .name(String::from("a-long-worker-name"))
        .spawn(|| {
            let me = thread::current();
            let mut comm = [0u8; 32];
            let n = tinyrt::io::read_file(c"/proc/thread-self/comm", &mut comm).unwrap_or(0);
            (
                String::from(me.name().unwrap_or("?")),
                me.id(),
                Vec::from(&comm[..n]),
            )
        })
        .unwrap();
    let id = h.thread().id();
    let (name, their_id, comm) = h.join();
    let unnamed = thread::spawn(|| thread::current().name().is_none()).join();
    check(
        &alloc::format!("names: {name:?} comm {:?}", core::str::from_utf8(&comm)),
        mine && name == "a-long-worker-name"
            && their_id == id
            && id != main.id()
            && comm == b"a-long-worker-n\n"
            && unnamed,
    )
}

fn raw() -> bool {
    static mut MEMORY: [u8; 256 << 10] = [0; 256 << 10];
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    fn body(arg: usize) {
        SEEN.store(arg, Ordering::SeqCst);
    }
    // SAFETY: the buffer is used here once, and given to the thread for ever.
    let memory = unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) };
    match thread::spawn_raw(memory, body, 42) {
        Ok(h) => {
            h.join();
            check("raw: spawn_raw ran", SEEN.load(Ordering::SeqCst) == 42)
        }
        Err(e) => check(&alloc::format!("raw: {e:?}"), false),
    }
}

fn kill() -> bool {
    use tinyrt::signal::{self, Action, Handler, Signal};
    static HANDLED_ON: AtomicU32 = AtomicU32::new(0);
    extern "C" fn on_usr1(_: i32) {
        HANDLED_ON.store(thread::current_os_id(), Ordering::SeqCst);
    }
    // SAFETY: the handler only stores into an atomic.
    if unsafe { signal::set_action(Signal::USR1, &Action::new(Handler::Plain(on_usr1))) }.is_err() {
        return check("kill: sigaction", false);
    }
    let tid = AtomicU32::new(0);
    let ok = thread::scope(|s| {
        let h = s.spawn(|| {
            tid.store(thread::current_os_id(), Ordering::SeqCst);
            while HANDLED_ON.load(Ordering::SeqCst) == 0 {
                thread::yield_now();
            }
        });
        while tid.load(Ordering::SeqCst) == 0 {
            thread::yield_now();
        }
        let sent = h.thread().kill(Signal::USR1).is_ok();
        let t = h.thread().clone();
        h.join();
        sent && t.kill(Signal::USR1) == Err(tinyrt::Errno::ESRCH)
    });
    let on = HANDLED_ON.load(Ordering::SeqCst);
    check(
        &alloc::format!(
            "kill: handled on {on}, sent to {}",
            tid.load(Ordering::SeqCst)
        ),
        ok && on == tid.load(Ordering::SeqCst) && on != thread::current_os_id(),
    )
}

fn process() -> bool {
    let code = thread::spawn(|| {
        tinyrt::process::Command::new(c"/bin/sh")
            .args([c"-c", c"exit 7"])
            .status()
            .map(|s| s.code())
    })
    .join();
    check(&alloc::format!("process: {code:?}"), code == Ok(Some(7)))
}

/// Counts its drops.
struct Counted<'a>(&'a AtomicUsize);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn errors() -> bool {
    use tinyrt::signal::{self, Action, Handler, Signal};
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    static USR2: AtomicUsize = AtomicUsize::new(0);
    extern "C" fn on_usr2(_: i32) {
        USR2.fetch_add(1, Ordering::SeqCst);
    }
    // More than any address space: refused before any system call.
    let huge = usize::MAX;
    let counted = Counted(&DROPS);
    let refused = thread::Builder::new()
        .stack_size(huge)
        .spawn(move || drop(counted))
        .err();
    let scoped = thread::scope(|s| {
        let counted = Counted(&DROPS);
        thread::Builder::new()
            .stack_size(huge)
            .spawn_scoped(s, move || drop(counted))
            .err()
    });
    // SAFETY: the handler only counts.
    let installed =
        unsafe { signal::set_action(Signal::USR2, &Action::new(Handler::Plain(on_usr2))) }.is_ok();
    let stop = AtomicU32::new(0);
    let sent = thread::scope(|s| {
        let h = s.spawn(|| {
            while stop.load(Ordering::SeqCst) == 0 {
                thread::park();
            }
        });
        // At once, before the thread may have run at all.
        let sent = h.thread().kill(Signal::USR2);
        let main = thread::current();
        let to_main = s.spawn(move || main.kill(Signal::USR2)).join();
        stop.store(1, Ordering::SeqCst);
        h.thread().unpark();
        (sent, to_main)
    });
    let mut waited = 0;
    while USR2.load(Ordering::SeqCst) < 2 && waited < 1000 {
        let _ = thread::sleep(Duration::from_millis(1));
        waited += 1;
    }
    check(
        &alloc::format!(
            "errors: {refused:?} {scoped:?}, {} drops; kill at once {sent:?}, {} handled",
            DROPS.load(Ordering::SeqCst),
            USR2.load(Ordering::SeqCst)
        ),
        refused == Some(tinyrt::Errno::ENOMEM)
            && scoped == Some(tinyrt::Errno::ENOMEM)
            && DROPS.load(Ordering::SeqCst) == 2
            && installed
            && sent == (Ok(()), Ok(()))
            && USR2.load(Ordering::SeqCst) == 2,
    )
}

/// Two threads panic at once, each message slow to write: one is printed whole, the
/// process ends with 101 before the other.
fn panic_twice() -> bool {
    struct Slow(&'static str);
    impl core::fmt::Display for Slow {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            for c in self.0.chars() {
                let _ = thread::sleep(Duration::from_millis(2));
                write!(f, "{c}")?;
            }
            Ok(())
        }
    }
    let gate = tinyrt::sync::Barrier::new(2);
    thread::scope(|s| {
        for name in ["one", "two"] {
            let gate = &gate;
            thread::Builder::new()
                .name(String::from(name))
                .spawn_scoped(s, move || {
                    gate.wait();
                    panic!("{}", Slow("slowly written"));
                })
                .unwrap();
        }
    });
    false
}

/// A thread that is given its own handle and joins it.
fn join_self() -> bool {
    let slot: &'static Mutex<Option<thread::JoinHandle<()>>> =
        alloc::boxed::Box::leak(alloc::boxed::Box::new(Mutex::new(None)));
    let h = thread::spawn(move || {
        let own = loop {
            if let Some(h) = slot.lock().take() {
                break h;
            }
            thread::yield_now();
        };
        own.join();
    });
    let me = h.thread().clone();
    *slot.lock() = Some(h);
    loop {
        // The process ends with the thread's panic.
        let _ = me.name();
        thread::park_timeout(Duration::from_millis(100));
    }
}
