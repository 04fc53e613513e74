//! Eight threads make the process's first calls at the same moment (library mode): all get
//! correct values and every slot ends resolved to one backend. Its own test binary, so that
//! nothing else makes a first call before the race (the other test here only starts this
//! binary again, under ptrace, without a vDSO getrandom).

mod common;
use std::sync::{Arc, Barrier};
use tinyrt_rt::cpu;
use tinyrt_rt::time::{self, Backend, ClockId, Function};

/// CLOCK_MONOTONIC through glibc, in nanoseconds.
fn glibc_mono() -> i128 {
    common::now::host(libc::CLOCK_MONOTONIC)
}

/// What the race prints where the kernel's vDSO has no getrandom (before Linux 6.11).
const NO_VDSO_GETRANDOM: &str = "getrandom: the system call (this kernel's vDSO has none)";

/// Set in the re-run of the race that `before_linux_6_11_the_race_resolves_getrandom_to_the_system_call` starts.
const CHILD: &str = "TINYRT_TESTS_RACE_NO_VDSO_GETRANDOM";

/// The race on a kernel without the vDSO's getrandom, wherever the tests run: this binary
/// runs it again with the symbol renamed in its vDSO (ptrace). This test calls nothing of
/// tinyrt's here, so the race stays the process's first calls.
#[cfg(target_arch = "x86_64")]
#[test]
fn before_linux_6_11_the_race_resolves_getrandom_to_the_system_call() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let out =
        common::ptrace::rerun_without_vdso_getrandom("eight_threads_race_to_the_first_call", CHILD);
    assert!(out.contains(NO_VDSO_GETRANDOM), "{out}");
}

#[test]
fn eight_threads_race_to_the_first_call() {
    for f in Function::ALL {
        assert_eq!(
            tinyrt_rt::__private_tests::peek(f),
            None,
            "{f:?} resolved before the race"
        );
    }
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let before = glibc_mono();
                barrier.wait();
                // Each thread starts with a different function, so that every resolver
                // races with others on its own slot and on the rest.
                let mut results = Vec::new();
                let n = Function::ALL.len();
                for k in 0..n {
                    match Function::ALL[(i + k) % n] {
                        Function::ClockGettime => {
                            let t = time::clock_gettime(ClockId::MONOTONIC).unwrap().as_nanos();
                            results.push((before, t, glibc_mono()));
                        }
                        Function::ClockGetres => {
                            assert_eq!(time::clock_getres(ClockId::MONOTONIC).unwrap().nsec(), 1);
                        }
                        Function::Gettimeofday => {
                            assert!(time::gettimeofday().unwrap().sec() > 1_700_000_000);
                        }
                        Function::Time => assert!(time::time() > 1_700_000_000),
                        Function::Getcpu => {
                            cpu::getcpu().unwrap();
                        }
                        // Also races to set the state pool up (the losers use the
                        // system call meanwhile).
                        Function::Getrandom => {
                            let mut b = [0u8; 16];
                            tinyrt_rt::random::fill(&mut b).unwrap();
                            assert_ne!(b, [0; 16]);
                        }
                    }
                }
                results
            })
        })
        .collect();
    for t in threads {
        for (before, t, after) in t.join().unwrap() {
            assert!(before <= t && t <= after, "{before} <= {t} <= {after}");
        }
    }
    // Every function resolves to the vDSO, but getrandom where this kernel's vDSO has none
    // (before Linux 6.11: pyelftools on this process's vDSO, read after the race): there
    // the system call, the fallback the race then went through.
    let vdso_getrandom = common::host_vdso_exports("__vdso_getrandom");
    for f in Function::ALL {
        let b = tinyrt_rt::__private_tests::peek(f)
            .unwrap_or_else(|| panic!("{f:?} unresolved after the race"));
        if f == Function::Getrandom && !vdso_getrandom {
            assert_eq!(b, Backend::Syscall, "{f:?}");
            println!("{NO_VDSO_GETRANDOM}");
        } else {
            assert!(matches!(b, Backend::Vdso { .. }), "{f:?}: {b:?}");
        }
        assert_eq!(time::backend(f), b, "{f:?} changed its mind");
    }
}
