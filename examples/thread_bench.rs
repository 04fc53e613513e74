//! `thread_bench spawn|mutex|contend|idle N`: tinyrt's side of scripts/report's thread
//! benchmarks, as scripts/compare/threads.c (C, pthreads) and its Rust std twin: prints
//! `MODE N total_ns T`, or for `idle` the resident memory each idle thread adds. Built with
//! the `threads` and `alloc` features.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use tinyrt::sync::{Barrier, Mutex};
use tinyrt::thread;
use tinyrt::time::Instant;
use tinyrt::{eprintln, println};

tinyrt::main!(main);

/// VmRSS of /proc/self/status, in KiB.
fn rss_kib() -> u64 {
    let mut buf = [0u8; 4096];
    let n = tinyrt::io::read_file(c"/proc/self/status", &mut buf).unwrap_or(0);
    core::str::from_utf8(&buf[..n])
        .unwrap_or("")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args.skip(1);
    let mode = args.next().and_then(|a| a.to_str().ok()).unwrap_or("");
    let Some(n) = args
        .next()
        .and_then(|a| a.to_str().ok()?.parse::<usize>().ok())
    else {
        eprintln!("usage: thread_bench spawn|mutex|contend|idle N");
        return 2;
    };
    let start = Instant::now();
    match mode {
        "spawn" => {
            for _ in 0..n {
                thread::spawn(|| ()).join();
            }
        }
        "mutex" => {
            let m = Mutex::new(0u64);
            for _ in 0..n {
                *core::hint::black_box(&m).lock() += 1;
            }
            if *m.lock() != n as u64 {
                return 1;
            }
        }
        "contend" => {
            let m = Mutex::new(0u64);
            thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..n / 2 {
                            *m.lock() += 1;
                        }
                    });
                }
            });
            if *m.lock() != (n / 2 * 2) as u64 {
                return 1;
            }
        }
        "idle" => {
            let gate = Barrier::new(n + 1);
            let before = rss_kib();
            thread::scope(|s| {
                let handles: Vec<_> = (0..n)
                    .map(|_| {
                        s.spawn(|| {
                            gate.wait();
                            gate.wait();
                        })
                    })
                    .collect();
                gate.wait();
                let after = rss_kib();
                gate.wait();
                drop(handles);
                let per = (after.saturating_sub(before) * 10) / n as u64;
                println!("idle {n} rss_kib_per_thread {}.{}", per / 10, per % 10);
            });
            return 0;
        }
        _ => {
            eprintln!("thread_bench: unknown mode {mode}");
            return 2;
        }
    }
    println!("{mode} {n} total_ns {}", start.elapsed().as_nanos());
    0
}
