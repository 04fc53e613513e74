//! A crate outside this workspace, written as the README tells users to (template/), builds
//! with plain `cargo build`, links statically and runs; with only tinyrt's `pie` feature
//! added it is a static-PIE program.

mod common;
use common::{cargo, cargo_ok, root, run, stdout, tool};
use std::path::PathBuf;

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
    std::fs::create_dir_all(user.join("src")).unwrap();
    for f in ["build.rs", "src/main.rs"] {
        std::fs::copy(root().join("template").join(f), user.join(f)).unwrap();
    }
    let manifest = std::fs::read_to_string(root().join("template/Cargo.toml")).unwrap();
    let from_path = "tinyrt = { path = \"..\" }";
    assert!(manifest.contains(from_path), "{manifest}");
    let manifest = manifest.replace(from_path, "tinyrt = \"0.1\"") + "\n" + &patch;
    std::fs::write(user.join("Cargo.toml"), manifest).unwrap();
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
