//! Prints CLOCK_MONOTONIC once, read through the vDSO, as `SECONDS.NANOSECONDS`: the
//! smallest program that uses tinyrt's clock path (validating the vDSO image, GNU-hash and
//! versioned lookup, the cached dispatch). Its own code makes the digits by hand; the
//! binary still carries `core::fmt` through the panic paths of the vDSO parser (bounds
//! checks), which is why it is far from issue 6's 1,536-byte budget (see the README).
#![no_std]
#![no_main]

use tinyrt::io::{STDOUT, write_all};
use tinyrt::time::{ClockId, clock_gettime};

tinyrt::main!(main);

/// Writes `v` in decimal ending at `end` (exclusive), zero-padded to `width`; returns the start.
fn digits(buf: &mut [u8], mut end: usize, mut v: u64, width: usize) -> usize {
    let stop = end.saturating_sub(width);
    loop {
        end -= 1;
        buf[end] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 && end <= stop {
            return end;
        }
    }
}

fn main() -> i32 {
    let Ok(ts) = clock_gettime(ClockId::MONOTONIC) else {
        return 1;
    };
    let mut buf = [0u8; 32];
    buf[31] = b'\n';
    let start = digits(&mut buf, 31, u64::from(ts.nsec), 9);
    buf[start - 1] = b'.';
    let start = digits(&mut buf, start - 1, ts.sec as u64, 1);
    match write_all(STDOUT, &buf[start..]) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
