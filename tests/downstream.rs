//! A crate outside this workspace, written as the README tells users to (template/), builds
//! with plain `cargo build`, links statically and runs; with only tinyrt's `pie` feature
//! added it is a static-PIE program.

mod common;
use common::{cargo, root, run, stdout, tool};
use std::path::PathBuf;

/// Builds the template into `target/tinyrt-tests/<dir>` with `args`, checks that it greets
/// as it should, and returns the program's path and its `readelf -lW`.
fn build_and_run(dir: &str, args: &[&str], profile_dir: &str) -> (PathBuf, String) {
    let target = root().join("target/tinyrt-tests").join(dir);
    let out = cargo()
        .current_dir(root().join("template"))
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
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
