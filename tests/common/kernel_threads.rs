//! The thread programs on the real kernels (only `tests/kernels.rs` includes this): the
//! `threads`, `heap` and `sha256sum` examples built with tinyrt's `threads` and `alloc`
//! features, the files `sha256sum -c` checks, and what their output must say. `/init`
//! (examples/boot.rs) runs them; their `RUNS` entries are in kernels.rs with the others.

use crate::common::{Arch, cross_example, root};
use crate::qemu_system::Cpio;
use std::collections::BTreeMap;

/// The programs packed under /bin that need tinyrt's `threads` and `alloc` features (built
/// one by one with them: `common::cross_example`): (name under /bin, example).
const THREAD_PROGRAMS: [(&str, &str); 4] = [
    ("threads", "threads"),
    ("heap", "heap"),
    ("sha256sum", "sha256sum"),
    // /bin/cpus is the example without threads (its `check` run).
    ("cpus-threads", "cpus"),
];

/// Lines the thread programs must print (each the start of a line of their output), besides
/// exiting 0: every check of `threads all` (tests/threads.rs runs the same under qemu-user),
/// 1,000 threads joined with the sum of their results, 2,000 detached ones leaving no
/// mapping and no task, the heap's four checked stress runs on one heap at once, and
/// getcpu on a thread pinned to each CPU (then moved to the next) agreeing with the system
/// call, before and after the process decided on rseq, and 200 detached threads reading
/// (kernels.rs checks the backend's tag: per-thread rseq areas, which qemu-user lacks).
const THREAD_LINES: [(&str, &[&str]); 5] = [
    (
        "threads-all",
        &[
            "ok spawn 100: sum 14850",
            "ok detach 100",
            "ok scope",
            "ok mutex: 800000",
            "ok condvar",
            "ok rwlock",
            "ok once",
            "ok park",
            "ok names",
            "ok raw",
            "ok kill",
            "ok process: Ok(Some(7))",
        ],
    ),
    ("threads-spawn", &["ok spawn 1000: sum 1498500"]),
    ("threads-detach", &["ok detach 2000"]),
    (
        "heap-threads",
        &[HEAP_LINE, HEAP_LINE, HEAP_LINE, HEAP_LINE],
    ),
    ("cpus-threads", &["threads on "]),
];

/// One of `heap threads 4 10000 7`'s four runs, all its blocks checked.
const HEAP_LINE: &str = "stress: 10000 operations: ";

/// The files `sha256sum -c` checks in the guest, under /data: their names and contents
/// (three bytes of FIPS 180-2's example, nothing, and larger ones that span the tool's
/// 128 KiB reads, so that its workers share them).
fn data_files() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![
        ("abc".to_owned(), b"abc".to_vec()),
        ("empty".to_owned(), vec![]),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for (i, len) in [300_000usize, 131_072, 131_073, 1_000_000]
        .into_iter()
        .enumerate()
    {
        let bytes = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        files.push((format!("random-{i}"), bytes));
    }
    files
}

/// The checksum list of `data_files` as Debian's `sha256sum` writes it, naming each file
/// by its path in the guest (`/data/NAME`).
fn sha256sums(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let dir = root().join("target/tinyrt-tests/kernels/data");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let out = std::process::Command::new("sha256sum")
        .args(files.iter().map(|(n, _)| n))
        .current_dir(&dir)
        .output()
        .expect("run Debian's sha256sum");
    assert!(out.status.success(), "{out:?}");
    let list = String::from_utf8(out.stdout).unwrap();
    // FIPS 180-2's first example: the host's tool is the oracle, and it agrees.
    assert!(
        list.starts_with("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc\n"),
        "{list}"
    );
    list.lines()
        .map(|l| {
            let (hash, name) = l.split_once("  ").unwrap();
            format!("{hash}  /data/{name}\n")
        })
        .collect::<String>()
        .into_bytes()
}

/// Packs the thread programs under /bin and the files with their checksum list under /data
/// (`None` after a loud skip, as `cross_example`).
pub fn pack(arch: &Arch, cpio: &mut Cpio) -> Option<()> {
    for (name, example) in THREAD_PROGRAMS {
        cpio.program(
            &format!("bin/{name}"),
            &cross_example(arch, &["threads", "alloc"], example)?,
        );
    }
    cpio.dir("data");
    let files = data_files();
    cpio.file("data/SHA256SUMS", &sha256sums(&files));
    for (name, bytes) in &files {
        cpio.file(&format!("data/{name}"), bytes);
    }
    Some(())
}

/// What is wrong with the thread programs' output (by run name), besides their exit status.
pub fn check(output: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut p = |s: String| problems.push(s);
    let output = |name: &str| output.get(name).map(String::as_str).unwrap_or("");
    for (name, lines) in THREAD_LINES {
        let out = output(name);
        for (i, want) in lines.iter().enumerate() {
            // The same line `n` times: count them.
            let n = lines[..=i].iter().filter(|l| *l == want).count();
            let have = out
                .lines()
                .filter(|l| {
                    l.starts_with(want) && (*want != HEAP_LINE || l.ends_with("all checked"))
                })
                .count();
            if have < n {
                p(format!("{name}: {n} lines {want:?}, {have} in {out:?}"));
            }
        }
    }
    for (file, _) in data_files() {
        if !output("sha256sum").contains(&format!("/data/{file}: OK\n")) {
            p(format!(
                "sha256sum: no `/data/{file}: OK` in {:?}",
                output("sha256sum")
            ));
        }
    }
    problems
}
