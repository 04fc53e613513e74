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
        &["--", "--"],
        &["-"],
        &["--foo"],
        &["0.01", "-x"],
        &["1.5.5"],
        &["inf0"],
        &["--", "-0.01"],
        // Odd good ones (their durations, in ms, are checked below).
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
        // No operand after `--`: GNU 9.1 sleeps for 0 (only no argument at all is missing).
        &["--"],
        &["00000000000000000000000.01"],
        &["0.0000000001"],
        &["1e-9999"],
        &["0.000001h"],
        &["0.0000001d"],
        &["0"],
    ];
    // What each good list asks for, in microseconds: a sleep never ends before that.
    let asked = |args: &[&str]| -> Option<u64> {
        Some(match args {
            ["1e-2"] | ["0.01s"] | ["+.01"] | ["00000000000000000000000.01"] => 10_000,
            [".05"] => 50_000,
            ["0.001m"] => 60_000,
            ["0x1p-7"] | ["0X.8P-6"] => 7_812,
            [" 0.02"] => 20_000,
            ["0.01", "0.02", "2e-2"] => 50_000,
            ["0.000001h"] => 3_600,
            ["0.0000001d"] => 8_640,
            ["--", "-0"] | ["0", "--"] | ["--"] | ["0.0000000001"] | ["1e-9999"] | ["0"] => 0,
            _ => return None,
        })
    };
    for args in cases {
        let (gnu_code, gnu_err, gnu_took) = run_as_sleep(GNU, args);
        let (code, err, took) = run_as_sleep(&ours(), args);
        assert_eq!(code, gnu_code, "{args:?}: ours {err:?}, GNU {gnu_err:?}");
        assert_eq!(err, gnu_err, "{args:?}");
        assert_eq!(
            asked(args).is_some(),
            code == Some(0),
            "{args:?}: a good list?"
        );
        if let Some(us) = asked(args) {
            let at_least = Duration::from_micros(us);
            assert!(
                took >= at_least,
                "{args:?}: ours took {took:?}, asked {at_least:?}"
            );
            assert!(gnu_took >= at_least, "{args:?}: GNU took {gnu_took:?}");
            // Generous: both are processes started on a loaded machine.
            assert!(
                took.abs_diff(gnu_took) < Duration::from_millis(100),
                "{args:?}: ours took {took:?}, GNU {gnu_took:?}"
            );
        }
    }
}

/// `--help` and `--version` into a full device or a closed standard output: GNU's status 1
/// and `sleep: write error: TEXT`, side by side.
#[test]
fn a_failed_write_is_reported_as_gnu_does() {
    use std::os::unix::process::CommandExt;
    let run = |program: &str, arg: &str, closed: bool| {
        let mut c = Command::new(program);
        c.arg0("sleep").arg(arg).env_clear().env("LC_ALL", "C");
        if closed {
            // SAFETY: close is async-signal-safe; the descriptor is the child's own.
            unsafe {
                c.pre_exec(|| {
                    libc::close(1);
                    Ok(())
                });
            }
        } else {
            c.stdout(std::fs::File::create("/dev/full").unwrap());
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for arg in ["--help", "--version"] {
        for closed in [false, true] {
            let gnu = run(GNU, arg, closed);
            let want = match closed {
                false => "sleep: write error: No space left on device\n",
                true => "sleep: write error: Bad file descriptor\n",
            };
            assert_eq!(gnu, (Some(1), want.to_owned()), "GNU {arg} closed={closed}");
            assert_eq!(run(&ours(), arg, closed), gnu, "{arg} closed={closed}");
        }
    }
}

/// Status and messages of `sleep -- OPERANDS... x`, ours or GNU's, in the C locale: the
/// last operand is invalid, so that neither sleeps whatever the others ask.
fn judged(program: &str, operands: &[Vec<u8>]) -> (Option<i32>, String) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let out = Command::new(program)
        .arg0("sleep")
        .arg("--")
        .args(operands.iter().map(|o| std::ffi::OsStr::from_bytes(o)))
        .arg("x")
        .env_clear()
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every byte but NUL in an operand: GNU's messages quote it as ours do (`\377`, `\t`,
/// `\'`, `\\`, ...).
#[test]
fn every_byte_is_quoted_as_gnu_quotes_it() {
    let bytes: Vec<Vec<u8>> = (1..=255u8).map(|b| vec![b, b'1', b]).collect();
    assert_eq!(judged(&ours(), &bytes), judged(GNU, &bytes));
}

/// An operand made of pieces of numbers, or any bytes.
fn operand() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let pieces: Vec<&[u8]> = vec![
        b"0", b"1", b"9", b"00", b"12", b".", b".5", b"e", b"E", b"e-", b"e+", b"p", b"P", b"0x",
        b"0X", b"a", b"f", b"inf", b"INF", b"inity", b"nan", b"NaN(", b")", b"s", b"m", b"h", b"d",
        b"x", b" ", b"\t", b"+", b"-", b",", b"'", b"\\",
    ];
    let piece = proptest::sample::select(pieces).prop_map(<[u8]>::to_vec);
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..6).prop_map(|p| p.concat()),
        1 => proptest::collection::vec(1u8..=255, 0..6),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 500, failure_persistence: None, ..Default::default()
    })]

    /// Generated operands (numbers, exponents, hexadecimal, `inf`, `nan`, suffixes, blanks,
    /// signs and stray bytes, in any order): the same messages and status as GNU's.
    #[test]
    fn generated_operands_agree_with_gnu(operands in proptest::collection::vec(operand(), 1..4)) {
        proptest::prop_assert_eq!(judged(&ours(), &operands), judged(GNU, &operands));
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
                took >= expect && took < expect + Duration::from_millis(150),
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
    // The goal is 4 KiB; this holds what is reached (see the README's "Sizes"):
    // 7,240 before GNU's quoting of a bad operand (about 340 bytes) and the error texts a
    // failed write reports (GNU's `write error: TEXT`; about 3.5 KiB: every errno's text in
    // one string, and their places).
    assert!(size <= 11_300, "sleep is {size} bytes in size mode");
}

/// `summary ticks=.. drift_ns=..` of the `tick` example, as numbers by name.
fn summary(out: &std::process::Output) -> std::collections::HashMap<String, i64> {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("summary "))
        .unwrap_or_else(|| panic!("{text}"));
    line.split_whitespace()
        .skip(1)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn five_thousand_ticks_of_a_millisecond_drift_less_than_a_period() {
    let tick = example(Build::Release, "tick");
    let out = Command::new(&tick).args(["1ms", "5000"]).output().unwrap();
    let s = summary(&out);
    assert_eq!(s["ticks"], 5000);
    // drift_ns is how far the last tick woke from the schedule; as in the tick example, the
    // least of the last 50 ticks' lateness, so that one late wake-up on a loaded machine is
    // not counted as drift. A sleep(period) loop adds up to hundreds of ms here.
    assert!(s["drift_ns"].abs() < 1_000_000, "{s:?}");
    assert!(s["min_ns"] >= 0 && s["median_ns"] < 1_000_000, "{s:?}");
}

/// A periodic timerfd counts the periods the process spent stopped: its reads are fewer than
/// its expirations, and the schedule does not move.
#[test]
fn a_stopped_timerfd_counts_the_periods_it_missed() {
    let tick = example(Build::Release, "tick");
    let child = Command::new(&tick)
        .args(["10ms", "30", "--timerfd"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    std::thread::sleep(Duration::from_millis(60));
    // SAFETY: kill has no memory preconditions; pid is our child.
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGCONT) };
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let s = summary(&out);
    let reads: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("reads "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // At least 30: the last read may report more than the one that was missing.
    assert!(s["ticks"] >= 30, "{text}");
    assert!(
        reads <= 23,
        "{reads} reads for 30 expirations with 100 ms stopped: {text}"
    );
    assert!(s["drift_ns"].abs() < 5_000_000, "{text}");
}

#[test]
fn sleep_and_tick_on_every_arch() {
    for arch in common::ARCHES {
        let Some(dir) = common::cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let start = Instant::now();
        let out = arch
            .command(&dir.join("sleep"))
            .args(["0.02", "10e-3"])
            .output()
            .unwrap();
        let took = start.elapsed();
        assert!(out.status.success(), "{name}: {out:?}");
        assert!(took >= Duration::from_millis(30), "{name}: {took:?}");
        let out = arch.command(&dir.join("sleep")).arg("1x").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(": invalid time interval '1x'\n"));
        let s = summary(
            &arch
                .command(&dir.join("tick"))
                .args(["2ms", "50"])
                .output()
                .unwrap(),
        );
        assert_eq!(s["ticks"], 50, "{name}");
        let s = summary(
            &arch
                .command(&dir.join("tick"))
                .args(["2ms", "20", "--timerfd", "--clock", "boottime"])
                .output()
                .unwrap(),
        );
        // The run ends at the read that brings the count to 20 or more: a read late by a
        // period or more (qemu on a loaded machine) reports those expirations too.
        assert!(s["ticks"] >= 20, "{name}: {s:?}");
    }
}

/// i686 natively: with `clock_nanosleep_time64` and the 64-bit timerfd calls refused by
/// seccomp (ENOSYS as kernels before 5.1 answer, EPERM as Docker's profile does), sleep and
/// timers use the 32-bit calls and still last what they should; with those refused too,
/// the error comes through.
#[test]
fn refused_time64_sleep_and_timer_calls_fall_back_to_the_32_bit_ones() {
    let i686 = common::ARCHES[0];
    let Some(dir) = common::cross_examples(&i686) else {
        return;
    };
    use common::i386::{
        AUDIT_ARCH as AUDIT_ARCH_I386, CLOCK_NANOSLEEP_TIME64, CLOCK_NANOSLEEP32,
        TIMERFD_GETTIME64, TIMERFD_SETTIME32, TIMERFD_SETTIME64,
    };
    let run = |program: &str, args: &[&str], refused: &[i64], errno: i32| {
        let mut cmd = Command::new(dir.join(program));
        cmd.args(args);
        let action = libc::SECCOMP_RET_ERRNO | errno as u32;
        let rules: Vec<(i64, u32)> = refused.iter().map(|&n| (n, action)).collect();
        common::with_seccomp(&mut cmd, common::seccomp_program(AUDIT_ARCH_I386, &rules));
        let start = Instant::now();
        let out = cmd.output().unwrap();
        (out, start.elapsed())
    };
    // Unrefused, the 64-bit-time call serves: one absolute MONOTONIC deadline.
    let exe = dir.join("sleep");
    let (out, log) = strace(&[exe.to_str().unwrap(), "0.02"], None);
    assert!(out.status.success(), "{log}");
    let sleeps: Vec<&str> = log.lines().filter(|l| l.contains("nanosleep")).collect();
    assert_eq!(sleeps.len(), 1, "{log}");
    assert!(
        sleeps[0].starts_with("clock_nanosleep_time64(CLOCK_MONOTONIC, TIMER_ABSTIME, "),
        "{log}"
    );
    let time64 = [CLOCK_NANOSLEEP_TIME64, TIMERFD_SETTIME64, TIMERFD_GETTIME64];
    for errno in [libc::ENOSYS, libc::EPERM] {
        let (out, took) = run("sleep", &["0.05"], &time64, errno);
        assert!(out.status.success(), "errno {errno}: {out:?}");
        assert!(took >= Duration::from_millis(50), "errno {errno}: {took:?}");
        let (out, _) = run("tick", &["5ms", "20", "--timerfd"], &time64, errno);
        assert_eq!(summary(&out)["ticks"], 20, "errno {errno}");
        let (out, _) = run("tick", &["2ms", "50"], &time64, errno);
        let s = summary(&out);
        assert!(
            s["ticks"] == 50 && s["drift_ns"].abs() < 2_000_000,
            "errno {errno}: {s:?}"
        );
    }
    // The control: the 32-bit calls refused too.
    let all = [CLOCK_NANOSLEEP_TIME64, CLOCK_NANOSLEEP32];
    let (out, _) = run("sleep", &["0.05"], &all, libc::EPERM);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{}: cannot sleep: os error 1\n",
            dir.join("sleep").display()
        )
    );
    let (out, _) = run(
        "tick",
        &["5ms", "2", "--timerfd"],
        &[TIMERFD_SETTIME64, TIMERFD_SETTIME32],
        libc::EPERM,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot arm the timer: Operation not permitted (os error 1)")
    );
    // strace: the 64-bit call once, refused, then only the 32-bit one.
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-e", "trace=clock_nanosleep,clock_nanosleep_time64"])
        .arg(dir.join("tick"))
        // Periods long enough that no tick is late under strace (a late one sleeps not at all).
        .args(["20ms", "5"]);
    let rules = [(
        CLOCK_NANOSLEEP_TIME64,
        libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    )];
    common::with_seccomp(&mut cmd, common::seccomp_program(AUDIT_ARCH_I386, &rules));
    let out = cmd.output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(log.matches("clock_nanosleep_time64(").count(), 1, "{log}");
    assert!(log.matches("clock_nanosleep(").count() >= 4, "{log}");
}

/// `sleep` stays free of `core::fmt` and of every panic path (either would add kilobytes):
/// no such symbol in its `syms` build (the control: `now`, which formats, has them).
#[test]
fn sleep_has_no_formatting_and_no_panic() {
    let names = |n: &str| {
        common::tool("nm", &["-C", example(Build::Syms, n).to_str().unwrap()])
            .lines()
            .filter(|l| l.contains("core::fmt") || l.contains("panic"))
            .count()
    };
    assert_eq!(names("sleep"), 0);
    assert!(names("now") > 0);
}
