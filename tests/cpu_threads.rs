//! getcpu on every thread (the `cpus` example built with `threads,alloc`, mode `threads`): a
//! thread pinned to each allowed CPU, started before the process's first getcpu and after
//! it, reads its own CPU (the rseq area natively, the dispatch under qemu-user), as the
//! getcpu system call says, thousands of times; detached threads end and free their memory
//! while others read (no SIGSEGV). `strace -ff` sees one rseq registration per thread that
//! asked, made as the thread starts once the process has decided, and one unregistration
//! per thread that ends; under qemu-user (rseq unknown: ENOSYS) only the threads that race
//! to decide try it, once each.
#![cfg(target_arch = "x86_64")]

mod common;
use common::now::{native_rseq, rseq_number};
use common::{ARCHES, Arch, cross_example, root, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FEATURES: &[&str] = &["threads", "alloc"];

/// This machine's own build (x86_64, run natively).
const NATIVE: Arch = Arch {
    target: "x86_64-unknown-linux-gnu",
    runner: None,
    ..ARCHES[1]
};

fn cpus_exe(arch: &Arch) -> Option<PathBuf> {
    cross_example(arch, FEATURES, "cpus")
}

/// The CPUs this process may run on.
fn allowed_cpus() -> usize {
    // SAFETY: the set is ours; sched_getaffinity writes at most its size.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        set
    };
    // SAFETY: the set is initialised.
    let n = unsafe { libc::CPU_COUNT(&set) } as usize;
    assert!(n >= 2, "these tests need two CPUs to move between: {n}");
    n
}

/// `cpus threads DETACHED` on `arch` (`qemu_flags` for its qemu), killed after two minutes.
fn run(arch: &Arch, qemu_flags: &[&str], exe: &Path, detached: usize) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120");
    if let Some(q) = arch.runner {
        c.arg(q).args(qemu_flags);
    }
    let out = c
        .arg(exe)
        .args(["threads", &detached.to_string()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(124), "{}: hung", arch.name());
    out
}

/// The tag getcpu is served with on `arch`: the rseq area natively where the kernel's area
/// has `node_id` (else the vDSO's getcpu), under qemu-user the vDSO's getcpu or the system
/// call (DESIGN.md's table).
fn tag(arch: &Arch) -> &'static str {
    match arch.runner {
        None if native_rseq() => "[rseq]",
        None => "[vdso]",
        Some(_) if arch.now_syscall.contains(&"getcpu") => "[syscall]",
        Some(_) => "[vdso]",
    }
}

/// Checks the one line of a passing run: every thread's reads counted, all detached
/// threads gone, the backend's tag.
fn passed(out: &Output, arch: &Arch, detached: usize) {
    let text = stdout(out);
    let what = arch.name();
    assert!(
        out.status.success(),
        "{what}: {:?}: {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let cpus = allowed_cpus();
    // Each thread reads 2,000 times on its CPU and 2,000 on the next one.
    let reads = cpus * 2 * 2000;
    let want = format!(
        "threads on {cpus} cpus: before {reads} after {reads} reads agree, detached \
         {detached}, the reader read "
    );
    assert!(
        text.starts_with(&want) && text.ends_with(&format!(" {}\n", tag(arch))),
        "{what}: {text:?}, expected {want:?}... {}",
        tag(arch)
    );
}

#[test]
fn natively_every_thread_reads_its_own_cpu() {
    let exe = cpus_exe(&NATIVE).unwrap();
    passed(&run(&NATIVE, &[], &exe, 1000), &NATIVE, 1000);
}

/// One traced thread's rseq calls and pinnings, in its order: (is an rseq call, its flags
/// word, its area, its result).
type Calls = Vec<(bool, String, String, String)>;

/// `strace -qq -ff -e trace=rseq,sched_setaffinity`: one log per thread (no interleaving),
/// as (tid, calls), the process's first (the main thread) first.
fn strace_threads(exe: &Path, detached: usize) -> (Output, Vec<(u32, Calls)>) {
    let dir = root().join(format!(
        "target/tinyrt-tests/strace-cpu-threads-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("strace")
        .args(["-qq", "-ff", "-e", "trace=rseq,sched_setaffinity", "-o"])
        .arg(dir.join("log"))
        .arg(exe)
        .args(["threads", &detached.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("run strace (scripts/test installs what the tests need)");
    let mut logs = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let tid: u32 = p.extension().unwrap().to_str().unwrap().parse().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let calls = text
            .lines()
            .filter(|l| l.starts_with("rseq(") || l.starts_with("sched_setaffinity("))
            .map(|l| {
                let rseq = l.starts_with("rseq(");
                let args: Vec<&str> = l[l.find('(').unwrap() + 1..].split(", ").collect();
                let ret = l.rsplit(" = ").next().unwrap().to_owned();
                let flags = if rseq { args[2] } else { "" };
                (rseq, flags.to_owned(), args[0].to_owned(), ret)
            })
            .collect();
        logs.push((tid, calls));
    }
    let _ = std::fs::remove_dir_all(&dir);
    logs.sort_by_key(|(tid, _)| *tid);
    (out, logs)
}

#[test]
fn strace_counts_one_registration_per_thread_and_one_unregistration_per_ending_one() {
    assert!(
        native_rseq(),
        "this kernel's rseq has no node_id (Linux < 6.3)"
    );
    let exe = cpus_exe(&NATIVE).unwrap();
    let detached = 100;
    let (out, logs) = strace_threads(&exe, detached);
    passed(&out, &NATIVE, detached);
    let cpus = allowed_cpus();
    // The main thread, a thread per CPU before and after the decision, the reader and the
    // detached ones: every one of them asked for its CPU.
    let threads = 1 + 2 * cpus + 1 + detached;
    assert_eq!(logs.len(), threads, "traced threads");
    let unregister = |f: &str| f == "0x1" || f == "RSEQ_FLAG_UNREGISTER";
    let (mut at_start, mut on_first_read) = (0, 0);
    for (i, (tid, calls)) in logs.iter().enumerate() {
        let rseq: Vec<_> = calls.iter().filter(|c| c.0).collect();
        let what = format!("thread {tid}: {calls:?}");
        assert!(rseq.iter().all(|c| c.3 == "0"), "{what}: a call failed");
        // One registration, first of its rseq calls.
        assert!(!rseq.is_empty() && rseq[0].1 == "0", "{what}");
        assert_eq!(rseq.iter().filter(|c| c.1 == "0").count(), 1, "{what}");
        if i == 0 {
            // The main thread ends with the process: nothing to unregister.
            assert_eq!(rseq.len(), 1, "{what}");
            continue;
        }
        // Every other thread ends: one unregistration of the same area, last.
        assert_eq!(rseq.len(), 2, "{what}");
        assert!(unregister(&rseq[1].1) && rseq[1].2 == rseq[0].2, "{what}");
        assert!(
            calls.last().unwrap().0,
            "{what}: a call after the unregistration"
        );
        // Registered as it started (before it first pinned itself), or on its first read.
        if calls[0].0 {
            at_start += 1;
        } else {
            on_first_read += 1;
        }
    }
    // The threads started before the process's first getcpu register on their first read;
    // every thread started after it registers as it starts.
    assert_eq!(
        (on_first_read, at_start),
        (cpus, cpus + 1 + detached),
        "threads registered on their first read, and at their start"
    );
}

/// qemu-user's guest vDSO getcpu that answers wrong (see tests/cpu.rs,
/// `known_wrong_vdso_getcpu`): qemu-x86_64's is always CPU 0.
fn always_cpu_0(arch: &Arch) -> bool {
    arch.runner == Some("qemu-x86_64")
}

#[test]
fn every_architecture_every_thread_reads_its_own_cpu() {
    for arch in ARCHES {
        let Some(exe) = cpus_exe(&arch) else {
            continue;
        };
        let name = arch.name();
        if always_cpu_0(&arch) {
            // Fails in the known way: a thread pinned to another CPU than 0 reads 0.
            let out = run(&arch, &[], &exe, 10);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.code() == Some(1) && err.contains(": getcpu (0, "),
                "{name}: its vDSO getcpu is known to answer CPU 0 always, yet: {:?}: {err}",
                out.status
            );
            continue;
        }
        passed(&run(&arch, &[], &exe, 100), &arch, 100);
        // No rseq under qemu-user: no thread tries again once the process has decided.
        if arch.runner.is_some() {
            let out = run(&arch, &["-strace"], &exe, 10);
            let err = String::from_utf8_lossy(&out.stderr);
            // The threads' lines interleave: count the numbers after each mention.
            let attempts = err
                .split("Unknown syscall ")
                .skip(1)
                .filter(|rest| {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    digits == rseq_number(&arch).to_string()
                })
                .count();
            // The threads started before the decision race to make it, each trying its own
            // area (at most one each); no thread after it tries.
            let racers = allowed_cpus();
            assert!(
                (1..=racers).contains(&attempts),
                "{name}: {attempts} rseq attempts, expected 1 to {racers}"
            );
        }
    }
}
