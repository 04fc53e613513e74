//! getcpu from the rseq area, checked against the kernel:
//!
//! ```text
//! cpus backend        # the path that serves getcpu: rseq, vdso or syscall
//! cpus check ROUNDS   # pins itself to each allowed CPU in turn, ROUNDS times, and
//!                     # checks every read against the getcpu system call
//! cpus reads N        # N reads (for strace: one rseq call, no getcpu call)
//! cpus fork           # reads on CPU A, forks; the child pins itself to CPU B and reads
//! cpus threads N      # (built with `threads,alloc`) a thread pinned to each allowed CPU,
//!                     # started before the process's first getcpu, then after it; then N
//!                     # detached threads that read and end while another thread reads on
//! cpus signal         # (the same) two threads started before the process's first getcpu
//!                     # ask in turn, with a SIGUSR1 handler that asks too (a debugger
//!                     # delivers the signal inside the registration: tests/cpu_threads.rs)
//! ```
//!
//! Each mode prints one line ending in the backend's tag (`[rseq]`, `[vdso]`, `[syscall]`)
//! and exits 0, or prints what disagreed and exits 1. Pinning goes through the raw
//! `sched_setaffinity` system call, the fork through the raw `clone` (raw: rustix has no
//! libc-free backend on every architecture tinyrt runs on).
#![no_std]
#![no_main]

use tinyrt::cpu::{self, Backend};
use tinyrt::syscall::{nr, syscall2, syscall3};
use tinyrt::time::Backend as Served;
use tinyrt::{eprintln, println};

tinyrt::main!(main);

fn tag() -> &'static str {
    match cpu::backend() {
        Backend::Rseq => "[rseq]",
        Backend::Call(Served::Vdso { .. }) => "[vdso]",
        Backend::Call(Served::Syscall) => "[syscall]",
    }
}

/// A CPU mask of the kernel's `sched_{get,set}affinity`: 1,024 CPUs.
#[derive(Clone, Copy)]
struct CpuSet([u64; 16]);

impl CpuSet {
    const MAX_CPU: usize = 1024;
    fn is_set(&self, c: usize) -> bool {
        self.0.get(c / 64).is_some_and(|w| w & (1 << (c % 64)) != 0)
    }
    fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

/// The CPUs this process may run on.
fn allowed() -> Option<CpuSet> {
    let mut set = CpuSet([0; 16]);
    // SAFETY: the kernel writes at most the given length into `set`, which is ours.
    let r = unsafe {
        syscall3(
            nr::__NR_sched_getaffinity,
            0,
            size_of::<CpuSet>(),
            &mut set as *mut CpuSet as usize,
        )
    } as isize;
    (r > 0).then_some(set)
}

fn pin(cpu: usize) -> bool {
    let mut set = CpuSet([0; 16]);
    if let Some(w) = set.0.get_mut(cpu / 64) {
        *w = 1 << (cpu % 64);
    }
    pin_set(&set)
}

/// Pins the calling thread to the CPUs of `set`.
fn pin_set(set: &CpuSet) -> bool {
    // SAFETY: the kernel reads the given length from `set`.
    let r = unsafe {
        syscall3(
            nr::__NR_sched_setaffinity,
            0,
            size_of::<CpuSet>(),
            set as *const CpuSet as usize,
        )
    };
    r == 0
}

/// `reads` reads on `cpu` (pinned there): each must be `cpu`, as the system call says.
fn check_on(cpu: usize, reads: u32) -> Result<(), &'static str> {
    if !pin(cpu) {
        return Err("sched_setaffinity failed");
    }
    for _ in 0..reads {
        let ours = cpu::getcpu().map_err(|_| "getcpu failed")?;
        let kernel = cpu::syscall_getcpu().map_err(|_| "the getcpu system call failed")?;
        let current = cpu::current().map_err(|_| "current failed")?;
        if ours != kernel || ours.0 as usize != cpu || current as usize != cpu {
            eprintln!(
                "cpus: pinned to {}: getcpu {:?}, current {}, the kernel {:?}",
                cpu, ours, current, kernel
            );
            return Err("a read disagreed");
        }
    }
    Ok(())
}

fn check(rounds: u32) -> i32 {
    let Some(set) = allowed() else {
        eprintln!("cpus: sched_getaffinity failed");
        return 1;
    };
    let cpus = (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c));
    let (mut n, mut migrations) = (0u32, 0u32);
    for _ in 0..rounds {
        for c in cpus.clone() {
            if let Err(e) = check_on(c, 100) {
                eprintln!("cpus: {}", e);
                return 1;
            }
            n += 100;
            migrations += 1;
        }
    }
    println!(
        "check {} reads agree over {} migrations on {} cpus {}",
        n,
        migrations,
        set.count(),
        tag()
    );
    0
}

fn reads(n: u64) -> i32 {
    let mut sum = 0u64;
    for _ in 0..n {
        match cpu::getcpu() {
            Ok((c, _)) => sum = sum.wrapping_add(u64::from(c)),
            Err(e) => {
                eprintln!("cpus: getcpu: {:?}", e);
                return 1;
            }
        }
    }
    println!("reads {} sum {} {}", n, core::hint::black_box(sum), tag());
    0
}

/// fork(): the raw `clone(SIGCHLD)`, the other arguments 0 (s390x takes the stack first
/// and the flags second).
fn fork() -> isize {
    let (a1, a2) = if cfg!(target_arch = "s390x") {
        (0, tinyrt::signal::Signal::CHLD.number() as usize)
    } else {
        (tinyrt::signal::Signal::CHLD.number() as usize, 0)
    };
    // SAFETY: a clone without CLONE_VM is a fork: the child gets a copy of the memory and
    // returns here with 0 on its own copy of this stack.
    unsafe { syscall2(nr::__NR_clone, a1, a2) as isize }
}

fn fork_check() -> i32 {
    let Some(set) = allowed() else {
        eprintln!("cpus: sched_getaffinity failed");
        return 1;
    };
    let mut cpus = (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c));
    let (Some(a), Some(b)) = (cpus.next(), cpus.next()) else {
        eprintln!("cpus: fork needs two cpus");
        return 1;
    };
    // The parent reads first: the child inherits a registered area (or the decision not to).
    if let Err(e) = check_on(a, 10) {
        eprintln!("cpus: parent: {}", e);
        return 1;
    }
    let before = tag();
    match fork() {
        0 => {
            let code = match check_on(b, 1000) {
                Ok(()) if tag() == before => 0,
                Ok(()) => 3,
                Err(e) => {
                    eprintln!("cpus: child: {}", e);
                    2
                }
            };
            tinyrt::process::exit(code)
        }
        pid if pid < 0 => {
            eprintln!("cpus: fork failed");
            1
        }
        pid => match tinyrt::process::wait_any() {
            Ok((p, status)) if p as isize == pid && status.code() == Some(0) => {
                // The parent's own area still says its own CPU.
                if let Err(e) = check_on(a, 10) {
                    eprintln!("cpus: parent after fork: {}", e);
                    return 1;
                }
                println!("fork child on cpu {} parent on cpu {} {}", b, a, tag());
                0
            }
            Ok((_, status)) => {
                eprintln!("cpus: the child ended with {:?}", status);
                1
            }
            Err(e) => {
                eprintln!("cpus: wait: {:?}", e);
                1
            }
        },
    }
}

fn number(a: Option<&core::ffi::CStr>) -> Option<u64> {
    let a = a?;
    let mut n = 0u64;
    for &d in a.to_bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let mode = args.nth(1);
    match mode.as_ref().map(|m| m.to_bytes()) {
        Some(b"backend") => {
            println!("backend {}", tag());
            0
        }
        Some(b"check") => match number(args.next()) {
            Some(r) if r <= u32::MAX as u64 => check(r as u32),
            _ => usage(),
        },
        Some(b"reads") => match number(args.next()) {
            Some(n) => reads(n),
            None => usage(),
        },
        Some(b"fork") => fork_check(),
        #[cfg(all(feature = "threads", feature = "alloc"))]
        Some(b"threads") => match number(args.next()) {
            Some(n) if n <= 1_000_000 => threads::run(n as usize),
            _ => usage(),
        },
        #[cfg(all(feature = "threads", feature = "alloc"))]
        Some(b"signal") => threads::signal(),
        _ => usage(),
    }
}

fn usage() -> i32 {
    eprintln!("usage: cpus backend | check ROUNDS | reads N | fork | threads N | signal");
    2
}

/// The `threads` mode: each thread's getcpu reads its own rseq area (or the dispatch), never
/// another thread's.
#[cfg(all(feature = "threads", feature = "alloc"))]
mod threads {
    extern crate alloc;
    use super::{CpuSet, allowed, check_on, pin_set, tag};
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use core::time::Duration;
    use tinyrt::cpu;
    use tinyrt::sync::Barrier;
    use tinyrt::{eprintln, println, thread};

    /// Checked reads per CPU on each thread.
    const READS: u32 = 2000;

    /// One thread's work: pinned to `cpus[i]`, READS checked reads, then pinned to the next
    /// CPU and READS more (its own area follows it there); whether its area is registered.
    fn on_two(cpus: &[usize], i: usize) -> Result<bool, &'static str> {
        check_on(cpus[i], READS)?;
        check_on(cpus[(i + 1) % cpus.len()], READS)?;
        Ok(cpu::rseq_registered())
    }

    /// A thread per CPU, each `on_two`; every one registered as `registered` says (the main
    /// thread's answer, asked after them when `None`).
    fn per_cpu(cpus: &[usize], wait_first: bool, what: &str) -> Option<u32> {
        let barrier = Barrier::new(cpus.len());
        let results: Vec<Result<bool, &str>> = thread::scope(|s| {
            let handles: Vec<_> = (0..cpus.len())
                .map(|i| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        if wait_first {
                            // Every thread has started before any asks for its CPU.
                            barrier.wait();
                        }
                        on_two(cpus, i)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        let main_registered = cpu::rseq_registered();
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(reg) if *reg == main_registered => {}
                Ok(reg) => {
                    eprintln!(
                        "cpus: {}: thread {} registered {}, the main thread {}",
                        what, i, reg, main_registered
                    );
                    return None;
                }
                Err(e) => {
                    eprintln!("cpus: {}: thread {} (cpu {}): {}", what, i, cpus[i], e);
                    return None;
                }
            }
        }
        Some(cpus.len() as u32 * 2 * READS)
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

    static CPUS: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];
    static DONE: AtomicUsize = AtomicUsize::new(0);
    static FAILED: AtomicBool = AtomicBool::new(false);
    static STOP: AtomicBool = AtomicBool::new(false);
    static REGISTERED: AtomicBool = AtomicBool::new(false);

    /// `n` detached threads, each reading on one CPU and ending (its memory unmapped by
    /// itself), while a reader thread and the main thread keep reading: how many reads the
    /// reader made, or `None` on a disagreement or a wrong count of tasks.
    fn detached(cpus: &[usize], n: usize) -> Option<u64> {
        CPUS[0].store(cpus[0], Ordering::Relaxed);
        CPUS[1].store(cpus[cpus.len() - 1], Ordering::Relaxed);
        REGISTERED.store(cpu::rseq_registered(), Ordering::Relaxed);
        let reader = thread::spawn(|| {
            let mut reads = 0u64;
            while !STOP.load(Ordering::Relaxed) {
                for c in &CPUS {
                    if let Err(e) = check_on(c.load(Ordering::Relaxed), 100) {
                        eprintln!("cpus: detached: the reader: {}", e);
                        return None;
                    }
                    reads += 100;
                }
            }
            Some(reads)
        });
        // A thread joined just before may still be counted here: the kernel clears its id
        // (the join's wake) before it leaves the count (seen on qemu-i386 and real kernels),
        // so the count after may be smaller, never larger.
        let tasks_before = tasks();
        for i in 0..n {
            drop(thread::spawn(move || {
                let c = CPUS[i % 2].load(Ordering::Relaxed);
                if let Err(e) = check_on(c, 50) {
                    eprintln!("cpus: detached thread {} (cpu {}): {}", i, c, e);
                    FAILED.store(true, Ordering::Relaxed);
                }
                if cpu::rseq_registered() != REGISTERED.load(Ordering::Relaxed) {
                    eprintln!("cpus: detached thread {}: registered otherwise", i);
                    FAILED.store(true, Ordering::Relaxed);
                }
                DONE.fetch_add(1, Ordering::Release);
            }));
        }
        // The main thread reads too while the last ones end and free themselves.
        let mut waited = 0;
        while (DONE.load(Ordering::Acquire) < n || tasks() > tasks_before) && waited < 3000 {
            if let Err(e) = check_on(cpus[waited % cpus.len()], 20) {
                eprintln!("cpus: detached: the main thread: {}", e);
                FAILED.store(true, Ordering::Relaxed);
            }
            let _ = thread::sleep(Duration::from_millis(5));
            waited += 1;
        }
        let left = tasks();
        STOP.store(true, Ordering::Relaxed);
        let reads = reader.join();
        if left > tasks_before || DONE.load(Ordering::Acquire) != n {
            eprintln!(
                "cpus: detached: {} of {} threads ended, tasks {} -> {}",
                DONE.load(Ordering::Acquire),
                n,
                tasks_before,
                left
            );
            return None;
        }
        if FAILED.load(Ordering::Relaxed) {
            return None;
        }
        reads
    }

    static HANDLED: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn on_usr1(_: i32) {
        let _ = cpu::getcpu();
        HANDLED.fetch_add(1, Ordering::Relaxed);
    }

    /// Two threads started before the process's first getcpu ask in turn (the first decides
    /// for the process), with a SIGUSR1 handler that asks too: wherever the signal lands
    /// (the test has a debugger deliver it inside each thread's registration), each thread
    /// ends up registered as the main thread is, and the decision is what the kernel gave.
    pub fn signal() -> i32 {
        use tinyrt::signal::{self, Action, Handler, Signal};
        // SAFETY: the handler asks for the CPU (atomics and system calls:
        // async-signal-safe) and counts.
        if unsafe { signal::set_action(Signal::USR1, &Action::new(Handler::Plain(on_usr1))) }
            .is_err()
        {
            eprintln!("cpus: signal: sigaction failed");
            return 1;
        }
        let turn = AtomicUsize::new(0);
        let results: Vec<bool> = thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let turn = &turn;
                    s.spawn(move || {
                        while turn.load(Ordering::Acquire) != i {
                            thread::yield_now();
                        }
                        let _ = cpu::getcpu();
                        let registered = cpu::rseq_registered();
                        turn.store(i + 1, Ordering::Release);
                        registered
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        let main = cpu::rseq_registered();
        if let Some(i) = results.iter().position(|&r| r != main) {
            eprintln!(
                "cpus: signal: thread {} registered {}, the main thread {}",
                i, results[i], main
            );
            return 1;
        }
        println!(
            "signal 2 threads registered as the main thread, {} handlers asked {}",
            HANDLED.load(Ordering::Relaxed),
            tag()
        );
        0
    }

    pub fn run(n: usize) -> i32 {
        let Some(set) = allowed() else {
            eprintln!("cpus: sched_getaffinity failed");
            return 1;
        };
        let cpus: Vec<usize> = (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect();
        // Before: no thread of the process has asked for its CPU yet (one of these decides).
        let Some(before) = per_cpu(&cpus, true, "before") else {
            return 1;
        };
        // After: the main thread asks first (on the first CPU, and stays there), then
        // threads that register as they start.
        if let Err(e) = check_on(cpus[0], 10) {
            eprintln!("cpus: the main thread: {}", e);
            return 1;
        }
        let Some(after) = per_cpu(&cpus, false, "after") else {
            return 1;
        };
        // The main thread's own area still says its CPU.
        if let Err(e) = check_on(cpus[0], 10) {
            eprintln!("cpus: the main thread after: {}", e);
            return 1;
        }
        if !pin_set(&set) {
            eprintln!("cpus: sched_setaffinity failed");
            return 1;
        }
        let Some(reader) = detached(&cpus, n) else {
            return 1;
        };
        println!(
            "threads on {} cpus: before {} after {} reads agree, detached {}, the reader read {} {}",
            cpus.len(),
            before,
            after,
            n,
            reader,
            tag()
        );
        0
    }
}
