//! tinyrt's heap (feature `alloc`): the `heap` example built with it, checked against a
//! shadow model, the resident set, out-of-memory and sandboxes; re-entry from a signal
//! handler; a program with its own allocator; and the allocator's size.

mod common;
use common::{ARCHES, cargo, cargo_ok, root, stdout, strace};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The examples built with `--features alloc` (release), once per test process.
fn heap_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(
            &["--release", "--features", "alloc"],
            "heap-release",
            "release",
        )
    })
}

fn build(args: &[&str], dir: &str, profile: &str) -> PathBuf {
    let target = root().join("target/tinyrt-tests").join(dir);
    cargo_ok(
        cargo()
            .env("CARGO_TARGET_DIR", &target)
            .args([
                "build",
                "--quiet",
                "--example",
                "heap",
                "--example",
                "hello",
            ])
            .args(args),
        "build the heap example",
    );
    target.join(profile).join("examples")
}

/// The heap example built with `threads` too (release), once per test process.
fn heap_threads() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(
            &["--release", "--features", "alloc,threads"],
            "heap-threads",
            "release",
        )
    })
    .join("heap")
}

fn heap() -> PathBuf {
    heap_dir().join("heap")
}

#[test]
fn the_collections_work() {
    let out = common::run(&heap(), &[] as &[&str]);
    assert_eq!(
        stdout(&out),
        "vec: 100000 numbers, sum 4999950000\nstring: 1048579 bytes\n\
map: 9 words, \"the\" 3 times\ndyn: square 3=9, rect 2x5=10\n"
    );
}

/// Ten million random allocations, reallocations and frees (sizes to 1 MiB, a few of 64 MiB,
/// alignments 1 to 4096), every block filled with its pattern and checked before it is
/// moved or freed, no two live blocks overlapping: two processes of five million each, one
/// per core.
#[test]
fn ten_million_checked_operations() {
    let children: Vec<_> = [11, 12]
        .iter()
        .map(|seed| {
            Command::new(heap())
                .args(["stress", "5000000", &seed.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let text = stdout(&out);
        assert!(
            out.status.success()
                && text.starts_with("stress: 5000000 operations: ")
                && text.ends_with("all checked\n"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The checks are real: the same run with one byte of a live block overwritten halfway (as
/// a block handed out twice, or a free list written into a live block, would) fails them.
#[test]
fn the_stress_checks_catch_a_damaged_block() {
    let out = common::run(&heap(), &["stress", "20000", "5", "damage"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("heap stress: op ") && err.contains(" damaged at "),
        "{err}"
    );
    let out = common::run(&heap(), &["stress", "20000", "5"]);
    assert!(out.status.success());
}

#[test]
fn freeing_large_blocks_gives_the_memory_back() {
    let (out, log) = strace(
        &[heap().to_str().unwrap(), "large", "256"],
        Some("trace=munmap,mmap"),
    );
    let text = stdout(&out);
    // "rss_kib before B allocated A freed F intact true"
    let n: Vec<u64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(text.ends_with("intact true\n") && n.len() == 3, "{text}");
    let (before, full, freed) = (n[0], n[1], n[2]);
    assert!(full >= before + 256 * 1024, "{text}");
    assert!(freed < before + 16 * 1024, "{text}");
    let unmaps = log
        .lines()
        .filter(|l| l.starts_with("munmap(") && l.contains(", 1048576)"))
        .count();
    assert!(
        unmaps >= 256,
        "{unmaps} munmaps of a 1 MiB block's mapping\n{log}"
    );
}

/// Out of memory under RLIMIT_AS and under seccomp refusing mmap: Rust's handler reports it
/// and the program exits non-zero; `try_reserve` sees Err and the program goes on.
#[test]
fn out_of_memory_is_reported_and_try_reserve_sees_it() {
    let limited = |mode: &str| {
        let mut c = Command::new(heap());
        c.arg(mode);
        // SAFETY: setrlimit is async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 256 << 20,
                    rlim_max: 256 << 20,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        c.output().unwrap()
    };
    let out = limited("oom");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{err}");
    assert!(
        err.ends_with(":\nmemory allocation of 1048576 bytes failed\n"),
        "{err}"
    );
    let out = limited("try");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("try_reserve failed after "),
        "{}",
        stdout(&out)
    );

    // seccomp: every mmap refused (the heap has nothing but mmap to grow with).
    #[cfg(target_arch = "x86_64")]
    {
        for (mode, code) in [("oom", 101), ("try", 101)] {
            let mut c = Command::new(heap());
            c.arg(mode);
            let refuse = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
            common::with_seccomp(
                &mut c,
                common::seccomp_program(common::AUDIT_ARCH_X86_64, &[(libc::SYS_mmap, refuse)]),
            );
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            // `try` reserves once with try_reserve (Err), then allocates again: refused too.
            assert_eq!(out.status.code(), Some(code), "{mode}: {err}");
            assert!(err.contains("memory allocation of "), "{mode}: {err}");
            if mode == "try" {
                assert!(stdout(&out).is_empty(), "{}", stdout(&out));
            }
        }
    }
}

/// tests/fixtures/heap-in-std, built once: a std program using tinyrt-rt's heap.
fn heap_in_std() -> &'static PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let target = root().join("target/tinyrt-tests/heap-in-std");
        cargo_ok(
            cargo()
                .env("CARGO_TARGET_DIR", &target)
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(root().join("tests/fixtures/heap-in-std/Cargo.toml")),
            "cargo build",
        );
        target.join("release/heap-in-std")
    })
}

/// A signal handler that allocates while the main code is inside the allocator (SIGALRM
/// every 20 µs against a loop of allocations): the program stops with the re-entry message
/// and status 134 instead of corrupting the heap or waiting for ever.
#[test]
fn an_allocating_signal_handler_is_caught() {
    let out = common::run(heap_in_std(), &["reenter"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}{}", stdout(&out));
    assert_eq!(
        err,
        "tinyrt: the allocator was entered again while it was busy (an allocation in a signal handler?); stopping\n"
    );
}

/// tinyrt-rt with `alloc` inside a std program installs no allocator: only tinyrt's start
/// code declares one. Seen two ways: std's default allocator shim (`__rdl_alloc`, which a
/// declared `#[global_allocator]` replaces) is in that program and not in the heap example;
/// and its large blocks come from glibc's malloc, whose mmapped chunks start 16 bytes into
/// a page (tinyrt's large blocks start on one).
#[test]
fn library_mode_never_installs_an_allocator() {
    let default_shim = |path: &std::path::Path| {
        common::tool("nm", &[path.to_str().unwrap()])
            .lines()
            .any(|l| l.ends_with("___rdl_alloc"))
    };
    assert!(default_shim(heap_in_std()), "std's allocator replaced");
    let dir = build(
        &["--profile", "syms", "--features", "alloc"],
        "heap-syms",
        "syms",
    );
    assert!(
        !default_shim(&dir.join("heap")),
        "the heap example kept std's default shim"
    );
    assert_eq!(stdout(&common::run(heap_in_std(), &["std"])), "16\n");
}

/// A program with an allocator of its own leaves the feature off and declares it; with the
/// feature on, it cannot build (one global allocator per program).
#[test]
fn a_program_may_bring_its_own_allocator() {
    let manifest = root().join("tests/fixtures/own-allocator/Cargo.toml");
    let target = root().join("target/tinyrt-tests/own-allocator");
    let go = |extra: &[&str]| {
        cargo()
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = go(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = common::run(&target.join("release/own-allocator"), &[] as &[&str]);
    let text = stdout(&run);
    assert!(
        text.starts_with("1000 squares, the last 1000000; own allocator: ")
            && text.ends_with(" bytes handed out\n"),
        "{text}"
    );
    let out = go(&["--features", "tinyrt/alloc"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("conflicts with global allocator in: tinyrt_start"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The allocator's bytes: `hello` stays allocation-free (the feature adds nothing to a
/// program that does not allocate), and `heap` in size mode has a budget.
#[test]
fn sizes() {
    let plain = common::example(common::Build::Size, "hello");
    let size = build(
        &["--release", "--features", "alloc,size"],
        "heap-size",
        "release",
    );
    let hello = std::fs::metadata(&plain).unwrap().len();
    let hello_alloc = std::fs::metadata(size.join("hello")).unwrap().len();
    let heap = std::fs::metadata(size.join("heap")).unwrap().len();
    println!("size mode: hello {hello}, hello with alloc {hello_alloc}, heap {heap}");
    assert_eq!(hello, hello_alloc);
    // 43,000 until Errno's Display said std's texts (about 3.5 KiB: `heap` prints errors
    // with `{}`) and main! checked the standard descriptors.
    assert!(heap <= 46_600, "heap is {heap} bytes in size mode");
}

/// The heap on every architecture: the collections, a shorter stress run, the large blocks.
#[test]
fn on_every_arch() {
    for arch in ARCHES {
        let Some(dir) = common::cross_examples_with(&arch, &["alloc"]) else {
            continue;
        };
        let name = arch.name();
        let out = arch.command(&dir.join("heap")).output().unwrap();
        assert!(
            stdout(&out).starts_with("vec: 100000 numbers, sum 4999950000\n"),
            "{name}"
        );
        let ops = if arch.runner.is_some() {
            "200000"
        } else {
            "1000000"
        };
        let out = arch
            .command(&dir.join("heap"))
            .args(["stress", ops, "3"])
            .output()
            .unwrap();
        assert!(
            stdout(&out).ends_with("all checked\n"),
            "{name}: {}{}",
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = arch
            .command(&dir.join("heap"))
            .args(["large", "64"])
            .output()
            .unwrap();
        assert!(
            stdout(&out).ends_with("intact true\n"),
            "{name}: {}",
            stdout(&out)
        );
    }
}

/// scripts/report's allocation workload is the same in the tinyrt program and in C
/// (scripts/compare/alloc.c, here with glibc's malloc): the same checksum.
#[test]
fn the_benchmark_workload_agrees_with_c() {
    let c = root().join("target/tinyrt-tests/alloc-c");
    common::tool(
        "gcc",
        &[
            "-O2",
            "-o",
            c.to_str().unwrap(),
            root().join("scripts/compare/alloc.c").to_str().unwrap(),
        ],
    );
    let want = stdout(&common::run(&c, &["300000"]));
    assert!(want.starts_with("checksum "), "{want}");
    assert_eq!(stdout(&common::run(&heap(), &["bench", "300000"])), want);
}

/// The shadow-model stress from 4 threads at once on the one heap (`heap threads`, built
/// with `threads`): every block checked, none overlapping, under contention on the lock.
#[test]
fn the_stress_from_four_threads_at_once() {
    let out = common::run(&heap_threads(), &["threads", "4", "1000000", "7"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("stress: 1000000 operations: ") && l.ends_with("all checked"))
            .count(),
        4,
        "{text}"
    );
}

/// With threads the heap's lock waits for another thread, yet a signal handler that
/// allocates on the thread holding it is still caught (`heap reenter`: a second thread
/// allocates too and sends SIGALRM to the main thread, whose handler allocates).
#[test]
fn with_threads_an_allocating_signal_handler_is_caught() {
    let out = common::run(&heap_threads(), &["reenter"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{err}{}", stdout(&out));
    assert_eq!(
        err,
        "tinyrt: the allocator was entered again while it was busy (an allocation in a signal handler?); stopping\n"
    );
}
