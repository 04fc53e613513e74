//! What a first call costs: `mono` (one CLOCK_MONOTONIC read through the vDSO, so one first
//! call: bounding the live image, the hashed and versioned lookup) single-stepped with
//! ptrace from exec to exit, empty environment, its instructions outside the vDSO and inside
//! it counted apart (as scripts/report's first-call table does). The vDSO's own count varies
//! between runs: its seqcount read retries when the kernel updates the clock while the
//! single-stepped read is slow, so the total is the fewest of a few runs.
#![cfg(target_arch = "x86_64")]

mod common;
use common::{Build, example};
use std::ffi::CString;
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
    let path = CString::new(exe.to_str().unwrap()).unwrap();
    let devnull = CString::new("/dev/null").unwrap();
    let argv: [*const libc::c_char; 2] = [path.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: the child calls only async-signal-safe functions on memory prepared before
    // the fork.
    let pid = unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let fd = libc::open(devnull.as_ptr(), libc::O_WRONLY);
            libc::dup2(fd, 1);
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
        pid
    };
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { assert_eq!(libc::waitpid(pid, &mut status, 0), pid) };
    assert!(
        libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
        "no stop at exec: {status:#x}"
    );
    // SAFETY: an option for our stopped tracee: it dies with us if the test panics.
    unsafe {
        let opts = libc::PTRACE_O_EXITKILL as usize as *mut libc::c_void;
        assert_eq!(libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts), 0);
    }
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
        // SAFETY: GETREGS fills the struct we own from the stopped tracee.
        let rip = unsafe {
            let mut r: libc::user_regs_struct = std::mem::zeroed();
            let rc = libc::ptrace(
                libc::PTRACE_GETREGS,
                pid,
                0,
                &mut r as *mut _ as *mut libc::c_void,
            );
            assert_eq!(rc, 0, "GETREGS");
            r.rip
        };
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
