//! `tinyrt::thread` and `tinyrt::sync` in tinyrt programs (the `threads` example, built with
//! the `threads` and `alloc` features) natively, static-PIE and on every architecture under
//! qemu-user: spawn and join, detached threads that leave no mapping and no task behind,
//! scoped threads, `Mutex`/`Condvar`/`RwLock`/`Once`, park and unpark, names (the kernel's
//! `comm` too), `spawn_raw`, a signal to one thread (also at once after `spawn`, and to the
//! main thread), a process spawned from a thread, a spawn the kernel refuses (its closure
//! dropped, a scope still returning), and the panics: a named thread's (std's message and
//! 101), two at once (one whole message), a name with a NUL, a thread joining itself; the stack
//! a thread gets (`RUST_MIN_STACK` parsed as std parses it, `Builder::stack_size`). `strace -f`
//! shows plain `clone` (never `clone3`) with the thread flags, one per thread.

mod common;

use common::{ARCHES, cargo, cargo_ok, root, strace};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

const FEATURES: &str = "threads,alloc";

/// The examples built with `threads` and `alloc` (and `extra` features), once per process.
fn built(extra: &str) -> PathBuf {
    static DIRS: OnceLock<std::sync::Mutex<std::collections::HashMap<String, PathBuf>>> =
        OnceLock::new();
    let mut dirs = DIRS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    dirs.entry(extra.to_owned())
        .or_insert_with(|| {
            let name = format!("threads{}", extra.replace(',', "-"));
            let target = root().join("target/tinyrt-tests").join(&name);
            cargo_ok(
                cargo().env("CARGO_TARGET_DIR", &target).args([
                    "build",
                    "--quiet",
                    "--release",
                    "--example",
                    "threads",
                    "--features",
                    &format!("{FEATURES}{extra}"),
                ]),
                "build the threads example",
            );
            target.join("release/examples")
        })
        .clone()
}

fn exe() -> PathBuf {
    built("").join("threads")
}

/// Asserts a run passed: exit 0, no `FAILED` line, an `ok` line for each of `expect`.
fn passed(out: &Output, what: &str, expect: &[&str]) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("FAILED"),
        "{what}: {:?}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for e in expect {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("ok {e}"))),
            "{what}: no `ok {e}` line:\n{text}"
        );
    }
}

const ALL: [&str; 13] = [
    "errors",
    "spawn 100",
    "detach 100",
    "scope",
    "mutex: 800000",
    "condvar",
    "rwlock",
    "once",
    "park",
    "names",
    "raw",
    "kill",
    "process",
];

#[test]
fn every_check_natively_release_and_pie() {
    for extra in ["", ",pie"] {
        let exe = built(extra).join("threads");
        let out = Command::new(&exe).arg("all").output().unwrap();
        passed(&out, &format!("threads all{extra}"), &ALL);
    }
}

#[test]
fn a_thousand_threads_spawned_and_joined() {
    let out = Command::new(exe())
        .args(["spawn", "1000"])
        .output()
        .unwrap();
    passed(&out, "spawn 1000", &["spawn 1000: sum 1498500"]);
}

#[test]
fn ten_thousand_detached_threads_leave_nothing_behind() {
    let out = Command::new(exe())
        .args(["detach", "10000"])
        .output()
        .unwrap();
    passed(&out, "detach 10000", &["detach 10000"]);
}

#[test]
fn a_panic_on_a_named_thread_ends_the_process_as_std() {
    let out = Command::new(exe()).arg("panic").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{out:?}");
    assert!(
        err.strip_prefix("thread 'worker' (")
            .and_then(|e| e.split_once(") "))
            .is_some_and(|(tid, e)| tid.parse::<u32>().is_ok()
                && e.starts_with("panicked at examples/threads.rs:"))
            && err.ends_with(":\nboom\n"),
        "{err}"
    );
}

/// The process ends with 101 and the one message `want` on stderr, std's first line
/// (`thread 'NAME' (TID) panicked at FILE:...`) and the text.
fn panics_with(mode: &str, name: &str, file: &str, text: &str) {
    let out = Command::new(exe()).arg(mode).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{mode}: {out:?}");
    let head = format!("thread '{name}' (");
    let rest = err
        .strip_prefix(&head)
        .and_then(|e| e.split_once(") panicked at "))
        .filter(|(tid, _)| tid.parse::<u32>().is_ok())
        .map(|(_, e)| e);
    assert!(
        rest.is_some_and(|e| e.starts_with(file) && e.ends_with(&format!(":\n{text}\n"))),
        "{mode}: {err}"
    );
}

/// Two threads that panic at once (their messages slow to format): one message, whole,
/// then 101; the other thread waits instead of cutting in ("panicked while panicking").
#[test]
fn two_panics_at_once_print_one_whole_message() {
    for _ in 0..3 {
        let out = Command::new(exe()).arg("panic2").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(101), "{out:?}");
        assert_eq!(err.matches("panicked at").count(), 1, "{err}");
        assert!(
            err.ends_with(":\nslowly written\n") && !err.contains("while panicking"),
            "{err}"
        );
    }
}

/// std's panics for what std refuses: a name with a NUL byte, a thread joining itself.
#[test]
fn a_nul_in_a_name_and_joining_oneself_panic_as_std() {
    panics_with(
        "nul-name",
        "main",
        "rt/src/thread/spawn.rs:",
        "thread name may not contain interior null bytes",
    );
    panics_with(
        "join-self",
        "<unnamed>",
        "rt/src/thread/native.rs:",
        "failed to join thread: Resource deadlock avoided",
    );
}

/// Every thread is one plain `clone` with the thread flags (qemu-user's six, SETTLS and the
/// two tid flags); no `clone3` ever.
#[test]
fn strace_sees_one_plain_clone_per_thread() {
    let exe = exe();
    let (out, log) = strace(
        &[exe.to_str().unwrap(), "spawn", "50"],
        Some("trace=clone,clone3"),
    );
    passed(&out, "spawn 50 under strace", &["spawn 50"]);
    let clones: Vec<&str> = log.lines().filter(|l| l.starts_with("clone(")).collect();
    assert_eq!(clones.len(), 50, "{log}");
    assert!(!log.contains("clone3"), "{log}");
    for c in clones {
        for flag in [
            "CLONE_VM",
            "CLONE_FS",
            "CLONE_FILES",
            "CLONE_SIGHAND",
            "CLONE_THREAD",
            "CLONE_SYSVSEM",
            "CLONE_SETTLS",
            "CLONE_PARENT_SETTID",
            "CLONE_CHILD_CLEARTID",
        ] {
            assert!(c.contains(flag), "{flag} missing: {c}");
        }
    }
}

#[test]
fn every_architecture_release_and_pie() {
    for arch in ARCHES {
        for features in [&["threads", "alloc"][..], &["threads", "alloc", "pie"][..]] {
            let Some(exe) = common::cross_example(&arch, features, "threads") else {
                continue;
            };
            let what = format!("{} {features:?}", arch.name());
            let out = arch.command(&exe).arg("all").output().unwrap();
            passed(&out, &format!("{what} all"), &ALL);
            let out = arch.command(&exe).args(["spawn", "1000"]).output().unwrap();
            passed(&out, &format!("{what} spawn 1000"), &["spawn 1000"]);
        }
    }
}

/// A thread's stack: `RUST_MIN_STACK` read as std reads it (a `usize`, else the default:
/// std's 2 MiB on 64-bit), and `Builder::stack_size`: the mapping a thread runs on holds
/// the stack asked for, and not a page-rounded 64 KiB more (guard page and TLS area).
#[test]
fn rust_min_stack_and_builder_stack_size() {
    let run = |env: Option<&str>| {
        let mut c = Command::new(exe());
        c.arg("stack");
        if let Some(v) = env {
            c.env("RUST_MIN_STACK", v);
        } else {
            c.env_remove("RUST_MIN_STACK");
        }
        let out = c.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{env:?}: {out:?}");
        let v: Vec<usize> = text
            .trim()
            .strip_prefix("stack ")
            .unwrap_or_else(|| panic!("{text}"))
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        (v[0], v[1])
    };
    let within = |have: usize, want: usize, what: &str| {
        assert!(
            have >= want && have < want + (64 << 10),
            "{what}: a mapping of {have} bytes for a stack of {want}"
        );
    };
    for (env, want) in [
        (None, 2 << 20),
        (Some("8388608"), 8 << 20),
        (Some("300000"), 300_000),
        (Some("junk"), 2 << 20),
        (Some("-1"), 2 << 20),
        (Some(" 8388608"), 2 << 20),
    ] {
        let (default, builder) = run(env);
        within(default, want, &format!("RUST_MIN_STACK={env:?}"));
        within(
            builder,
            1 << 20,
            &format!("Builder::stack_size, RUST_MIN_STACK={env:?}"),
        );
    }
    // std parses the same way: a leading blank or a sign is no number.
    assert!(" 8388608".parse::<usize>().is_err() && "-1".parse::<usize>().is_err());
}
