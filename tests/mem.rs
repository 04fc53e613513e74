//! tinyrt-start's `memcpy`, `memmove` and `memset` (start/src/mem.rs, the word loops of
//! start/src/arch/generic_mem.rs): the `mem` example's digests of every alignment, length
//! and overlap against the same operations done by std (`copy_from_slice`, `copy_within`,
//! `fill`: glibc's functions) on every architecture; the `mem guard` run with the buffers
//! against inaccessible pages, not killed by SIGSEGV anywhere; and, in the disassembly
//! (llvm-objdump) of every architecture's build, none of the three calls itself or another.

mod common;
use common::{ARCHES, Build, cargo_ok, cross_examples, example, root, stdout, tool};

/// What `examples/mem.rs` does in `check`, done with std: the same digest lines.
fn expected() -> String {
    const BUF: usize = 70_000;
    const FNV: u64 = 0xcbf2_9ce4_8422_2325;
    const DELTAS: [isize; 5] = [-320, -17, 0, 17, 320];
    let pattern = |seed: u32, i: usize| ((i as u32 ^ seed).wrapping_mul(2_654_435_761) >> 24) as u8;
    let paint = |buf: &mut [u8], seed: u32, from: usize, to: usize| {
        for (i, b) in buf.iter_mut().enumerate().take(to).skip(from) {
            *b = pattern(seed, i);
        }
    };
    let hash = |mut h: u64, buf: &[u8]| {
        for &b in buf {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let mut a = vec![0u8; BUF];
    let mut b = vec![0u8; BUF];
    paint(&mut a, 1, 0, BUF);
    paint(&mut b, 2, 0, BUF);
    let mut out = String::new();
    for len in (0..=300).chain([4096, 4099, 65_536 + 7]) {
        let aligns: Vec<usize> = if len > 300 {
            vec![0, 3, 13]
        } else {
            (0..16).collect()
        };
        let (mut copy, mut mv, mut set) = (FNV, FNV, FNV);
        for &sa in &aligns {
            for &da in &aligns {
                let d = 16 + da;
                b[d..d + len].copy_from_slice(&a[16 + sa..16 + sa + len]);
                copy = hash(copy, &b[d - 16..d + len + 16]);
                paint(&mut b, 2, d - 16, d + len + 16);
                b[d..d + len].fill(((len + sa) & 0xff) as u8);
                set = hash(set, &b[d - 16..d + len + 16]);
                paint(&mut b, 2, d - 16, d + len + 16);
                for delta in DELTAS {
                    let s = 336 + sa;
                    let d = (336 + da).wrapping_add_signed(delta);
                    a.copy_within(s..s + len, d);
                    mv = hash(mv, &a[d - 16..d + len + 16]);
                    paint(&mut a, 1, d - 16, d + len + 16);
                }
            }
        }
        out += &format!("copy {len} {copy:016x}\nmove {len} {mv:016x}\nset {len} {set:016x}\n");
    }
    out
}

/// The first line where `got` and `want` differ (which operation and length), or the
/// whole outputs' difference in length.
fn first_difference(got: &str, want: &str) -> Option<String> {
    got.lines()
        .zip(want.lines())
        .find(|(g, w)| g != w)
        .map(|(g, w)| format!("got {g:?}, std gives {w:?}"))
        .or_else(|| {
            (got.lines().count() != want.lines().count()).then(|| {
                format!(
                    "{} lines, std gives {}",
                    got.lines().count(),
                    want.lines().count()
                )
            })
        })
}

#[test]
fn mem_functions_match_std_on_every_arch() {
    let want = expected();
    assert_eq!(want.lines().count(), 3 * 304);
    let mut runs = vec![("x86_64 (native)".to_owned(), {
        let p = example(Build::Release, "mem");
        std::process::Command::new(p)
    })];
    for arch in ARCHES {
        if let Some(dir) = cross_examples(&arch) {
            runs.push((arch.name(), arch.command(&dir.join("mem"))));
        }
    }
    for (name, mut cmd) in runs {
        let out = cmd.arg("check").output().unwrap();
        assert!(out.status.success(), "{name}: {out:?}");
        if let Some(d) = first_difference(&stdout(&out), &want) {
            panic!("{name}: {d}");
        }
    }
}

/// No load or store beyond either end of a buffer: the `mem guard` run (buffers touching
/// `PROT_NONE` pages on either side, every gap 0..16 on the other, lengths 0..=64, 4095 and
/// 4096) is not killed by SIGSEGV on any architecture, and every destination and the 16
/// bytes around it hold what they should: it prints `guard ok` and its number of calls
/// (per length and gap: 8 placements for each of memcpy and memmove between two mappings,
/// 8 memmoves inside one, 2 memsets).
#[test]
fn mem_functions_stay_inside_their_buffers() {
    let want = format!("guard ok {}\n", (65 + 2) * 16 * (16 + 8 + 2));
    let mut runs = vec![(
        "x86_64 (native)".to_owned(),
        std::process::Command::new(example(Build::Release, "mem")),
    )];
    for arch in ARCHES {
        if let Some(dir) = cross_examples(&arch) {
            runs.push((arch.name(), arch.command(&dir.join("mem"))));
        }
    }
    for (name, mut cmd) in runs {
        let out = cmd.arg("guard").output().unwrap();
        // qemu-user reports the guest's signal as its own death by it.
        let signal = std::os::unix::process::ExitStatusExt::signal(&out.status);
        assert_eq!(signal, None, "{name}: killed by signal {signal:?}: {out:?}");
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(stdout(&out), want, "{name}");
    }
}

/// The bodies of `memcpy`, `memmove` and `memset` in the `syms` build of `mem` for every
/// architecture are leaves: no call or jump to any other symbol. LLVM must not have turned
/// a copy or fill loop back into a call to one of them (which would recurse forever), nor
/// left a loop out of line where that could happen.
#[test]
fn no_mem_function_calls_itself() {
    let dir = root().join("target/tinyrt-tests/mem-syms");
    let mut targets = vec!["x86_64-unknown-linux-gnu"];
    for arch in ARCHES {
        if !targets.contains(&arch.target) && common::runnable(&arch) {
            targets.push(arch.target);
        }
    }
    for target in targets {
        cargo_ok(
            common::cargo()
                .env("CARGO_TARGET_DIR", &dir)
                .args(["build", "--quiet", "--profile", "syms", "--example", "mem"])
                .args(["--target", target]),
            target,
        );
        let exe = dir.join(target).join("syms/examples/mem");
        let symbols = tool("nm", &["-S", exe.to_str().unwrap()]);
        for f in ["memcpy", "memmove", "memset"] {
            // Its address and size (nm).
            let (start, size) = symbols
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|w| w.len() == 4 && w[3] == f)
                .map(|w| {
                    let hex = |v: &str| u64::from_str_radix(v, 16).unwrap();
                    (hex(w[0]), hex(w[1]))
                })
                .unwrap_or_else(|| panic!("{target}: no {f} in\n{symbols}"));
            let asm = tool(
                "llvm-objdump",
                &[
                    "-d",
                    "--no-show-raw-insn",
                    // By address: riscv64's symbol table also lists local labels
                    // (`.Lpcrel_hi*`) inside the function, where a listing by symbol stops.
                    &format!("--start-address={start:#x}"),
                    &format!("--stop-address={:#x}", start + size),
                    exe.to_str().unwrap(),
                ],
            );
            let body: Vec<&str> = asm
                .lines()
                .filter(|l| {
                    l.split(':')
                        .next()
                        .and_then(|a| u64::from_str_radix(a.trim(), 16).ok())
                        .is_some_and(|a| a >= start && a < start + size)
                })
                .collect();
            assert!(body.len() > 3, "{target}: no {f} in\n{asm}");
            // A leaf: every address its instructions name (branch targets, which
            // llvm-objdump writes before a `<symbol+offset>`) lies inside it.
            let branch_target = |l: &str| {
                let (before, _) = l.split_once(" <")?;
                let a = before.split_whitespace().last()?.trim_start_matches("0x");
                u64::from_str_radix(a, 16).ok()
            };
            let elsewhere: Vec<&&str> = body
                .iter()
                .filter(|l| branch_target(l).is_some_and(|a| !(start..start + size).contains(&a)))
                .collect();
            assert!(
                elsewhere.is_empty(),
                "{target}: {f} reaches other code: {elsewhere:?}\n{}",
                body.join("\n")
            );
        }
    }
}
