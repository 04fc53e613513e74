//! getcpu from the rseq area (the `cpus` example, a real tinyrt process): natively every
//! read agrees with the getcpu system call on every CPU the process may run on, and in a
//! forked child, for one rseq call in all (strace); with rseq refused by a seccomp filter
//! (EPERM, ENOSYS, EINVAL, EBUSY) the dispatch serves (the vDSO, no getcpu system call)
//! after one attempt; under qemu-user (no rseq) the dispatch serves on every architecture,
//! after one attempt (where qemu's own vDSO getcpu answers wrong, the test holds it to the
//! known way: `known_wrong_vdso_getcpu`); the area's address and registered length follow
//! the auxiliary vector (`AT_RSEQ_FEATURE_SIZE`, `AT_RSEQ_ALIGN`, rewritten at exec by a
//! ptrace harness to Linux 7.2's values, a larger alignment, none at all) on x86_64 and
//! i686; in library mode tinyrt leaves rseq to glibc (and makes no rseq call where glibc
//! made none) and still answers the pinned CPU.
#![cfg(target_arch = "x86_64")]

mod common;
use common::now::{native_rseq, rseq_number};
use common::{ARCHES, Arch, Build, cross_examples, example, stdout};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The tag `cpus` ends its line with in a native run: `[rseq]` where the kernel's area has
/// `node_id`, else the dispatch (the vDSO's getcpu on x86_64 and i686).
fn native_tag() -> &'static str {
    if native_rseq() { "[rseq]" } else { "[vdso]" }
}

/// The CPUs this thread may run on (glibc's view of `sched_getaffinity`).
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: the set is ours; sched_getaffinity writes at most its size.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        set
    };
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `c` is below CPU_SETSIZE.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect()
}

/// At least two CPUs: the checks move the process between CPUs, and `fork` reads on two.
fn two_cpus() -> Vec<usize> {
    let cpus = allowed_cpus();
    assert!(
        cpus.len() >= 2,
        "these tests need two CPUs to move between; this process may use {cpus:?}"
    );
    cpus
}

/// Runs `exe args` on `arch` (natively when `arch` is None; `qemu_flags` for its qemu)
/// with stdin closed, killed after a minute: exit code 124 then.
fn run_within(arch: Option<&Arch>, qemu_flags: &[&str], exe: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("60");
    if let Some(q) = arch.and_then(|a| a.runner) {
        c.arg(q).args(qemu_flags);
    }
    c.arg(exe).args(args).stdin(Stdio::null()).output().unwrap()
}

/// `run_within`, where a run that hangs fails the test (rather than stalling it).
fn run_for(arch: Option<&Arch>, exe: &Path, args: &[&str]) -> Output {
    let out = run_within(arch, &[], exe, args);
    assert_ne!(
        out.status.code(),
        Some(124),
        "{exe:?} {args:?} hung: {out:?}"
    );
    out
}

/// The one line of a successful run, checked to end with `tag`.
fn ok_line(out: &Output, tag: &str, what: &str) -> String {
    let text = stdout(out);
    assert!(
        out.status.success(),
        "{what}: {:?}: {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.ends_with(&format!(" {tag}\n")) && text.lines().count() == 1,
        "{what}: expected one line ending in {tag}: {text:?}"
    );
    text
}

/// `check ROUNDS`'s line says how many reads it compared over how many CPUs: all of them.
fn assert_check_covered(line: &str, rounds: usize, cpus: usize, what: &str) {
    let want = format!(
        "check {} reads agree over {} migrations on {cpus} cpus ",
        rounds * cpus * 100,
        rounds * cpus
    );
    assert!(
        line.starts_with(&want),
        "{what}: {line:?}, expected {want:?}"
    );
}

#[test]
fn natively_every_read_agrees_on_every_cpu_and_after_fork() {
    let cpus = two_cpus();
    let exe = example(Build::Release, "cpus");
    let line = ok_line(
        &run_for(None, &exe, &["check", "200"]),
        native_tag(),
        "check",
    );
    assert_check_covered(&line, 200, cpus.len(), "check");
    let line = ok_line(&run_for(None, &exe, &["fork"]), native_tag(), "fork");
    assert_eq!(
        line,
        format!(
            "fork child on cpu {} parent on cpu {} {}\n",
            cpus[1],
            cpus[0],
            native_tag()
        )
    );
    let out = run_for(None, &exe, &["backend"]);
    assert_eq!(stdout(&out), format!("backend {}\n", native_tag()));
}

/// `strace -qq -f -e trace=rseq,getcpu cpus ARGS`, under `seccomp` if given (installed
/// before strace starts, so that its child, the traced program, inherits it): the run's
/// output (strace passes on the program's stdout and exit status) and the log.
fn strace_cpus(
    exe: &Path,
    args: &[&str],
    seccomp: Option<Vec<libc::sock_filter>>,
) -> (Output, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = common::root().join(format!(
        "target/tinyrt-tests/strace-cpu-{}-{n}.txt",
        std::process::id()
    ));
    let mut c = Command::new("strace");
    c.args(["-qq", "-f", "-e", "trace=rseq,getcpu", "-o"])
        .arg(&log)
        .arg(exe)
        .args(args)
        .stdin(Stdio::null());
    if let Some(prog) = seccomp {
        common::with_seccomp(&mut c, prog);
    }
    let out = c
        .output()
        .expect("run strace (scripts/test installs what the tests need)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (out, text)
}

/// The lines of an `strace -f` log (each begins with the pid) that record `call`, as
/// (pid, line).
fn calls<'a>(log: &'a str, call: &str) -> Vec<(u32, &'a str)> {
    let needle = format!(" {call}(");
    log.lines()
        .filter(|l| l.contains(&needle))
        .map(|l| (l.split_whitespace().next().unwrap().parse().unwrap(), l))
        .collect()
}

#[test]
fn strace_sees_one_rseq_call_for_a_million_reads_and_for_a_fork() {
    let cpus = two_cpus();
    let exe = example(Build::Release, "cpus");
    let (out, log) = strace_cpus(&exe, &["reads", "1000000"], None);
    let line = ok_line(&out, native_tag(), "reads under strace");
    assert!(line.starts_with("reads 1000000 sum "), "{line}");
    let rseq = calls(&log, "rseq");
    assert_eq!(
        rseq.len(),
        1,
        "one registration for a million reads:\n{log}"
    );
    assert!(
        rseq[0].1.ends_with(") = 0"),
        "the registration failed:\n{log}"
    );
    assert_eq!(calls(&log, "getcpu"), [], "getcpu system calls:\n{log}");

    // fork: the parent registers (its first read), the child inherits the registration.
    let (out, log) = strace_cpus(&exe, &["fork"], None);
    ok_line(&out, native_tag(), "fork under strace");
    let rseq = calls(&log, "rseq");
    assert_eq!(rseq.len(), 1, "one registration, in the parent:\n{log}");
    assert!(rseq[0].1.ends_with(") = 0"), "{log}");
    // Not vacuous: both processes are traced, each checking its reads against the getcpu
    // system call (10 + 10 in the parent, 1000 in the child).
    let getcpu = calls(&log, "getcpu");
    let parent = rseq[0].0;
    let (mine, child): (Vec<_>, Vec<_>) = getcpu.iter().partition(|(pid, _)| *pid == parent);
    assert_eq!(mine.len(), 20, "{log}");
    assert_eq!(child.len(), 1000, "{log}");
    assert!(child.iter().all(|(pid, _)| *pid == child[0].0), "{log}");
    assert!(
        child[0].1.contains(&format!("getcpu([{}]", cpus[1])),
        "the child's kernel CPU: {log}"
    );
}

#[test]
fn with_rseq_refused_the_vdso_serves_after_one_attempt() {
    two_cpus();
    let exe = example(Build::Release, "cpus");
    let cpus = allowed_cpus().len();
    for (errno, name) in [
        (libc::EPERM, "EPERM"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::EINVAL, "EINVAL"),
        (libc::EBUSY, "EBUSY"),
    ] {
        let refusing = || {
            let rule = (libc::SYS_rseq, libc::SECCOMP_RET_ERRNO | errno as u32);
            common::seccomp_program(common::AUDIT_ARCH_X86_64, &[rule])
        };
        let mut cmd = Command::new(&exe);
        cmd.args(["check", "50"]).stdin(Stdio::null());
        common::with_seccomp(&mut cmd, refusing());
        let what = format!("rseq refused with {name}: check");
        let line = ok_line(&cmd.output().unwrap(), "[vdso]", &what);
        assert_check_covered(&line, 50, cpus, &what);

        let (out, log) = strace_cpus(&exe, &["reads", "1000"], Some(refusing()));
        let what = format!("rseq refused with {name}: reads");
        ok_line(&out, "[vdso]", &what);
        let rseq = calls(&log, "rseq");
        assert_eq!(
            rseq.len(),
            1,
            "{what}: one attempt, not one per read:\n{log}"
        );
        assert!(
            rseq[0].1.contains(&format!(") = -1 {name} ")),
            "{what}: the attempt did not fail with {name}:\n{log}"
        );
        assert_eq!(calls(&log, "getcpu"), [], "{what}: the vDSO serves:\n{log}");
    }
}

/// `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN` (include/uapi/linux/auxvec.h).
const AT_RSEQ_FEATURE_SIZE: u64 = 27;
const AT_RSEQ_ALIGN: u64 = 28;

/// The area's registration follows the auxiliary vector, natively on x86_64 and i686 (IA32
/// emulation): a ptrace harness rewrites `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN` at exec,
/// and the one `rseq` call is read from its registers. As given here, Linux 7.2's 33 and 64
/// (an area registered with 64 bytes at a 64-byte boundary: the 32-byte alignment 7.2
/// refused), 64 asked of a 28-byte feature size, 128 asked (more than the static area
/// serves: the original 32 bytes, which every kernel takes at a 32-byte boundary), and no
/// entries (Linux before 6.3: the original 32 bytes). The kernel here (its own rule:
/// kernel/rseq.c) takes every one of them, and the area serves (`[rseq]`).
#[test]
fn the_area_is_registered_as_the_auxiliary_vector_asks() {
    use common::ptrace::{Tamper, run_traced};
    // SAFETY: getauxval has no preconditions.
    let host = unsafe {
        (
            libc::getauxval(AT_RSEQ_FEATURE_SIZE),
            libc::getauxval(AT_RSEQ_ALIGN),
        )
    };
    // Before Linux 6.3 the kernel gives neither entry: there is nothing to rewrite, and the
    // run as given is the original 32 bytes.
    let rewrites = host.0 != 0;
    if !rewrites {
        common::skip(
            "rseq auxv rewrites",
            "this kernel gives no AT_RSEQ_* entries (Linux < 6.3): only its own run is checked",
        );
    }
    const V72: &[(u64, Option<u64>)] =
        &[(AT_RSEQ_FEATURE_SIZE, Some(33)), (AT_RSEQ_ALIGN, Some(64))];
    const A64: &[(u64, Option<u64>)] = &[(AT_RSEQ_ALIGN, Some(64))];
    const A128: &[(u64, Option<u64>)] = &[(AT_RSEQ_ALIGN, Some(128))];
    const LARGE: &[(u64, Option<u64>)] =
        &[(AT_RSEQ_FEATURE_SIZE, Some(65)), (AT_RSEQ_ALIGN, Some(128))];
    const NONE: &[(u64, Option<u64>)] = &[(AT_RSEQ_FEATURE_SIZE, None), (AT_RSEQ_ALIGN, None)];
    let i686 = ARCHES.iter().find(|a| a.runner.is_none()).unwrap();
    let mut programs = vec![(example(Build::Release, "cpus"), 334)];
    if let Some(dir) = cross_examples(i686) {
        programs.push((dir.join("cpus"), rseq_number(i686) as i64));
    }
    for (exe, nr) in &programs {
        // (what, tamper, (length, alignment) expected): this kernel's own values first
        // (the length the original 32 bytes where its feature size fits in them).
        let (f, a) = (host.0.max(32), host.1.max(32));
        let native = match f.next_multiple_of(a) {
            len if a.is_power_of_two() && a <= 64 && len <= 64 => (len, a),
            _ => (32, 32),
        };
        for (what, entries, (len, align)) in [
            ("as the kernel gave", None, native),
            ("Linux 7.2's 33 and 64", Some(V72), (64, 64)),
            ("64 asked", Some(A64), (64, 64)),
            ("128 asked", Some(A128), (32, 32)),
            ("65 bytes, 128 asked", Some(LARGE), (32, 32)),
            ("no entries (before 6.3)", Some(NONE), (32, 32)),
        ] {
            if entries.is_some() && !rewrites {
                continue;
            }
            let what = format!("{exe:?}, {what}");
            let tamper = entries.map_or(Tamper::None, Tamper::Auxv);
            let t = run_traced(exe, &["reads", "1000"], tamper);
            assert_eq!(t.code, 0, "{what}: {}", t.stdout);
            assert!(
                t.stdout.starts_with("reads 1000 sum ")
                    && t.stdout.ends_with(&format!(" {}\n", native_tag())),
                "{what}: {}",
                t.stdout
            );
            let rseq = t.calls_of(*nr);
            assert_eq!(rseq.len(), 1, "{what}: {rseq:?}");
            let [area, got, flags, sig, ..] = rseq[0].args;
            assert_eq!(
                (got, flags, rseq[0].ret),
                (len, 0, Some(0)),
                "{what}: rseq({area:#x}, {got}, {flags}, {sig:#x}) = {:?}",
                rseq[0].ret
            );
            assert_eq!(area % align, 0, "{what}: area at {area:#x}");
            assert_eq!(sig, 0x5305_3053, "{what}");
        }
    }
}

/// qemu-user's own guest vDSOs whose getcpu is wrong (qemu 10, linux-user/*/vdso.S): the
/// dispatch, which takes an exported `getcpu` at its word, answers what they say. Each is
/// checked to be wrong in exactly its known way, so that this test says when it is fixed.
fn known_wrong_vdso_getcpu(arch: &Arch) -> Option<&'static str> {
    match arch.runner? {
        // "Pretend that we're always running on cpu 0." (qemu-i386's, which answers the
        // time of day, is refused when the dispatch first asks it: its arch entry lists
        // getcpu as served by the system call.)
        "qemu-x86_64" => Some("always cpu 0"),
        _ => None,
    }
}

/// The first `getcpu (CPU, NODE), ..., the kernel (CPU, NODE)` disagreement `cpus` reports.
fn disagreement(stderr: &str) -> Option<(u64, u64)> {
    let line = stderr.lines().find(|l| l.contains(": getcpu ("))?;
    let number = |after: &str| -> Option<u64> {
        let rest = &line[line.find(after)? + after.len()..];
        rest[..rest.find(',')?].parse().ok()
    };
    Some((number("getcpu (")?, number("the kernel (")?))
}

#[test]
fn under_qemu_user_the_dispatch_serves_on_every_arch() {
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let exe = dir.join("cpus");
        // Natively (i686 under IA32 emulation) the area serves as on x86_64; qemu-user
        // answers rseq with ENOSYS, and the dispatch serves: the vDSO's getcpu where the
        // guest's vDSO exports one (DESIGN.md's table), else the system call.
        let tag = match arch.runner {
            None => native_tag(),
            Some(_) if arch.now_syscall.contains(&"getcpu") => "[syscall]",
            Some(_) => "[vdso]",
        };
        let out = run_for(Some(&arch), &exe, &["backend"]);
        assert_eq!(stdout(&out), format!("backend {tag}\n"), "{name}");
        // One rseq attempt, not one per read: qemu's -strace reports each as unknown.
        if arch.runner.is_some() {
            let out = run_within(Some(&arch), &["-strace"], &exe, &["reads", "100"]);
            let err = String::from_utf8_lossy(&out.stderr);
            let unknown = format!("Unknown syscall {}", rseq_number(&arch));
            assert_eq!(
                err.lines().filter(|l| l.ends_with(&unknown)).count(),
                1,
                "{name}: rseq attempts:\n{err}"
            );
        }
        if let Some(wrong) = known_wrong_vdso_getcpu(&arch) {
            // The checks fail, in the known way (the reads disagree with the kernel). When
            // they pass, the entry can go.
            let fixed = format!(
                "{name}: the vDSO's getcpu is known to be wrong here ({wrong}), yet cpus \
                 passed: remove the entry from known_wrong_vdso_getcpu"
            );
            let out = run_within(Some(&arch), &[], &exe, &["check", "5"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{fixed}");
            let Some((ours, kernel)) = disagreement(&err) else {
                panic!("{name} ({wrong}): {:?}: {err}", out.status);
            };
            assert!(ours == 0 && kernel != 0, "{name}: {err}");
            let out = run_within(Some(&arch), &[], &exe, &["fork"]);
            assert!(!out.status.success(), "{fixed}");
            continue;
        }
        let cpus = allowed_cpus().len();
        let line = ok_line(&run_for(Some(&arch), &exe, &["check", "5"]), tag, &name);
        assert_check_covered(&line, 5, cpus, &name);
        ok_line(&run_for(Some(&arch), &exe, &["fork"]), tag, &name);
    }
}

/// glibc's rseq area of the calling thread, where glibc registered one (2.35+: its size
/// and its offset from the thread pointer are exported): `cpu_id`, the second word.
fn glibc_rseq_cpu() -> Option<u32> {
    unsafe extern "C" {
        static __rseq_size: libc::c_uint;
        static __rseq_offset: isize;
    }
    // SAFETY: glibc's constants, set before main and never written again.
    let (size, offset) = unsafe { (__rseq_size, __rseq_offset) };
    if size == 0 {
        return None;
    }
    let tp: usize;
    // SAFETY: on x86_64 the word at fs:0 is the thread pointer itself (the TCB's self
    // pointer).
    unsafe { std::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly)) };
    let cpu_id = (tp as isize + offset) as usize + 4;
    // SAFETY: the kernel writes `cpu_id` while the thread runs; a volatile read of the
    // aligned u32 of the thread's own registered area.
    Some(unsafe { std::ptr::read_volatile(cpu_id as *const u32) })
}

/// Pins the calling thread to `cpus` (libc's sched_setaffinity on thread 0: this one).
fn pin(cpus: &[usize]) {
    // SAFETY: the set is ours and every cpu is below CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus {
            libc::CPU_SET(c, &mut set);
        }
        assert_eq!(
            libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set),
            0,
            "sched_setaffinity {cpus:?}"
        );
    }
}

#[test]
fn library_mode_leaves_rseq_to_glibc_and_answers_the_pinned_cpu() {
    use tinyrt_rt::cpu::{self, Backend};
    use tinyrt_rt::time::Backend as Served;
    let cpus = two_cpus();
    assert!(
        matches!(
            cpu::backend(),
            Backend::Call(Served::Vdso {
                symbol: "__vdso_getcpu",
                ..
            })
        ),
        "{:?}",
        cpu::backend()
    );
    assert!(!cpu::rseq_registered());
    assert!(
        glibc_rseq_cpu().is_some(),
        "glibc registered no rseq area for this thread"
    );
    for round in 0..3 {
        for &c in &cpus {
            pin(&[c]);
            for _ in 0..100 {
                // SAFETY: sched_getcpu has no preconditions.
                let glibc = unsafe { libc::sched_getcpu() };
                let ours = cpu::getcpu().unwrap();
                let kernel = cpu::syscall_getcpu().unwrap();
                let what = format!("round {round}, pinned to {c}");
                assert_eq!(glibc, c as i32, "{what}: sched_getcpu");
                assert_eq!(glibc_rseq_cpu(), Some(c as u32), "{what}: glibc's area");
                assert_eq!(ours, kernel, "{what}: getcpu against the system call");
                assert_eq!(ours.0 as usize, c, "{what}: getcpu");
                assert_eq!(cpu::current().unwrap() as usize, c, "{what}: current");
                assert_eq!(
                    cpu::getcpu_any_thread().unwrap(),
                    kernel,
                    "{what}: dispatch"
                );
            }
        }
    }
    pin(&cpus);
    assert!(!cpu::rseq_registered());
    assert!(matches!(cpu::backend(), Backend::Call(_)));
}

/// Set in the run of this test binary that
/// `library_mode_makes_no_rseq_call_where_glibc_made_none` starts.
const LIBRARY_CHILD: &str = "TINYRT_TESTS_CPU_LIBRARY_CHILD";

/// Library mode never registers an area, not even where glibc registered none (its
/// `glibc.pthread.rseq=0` tunable): this test binary, run again under strace with the
/// tunable, makes no rseq call at all, and getcpu still answers the pinned CPU.
#[test]
fn library_mode_makes_no_rseq_call_where_glibc_made_none() {
    use tinyrt_rt::cpu;
    let name = "library_mode_makes_no_rseq_call_where_glibc_made_none";
    if std::env::var_os(LIBRARY_CHILD).is_some() {
        unsafe extern "C" {
            static __rseq_size: libc::c_uint;
        }
        // SAFETY: glibc's constant, set before main.
        assert_eq!(unsafe { __rseq_size }, 0, "glibc registered rseq after all");
        assert!(matches!(cpu::backend(), cpu::Backend::Call(_)));
        let cpus = two_cpus();
        for &c in &cpus {
            pin(&[c]);
            // SAFETY: sched_getcpu has no preconditions.
            assert_eq!(unsafe { libc::sched_getcpu() }, c as i32, "pinned to {c}");
            assert_eq!(cpu::getcpu().unwrap().0 as usize, c, "pinned to {c}");
            assert_eq!(cpu::current().unwrap() as usize, c, "pinned to {c}");
        }
        pin(&cpus);
        assert!(!cpu::rseq_registered());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let cmd = [
        exe.as_os_str(),
        name.as_ref(),
        "--exact".as_ref(),
        "--test-threads=1".as_ref(),
    ];
    let mut c = Command::new("strace");
    let log = common::root().join(format!(
        "target/tinyrt-tests/strace-cpu-library-{}.txt",
        std::process::id()
    ));
    c.args(["-qq", "-f", "-e", "trace=rseq,sched_setaffinity", "-o"])
        .arg(&log)
        .args(cmd)
        .env(LIBRARY_CHILD, "1")
        .env("GLIBC_TUNABLES", "glibc.pthread.rseq=0")
        .stdin(Stdio::null());
    let out = c
        .output()
        .expect("run strace (scripts/test installs what the tests need)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let report = stdout(&out);
    assert!(
        out.status.success() && report.contains("test result: ok. 1 passed"),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        calls(&text, "rseq"),
        [],
        "rseq calls in library mode:\n{text}"
    );
    // Not vacuous: strace traced the child's threads (the test pins its own).
    assert!(
        calls(&text, "sched_setaffinity").len() >= 3,
        "strace saw no pinning:\n{text}"
    );
}
