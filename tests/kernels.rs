//! Real kernels: Debian's own (bookworm's 6.1, trixie's 6.12, sid's 7.x) booted under
//! qemu-system for every architecture, with an initramfs whose `/init` is tinyrt's `boot`
//! example. qemu-user emulates the kernel's interface; here the kernel is the kernel: its
//! vDSO (not qemu's), rseq, PID 1, a console.
//!
//! `/init` runs the examples packed beside it (release and static-PIE builds), checks every
//! clock read through tinyrt against the raw system calls made just before and after it,
//! reports what served each vDSO function and whether rseq registered, dumps the live vDSO
//! and restarts the machine (qemu exits: `-no-reboot`). This test then requires every check
//! passed, each function served by the vDSO exactly where the dumped image (listed by
//! pyelftools) exports the symbol the kernel sources name for it, rseq registered on every
//! kernel (with the node, hence getcpu from the area, from 6.3 on), and compares each dump
//! with the committed fixture of that kernel in tests/fixtures/vdso, if there is one.
//!
//! Kernels come from deb.debian.org through tests/tools/fetch-kernel and are cached (see
//! `qemu_system::kernel_cache`); a kernel that cannot be fetched, or a missing
//! qemu-system, is a loud `common::skip`.

mod common;
// Not in common/mod.rs: only this test boots machines.
#[path = "common/qemu_system.rs"]
mod qemu_system;
// The thread programs' part of the initramfs and of the checks.
#[path = "common/kernel_threads.rs"]
mod kernel_threads;

use common::{ARCHES, cross_examples, cross_examples_with, pyelftools_list, root, skip};
use qemu_system::{Boot, Cpio, Fetch, MACHINES, Machine, boot, kernel};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The programs packed under /bin: (name in the initramfs, example, static-PIE build).
const PROGRAMS: [(&str, &str, bool); 12] = [
    ("now", "now", false),
    ("now-pie", "now", true),
    ("cpus", "cpus", false),
    ("signals", "signals", false),
    ("run", "run", false),
    ("hello", "hello", false),
    ("tick", "tick", false),
    ("relocs", "relocs", false),
    ("relocs-pie", "relocs", true),
    ("random", "random", false),
    ("clone_raw", "clone_raw", false),
    ("event", "event", false),
];

/// What `/init` runs (examples/boot.rs `RUNS`): each must exit 0.
const RUNS: [&str; 19] = [
    "now",
    "now-pie",
    "cpus",
    "signals",
    "run",
    "tick",
    "relocs",
    "relocs-pie",
    "random",
    "clone-flags",
    "clone-join",
    "clone-detach",
    "event",
    "threads-all",
    "threads-spawn",
    "threads-detach",
    "cpus-threads",
    "heap-threads",
    "sha256sum",
];

/// One boot's deadline: TCG is slow, and sid's kernels on the emulated machines with the
/// most to check take the longest, but a hung guest must not hang the suite.
const DEADLINE: Duration = Duration::from_secs(240);

/// For each architecture, the vDSO symbol (from the kernel's `vdso.lds.S`; DESIGN.md's
/// table, and the README's "Architectures") that must serve each function when the image
/// exports it; a function absent here, or whose symbol the image lacks, must be a system
/// call. `time` reads `clock_gettime`'s symbol where the architecture has no `time` of its
/// own, and on i386 and arm, whose `__vdso_time` and `__vdso_gettimeofday` have 32-bit
/// time, both read `__vdso_clock_gettime64`; the 32-bit-time entries are never used.
fn vdso_symbols(target: &str) -> &'static [(&'static str, &'static str)] {
    match target {
        "x86_64-unknown-linux-gnu" => &[
            ("clock_gettime", "__vdso_clock_gettime"),
            ("clock_getres", "__vdso_clock_getres"),
            ("gettimeofday", "__vdso_gettimeofday"),
            ("time", "__vdso_time"),
            ("getcpu", "__vdso_getcpu"),
            ("getrandom", "__vdso_getrandom"),
        ],
        "i686-unknown-linux-gnu" => &[
            ("clock_gettime", "__vdso_clock_gettime64"),
            ("clock_getres", "__vdso_clock_getres_time64"),
            ("gettimeofday", "__vdso_clock_gettime64"),
            ("time", "__vdso_clock_gettime64"),
            ("getcpu", "__vdso_getcpu"),
        ],
        "aarch64-unknown-linux-gnu" => &[
            ("clock_gettime", "__kernel_clock_gettime"),
            ("clock_getres", "__kernel_clock_getres"),
            ("gettimeofday", "__kernel_gettimeofday"),
            ("time", "__kernel_clock_gettime"),
            ("getrandom", "__kernel_getrandom"),
        ],
        "riscv64gc-unknown-linux-gnu" => &[
            ("clock_gettime", "__vdso_clock_gettime"),
            ("clock_getres", "__vdso_clock_getres"),
            ("gettimeofday", "__vdso_gettimeofday"),
            ("time", "__vdso_clock_gettime"),
            ("getcpu", "__vdso_getcpu"),
            ("getrandom", "__vdso_getrandom"),
        ],
        "armv7-unknown-linux-gnueabihf" => &[
            ("clock_gettime", "__vdso_clock_gettime64"),
            ("clock_getres", "__vdso_clock_getres_time64"),
            ("gettimeofday", "__vdso_clock_gettime64"),
            ("time", "__vdso_clock_gettime64"),
        ],
        "s390x-unknown-linux-gnu" => &[
            ("clock_gettime", "__kernel_clock_gettime"),
            ("clock_getres", "__kernel_clock_getres"),
            ("gettimeofday", "__kernel_gettimeofday"),
            ("time", "__kernel_clock_gettime"),
            ("getcpu", "__kernel_getcpu"),
            ("getrandom", "__kernel_getrandom"),
        ],
        // __kernel_getrandom (6.12+) returns its errors as positive numbers that cannot be
        // told from byte counts: tinyrt never uses it (rt/src/arch/powerpc64.rs).
        "powerpc64le-unknown-linux-gnu" => &[
            ("clock_gettime", "__kernel_clock_gettime"),
            ("clock_getres", "__kernel_clock_getres"),
            ("gettimeofday", "__kernel_gettimeofday"),
            ("time", "__kernel_time"),
            ("getcpu", "__kernel_getcpu"),
        ],
        t => panic!("no vDSO table for {t}"),
    }
}

/// The initramfs for `m`'s architecture: /init, /bin/*, /dev/console, /proc, /dev, and
/// /data (files and their checksum list, `SHA256SUMS`). `/bin/sh` is `/init` again: it
/// knows `sh -c 'exit N'`, which the `threads` example's `process` check runs.
fn initramfs(m: &Machine) -> Option<PathBuf> {
    let arch = ARCHES.iter().find(|a| a.target == m.target).unwrap();
    let release = cross_examples(arch)?;
    let pie = cross_examples_with(arch, &["pie"])?;
    let mut cpio = Cpio::default();
    cpio.dir("dev");
    cpio.char_dev("dev/console", 5, 1);
    cpio.dir("proc");
    cpio.dir("bin");
    cpio.program("init", &release.join("boot"));
    cpio.program("bin/sh", &release.join("boot"));
    for (name, example, is_pie) in PROGRAMS {
        let dir = if is_pie { &pie } else { &release };
        cpio.program(&format!("bin/{name}"), &dir.join(example));
    }
    kernel_threads::pack(arch, &mut cpio)?;
    let out = root().join("target/tinyrt-tests/kernels");
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join(format!("{}.cpio", m.target));
    std::fs::write(&path, cpio.finish()).unwrap();
    Some(path)
}

/// What `/init` reported: its `@@ ` lines, parsed.
#[derive(Default, Debug)]
struct Report {
    exits: BTreeMap<String, String>,
    backends: BTreeMap<String, String>,
    getcpu: String,
    rseq: String,
    vdso: Vec<u8>,
    /// The length `@@ vdso-begin` announced.
    vdso_len: usize,
    done: String,
    failures: Vec<String>,
    /// Each program's own output, by name.
    output: BTreeMap<String, String>,
}

fn parse(console: &str) -> Report {
    let mut r = Report::default();
    let mut hex: Option<String> = None;
    let mut current: Option<String> = None;
    for line in console.lines() {
        if let Some(h) = hex.as_mut() {
            if line == "@@ vdso-end" {
                let h = hex.take().unwrap();
                r.vdso = (0..h.len() / 2)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                    .collect();
            } else {
                h.push_str(line.trim());
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("@@ ") else {
            if let Some(c) = &current {
                let o = r.output.entry(c.clone()).or_default();
                o.push_str(line);
                o.push('\n');
            }
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        match words.as_slice() {
            ["run", name] => current = Some(name.to_string()),
            ["exit", name, status @ ..] => {
                r.exits.insert(name.to_string(), status.join(" "));
                current = None;
            }
            ["backend", f, how @ ..] => {
                r.backends.insert(f.to_string(), how.join(" "));
            }
            ["getcpu", how] => r.getcpu = how.to_string(),
            ["rseq", yes] => r.rseq = yes.to_string(),
            ["vdso-begin", len] => {
                r.vdso_len = len.parse().unwrap_or(usize::MAX);
                hex = Some(String::new());
            }
            ["done", how @ ..] => r.done = how.join(" "),
            _ if rest.contains("FAIL") => r.failures.push(rest.to_owned()),
            _ => {}
        }
    }
    r
}

/// The kernel's version from its image's file name (`vmlinuz-6.1.0-50-amd64`), and the
/// release it is (6.1.176: from the package, not needed here): `6.1`, `6.12`, `7.2`.
fn kernel_version(image: &std::path::Path) -> (String, (u32, u32)) {
    let v = image
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_start_matches("vmlinuz-")
        .to_owned();
    let mut nums = v
        .split(['.', '-', '+'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let major = nums.next().unwrap();
    let minor = nums.next().unwrap();
    (v, (major, minor))
}

/// One row of the table, and what was wrong.
struct Row {
    /// Programs, kernel and suite.
    who: String,
    line: String,
    problems: Vec<String>,
}

fn check(m: &Machine, suite: &str, image: &std::path::Path, b: &Boot) -> Row {
    let (version, (major, minor)) = kernel_version(image);
    let r = parse(&b.console);
    let mut problems = Vec::new();
    let mut p = |s: String| problems.push(s);
    if !b.finished {
        p(format!("no end within {DEADLINE:?}"));
    }
    if r.done != "ok" {
        p(format!("/init: done {:?}", r.done));
    }
    for f in &r.failures {
        p(f.clone());
    }
    for name in RUNS {
        match r.exits.get(name).map(String::as_str) {
            Some("0") => {}
            other => p(format!("{name}: exit {other:?}")),
        }
    }
    for problem in kernel_threads::check(&r.output) {
        p(problem);
    }
    // What the dumped image exports, read by pyelftools.
    let dumps = root().join("target/tinyrt-tests/kernels/vdso");
    std::fs::create_dir_all(&dumps).unwrap();
    let dump = dumps.join(format!("{}-linux-{version}.so", m.vdso));
    let mut served = Vec::new();
    if r.vdso.is_empty() || r.vdso.len() != r.vdso_len {
        p(format!(
            "vDSO dump of {} bytes, {} announced",
            r.vdso.len(),
            r.vdso_len
        ));
    } else {
        std::fs::write(&dump, &r.vdso).unwrap();
        let listing = pyelftools_list(&dump);
        let exports = |sym: &str| {
            listing
                .lines()
                .any(|l| l.split(['@', ' ']).next() == Some(sym))
        };
        for f in [
            "clock_gettime",
            "clock_getres",
            "gettimeofday",
            "time",
            "getcpu",
            "getrandom",
        ] {
            let got = r.backends.get(f).cloned().unwrap_or_default();
            let want = vdso_symbols(m.target)
                .iter()
                .find(|(g, _)| *g == f)
                .map(|(_, s)| *s)
                .filter(|s| exports(s));
            let ok = match want {
                Some(sym) => got.starts_with(&format!("vdso {sym}@")),
                None => got == "syscall",
            };
            if !ok {
                p(format!("{f}: served by {got:?}, expected {want:?}"));
            }
            if got.starts_with("vdso") {
                served.push(f);
            }
        }
        let fixture = root()
            .join("tests/fixtures/vdso")
            .join(dump.file_name().unwrap());
        if let Ok(committed) = std::fs::read(&fixture)
            && committed != r.vdso
        {
            p(format!(
                "{} differs from this boot's dump",
                fixture.display()
            ));
        }
    }
    // rseq registers on every kernel here (4.18+); its area has the node from 6.3 on, and
    // then getcpu reads it there (and in the `cpus` example).
    if r.rseq != "yes" {
        p(format!("rseq {:?}", r.rseq));
    }
    if (major, minor) >= (6, 3) {
        if r.getcpu != "rseq" {
            p(format!("getcpu served by {:?}, not rseq", r.getcpu));
        }
        // And on every thread, each with its own area (`cpus threads`).
        for run in ["cpus", "cpus-threads"] {
            let out = r.output.get(run).map(String::as_str).unwrap_or("");
            if !out.contains("[rseq]") {
                p(format!("{run}: not [rseq]: {out:?}"));
            }
        }
    }
    Row {
        who: format!("{} on {} {suite} ({version})", m.target, m.deb_arch),
        line: format!(
            "{:<30} {:<7} {:<9} {:<22} {:<60} rseq {:<3} getcpu {:<7} {:>6.1} s",
            m.target,
            m.deb_arch,
            suite,
            version,
            served.join(","),
            r.rseq,
            r.getcpu,
            b.seconds
        ),
        problems,
    }
}

#[test]
fn examples_run_as_init_of_real_kernels() {
    let only = std::env::var("TINYRT_KERNELS").ok();
    let mut jobs: Vec<(&Machine, &str)> = Vec::new();
    for m in &MACHINES {
        if std::process::Command::new(m.qemu)
            .arg("--version")
            .output()
            .is_err()
        {
            skip(
                &format!("{} on real kernels", m.target),
                &format!("no {}: install qemu-system from bookworm-backports", m.qemu),
            );
            continue;
        }
        for suite in m.suites {
            let name = format!("{}/{}/{suite}", m.target, m.deb_arch);
            if only
                .as_ref()
                .is_some_and(|o| !o.split(',').any(|w| name.contains(w)))
            {
                continue;
            }
            jobs.push((m, suite));
        }
    }
    // Builds first, one architecture at a time (cargo's own parallelism).
    let mut initrds = BTreeMap::new();
    for (m, _) in &jobs {
        if initrds.contains_key(m.target) {
            continue;
        }
        if let Some(i) = initramfs(m) {
            initrds.insert(m.target, i);
        }
    }
    // Two boots at a time (the machine's two cores; each qemu runs its guest on one thread).
    let next = AtomicUsize::new(0);
    let rows = Mutex::new(Vec::new());
    let skips = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(m, suite)) = jobs.get(i) else {
                        break;
                    };
                    let Some(initrd) = initrds.get(m.target) else {
                        continue;
                    };
                    let image = match kernel(m, suite) {
                        Ok(k) => k,
                        Err(e) => {
                            skips.lock().unwrap().push((m.target, suite, e));
                            continue;
                        }
                    };
                    let log = root().join("target/tinyrt-tests/kernels/console");
                    std::fs::create_dir_all(&log).unwrap();
                    let log = log.join(format!("{}-{}-{suite}.txt", m.target, m.deb_arch));
                    let b = boot(m, &image, initrd, &log, DEADLINE);
                    let row = check(m, suite, &image, &b);
                    if !row.problems.is_empty() {
                        eprintln!("=== {}: console in {}", m.target, log.display());
                    }
                    rows.lock().unwrap().push((i, row));
                }
            });
        }
    });
    for (target, suite, e) in skips.into_inner().unwrap() {
        // apt's errors, not its progress lines.
        let errors = |s: &str| {
            let e: Vec<&str> = s.lines().filter(|l| !l.starts_with("Get:")).collect();
            e[e.len().saturating_sub(3)..].join(" | ")
        };
        let why = match e {
            Fetch::Absent(s) => format!("Debian {suite} has no kernel for it: {}", errors(&s)),
            Fetch::Failed(s) => format!("fetching Debian {suite}'s kernel failed: {}", errors(&s)),
        };
        skip(&format!("{target} on Debian {suite}'s kernel"), &why);
    }
    let mut rows = rows.into_inner().unwrap();
    rows.sort_by_key(|r| r.0);
    let mut problems = Vec::new();
    eprintln!(
        "\n{:<30} {:<7} {:<9} {:<22} vDSO served",
        "programs", "kernel", "suite", "version"
    );
    for (_, row) in &rows {
        eprintln!("{}", row.line);
        for p in &row.problems {
            problems.push(format!("{}: {p}", row.who));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
