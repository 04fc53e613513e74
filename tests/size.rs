//! Size budgets of the stripped release examples (deterministic for a toolchain, so they are
//! tests): in size mode (`--features size`, no section header table) `tiny` < 408 bytes,
//! `hello` <= 600 bytes, and `mono` at most issue 18's 2,976 bytes (it is 2,888; issue 6's
//! 1,536 bytes is not met, see the README), and `init` within 8 KiB (issue 17).
//! Run with `--nocapture` to see the table.

mod common;
use common::{Build, example, example_names};

fn size(b: Build, name: &str) -> u64 {
    std::fs::metadata(example(b, name)).unwrap().len()
}

#[test]
fn size_budgets() {
    println!("{:<10} {:>12} {:>12}", "example", "release", "size mode");
    for n in example_names() {
        println!(
            "{:<10} {:>12} {:>12}",
            n,
            size(Build::Release, &n),
            size(Build::Size, &n)
        );
    }
    let tiny = size(Build::Size, "tiny");
    let hello = size(Build::Size, "hello");
    assert!(tiny < 408, "tiny is {tiny} bytes, budget < 408");
    assert!(hello <= 600, "hello is {hello} bytes, budget <= 600");
    let mono = size(Build::Size, "mono");
    assert!(
        mono <= 2_976,
        "mono is {mono} bytes, over issue 18's 2,976 (it was 2,888)"
    );
    let init = size(Build::Size, "init");
    // Issue 17 asked for 8 KiB (it was 8,128); issue 24 added tini's /bin/sh fallback for a
    // program without `#!` (193 bytes) and the report of a failed print at exit.
    assert!(
        init <= 8_448,
        "init is {init} bytes in size mode, over 8,448 (8,384 with issue 24's fixes)"
    );
    // The budgets are about the file the user ships: it must be complete (runs), not cut.
    assert_eq!(
        common::run(&example(Build::Size, "tiny"), &["a", "b"])
            .status
            .code(),
        Some(2)
    );
    let out = common::run(&example(Build::Size, "hello"), &[] as &[&str]);
    assert_eq!(common::stdout(&out), "Hello, world!\n");
}

/// The library-mode auxv reader (prctl(PR_GET_AUXV), /proc/self/auxv: about 1 KiB) is
/// compiled out of tinyrt programs, whose `_start` always hands over the stack's vector: the
/// `tinyrt` facade depends on tinyrt-rt without the `library-mode` feature. A std program
/// with tinyrt-rt's default features (this test) has it.
#[test]
fn library_mode_is_not_linked_into_tinyrt_programs() {
    const READER: &str = "read_library_copy";
    // Use the reader here, so that this test binary must contain it.
    let _ = tinyrt_rt::auxv::source();
    let me = std::env::current_exe().unwrap();
    let here = common::tool("nm", &[me.to_str().unwrap()]);
    assert!(
        here.contains(READER),
        "{READER} not found in {}",
        me.display()
    );
    for name in ["auxv", "mono", "now"] {
        let p = example(Build::Syms, name);
        let syms = common::tool("nm", &[p.to_str().unwrap()]);
        assert!(
            syms.contains("__tinyrt_main"),
            "{name}: no symbols to look at"
        );
        assert!(
            !syms.contains(READER),
            "{name} links the library-mode reader"
        );
    }
}

/// `tiny` and `hello` on the other architectures, in size mode, against what they are (a
/// few bytes of margin): a change that makes every program carry something (on i686, the
/// walk to AT_SYSINFO that choosing the system-call entry needs) shows here first.
#[test]
fn cross_size_budgets() {
    // (target, tiny, hello) in bytes.
    let budgets = [
        ("i686-unknown-linux-gnu", 284, 632),
        ("aarch64-unknown-linux-gnu", 424, 520),
        ("riscv64gc-unknown-linux-gnu", 408, 496),
        ("armv7-unknown-linux-gnueabihf", 288, 388),
        ("s390x-unknown-linux-gnu", 440, 528),
        // 64 KiB more before link.x placed .toc and .branch_lt (padding to MAXPAGESIZE).
        ("powerpc64le-unknown-linux-gnu", 464, 808),
    ];
    for (target, tiny, hello) in budgets {
        let arch = common::ARCHES.iter().find(|a| a.target == target).unwrap();
        if !common::runnable(arch) {
            continue;
        }
        let dir = common::root().join("target/tinyrt-tests/size-cross");
        common::cargo_ok(
            common::cargo()
                .env("CARGO_TARGET_DIR", &dir)
                .args(["build", "--release", "--quiet", "--features", "size"])
                .args([
                    "--example",
                    "tiny",
                    "--example",
                    "hello",
                    "--target",
                    target,
                ]),
            target,
        );
        let size = |n: &str| {
            std::fs::metadata(dir.join(target).join("release/examples").join(n))
                .unwrap()
                .len()
        };
        let (t, h) = (size("tiny"), size("hello"));
        println!("{target}: tiny {t}, hello {h}");
        assert!(t <= tiny + 8, "{target}: tiny is {t} bytes, was {tiny}");
        assert!(h <= hello + 8, "{target}: hello is {h} bytes, was {hello}");
    }
}
