//! Benchmarks only (benches/clocks.rs, benches/random.rs): the settings they share.

use criterion::Criterion;

/// Short runs: 0.3 s of warm-up, 1 s of measurement, 30 samples per function (the medians
/// are stable to a few percent on the 2-core VM; the README says how noisy it is).
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(300))
        .measurement_time(std::time::Duration::from_secs(1))
        .sample_size(30)
}
