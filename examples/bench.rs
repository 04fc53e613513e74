//! Clock-read and getrandom costs inside a static tinyrt program (the real deployment: no
//! std, no libc), one line per function and backend:
//!
//! ```text
//! clock_gettime(MONOTONIC)  auto      18.4 ns/call  (8388608 calls)  [vdso]
//! clock_gettime(MONOTONIC)  syscall  260.1 ns/call  (262144 calls)   [syscall]
//! ```
//!
//! Each case doubles its call count until one timed run takes at least 50 ms (1 ms with
//! `--quick`, a smoke run for the tests), then reports that run; results go through
//! `black_box` so the compiler cannot drop the calls. The timer is CLOCK_MONOTONIC through
//! tinyrt itself. Also: the first-call cost (validating the live vDSO image and looking one
//! symbol up), and on i686 a system call through `int $0x80` against `__kernel_vsyscall`.
//!
//! Then the cheapest reads side by side with rustix in this same program (`side` lines):
//! 15 rounds (3 with `--quick`), each timing a batch of tinyrt's call and then one of the
//! other's, and the median of the per-round ratios, so that the machine's drift hits both
//! alike. The clock id is a constant at the call (`const`) or comes through `black_box`
//! (`var`). getcpu from the rseq area is set beside the dispatch's getcpu (the vDSO's where
//! it has one), and the CPU alone (`cpu::current`) beside rustix's `sched_getcpu`. Under
//! qemu-user the numbers are emulated.
#![no_std]
#![no_main]

use core::hint::black_box;
use tinyrt::time::{self, Backend, ClockId, Function};
use tinyrt::{cpu, println};

tinyrt::main!(main);

fn now_ns() -> i128 {
    time::clock_gettime(ClockId::MONOTONIC).map_or(0, |t| t.as_nanos())
}

/// How long one timed batch must take: 50 ms, or 1 ms with `--quick` (a smoke run).
static BATCH_NS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(50_000_000);

/// Runs `f` in doubling batches until a batch takes long enough: (ns per call, calls).
fn measure(mut f: impl FnMut()) -> (f64, u64) {
    let batch = i128::from(BATCH_NS.load(core::sync::atomic::Ordering::Relaxed));
    let mut n: u64 = 64;
    loop {
        let start = now_ns();
        for _ in 0..n {
            f();
        }
        let took = now_ns() - start;
        if took >= batch || n >= 1 << 30 {
            return (took as f64 / n as f64, n);
        }
        n *= 2;
    }
}

fn report(name: &str, mode: &str, tag: &str, (ns, n): (f64, u64)) {
    println!(
        "{:<34} {:<8} {:>9.1} ns/call  ({} calls)  [{}]",
        name, mode, ns, n, tag
    );
}

fn tag(f: Function) -> &'static str {
    match time::backend(f) {
        Backend::Vdso { .. } => "vdso",
        Backend::Syscall => "syscall",
    }
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    if args.nth(1).is_some_and(|a| a.to_bytes() == b"--quick") {
        BATCH_NS.store(1_000_000, core::sync::atomic::Ordering::Relaxed);
    }
    for (clock, name) in [
        (ClockId::MONOTONIC, "MONOTONIC"),
        (ClockId::REALTIME, "REALTIME"),
        (ClockId::MONOTONIC_COARSE, "MONOTONIC_COARSE"),
        (ClockId::BOOTTIME, "BOOTTIME"),
        (ClockId::PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"),
    ] {
        let label = match name {
            "MONOTONIC" => "clock_gettime(MONOTONIC)",
            "REALTIME" => "clock_gettime(REALTIME)",
            "MONOTONIC_COARSE" => "clock_gettime(MONOTONIC_COARSE)",
            "BOOTTIME" => "clock_gettime(BOOTTIME)",
            _ => "clock_gettime(PROCESS_CPUTIME_ID)",
        };
        let auto = measure(|| {
            black_box(time::clock_gettime(black_box(clock)).ok());
        });
        let served = match time::clock_backend(Function::ClockGettime, clock) {
            Backend::Vdso { .. } => "vdso",
            Backend::Syscall => "syscall",
        };
        report(label, "auto", served, auto);
        let sys = measure(|| {
            black_box(time::syscall::clock_gettime(black_box(clock)).ok());
        });
        report(label, "syscall", "syscall", sys);
    }
    let r = measure(|| {
        black_box(time::clock_getres(black_box(ClockId::MONOTONIC)).ok());
    });
    report(
        "clock_getres(MONOTONIC)",
        "auto",
        tag(Function::ClockGetres),
        r,
    );
    let r = measure(|| {
        black_box(time::gettimeofday().ok());
    });
    report("gettimeofday", "auto", tag(Function::Gettimeofday), r);
    let r = measure(|| {
        black_box(time::syscall::gettimeofday().ok());
    });
    report("gettimeofday", "syscall", "syscall", r);
    let r = measure(|| {
        black_box(time::time());
    });
    report("time", "auto", tag(Function::Time), r);
    let r = measure(|| {
        black_box(time::syscall::time().ok());
    });
    report("time", "syscall", "syscall", r);
    let r = measure(|| {
        black_box(cpu::getcpu().ok());
    });
    report("getcpu", "auto", cpu_tag(), r);
    let r = measure(|| {
        black_box(cpu::getcpu_any_thread().ok());
    });
    report("getcpu", "dispatch", tag(Function::Getcpu), r);
    let r = measure(|| {
        black_box(cpu::syscall_getcpu().ok());
    });
    report("getcpu", "syscall", "syscall", r);

    // getrandom: 16 bytes, 64 bytes and 4 KiB per call.
    let mut buf = [0u8; 4096];
    let served = match tinyrt::random::backend() {
        Backend::Vdso { .. } => "vdso",
        Backend::Syscall => "syscall",
    };
    for (n, label) in [
        (16, "getrandom(16 bytes)"),
        (64, "getrandom(64 bytes)"),
        (4096, "getrandom(4096 bytes)"),
    ] {
        let part = &mut buf[..n];
        let r = measure(|| {
            black_box(tinyrt::random::getrandom(black_box(&mut *part), Default::default()).ok());
        });
        report(label, "auto", served, r);
        let r = measure(|| {
            let flags = Default::default();
            black_box(tinyrt::random::syscall::getrandom(black_box(&mut *part), flags).ok());
        });
        report(label, "syscall", "syscall", r);
    }

    // What a first call costs on top of a normal one: bounding the live image and looking
    // a symbol up (the resolver does exactly this once per function).
    let symbol = Function::ClockGettime.symbol().unwrap_or("");
    let r = measure(|| {
        black_box(tinyrt::vdso::find(black_box(symbol)));
    });
    report("first-call resolution (lookup)", "vdso", "vdso", r);

    entry_bench();
    side_by_side();
    0
}

fn cpu_tag() -> &'static str {
    match cpu::backend() {
        cpu::Backend::Rseq => "rseq",
        cpu::Backend::Call(Backend::Vdso { .. }) => "vdso",
        cpu::Backend::Call(Backend::Syscall) => "syscall",
    }
}

/// What serves `cpu::current`: the rseq area whenever it is registered (with or without
/// the node), else the dispatch.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
fn current_tag() -> &'static str {
    if cpu::rseq_registered() {
        "rseq"
    } else {
        cpu_tag()
    }
}

/// `ours` and `theirs` in alternating batches of the same call count: the median of their
/// ns/call and of the per-round ratios (ours / theirs).
fn pair(mut ours: impl FnMut(), mut theirs: impl FnMut()) -> (f64, f64, f64) {
    let quick = BATCH_NS.load(core::sync::atomic::Ordering::Relaxed) < 50_000_000;
    const MAX_ROUNDS: usize = 15;
    let rounds = if quick { 3 } else { MAX_ROUNDS };
    // A batch of a fifth of the measuring time, for the slower of the two.
    let (_, n) = measure(&mut ours);
    let (_, m) = measure(&mut theirs);
    let n = (n.min(m) / 5).max(64);
    let (mut a, mut b, mut r) = ([0f64; MAX_ROUNDS], [0f64; MAX_ROUNDS], [0f64; MAX_ROUNDS]);
    for i in 0..rounds {
        a[i] = batch(&mut ours, n);
        b[i] = batch(&mut theirs, n);
        r[i] = if b[i] > 0.0 { a[i] / b[i] } else { 0.0 };
    }
    (
        median(&mut a[..rounds]),
        median(&mut b[..rounds]),
        median(&mut r[..rounds]),
    )
}

/// ns per call of `n` calls of `f` (generic: no indirect call around the call timed).
fn batch<F: FnMut()>(f: &mut F, n: u64) -> f64 {
    let start = now_ns();
    for _ in 0..n {
        f();
    }
    (now_ns() - start) as f64 / n as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn side(name: &str, other: &str, tag: &str, (a, b, r): (f64, f64, f64)) {
    println!(
        "side {:<38} tinyrt {:>8.2} ns  {:<8} {:>8.2} ns  ratio {:.3}  [{}]",
        name, a, other, b, r, tag
    );
}

/// One clock read, `const` and `var`, beside rustix's.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
macro_rules! clock_pair {
    ($read:ident, $name:literal, $ours:ident, $theirs:ident) => {{
        let r = pair(
            || {
                black_box(time::$read(ClockId::$ours).ok());
            },
            || {
                black_box(rustix::time::$read(rustix::time::ClockId::$theirs));
            },
        );
        side(
            concat!(stringify!($read), "(", $name, ") const"),
            "rustix",
            "vdso",
            r,
        );
        let r = pair(
            || {
                black_box(time::$read(black_box(ClockId::$ours)).ok());
            },
            || {
                black_box(rustix::time::$read(black_box(
                    rustix::time::ClockId::$theirs,
                )));
            },
        );
        side(
            concat!(stringify!($read), "(", $name, ") var"),
            "rustix",
            "vdso",
            r,
        );
    }};
}

fn side_by_side() {
    rustix_pairs();
    let r = pair(
        || {
            black_box(cpu::getcpu().ok());
        },
        || {
            black_box(cpu::getcpu_any_thread().ok());
        },
    );
    side("getcpu", "dispatch", cpu_tag(), r);
}

/// The reads beside rustix's, where rustix has its libc-free backend (on powerpc64 and
/// s390x it needs a nightly feature, and its libc one cannot link into a static tinyrt
/// program).
#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
fn rustix_pairs() {
    clock_pair!(
        clock_gettime,
        "MONOTONIC_COARSE",
        MONOTONIC_COARSE,
        MonotonicCoarse
    );
    clock_pair!(
        clock_gettime,
        "REALTIME_COARSE",
        REALTIME_COARSE,
        RealtimeCoarse
    );
    clock_pair!(clock_gettime, "MONOTONIC", MONOTONIC, Monotonic);
    // rustix's clock_getres is the system call.
    clock_pair!(clock_getres, "MONOTONIC", MONOTONIC, Monotonic);
    // The CPU alone on both sides (rustix has no call for the node).
    let r = pair(
        || {
            black_box(cpu::current().ok());
        },
        || {
            black_box(rustix::thread::sched_getcpu());
        },
    );
    side("sched_getcpu", "rustix", current_tag(), r);
}

#[cfg(any(target_arch = "powerpc64", target_arch = "s390x"))]
fn rustix_pairs() {}

/// i686: the same system call through both kernel entries.
#[cfg(target_arch = "x86")]
fn entry_bench() {
    use tinyrt::syscall::{arch, nr, syscall0};
    for vsyscall in [false, true] {
        let e = arch::use_vsyscall(vsyscall);
        let r = measure(|| {
            // SAFETY: getppid takes no arguments and cannot fail.
            black_box(unsafe { syscall0(nr::__NR_getppid) });
        });
        let how = match e {
            arch::SyscallEntry::Int80 => "int $0x80",
            arch::SyscallEntry::Vsyscall(_) => "__kernel_vsyscall",
        };
        report("getppid", how, "syscall", r);
    }
    arch::use_vsyscall(true);
}

#[cfg(not(target_arch = "x86"))]
fn entry_bench() {}
