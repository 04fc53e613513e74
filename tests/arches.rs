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
    }
}
