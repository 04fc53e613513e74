//! A signal handler that calls getrandom while the interrupted code is inside a call (the
//! handler runs on the same thread, between the interrupted call's claim and release of
//! its state): it must get another state. Library mode, its own test binary, so that the
//! pool's counters see only this thread and its handler: the most states held at once can
//! exceed one only by a handler nesting inside a call.

mod common;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use tinyrt_rt::random::{self, Flags};
use tinyrt_rt::time::Backend;

const SLOTS: usize = 100_000;
const CALLS: usize = 100_000;
/// The handler's outputs (32 bytes as four words each), written without allocating.
static OUT: [[AtomicU64; 4]; SLOTS] = [const { [const { AtomicU64::new(0) }; 4] }; SLOTS];
static TAKEN: AtomicUsize = AtomicUsize::new(0);

extern "C" fn handler(_: libc::c_int) {
    let mut b = [0u8; 32];
    if random::getrandom(&mut b, Flags::NONE) != Ok(32) {
        return;
    }
    let i = TAKEN.fetch_add(1, Ordering::Relaxed);
    if let Some(slot) = OUT.get(i) {
        for (w, chunk) in slot.iter().zip(b.chunks_exact(8)) {
            w.store(
                u64::from_ne_bytes(chunk.try_into().unwrap()),
                Ordering::Relaxed,
            );
        }
    }
}

#[test]
fn a_handler_interrupting_a_call_gets_its_own_state() {
    // Whether this kernel's vDSO has getrandom, by pyelftools; where it has, tinyrt uses it.
    let vdso = common::host_vdso_exports("__vdso_getrandom");
    let backend = random::backend();
    assert_eq!(matches!(backend, Backend::Vdso { .. }), vdso, "{backend:?}");
    if !vdso {
        // Without the vDSO's getrandom there are no states for a handler to share.
        common::skip(
            "getrandom from a signal handler inside a call",
            "this kernel's vDSO has no getrandom (Linux < 6.11)",
        );
        return;
    }
    // SAFETY: installs a handler that only uses async-signal-safe code (atomics, the vDSO,
    // system calls); SA_RESTART so that the main loop's calls are not cut short.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = handler as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    // SAFETY: pthread_self has no preconditions.
    let me = unsafe { libc::pthread_self() };
    let stop = AtomicBool::new(false);
    let mut mine = Vec::with_capacity(CALLS);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: signals a live thread of this process (joined before it ends).
                unsafe { libc::pthread_kill(me, libc::SIGUSR1) };
                for _ in 0..100 {
                    std::hint::spin_loop();
                }
            }
        });
        // At least CALLS calls, and on until enough signals have arrived: on a loaded
        // machine the signalling thread may get little time (at most a minute).
        let started = std::time::Instant::now();
        while mine.len() < CALLS
            || (TAKEN.load(Ordering::Relaxed) < 2000 && started.elapsed().as_secs() < 60)
        {
            let mut b = [0u8; 32];
            random::fill(&mut b).unwrap();
            mine.push(b);
        }
        stop.store(true, Ordering::Relaxed);
    });
    let handled = TAKEN.load(Ordering::Relaxed).min(SLOTS);
    let mine_len = mine.len();
    let mut seen: HashSet<[u8; 32]> = mine.into_iter().collect();
    let n = mine_len;
    assert_eq!(seen.len(), n, "two calls returned the same bytes");
    for slot in OUT.iter().take(handled) {
        let mut b = [0u8; 32];
        for (w, chunk) in slot.iter().zip(b.chunks_exact_mut(8)) {
            chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
        }
        assert!(seen.insert(b), "a handler's bytes repeat another call's");
    }
    let st = random::pool_stats();
    println!("handler calls: {handled}; {st:?}");
    assert!(handled > 1000, "too few signals arrived: {handled}");
    assert_eq!(st.double_claims, 0, "{st:?}");
    // Only a handler nesting inside a call can hold a second state at once here.
    assert!(
        st.max_held >= 2,
        "no handler ever interrupted a call: {st:?}"
    );
}
