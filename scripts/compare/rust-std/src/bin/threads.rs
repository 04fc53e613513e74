//! Rust std's side of scripts/report's thread benchmarks (musl static), as
//! scripts/compare/threads.c: `threads spawn|mutex|contend|idle N`.
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

fn rss_kib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line[6..].trim().trim_end_matches("kB").trim().parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, n): (&str, usize) = (&args[1], args[2].parse().unwrap());
    let start = Instant::now();
    match mode {
        "spawn" => {
            for _ in 0..n {
                std::thread::spawn(|| ()).join().unwrap();
            }
        }
        "mutex" => {
            let m = Mutex::new(0u64);
            for _ in 0..n {
                *std::hint::black_box(&m).lock().unwrap() += 1;
            }
            assert_eq!(*m.lock().unwrap(), n as u64);
        }
        "contend" => {
            let m = Mutex::new(0u64);
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..n / 2 {
                            *m.lock().unwrap() += 1;
                        }
                    });
                }
            });
            assert_eq!(*m.lock().unwrap(), (n / 2 * 2) as u64);
        }
        "idle" => {
            let gate = Arc::new(Barrier::new(n + 1));
            let before = rss_kib();
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let g = gate.clone();
                    std::thread::spawn(move || {
                        g.wait();
                        g.wait();
                    })
                })
                .collect();
            gate.wait();
            let after = rss_kib();
            gate.wait();
            for h in handles {
                h.join().unwrap();
            }
            println!("idle {n} rss_kib_per_thread {:.1}", (after - before) / n as f64);
            return;
        }
        _ => std::process::exit(2),
    }
    println!("{mode} {n} total_ns {}", start.elapsed().as_nanos());
}
