//! getrandom from `tinyrt::thread`s in a tinyrt program (the `random` example built with
//! `threads,alloc`, `--threads 4`): four threads fill 32-byte buffers at once, and no two of
//! all the buffers are the same (std's `HashSet` over the raw output). Natively, through the
//! vDSO where this kernel's exports getrandom (pyelftools), the state pool's counters
//! (`random-pool-stats`) show calls holding states at the same time and no state ever handed
//! to a caller while another held it; on every architecture under qemu-user (no vDSO
//! getrandom there: the system call) the outputs are distinct too.
#![cfg(target_arch = "x86_64")]

mod common;
use common::{ARCHES, Arch, cross_example};
use std::collections::HashSet;
use std::process::{Command, Output, Stdio};

/// This machine's own build (x86_64, run natively).
const NATIVE: Arch = Arch {
    target: "x86_64-unknown-linux-gnu",
    runner: None,
    ..ARCHES[1]
};

const THREADS: usize = 4;

/// `random CALLS --threads 4` on `arch`, killed after two minutes.
fn run(arch: &Arch, exe: &std::path::Path, calls: usize) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120");
    if let Some(q) = arch.runner {
        c.arg(q);
    }
    let out = c
        .arg(exe)
        .args([&calls.to_string(), "--threads", &THREADS.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(124), "{}: hung", arch.name());
    out
}

/// Checks a run: exit 0, THREADS x `calls` buffers of 32 bytes, all different, the backend
/// line as `backend`; the stderr lines.
fn distinct(out: &Output, arch: &Arch, calls: usize, backend: &str) -> Vec<String> {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let what = arch.name();
    assert!(out.status.success(), "{what}: {:?}: {err}", out.status);
    assert_eq!(out.stdout.len(), THREADS * calls * 32, "{what}: {err}");
    let mut seen = HashSet::with_capacity(THREADS * calls);
    for b in out.stdout.chunks_exact(32) {
        assert!(
            seen.insert(b),
            "{what}: two calls returned the same 32 bytes"
        );
    }
    let lines: Vec<String> = err.lines().map(str::to_owned).collect();
    assert_eq!(
        lines[0],
        format!("random: threads={THREADS} calls={calls} backend={backend}"),
        "{what}"
    );
    lines
}

/// The value of `key=` in `line`.
fn field(line: &str, key: &str) -> usize {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        .parse()
        .unwrap()
}

#[test]
fn natively_threads_never_share_a_state_or_an_output() {
    const CALLS: usize = 100_000;
    let exe = cross_example(
        &NATIVE,
        &["threads", "alloc", "random-pool-stats"],
        "random",
    )
    .unwrap();
    let vdso = common::host_vdso_exports("__vdso_getrandom");
    let backend = if vdso {
        "__vdso_getrandom@LINUX_2.6"
    } else {
        "syscall"
    };
    let lines = distinct(&run(&NATIVE, &exe, CALLS), &NATIVE, CALLS, backend);
    let pool = lines
        .iter()
        .find(|l| l.starts_with("random: pool "))
        .unwrap_or_else(|| panic!("no pool counters: {lines:?}"));
    assert_eq!(
        field(pool, "double_claims"),
        0,
        "a state handed to two callers: {pool}"
    );
    if vdso {
        // Nearly every call through a state, some held at the same time as others.
        assert!(field(pool, "states") >= THREADS, "{pool}");
        assert!(field(pool, "claims") >= THREADS * CALLS * 9 / 10, "{pool}");
        assert!(
            field(pool, "max_held") >= 2,
            "no two calls overlapped: {pool}"
        );
    } else {
        assert_eq!(field(pool, "claims"), 0, "{pool}");
        common::skip(
            "getrandom state pool under tinyrt threads",
            "this kernel's vDSO has no getrandom (Linux < 6.11): only the system call was tested",
        );
    }
}

#[test]
fn every_architecture_threads_get_distinct_bytes() {
    const CALLS: usize = 10_000;
    for arch in ARCHES {
        let Some(exe) = cross_example(&arch, &["threads", "alloc"], "random") else {
            continue;
        };
        // i686 natively: the system call (its vDSO has no getrandom); qemu-user's guest
        // vDSOs have none either.
        distinct(&run(&arch, &exe, CALLS), &arch, CALLS, "syscall");
    }
}
