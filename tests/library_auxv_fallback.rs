//! Library mode when prctl(PR_GET_AUXV) is refused (kernels before 6.4, or a sandbox that
//! filters it): the auxiliary vector comes from /proc/self/auxv and the vDSO is still found.
//! The test re-runs this test binary under a seccomp filter that fails exactly that prctl
//! with EPERM, and the child half checks the outcome.

mod common;
use tinyrt_rt::auxv::{self, Source};
use tinyrt_rt::time::{self, Backend, ClockId, Function};

const CHILD: &str = "TINYRT_AUXV_FALLBACK_CHILD";

#[test]
fn child_half_reads_proc_self_auxv() {
    if std::env::var_os(CHILD).is_none() {
        return; // Only meaningful in the filtered child started below.
    }
    assert_eq!(auxv::source(), Source::ProcSelfAuxv);
    // SAFETY: getauxval has no preconditions.
    let ehdr = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) } as usize;
    assert_eq!(auxv::sysinfo_ehdr(), Some(ehdr));
    assert!(matches!(
        time::backend(Function::ClockGettime),
        Backend::Vdso { .. }
    ));
    assert!(time::clock_gettime(ClockId::MONOTONIC).is_ok());
    println!("CHILD-CHECKED");
}

#[cfg(target_arch = "x86_64")]
#[test]
fn without_pr_get_auxv_the_proc_file_serves() {
    use common::{bpf_jeq as jeq, bpf_stmt as stmt};
    use libc::{BPF_ABS, BPF_K, BPF_LD, BPF_RET, BPF_W};
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let pr_get_auxv = 0x4155_5856; // PR_GET_AUXV ("AUXV")
    let prog = vec![
        stmt(BPF_LD | BPF_W | BPF_ABS, 4),    // arch
        jeq(common::AUDIT_ARCH_X86_64, 0, 4), // not x86_64: allow
        stmt(BPF_LD | BPF_W | BPF_ABS, 0),    // nr
        jeq(libc::SYS_prctl as u32, 0, 2),
        stmt(BPF_LD | BPF_W | BPF_ABS, 16), // args[0], low half
        jeq(pr_get_auxv, 1, 0),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(
            BPF_RET | BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
    ];
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--exact",
        "child_half_reads_proc_self_auxv",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1");
    common::with_seccomp(&mut cmd, prog);
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("CHILD-CHECKED"), "{text}");
}

const VALGRIND_CHILD: &str = "TINYRT_VALGRIND_CHILD";

#[test]
fn child_half_under_valgrind() {
    if std::env::var_os(VALGRIND_CHILD).is_none() {
        return; // Only meaningful under valgrind, started below.
    }
    // valgrind's prctl(PR_GET_AUXV) describes valgrind's own process (with a vDSO the
    // guest may not touch); its /proc/self/auxv is the guest's, without one. The file wins.
    assert_eq!(auxv::source(), Source::ProcSelfAuxv);
    assert_eq!(auxv::sysinfo_ehdr(), None);
    served_by_the_system_call();
    println!("VALGRIND-CHILD-CHECKED");
}

#[test]
fn library_mode_under_valgrind_uses_the_syscalls() {
    if std::env::var_os(VALGRIND_CHILD).is_some() || std::env::var_os(CHILD).is_some() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("valgrind")
        .args(["-q", "--error-exitcode=99"])
        .arg(exe)
        .args([
            "--exact",
            "child_half_under_valgrind",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(VALGRIND_CHILD, "1")
        .output()
        .expect("valgrind");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("VALGRIND-CHILD-CHECKED"), "{text}");
}

const PRCTL_ALONE_CHILD: &str = "TINYRT_AUXV_PRCTL_ALONE_CHILD";

/// Without a vDSO the system call serves CLOCK_MONOTONIC, no earlier than glibc's read
/// before it.
fn served_by_the_system_call() {
    assert_eq!(time::backend(Function::ClockGettime), Backend::Syscall);
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(r, 0);
    let before = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    let ours = time::clock_gettime(ClockId::MONOTONIC).unwrap().as_nanos();
    assert!(before <= ours, "{before} <= {ours}");
}

/// From now on this thread's `openat` calls fail with EACCES (seccomp; the filter binds the
/// calling thread only): /proc/self/auxv cannot be read, prctl(PR_GET_AUXV) still can.
#[cfg(target_arch = "x86_64")]
fn refuse_openat_in_this_thread() {
    let refuse = libc::SECCOMP_RET_ERRNO | libc::EACCES as u32;
    let prog = common::seccomp_program(common::AUDIT_ARCH_X86_64, &[(libc::SYS_openat, refuse)]);
    common::seccomp_this_thread(&prog);
}

/// The child half of the test below.
#[cfg(target_arch = "x86_64")]
#[test]
fn child_half_with_prctl_alone() {
    if std::env::var_os(PRCTL_ALONE_CHILD).is_none() {
        return; // Only meaningful in the filtered child started below.
    }
    refuse_openat_in_this_thread();
    // SAFETY: getauxval has no preconditions.
    let glibc = |key| unsafe { libc::getauxval(key) } as usize;
    // The vector is prctl's: its numbers are used ...
    assert_eq!(auxv::source(), Source::Prctl);
    assert_eq!(auxv::page_size(), Some(glibc(libc::AT_PAGESZ)));
    let prctl_ehdr = auxv::get(auxv::Key::from_raw(libc::AT_SYSINFO_EHDR as usize));
    assert_eq!(prctl_ehdr, Some(glibc(libc::AT_SYSINFO_EHDR)));
    // ... but not its vDSO address, which no file vouches for: the system calls serve.
    assert_eq!(auxv::sysinfo_ehdr(), None);
    served_by_the_system_call();
    println!("PRCTL-ALONE-CHECKED");
}

/// Library mode where only prctl(PR_GET_AUXV) can be read (/proc/self/auxv refused by a
/// seccomp filter on `openat`): its copy serves the numbers, never `AT_SYSINFO_EHDR`, which
/// under an emulator can name the host's vDSO (valgrind's prctl does; valgrind emulates the
/// file without an `openat`, so it cannot be refused this way there). Natively prctl's
/// address is the right one: the test tells the rule, not a crash.
#[cfg(target_arch = "x86_64")]
#[test]
fn without_the_proc_file_the_vdso_address_is_not_taken_from_prctl() {
    if std::env::var_os(PRCTL_ALONE_CHILD).is_some()
        || std::env::var_os(VALGRIND_CHILD).is_some()
        || std::env::var_os(CHILD).is_some()
    {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let args = [
        "--exact",
        "child_half_with_prctl_alone",
        "--nocapture",
        "--test-threads=1",
    ];
    let out = std::process::Command::new(&exe)
        .args(args)
        .env(PRCTL_ALONE_CHILD, "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PRCTL-ALONE-CHECKED"), "{text}");
}
