//! Building the examples the way a user would: natively in each `Build`, or per `Arch`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::arches::{Arch, runnable};

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

/// One example, `name`, built in release mode for `arch` with tinyrt's `features` (in a
/// target directory of its own per feature set); its path, or `None` (after a loud skip)
/// when the arch cannot run here. For examples that need features the others do not take
/// (`threads`: every example built with it would have to link a C object for `tls`).
#[allow(dead_code)]
pub fn cross_example(arch: &Arch, features: &[&str], name: &str) -> Option<PathBuf> {
    if !runnable(arch) {
        return None;
    }
    let target_dir = root().join(format!(
        "target/tinyrt-tests/cross-one-{}",
        features.join("-")
    ));
    let mut c = cargo();
    c.env("CARGO_TARGET_DIR", &target_dir).args([
        "build",
        "--quiet",
        "--release",
        "--example",
        name,
        "--target",
        arch.target,
        "--features",
        &features.join(","),
    ]);
    cargo_ok(&mut c, &format!("build {name} for {}", arch.target));
    Some(
        target_dir
            .join(arch.target)
            .join("release/examples")
            .join(name),
    )
}

/// Runs a cargo command made with [`cargo`] and returns its output; fails the test with
/// cargo's stderr (and `what`) when it fails.
pub fn cargo_ok(c: &mut Command, what: &str) -> std::process::Output {
    let out = c.output().expect("run cargo");
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
