//! The loop people write with std: `thread::sleep(period)` after each tick, no deadline.
//! Prints the summary line of examples/tick.rs. `tick PERIOD_NS COUNT`
use std::time::{Duration, Instant};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let period = Duration::from_nanos(a[1].parse().unwrap());
    let count: usize = a[2].parse().unwrap();
    let start = Instant::now();
    let mut late = Vec::with_capacity(count);
    // The first tick is due a period after the start; the drift is the least of how far each
    // of the last 50 ticks woke from the schedule that sets.
    let first = period.as_nanos() as i128;
    let (mut drift, mut prev) = (i128::MAX, 0i128);
    for k in 0..count {
        std::thread::sleep(period);
        let now = start.elapsed().as_nanos() as i128;
        // The loop has no schedule: a tick is late by how much its sleep overshot the
        // period (the drift below is what those overshoots add up to).
        late.push(now - prev - period.as_nanos() as i128);
        prev = now;
        if k + 50 >= count {
            drift = drift.min(now - (first + k as i128 * period.as_nanos() as i128));
        }
    }
    let mut sorted = late.clone();
    sorted.sort();
    let at = |q: usize| sorted[(count - 1) * q / 100];
    println!(
        "summary ticks={count} period_ns={} min_ns={} median_ns={} p99_ns={} max_ns={} drift_ns={drift}",
        period.as_nanos(),
        at(0),
        at(50),
        at(99),
        at(100)
    );
}
