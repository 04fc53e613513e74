//! What a first call costs: `mono` (one CLOCK_MONOTONIC read through the vDSO, so one first
//! call: bounding the live image, the hashed and versioned lookup) single-stepped with
//! ptrace from exec to exit, empty environment, its instructions outside the vDSO and inside
//! it counted apart (as scripts/report's first-call table does). The vDSO's own count varies
//! between runs: its seqcount read retries when the kernel updates the clock while the
//! single-stepped read is slow, so the total is the fewest of a few runs.
#![cfg(target_arch = "x86_64")]

mod common;
use common::{Build, example};
use std::path::Path;

/// Instructions of tinyrt's start, first call and exit (about 1,183 today).
const OUTSIDE_MAX: usize = 1_300;
/// Everything, the vDSO's clock read included, in the run with the fewest.
const TOTAL_MAX: usize = 1_500;
const RUNS: usize = 5;
/// A run that takes this many steps has gone wrong (a loop): it is killed.
const STEP_LIMIT: usize = 1_000_000;

/// One single-stepped run: (instructions outside the vDSO, inside it).
fn single_step(exe: &Path) -> (usize, usize) {
    // Its stdout (one line) goes to a pipe that lives until the run ends.
    let (pid, _stdout) = common::ptrace::start_traced(exe, &[], None);
    let mut status = 0;
    // The vDSO's mapping at the exec stop (it does not move).
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let (lo, hi) = maps
        .lines()
        .find(|l| l.ends_with("[vdso]"))
        .and_then(|l| l.split_whitespace().next()?.split_once('-'))
        .map(|(a, b)| {
            let hex = |v: &str| u64::from_str_radix(v, 16).unwrap();
            (hex(a), hex(b))
        })
        .unwrap_or_else(|| panic!("no [vdso] mapping:\n{maps}"));
    let (mut outside, mut inside) = (0usize, 0usize);
    loop {
        let rip = common::ptrace::regs(pid).rip;
        // The instruction at rip is the next one to run: count it, then run it.
        if (lo..hi).contains(&rip) {
            inside += 1;
        } else {
            outside += 1;
        }
        assert!(outside + inside < STEP_LIMIT, "{exe:?} ran away");
        // SAFETY: resume our stopped tracee for one instruction, and wait for it.
        unsafe {
            assert_eq!(libc::ptrace(libc::PTRACE_SINGLESTEP, pid, 0, 0), 0);
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        }
        if libc::WIFEXITED(status) {
            assert_eq!(libc::WEXITSTATUS(status), 0, "mono failed");
            break;
        }
        assert!(
            !libc::WIFSIGNALED(status)
                && libc::WIFSTOPPED(status)
                && libc::WSTOPSIG(status) == libc::SIGTRAP,
            "mono stopped or ended by something other than a step: {status:#x}"
        );
    }
    (outside, inside)
}

#[test]
fn mono_from_exec_to_exit_stays_within_its_instruction_budget() {
    let exe = example(Build::Release, "mono");
    let runs: Vec<(usize, usize)> = (0..RUNS).map(|_| single_step(&exe)).collect();
    let (outside, inside) = *runs.iter().min_by_key(|(o, i)| o + i).unwrap();
    println!(
        "mono, exec to exit: {outside} instructions outside the vDSO, {inside} inside it \
         ({} in all, the fewest of {RUNS} runs: {runs:?})",
        outside + inside
    );
    // Not vacuous: the clock was read through the vDSO.
    assert!(
        runs.iter().all(|&(_, i)| i > 0),
        "mono ran nothing in the vDSO: {runs:?}"
    );
    for &(o, _) in &runs {
        assert!(
            o <= OUTSIDE_MAX,
            "mono ran {o} instructions outside the vDSO from exec to exit, more than the \
             {OUTSIDE_MAX} allowed: tinyrt's start, its first call (bounding the vDSO image, \
             the lookup) or its exit grew. Runs (outside, inside): {runs:?}"
        );
    }
    assert!(
        outside + inside <= TOTAL_MAX,
        "mono's fewest instructions from exec to exit in {RUNS} runs, the vDSO included, \
         are {} ({outside} outside the vDSO + {inside} inside), more than the {TOTAL_MAX} \
         allowed. Runs (outside, inside): {runs:?}",
        outside + inside
    );
}
