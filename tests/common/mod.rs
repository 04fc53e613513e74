//! Shared helpers for the integration tests: they build tinyrt's examples the way a user
//! would (a separate `cargo build`, panic = "abort") and run them as real processes.
#![allow(dead_code)]

pub mod now;
#[cfg(target_arch = "x86_64")]
pub mod ptrace;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository root (this package is its `tests/` directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The cargo that runs these tests.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // `cargo test` holds the lock on target/ while tests run: build elsewhere.
    c.env("CARGO_TARGET_DIR", root().join("target/tinyrt-tests"));
    c.current_dir(root());
    c
}

/// The ways the examples are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Build {
    /// `cargo build --release --examples`: stripped, panic = "abort", LTO.
    Release,
    /// Release with `--features size` (no section headers).
    Size,
    /// Release code with the symbol table kept (`--profile syms`).
    Syms,
    /// The dev profile: unoptimised, debug info.
    Debug,
    /// Release, static-PIE (`--features pie`): relative relocations in RELA/REL form.
    Pie,
    /// Release, static-PIE with packed relocations (`--features relr`).
    PieRelr,
    /// The dev profile, static-PIE: the relocator unoptimised.
    DebugPie,
}

impl Build {
    pub const ALL: [Build; 7] = [
        Build::Release,
        Build::Size,
        Build::Syms,
        Build::Debug,
        Build::Pie,
        Build::PieRelr,
        Build::DebugPie,
    ];

    fn args(self) -> &'static [&'static str] {
        match self {
            Build::Release => &["--release"],
            Build::Size => &["--release", "--features", "size"],
            Build::Syms => &["--profile", "syms"],
            Build::Debug => &[],
            Build::Pie => &["--release", "--features", "pie"],
            Build::PieRelr => &["--release", "--features", "relr"],
            Build::DebugPie => &["--features", "pie"],
        }
    }

    /// A target directory per build: the size feature must not share artifacts with the
    /// plain release build, or each would relink the other's examples.
    fn target_dir(self) -> PathBuf {
        root()
            .join("target/tinyrt-tests")
            .join(format!("{self:?}").to_lowercase())
    }

    fn out_dir(self) -> PathBuf {
        let profile = match self {
            Build::Release | Build::Size | Build::Pie | Build::PieRelr => "release",
            Build::Syms => "syms",
            Build::Debug | Build::DebugPie => "debug",
        };
        self.target_dir().join(profile).join("examples")
    }
}

static BUILT: [OnceLock<PathBuf>; 7] = [const { OnceLock::new() }; 7];

/// Builds every example in `b` once per test process; returns the directory holding them.
pub fn examples(b: Build) -> &'static Path {
    BUILT[b as usize].get_or_init(|| {
        let out = cargo()
            .env("CARGO_TARGET_DIR", b.target_dir())
            .args(["build", "--examples", "--quiet"])
            .args(b.args())
            .output()
            .expect("run cargo");
        assert!(
            out.status.success(),
            "building the examples ({b:?}) failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        b.out_dir()
    })
}

/// The path of one example in `b`.
pub fn example(b: Build, name: &str) -> PathBuf {
    let p = examples(b).join(name);
    assert!(p.exists(), "{} was not built", p.display());
    p
}

/// The names of every example (from examples/*.rs) that every build has: not those whose
/// `[[example]]` in Cargo.toml has `required-features` (`heap` needs `alloc`).
pub fn example_names() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let optional: Vec<&str> = manifest
        .split("[[example]]")
        .filter(|t| {
            t.split("\n[")
                .next()
                .unwrap_or("")
                .contains("required-features")
        })
        .filter_map(|t| t.lines().find_map(|l| l.strip_prefix("name = \"")))
        .map(|n| n.trim_end_matches('"'))
        .collect();
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "rs").then(|| p.file_stem().unwrap().to_str().unwrap().to_owned())
        })
        .filter(|n| !optional.contains(&n.as_str()))
        .collect();
    v.sort();
    assert!(
        v.contains(&"hello".to_owned()) && !v.contains(&"heap".to_owned()),
        "{v:?}"
    );
    v
}

/// Runs `path` with `args`, stdin closed, and collects its output.
pub fn run<S: AsRef<std::ffi::OsStr>>(path: &Path, args: &[S]) -> Output {
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()))
}

/// Runs `cmd` (a program and its arguments) under `strace -qq`, tracing only `filter`
/// (`"trace=mprotect"`, ...) or every call, with a log file of its own. Returns the run's
/// output (strace passes on the program's stdout, stderr and exit status) and the log: one
/// line per system call.
pub fn strace<S: AsRef<std::ffi::OsStr>>(cmd: &[S], filter: Option<&str>) -> (Output, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = root().join(format!(
        "target/tinyrt-tests/strace-{}-{n}.txt",
        std::process::id()
    ));
    let mut c = Command::new("strace");
    c.args(["-qq", "-o"]).arg(&log);
    if let Some(f) = filter {
        c.args(["-e", f]);
    }
    let out = c
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .expect("run strace (scripts/test installs what the tests need)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (out, text)
}

/// stdout as text (lossless for the ASCII our examples print).
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Runs a tool nobody here wrote (readelf, strace, ...) and returns its stdout; fails the
/// test with a hint when the tool is missing.
pub fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{name}` ({e}): install it (scripts/test installs what the tests need)")
    });
    assert!(
        out.status.success(),
        "`{name} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A vDSO-shaped image the tests link themselves from tests/images/vdso.s.
#[derive(Clone, Debug)]
pub struct Image {
    /// e.g. "elf64-gnu-v2.6".
    pub name: String,
    pub path: PathBuf,
    /// "gnu", "sysv" or "both".
    pub hash: &'static str,
    /// The version the exported symbols carry, or None for an unversioned image.
    pub version: Option<&'static str>,
}

/// Links every variant once per test process with binutils (as, ld): both classes; GNU
/// hash only (like arm64 since 2024), SysV only, both; versioned (LINUX_2.6, with a
/// hidden LINUX_2.5 symbol), unversioned, and versioned with another version (LINUX_4.15);
/// one variant in a single code segment (-z noseparate-code).
pub fn vdso_images() -> &'static [Image] {
    static IMAGES: OnceLock<Vec<Image>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let src = root().join("tests/images");
        let out = root().join("target/tinyrt-tests/images");
        std::fs::create_dir_all(&out).unwrap();
        let mut v = Vec::new();
        for (class, as_flag, ld_emul) in [
            ("elf64", "--64", "elf_x86_64"),
            ("elf32", "--32", "elf_i386"),
        ] {
            let variants: [(&str, Option<&str>, &[&str]); 11] = [
                ("both", Some("LINUX_2.6"), &[]),
                ("gnu", Some("LINUX_2.6"), &[]),
                ("sysv", Some("LINUX_2.6"), &[]),
                ("gnu", None, &[]),
                ("sysv", None, &[]),
                ("both", Some("LINUX_4.15"), &[]),
                ("both", Some("LINUX_2.6"), &["-z", "noseparate-code"]),
                // One PT_LOAD (ld -N), the shape of every real vDSO, for the small lookup.
                ("gnu", Some("LINUX_2.6"), &["-N"]),
                ("sysv", Some("LINUX_2.6"), &["-N"]),
                ("gnu", None, &["-N"]),
                ("both", Some("LINUX_4.15"), &["-N"]),
            ];
            for (hash, version, extra) in variants {
                let name = format!(
                    "{class}-{hash}-{}{}",
                    version.unwrap_or("unversioned"),
                    match extra {
                        [] => "",
                        ["-N"] => "-oneload",
                        _ => "-onecode",
                    }
                );
                let obj = out.join(format!("{name}.o"));
                let so = out.join(format!("{name}.so"));
                let mut a = Command::new("as");
                a.arg(as_flag).arg("-o").arg(&obj);
                if version.is_none() {
                    a.args(["--defsym", "UNVERSIONED=1"]);
                }
                run_ok(a.arg(src.join("vdso.s")));
                let mut l = Command::new("ld");
                l.args(["-m", ld_emul, "-shared", "-soname", "linux-vdso.so.1"])
                    .arg(format!("--hash-style={hash}"))
                    .args(extra)
                    .arg("-o")
                    .arg(&so);
                match version {
                    Some("LINUX_2.6") => l.arg("--version-script").arg(src.join("versions.lds")),
                    Some(_) => l.arg("--version-script").arg(src.join("other-version.lds")),
                    None => &mut l,
                };
                run_ok(l.arg(&obj));
                v.push(Image {
                    name,
                    path: so,
                    hash,
                    version,
                });
            }
        }
        v
    })
}

fn run_ok(c: &mut Command) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{c:?}: {e} (install binutils)"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The committed vDSO dumps (tests/fixtures/vdso/*.so), sorted.
pub fn vdso_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/vdso"))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "so"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// pyelftools' listing of an image (tests/tools/vdso_symbols.py), in the inspector's format.
pub fn pyelftools_list(path: &Path) -> String {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/vdso_symbols.py"))
        .arg(path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "pyelftools failed on {} (scripts/test installs it): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An architecture the tests build for and run: natively or under qemu-user.
#[derive(Clone, Copy, Debug)]
pub struct Arch {
    /// The rustup target.
    pub target: &'static str,
    /// How to run its programs: `None` natively, else the qemu-user binary.
    pub runner: Option<&'static str>,
    /// A symbol (with version) its vDSO must export, to prove the listing is not empty.
    pub vdso_symbol: &'static str,
    /// The functions `now` must tag `[syscall]` (DESIGN.md's table: what the vDSO lacks, or
    /// has only with 32-bit time); every other line must say `[vdso]`.
    pub now_syscall: &'static [&'static str],
}

/// Every architecture besides the host's native build: i686 natively (IA32 emulation), the
/// rest under qemu-user >= 8.1 (the first with a guest vDSO), x86_64 and i386 too.
pub const ARCHES: [Arch; 6] = [
    Arch {
        target: "i686-unknown-linux-gnu",
        runner: None,
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        now_syscall: &["clock_getres"],
    },
    Arch {
        target: "x86_64-unknown-linux-gnu",
        runner: Some("qemu-x86_64"),
        vdso_symbol: "__vdso_clock_gettime@LINUX_2.6",
        now_syscall: &[],
    },
    Arch {
        target: "i686-unknown-linux-gnu",
        runner: Some("qemu-i386"),
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        now_syscall: &["clock_getres"],
    },
    Arch {
        target: "aarch64-unknown-linux-gnu",
        runner: Some("qemu-aarch64"),
        vdso_symbol: "__kernel_clock_gettime@LINUX_2.6.39",
        now_syscall: &["getcpu"],
    },
    Arch {
        target: "riscv64gc-unknown-linux-gnu",
        runner: Some("qemu-riscv64"),
        vdso_symbol: "__vdso_clock_gettime@LINUX_4.15",
        now_syscall: &[],
    },
    Arch {
        target: "armv7-unknown-linux-gnueabihf",
        runner: Some("qemu-arm"),
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        now_syscall: &["clock_getres", "getcpu"],
    },
];

impl Arch {
    pub fn name(&self) -> String {
        match self.runner {
            None => format!("{} (native)", self.target),
            Some(q) => format!("{} ({q})", self.target),
        }
    }

    /// A command that runs `program` on this architecture.
    pub fn command(&self, program: &Path) -> Command {
        match self.runner {
            None => Command::new(program),
            Some(q) => {
                let mut c = Command::new(q);
                c.arg(program);
                c
            }
        }
    }
}

/// Says loudly (past the test harness's capture) that an architecture was skipped and how
/// to get it; with TINYRT_REQUIRE_ALL_ARCHES=1 (as scripts/test sets unless told
/// TINYRT_ALLOW_SKIP=1) a skip is a failure.
pub fn skip(what: &str, how: &str) {
    use std::io::Write;
    let msg = format!("SKIPPED {what}: {how} (scripts/test installs what is missing)");
    assert!(
        std::env::var_os("TINYRT_REQUIRE_ALL_ARCHES").is_none_or(|v| v != "1"),
        "{msg}"
    );
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***");
}

/// The release examples built for `arch`, or `None` (after a loud skip) when its rustup
/// target or its qemu (>= 8.1) is missing.
pub fn cross_examples(arch: &Arch) -> Option<PathBuf> {
    cross_examples_with(arch, &[])
}

/// `cross_examples` built with tinyrt's `features` (`["pie"]`, ...), in a target directory
/// of their own.
pub fn cross_examples_with(arch: &Arch, features: &[&str]) -> Option<PathBuf> {
    cross_examples_in(arch, features, true)
}

/// True when `arch`'s programs can be built and run here: its rustup target is installed
/// and, for an emulated one, its qemu-user is 8.1 or later. Otherwise says so loudly
/// (`skip`) and returns false.
pub fn runnable(arch: &Arch) -> bool {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).unwrap().trim());
    if !sysroot
        .join("lib/rustlib")
        .join(arch.target)
        .join("lib")
        .exists()
    {
        skip(
            &arch.name(),
            &format!("no Rust target: `rustup target add {}`", arch.target),
        );
        return false;
    }
    if let Some(q) = arch.runner {
        let v = Command::new(q).arg("--version").output();
        let text = v
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let version: Vec<u32> = text
            .split_whitespace()
            .nth(2)
            .unwrap_or("0")
            .split('.')
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        if version.len() < 2 || (version[0], version[1]) < (8, 1) {
            skip(
                &arch.name(),
                &format!(
                    "no {q} >= 8.1 (found {:?}): install qemu-user from bookworm-backports",
                    text.lines().next().unwrap_or("none")
                ),
            );
            return false;
        }
    }
    true
}

/// `cross_examples_with`, in release mode or (`release` false) unoptimised.
pub fn cross_examples_in(arch: &Arch, features: &[&str], release: bool) -> Option<PathBuf> {
    static BUILT: OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    if !runnable(arch) {
        return None;
    }
    let target_dir = match features {
        [] => root().join("target/tinyrt-tests/cross"),
        f => root().join(format!("target/tinyrt-tests/cross-{}", f.join("-"))),
    };
    let key = format!("{} {} {release}", arch.target, features.join(","));
    let built = BUILT.get_or_init(Default::default);
    // A failed build in another test must not hide this one's own error behind a poisoned lock.
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if !built.contains(&key) {
        let mut c = cargo();
        c.env("CARGO_TARGET_DIR", &target_dir).args([
            "build",
            "--examples",
            "--quiet",
            "--target",
            arch.target,
        ]);
        if release {
            c.arg("--release");
        }
        if !features.is_empty() {
            c.args(["--features", &features.join(",")]);
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "building the examples for {} failed:\n{}",
            arch.target,
            String::from_utf8_lossy(&out.stderr)
        );
        built.insert(key);
    }
    let profile = if release { "release" } else { "debug" };
    Some(target_dir.join(arch.target).join(profile).join("examples"))
}

/// A BPF statement (`BPF_LD`, `BPF_RET`, ...) for a seccomp program.
pub fn bpf_stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A BPF `jeq k`: skip `jt` instructions if equal, `jf` if not.
pub fn bpf_jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// A seccomp program for processes of audit architecture `audit_arch` (others pass): each
/// rule (system call number, SECCOMP_RET_* action) applies its action; the rest is allowed.
pub fn seccomp_program(audit_arch: u32, rules: &[(i64, u32)]) -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let (stmt, jeq) = (bpf_stmt, bpf_jeq);
    let mut p = vec![
        stmt(BPF_LD | BPF_W | BPF_ABS, 4), // seccomp_data.arch
        jeq(audit_arch, 1, 0),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
    ];
    for &(nr, action) in rules {
        p.push(jeq(nr as u32, 0, 1));
        p.push(stmt(BPF_RET | BPF_K, action));
    }
    p.push(stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW));
    p
}

/// Installs `prog` in the child of `cmd` (after fork, before exec), with no_new_privs.
pub fn with_seccomp(cmd: &mut Command, prog: Vec<libc::sock_filter>) {
    use std::os::unix::process::CommandExt;
    let prog: &'static [libc::sock_filter] = prog.leak();
    let (addr, len) = (prog.as_ptr() as usize, prog.len() as u16);
    // SAFETY: the closure runs in the child between fork and exec and only makes two prctl
    // calls on memory prepared (and leaked, so alive) before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len,
                filter: addr as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const _,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
