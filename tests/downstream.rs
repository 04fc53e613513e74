//! A crate outside this workspace, written as the README tells users to (template/), builds
//! with plain `cargo build`, links statically and runs; with only tinyrt's `pie` feature
//! added it is a static-PIE program; `cargo test` runs its unit tests; and a cross build
//! works once its linker is configured, after a first build without one.

mod common;
use common::{ARCHES, cargo, cargo_ok, root, run, runnable, stdout, tool};
use std::path::{Path, PathBuf};

/// Makes `dir` (emptied first) a copy of the template as a user has it: its manifest with
/// `dependency` in place of the template's tinyrt line, its lock file, build.rs and src/.
fn copy_template(dir: &Path, dependency: &str) {
    let template = root().join("template");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for f in ["build.rs", "Cargo.lock"] {
        std::fs::copy(template.join(f), dir.join(f)).unwrap();
    }
    for f in std::fs::read_dir(template.join("src")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, dir.join("src").join(f.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(template.join("Cargo.toml")).unwrap();
    let from_path = "tinyrt = { path = \"..\" }";
    assert!(manifest.contains(from_path), "{manifest}");
    std::fs::write(
        dir.join("Cargo.toml"),
        manifest.replace(from_path, dependency),
    )
    .unwrap();
}

/// Builds the template into `target/tinyrt-tests/<dir>` with `args`, checks that it greets
/// as it should, and returns the program's path and its `readelf -lW`.
fn build_and_run(dir: &str, args: &[&str], profile_dir: &str) -> (PathBuf, String) {
    let target = root().join("target/tinyrt-tests").join(dir);
    cargo_ok(
        cargo()
            .current_dir(root().join("template"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--quiet"])
            .args(args),
        "cargo build",
    );
    let exe = target.join(profile_dir).join("tinyrt-template");
    let out = run(&exe, &["tester"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "Hello, tester from a downstream crate!\n");
    let segments = tool("readelf", &["-lW", exe.to_str().unwrap()]);
    (exe, segments)
}

#[test]
fn template_crate_builds_links_statically_and_runs() {
    for (profile, dir) in [("--release", "release"), ("--profile=dev", "debug")] {
        let (exe, segments) = build_and_run("template", &[profile], dir);
        assert!(segments.contains("EXEC (Executable file)"), "{segments}");
        assert!(
            !segments.contains("INTERP") && !segments.contains("DYNAMIC"),
            "{segments}"
        );
        let dynamic = tool("readelf", &["-dW", exe.to_str().unwrap()]);
        assert!(dynamic.contains("no dynamic section"));
    }
}

/// The same crate in static-PIE mode: only the dependency's feature changes
/// (`tinyrt = { ..., features = ["pie"] }`; here `--features tinyrt/pie`); its build.rs
/// passes on whatever link arguments tinyrt hands over.
#[test]
fn template_crate_builds_as_static_pie() {
    let args = ["--release", "--features", "tinyrt/pie"];
    let (_, segments) = build_and_run("template-pie", &args, "release");
    assert!(segments.contains("DYN (Position-Independent"), "{segments}");
    assert!(!segments.contains("INTERP"), "{segments}");
}

/// The same crate as a user of the published crates writes it (`tinyrt = "0.1"`), built
/// against the `.crate` files `cargo package` makes of tinyrt, tinyrt-rt and tinyrt-start
/// (unpacked, and put in crates.io's place with `[patch.crates-io]`): the build script,
/// link.x, link-pie.x and the link arguments must all work from what is published.
#[test]
fn template_crate_builds_from_the_packaged_crates() {
    let dir = root().join("target/tinyrt-tests/package");
    let _ = std::fs::remove_dir_all(&dir);
    // A Cargo home of its own, as a new user's: Cargo unpacks the crates it verifies into its
    // home's registry cache, keyed by the packaging directory, and would build a later run
    // against an earlier run's sources.
    let home = dir.join("cargo-home");
    // Packages and verifies (builds each from its own .crate) the three crates.
    cargo_ok(
        cargo()
            .env("CARGO_HOME", &home)
            .env("CARGO_TARGET_DIR", &dir)
            .args(["package", "--allow-dirty", "--quiet"])
            .args(["-p", "tinyrt-rt", "-p", "tinyrt-start", "-p", "tinyrt"]),
        "cargo package failed:\n",
    );
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    let mut patch = String::from("[patch.crates-io]\n");
    for krate in ["tinyrt", "tinyrt-rt", "tinyrt-start"] {
        let file = dir.join(format!("package/{krate}-{version}.crate"));
        tool(
            "tar",
            &[
                "-xzf",
                file.to_str().unwrap(),
                "-C",
                unpacked.to_str().unwrap(),
            ],
        );
        let src = unpacked.join(format!("{krate}-{version}"));
        patch += &format!("{krate} = {{ path = {:?} }}\n", src.to_str().unwrap());
    }
    // What a user's crate is: the template, depending on the registry's tinyrt.
    let user = dir.join("user");
    copy_template(&user, "tinyrt = \"0.1\"");
    let manifest = std::fs::read_to_string(user.join("Cargo.toml")).unwrap() + "\n" + &patch;
    std::fs::write(user.join("Cargo.toml"), manifest).unwrap();
    // The lock file names the repository's tinyrt: let Cargo resolve the published one.
    std::fs::remove_file(user.join("Cargo.lock")).unwrap();
    // The unpacked crates serve the build, not the repository's own.
    let out = cargo()
        .env("CARGO_HOME", &home)
        .current_dir(&user)
        .args(["metadata", "--format-version", "1"])
        .output()
        .unwrap();
    let meta = String::from_utf8_lossy(&out.stdout);
    for krate in ["tinyrt", "tinyrt-rt", "tinyrt-start"] {
        let published = unpacked.join(format!("{krate}-{version}/Cargo.toml"));
        assert!(
            meta.contains(&format!(
                "\"manifest_path\":{:?}",
                published.to_str().unwrap()
            )),
            "{krate} does not come from {}: {meta}",
            published.display()
        );
    }
    assert!(
        !meta.contains(&format!(
            "{:?}",
            root().join("Cargo.toml").to_str().unwrap()
        )),
        "{meta}"
    );
    for (args, kind) in [
        (&["--release"][..], "EXEC (Executable file)"),
        (
            &["--release", "--features", "tinyrt/pie"][..],
            "DYN (Position-Independent",
        ),
    ] {
        let target = dir.join(format!("user-target-{}", args.len()));
        cargo_ok(
            cargo()
                .env("CARGO_HOME", &home)
                .current_dir(&user)
                .env("CARGO_TARGET_DIR", &target)
                .args(["build", "--quiet"])
                .args(args),
            &format!("{args:?}"),
        );
        let exe = target.join("release/tinyrt-template");
        let out = run(&exe, &["user"]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(stdout(&out), "Hello, user from a downstream crate!\n");
        let h = tool("readelf", &["-hlW", exe.to_str().unwrap()]);
        assert!(h.contains(kind) && !h.contains("INTERP"), "{args:?}\n{h}");
    }
}

/// `cargo test` in the template runs the unit tests of its library (src/lib.rs) under std's
/// test harness, and all of them pass: the program itself (no_std, tinyrt's `_start` and
/// panic handler, `-bins` link arguments) is no test target.
#[test]
fn template_crate_unit_tests_run_with_cargo_test() {
    let out = cargo()
        .current_dir(root().join("template"))
        .env(
            "CARGO_TARGET_DIR",
            root().join("target/tinyrt-tests/template-test"),
        )
        .arg("test")
        .output()
        .unwrap();
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "cargo test failed:\n{text}");
    let lib = std::fs::read_to_string(root().join("template/src/lib.rs")).unwrap();
    let tests = lib.matches("#[test]").count();
    assert!(tests > 0, "template/src/lib.rs has no unit tests");
    assert!(
        text.contains("Running unittests src/lib.rs"),
        "the library's unit tests did not run:\n{text}"
    );
    assert!(
        text.contains(&format!("running {tests} tests"))
            && text.contains(&format!("test result: ok. {tests} passed; 0 failed")),
        "expected {tests} unit tests to pass:\n{text}"
    );
}

/// A user builds the template for aarch64 before configuring a linker for it (the link fails:
/// the host's C compiler cannot link aarch64 code), then configures rust-lld in the crate's
/// .cargo/config.toml and builds again: that build must link and run, with no `cargo clean`
/// in between. tinyrt's link arguments were once chosen by its build script from the linker
/// it was told of, and Cargo does not run a build script again when the linker changes:
/// the second build got the C compiler's arguments (`-nostartfiles`), which rust-lld refuses.
#[test]
fn template_crate_cross_builds_once_its_linker_is_configured() {
    let arch = ARCHES
        .iter()
        .find(|a| a.target == "aarch64-unknown-linux-gnu")
        .unwrap();
    if !runnable(arch) {
        return;
    }
    // Outside the repository, whose .cargo/config.toml configures the linker: Cargo reads the
    // configuration of every directory above the one it builds in.
    let dir = std::env::temp_dir().join(format!("tinyrt-template-cross-{}", std::process::id()));
    copy_template(&dir, &format!("tinyrt = {{ path = {:?} }}", root()));
    let linker_env = "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER";
    let build = || {
        let mut c = cargo();
        // The toolchain of this test run (the temporary directory has no rust-toolchain.toml).
        if let Some(cargo) = std::env::var_os("CARGO") {
            let rustc = Path::new(&cargo).with_file_name("rustc");
            if rustc.exists() {
                c.env("RUSTC", rustc);
            }
        }
        c.current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove(linker_env)
            .args(["build", "--target", arch.target])
            .output()
            .unwrap()
    };
    let first = build();
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        !first.status.success() && err.contains("error: linking with `cc` failed"),
        "the first build, with no linker configured for {}, should fail to link:\n{err}",
        arch.target
    );
    std::fs::create_dir_all(dir.join(".cargo")).unwrap();
    std::fs::write(
        dir.join(".cargo/config.toml"),
        format!("[target.{}]\nlinker = \"rust-lld\"\n", arch.target),
    )
    .unwrap();
    let second = build();
    assert!(
        second.status.success(),
        "the build after configuring rust-lld failed:\n{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let exe = dir
        .join("target")
        .join(arch.target)
        .join("debug/tinyrt-template");
    let out = arch.command(&exe).arg("tester").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", arch.name());
    assert_eq!(stdout(&out), "Hello, tester from a downstream crate!\n");
    let h = tool("readelf", &["-hlW", exe.to_str().unwrap()]);
    assert!(
        h.contains("AArch64") && h.contains("EXEC (Executable file)") && !h.contains("INTERP"),
        "{h}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The README's "Use tinyrt in your own crate" shows the template: every line of its
/// Cargo.toml, build.rs, src/main.rs and src/lib.rs snippets is a line of the template's
/// file, in the same order (a snippet may leave lines out; `// ...` marks where, and the
/// manifest's comments and its tinyrt line, which names the published crate, are its own).
#[test]
fn readme_shows_the_template() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for (file, lang, marker) in [
        ("Cargo.toml", "toml", "#"),
        ("build.rs", "rust", "//"),
        ("src/main.rs", "rust", "//"),
        ("src/lib.rs", "rust", "//"),
    ] {
        let head = format!("```{lang}\n{marker} {file}\n");
        let start = readme
            .find(&head)
            .unwrap_or_else(|| panic!("the README shows no {file} of the template"))
            + head.len();
        let snippet = &readme[start..start + readme[start..].find("```").unwrap()];
        let source = std::fs::read_to_string(root().join("template").join(file)).unwrap();
        let mut lines = source.lines();
        let own = |l: &str| {
            l.trim() == "// ..."
                || (lang == "toml" && (l.starts_with('#') || l.starts_with("tinyrt =")))
        };
        for line in snippet.lines().filter(|l| !own(l)) {
            assert!(
                lines.any(|l| l == line),
                "the README's {file} has {line:?}, which template/{file} has not (or not there)"
            );
        }
    }
}

/// `main!`'s option that keeps closed standard descriptors closed is unsafe (it lets a
/// descriptor of the program's own take 0, 1 or 2, where the standard streams reach it):
/// spelled without `unsafe(...)` it does not compile, and says how to write it; with it, it
/// does.
#[test]
fn keeping_closed_stdio_must_be_spelled_unsafe() {
    let dir = root().join("target/tinyrt-tests/template-keep-closed");
    copy_template(&dir, &format!("tinyrt = {{ path = {:?} }}", root()));
    let main_rs = dir.join("src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    assert!(source.contains("tinyrt::main!(main);"), "{source}");
    let check = |option: &str| {
        let with = source.replace(
            "tinyrt::main!(main);",
            &format!("tinyrt::main!(main, {option});"),
        );
        std::fs::write(&main_rs, with).unwrap();
        cargo()
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .args(["check", "--quiet"])
            .output()
            .unwrap()
    };
    let safe = check("keep_closed_stdio");
    let err = String::from_utf8_lossy(&safe.stderr);
    assert!(!safe.status.success(), "the safe spelling compiled");
    assert!(
        err.contains("`keep_closed_stdio` is unsafe: write `unsafe(keep_closed_stdio)`"),
        "{err}"
    );
    for option in [
        "unsafe(keep_closed_stdio)",
        "unsafe(keep_closed_stdio), stack_overflow_message",
    ] {
        let out = check(option);
        assert!(
            out.status.success(),
            "{option}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
