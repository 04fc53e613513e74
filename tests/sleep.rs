//! The `sleep` example against GNU coreutils' `sleep` (Debian's), side by side: the same
//! exit status, the same messages, the same durations; and what `strace` sees of a sleep.

mod common;
use common::{Build, example, strace};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `program` as `sleep` with `args` in the C locale; its status, stderr and duration.
fn run_as_sleep(program: &str, args: &[&str]) -> (Option<i32>, String, Duration) {
    use std::os::unix::process::CommandExt;
    let start = Instant::now();
    let out = Command::new(program)
        .arg0("sleep")
        .args(args)
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let took = start.elapsed();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        took,
    )
}

fn ours() -> String {
    example(Build::Release, "sleep")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Debian's coreutils `sleep`.
const GNU: &str = "/usr/bin/sleep";

#[test]
fn agrees_with_gnu_sleep_on_status_messages_and_duration() {
    let cases: &[&[&str]] = &[
        // Bad ones.
        &[],
        &["1x"],
        &["-1"],
        &["1ms"],
        &["abc"],
        &["nan"],
        &["NaN(12)"],
        &["1", "2x"],
        &["1x", "y", "0.5"],
        &["."],
        &["1e"],
        &["0x"],
        &["1 "],
        &[""],
        &["0,5"],
        &["--", "-1"],
        &["-"],
        &["--foo"],
        &["0.01", "-x"],
        &["1.5.5"],
        &["inf0"],
        &["--", "-0.01"],
        // Odd good ones.
        &["1e-2"],
        &[".05"],
        &["0.01s"],
        &["0.001m"],
        &["0x1p-7"],
        &["0X.8P-6"],
        &["+.01"],
        &[" 0.02"],
        &["0.01", "0.02", "2e-2"],
        &["--", "-0"],
        &["0", "--"],
        &["00000000000000000000000.01"],
        &["0.0000000001"],
        &["1e-9999"],
        &["0.000001h"],
        &["0.0000001d"],
        &["0"],
    ];
    for args in cases {
        let (gnu_code, gnu_err, gnu_took) = run_as_sleep(GNU, args);
        let (code, err, took) = run_as_sleep(&ours(), args);
        assert_eq!(code, gnu_code, "{args:?}: ours {err:?}, GNU {gnu_err:?}");
        assert_eq!(err, gnu_err, "{args:?}");
        let diff = took.abs_diff(gnu_took);
        assert!(
            diff < Duration::from_millis(25),
            "{args:?}: ours took {took:?}, GNU {gnu_took:?}"
        );
    }
}

#[test]
fn help_version_and_forever() {
    for arg in ["--help", "--he", "--version", "--v"] {
        let out = Command::new(ours()).arg(arg).output().unwrap();
        let gnu = Command::new(GNU).arg(arg).output().unwrap();
        assert_eq!(out.status.code(), gnu.status.code(), "{arg}");
        assert_eq!(out.status.code(), Some(0), "{arg}");
        assert!(!out.stdout.is_empty());
    }
    let help = Command::new(ours()).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("Usage: "));
    // --help wins over a bad operand, a bad option over --help after it.
    assert_eq!(run_as_sleep(&ours(), &["1x", "--help"]).0, Some(0));
    let (code, err, _) = run_as_sleep(&ours(), &["-x", "--help"]);
    assert_eq!(
        (code, err.lines().next()),
        (Some(1), Some("sleep: invalid option -- 'x'"))
    );
    // Infinity, and intervals past what the clock counts, sleep until killed.
    for arg in ["infinity", "inf", "1e30", "0x1p80", "999999999999d"] {
        let mut child = Command::new(ours()).arg(arg).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(child.try_wait().unwrap().is_none(), "{arg} ended early");
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[test]
fn one_sleeping_system_call_on_an_absolute_monotonic_deadline() {
    let (out, log) = strace(&[ours().as_str(), "0.05"], None);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let name = |l: &str| l.split('(').next().unwrap_or("").to_owned();
    let sleeps: Vec<&str> = log.lines().filter(|l| name(l).contains("sleep")).collect();
    assert_eq!(sleeps.len(), 1, "{log}");
    assert!(
        sleeps[0].starts_with("clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {tv_sec="),
        "{log}"
    );
    // The deadline comes from the vDSO's clock: no clock system call, nothing else.
    let calls: Vec<String> = log.lines().map(name).collect();
    assert_eq!(calls, ["execve", "clock_nanosleep", "exit_group"], "{log}");
    // Zero sleeps without a system call.
    let (_, log) = strace(&[ours().as_str(), "0"], None);
    assert_eq!(
        log.lines().map(name).collect::<Vec<_>>(),
        ["execve", "exit_group"],
        "{log}"
    );
}

/// A stopped and continued sleep ends when it would have: the deadline is on MONOTONIC,
/// which counts the stop; a stop past the deadline ends the sleep at the continue. GNU's
/// `sleep` (relative nanosleep, restarted by the kernel) behaves the same.
#[test]
fn sigstop_and_sigcont_change_nothing() {
    for program in [ours(), GNU.to_owned()] {
        for (stop_at, cont_at, expect) in [(50, 150, 300), (50, 450, 450)] {
            let start = Instant::now();
            let mut child = Command::new(&program).arg("0.3").spawn().unwrap();
            let pid = child.id() as i32;
            std::thread::sleep(Duration::from_millis(stop_at));
            // SAFETY: kill has no memory preconditions; pid is our child.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            std::thread::sleep(Duration::from_millis(cont_at - stop_at));
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGCONT) };
            let status = child.wait().unwrap();
            let took = start.elapsed();
            assert!(status.success(), "{program}");
            let expect = Duration::from_millis(expect);
            assert!(
                took >= expect && took < expect + Duration::from_millis(60),
                "{program}: stopped {stop_at}..{cont_at} ms, took {took:?}"
            );
        }
    }
}

#[test]
fn sleep_is_small() {
    let size = std::fs::metadata(example(Build::Size, "sleep"))
        .unwrap()
        .len();
    println!("sleep in size mode: {size} bytes");
    // The goal is 4 KiB; this holds what is reached (see the README's "Sizes").
    assert!(size <= 7_600, "sleep is {size} bytes in size mode");
}
