//! tests/sha256sum.rs on the other architectures: a smaller set of cases against GNU, the
//! SHA code each one runs, and a file past 2 GiB on a 32-bit one.

use super::{GNU, NAMES, Side, agree, case, content, fixed_dir, fresh, put, run};
use crate::common::{self, ARCHES};
use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// A smaller set on every architecture, against GNU natively: every size and name (chunked
/// reads, the escapes), standard input twice, errors, and each kind of check list.
#[test]
fn on_every_arch() {
    let mut names = vec!["--tag", "--"];
    names.extend(NAMES);
    let some = [
        case(
            &["s0", "s55", "s56", "s63", "s64", "s65", "s129", "big"],
            b"",
        ),
        case(&names, b""),
        case(
            &["-b", "-", "-", "adir", "gone", "a b"],
            &content(3, 70_000),
        ),
        case(&["-z", "--", "new\nline", "-dash"], b""),
        case(&["--s"], b""),
        case(&["-cz"], b""),
        case(
            &["-c", "--warn", "good.sums", "tag.sums", "mixed.sums"],
            b"",
        ),
        case(&["-c", "--strict", "bsd.sums", "missing.sums", "adir"], b""),
        case(
            &[
                "-c",
                "--ignore-missing",
                "--quiet",
                "missing.sums",
                "mixed.sums",
            ],
            b"",
        ),
        case(&["-c", "--status", "stdin.sums", "-"], b"abc"),
    ];
    for arch in ARCHES {
        let Some(program) = common::cross_example(&arch, &["alloc", "threads"], "sha256sum") else {
            continue;
        };
        let side = Side {
            program: &program,
            qemu: arch.runner,
        };
        for (args, stdin) in &some {
            if let Err(e) = agree(side, args, fixed_dir(), stdin) {
                panic!("{}: {e}", arch.name());
            }
        }
    }
}

/// The code sha2 picks at run time, seen in the instructions qemu-user translates (`-d
/// in_asm`): the SHA extensions on x86_64 and i686 (`cpuid`: qemu's CPU has them) and the
/// SHA-2 instructions on aarch64 (HWCAP_SHA2, read through the example's `getauxval` on
/// tinyrt's auxiliary vector); the portable code on the others, which sha2 0.11 never
/// dispatches at run time.
#[test]
fn the_sha_instructions_run_where_the_cpu_has_them() {
    let dir = fresh("backend");
    put(&dir, "abc", b"abc");
    for arch in ARCHES {
        let Some(q) = arch.runner else { continue };
        let Some(program) = common::cross_example(&arch, &["alloc", "threads"], "sha256sum") else {
            continue;
        };
        let log = dir.join(format!("{q}.log"));
        let out = Command::new(q)
            .args([OsStr::new("-d"), OsStr::new("in_asm"), OsStr::new("-D")])
            .arg(&log)
            .arg(&program)
            .arg(dir.join("abc"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", arch.name());
        assert!(
            out.stdout
                .starts_with(b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9c")
        );
        let asm = std::fs::read_to_string(&log).unwrap();
        let (sha_ni, sha2) = (asm.contains("sha256rnds2"), asm.contains("sha256h"));
        let want = match arch.target.split('-').next().unwrap() {
            "x86_64" | "i686" => (true, false),
            "aarch64" => (false, true),
            _ => (false, false),
        };
        assert_eq!(
            (sha_ni, sha2),
            want,
            "{}: (SHA-NI, SHA-2) executed",
            arch.name()
        );
    }
}

/// A file of 2 GiB and a byte on i686, natively: opened with O_LARGEFILE, else the kernel
/// answers EOVERFLOW (`Value too large for defined data type`, seen with the flag left
/// out). Not under qemu-user, whose open is the 64-bit host's: an armv7 build without the
/// flag read the file there. A sparse file: reading it costs page clearing, not disk.
#[test]
fn a_file_past_2_gib_on_32_bit() {
    let Some(arch) = ARCHES.iter().find(|a| a.runner.is_none()) else {
        panic!("no native 32-bit architecture in ARCHES");
    };
    let Some(program) = common::cross_example(arch, &["alloc", "threads"], "sha256sum") else {
        return;
    };
    let files = fresh("large");
    let big = std::fs::File::create(files.join("big")).unwrap();
    big.set_len((2 << 30) + 1).unwrap();
    drop(big);
    let args = [b"big".to_vec()];
    let side = Side {
        program: &program,
        qemu: None,
    };
    let gnu = Side {
        program: Path::new(GNU),
        qemu: None,
    };
    let (ours, want) = (run(side, &args, &files, b""), run(gnu, &args, &files, b""));
    let _ = std::fs::remove_dir_all(&files);
    assert_eq!(want.2, Some(0), "{}", String::from_utf8_lossy(&want.1));
    assert_eq!(ours, want, "{}", String::from_utf8_lossy(&ours.1));
}
