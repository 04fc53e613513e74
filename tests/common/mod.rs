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
