//! The `now` example, a real tinyrt process: its values are right, the vDSO path makes no
//! clock system calls (strace, seccomp), and without a vDSO (valgrind, a ptrace harness) it
//! reports and uses the system calls, still with the right values. getcpu reads the rseq
//! area where the kernel takes the registration (`[rseq]`); the runs that prove getcpu's
//! dispatch (the vDSO, else the system call) refuse `rseq` with a seccomp filter. An i686
//! `now` whose vDSO is replaced by a linked image exporting `__vdso_clock_getres_time64`
//! (Linux 7.2's) reads clock_getres through it.
#![cfg(target_arch = "x86_64")]

mod common;
use common::now::{VDSO_CLOCKS, check_values, expected_tag, native_rseq, parse, tags};
use common::ptrace::{Tamper, run_traced, run_traced_with};
use common::{Build, example, run, stdout};
use std::process::Command;

/// A seccomp rule that makes `rseq` fail with EPERM: getcpu's dispatch serves.
const REFUSE_RSEQ: (i64, u32) = (libc::SYS_rseq, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32);

/// A seccomp program of REFUSE_RSEQ alone, for the ptrace harness.
fn refusing_rseq() -> Vec<libc::sock_filter> {
    common::seccomp_program(common::AUDIT_ARCH_X86_64, &[REFUSE_RSEQ])
}

#[test]
fn now_uses_the_vdso_for_every_function_with_correct_values() {
    let exe = example(Build::Release, "now");
    let m = check_values("plain", || stdout(&run(&exe, &[] as &[&str])));
    for (key, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(key, &[], native_rseq()), "{key}");
    }
    // Not vacuous: most lines are vDSO reads (getcpu one of the rseq area where it serves).
    assert!(
        tags(&m).iter().filter(|t| *t == "[vdso]").count() >= 16,
        "{m:?}"
    );
    assert!(
        tags(&m)
            .iter()
            .filter(|t| *t == "[vdso]" || *t == "[rseq]")
            .count()
            >= 17,
        "{m:?}"
    );
}

#[test]
fn with_rseq_refused_getcpu_uses_the_vdso() {
    let exe = example(Build::Release, "now");
    let mut cmd = Command::new(&exe);
    cmd.stdin(std::process::Stdio::null());
    common::with_seccomp(&mut cmd, refusing_rseq());
    let m = check_values("rseq refused", || {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        stdout(&out)
    });
    for (key, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(key, &[], false), "{key}");
    }
    assert_eq!(m["getcpu"].1, "[vdso]");
    assert!(
        tags(&m).iter().filter(|t| *t == "[vdso]").count() >= 17,
        "{m:?}"
    );
}

#[test]
fn strace_sees_no_clock_syscalls_for_clocks_the_vdso_serves() {
    let exe = example(Build::Release, "now");
    let filter = "trace=clock_gettime,clock_getres,gettimeofday,time,getcpu,rseq";
    let (out, text) = common::strace(&[&exe], Some(filter));
    assert!(out.status.success());
    // getcpu costs one rseq call (the registration), taken.
    let rseq: Vec<&str> = text.lines().filter(|l| l.starts_with("rseq(")).collect();
    assert_eq!(rseq.len(), 1, "{text}");
    assert!(rseq[0].ends_with("= 0"), "{text}");
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
/// any of KILL (and applies the `extra` rules first); returns (wait status, stdout).
fn run_under_seccomp(exe: &std::path::Path, args: &[&str], extra: &[(i64, u32)]) -> (i32, String) {
    use std::os::unix::process::ExitStatusExt;
    let mut kill: Vec<(i64, u32)> = extra.to_vec();
    kill.extend(KILL.iter().map(|&nr| (nr, libc::SECCOMP_RET_KILL_PROCESS)));
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
    // With rseq refused, getcpu goes through the vDSO too: every line a vDSO read.
    let (status, text) = run_under_seccomp(&exe, &args, &[REFUSE_RSEQ]);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}: {text}"
    );
    let m = parse(&text);
    assert_eq!(m.len(), 2 * VDSO_CLOCKS.len() + 3, "{text}");
    assert!(tags(&m).iter().all(|t| t == "[vdso]"), "{text}");
    // With rseq allowed, getcpu reads the rseq area (natively): still no getcpu call.
    let (status, text) = run_under_seccomp(&exe, &args, &[]);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}: {text}"
    );
    let m = parse(&text);
    assert_eq!(m.len(), 2 * VDSO_CLOCKS.len() + 3, "{text}");
    for (key, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(key, &[], native_rseq()), "{key}: {text}");
    }
    // The control: a clock the vDSO passes to the kernel dies by SIGSYS under the filter.
    let (status, _) = run_under_seccomp(&exe, &["PROCESS_CPUTIME_ID"], &[]);
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
    // valgrind (3.19) has no vDSO for its guest and does not implement rseq (the guest's
    // call fails with ENOSYS, never reaching the kernel): getcpu too is a system call.
    assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");
    // strace sees the program's own clock_getres calls (valgrind passes them through).
    assert!(text.contains("clock_getres(CLOCK_TAI"), "{text}");
}

/// `now`'s system calls without a vDSO: each of the 11 clocks read and its resolution, one
/// gettimeofday, one time, one rseq registration, and `getcpu` calls of getcpu.
fn no_vdso_calls(c: &std::collections::HashMap<i64, usize>, getcpu: usize) {
    common::ptrace::assert_counts(
        c,
        &[
            ("clock_gettime", libc::SYS_clock_gettime, 11),
            ("clock_getres", libc::SYS_clock_getres, 11),
            ("gettimeofday", libc::SYS_gettimeofday, 1),
            ("time", libc::SYS_time, 1),
            ("getcpu", libc::SYS_getcpu, getcpu),
            ("rseq", libc::SYS_rseq, 1),
        ],
    );
}

#[test]
fn ptrace_harness_without_vdso_counts_the_syscalls() {
    let exe = example(Build::Release, "now");
    // rseq refused: every function, getcpu too, by system call.
    let mut counts = None;
    let m = check_values("ptrace, no vDSO, rseq refused", || {
        let t = run_traced_with(&exe, &[], Tamper::HideVdso, Some(refusing_rseq()));
        assert_eq!(t.code, 0);
        counts = Some(t.syscalls.clone());
        t.stdout
    });
    assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");
    no_vdso_calls(&counts.unwrap(), 1);

    // rseq allowed: the area needs no vDSO, and getcpu makes no getcpu call.
    let mut counts = None;
    let m = check_values("ptrace, no vDSO", || {
        let t = run_traced(&exe, &[], Tamper::HideVdso);
        assert_eq!(t.code, 0);
        counts = Some(t.syscalls.clone());
        t.stdout
    });
    let rseq = native_rseq();
    for (key, (_, tag)) in &m {
        assert_eq!(tag, common::now::no_vdso_tag(key, rseq), "{key}: {m:?}");
    }
    no_vdso_calls(&counts.unwrap(), usize::from(!rseq));
}

#[test]
fn ptrace_harness_with_the_vdso_counts_no_syscalls_for_vdso_functions() {
    let exe = example(Build::Release, "now");
    let t = run_traced(&exe, &[], Tamper::None);
    assert_eq!(t.code, 0);
    for (key, (_, tag)) in &parse(&t.stdout) {
        assert_eq!(tag, expected_tag(key, &[], native_rseq()), "{key}");
    }
    assert_eq!(t.count(libc::SYS_gettimeofday), 0);
    assert_eq!(t.count(libc::SYS_time), 0);
    assert_eq!(t.count(libc::SYS_getcpu), 0);
    assert_eq!(t.count(libc::SYS_rseq), 1, "{:?}", t.syscalls);
    // Exactly the four clocks the vDSO cannot read (two CPU-time, two alarm) reach the
    // kernel, for both the value and the resolution.
    assert_eq!(t.count(libc::SYS_clock_gettime), 4, "{:?}", t.syscalls);
    assert_eq!(t.count(libc::SYS_clock_getres), 4, "{:?}", t.syscalls);
}

#[test]
fn a_symbol_missing_from_the_vdso_falls_back_alone() {
    let exe = example(Build::Release, "now");
    // rseq refused, so that getcpu goes through the dispatch, which finds no vDSO getcpu.
    let t = run_traced_with(
        &exe,
        &[],
        Tamper::RenameInVdso(b"__vdso_getcpu", b"__vdso_getcpX"),
        Some(refusing_rseq()),
    );
    assert_eq!(t.code, 0);
    let m = parse(&t.stdout);
    for (k, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(k, &["getcpu"], false), "{k}");
    }
    assert_eq!(t.count(libc::SYS_getcpu), 1);
    assert_eq!(t.count(libc::SYS_gettimeofday), 0);
    assert_eq!(t.count(libc::SYS_time), 0);
    assert_eq!(t.count(libc::SYS_rseq), 1, "{:?}", t.syscalls);
    assert!(m["getcpu"].0.starts_with("cpu "));

    // With rseq allowed the area serves getcpu, whatever the vDSO lacks.
    let t = run_traced(
        &exe,
        &[],
        Tamper::RenameInVdso(b"__vdso_getcpu", b"__vdso_getcpX"),
    );
    assert_eq!(t.code, 0);
    let m = parse(&t.stdout);
    let rseq = native_rseq();
    let syscall: &[&str] = if rseq { &[] } else { &["getcpu"] };
    for (k, (_, tag)) in &m {
        assert_eq!(tag, expected_tag(k, syscall, rseq), "{k}");
    }
    assert_eq!(t.count(libc::SYS_getcpu), usize::from(!rseq));
    assert_eq!(t.count(libc::SYS_rseq), 1, "{:?}", t.syscalls);
    assert!(m["getcpu"].0.starts_with("cpu "));
}

/// Links tests/images/getres64.s into an i386 vDSO-shaped image (one PT_LOAD, both hash
/// tables) whose symbol carries the version of `script`.
fn getres64_image(script: &str) -> std::path::PathBuf {
    let src = common::root().join("tests/images");
    let out = common::root().join("target/tinyrt-tests/images");
    std::fs::create_dir_all(&out).unwrap();
    let obj = out.join(format!("getres64-{script}.o"));
    let so = out.join(format!("getres64-{script}.so"));
    for c in [
        Command::new("as")
            .args(["--32", "-o"])
            .arg(&obj)
            .arg(src.join("getres64.s")),
        Command::new("ld")
            .args(["-m", "elf_i386", "-shared", "-soname", "linux-vdso.so.1"])
            .args(["--hash-style=both", "-N", "--version-script"])
            .arg(src.join(format!("{script}.lds")))
            .arg("-o")
            .arg(&so)
            .arg(&obj),
    ] {
        let o = c.output().expect("binutils (scripts/test installs them)");
        assert!(o.status.success(), "{c:?}: {o:?}");
    }
    so
}

/// Linux 7.2's i386 vDSO exports `__vdso_clock_getres_time64`: the dispatch takes it for
/// `clock_getres` where it is exported with the architecture's version (LINUX_2.6), and
/// the system call serves where it is not. The i686 `now` runs natively (IA32 emulation)
/// under the ptrace harness with its vDSO replaced by a linked image whose function answers
/// a resolution of 4242 ns that no kernel gives; AT_SYSINFO is hidden, so the program enters
/// the kernel by `int $0x80` and every call is counted.
#[test]
fn a_vdso_clock_getres_time64_serves_clock_getres_on_i386() {
    let i686 = common::ARCHES.iter().find(|a| a.runner.is_none()).unwrap();
    let Some(dir) = common::cross_examples(i686) else {
        return;
    };
    let now = dir.join("now");
    // i386's clock_getres_time64 and clock_gettime64 (arch/x86/entry/syscalls/syscall_32.tbl).
    const GETRES64: i64 = 406;
    const GETTIME64: i64 = 403;
    let clocks = ["-v", "REALTIME", "MONOTONIC", "BOOTTIME"];
    // `now` over the linked image: its `# clock_getres` line starts with `tag`, and every
    // clock's resolution line is `want` (value, backend).
    let run = |image: &str, tag: &str, want: (&str, &str)| {
        let t = run_traced(&now, &clocks, Tamper::ReplaceVdso(getres64_image(image)));
        assert_eq!(t.code, 0, "{}", t.stdout);
        assert!(t.stdout.lines().any(|l| l.starts_with(tag)), "{}", t.stdout);
        let m = parse(&t.stdout);
        for clock in &clocks[1..] {
            let got = &m[&format!("clock_getres {clock}")];
            assert_eq!((got.0.as_str(), got.1.as_str()), want, "{}", t.stdout);
        }
        (t, m)
    };
    let tag = "# clock_getres: vdso __vdso_clock_getres_time64@LINUX_2.6 at 0x";
    let (t, m) = run("getres64", tag, ("0.000004242", "[vdso]"));
    for clock in &clocks[1..] {
        // The image has no clock_gettime64: the system call serves.
        assert_eq!(m[&format!("clock_gettime {clock}")].1, "[syscall]");
    }
    assert_eq!(t.count(GETRES64), 0, "{:?}", t.syscalls);
    assert_eq!(t.count(GETTIME64), 3, "{:?}", t.syscalls);

    // The symbol under another version (LINUX_2.5): not taken; the system call answers the
    // kernel's resolution.
    let tag = "# clock_getres: syscall (not served by __vdso_clock_getres_time64)";
    let (t, _) = run("getres64-old", tag, ("0.000000001", "[syscall]"));
    assert_eq!(t.count(GETRES64), 3, "{:?}", t.syscalls);
}
