//! A crate outside this workspace, written as the README tells users to (template/), builds
//! with plain `cargo build`, links statically and runs.

mod common;
use common::{cargo, root, run, stdout, tool};

#[test]
fn template_crate_builds_links_statically_and_runs() {
    for (profile, dir) in [("--release", "release"), ("--profile=dev", "debug")] {
        let target = root().join("target/tinyrt-tests/template");
        let out = cargo()
            .current_dir(root().join("template"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--quiet", profile])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = target.join(dir).join("tinyrt-template");

        let out = run(&exe, &["tester"]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(stdout(&out), "Hello, tester from a downstream crate!\n");

        let p = exe.to_str().unwrap();
        let segments = tool("readelf", &["-lW", p]);
        assert!(segments.contains("EXEC (Executable file)"), "{segments}");
        assert!(
            !segments.contains("INTERP") && !segments.contains("DYNAMIC"),
            "{segments}"
        );
        assert!(tool("readelf", &["-dW", p]).contains("no dynamic section"));
    }
}

/// The same crate in static-PIE mode: only the dependency's feature changes
/// (`tinyrt = { ..., features = ["pie"] }`; here `--features tinyrt/pie`); its build.rs
/// passes on whatever link arguments tinyrt hands over.
#[test]
fn template_crate_builds_as_static_pie() {
    let target = root().join("target/tinyrt-tests/template-pie");
    let out = cargo()
        .current_dir(root().join("template"))
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--quiet", "--release", "--features", "tinyrt/pie"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = target.join("release/tinyrt-template");
    let out = run(&exe, &["tester"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "Hello, tester from a downstream crate!\n");
    let segments = tool("readelf", &["-lW", exe.to_str().unwrap()]);
    assert!(segments.contains("DYN (Position-Independent"), "{segments}");
    assert!(!segments.contains("INTERP"), "{segments}");
}
