//! getcpu on every thread (the `cpus` example built with `threads,alloc`, mode `threads`): a
//! thread pinned to each allowed CPU, started before the process's first getcpu and after
//! it, reads its own CPU (the rseq area natively, the dispatch under qemu-user), as the
//! getcpu system call says, thousands of times; detached threads end and free their memory
//! while others read (no SIGSEGV). `strace -ff` sees one rseq registration per thread that
//! asked, made as the thread starts once the process has decided, and one unregistration
//! per thread that ends; a signal whose handler asks for the CPU, delivered by gdb inside a
//! thread's registration, leaves the thread registered; under qemu-user (rseq unknown:
//! ENOSYS) only the threads that race to decide try it, once each.
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

/// gdb's script for `cpus signal`: a breakpoint on the `syscall` instruction at `addr` (the
/// rseq registration in `register_thread`) stops each thread the first time it gets there,
/// and the thread is resumed with SIGUSR1, delivered before the system call runs (a
/// handler that asks for the CPU, so registers the same area first).
fn inject_script(addr: u64) -> String {
    format!(
        "import gdb
gdb.execute('set pagination off')
gdb.execute('set confirm off')
gdb.execute('handle SIGUSR1 nostop noprint pass')
injected = set()
class AtRseq(gdb.Breakpoint):
    def stop(self):
        tid = gdb.selected_thread().ptid[1]
        if tid in injected:
            return False
        injected.add(tid)
        return True
AtRseq('*{addr:#x}')
gdb.execute('run')
while gdb.selected_inferior().pid != 0:
    gdb.execute('signal SIGUSR1')
print('INJECTED %d' % len(injected))
"
    )
}

/// A signal whose handler asks for the CPU, delivered inside a thread's first registration
/// (after the thread found its area unregistered, before its `rseq` call): the handler
/// registers the area, the interrupted call gets EBUSY, and the thread must still count its
/// area as registered (else it never unregisters it, and a detached thread's freed memory
/// is written by the kernel), and the process's decision must stay the area (`[rseq]`).
/// Two threads started before the first getcpu (the first decides) and the main thread
/// (which asks after them) each get the signal there: gdb stops them on the `syscall`
/// instruction of the registration (found with objdump in a build with symbols).
#[test]
fn a_signal_inside_a_registration_leaves_the_thread_registered() {
    assert!(
        native_rseq(),
        "this kernel's rseq has no node_id (Linux < 6.3)"
    );
    let target = root().join("target/tinyrt-tests/syms-threads-alloc");
    common::cargo_ok(
        common::cargo().env("CARGO_TARGET_DIR", &target).args([
            "build",
            "--quiet",
            "--profile",
            "syms",
            "--example",
            "cpus",
            "--features",
            &FEATURES.join(","),
        ]),
        "build cpus with symbols",
    );
    let exe = target.join("syms/examples/cpus");
    // The `syscall` of `mov $0x14e,%eax` (rseq) in register_thread.
    let asm = common::tool(
        "objdump",
        &["-d", "--no-show-raw-insn", exe.to_str().unwrap()],
    );
    let body: Vec<&str> = asm
        .split("\n\n")
        .find(|f| {
            f.lines()
                .find(|l| l.ends_with(">:"))
                .is_some_and(|l| l.contains("register_thread"))
        })
        .expect("no register_thread in the build with symbols")
        .lines()
        .collect();
    let rseq_at = body
        .iter()
        .position(|l| l.contains("mov    $0x14e,%eax"))
        .expect("no rseq number in register_thread");
    let syscall = body[rseq_at..]
        .iter()
        .find(|l| l.trim_end().ends_with("syscall"))
        .expect("no syscall after the rseq number");
    let addr = u64::from_str_radix(syscall.split(':').next().unwrap().trim(), 16).unwrap();
    let script = target.join(format!("inject-{}.py", std::process::id()));
    std::fs::write(&script, inject_script(addr)).unwrap();
    let out = Command::new("timeout")
        .args(["120", "gdb", "-nx", "-batch", "-x"])
        .arg(&script)
        .arg("--args")
        .arg(&exe)
        .arg("signal")
        .stdin(Stdio::null())
        .output()
        .expect("run gdb (scripts/test installs what the tests need)");
    let _ = std::fs::remove_file(&script);
    let text = stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("\nINJECTED 3\n")
            && text.contains(
                "signal 2 threads registered as the main thread, 3 handlers asked [rseq]\n"
            ),
        "{text}{err}"
    );
}
