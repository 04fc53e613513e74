//! The `now` example, a real tinyrt process: its values are right, the vDSO path makes no
//! clock system calls (strace, seccomp), and without a vDSO (valgrind, a ptrace harness) it
//! reports and uses the system calls, still with the right values.
#![cfg(target_arch = "x86_64")]

mod common;
use common::now::{VDSO_CLOCKS, check_values, expected_tag, parse, tags};
use common::ptrace::{Tamper, run_traced};
use common::{Build, example, run, stdout};
use std::process::Command;

#[test]
fn now_uses_the_vdso_for_every_function_with_correct_values() {
    let exe = example(Build::Release, "now");
    let m = check_values("plain", || stdout(&run(&exe, &[] as &[&str])));
    for (key, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(key, &[]), "{key}");
    }
    // Not vacuous: most lines are vDSO reads.
    assert!(
        tags(&m).iter().filter(|t| *t == "[vdso]").count() >= 17,
        "{m:?}"
    );
}

#[test]
fn strace_sees_no_clock_syscalls_for_clocks_the_vdso_serves() {
    let exe = example(Build::Release, "now");
    let filter = "trace=clock_gettime,clock_getres,gettimeofday,time,getcpu";
    let (out, text) = common::strace(&[&exe], Some(filter));
    assert!(out.status.success());
    for line in text.lines() {
        assert!(
            !line.contains("gettimeofday(") && !line.contains("time(") || line.contains("clock_"),
            "{line}"
        );
        assert!(!line.contains("getcpu("), "{line}");
        for c in VDSO_CLOCKS {
            assert!(!line.contains(&format!("(CLOCK_{c},")), "{line}");
        }
    }
    // The check above is not vacuous: the clocks the vDSO cannot serve (CPU time, alarm
    // clocks) do reach the kernel, and strace shows them.
    assert!(
        text.contains("clock_gettime(CLOCK_PROCESS_CPUTIME_ID"),
        "{text}"
    );
    assert!(parse(&stdout(&out)).len() == 25);
}

/// The system calls a seccomp filter kills the process on.
const KILL: [i64; 5] = [
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_time,
    libc::SYS_getcpu,
];

/// Runs `exe args` (empty environment) under a seccomp filter that kills the process on
/// any of KILL; returns (wait status, stdout).
fn run_under_seccomp(exe: &std::path::Path, args: &[&str]) -> (i32, String) {
    use std::os::unix::process::ExitStatusExt;
    let kill: Vec<(i64, u32)> = KILL
        .iter()
        .map(|&nr| (nr, libc::SECCOMP_RET_KILL_PROCESS))
        .collect();
    let mut cmd = Command::new(exe);
    cmd.args(args).env_clear();
    common::with_seccomp(
        &mut cmd,
        common::seccomp_program(common::AUDIT_ARCH_X86_64, &kill),
    );
    let out = cmd.output().unwrap();
    (
        out.status.into_raw(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_seccomp_filter_that_kills_on_clock_syscalls_does_not_stop_vdso_reads() {
    let exe = example(Build::Release, "now");
    let mut args: Vec<&str> = VDSO_CLOCKS.to_vec();
    args.extend(["gettimeofday", "time", "getcpu"]);
    let (status, text) = run_under_seccomp(&exe, &args);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}: {text}"
    );
    let m = parse(&text);
    assert_eq!(m.len(), 2 * VDSO_CLOCKS.len() + 3, "{text}");
    assert!(tags(&m).iter().all(|t| t == "[vdso]"));
    // The control: a clock the vDSO passes to the kernel dies by SIGSYS under the filter.
    let (status, _) = run_under_seccomp(&exe, &["PROCESS_CPUTIME_ID"]);
    assert!(
        libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSYS,
        "status {status:#x}"
    );
}

#[test]
fn under_valgrind_there_is_no_vdso_and_the_syscalls_serve() {
    let exe = example(Build::Release, "now");
    let mut text = String::new();
    let m = check_values("valgrind", || {
        let cmd = [
            "valgrind".as_ref(),
            "-q".as_ref(),
            "--error-exitcode=99".as_ref(),
            exe.as_os_str(),
        ];
        let (out, log) = common::strace(&cmd, Some("trace=clock_getres"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text = log;
        stdout(&out)
    });
    assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");
    // strace sees the program's own clock_getres calls (valgrind passes them through).
    assert!(text.contains("clock_getres(CLOCK_TAI"), "{text}");
}

#[test]
fn ptrace_harness_without_vdso_counts_the_syscalls() {
    let exe = example(Build::Release, "now");
    let mut counts = None;
    let m = check_values("ptrace, no vDSO", || {
        let t = run_traced(&exe, &[], Tamper::HideVdso);
        assert_eq!(t.code, 0);
        counts = Some(t.syscalls.clone());
        t.stdout
    });
    assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");
    let c = counts.unwrap();
    let n = |nr: i64| c.get(&nr).copied().unwrap_or(0);
    assert_eq!(n(libc::SYS_clock_gettime), 11, "{c:?}");
    assert_eq!(n(libc::SYS_clock_getres), 11, "{c:?}");
    assert_eq!(n(libc::SYS_gettimeofday), 1, "{c:?}");
    assert_eq!(n(libc::SYS_time), 1, "{c:?}");
    assert_eq!(n(libc::SYS_getcpu), 1, "{c:?}");
}

#[test]
fn ptrace_harness_with_the_vdso_counts_no_syscalls_for_vdso_functions() {
    let exe = example(Build::Release, "now");
    let t = run_traced(&exe, &[], Tamper::None);
    assert_eq!(t.code, 0);
    for (key, (_, tag)) in &parse(&t.stdout) {
        assert_eq!(tag, expected_tag(key, &[]), "{key}");
    }
    assert_eq!(t.count(libc::SYS_gettimeofday), 0);
    assert_eq!(t.count(libc::SYS_time), 0);
    assert_eq!(t.count(libc::SYS_getcpu), 0);
    // Exactly the four clocks the vDSO cannot read (two CPU-time, two alarm) reach the
    // kernel, for both the value and the resolution.
    assert_eq!(t.count(libc::SYS_clock_gettime), 4, "{:?}", t.syscalls);
    assert_eq!(t.count(libc::SYS_clock_getres), 4, "{:?}", t.syscalls);
}

#[test]
fn a_symbol_missing_from_the_vdso_falls_back_alone() {
    let exe = example(Build::Release, "now");
    let t = run_traced(
        &exe,
        &[],
        Tamper::RenameInVdso(b"__vdso_getcpu", b"__vdso_getcpX"),
    );
    assert_eq!(t.code, 0);
    let m = parse(&t.stdout);
    for (k, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(k, &["getcpu"]), "{k}");
    }
    assert_eq!(t.count(libc::SYS_getcpu), 1);
    assert_eq!(t.count(libc::SYS_gettimeofday), 0);
    assert_eq!(t.count(libc::SYS_time), 0);
    assert!(m["getcpu"].0.starts_with("cpu "));
}
