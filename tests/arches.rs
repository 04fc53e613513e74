//! The examples on the other architectures: i686 natively, the others (and x86_64/i386
//! guests) under qemu-user. Skipped loudly where a Rust target or qemu is missing, never in
//! CI (.ci/run installs them and sets TINYRT_REQUIRE_ALL_ARCHES=1).

mod common;
use common::{ARCHES, cross_examples, pyelftools_list, root};

fn ok_stdout(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn vdso_listing_on_every_arch_matches_pyelftools() {
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        let exe = dir.join("vdso");
        let name = arch.name();
        let dump = root().join(format!(
            "target/tinyrt-tests/vdso-{}-{}.so",
            arch.target,
            arch.runner.unwrap_or("native")
        ));
        ok_stdout(
            arch.command(&exe)
                .arg("--dump")
                .arg(&dump)
                .output()
                .unwrap(),
            &name,
        );
        let reference = pyelftools_list(&dump);
        // The guest's inspector on the dump: every line, values included.
        let listed = ok_stdout(arch.command(&exe).arg(&dump).output().unwrap(), &name);
        assert_eq!(listed, reference, "{name}");
        // The live listing: the same symbols and versions. (qemu maps its guest vDSO at a
        // new random address in every run, and its image is relocated, so values differ.)
        let live = ok_stdout(arch.command(&exe).output().unwrap(), &name);
        let names = |t: &str| -> Vec<String> {
            t.lines()
                .map(|l| l.split(" 0x").next().unwrap().to_owned())
                .collect()
        };
        assert_eq!(names(&live), names(&reference), "{name}");
        assert!(
            live.contains(&format!("{} ", arch.vdso_symbol)),
            "{name}: {live}"
        );
        // What tinyrt's own lookup resolved in a live run (`now -v`), at its offset in the
        // image: the symbol pyelftools lists in the dump, at the same offset from the
        // image's first load address (qemu's images are relocated to where they are mapped).
        let verbose = ok_stdout(
            arch.command(&dir.join("now")).arg("-v").output().unwrap(),
            &name,
        );
        let resolved = resolved_offsets(&verbose);
        assert!(
            resolved.iter().any(|(f, _, _)| f == "clock_gettime"),
            "{name}: {verbose}"
        );
        let first_load = lowest_load_address(&dump);
        for (function, symbol, offset) in resolved {
            let value = reference
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{symbol} 0x")))
                .and_then(|v| u64::from_str_radix(v, 16).ok())
                .unwrap_or_else(|| panic!("{name}: {function}: {symbol} not in\n{reference}"));
            assert_eq!(offset, value - first_load, "{name}: {function} ({symbol})");
        }
    }
}

/// `now -v`'s lines for the functions the vDSO serves (`# time: vdso NAME@VERSION at
/// 0xADDR`): (function, NAME@VERSION, ADDR minus the image's address).
fn resolved_offsets(verbose: &str) -> Vec<(String, String, u64)> {
    let hex = |v: &str| u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap();
    let base = verbose
        .lines()
        .find_map(|l| l.strip_prefix("# vdso image: "))
        .and_then(|l| l.split(" at ").nth(1))
        .map(|l| hex(l.split(',').next().unwrap()))
        .unwrap_or_else(|| panic!("no image line in {verbose}"));
    verbose
        .lines()
        .filter_map(|l| {
            let (function, rest) = l.strip_prefix("# ")?.split_once(": vdso ")?;
            let (symbol, addr) = rest.split_once(" at ")?;
            Some((function.to_owned(), symbol.to_owned(), hex(addr) - base))
        })
        .collect()
}

/// The lowest PT_LOAD address of an image, read by pyelftools.
fn lowest_load_address(image: &std::path::Path) -> u64 {
    let script = "import sys\nfrom elftools.elf.elffile import ELFFile\n\
        f = ELFFile(open(sys.argv[1], 'rb'))\n\
        print(min(s['p_vaddr'] for s in f.iter_segments() if s['p_type'] == 'PT_LOAD'))";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(image)
        .output()
        .unwrap();
    ok_stdout(out, "pyelftools").trim().parse().unwrap()
}

fn run_on(arch: &common::Arch, exe: &std::path::Path, args: &[&str]) -> std::process::Output {
    arch.command(exe)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn every_example_runs_on_every_arch() {
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let out = run_on(&arch, &dir.join("hello"), &[]);
        assert_eq!(ok_stdout(out, &name), "Hello, world!\n", "{name}");
        let out = run_on(&arch, &dir.join("tiny"), &["a", "b", "c"]);
        assert_eq!(out.status.code(), Some(3), "{name}");
        let out = run_on(&arch, &dir.join("exitcode"), &["300"]);
        assert_eq!(out.status.code(), Some(44), "{name}");
        let out = run_on(&arch, &dir.join("args"), &["x y", ""]);
        let text = ok_stdout(out, &name);
        assert!(
            text.starts_with("argc: 3\n") && text.contains("argv[1]: \"x y\"\nargv[2]: \"\"\n"),
            "{name}: {text}"
        );
        let out = run_on(&arch, &dir.join("panic"), &["boom"]);
        assert_eq!(out.status.code(), Some(101), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.strip_prefix("thread 'main' (")
                .and_then(|e| e.split_once(") "))
                .is_some_and(|(tid, e)| tid.parse::<u32>().is_ok()
                    && e.starts_with("panicked at examples/panic.rs:"))
                && err.ends_with(":\nboom\n"),
            "{name}: {err}"
        );
        // Started with 0 and 1 closed: both on /dev/null before main (one ppoll, the old
        // 32-bit one where time is 32-bit), and a pipe takes 3 and 4.
        let mut c = arch.command(&dir.join("stdfds"));
        // SAFETY: close is async-signal-safe; the descriptors are the child's own.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut c, || {
                libc::close(0);
                libc::close(1);
                Ok(())
            });
        }
        let out = c.output().unwrap();
        let report = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {report}");
        assert!(
            report.starts_with("0 /dev/null\n1 /dev/null\n2 pipe:[")
                && report.ends_with("\npipe 3 4\n"),
            "{name}: {report}"
        );
        let out = run_on(&arch, &dir.join("auxv"), &[]);
        let text = ok_stdout(out, &name);
        assert!(
            text.contains("AT_PAGESZ:") && text.contains("AT_SYSINFO_EHDR:"),
            "{name}: {text}"
        );
        let out = run_on(&arch, &dir.join("syscalls"), &[]);
        let text = ok_stdout(out, &name);
        assert!(
            !text.contains("FAILED") && text.starts_with("ok 8 "),
            "{name}: {text}"
        );
        if arch.target.starts_with("i686") {
            // The kernel (and qemu) name __kernel_vsyscall in AT_SYSINFO: it is the default.
            assert!(
                text.starts_with("ok 8 default=vsyscall\n"),
                "{name}: {text}"
            );
            assert!(
                text.contains("ok 8 int80\n") && text.contains("ok 8 vsyscall\n"),
                "{name}: {text}"
            );
        }
        let out = run_on(&arch, &dir.join("mono"), &[]);
        let text = ok_stdout(out, &name);
        let (s, ns) = text.trim_end().split_once('.').unwrap_or(("", ""));
        assert!(
            s.parse::<u64>().is_ok() && ns.len() == 9 && ns.parse::<u32>().is_ok(),
            "{name}: {text}"
        );
        let out = run_on(&arch, &dir.join("bench"), &["--quick"]);
        let text = ok_stdout(out, &name);
        assert!(
            text.contains("clock_gettime(MONOTONIC)") && text.contains("first-call resolution"),
            "{name}: {text}"
        );
        // getrandom: the guest's vDSO function where its vDSO exports one (the inspector
        // lists the live image), else the system call; the bytes arrive either way.
        let listed = ok_stdout(run_on(&arch, &dir.join("vdso"), &[]), &name);
        let expected = listed
            .lines()
            .find(|l| l.contains("getrandom@"))
            .map_or("syscall".to_owned(), |l| {
                l.split_whitespace().next().unwrap().to_owned()
            });
        let out = run_on(&arch, &dir.join("random"), &["64", "--chunk", "16"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let text = ok_stdout(out, &name);
        assert!(
            text.len() == 129 && text.trim_end().bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}: {text}"
        );
        assert_eq!(
            err.trim_end(),
            format!("random: bytes=64 calls=4 backend={expected}"),
            "{name}"
        );
        // Tables of pointers, strings and trait objects: what the host's build prints.
        let want = common::stdout(&common::run(
            &common::example(common::Build::Release, "relocs"),
            &[] as &[&str],
        ));
        let out = run_on(&arch, &dir.join("relocs"), &[]);
        assert_eq!(ok_stdout(out, &name), want, "{name}");
        let out = run_on(&arch, &dir.join("auxv"), &["--typed"]);
        let text = ok_stdout(out, &name);
        assert!(
            text.contains("secure: false\n") && !text.contains("page_size: -"),
            "{name}: {text}"
        );
    }
}

/// A clock the vDSO refuses, read through the clock_gettime slot alone (`now --slot`): an
/// error, EINVAL, on every arch (powerpc64's vDSO answers it with CR0.SO and a positive
/// errno, which a Rust call must not take for a success), and a clock it knows is a value.
#[test]
fn a_clock_the_vdso_refuses_is_einval_through_the_slot_on_every_arch() {
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let now = dir.join("now");
        let text = ok_stdout(run_on(&arch, &now, &["--slot", "1000"]), &name);
        assert_eq!(text, "slot 1000 error EINVAL [vdso]\n", "{name}");
        let text = ok_stdout(run_on(&arch, &now, &["--slot", "1"]), &name);
        assert!(
            text.starts_with("slot 1 ") && !text.contains("error") && text.ends_with(" [vdso]\n"),
            "{name}: {text}"
        );
    }
}

#[test]
fn now_on_every_arch_uses_the_vdso_where_it_exports_the_function() {
    use common::now::{check_values, native_rseq};
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        let name = arch.name();
        let m = check_values(&name, || {
            ok_stdout(run_on(&arch, &dir.join("now"), &[]), &name)
        });
        let rseq = arch.runner.is_none() && native_rseq();
        for (key, (_, tag)) in &m {
            assert_eq!(
                tag,
                common::now::expected_tag(key, arch.now_syscall, rseq),
                "{name}: {key}"
            );
        }
        // The 32-bit architectures' tables name Linux 7.2's 64-bit-time clock_getres: `now -v`
        // says it served (a kernel that exports it) or did not (qemu's, and kernels before).
        if arch.target.starts_with("i686") || arch.target.starts_with("armv7") {
            let v = ok_stdout(run_on(&arch, &dir.join("now"), &["-v", "REALTIME"]), &name);
            assert!(
                v.lines().any(|l| l
                    == "# clock_getres: syscall (not served by __vdso_clock_getres_time64)"
                    || l.starts_with("# clock_getres: vdso __vdso_clock_getres_time64@LINUX_2.6 ")),
                "{name}: {v}"
            );
        }
        // The raw system calls give the same values.
        let m = check_values(&name, || {
            ok_stdout(run_on(&arch, &dir.join("now"), &["--syscall"]), &name)
        });
        assert!(m.values().all(|v| v.1 == "[syscall]"), "{name}");
    }
}

/// i686 natively: the runs without a vDSO (valgrind, the ptrace harness on a 32-bit child)
/// and the 32-bit-time fallbacks of the system calls.
#[cfg(target_arch = "x86_64")]
mod i686 {
    use super::*;
    use common::now::{check_values, tags};
    use common::ptrace::{Tamper, run_traced};

    const I686: common::Arch = ARCHES[0];
    use common::i386::{
        AUDIT_ARCH as AUDIT_ARCH_I386, CLOCK_GETRES_TIME64, CLOCK_GETRES32, CLOCK_GETTIME32,
        CLOCK_GETTIME64, GETCPU,
    };
    /// `rseq` in the i386 ABI (arch/x86/entry/syscalls/syscall_32.tbl).
    const RSEQ: i64 = 386;

    /// A seccomp program that makes the i386 `rseq` fail with EPERM: getcpu's dispatch
    /// serves.
    fn refusing_rseq() -> Vec<libc::sock_filter> {
        let eperm = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        common::seccomp_program(AUDIT_ARCH_I386, &[(RSEQ, eperm)])
    }

    /// `now`'s i386 system calls without a vDSO: the 11 clocks, gettimeofday and time all
    /// through the 64-bit clock_gettime, 11 resolutions through the 64-bit clock_getres,
    /// none through the 32-bit ones, one rseq registration and `getcpu` calls of getcpu.
    fn no_vdso_calls(c: &std::collections::HashMap<i64, usize>, getcpu: usize) {
        common::ptrace::assert_counts(
            c,
            &[
                ("clock_gettime64", CLOCK_GETTIME64, 13),
                ("clock_getres_time64", CLOCK_GETRES_TIME64, 11),
                ("clock_gettime", CLOCK_GETTIME32, 0),
                ("clock_getres", CLOCK_GETRES32, 0),
                ("getcpu", GETCPU, getcpu),
                ("rseq", RSEQ, 1),
            ],
        );
    }

    #[test]
    fn without_a_vdso_the_syscalls_serve_valgrind_and_ptrace() {
        let Some(dir) = cross_examples(&I686) else {
            return;
        };
        let now = dir.join("now");
        let m = check_values("i686 valgrind", || {
            let out = std::process::Command::new("valgrind")
                .args(["-q", "--error-exitcode=99"])
                .arg(&now)
                .output()
                .unwrap();
            ok_stdout(out, "valgrind")
        });
        // valgrind implements no rseq for its guest (ENOSYS): getcpu too is a system call.
        assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");

        // rseq refused: every function, getcpu too, by system call.
        let mut counts = None;
        let m = check_values("i686 ptrace, rseq refused", || {
            let t =
                common::ptrace::run_traced_with(&now, &[], Tamper::HideVdso, Some(refusing_rseq()));
            assert_eq!(t.code, 0);
            counts = Some(t.syscalls);
            t.stdout
        });
        assert!(tags(&m).iter().all(|t| t == "[syscall]"), "{m:?}");
        no_vdso_calls(&counts.unwrap(), 1);

        // rseq allowed: the area serves getcpu without a vDSO, and no getcpu call is made.
        let mut counts = None;
        let m = check_values("i686 ptrace", || {
            let t = run_traced(&now, &[], Tamper::HideVdso);
            assert_eq!(t.code, 0);
            counts = Some(t.syscalls);
            t.stdout
        });
        let rseq = common::now::native_rseq();
        for (key, (_, tag)) in &m {
            assert_eq!(tag, common::now::no_vdso_tag(key, rseq), "{key}: {m:?}");
        }
        no_vdso_calls(&counts.unwrap(), usize::from(!rseq));

        // With the vDSO, the 32-bit child makes no clock_gettime64 call for the vDSO clocks.
        let t = run_traced(&now, &common::now::VDSO_CLOCKS, Tamper::None);
        assert_eq!(t.code, 0);
        assert_eq!(t.count(CLOCK_GETTIME64), 0, "{:?}", t.syscalls);
    }

    #[test]
    fn refused_time64_syscalls_fall_back_to_the_32_bit_ones() {
        let Some(dir) = cross_examples(&I686) else {
            return;
        };
        let now = dir.join("now");
        for errno in [libc::EPERM, libc::ENOSYS] {
            let refuse = libc::SECCOMP_RET_ERRNO | errno as u32;
            let what = format!("time64 refused with errno {errno}");
            check_values(&what, || {
                let mut cmd = std::process::Command::new(&now);
                cmd.arg("--syscall");
                common::with_seccomp(
                    &mut cmd,
                    common::seccomp_program(
                        AUDIT_ARCH_I386,
                        &[(CLOCK_GETTIME64, refuse), (CLOCK_GETRES_TIME64, refuse)],
                    ),
                );
                ok_stdout(cmd.output().unwrap(), &what)
            });
        }
        // Once a 32-bit call has served where its 64-bit twin was refused, no 64-bit call
        // is tried again (one flag for both): counted by the ptrace harness, three clocks'
        // values and resolutions cost one refused clock_gettime64, then 32-bit calls alone.
        let refuse = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let prog = common::seccomp_program(
            AUDIT_ARCH_I386,
            &[(CLOCK_GETTIME64, refuse), (CLOCK_GETRES_TIME64, refuse)],
        );
        let t = common::ptrace::run_traced_with(
            &now,
            &["--syscall", "REALTIME", "MONOTONIC", "TAI"],
            Tamper::None,
            Some(prog),
        );
        assert_eq!(t.code, 0, "{}", t.stdout);
        assert!(!t.stdout.contains("error"), "{}", t.stdout);
        assert_eq!(t.count(CLOCK_GETTIME64), 1, "{:?}", t.syscalls);
        assert_eq!(t.count(CLOCK_GETRES_TIME64), 0, "{:?}", t.syscalls);
        assert_eq!(t.count(CLOCK_GETTIME32), 3, "{:?}", t.syscalls);
        assert_eq!(t.count(CLOCK_GETRES32), 3, "{:?}", t.syscalls);

        // The control: with the 32-bit calls refused too, the errors come through.
        let refuse = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let mut cmd = std::process::Command::new(&now);
        cmd.args(["--syscall", "MONOTONIC"]);
        common::with_seccomp(
            &mut cmd,
            common::seccomp_program(
                AUDIT_ARCH_I386,
                &[
                    (CLOCK_GETTIME64, refuse),
                    (CLOCK_GETRES_TIME64, refuse),
                    (CLOCK_GETTIME32, refuse),
                    (CLOCK_GETRES32, refuse),
                ],
            ),
        );
        let text = ok_stdout(cmd.output().unwrap(), "all refused");
        assert_eq!(
            text,
            "clock_gettime MONOTONIC error EPERM [syscall]\nclock_getres MONOTONIC error EPERM [syscall]\n"
        );
    }
}
