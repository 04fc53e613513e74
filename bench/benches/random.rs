//! getrandom through tinyrt (library mode: the vDSO with its state pool where the kernel
//! offers it, and the forced system call) beside glibc's `getrandom` (the `libc` crate;
//! glibc uses the vDSO from 2.41, the system call before). 16-byte, 64-byte and 4 KiB
//! reads. `scripts/report` turns the medians into the README's getrandom table.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tinyrt_bench::iter;
use tinyrt_rt::random::{self, Flags};

fn getrandom(c: &mut Criterion) {
    let mut buf = vec![0u8; 4096];
    // Set the pool up outside the measurements.
    random::fill(&mut buf).unwrap();
    for n in [16usize, 64, 4096] {
        let mut g = c.benchmark_group(format!("getrandom_{n}"));
        g.throughput(criterion::Throughput::Bytes(n as u64));
        g.bench_function("tinyrt", |b| {
            iter(b, || {
                random::getrandom(black_box(&mut buf[..n]), Flags::NONE)
            })
        });
        g.bench_function("tinyrt_syscall", |b| {
            iter(b, || {
                random::syscall::getrandom(black_box(&mut buf[..n]), Flags::NONE)
            })
        });
        g.bench_function("glibc", |b| {
            iter(b, || {
                let p = black_box(&mut buf[..n]);
                // SAFETY: writes at most n bytes into our buffer.
                unsafe { libc::getrandom(p.as_mut_ptr().cast(), n, 0) }
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = tinyrt_bench::config();
    targets = getrandom
}
criterion_main!(benches);
