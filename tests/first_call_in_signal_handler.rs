//! The process's very first clock read happens inside a signal handler (library mode, so it
//! also reads the auxiliary vector there): it works and resolves to the vDSO. Its own test
//! binary, so that nothing else calls first.

mod common;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use tinyrt_rt::time::{self, Backend, ClockId, Function};

static NANOS: AtomicI64 = AtomicI64::new(0);
static BACKEND: AtomicU8 = AtomicU8::new(0);

extern "C" fn handler(_: libc::c_int) {
    // Only tinyrt calls and atomics here: async-signal-safe by design.
    let t = time::clock_gettime(ClockId::MONOTONIC).map_or(-1, |t| t.as_nanos() as i64);
    NANOS.store(t, Ordering::SeqCst);
    let b = match tinyrt_rt::__private_tests::peek(Function::ClockGettime) {
        Some(Backend::Vdso { .. }) => 1,
        Some(Backend::Syscall) => 2,
        None => 3,
    };
    BACKEND.store(b, Ordering::SeqCst);
}

/// CLOCK_MONOTONIC through glibc, in nanoseconds.
fn glibc_mono() -> i128 {
    common::now::host(libc::CLOCK_MONOTONIC)
}

#[test]
fn first_call_from_a_signal_handler() {
    assert_eq!(
        tinyrt_rt::__private_tests::peek(Function::ClockGettime),
        None
    );
    // SAFETY: a plain handler for SIGUSR1, installed before the signal is raised.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as extern "C" fn(libc::c_int) as usize;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let before = glibc_mono();
    // SAFETY: raise delivers to this thread before returning.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
    let after = glibc_mono();
    let t = i128::from(NANOS.load(Ordering::SeqCst));
    assert!(before <= t && t <= after, "{before} <= {t} <= {after}");
    assert_eq!(
        BACKEND.load(Ordering::SeqCst),
        1,
        "resolved to the vDSO inside the handler"
    );
}
