//! Static-PIE (tinyrt's `pie` feature, and `relr` for packed relocations): ELF facts from
//! readelf, every example's behaviour against the normal build, relocation of a program
//! full of pointers, load addresses across runs, RELRO, a refused relocation, and the
//! other architectures.

mod common;
use common::{
    ARCHES, Build, cross_examples_in, cross_examples_with, example, example_names, root, run,
    stdout, tool,
};
use std::path::Path;

const PIE_BUILDS: [Build; 3] = [Build::Pie, Build::PieRelr, Build::DebugPie];

fn readelf(p: &Path, flags: &str) -> String {
    tool("readelf", &[flags, p.to_str().unwrap()])
}

/// What `relocs` prints: its tables of function pointers, string slices, trait objects and
/// a writable pointer, as the program defines them.
const RELOCS: &str = "\
op add1(7) = 8 [plus-one, inc]
op double(7) = 14 [twice]
op square(7) = 49 []
op cube(7) = 343 [pow3]
op neg(7) = 15 [minus]
op half(7) = 3 [halve, div2]
op add100(7) = 107 []
op mul7(7) = 49 [seven]
op xor5(7) = 2 [x5]
op shl3(7) = 56 [times8]
op fib(7) = 13 [fibonacci]
op fact(7) = 5040 [factorial, bang]
op digits(7) = 1 [len]
op popcount(7) = 3 [ones]
op rev(7) = 56 []
op id(7) = 7 [same, identity, noop]
shape square area 9
shape rect area 10
shape triangle area 12
shape square area 121
nested a b | c | d e f
mutable: before -> after
checksum 9013846609829770686
";

#[test]
fn pie_builds_are_et_dyn_without_an_interpreter() {
    for b in PIE_BUILDS {
        for name in example_names() {
            let p = example(b, &name);
            let h = readelf(&p, "-hlW");
            let what = format!("{b:?} {name}");
            assert!(
                h.contains("DYN (Position-Independent Executable file)"),
                "{what}\n{h}"
            );
            assert!(!h.contains("INTERP"), "{what}\n{h}");
            for seg in ["PHDR", "DYNAMIC", "GNU_RELRO", "GNU_STACK"] {
                assert!(h.contains(seg), "{what}: no {seg}\n{h}");
            }
            // Packed (DT_RELR) with `relr`, one entry per relocation without.
            let d = readelf(&p, "-dW");
            if b == Build::PieRelr {
                assert!(d.contains("(RELR)"), "{what}\n{d}");
                assert!(!d.contains("(RELA)"), "{what}\n{d}");
            } else {
                assert!(!d.contains("(RELR)"), "{what}\n{d}");
                assert!(d.contains("(RELA)"), "{what}\n{d}");
            }
        }
    }
    // The control: the normal build is a fixed-address executable.
    let h = readelf(&example(Build::Release, "hello"), "-hW");
    assert!(h.contains("EXEC (Executable file)"), "{h}");
}

#[test]
fn relocs_gets_every_pointer_right() {
    assert_eq!(
        stdout(&run(&example(Build::Release, "relocs"), &[] as &[&str])),
        RELOCS
    );
    for b in PIE_BUILDS {
        let p = example(b, "relocs");
        assert_eq!(stdout(&run(&p, &[] as &[&str])), RELOCS, "{b:?}");
    }
    // Many pointers: one RELA entry each without `relr`...
    let r = readelf(&example(Build::Pie, "relocs"), "-rW");
    let rela = r
        .lines()
        .filter(|l| l.contains("R_X86_64_RELATIVE"))
        .count();
    assert!(rela >= 80, "{rela} relocations\n{r}");
    assert!(
        r.lines()
            .all(|l| !l.contains("R_X86_64_") || l.contains("R_X86_64_RELATIVE")),
        "{r}"
    );
    // ... and a few words of bitmap with it.
    let d = readelf(&example(Build::PieRelr, "relocs"), "-dW");
    let size: usize = d
        .lines()
        .find(|l| l.contains("(RELRSZ)"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{d}"));
    assert!(
        size > 0 && size < rela * 24 / 4,
        "RELRSZ {size} for {rela} relocations"
    );
}

/// What a run of example `exe` (at `path`, started by `cmd`) shows that does not change
/// from run to run or build to build: exit status, stdout with the values that move
/// replaced, and stderr. For comparing a PIE build with the normal one.
fn steady_output(exe: &str, path: &Path, mut cmd: std::process::Command) -> (Option<i32>, String) {
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    // argv[0] names the build's own directory.
    let text = stdout(&out).replace(path.to_str().unwrap(), "EXE");
    let each = |f: &dyn Fn(&str) -> String| text.lines().map(f).collect::<String>();
    let mut text = match exe {
        // Values move; which lines there are and their backends do not.
        "now" => each(&|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let clock = w.get(1).filter(|c| c.starts_with(char::is_alphabetic));
            format!("{} {} {}\n", w[0], clock.unwrap_or(&""), w.last().unwrap())
        }),
        "bench" => each(&|l| {
            l.split("  ").next().unwrap_or("").to_owned() + l.rsplit(' ').next().unwrap() + "\n"
        }),
        // Addresses and random bytes move; the keys do not.
        "auxv" => each(&|l| l.split(':').next().unwrap().to_owned() + "\n"),
        // qemu's guest vDSOs hold absolute addresses, which move with the vDSO.
        "vdso" => each(&|l| l.split(' ').next().unwrap().to_owned() + "\n"),
        // A number of digits; hex of a fixed length.
        "mono" | "random" => text.len().to_string(),
        _ => text.clone(),
    };
    // A panic's first line names the thread's id (std's `thread 'main' (TID) panicked`),
    // which moves from run to run.
    let err = String::from_utf8_lossy(&out.stderr);
    text += &match err
        .split_once("' (")
        .and_then(|(a, b)| Some((a, b.split_once(") ")?)))
    {
        Some((head, (tid, rest))) if tid.parse::<u32>().is_ok() => format!("{head}' (TID) {rest}"),
        _ => err.into_owned(),
    };
    (out.status.code(), text)
}

/// `steady_output` of an x86_64 example in build `b`.
fn steady(b: Build, name: &str, args: &[&str]) -> (Option<i32>, String) {
    let path = example(b, name);
    let mut cmd = std::process::Command::new(&path);
    cmd.args(args);
    steady_output(name, &path, cmd)
}

#[test]
fn every_example_behaves_as_in_the_normal_build() {
    let cases: [(&str, &[&str]); 13] = [
        ("hello", &[]),
        ("tiny", &["a", "b"]),
        ("exitcode", &["300"]),
        ("args", &["x y", ""]),
        ("panic", &["boom"]),
        ("syscalls", &[]),
        ("vdso", &[]),
        ("auxv", &[]),
        ("now", &[]),
        ("mono", &[]),
        ("random", &["16"]),
        ("relocs", &[]),
        ("bench", &["--quick"]),
    ];
    for (name, args) in cases {
        let normal = steady(Build::Release, name, args);
        for b in PIE_BUILDS {
            assert_eq!(steady(b, name, args), normal, "{b:?} {name} {args:?}");
        }
    }
}

/// The load base of a PIE run: AT_ENTRY (printed by the `auxv` example) minus the ELF
/// header's entry point.
fn load_base(exe: &Path, runner: Option<&str>) -> u64 {
    let h = readelf(exe, "-hW");
    let entry = h
        .lines()
        .find(|l| l.contains("Entry point address:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap();
    let out = match runner {
        None => run(exe, &[] as &[&str]),
        Some(q) => std::process::Command::new(q).arg(exe).output().unwrap(),
    };
    let text = stdout(&out);
    let at_entry = text
        .lines()
        .find(|l| l.starts_with("AT_ENTRY:"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or_else(|| panic!("no AT_ENTRY in\n{text}"));
    at_entry - entry
}

fn aslr_on() -> bool {
    std::fs::read_to_string("/proc/sys/kernel/randomize_va_space").is_ok_and(|v| v.trim() != "0")
}

#[test]
fn two_runs_load_the_program_at_different_addresses() {
    if !aslr_on() {
        common::skip(
            "static-PIE load addresses",
            "ASLR is off (randomize_va_space = 0)",
        );
        return;
    }
    for b in [Build::Pie, Build::PieRelr] {
        let exe = example(b, "auxv");
        let (one, two) = (load_base(&exe, None), load_base(&exe, None));
        assert_ne!(one, two, "{b:?}: loaded at {one:#x} twice");
        assert!(one != 0 && one.is_multiple_of(4096), "{b:?}: base {one:#x}");
    }
    // The control: the normal build always runs at its link address.
    let exe = example(Build::Release, "auxv");
    let at = |t: String| {
        t.lines()
            .find(|l| l.starts_with("AT_ENTRY:"))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        at(stdout(&run(&exe, &[] as &[&str]))),
        at(stdout(&run(&exe, &[] as &[&str])))
    );
}

/// After relocation the start code makes the PT_GNU_RELRO pages read-only: one mprotect,
/// exactly over them (strace on the same run that prints its AT_ENTRY).
#[test]
fn relro_pages_are_made_read_only() {
    let exe = example(Build::Pie, "auxv");
    let (out, calls) = common::strace(&[&exe], Some("trace=mprotect"));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let h = readelf(&exe, "-hlW");
    let field = |line: &str, i: usize| {
        u64::from_str_radix(
            line.split_whitespace()
                .nth(i)
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap()
    };
    let relro = h
        .lines()
        .find(|l| l.trim_start().starts_with("GNU_RELRO"))
        .unwrap();
    let (vaddr, memsz) = (field(relro, 2), field(relro, 5));
    let entry = field(h.lines().find(|l| l.contains("Entry point")).unwrap(), 3);
    let at_entry = field(
        text.lines().find(|l| l.starts_with("AT_ENTRY:")).unwrap(),
        1,
    );
    let base = at_entry - entry;
    let start = (base + vaddr) & !4095;
    let end = (base + vaddr + memsz + 4095) & !4095;
    let want = format!("mprotect({start:#x}, {}, PROT_READ) = 0", end - start);
    assert_eq!(calls.trim(), want, "readelf:\n{h}");
}

/// A relocation the start code does not apply (here a R_X86_64_64, patched into the first
/// RELA entry of `relocs`) stops the program before main: a message and exit status 127.
#[test]
fn a_relocation_that_is_not_relative_stops_the_program() {
    // r_info (offset 8 in an Elf64_Rela) = type 1, R_X86_64_64.
    refused_after_patching(
        &example(Build::Pie, "relocs"),
        "RELA",
        8,
        &1u64.to_le_bytes(),
    );
}

/// Copies `src`, writes `patch` at `at` bytes into the first entry of its relocation
/// section of type `kind` (`RELA`, `REL`: offsets from `readelf -S`), runs the copy, and
/// checks that it stops before main with status 127, naming type 1.
fn refused_after_patching(src: &Path, kind: &str, at: usize, patch: &[u8]) {
    let s = readelf(src, "-SW");
    let w: Vec<&str> = s
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|w| w.contains(&kind))
        .unwrap_or_else(|| panic!("no {kind} section\n{s}"));
    let k = w.iter().position(|&x| x == kind).unwrap();
    let offset = usize::from_str_radix(w[k + 2], 16).unwrap() + at;
    let mut bytes = std::fs::read(src).unwrap();
    bytes[offset..offset + patch.len()].copy_from_slice(patch);
    let bad = root().join(format!(
        "target/tinyrt-tests/relocs-bad-{kind}-{}",
        std::process::id()
    ));
    std::fs::write(&bad, &bytes).unwrap();
    std::fs::set_permissions(&bad, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = run(&bad, &[] as &[&str]);
    let _ = std::fs::remove_file(&bad);
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stdout(&out), "", "main must not have run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("tinyrt: cannot start: relocation type 1 is not relative"),
        "{err}"
    );
}

/// `steady_output` of example `exe` in `dir`, run on `arch`.
fn steady_on(arch: &common::Arch, dir: &Path, exe: &str, args: &[&str]) -> (Option<i32>, String) {
    let path = dir.join(exe);
    let mut cmd = arch.command(&path);
    cmd.args(args);
    steady_output(exe, &path, cmd)
}

#[test]
fn pie_on_every_arch() {
    for arch in ARCHES {
        let Some(normal) = common::cross_examples(&arch) else {
            continue;
        };
        // Release with RELA/REL, release with RELR, and (natively: i686) unoptimised.
        let mut builds = vec![(&["pie"][..], true), (&["relr"][..], true)];
        if arch.runner.is_none() {
            builds.push((&["pie"][..], false));
        }
        for (features, release) in builds {
            let Some(dir) = cross_examples_in(&arch, features, release) else {
                continue;
            };
            let name = format!("{} {features:?} release={release}", arch.name());
            for e in example_names() {
                let h = readelf(&dir.join(&e), "-hlW");
                assert!(
                    h.contains("DYN (Position-Independent Executable file)"),
                    "{name} {e}"
                );
                assert!(!h.contains("INTERP"), "{name} {e}");
            }
            let go = |exe: &str, args: &[&str]| {
                let out = arch.command(&dir.join(exe)).args(args).output().unwrap();
                (out.status.code(), stdout(&out))
            };
            assert_eq!(
                go("hello", &[]),
                (Some(0), "Hello, world!\n".into()),
                "{name}"
            );
            assert_eq!(go("tiny", &["a", "b", "c"]).0, Some(3), "{name}");
            assert_eq!(go("relocs", &[]), (Some(0), RELOCS.into()), "{name}");
            // Every other example behaves as in the normal build (values that move aside).
            for (exe, args) in [
                ("now", &[][..]),
                ("random", &["16"][..]),
                ("panic", &["boom"][..]),
                ("syscalls", &[][..]),
                ("args", &["x y", ""][..]),
                ("exitcode", &["300"][..]),
                ("vdso", &[][..]),
                ("mono", &[][..]),
                ("bench", &["--quick"][..]),
                ("auxv", &[][..]),
            ] {
                assert_eq!(
                    steady_on(&arch, &dir, exe, args),
                    steady_on(&arch, &normal, exe, args),
                    "{name}: {exe}"
                );
            }
            let exe = dir.join("auxv");
            let one = load_base(&exe, arch.runner);
            assert!(
                one != 0 && one.is_multiple_of(4096),
                "{name}: base {one:#x}"
            );
            // Natively, and under qemu-aarch64, the kernel (or qemu) picks a random base
            // each run. qemu-user loads the other guests' ET_DYN programs at one fixed base
            // (0x555555554000-ish for most 64-bit guests, 0x2aa00000000 for s390x,
            // 0x100000000 for powerpc64le, 0x400000 for 32-bit): its choice, not ours;
            // there the non-zero base above proves the relocations were applied.
            if aslr_on() && (arch.runner.is_none() || arch.runner == Some("qemu-aarch64")) {
                assert_ne!(one, load_base(&exe, arch.runner), "{name}");
            }
        }
    }
}

/// i686 uses REL relocations (the addend in place): a refused one (an R_386_32 patched
/// into the first `.rel.dyn` entry) stops the program with 127 there too.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_refused_rel_relocation_stops_an_i686_program() {
    let Some(dir) = cross_examples_with(&ARCHES[0], &["pie"]) else {
        return;
    };
    // r_info's type byte (offset 4 in an Elf32_Rel) = 1, R_386_32.
    refused_after_patching(&dir.join("relocs"), "REL", 4, &[1]);
}
