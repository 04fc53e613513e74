//! `sync::Mutex` (library mode) beside `std::sync::Mutex`: one lock and unlock with nobody
//! else around (`mutex_uncontended/{tinyrt,std}`), and two threads each locking,
//! incrementing and unlocking one shared counter (`mutex_contended_2_threads/{tinyrt,std}`:
//! the time for both threads to do `n` each, per iteration). Both mutexes are futex state
//! machines of the same design, so the ratios say what tinyrt's code costs, not a different
//! algorithm.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use tinyrt_bench::{iter, timed};

/// One lock: what both mutexes offer to the benchmark.
trait Lock: Sync {
    fn bump(&self);
}

impl Lock for tinyrt_rt::sync::Mutex<u64> {
    #[inline]
    fn bump(&self) {
        *self.lock() += 1;
    }
}

impl Lock for std::sync::Mutex<u64> {
    #[inline]
    fn bump(&self) {
        *self.lock().unwrap() += 1;
    }
}

/// `n` bumps on each of two threads, started together: the wall time until both finished.
fn contended(n: u64, lock: &impl Lock) -> Duration {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            start.wait();
            timed(n, &mut || lock.bump())
        });
        start.wait();
        let t = Instant::now();
        timed(n, &mut || lock.bump());
        let mine = t.elapsed();
        mine.max(other.join().unwrap())
    })
}

fn mutex(c: &mut Criterion) {
    let tinyrt = tinyrt_rt::sync::Mutex::new(0u64);
    let std = std::sync::Mutex::new(0u64);

    let mut g = c.benchmark_group("mutex_uncontended");
    g.bench_function("tinyrt", |b| iter(b, || drop(black_box(&tinyrt).lock())));
    g.bench_function("std", |b| iter(b, || drop(black_box(&std).lock())));
    g.finish();

    let mut g = c.benchmark_group("mutex_contended_2_threads");
    g.bench_function("tinyrt", |b| b.iter_custom(|n| contended(n, &tinyrt)));
    g.bench_function("std", |b| b.iter_custom(|n| contended(n, &std)));
    g.finish();
}

criterion_group! {
    name = benches;
    config = tinyrt_bench::config();
    targets = mutex
}
criterion_main!(benches);
