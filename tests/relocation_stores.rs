//! Static-PIE relocation happens outside Rust's memory model (start/src/pie.rs): every
//! relocated word is written by the architecture's `relocation_store` (an `asm!` store),
//! never by a store the compiler emitted. `relocs` (96 relocations), built with `pie` and
//! with `relr` for x86_64 and i686 and with `--cfg tinyrt_mark_relocation_stores` (which
//! records each such store's address in a section that is not loaded), is single-stepped
//! (ptrace) from exec to `main`: each step that changes a relocated word (readelf's list)
//! must be one of the recorded stores, and every relocated word has changed by `main`; the
//! start-up enters `after_relocation`, the function of its own (never inlined) that runs
//! `init` and `main`, only after the last of those stores. (That no relocated word is read
//! before then rests on that call boundary, which start/src/pie.rs explains; this test
//! checks the order, not every load.)
#![cfg(target_arch = "x86_64")]

mod common;
use common::{cargo, cargo_ok, root, tool};
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A run that takes this many steps before `main` has gone wrong.
const STEP_LIMIT: usize = 200_000;

fn hex(v: &str) -> u64 {
    u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{v:?}"))
}

/// The link-time addresses of the words the dynamic section asks to relocate (readelf -r:
/// RELA/REL lines of type *_RELATIVE, and RELR's decoded list of offsets).
fn relocated_words(exe: &Path) -> Vec<u64> {
    let r = tool("readelf", &["-rW", exe.to_str().unwrap()]);
    let mut words = Vec::new();
    for l in r.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        let is_hex = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_hexdigit());
        match w[..] {
            [one] if is_hex(one) => words.push(hex(one)),
            [at, _, kind, ..] if is_hex(at) && kind.ends_with("_RELATIVE") => words.push(hex(at)),
            _ => {}
        }
    }
    words
}

/// The addresses in section `.tinyrt_relocation_stores` (words of `width` bytes).
fn marked_stores(exe: &Path, width: usize) -> HashSet<u64> {
    let dump = tool(
        "readelf",
        &["-x", ".tinyrt_relocation_stores", exe.to_str().unwrap()],
    );
    let mut bytes = Vec::new();
    for l in dump.lines().filter(|l| l.trim_start().starts_with("0x")) {
        for group in l.split_whitespace().skip(1).take(4) {
            if group.len() != 8 || !group.chars().all(|c| c.is_ascii_hexdigit()) {
                break;
            }
            for i in 0..4 {
                bytes.push(u8::from_str_radix(&group[2 * i..2 * i + 2], 16).unwrap());
            }
        }
    }
    bytes
        .chunks(width)
        .map(|c| c.iter().rev().fold(0u64, |v, &b| v << 8 | u64::from(b)))
        .collect()
}

/// What a run showed before `main`.
struct Run {
    /// For each relocated word that changed, the link-time address of the instruction that
    /// changed it.
    writers: HashMap<u64, u64>,
    /// The step of the last change to a relocated word.
    last_write: usize,
    /// The first step at `after_relocation` (start/src/lib.rs), if it ran.
    after_relocation: Option<usize>,
}

/// Single-steps `exe` from exec to its `main` (`__tinyrt_main`).
fn single_step(exe: &Path, words: &[u64], width: usize) -> Run {
    let syms = tool("nm", &[exe.to_str().unwrap()]);
    let symbol = |part: &str| {
        syms.lines()
            .find(|l| l.contains(part))
            .map(|l| hex(l.split_whitespace().next().unwrap()))
    };
    let main = symbol(" __tinyrt_main").unwrap_or_else(|| panic!("no __tinyrt_main in\n{syms}"));
    // The function that runs init and main once the words are relocated: never inlined.
    let after = symbol("tinyrt_start16after_relocation")
        .unwrap_or_else(|| panic!("{exe:?}: no after_relocation function"));
    let (pid, _stdout) = common::ptrace::start_traced(exe, &[], None);
    // The image's lowest mapping is its first PT_LOAD, at link address 0 (link-pie.x).
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let name = std::fs::canonicalize(exe).unwrap();
    let base = maps
        .lines()
        .find(|l| l.ends_with(name.to_str().unwrap()))
        .map(|l| hex(l.split('-').next().unwrap()))
        .unwrap_or_else(|| panic!("{name:?} not mapped:\n{maps}"));
    assert!(base != 0, "loaded at its link address");
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).unwrap();
    let read = |at: u64| {
        let mut b = [0u8; 8];
        mem.read_exact_at(&mut b[..width], base + at).unwrap();
        u64::from_le_bytes(b)
    };
    let mut before: Vec<u64> = words.iter().map(|&w| read(w)).collect();
    let mut run = Run {
        writers: HashMap::new(),
        last_write: 0,
        after_relocation: None,
    };
    let mut status = 0;
    for step in 0.. {
        assert!(step < STEP_LIMIT, "{exe:?} ran away before main");
        let pc = common::ptrace::regs(pid).rip;
        if pc == base + main {
            break;
        }
        if pc == base + after && run.after_relocation.is_none() {
            run.after_relocation = Some(step);
        }
        // SAFETY: resume our stopped tracee for one instruction, and wait for it.
        unsafe {
            assert_eq!(libc::ptrace(libc::PTRACE_SINGLESTEP, pid, 0, 0), 0);
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        }
        assert!(
            libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
            "{exe:?} ended or stopped before main: {status:#x}"
        );
        for (i, &w) in words.iter().enumerate() {
            let now = read(w);
            if now != before[i] {
                let again = run.writers.insert(w, pc - base);
                assert!(again.is_none(), "{exe:?}: word {w:#x} written twice");
                before[i] = now;
                run.last_write = step;
            }
        }
    }
    // SAFETY: our tracee; it dies with us anyway.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    run
}

#[test]
fn every_relocated_word_is_written_by_the_asm_store() {
    let dir = root().join("target/tinyrt-tests/relocation-stores");
    for (target, width) in [
        ("x86_64-unknown-linux-gnu", 8),
        ("i686-unknown-linux-gnu", 4),
    ] {
        for feature in ["pie", "relr"] {
            let what = format!("{target} {feature}");
            let target_dir = dir.join(feature);
            cargo_ok(
                cargo()
                    .env("CARGO_TARGET_DIR", &target_dir)
                    .env(
                        "RUSTFLAGS",
                        "--cfg tinyrt_mark_relocation_stores \
                         --check-cfg cfg(tinyrt_mark_relocation_stores)",
                    )
                    .args([
                        "build",
                        "--quiet",
                        "--profile",
                        "syms",
                        "--example",
                        "relocs",
                    ])
                    .args(["--features", feature, "--target", target]),
                &what,
            );
            let exe = target_dir.join(target).join("syms/examples/relocs");
            let words = relocated_words(&exe);
            assert!(words.len() >= 80, "{what}: {} relocations", words.len());
            let marks = marked_stores(&exe, width);
            assert!(!marks.is_empty(), "{what}: no marked stores");
            let run = single_step(&exe, &words, width);
            for w in &words {
                let pc = run
                    .writers
                    .get(w)
                    .unwrap_or_else(|| panic!("{what}: word {w:#x} not relocated before main"));
                assert!(
                    marks.contains(pc),
                    "{what}: word {w:#x} written by the instruction at {pc:#x}, not by \
                     relocation_store (at {marks:x?})"
                );
            }
            // The rest of the start-up runs in its own function, entered after the last
            // relocation. (This shows the order of the two, not that nothing read a
            // relocated word before: that rests on the call boundary, see pie.rs.)
            assert!(
                run.after_relocation
                    .is_some_and(|step| step > run.last_write),
                "{what}: after_relocation at step {:?}, last relocation at step {}",
                run.after_relocation,
                run.last_write
            );
        }
    }
}
