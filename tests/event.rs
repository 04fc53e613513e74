//! `tinyrt::event` in a tinyrt program (the `event` example): every source of the loop
//! checked natively, static-PIE and on every architecture under qemu-user (aarch64 and
//! riscv64 have no `epoll_wait`: `epoll_pwait` and `epoll_pwait2` are the waits there);
//! `strace` of a schedule in steady state: one wait system call per tick, no clock system
//! call (the vDSO reads it), nothing else; with `pidfd_open` refused by seccomp (ENOSYS as
//! before Linux 5.3, EPERM as a sandbox), children through SIGCHLD and `wait4`, the same
//! events; with `epoll_pwait2` refused (before 5.11), `epoll_pwait` with a millisecond
//! timeout, after one try.

mod common;

use common::{AUDIT_ARCH_X86_64, Build, example, strace};
use std::process::{Command, Output};

/// The checks `event all` prints (examples/event.rs).
const CHECKS: [&str; 9] = [
    "ok pipe readable, then hung up",
    "ok deadline never early",
    "ok missed ticks on their due times",
    "ok signal with its siginfo",
    "ok children reaped: exit 7 and SIGKILL",
    "ok waker from a signal handler",
    "ok a handler interrupting the wait moves nothing",
    "ok a one-event buffer loses nothing",
    "ok enospc",
];

fn passed(out: &Output, what: &str) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.ends_with("event: ok\n"),
        "{what}: {:?}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for c in CHECKS {
        assert!(text.lines().any(|l| l == c), "{what}: no {c:?} in\n{text}");
    }
}

#[test]
fn every_source_natively_and_static_pie() {
    for b in [Build::Release, Build::Pie, Build::Debug] {
        let exe = example(b, "event");
        let out = Command::new(&exe).arg("all").output().unwrap();
        passed(&out, &format!("{b:?}"));
    }
    // Its own children instead of /bin/sh's, as on the real kernels (tests/kernels.rs).
    let exe = example(Build::Release, "event");
    let out = Command::new(&exe).args(["all", "--self"]).output().unwrap();
    passed(&out, "--self");
}

#[test]
fn every_source_on_every_arch() {
    for arch in common::ARCHES {
        let Some(dir) = common::cross_examples(&arch) else {
            continue;
        };
        let exe = dir.join("event");
        // The children are the example itself: by its path, under the same qemu.
        let out = arch.command(&exe).arg("all").output().unwrap();
        passed(&out, &arch.name());
    }
}

/// The calls of a traced run between the loop's creation and its last line.
fn steady(log: &str) -> Vec<String> {
    let calls: Vec<String> = log
        .lines()
        .map(|l| l.split('(').next().unwrap_or("").to_owned())
        .collect();
    let from = calls.iter().position(|c| c == "epoll_create1").expect(log);
    let to = calls.iter().rposition(|c| c == "write").expect(log);
    calls[from + 1..to].to_vec()
}

#[test]
fn a_schedule_in_steady_state_is_one_wait_per_tick() {
    let exe = example(Build::Release, "event");
    let (out, log) = strace(&[exe.to_str().unwrap(), "ticks", "3000", "40"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with("ticks 40 late "),
        "{out:?}"
    );
    let calls = steady(&log);
    // One wait a tick at most (the first, due at once, only looks: a zero timeout), never
    // an empty wake; fewer when a late wake found the next tick due too (a loaded machine).
    assert!(
        (20..=40).contains(&calls.len()),
        "{} waits: {log}",
        calls.len()
    );
    assert!(calls.iter().all(|c| c == "epoll_pwait2"), "{log}");
    assert!(
        !log.contains("clock_gettime") && !log.contains("gettimeofday"),
        "{log}"
    );
}

/// `event all` with `nr` refused (errno) by seccomp, under strace: its log.
fn refused(nr: i64, errno: i32) -> String {
    let exe = example(Build::Release, "event");
    let log = common::root().join(format!(
        "target/tinyrt-tests/strace-event-{nr}-{errno}-{}.txt",
        std::process::id()
    ));
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"]).arg(&log).arg(&exe).arg("all");
    let action = libc::SECCOMP_RET_ERRNO | errno as u32;
    common::with_seccomp(
        &mut cmd,
        common::seccomp_program(AUDIT_ARCH_X86_64, &[(nr, action)]),
    );
    let out = cmd.output().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    passed(&out, &format!("{nr} refused with {errno}"));
    text
}

#[test]
fn without_pidfd_open_sigchld_reaps_the_children() {
    for (errno, name) in [(libc::ENOSYS, "ENOSYS"), (libc::EPERM, "EPERM")] {
        let log = refused(libc::SYS_pidfd_open, errno);
        let tries = log.lines().filter(|l| l.contains("pidfd_open(")).count();
        assert!(tries >= 1, "{log}");
        // None served (strace may split a call around another process's lines).
        let results: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("pidfd_open") && l.contains(" = "))
            .filter_map(|l| l.rsplit(" = ").next())
            .collect();
        assert!(
            !results.is_empty()
                && results
                    .iter()
                    .all(|r| *r == format!("-1 {name} ({})", errno_text(errno))),
            "{results:?}\n{log}"
        );
        // SIGCHLD joins the loop's signalfd, and wait4 reaps without waiting.
        assert!(
            log.lines()
                .any(|l| l.contains("signalfd4(") && l.contains("CHLD")),
            "{log}"
        );
        assert!(
            log.lines()
                .any(|l| l.contains("wait4(") && l.contains("WNOHANG") && !l.contains("= 0")),
            "{log}"
        );
    }
}

#[test]
fn without_epoll_pwait2_epoll_pwait_waits_in_milliseconds() {
    for errno in [libc::ENOSYS, libc::EPERM] {
        let log = refused(libc::SYS_epoll_pwait2, errno);
        assert_eq!(log.matches("epoll_pwait2(").count(), 1, "{log}");
        assert!(log.contains("epoll_pwait("), "{log}");
    }
}

fn errno_text(errno: i32) -> &'static str {
    match errno {
        libc::ENOSYS => "Function not implemented",
        _ => "Operation not permitted",
    }
}
