//! rustix inside a tinyrt program (`examples/with_rustix.rs`): with tinyrt's `rustix` feature
//! the start code hands rustix the initial stack, so rustix neither asks the kernel for the
//! auxiliary vector (`prctl(PR_GET_AUXV)`, `/proc/self/auxv`) nor makes a system call for
//! `clock_gettime(Monotonic)` (it finds the vDSO); without the feature rustix makes one
//! `prctl` and works the same. What the feature adds to `hello` is a size budget.

mod common;
use common::{ARCHES, cargo, root, stdout, strace};
use std::path::PathBuf;
use std::sync::OnceLock;

/// `PR_GET_AUXV` as strace prints it (it has no name for it yet).
const PR_GET_AUXV: &str = "prctl(0x41555856";

/// Builds `with_rustix`, `hello` and `mono` in release mode with tinyrt's `features` (none,
/// `rustix`, `rustix,size`, `size`, ...), for the host or a `target`, once per test process;
/// returns their directory.
fn built_for(target: Option<&'static str>, features: &'static str) -> PathBuf {
    type Done = Vec<(Option<&'static str>, &'static str, PathBuf)>;
    static BUILT: OnceLock<std::sync::Mutex<Done>> = OnceLock::new();
    let mut done = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some((.., dir)) = done.iter().find(|(t, f, _)| (*t, *f) == (target, features)) {
        return dir.clone();
    }
    let dir = root().join(format!(
        "target/tinyrt-tests/rustix-{}",
        if features.is_empty() { "off" } else { features }.replace(',', "-")
    ));
    let mut c = cargo();
    c.env("CARGO_TARGET_DIR", &dir).args([
        "build",
        "--release",
        "--quiet",
        "--example",
        "with_rustix",
        "--example",
        "hello",
        "--example",
        "mono",
    ]);
    if !features.is_empty() {
        c.args(["--features", features]);
    }
    if let Some(t) = target {
        c.args(["--target", t]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "building for {target:?} with features {features:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = match target {
        Some(t) => dir.join(t).join("release/examples"),
        None => dir.join("release/examples"),
    };
    done.push((target, features, dir.clone()));
    dir
}

fn built(features: &'static str) -> PathBuf {
    built_for(None, features)
}

/// A file with known contents for the example to read, one per test.
fn input(test: &str) -> PathBuf {
    let p = root().join(format!(
        "target/tinyrt-tests/rustix-{test}-{}.txt",
        std::process::id()
    ));
    std::fs::write(&p, "the first line\nand a second\n").unwrap();
    p
}

#[test]
fn the_example_reads_a_file_prints_its_pid_and_sleeps_with_and_without_the_feature() {
    let file = input("run");
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    for features in ["rustix", ""] {
        let child = std::process::Command::new(built(features).join("with_rustix"))
            .arg(&file)
            .arg("30")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{features:?}: {text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("pid {pid} ppid {}", std::process::id()),
            "{features:?}"
        );
        assert_eq!(lines[1], format!("page size {page}"), "{features:?}");
        assert_eq!(
            lines[2], "read 28 bytes, first line \"the first line\"",
            "{features:?}"
        );
        // "slept 30 ms: rustix's monotonic clock advanced N ns, tinyrt's M ns"
        let nums: Vec<u64> = lines[3]
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        assert!(
            lines[3].starts_with("slept 30 ms:") && nums.len() == 3,
            "{features:?}: {text}"
        );
        for ns in &nums[1..] {
            assert!(
                (30_000_000..5_000_000_000).contains(ns),
                "{features:?}: {text}"
            );
        }
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn with_the_feature_rustix_reads_the_stack_and_the_vdso_and_asks_the_kernel_nothing() {
    let file = input("on");
    let exe = built("rustix").join("with_rustix");
    let (out, log) = strace(&[exe.as_os_str(), file.as_os_str(), "20".as_ref()], None);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains(PR_GET_AUXV), "{log}");
    assert!(!log.contains("/proc/self/auxv"), "{log}");
    // Two reads of rustix's monotonic clock (and one of tinyrt's): all in the vDSO.
    assert!(!log.contains("clock_gettime"), "{log}");
    // The control: strace saw rustix's own system calls.
    for call in [
        "getpid()",
        "getppid()",
        "nanosleep(",
        "read(3, \"the first line",
    ] {
        assert!(log.contains(call), "no {call}: {log}");
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn with_the_feature_in_a_static_pie_program_rustix_reads_the_relocated_statics() {
    let file = input("pie");
    let exe = built("rustix,pie").join("with_rustix");
    let (out, log) = strace(&[exe.as_os_str(), file.as_os_str(), "1".as_ref()], None);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let text = stdout(&out);
    assert!(
        text.contains("\npage size 4096\n") && text.contains("\"the first line\""),
        "{text}"
    );
    assert!(
        !log.contains(PR_GET_AUXV) && !log.contains("clock_gettime"),
        "{log}"
    );
    let _ = std::fs::remove_file(file);
}

#[test]
fn without_the_feature_rustix_asks_the_kernel_once_for_the_auxiliary_vector() {
    let file = input("off");
    let exe = built("").join("with_rustix");
    let (out, log) = strace(&[exe.as_os_str(), file.as_os_str(), "20".as_ref()], None);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert_eq!(log.matches(PR_GET_AUXV).count(), 1, "{log}");
    assert!(!log.contains("/proc/self/auxv"), "{log}");
    // With the vector from prctl rustix finds the vDSO as well.
    assert!(!log.contains("clock_gettime"), "{log}");
    let _ = std::fs::remove_file(file);
}

/// On every architecture where rustix has its libc-free backend (`Arch::rustix`): the
/// example runs, and with the feature it never asks for the auxiliary vector (qemu-user's
/// `-strace` for the guests, whose vDSO functions are system calls into qemu, so only the
/// auxv calls are told apart there); without it rustix asks (qemu refuses PR_GET_AUXV, and
/// rustix reads /proc/self/auxv, which qemu emulates). The others (s390x, powerpc64le)
/// are checked by `where_rustix_has_no_libc_free_backend_the_limit_is_stated` instead.
#[test]
fn on_every_arch_the_feature_spares_rustix_the_auxv_calls() {
    let file = input("arch");
    for arch in ARCHES {
        // Left out on purpose: rustix's linux_raw backend needs nightly there (see
        // `Arch::rustix`), so there is no rustix in a tinyrt program to check.
        if !arch.rustix || !common::runnable(&arch) {
            continue;
        }
        let name = arch.name();
        for features in ["rustix", ""] {
            let exe = built_for(Some(arch.target), features).join("with_rustix");
            let (out, log) = match arch.runner {
                None => strace(&[exe.as_os_str(), file.as_os_str(), "1".as_ref()], None),
                Some(_) => {
                    let out = arch
                        .command(&exe)
                        .arg(&file)
                        .arg("1")
                        .env("QEMU_STRACE", "1")
                        .stdin(std::process::Stdio::null())
                        .output()
                        .unwrap();
                    let log = String::from_utf8_lossy(&out.stderr).into_owned();
                    (out, log)
                }
            };
            let text = stdout(&out);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{name} {features:?}: {text}{log}"
            );
            assert!(
                text.contains("\npage size 4096\n")
                    && text.contains("read 28 bytes, first line \"the first line\"\n"),
                "{name} {features:?}: {text}"
            );
            assert!(log.contains("getppid()"), "{name}: no trace\n{log}");
            let asked = log.contains("prctl(") || log.contains("/proc/self/auxv");
            assert_eq!(asked, features.is_empty(), "{name} {features:?}\n{log}");
        }
    }
    let _ = std::fs::remove_file(file);
}

/// Where rustix has no libc-free backend with stable Rust (`Arch::rustix` false: s390x and
/// powerpc64le, whose linux_raw needs `--cfg rustix_use_experimental_asm`), the limit is
/// what the README says: `with_rustix` says why and exits 2, and tinyrt's `rustix` feature
/// stops the build with its `compile_error!` (start/src/arch/no_rustix.rs). When rustix gains a stable
/// backend there, this fails and the arch entries can say `rustix: true`.
#[test]
fn where_rustix_has_no_libc_free_backend_the_limit_is_stated() {
    for arch in ARCHES.iter().filter(|a| !a.rustix) {
        if !common::runnable(arch) {
            continue;
        }
        let name = arch.name();
        let exe = built_for(Some(arch.target), "").join("with_rustix");
        let out = arch
            .command(&exe)
            .arg("/dev/null")
            .arg("1")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "with_rustix: rustix has no libc-free backend on this architecture with stable Rust\n",
            "{name}"
        );
        assert_eq!(stdout(&out), "", "{name}");
        // The feature: refused at compile time, with the reason.
        let out = cargo()
            .env(
                "CARGO_TARGET_DIR",
                root().join("target/tinyrt-tests/rustix-refused"),
            )
            .args(["build", "--release", "--quiet", "--example", "hello"])
            .args(["--features", "rustix", "--target", arch.target])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: the rustix feature built");
        assert!(
            err.contains("ERROR(tinyrt): the `rustix` feature needs rustix's libc-free backend"),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_file_that_cannot_be_opened_is_a_clear_error() {
    let out = common::run(
        &built("rustix").join("with_rustix"),
        &["/nonexistent/file", "0"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "with_rustix: cannot open \"/nonexistent/file\": No such file or directory (os error 2)\n"
    );
    let out = common::run(&built("rustix").join("with_rustix"), &["/dev/null", "soon"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_feature_adds_little_to_hello_and_mono() {
    let size = |f: &'static str, n: &str| std::fs::metadata(built(f).join(n)).unwrap().len();
    let (hello, hello_rustix) = (size("size", "hello"), size("rustix,size", "hello"));
    let (mono, mono_rustix) = (size("size", "mono"), size("rustix,size", "mono"));
    println!("size mode: hello {hello} -> {hello_rustix}, mono {mono} -> {mono_rustix}");
    assert!(
        hello_rustix <= 600,
        "hello with rustix is {hello_rustix} bytes, budget <= 600"
    );
    let (hello_more, mono_more) = (
        hello_rustix as i64 - hello as i64,
        mono_rustix as i64 - mono as i64,
    );
    assert!(
        hello_more <= 64 && mono_more <= 64,
        "rustix's init grew hello by {hello_more} and mono by {mono_more} bytes"
    );
    // And the programs still run.
    let out = common::run(&built("rustix,size").join("hello"), &[] as &[&str]);
    assert_eq!(stdout(&out), "Hello, world!\n");
}
