//! Prints N random bytes (default 32) as hex on stdout, and on stderr which backend served
//! them (the vDSO symbol, or `syscall`):
//!
//! ```text
//! $ random 16
//! 3f9c0a5e71d2b4880c6e1f29a7d35b40
//! random: bytes=16 calls=1 backend=__vdso_getrandom@LINUX_2.6
//! ```
//!
//! Options: `--raw` writes the bytes themselves instead of hex; `--chunk C` asks for at
//! most C bytes per call (default 4096); `--syscall` bypasses the vDSO; `--flags F` passes
//! `nonblock`, `insecure` or `random` (comma-separated) to every call; `--seed` prints the
//! 16 bytes of AT_RANDOM (the kernel's free seed, placed on the stack at exec) instead. A
//! failed call prints its error and exits 1; bad arguments exit 2.
//!
//! Built with the `threads` and `alloc` features, `--threads T` runs T threads at once, each
//! filling N buffers of 32 bytes with `random::fill` (N is the count), and writes all of them
//! raw to stdout; built with `random-pool-stats` too, a second stderr line gives the state
//! pool's counters (`random: pool states=.. claims=.. double_claims=.. max_held=.. busy=..
//! syscalls=..`).
#![no_std]
#![no_main]

use tinyrt::io::{STDOUT, write_all};
use tinyrt::random::{self, Flags};
use tinyrt::time::Backend;
use tinyrt::{eprintln, errno::Errno};

tinyrt::main!(main);

fn number(a: Option<&core::ffi::CStr>) -> Option<usize> {
    let s = core::str::from_utf8(a?.to_bytes()).ok()?;
    s.parse().ok()
}

fn flags(a: Option<&core::ffi::CStr>) -> Option<Flags> {
    let mut f = Flags::NONE;
    for name in a?.to_bytes().split(|&c| c == b',') {
        f = f | match name {
            b"nonblock" => Flags::NONBLOCK,
            b"insecure" => Flags::INSECURE,
            b"random" => Flags::RANDOM,
            _ => return None,
        };
    }
    Some(f)
}

fn main(args: tinyrt::env::Args) -> i32 {
    let (mut total, mut chunk, mut raw, mut syscall, mut fl) =
        (32, 4096, false, false, Flags::NONE);
    #[cfg(all(feature = "threads", feature = "alloc"))]
    let mut threads = 0;
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        let ok = match a.to_bytes() {
            #[cfg(all(feature = "threads", feature = "alloc"))]
            b"--threads" => number(args.next())
                .filter(|&t| t > 0)
                .map(|t| threads = t)
                .is_some(),
            b"--raw" => {
                raw = true;
                true
            }
            b"--syscall" => {
                syscall = true;
                true
            }
            b"--seed" => {
                let Some(seed) = random::at_random() else {
                    eprintln!("random: no AT_RANDOM");
                    return 1;
                };
                return if emit(seed, false).and_then(|()| emit(&[], false)).is_ok() {
                    0
                } else {
                    1
                };
            }
            b"--chunk" => number(args.next())
                .filter(|&c| c > 0)
                .map(|c| chunk = c)
                .is_some(),
            b"--flags" => flags(args.next()).map(|f| fl = f).is_some(),
            _ => number(Some(a)).map(|n| total = n).is_some(),
        };
        if !ok {
            eprintln!(
                "usage: random [N] [--raw] [--chunk C] [--syscall] [--flags nonblock,insecure,random] | --seed"
            );
            return 2;
        }
    }
    #[cfg(all(feature = "threads", feature = "alloc"))]
    if threads > 0 {
        return threaded::run(threads, total);
    }
    let mut buf = [0u8; 4096];
    let chunk = chunk.min(buf.len());
    let (mut left, mut calls) = (total, 0usize);
    while left > 0 {
        let want = left.min(chunk);
        let part = &mut buf[..want];
        let got = if syscall {
            random::syscall::getrandom(part, fl)
        } else {
            random::getrandom(part, fl)
        };
        calls += 1;
        let n = match got {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                eprintln!("random: getrandom failed: {:?}", e);
                return 1;
            }
        };
        if emit(&buf[..n], raw).is_err() {
            return 1;
        }
        left -= n;
    }
    if !raw && emit(&[], false).is_err() {
        return 1;
    }
    let served = if syscall {
        Backend::Syscall
    } else {
        random::backend()
    };
    let backend = backend_name(served);
    eprintln!(
        "random: bytes={} calls={} backend={}{}{}",
        total,
        calls,
        backend.0,
        if backend.1.is_empty() { "" } else { "@" },
        backend.1
    );
    0
}

/// The symbol and version that serve, or `syscall`.
fn backend_name(served: Backend) -> (&'static str, &'static str) {
    match served {
        Backend::Vdso {
            symbol, version, ..
        } => (symbol, version),
        Backend::Syscall => ("syscall", ""),
    }
}

/// `--threads T`: T threads filling buffers at once.
#[cfg(all(feature = "threads", feature = "alloc"))]
mod threaded {
    extern crate alloc;
    use super::backend_name;
    use alloc::vec::Vec;
    use tinyrt::eprintln;
    use tinyrt::io::{STDOUT, write_all};
    use tinyrt::{random, thread};

    /// `threads` threads x `calls` fills of 32 bytes, all written raw to stdout.
    pub fn run(threads: usize, calls: usize) -> i32 {
        let outputs: Vec<Option<Vec<[u8; 32]>>> = thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(move || {
                        let mut v = Vec::with_capacity(calls);
                        for _ in 0..calls {
                            let mut b = [0u8; 32];
                            if let Err(e) = random::fill(&mut b) {
                                eprintln!("random: fill failed: {:?}", e);
                                return None;
                            }
                            v.push(b);
                        }
                        Some(v)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join()).collect()
        });
        for v in &outputs {
            let Some(v) = v else {
                return 1;
            };
            if write_all(STDOUT, v.as_flattened()).is_err() {
                return 1;
            }
        }
        let backend = backend_name(random::backend());
        eprintln!(
            "random: threads={} calls={} backend={}{}{}",
            threads,
            calls,
            backend.0,
            if backend.1.is_empty() { "" } else { "@" },
            backend.1
        );
        #[cfg(feature = "random-pool-stats")]
        {
            let st = random::pool_stats();
            eprintln!(
                "random: pool states={} claims={} double_claims={} max_held={} busy={} syscalls={}",
                st.states, st.claims, st.double_claims, st.max_held, st.busy, st.syscalls
            );
        }
        0
    }
}

/// Writes `bytes` (as hex unless `raw`); an empty slice in hex mode ends the line.
fn emit(bytes: &[u8], raw: bool) -> Result<(), Errno> {
    if raw {
        return write_all(STDOUT, bytes);
    }
    if bytes.is_empty() {
        return write_all(STDOUT, b"\n");
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 256];
    for piece in bytes.chunks(out.len() / 2) {
        for (i, &b) in piece.iter().enumerate() {
            out[2 * i] = HEX[usize::from(b >> 4)];
            out[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        write_all(STDOUT, &out[..2 * piece.len()])?;
    }
    Ok(())
}
