//! Shared helpers for the integration tests: they build tinyrt's examples the way a user
//! would (a separate `cargo build`, panic = "abort") and run them as real processes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
}

impl Build {
    pub const ALL: [Build; 4] = [Build::Release, Build::Size, Build::Syms, Build::Debug];

    fn args(self) -> &'static [&'static str] {
        match self {
            Build::Release => &["--release"],
            Build::Size => &["--release", "--features", "size"],
            Build::Syms => &["--profile", "syms"],
            Build::Debug => &[],
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
            Build::Release | Build::Size => "release",
            Build::Syms => "syms",
            Build::Debug => "debug",
        };
        self.target_dir().join(profile).join("examples")
    }
}

static BUILT: [OnceLock<PathBuf>; 4] = [
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
    OnceLock::new(),
];

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

/// The names of every example (from examples/*.rs).
pub fn example_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "rs").then(|| p.file_stem().unwrap().to_str().unwrap().to_owned())
        })
        .collect();
    v.sort();
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

/// stdout as text (lossless for the ASCII our examples print).
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Runs a tool nobody here wrote (readelf, strace, ...) and returns its stdout; fails the
/// test with a hint when the tool is missing.
pub fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{name}` ({e}): install it (.ci/run lists the packages)")
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
            let variants: [(&str, Option<&str>, &[&str]); 7] = [
                ("both", Some("LINUX_2.6"), &[]),
                ("gnu", Some("LINUX_2.6"), &[]),
                ("sysv", Some("LINUX_2.6"), &[]),
                ("gnu", None, &[]),
                ("sysv", None, &[]),
                ("both", Some("LINUX_4.15"), &[]),
                ("both", Some("LINUX_2.6"), &["-z", "noseparate-code"]),
            ];
            for (hash, version, extra) in variants {
                let name = format!(
                    "{class}-{hash}-{}{}",
                    version.unwrap_or("unversioned"),
                    if extra.is_empty() { "" } else { "-onecode" }
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
        "pyelftools failed on {} (pip install pyelftools): {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
