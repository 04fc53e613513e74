//! Clocks and getrandom inside a time namespace (Linux 5.6+, `unshare --time` with offsets):
//! there the kernel maps the namespace's own page where the vDSO's data page was, and the
//! vDSO's code must notice it and add the offsets (the place vDSOs have had bugs). The
//! `now` example (x86_64, and i686 natively under IA32 emulation) runs three times in one
//! namespace, vDSO, raw system calls, vDSO again: every MONOTONIC and BOOTTIME clock carries
//! its offset relative to glibc's reads outside, taken before and after; REALTIME, TAI and
//! their coarse clock carry none; and the three runs agree in order (the system call's value
//! lies between the two vDSO ones). `random` fills buffers there, through the vDSO where the
//! kernel's has getrandom.
#![cfg(target_arch = "x86_64")]

mod common;
use common::now::{VDSO_CLOCKS, host, parse};
use common::{ARCHES, Build, cross_examples, example, stdout};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The offsets, in seconds: distinct and odd, so that one given to the wrong clock shows.
const MONOTONIC_OFFSET: i128 = 86_400 + 11;
const BOOTTIME_OFFSET: i128 = 2 * 86_400 + 13;

/// The host clocks of VDSO_CLOCKS, in its order.
const IDS: [libc::clockid_t; 7] = [
    libc::CLOCK_REALTIME,
    libc::CLOCK_MONOTONIC,
    libc::CLOCK_MONOTONIC_RAW,
    libc::CLOCK_REALTIME_COARSE,
    libc::CLOCK_MONOTONIC_COARSE,
    libc::CLOCK_BOOTTIME,
    libc::CLOCK_TAI,
];

/// What the namespace adds to `clock`, in nanoseconds (time_namespaces(7): the offsets of
/// MONOTONIC also apply to its raw and coarse clocks).
fn offset(clock: &str) -> i128 {
    let s = match clock {
        "MONOTONIC" | "MONOTONIC_RAW" | "MONOTONIC_COARSE" => MONOTONIC_OFFSET,
        "BOOTTIME" => BOOTTIME_OFFSET,
        _ => 0,
    };
    s * 1_000_000_000
}

/// `unshare --time --monotonic M --boottime B sh -c SCRIPT`, stdin closed.
fn in_namespace(script: &str) -> Output {
    Command::new("unshare")
        .args(["--time", "--monotonic"])
        .arg(MONOTONIC_OFFSET.to_string())
        .arg("--boottime")
        .arg(BOOTTIME_OFFSET.to_string())
        .args(["sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .expect("unshare (util-linux)")
}

/// Whether this process may make a time namespace with offsets (root, CONFIG_TIME_NS):
/// if not, a loud skip.
fn time_namespaces() -> bool {
    let out = in_namespace("cat /proc/self/timens_offsets");
    let want = format!("monotonic {MONOTONIC_OFFSET} 0\nboottime {BOOTTIME_OFFSET} 0\n");
    let got: String = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    if out.status.success() && got == want {
        return true;
    }
    common::skip(
        "time namespaces",
        &format!("unshare --time failed here (root and CONFIG_TIME_NS needed): {out:?} {got:?}"),
    );
    false
}

fn nanos(v: &str) -> i128 {
    let (s, ns) = v.split_once('.').unwrap();
    s.parse::<i128>().unwrap() * 1_000_000_000 + ns.parse::<i128>().unwrap()
}

/// Shell-quotes a path (the tests' paths have no single quote).
fn quoted(p: &Path) -> String {
    let s = p.to_str().unwrap();
    assert!(!s.contains('\''), "{s}");
    format!("'{s}'")
}

/// The check for one `now` program: see the module's doc.
fn clocks_carry_the_offsets(now: &Path, what: &str) {
    let clocks = VDSO_CLOCKS.join(" ");
    let now = quoted(now);
    let script = format!("{now} {clocks} && {now} --syscall {clocks} && {now} {clocks}");
    let before: Vec<i128> = IDS.iter().map(|&c| host(c)).collect();
    let out = in_namespace(&script);
    let after: Vec<i128> = IDS.iter().map(|&c| host(c)).collect();
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{what}: {out:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    let per_run = 2 * VDSO_CLOCKS.len();
    assert_eq!(lines.len(), 3 * per_run, "{what}: {text}");
    let runs: Vec<_> = lines
        .chunks(per_run)
        .map(|c| parse(&c.join("\n")))
        .collect();
    for (i, clock) in VDSO_CLOCKS.iter().enumerate() {
        let key = format!("clock_gettime {clock}");
        let [first, syscall, second] = [0, 1, 2].map(|r| {
            let (value, tag) = &runs[r][&key];
            let want = if r == 1 { "[syscall]" } else { "[vdso]" };
            assert_eq!(tag, want, "{what}: run {r}: {key}");
            nanos(value)
        });
        // A coarse clock reads a tick behind the precise one: bracketed by the coarse
        // clock before and the precise one after (REALTIME's, MONOTONIC's: i - 3).
        let late = if clock.ends_with("_COARSE") {
            after[i - 3]
        } else {
            after[i]
        };
        let (low, high) = (before[i] + offset(clock), late + offset(clock));
        assert!(
            low <= first && first <= syscall && syscall <= second && second <= high,
            "{what}: {clock}: the vDSO's {first}, the system call's {syscall}, the vDSO's \
             {second}, not in order within [{low}, {high}] (outside + {} s)",
            offset(clock) / 1_000_000_000
        );
    }
}

#[test]
fn clocks_inside_a_time_namespace_carry_its_offsets() {
    if !time_namespaces() {
        return;
    }
    clocks_carry_the_offsets(&example(Build::Release, "now"), "x86_64");
    let i686 = ARCHES.iter().find(|a| a.runner.is_none()).unwrap();
    if let Some(dir) = cross_examples(i686) {
        clocks_carry_the_offsets(&dir.join("now"), "i686");
    }
}

/// `random` inside the namespace: 64 bytes in 16-byte calls, each run's bytes its own,
/// through the vDSO where this kernel's x86_64 vDSO has getrandom (pyelftools says), the
/// system call on i686 (whose vDSO has none) and with `--syscall`; the vDSO's 256 calls make
/// no getrandom system call but the seeding one (strace).
#[test]
fn getrandom_works_inside_a_time_namespace() {
    if !time_namespaces() {
        return;
    }
    let vdso = common::host_vdso_exports("__vdso_getrandom");
    let mut programs = vec![(
        example(Build::Release, "random"),
        if vdso {
            "__vdso_getrandom@LINUX_2.6"
        } else {
            "syscall"
        },
    )];
    let i686 = ARCHES.iter().find(|a| a.runner.is_none()).unwrap();
    if let Some(dir) = cross_examples(i686) {
        programs.push((dir.join("random"), "syscall"));
    }
    let mut seen = std::collections::HashSet::new();
    for (exe, backend) in programs {
        for (args, backend) in [("", backend), (" --syscall", "syscall")] {
            let script = format!("{} 64 --chunk 16{args}", quoted(&exe));
            for _ in 0..2 {
                let out = in_namespace(&script);
                let err = String::from_utf8_lossy(&out.stderr);
                let text = stdout(&out);
                assert!(out.status.success(), "{script}: {out:?}");
                assert_eq!(
                    err.trim_end(),
                    format!("random: bytes=64 calls=4 backend={backend}"),
                    "{script}"
                );
                let hex = text.trim_end();
                assert!(
                    hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{script}: {text:?}"
                );
                assert!(seen.insert(hex.to_owned()), "{script}: bytes repeat: {hex}");
            }
        }
    }
    // The vDSO really serves inside: 256 calls, and no getrandom system call but the one
    // that seeds a fresh state (a second if the kernel reseeded meanwhile), under strace.
    if vdso {
        let log = common::root().join(format!(
            "target/tinyrt-tests/strace-timens-{}.txt",
            std::process::id()
        ));
        let exe = example(Build::Release, "random");
        let script = format!(
            "strace -qq -e trace=getrandom -o {} {} 4096 --chunk 16",
            quoted(&log),
            quoted(&exe)
        );
        let out = in_namespace(&script);
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        assert!(out.status.success(), "{script}: {out:?}");
        let calls: Vec<&str> = text.lines().filter(|l| l.contains("getrandom(")).collect();
        assert!(
            !calls.is_empty() && calls.len() <= 2 && calls.iter().all(|l| l.contains(", 32, 0)")),
            "{script}: {calls:#?}"
        );
    }
}
