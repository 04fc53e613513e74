//! `tinyrt::random`: the vDSO's getrandom with tinyrt's state pool, and the system call.
//!
//! Whether this machine's vDSO exports getrandom is read from a dump of the live image with
//! pyelftools (a tool nobody here wrote); where it does, the `random` example must use it.

mod common;
use common::{Build, example, pyelftools_list, root, run, stdout};
use std::collections::HashSet;
use tinyrt_rt::random::{self, Flags};
use tinyrt_rt::time::Backend;

/// The symbol x86_64's vDSO exports (Linux 6.11+; the tests run on an x86_64 host).
const SYMBOL: &str = "__vdso_getrandom@LINUX_2.6";

/// Whether the live vDSO exports getrandom (pyelftools on a dump made by the `vdso`
/// example).
fn live_vdso_has_getrandom() -> bool {
    let dump = root().join("target/tinyrt-tests/live-vdso-random.so");
    let out = run(
        &example(Build::Release, "vdso"),
        &["--dump".as_ref(), dump.as_os_str()],
    );
    assert!(out.status.success(), "vdso --dump failed");
    let listed = pyelftools_list(&dump);
    let name = SYMBOL.split('@').next().unwrap();
    listed.lines().any(|l| l.starts_with(&format!("{name}@")))
}

/// Runs the example; (stdout, the backend it reported).
fn random_example(args: &[&str]) -> (Vec<u8>, String) {
    let out = run(&example(Build::Release, "random"), args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "random {args:?}: {err}");
    let backend = err
        .split_whitespace()
        .find_map(|w| w.strip_prefix("backend="))
        .unwrap_or_else(|| panic!("no backend in {err:?}"))
        .to_owned();
    (out.stdout, backend)
}

fn hex(text: &[u8]) -> Vec<u8> {
    let t = std::str::from_utf8(text).unwrap().trim_end();
    assert!(t.len().is_multiple_of(2), "{t}");
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap())
        .collect()
}

/// The system calls `filter` selects of a run of `random args`, one line each (strace).
fn strace(args: &[&str], filter: &str) -> Vec<String> {
    let exe = example(Build::Release, "random");
    let mut cmd = vec![exe.to_str().unwrap()];
    cmd.extend_from_slice(args);
    let (out, log) = common::strace(&cmd, Some(filter));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    log.lines().map(str::to_owned).collect()
}

#[test]
fn the_vdso_path_makes_no_getrandom_system_call_after_set_up() {
    if !live_vdso_has_getrandom() {
        common::skip(
            "vDSO getrandom",
            "this kernel's vDSO does not export it (Linux < 6.11)",
        );
        return;
    }
    // 256 calls of 16 bytes.
    let (out, backend) = random_example(&["4096", "--chunk", "16"]);
    assert_eq!(backend, SYMBOL);
    assert_eq!(hex(&out).len(), 4096);
    let lines = strace(&["4096", "--chunk", "16"], "trace=getrandom,mmap");
    let getrandom: Vec<&String> = lines.iter().filter(|l| l.contains("getrandom(")).collect();
    // The vDSO seeds a fresh state with one system call (32 bytes of key); every call after
    // that is served in user space. (A second one only if the kernel reseeded meanwhile.)
    assert!(
        !getrandom.is_empty() && getrandom.len() <= 2,
        "expected the one seeding call: {getrandom:#?}"
    );
    assert!(
        getrandom.iter().all(|l| l.contains(", 32, 0)")),
        "{getrandom:#?}"
    );
    // One page of states, mapped exactly as the kernel's parameters say (lib/vdso/
    // getrandom.c: PROT_READ|PROT_WRITE, MAP_DROPPABLE|MAP_ANONYMOUS; strace may not know
    // MAP_DROPPABLE's name, 0x08).
    let mmaps: Vec<&String> = lines.iter().filter(|l| l.contains("mmap(")).collect();
    assert_eq!(mmaps.len(), 1, "{mmaps:#?}");
    let m = mmaps[0];
    assert!(
        m.contains("PROT_READ|PROT_WRITE,")
            && m.contains("MAP_ANONYMOUS")
            && (m.contains("MAP_DROPPABLE") || m.contains("0x8 /*"))
            && !m.contains("MAP_PRIVATE")
            && !m.contains("MAP_SHARED"),
        "{m}"
    );
    // The same through the system call: one per call.
    let lines = strace(&["4096", "--chunk", "16", "--syscall"], "trace=getrandom");
    assert_eq!(
        lines.iter().filter(|l| l.contains("getrandom(")).count(),
        256
    );
}

/// Without a vDSO (valgrind gives its guests none) the example reports the system call and
/// still prints its bytes.
#[test]
fn without_a_vdso_the_system_call_serves() {
    let exe = example(Build::Release, "random");
    let out = std::process::Command::new("valgrind")
        .args(["-q", "--error-exitcode=99"])
        .arg(&exe)
        .args(["48", "--chunk", "16"])
        .output()
        .expect("valgrind (install it: .ci/run lists the packages)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("bytes=48 calls=3 backend=syscall"), "{err}");
    assert_eq!(hex(&out.stdout).len(), 48);
}

/// The ptrace harness removes AT_SYSINFO_EHDR: each call is then one getrandom system call;
/// untouched, the same run makes only the vDSO's seeding call.
#[cfg(target_arch = "x86_64")]
#[test]
fn without_a_vdso_under_ptrace_every_call_is_a_system_call() {
    use common::ptrace::{Tamper, run_traced};
    const GETRANDOM: i64 = libc::SYS_getrandom;
    let exe = example(Build::Release, "random");
    let hidden = run_traced(&exe, &["64", "--chunk", "16"], Tamper::HideVdso);
    assert_eq!(hidden.code, 0);
    assert_eq!(hex(hidden.stdout.as_bytes()).len(), 64);
    assert_eq!(hidden.count(GETRANDOM), 4);
    if live_vdso_has_getrandom() {
        let plain = run_traced(&exe, &["64", "--chunk", "16"], Tamper::None);
        assert_eq!(plain.code, 0);
        assert!(plain.count(GETRANDOM) <= 1, "{}", plain.count(GETRANDOM));
    }
}

/// Pearson's chi-square of the byte frequencies against a uniform distribution, and no
/// 64-byte block twice.
fn check_statistics(what: &str, bytes: &[u8]) {
    let mut counts = [0u64; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let expected = bytes.len() as f64 / 256.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    // 255 degrees of freedom: mean 255, sd 22.6. Outside [150, 380] has probability below
    // one in a million (Wilson-Hilferty) for a uniform source.
    assert!(
        (150.0..=380.0).contains(&chi2),
        "{what}: chi-square {chi2:.1}"
    );
    let mut seen = HashSet::new();
    for block in bytes.chunks_exact(64) {
        assert!(seen.insert(block), "{what}: a 64-byte block repeats");
    }
    println!("{what}: {} bytes, chi-square {chi2:.1}", bytes.len());
}

#[test]
fn sixteen_mib_look_uniform_on_both_paths_and_two_runs_differ() {
    const N: usize = 16 << 20;
    for extra in [&[][..], &["--syscall"][..]] {
        let mut args = vec!["16777216", "--raw"];
        args.extend_from_slice(extra);
        let (bytes, backend) = random_example(&args);
        assert_eq!(bytes.len(), N);
        check_statistics(&format!("random {extra:?} ({backend})"), &bytes);
    }
    // Two processes never print the same bytes.
    let (a, _) = random_example(&["64"]);
    let (b, _) = random_example(&["64"]);
    assert_ne!(a, b);
}

/// Library mode (this std test program): the vDSO path where the kernel offers it, and the
/// flags' semantics as the system call has them.
#[test]
fn library_mode_reads_and_flags() {
    let mut buf = [0u8; 64];
    assert_eq!(random::getrandom(&mut buf, Flags::NONE), Ok(64));
    assert_ne!(buf, [0; 64]);
    for f in [
        Flags::NONBLOCK,
        Flags::RANDOM,
        Flags::INSECURE,
        Flags::NONBLOCK | Flags::INSECURE,
    ] {
        assert_eq!(random::getrandom(&mut buf, f), Ok(64), "{f:?}");
        assert_eq!(random::syscall::getrandom(&mut buf, f), Ok(64), "{f:?}");
    }
    // What the kernel refuses, both paths refuse the same way.
    let bad = [Flags::RANDOM | Flags::INSECURE, Flags::from_bits(0x80)];
    for f in bad {
        assert_eq!(
            random::getrandom(&mut buf, f),
            Err(tinyrt_rt::Errno::EINVAL),
            "{f:?}"
        );
        assert_eq!(
            random::syscall::getrandom(&mut buf, f),
            Err(tinyrt_rt::Errno::EINVAL)
        );
    }
    assert_eq!(random::getrandom(&mut [], Flags::NONE), Ok(0));
    // fill: a buffer larger than the kernel's per-call maximum of 32 MiB - 1 would take
    // two calls; a large one at least works end to end.
    let mut big = vec![0u8; 1 << 20];
    random::fill(&mut big).unwrap();
    assert!(big.iter().filter(|&&b| b == 0).count() < 8192);
    if live_vdso_has_getrandom() {
        match random::backend() {
            Backend::Vdso { symbol, .. } => assert_eq!(symbol, "__vdso_getrandom"),
            Backend::Syscall => panic!("the vDSO exports getrandom but it is not used"),
        }
    }
    // In library mode there is no initial stack to read AT_RANDOM from.
    assert_eq!(random::at_random(), None);
}

/// After a fork, the child's states are wiped by the kernel (MAP_DROPPABLE implies
/// wipe-on-fork) and the vDSO reseeds: parent and child never produce the same bytes. With
/// states mapped as plain private memory, both would continue from the same state.
#[test]
fn parent_and_child_differ_after_fork() {
    let mut warm = [0u8; 16];
    random::fill(&mut warm).unwrap(); // The pool and a state are in use before the fork.
    let mut fds = [0; 2];
    // SAFETY: pipe fills fds.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child only calls async-signal-safe functions (tinyrt's getrandom is
    // memory reads and writes, the vDSO and system calls) and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut mine = [0u8; 64];
        let code = match random::fill(&mut mine) {
            // SAFETY: writes our buffer to the pipe.
            Ok(()) => (unsafe { libc::write(fds[1], mine.as_ptr().cast(), 64) } != 64) as i32,
            Err(_) => 2,
        };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    let mut parent = [0u8; 64];
    random::fill(&mut parent).unwrap();
    let mut child = [0u8; 64];
    // SAFETY: reads into our buffer; closes our copies of the descriptors.
    unsafe {
        libc::close(fds[1]);
        assert_eq!(libc::read(fds[0], child.as_mut_ptr().cast(), 64), 64);
        libc::close(fds[0]);
    }
    let mut status = 0;
    // SAFETY: waits for our child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert_ne!(parent, child);
    assert_ne!(child, [0; 64]);
}

/// `random --seed` prints AT_RANDOM's 16 bytes: the ones on its initial stack, so each run
/// has its own; and the example refuses bad arguments with exit status 2.
#[test]
fn at_random_is_a_per_process_seed_and_bad_arguments_are_refused() {
    let a = random_example_seed();
    let b = random_example_seed();
    assert_eq!((a.len(), b.len()), (16, 16));
    assert_ne!(a, b);
    for bad in [
        &["--chunk", "0"][..],
        &["--flags", "sometimes"],
        &["12x"],
        &["--chunk"],
    ] {
        let out = run(&example(Build::Release, "random"), bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    // An error from the kernel is reported, exit status 1.
    let out = run(
        &example(Build::Release, "random"),
        &["8", "--flags", "random,insecure"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("EINVAL"));
}

fn random_example_seed() -> Vec<u8> {
    let out = run(&example(Build::Release, "random"), &["--seed"]);
    assert!(out.status.success());
    hex(&out.stdout)
}

/// When the states cannot be mapped (here a seccomp filter answers EPERM to mmap), the vDSO
/// path is given up: every call is a system call, and the example says so instead of naming
/// the vDSO function it found.
#[test]
fn without_states_the_system_call_serves_and_says_so() {
    let mut cmd = std::process::Command::new(example(Build::Release, "random"));
    cmd.args(["64", "--chunk", "16"]);
    let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    common::with_seccomp(
        &mut cmd,
        common::seccomp_program(common::AUDIT_ARCH_X86_64, &[(libc::SYS_mmap, eperm)]),
    );
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("bytes=64 calls=4 backend=syscall"), "{err}");
    assert_eq!(hex(&out.stdout).len(), 64);
    // time::backend, which `now -v` prints per function, agrees.
    let mut cmd = std::process::Command::new(example(Build::Release, "now"));
    cmd.args(["-v", "time"]);
    common::with_seccomp(
        &mut cmd,
        common::seccomp_program(common::AUDIT_ARCH_X86_64, &[(libc::SYS_mmap, eperm)]),
    );
    let text = stdout(&cmd.output().unwrap());
    assert!(
        text.contains("\n# getrandom: syscall (not served by __vdso_getrandom)\n"),
        "{text}"
    );
    assert!(text.contains("\n# time: vdso "), "{text}");
}
