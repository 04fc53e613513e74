//! The getrandom state pool under contention, in library mode: 8 threads x 100,000 calls.
//! No two calls may return the same 32 bytes, and the pool's counters (crate feature
//! `random-pool-stats`, one flag per state kept apart from the pool's own bitmap) must show
//! that no state was ever handed to a caller while another held it, while calls did hold
//! states at the same time. Its own test binary: the counters are process-wide.

mod common;
use std::collections::HashSet;
use tinyrt_rt::random;
use tinyrt_rt::time::Backend;

#[test]
fn eight_threads_never_share_a_state_or_an_output() {
    const THREADS: usize = 8;
    const CALLS: usize = 100_000;
    // Whether this kernel's vDSO has getrandom (Linux 6.11+), by pyelftools; where it has,
    // tinyrt uses it.
    let vdso = common::host_vdso_exports("__vdso_getrandom");
    let backend = random::backend();
    assert_eq!(matches!(backend, Backend::Vdso { .. }), vdso, "{backend:?}");
    let outputs: Vec<Vec<[u8; 32]>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let mut v = Vec::with_capacity(CALLS);
                    for _ in 0..CALLS {
                        let mut b = [0u8; 32];
                        random::fill(&mut b).unwrap();
                        v.push(b);
                    }
                    v
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = HashSet::with_capacity(THREADS * CALLS);
    for b in outputs.iter().flatten() {
        assert!(seen.insert(*b), "two calls returned the same 32 bytes");
    }
    let st = random::pool_stats();
    println!("{st:?}");
    assert_eq!(
        st.double_claims, 0,
        "a state was handed to two callers: {st:?}"
    );
    if vdso {
        // Nearly every call through a state; some held at the same time as others.
        assert!(st.states >= THREADS, "{st:?}");
        assert!(st.claims >= THREADS * CALLS * 9 / 10, "{st:?}");
        assert!(st.max_held >= 2, "no two calls overlapped: {st:?}");
    } else {
        // The system call served every call (no state claimed), and the outputs above were
        // still distinct; the pool itself cannot be tested without the vDSO's getrandom.
        assert_eq!((st.states, st.claims), (0, 0), "{st:?}");
        common::skip(
            "getrandom state pool under contention",
            "this kernel's vDSO has no getrandom (Linux < 6.11): only the system call was tested",
        );
    }
}
