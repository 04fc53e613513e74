//! `tinyrt::signal` in tinyrt programs (the `signals` example) on every architecture, in
//! release and static-PIE builds: handlers run and return (i686 and armv7 through both of
//! their restorers), siginfo names the sender (ourselves, and this test process), masks
//! hold and release, signalfd and sigtimedwait take what was sent, the action `set_action`
//! returned installs again (a handler, SIG_IGN, SIG_DFL), and a handler on the alternate
//! stack reports a main-stack overflow. `process::abort` and `main!`'s
//! `stack_overflow_message` (the `overflow` example) end a program as std's do
//! (`tests/tools/overflow_std.rs`): the same stderr, killed by the same signal, also for
//! an overflow on a spawned thread (the example built with `threads`). On x86_64,
//! a handler installed without a restorer kills the process with SIGSEGV when it returns:
//! why every action gets one.

mod common;

use common::{Build, example};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Runs `signals CHECK` and asserts it passed: exit 0, no `FAILED` line, and every
/// `ok` line that `expect` names.
fn passes(mut cmd: Command, what: &str, expect: &[&str]) {
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("FAILED"),
        "{what}: {:?}\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for e in expect {
        assert!(
            text.lines().any(|l| l.starts_with("ok ") && l.contains(e)),
            "{what}: no `ok ... {e}` line:\n{text}"
        );
    }
}

const ALL: [&str; 6] = [
    "handler ran twice and returned",
    "siginfo carries our pid and SI_TKILL",
    "a blocked signal waits",
    "signalfd reads what kill sent",
    "timed_wait times out, then takes",
    "a saved action installed again: the original handler runs",
];

/// `signals external`: this process sends SIGUSR1; the program's handler must see our pid.
fn external(mut cmd: Command, what: &str) {
    let mut child = cmd.arg("external").stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = lines.next().expect("a ready line").unwrap();
    let pid: i32 = ready
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{what}: {ready}"));
    // Under qemu-user the guest's pid is qemu's: the one we spawned.
    assert_eq!(pid as u32, child.id(), "{what}");
    // SAFETY: kill takes no pointers; `pid` is our child, alive (it is waiting).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    let got = lines.next().expect("an answer").unwrap();
    assert_eq!(got, format!("ok from {}", std::process::id()), "{what}");
    assert!(child.wait().unwrap().success(), "{what}");
}

fn all_checks(dir_or_exe: &dyn Fn() -> Command, what: &str) {
    let mut c = dir_or_exe();
    c.arg("all");
    passes(c, &format!("{what} all"), &ALL);
    let mut c = dir_or_exe();
    c.arg("overflow");
    passes(
        c,
        &format!("{what} overflow"),
        &["stack overflow caught at depth"],
    );
    external(dir_or_exe(), what);
}

#[test]
fn native_release_and_pie() {
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "signals");
        all_checks(&|| Command::new(&exe), &format!("x86_64 {b:?}"));
    }
}

#[test]
fn every_architecture_release_and_pie() {
    for arch in common::ARCHES {
        for features in [&[][..], &["pie"][..]] {
            let Some(dir) = common::cross_examples_with(&arch, features) else {
                continue;
            };
            let exe = dir.join("signals");
            let what = format!("{} {features:?}", arch.name());
            all_checks(&|| arch.command(&exe), &what);
        }
    }
}

/// The control for `overflow`: the same handler without the alternate stack cannot run
/// (the kernel has no stack to build its frame on), and the process dies of SIGSEGV.
#[test]
fn overflow_without_the_alternate_stack_kills() {
    use std::os::unix::process::ExitStatusExt;
    let exe = example(Build::Release, "signals");
    let out = Command::new(&exe)
        .arg("overflow-no-altstack")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSEGV), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("caught"));
}

/// x86_64: a handler installed by a raw rt_sigaction without SA_RESTORER. When it
/// returns, the kernel's frame has no return address but 0: the process dies of SIGSEGV.
/// The same handler with a restorer (tinyrt's `signals handler` above) returns.
#[cfg(target_arch = "x86_64")]
#[test]
fn x86_64_without_a_restorer_a_returning_handler_crashes() {
    use std::os::unix::process::ExitStatusExt;
    extern "C" fn nothing(_: libc::c_int) {}
    #[repr(C)]
    struct KernelSigaction {
        handler: usize,
        flags: u64,
        restorer: usize,
        mask: u64,
    }
    let run = |restorer: bool| -> std::process::ExitStatus {
        // SAFETY: the child only makes system calls, then exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            // std's SIGSEGV handler (its stack-overflow report) would catch the kernel's
            // SIGSEGV and return: the default action must see it.
            // SAFETY: SIG_DFL is a valid disposition.
            unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
            // The restorer glibc gives its own sigaction: found by asking the kernel what
            // glibc installed for a throwaway signal.
            let mut glibc_restorer = 0;
            if restorer {
                // SAFETY: a zeroed sigaction is valid; SIGURG's handler never runs here.
                unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = nothing as *const () as usize;
                    libc::sigaction(libc::SIGURG, &sa, std::ptr::null_mut());
                    let mut old = KernelSigaction {
                        handler: 0,
                        flags: 0,
                        restorer: 0,
                        mask: 0,
                    };
                    libc::syscall(libc::SYS_rt_sigaction, libc::SIGURG, 0usize, &mut old, 8);
                    glibc_restorer = old.restorer;
                }
            }
            let act = KernelSigaction {
                handler: nothing as *const () as usize,
                flags: if restorer { 0x0400_0000 } else { 0 },
                restorer: glibc_restorer,
                mask: 0,
            };
            // SAFETY: the kernel reads one struct; the handler does nothing.
            unsafe {
                let r = libc::syscall(libc::SYS_rt_sigaction, libc::SIGUSR1, &act, 0usize, 8usize);
                if r != 0 {
                    libc::_exit(3);
                }
                let r = libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid() as libc::c_long,
                    libc::syscall(libc::SYS_gettid),
                    libc::SIGUSR1 as libc::c_long,
                );
                if r != 0 {
                    libc::_exit(5);
                }
                libc::_exit(0);
            }
        }
        let mut status = 0;
        // SAFETY: `status` is ours; `pid` is our child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        std::process::ExitStatus::from_raw(status)
    };
    let without = run(false);
    assert_eq!(without.signal(), Some(libc::SIGSEGV), "{without:?}");
    let with = run(true);
    assert_eq!(with.code(), Some(0), "{with:?}");
}

/// The alternate stack is sized from the kernel's AT_MINSIGSTKSZ: at least four times it,
/// and at least SIGSTKSZ (`signals overflow` prints its size).
#[test]
fn alternate_stack_is_sized_from_at_minsigstksz() {
    let exe = example(Build::Release, "signals");
    let out = Command::new(&exe).arg("overflow").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let size: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("alternate stack "))
        .and_then(|l| l.strip_suffix(" bytes"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    // SAFETY: getauxval has no preconditions.
    let min = unsafe { libc::getauxval(51) } as usize; // AT_MINSIGSTKSZ
    assert!(
        size >= 4 * min && size >= 8192,
        "{size} for AT_MINSIGSTKSZ {min}"
    );
    assert_eq!(size % 4096, 0);
}

/// In library mode (this std test) handlers stay glibc's: `set_action` refuses with
/// EOPNOTSUPP and changes nothing, while masks, `pending`, `raise` and `timed_wait` work.
#[test]
fn library_mode_refuses_handlers_but_masks_and_waits_work() {
    use tinyrt_rt::signal::{self, Action, Handler, SigSet, Signal};
    let before = signal::action(Signal::USR2).unwrap();
    // SAFETY: nothing is installed (it is refused).
    let r = unsafe { signal::set_action(Signal::USR2, &Action::new(Handler::Ignore)) };
    assert_eq!(r.err(), Some(tinyrt_rt::Errno::EOPNOTSUPP));
    assert_eq!(
        format!("{:?}", signal::action(Signal::USR2).unwrap()),
        format!("{before:?}")
    );
    let set = SigSet::EMPTY.with(Signal::USR2);
    let old = signal::block(set).unwrap();
    assert!(signal::mask().contains(Signal::USR2));
    signal::raise(Signal::USR2).unwrap();
    assert!(signal::pending().contains(Signal::USR2));
    let info = signal::timed_wait(set, Some(std::time::Duration::from_secs(5)))
        .unwrap()
        .expect("the raised signal");
    assert_eq!(info.signal(), Some(Signal::USR2));
    assert_eq!(info.pid() as u32, std::process::id());
    assert_eq!(info.code(), signal::SI_TKILL);
    assert_eq!(
        signal::timed_wait(set, Some(std::time::Duration::from_millis(20)))
            .unwrap()
            .map(|i| i.signo()),
        None
    );
    signal::set_mask(old).unwrap();
}

/// The std twin of the `overflow` example, built once with rustc.
fn overflow_std() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let root = common::root();
            let dir = root.join("target/tinyrt-tests");
            std::fs::create_dir_all(&dir).unwrap();
            let exe = dir.join("overflow_std");
            let src = root.join("tests/tools/overflow_std.rs");
            let out = Command::new("rustc")
                .args(["--edition", "2024", "-O", "-o"])
                .args([&exe, &src])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            exe
        })
        .clone()
}

/// How a run ended: the signal that killed it (None: it exited), and its stderr with the
/// thread id in `' (N)` written `(TID)` once it was checked to be the process's id (the
/// main thread's) or another (a spawned thread's), and without qemu-user's own line about
/// the guest's signal.
fn ended(mut cmd: Command, what: &str) -> (Option<i32>, String, String) {
    use std::os::unix::process::ExitStatusExt;
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let err: String = err
        .lines()
        .filter(|l| !l.starts_with("qemu: uncaught target signal"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut err = err;
    if let Some(at) = err.find("' (") {
        let digits: String = err[at + 3..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let tid: u32 = digits
            .parse()
            .unwrap_or_else(|_| panic!("{what}: no thread id: {err:?}"));
        if err.starts_with("\nthread 'main' (") {
            assert_eq!(tid, pid, "{what}: not our pid: {err:?}");
        } else {
            assert_ne!(tid, pid, "{what}: the main thread's id: {err:?}");
        }
        err = err.replace(&format!("' ({tid})"), "' (TID)");
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.signal(), err, stdout)
}

/// The faults that are not an overflow: a null pointer, a write into a `static`
/// (`.rodata`), into the unmapped page just below a fresh mapping (with an unmapped page
/// above it: no run of mappings up to the stack), into a PROT_NONE page, into a read-only
/// page of the main stack below the frame (SEGV_ACCERR with mapped pages below it).
const NOT_OVERFLOWS: [&str; 5] = [
    "null",
    "rodata",
    "below-mapping",
    "prot-none",
    "stack-read-only",
];

/// No stack limit, for qemu-user (whose guest stack is then a fixed 8 MiB with a PROT_NONE
/// guard page below it, and which reserves address space of its own).
const UNLIMITED: &str = "ulimit -s unlimited";
/// No stack limit, natively: the address space limited (1 GB) so that a recursion ends
/// before memory does (the kernel then refuses to grow the stack: SEGV_MAPERR).
const UNLIMITED_NATIVE: &str = "ulimit -s unlimited && ulimit -v 1000000";

/// `c` run by a shell after `limits` (`ulimit` commands; none when empty).
fn with_limits(limits: &str, c: Command) -> Command {
    if limits.is_empty() {
        return c;
    }
    let mut s = Command::new("sh");
    s.arg("-c")
        .arg(format!("{limits} && exec \"$@\""))
        .arg("sh")
        .arg(c.get_program())
        .args(c.get_args());
    s
}

/// The `overflow` example under `limits`, std's twin (native) under `std_limits`:
/// `recurse` prints std's two lines and dies of SIGABRT, as std's does with a stack limit;
/// every fault of [`NOT_OVERFLOWS`] dies of SIGSEGV with nothing printed, as std's does:
/// a fault elsewhere is not an overflow. `kill` (a SIGSEGV sent, not a fault) also ends by
/// SIGSEGV. Without a stack limit std 1.95 does not know its guard (it takes the stack's
/// size from glibc, which measures it to the mapping below: far from the fault) and dies
/// of a plain SIGSEGV; the example still reports the overflow, as std does with a limit
/// (our choice: it is an overflow of the main stack all the same).
fn overflow_as_std(run: &dyn Fn(&str) -> Command, what: &str, limits: &str, std_limits: &str) {
    let std_exe = overflow_std();
    let std_run = |check: &str| {
        let mut c = Command::new(&std_exe);
        c.arg(check);
        with_limits(std_limits, c)
    };
    let mut c = Command::new(&std_exe);
    c.arg("recurse");
    let want = ended(c, "std recurse");
    assert_eq!(want.0, Some(libc::SIGABRT), "std recurse: {want:?}");
    let std_recurse = ended(std_run("recurse"), "std recurse");
    if std_limits.contains("unlimited") {
        assert_eq!(
            (std_recurse.0, std_recurse.1.as_str()),
            (Some(libc::SIGSEGV), ""),
            "std recurse, {std_limits}"
        );
    } else {
        assert_eq!((&std_recurse.0, &std_recurse.1), (&want.0, &want.1));
    }
    let got = ended(with_limits(limits, run("recurse")), what);
    assert_eq!(
        (got.0, &got.1),
        (want.0, &want.1),
        "{what} recurse, {limits:?}"
    );
    for check in NOT_OVERFLOWS {
        let want = ended(std_run(check), "std");
        assert_eq!(
            (want.0, want.1.as_str()),
            (Some(libc::SIGSEGV), ""),
            "std {check}, {std_limits:?}"
        );
        let got = ended(with_limits(limits, run(check)), what);
        assert_eq!(
            (got.0, &got.1),
            (want.0, &want.1),
            "{what} {check}, {limits:?}"
        );
    }
    let got = ended(with_limits(limits, run("kill")), what);
    assert_eq!(
        (got.0, got.1.as_str()),
        (Some(libc::SIGSEGV), ""),
        "{what} kill"
    );
}

/// `process::abort` ends by SIGABRT as `std::process::abort` does (core-dump flag aside), with
/// nothing on stderr: plain, after a SIGABRT handler that returns (it runs once), with SIGABRT
/// ignored and with it blocked.
fn abort_as_std(run: &dyn Fn(&str) -> Command, what: &str) {
    let mut c = Command::new(overflow_std());
    c.arg("abort");
    let want = ended(c, "std abort");
    assert_eq!(want.0, Some(libc::SIGABRT), "std abort: {want:?}");
    for check in ["abort", "abort-caught", "abort-ignored", "abort-blocked"] {
        let (signal, err, out) = ended(run(check), what);
        assert_eq!((signal, err.as_str()), (want.0, ""), "{what} {check}");
        let caught = if check == "abort-caught" {
            "caught\n"
        } else {
            ""
        };
        assert_eq!(out, caught, "{what} {check}");
    }
}

#[test]
fn overflow_message_and_abort_as_std_natively() {
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "overflow");
        let run = |check: &str| {
            let mut c = Command::new(&exe);
            c.arg(check);
            c
        };
        let what = format!("{b:?}");
        overflow_as_std(&run, &what, "", "");
        overflow_as_std(&run, &what, UNLIMITED_NATIVE, UNLIMITED_NATIVE);
        abort_as_std(&run, &what);
    }
    // With a small stack limit (256 KiB) the overflow comes sooner: the same report.
    let exe = example(Build::Release, "overflow");
    let run = |check: &str| {
        let mut c = Command::new(&exe);
        c.arg(check);
        c
    };
    let small = "ulimit -s 256";
    overflow_as_std(&run, small, small, small);
}

#[test]
fn overflow_message_and_abort_as_std_on_every_architecture() {
    for arch in common::ARCHES {
        let Some(dir) = common::cross_examples(&arch) else {
            continue;
        };
        let exe = dir.join("overflow");
        let run = |check: &str| {
            let mut c = arch.command(&exe);
            c.arg(check);
            c
        };
        let what = arch.name();
        overflow_as_std(&run, &what, "", "");
        let limits = match arch.runner {
            None => UNLIMITED_NATIVE,
            Some(_) => UNLIMITED,
        };
        overflow_as_std(&run, &what, limits, UNLIMITED_NATIVE);
        abort_as_std(&run, &what);
    }
}

/// The checks of the `overflow` example built with `threads` and `alloc`, each with its std
/// twin's check: an overflow of a spawned thread named `worker`, of an unnamed one, of a
/// `spawn_raw` thread (unnamed, so std's unnamed twin), and a null pointer written on a
/// thread (not an overflow).
const THREAD_CHECKS: [(&str, &str); 4] = [
    ("thread-recurse", "thread-recurse"),
    ("unnamed-recurse", "unnamed-recurse"),
    ("raw-recurse", "unnamed-recurse"),
    ("thread-null", "thread-null"),
];

/// The `overflow` example with threads ends as std's twin (native) does on spawned
/// threads: an overflow prints std's two lines with the thread's name (`worker`, or std's
/// `<unknown>`) and its own id (not the process's), then SIGABRT; a null pointer written on
/// a thread is a plain SIGSEGV with nothing printed. The main thread's overflow (`recurse`)
/// and a null pointer on it still end as std's.
fn thread_overflow_as_std(run: &dyn Fn(&str) -> Command, what: &str) {
    let std_exe = overflow_std();
    for (check, std_check) in THREAD_CHECKS
        .iter()
        .chain(&[("recurse", "recurse"), ("null", "null")])
    {
        let mut c = Command::new(&std_exe);
        c.arg(std_check);
        let want = ended(c, &format!("std {std_check}"));
        let signal = if check.ends_with("null") {
            libc::SIGSEGV
        } else {
            libc::SIGABRT
        };
        assert_eq!(want.0, Some(signal), "std {std_check}: {want:?}");
        let got = ended(run(check), what);
        assert_eq!((got.0, &got.1), (want.0, &want.1), "{what} {check}");
    }
}

/// The `overflow` example built natively with `threads` and `alloc` (`pie` too with
/// `extra`), in the target directories tests/threads.rs builds its example in.
fn overflow_with_threads(extra: &str) -> std::path::PathBuf {
    let name = format!("threads{}", extra.replace(',', "-"));
    let target = common::root().join("target/tinyrt-tests").join(&name);
    common::cargo_ok(
        common::cargo().env("CARGO_TARGET_DIR", &target).args([
            "build",
            "--quiet",
            "--release",
            "--example",
            "overflow",
            "--features",
            &format!("threads,alloc{extra}"),
        ]),
        "build the overflow example with threads",
    );
    target.join("release/examples/overflow")
}

#[test]
fn thread_overflow_message_and_abort_as_std_natively() {
    for extra in ["", ",pie"] {
        let exe = overflow_with_threads(extra);
        let run = |check: &str| {
            let mut c = Command::new(&exe);
            c.arg(check);
            c
        };
        thread_overflow_as_std(&run, &format!("threads{extra}"));
    }
}

#[test]
fn thread_overflow_message_and_abort_as_std_on_every_architecture() {
    for arch in common::ARCHES {
        let Some(exe) = common::cross_example(&arch, &["threads", "alloc"], "overflow") else {
            continue;
        };
        let run = |check: &str| {
            let mut c = arch.command(&exe);
            c.arg(check);
            c
        };
        thread_overflow_as_std(&run, &arch.name());
    }
}
