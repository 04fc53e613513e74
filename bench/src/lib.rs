//! Benchmarks only (benches/clocks.rs, benches/random.rs, benches/sync.rs): the settings they
//! share.

use criterion::Criterion;

/// Short runs: 0.3 s of warm-up, 1 s of measurement, 30 samples per function (the medians
/// are stable to a few percent on the 2-core VM; the README says how noisy it is).
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(30)
}

/// `b.iter(f)`, with the timed loop in a function of its own: [`timed`], instantiated once
/// for each routine. `scripts/report` builds the benchmarks with every function's start
/// aligned to 64 bytes, so that each loop's place in the instruction cache is decided by its
/// own function's code alone. (Inside Criterion's `iter` the loops landed wherever the code
/// before them ended, and LLVM's loop alignment skips a loop that its preheader falls into:
/// one unrelated change to this file moved tinyrt's `time` from 1.02x glibc's to 1.25x.)
pub fn iter<R>(b: &mut criterion::Bencher, mut f: impl FnMut() -> R) {
    b.iter_custom(|n| timed(n, &mut f));
}

/// `n` calls of `f`, each result through Criterion's `black_box` (as its `iter` does): their
/// time.
#[inline(never)]
pub fn timed<R>(n: u64, f: &mut impl FnMut() -> R) -> std::time::Duration {
    let start = std::time::Instant::now();
    for _ in 0..n {
        criterion::black_box(f());
    }
    start.elapsed()
}
