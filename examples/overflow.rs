//! `overflow CHECK`: how a tinyrt program ends, against std's (`tests/signals.rs`). Built with
//! `tinyrt::main!(main, stack_overflow_message)`.
//!
//! CHECK is one of:
//! - `recurse`: overflows the main stack: std's two lines on stderr, then SIGABRT.
//! - `null`: writes through a null pointer: SIGSEGV, reported as nothing else.
//! - `kill`: sends itself SIGSEGV: SIGSEGV.
//! - `abort`: `process::abort()`: SIGABRT.
//! - `abort-caught`: the same with a SIGABRT handler that returns (it prints `caught`):
//!   SIGABRT all the same.
//! - `abort-ignored`, `abort-blocked`: the same with SIGABRT ignored, or blocked.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};
use tinyrt::signal::{self, Action, Handler, SigSet, Signal};
use tinyrt::{eprintln, process};

tinyrt::main!(main, stack_overflow_message);

static DEPTH: AtomicUsize = AtomicUsize::new(0);

/// Recurses until the stack runs out: it is meant never to return.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let frame = core::hint::black_box([n; 64]);
    DEPTH.store(n, Ordering::Relaxed);
    recurse(n + 1).wrapping_add(frame[n % 64])
}

extern "C" fn caught(_sig: i32) {
    let _ = tinyrt::io::write_all(tinyrt::io::STDOUT, b"caught\n");
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let Some(what) = args.nth(1) else {
        eprintln!(
            "usage: overflow recurse|null|kill|abort|abort-caught|abort-ignored|abort-blocked"
        );
        return 2;
    };
    match what.to_bytes() {
        b"recurse" => return recurse(0) as i32,
        b"null" => {
            let p = core::hint::black_box(core::ptr::null_mut::<usize>());
            // SAFETY: not sound, on purpose: the write must fault (page 0 is never mapped), and
            // nothing of this program runs after it.
            #[allow(unsafe_code)]
            unsafe {
                p.write_volatile(1)
            };
        }
        b"kill" => {
            let _ = signal::raise(Signal::SEGV);
        }
        b"abort" => process::abort(),
        b"abort-caught" => {
            // SAFETY: the handler only writes.
            #[allow(unsafe_code)]
            let _ =
                unsafe { signal::set_action(Signal::ABRT, &Action::new(Handler::Plain(caught))) };
            process::abort()
        }
        b"abort-ignored" => {
            let _ = signal::ignore(Signal::ABRT);
            process::abort()
        }
        b"abort-blocked" => {
            let _ = signal::block(SigSet::EMPTY.with(Signal::ABRT));
            process::abort()
        }
        _ => {
            eprintln!("overflow: unknown check");
            return 2;
        }
    }
    eprintln!(
        "overflow: {} did not end the program",
        what.to_str().unwrap_or("?")
    );
    1
}
