//! Clock reads through tinyrt (library mode: tinyrt-rt inside this std program, auto
//! backend and forced system call) beside glibc (the `libc` crate), std and rustix, one
//! Criterion group per function and clock. The clock id goes through `black_box` (a
//! variable, as when a program picks the clock at run time), except in the `_const` groups,
//! where it is a constant at the call. `scripts/report` turns the medians into the README's
//! table (built with loops aligned, in target/bench-aligned); Criterion's HTML report is in
//! that target directory's criterion/report/index.html.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tinyrt_bench::iter;
use tinyrt_rt::time::{self as t, ClockId};

#[inline(always)]
fn glibc_clock(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts
}

#[inline(always)]
fn glibc_res(id: libc::clockid_t) -> libc::timespec {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    unsafe { libc::clock_getres(id, &mut ts) };
    ts
}

/// A `_const` group: the clock named by a constant at each call (a macro, so that each
/// call site has the literal constant, not a captured value).
macro_rules! const_clock {
    ($c:expr, $name:literal, $ours:ident, $theirs:ident, $rustix:ident) => {{
        let mut g = $c.benchmark_group(concat!("clock_gettime_", $name, "_const"));
        g.bench_function("tinyrt", |b| iter(b, || t::clock_gettime(ClockId::$ours)));
        g.bench_function("glibc", |b| iter(b, || glibc_clock(libc::$theirs)));
        g.bench_function("rustix", |b| {
            iter(b, || {
                rustix::time::clock_gettime(rustix::time::ClockId::$rustix)
            })
        });
        g.finish();
    }};
}

fn clocks(c: &mut Criterion) {
    use rustix::time::ClockId as R;
    let cases: [(&str, ClockId, libc::clockid_t, Option<R>); 6] = [
        (
            "MONOTONIC",
            ClockId::MONOTONIC,
            libc::CLOCK_MONOTONIC,
            Some(R::Monotonic),
        ),
        (
            "REALTIME",
            ClockId::REALTIME,
            libc::CLOCK_REALTIME,
            Some(R::Realtime),
        ),
        (
            "MONOTONIC_COARSE",
            ClockId::MONOTONIC_COARSE,
            libc::CLOCK_MONOTONIC_COARSE,
            Some(R::MonotonicCoarse),
        ),
        (
            "REALTIME_COARSE",
            ClockId::REALTIME_COARSE,
            libc::CLOCK_REALTIME_COARSE,
            Some(R::RealtimeCoarse),
        ),
        (
            "BOOTTIME",
            ClockId::BOOTTIME,
            libc::CLOCK_BOOTTIME,
            Some(R::Boottime),
        ),
        (
            "PROCESS_CPUTIME_ID",
            ClockId::PROCESS_CPUTIME_ID,
            libc::CLOCK_PROCESS_CPUTIME_ID,
            Some(R::ProcessCPUTime),
        ),
    ];
    tinyrt_rt::init();
    for (name, ours, theirs, rustix_id) in cases {
        let mut g = c.benchmark_group(format!("clock_gettime_{name}"));
        g.bench_function("tinyrt", |b| iter(b, || t::clock_gettime(black_box(ours))));
        g.bench_function("tinyrt_syscall", |b| {
            iter(b, || t::syscall::clock_gettime(black_box(ours)))
        });
        g.bench_function("glibc", |b| iter(b, || glibc_clock(black_box(theirs))));
        if let Some(r) = rustix_id {
            g.bench_function("rustix", |b| {
                iter(b, || rustix::time::clock_gettime(black_box(r)))
            });
        }
        match name {
            "MONOTONIC" => {
                g.bench_function("std_Instant", |b| iter(b, std::time::Instant::now));
            }
            "REALTIME" => {
                g.bench_function("std_SystemTime", |b| iter(b, std::time::SystemTime::now));
            }
            _ => {}
        }
        g.finish();
    }

    const_clock!(
        c,
        "MONOTONIC_COARSE",
        MONOTONIC_COARSE,
        CLOCK_MONOTONIC_COARSE,
        MonotonicCoarse
    );
    const_clock!(
        c,
        "REALTIME_COARSE",
        REALTIME_COARSE,
        CLOCK_REALTIME_COARSE,
        RealtimeCoarse
    );

    let mut g = c.benchmark_group("clock_getres_MONOTONIC_const");
    g.bench_function("tinyrt", |b| {
        iter(b, || t::clock_getres(ClockId::MONOTONIC))
    });
    g.bench_function("glibc", |b| iter(b, || glibc_res(libc::CLOCK_MONOTONIC)));
    g.finish();

    let mut g = c.benchmark_group("clock_getres_MONOTONIC");
    g.bench_function("tinyrt", |b| {
        iter(b, || t::clock_getres(black_box(ClockId::MONOTONIC)))
    });
    g.bench_function("tinyrt_syscall", |b| {
        iter(b, || {
            t::syscall::clock_getres(black_box(ClockId::MONOTONIC))
        })
    });
    g.bench_function("glibc", |b| {
        iter(b, || glibc_res(black_box(libc::CLOCK_MONOTONIC)))
    });
    g.bench_function("rustix", |b| {
        iter(b, || rustix::time::clock_getres(black_box(R::Monotonic)))
    });
    g.finish();

    let mut g = c.benchmark_group("gettimeofday");
    g.bench_function("tinyrt", |b| iter(b, t::gettimeofday));
    g.bench_function("tinyrt_syscall", |b| iter(b, t::syscall::gettimeofday));
    g.bench_function("glibc", |b| {
        iter(b, || {
            let mut tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 0,
            };
            // SAFETY: tv is ours; no time zone.
            unsafe { libc::gettimeofday(&mut tv, std::ptr::null_mut()) };
            tv
        })
    });
    g.finish();

    let mut g = c.benchmark_group("time");
    g.bench_function("tinyrt", |b| iter(b, t::time));
    g.bench_function("tinyrt_syscall", |b| iter(b, t::syscall::time));
    g.bench_function("glibc", |b| {
        iter(b, || {
            // SAFETY: time(NULL) has no preconditions.
            unsafe { libc::time(std::ptr::null_mut()) }
        })
    });
    g.finish();

    // The CPU and the node: glibc's getcpu (the vDSO's) answers the same pair; rustix has
    // no call for the node.
    let mut g = c.benchmark_group("getcpu");
    g.bench_function("tinyrt", |b| iter(b, tinyrt_rt::cpu::getcpu));
    g.bench_function("tinyrt_syscall", |b| {
        iter(b, tinyrt_rt::cpu::syscall_getcpu)
    });
    g.bench_function("glibc", |b| {
        iter(b, || {
            let (mut cpu, mut node) = (0, 0);
            // SAFETY: both pointers are to our own locals.
            match unsafe { getcpu(&mut cpu, &mut node) } {
                0 => Ok((cpu, node)),
                _ => Err(()),
            }
        })
    });
    g.finish();

    // The CPU alone, as C's sched_getcpu answers it (glibc serves it from its rseq area where
    // it can).
    let mut g = c.benchmark_group("sched_getcpu");
    g.bench_function("tinyrt", |b| iter(b, tinyrt_rt::cpu::current));
    // SAFETY: sched_getcpu has no preconditions.
    g.bench_function("glibc", |b| iter(b, || unsafe { libc::sched_getcpu() }));
    g.bench_function("rustix", |b| iter(b, rustix::thread::sched_getcpu));
    g.finish();
}

unsafe extern "C" {
    /// glibc's getcpu (2.29 and later; the libc crate does not declare it).
    fn getcpu(cpu: *mut libc::c_uint, node: *mut libc::c_uint) -> libc::c_int;
}

criterion_group! {
    name = benches;
    config = tinyrt_bench::config();
    targets = clocks
}
criterion_main!(benches);
