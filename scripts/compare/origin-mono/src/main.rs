//! The origin + rustix version of tinyrt's examples/mono.rs: prints CLOCK_MONOTONIC once,
//! read through rustix's vDSO path, as `SECONDS.NANOSECONDS`. The digit loop is copied
//! from mono.rs, so the two programs differ only in the runtime.
#![no_std]
#![no_main]

extern crate origin;

use rustix::stdio::stdout;
use rustix::time::{ClockId, clock_gettime};

/// Called by origin's `_start` (via `origin::program::entry`) after `rustix::param::init`.
#[unsafe(no_mangle)]
unsafe fn origin_main(_argc: usize, _argv: *mut *mut u8, _envp: *mut *mut u8) -> i32 {
    let ts = clock_gettime(ClockId::Monotonic);
    // Right to left: nine digits of nanoseconds, the dot, then the seconds. Through
    // `get_mut`: no index that could panic, so no panic code in the binary.
    let mut buf = [b'\n'; 32];
    let (mut end, mut v, mut n) = (31, ts.tv_nsec as u64, 0);
    while end > 0 {
        end -= 1;
        let c = if n == 9 {
            v = ts.tv_sec as u64;
            b'.'
        } else {
            let d = (v % 10) as u8;
            v /= 10;
            b'0' + d
        };
        if let Some(b) = buf.get_mut(end) {
            *b = c;
        }
        n += 1;
        if n > 10 && v == 0 {
            break;
        }
    }
    // SAFETY: origin took over the process at `_start`; file descriptor 1 is open for the
    // whole program (or the write fails with EBADF, which the match reports).
    let out = unsafe { stdout() };
    match write_all(out, buf.get(end..).unwrap_or_default()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// As tinyrt's `write_all`: one `write` for this short buffer, repeated only after a short
/// write or EINTR.
fn write_all(fd: rustix::fd::BorrowedFd<'_>, mut bytes: &[u8]) -> rustix::io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(rustix::io::Errno::IO),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
