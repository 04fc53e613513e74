//! Guard rails for the repository's own lists: every integration test file runs, and every
//! list of architectures agrees with the one source (`.cargo/config.toml`).

mod common;
use common::{ARCHES, root};
use std::collections::BTreeSet;

/// `[[test]]` tables name their file (`path = "x.rs"`); with `autotests = false` a file that
/// is not listed would silently never run.
#[test]
fn every_test_file_is_a_listed_test() {
    let manifest = std::fs::read_to_string(root().join("tests/Cargo.toml")).unwrap();
    let listed: BTreeSet<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .map(str::to_owned)
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(root().join("tests"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    assert!(files.contains("manifest.rs"), "{files:?}");
    let unlisted: Vec<_> = files.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&files).collect();
    assert!(
        unlisted.is_empty(),
        "tests/*.rs without a [[test]] in tests/Cargo.toml: {unlisted:?}"
    );
    assert!(missing.is_empty(), "[[test]] without a file: {missing:?}");
}

/// The cross targets of `.cargo/config.toml` (linker and runner), which scripts/test and
/// .ci/run install and scripts/report measures, are exactly the tests' `ARCHES` besides
/// the host, and each emulated one runs under the qemu its config names.
#[test]
fn the_lists_of_architectures_agree() {
    let config = std::fs::read_to_string(root().join(".cargo/config.toml")).unwrap();
    let mut configured = BTreeSet::new();
    let mut runners = BTreeSet::new();
    let mut current = None;
    for line in config.lines() {
        if let Some(t) = line
            .strip_prefix("[target.")
            .and_then(|l| l.strip_suffix(']'))
        {
            configured.insert(t.to_owned());
            current = Some(t.to_owned());
        } else if let Some(r) = line.strip_prefix("runner = \"") {
            runners.insert((current.clone().unwrap(), r.trim_end_matches('"').to_owned()));
        }
    }
    let host = "x86_64-unknown-linux-gnu";
    let tested: BTreeSet<String> = ARCHES
        .iter()
        .map(|a| a.target.to_owned())
        .filter(|t| t != host)
        .collect();
    assert_eq!(
        configured, tested,
        ".cargo/config.toml against tests/common ARCHES"
    );
    for (target, runner) in &runners {
        assert!(
            ARCHES
                .iter()
                .any(|a| a.target == target && a.runner == Some(runner.as_str())),
            "{target} runs under {runner} in .cargo/config.toml but not in ARCHES"
        );
    }
    // The scripts read the same file rather than keeping lists of their own.
    for script in ["scripts/test", ".ci/run", "scripts/report"] {
        let text = std::fs::read_to_string(root().join(script)).unwrap();
        assert!(
            text.contains(".cargo/config.toml") || text.contains("\"config.toml\""),
            "{script}"
        );
        for t in &configured {
            assert!(!text.contains(t.as_str()), "{script} names {t} itself");
        }
    }
}

/// Every public module of tinyrt-rt shows itself in use: its documentation has an example
/// (`scripts/test` runs them: `cargo test -p tinyrt-rt --doc`), runnable in library mode or
/// `no_run` where it needs tinyrt's crt0.
#[test]
fn every_public_module_has_a_doc_example() {
    let src = root().join("rt/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let mut without = Vec::new();
    let mut seen = 0;
    for line in lib.lines() {
        let Some(name) = line
            .trim()
            .strip_prefix("pub mod ")
            .and_then(|l| l.strip_suffix(';'))
        else {
            continue;
        };
        seen += 1;
        let file = [
            src.join(format!("{name}.rs")),
            src.join(name).join("mod.rs"),
        ]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no file for module {name}"));
        let text = std::fs::read_to_string(&file).unwrap();
        let has_example = text.lines().any(|l| l.trim_start().starts_with("//! ```"));
        if !has_example {
            without.push(name.to_string());
        }
    }
    assert!(seen >= 12, "read {seen} public modules from rt/src/lib.rs");
    assert!(
        without.is_empty(),
        "public modules without a doc example: {without:?}"
    );
}
