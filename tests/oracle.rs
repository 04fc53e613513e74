//! Oracle tests: what a user feeds tinyrt's builders, generated (proptest, with shrinking),
//! and the answer held to a reference nobody here wrote.
//!
//! `Command` against `std::process::Command`: one spec (0 to 64 listed arguments, empty,
//! long, with spaces, `=` and bytes that are not UTF-8; environment entries set, removed and
//! cleared in any order, the same name twice, `PATH` changed so that the search finds
//! another file or none; the working directory; the child's mask and default signals; a
//! parent that blocks, ignores or handles signals; `status`, or `exec` in place of the
//! parent) is run by `examples/spawn_spec.rs`
//! (tinyrt) and by `tests/tools/spawn_spec_std.rs` (std), both starting
//! `tests/tools/probe.c`, which prints its argv, environment, working directory, the file
//! it runs and its SigBlk/SigIgn/SigCgt lines. Both outputs and exit codes must be equal,
//! byte for byte, with these rules (each a documented choice, not a tolerance):
//! - a changed environment is compared as a sorted list: std builds it as a BTreeMap
//!   (sorted by name), tinyrt keeps the inherited order and adds what it sets after it;
//!   an unchanged one is compared in order;
//! - the child's mask is empty unless `signal_mask` sets it; std's child inherits the
//!   parent's (since Rust 1.66), so the std side sets it in `pre_exec` (see the helper);
//! - SigIgn's bits for signals 32 and 33 are left out: glibc 2.36's `posix_spawn` (std's
//!   path without `pre_exec`) leaves its two internal signals ignored in the child;
//! - without the `alloc` feature more than `MAX_ARGS` (32) listed arguments, argv[0]
//!   included, are the documented `E2BIG` (`error 7`, nothing started); with it, std's
//!   answer.
//!
//! Natively in release and `alloc` builds, then fewer cases on every other architecture
//! (the tinyrt side under qemu-user, the probe and the std side native). Seeds: a failure
//! prints the seed and the shrunk spec; `TINYRT_ORACLE_SEED=N` replays a run.

mod common;
use common::{ARCHES, Arch, Build, cargo, cargo_ok, cross_examples, example, root, tool};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The probe, the std side and the directories the `PATH` searches, built once.
struct Fixture {
    probe: PathBuf,
    std_side: PathBuf,
    /// The helpers' working directory: `a`, `b`, `c` (searched), `probe-here`.
    home: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = root().join("target/tinyrt-tests/oracle");
        let home = dir.join("home");
        let _ = std::fs::remove_dir_all(&home);
        for d in ["a", "b", "c"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        let probe = dir.join("probe");
        let (p, src) = (probe.to_str().unwrap(), root().join("tests/tools/probe.c"));
        tool("gcc", &["-O2", "-static", "-o", p, src.to_str().unwrap()]);
        let std_side = dir.join("spawn_spec_std");
        let src = root().join("tests/tools/spawn_spec_std.rs");
        tool(
            "rustc",
            &[
                "--edition",
                "2024",
                "-O",
                "-o",
                std_side.to_str().unwrap(),
                src.to_str().unwrap(),
            ],
        );
        // probe-a in a; probe-ab in a and b; probe-b in b, and in c without the execute
        // bit (EACCES, remembered while the search goes on); probe-c in c.
        let copies = [
            ("a/probe-a", 0o755),
            ("a/probe-ab", 0o755),
            ("b/probe-ab", 0o755),
            ("b/probe-b", 0o755),
            ("c/probe-b", 0o644),
            ("c/probe-c", 0o755),
            ("probe-here", 0o755),
        ];
        for (name, mode) in copies {
            let to = home.join(name);
            std::fs::copy(&probe, &to).unwrap();
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        Fixture {
            probe,
            std_side,
            home,
        }
    })
}

/// One item of a spec, in `spawn_spec`'s words.
#[derive(Clone, Debug)]
enum Op {
    Arg(Vec<u8>),
    Env(Vec<u8>, Vec<u8>),
    Unset(Vec<u8>),
    Clear,
    Cwd(Vec<u8>),
    Mask(Vec<i32>),
    Default(Vec<i32>),
}

/// A generated case: the environment both sides inherit, the parent's own signal set-up
/// (`--block`, `--ignore`, `--trap`), the program, and the command's items in order.
#[derive(Clone)]
struct Spec {
    inherited: Vec<(Vec<u8>, Vec<u8>)>,
    parent: Vec<(&'static str, Vec<i32>)>,
    /// `exec` instead of `status`.
    exec: bool,
    program: Vec<u8>,
    ops: Vec<Op>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.shell(Path::new("spawn_spec")))
    }
}

impl Spec {
    fn argv(&self) -> Vec<OsString> {
        let os = |b: &[u8]| OsString::from_vec(b.to_vec());
        let list =
            |l: &[i32]| OsString::from(l.iter().map(i32::to_string).collect::<Vec<_>>().join(","));
        let mut v = vec![os(&self.program)];
        for (opt, l) in &self.parent {
            v.extend([OsString::from(opt), list(l)]);
        }
        if self.exec {
            v.push("--exec".into());
        }
        for op in &self.ops {
            let (opt, val) = match op {
                Op::Arg(a) => ("--arg", os(a)),
                Op::Env(n, val) => ("--env", os(&[n.as_slice(), b"=", val].concat())),
                Op::Unset(n) => ("--unset", os(n)),
                Op::Clear => {
                    v.push("--clear-env".into());
                    continue;
                }
                Op::Cwd(d) => ("--cwd", os(d)),
                Op::Mask(l) => ("--mask", list(l)),
                Op::Default(l) => ("--default", list(l)),
            };
            v.extend([OsString::from(opt), val]);
        }
        v
    }

    fn listed(&self) -> usize {
        1 + self.ops.iter().filter(|o| matches!(o, Op::Arg(_))).count()
    }

    fn env_changed(&self) -> bool {
        self.ops
            .iter()
            .any(|o| matches!(o, Op::Env(..) | Op::Unset(_) | Op::Clear))
    }

    /// The case as a shell line (for a failure's message).
    fn shell(&self, tinyrt: &Path) -> String {
        let q = |s: &[u8]| format!("'{}'", String::from_utf8_lossy(s).replace('\'', "'\\''"));
        let env: Vec<String> = self
            .inherited
            .iter()
            .map(|(n, v)| q(&[n.as_slice(), b"=", v].concat()))
            .collect();
        let args: Vec<String> = self.argv().iter().map(|a| q(a.as_bytes())).collect();
        format!(
            "env -i {} {} {}",
            env.join(" "),
            tinyrt.display(),
            args.join(" ")
        )
    }
}

/// Signals a parent may ignore or handle (not SIGCHLD: an ignored one reaps the child
/// before the parent waits; not 32 and 33: glibc's own). The real-time ones (past 31) only
/// natively: qemu-user gives a guest's real-time signals other numbers on the host.
const CATCHABLE: [i32; 12] = [1, 2, 3, 10, 12, 13, 14, 15, 28, 34, 40, 64];
/// Signals to block, mask or reset: those and SIGCHLD.
const MASKABLE: [i32; 13] = [1, 2, 3, 10, 12, 13, 14, 15, 17, 28, 34, 40, 64];

/// `pool`, without the real-time signals unless `rt`.
fn pool(pool: &'static [i32], rt: bool) -> &'static [i32] {
    let standard = pool.iter().take_while(|&&n| n < 32).count();
    if rt { pool } else { &pool[..standard] }
}

fn signals(pool: &'static [i32]) -> impl Strategy<Value = Vec<i32>> {
    proptest::sample::subsequence(pool, 0..=4)
}

/// An argument: empty, plain, with spaces and `=`, any bytes but NUL, or long.
fn argument() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(proptest::sample::select(b"ab =-x".to_vec()), 1..12),
        proptest::collection::vec(1u8..=255, 0..24),
        (1usize..4096, 1u8..=255).prop_map(|(n, b)| vec![b; n]),
    ]
}

/// Names the command sets and removes: a few, so that they collide (PATH has its own op).
const NAMES: [&[u8]; 7] = [
    b"A",
    b"B",
    b"HOME",
    b"LONG_NAME_1",
    b"x y",
    b"\xc3\xa9",
    b"\xff\xfe",
];

/// A `PATH` value: entries from the fixture's directories, a missing one and the empty
/// one (the working directory), in any order.
fn path_value() -> impl Strategy<Value = Vec<u8>> {
    let home = fixture().home.clone();
    let entries: Vec<Vec<u8>> = vec![
        home.join("a").into_os_string().into_vec(),
        home.join("b").into_os_string().into_vec(),
        home.join("c").into_os_string().into_vec(),
        b"/nonexistent".to_vec(),
        Vec::new(),
        b"a".to_vec(),
    ];
    let entry = prop_oneof![
        4 => proptest::sample::select(entries[..3].to_vec()),
        1 => proptest::sample::select(entries[3..].to_vec()),
    ];
    proptest::collection::vec(entry, 0..4).prop_map(|e| e.join(&b':'))
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..16)
}

fn op(rt: bool) -> impl Strategy<Value = Op> {
    let name = || proptest::sample::select(NAMES.to_vec()).prop_map(<[u8]>::to_vec);
    let home = fixture().home.clone();
    let dirs: Vec<Vec<u8>> = vec![
        b"/".to_vec(),
        home.join("b").into_os_string().into_vec(),
        b"a".to_vec(),
        b"/nonexistent".to_vec(),
    ];
    prop_oneof![
        6 => (name(), value()).prop_map(|(n, v)| Op::Env(n, v)),
        3 => name().prop_map(Op::Unset),
        2 => path_value().prop_map(|v| Op::Env(b"PATH".to_vec(), v)),
        1 => Just(Op::Unset(b"PATH".to_vec())),
        1 => Just(Op::Clear),
        1 => proptest::sample::select(dirs).prop_map(Op::Cwd),
        1 => signals(pool(&MASKABLE, rt)).prop_map(Op::Mask),
        1 => signals(pool(&MASKABLE, rt)).prop_map(Op::Default),
    ]
}

fn spec(rt: bool) -> impl Strategy<Value = Spec> {
    let args = prop_oneof![
        3 => proptest::collection::vec(argument(), 0..=8),
        2 => proptest::collection::vec(argument(), 0..=31),
        1 => proptest::collection::vec(argument(), 32..=64),
    ];
    // At most 16 changes in all: tinyrt's documented limit (MAX_ENV_CHANGES).
    let ops = proptest::collection::vec(op(rt), 0..=8);
    let inherited = (
        proptest::collection::vec((proptest::sample::select(NAMES.to_vec()), value()), 0..5),
        proptest::option::weighted(0.8, path_value()),
    )
        .prop_map(|(entries, path)| {
            let mut seen = Vec::<Vec<u8>>::new();
            let mut env = Vec::new();
            let path = path.map(|p| (b"PATH".to_vec(), p));
            for (n, v) in entries
                .into_iter()
                .map(|(n, v)| (n.to_vec(), v))
                .chain(path)
            {
                if !seen.contains(&n) {
                    seen.push(n.clone());
                    env.push((n, v));
                }
            }
            env
        });
    let parent = (
        signals(pool(&MASKABLE, rt)),
        signals(pool(&CATCHABLE, rt)),
        signals(pool(&CATCHABLE, rt)),
    )
        .prop_map(|(b, i, t)| {
            [("--block", b), ("--ignore", i), ("--trap", t)]
                .into_iter()
                .filter(|(_, l)| !l.is_empty())
                .collect()
        });
    let probe = fixture().probe.clone().into_os_string().into_vec();
    let program = prop_oneof![
        4 => Just(probe),
        6 => proptest::sample::select(vec![
            b"probe-a".to_vec(),
            b"probe-ab".to_vec(),
            b"probe-b".to_vec(),
            b"probe-b".to_vec(),
            b"probe-c".to_vec(),
            b"probe-none".to_vec(),
            b"./probe-here".to_vec(),
            b"a/probe-a".to_vec(),
        ]),
    ];
    let exec = proptest::bool::weighted(0.25);
    (inherited, (parent, exec), program, args, ops, any::<u64>()).prop_map(
        |(inherited, (parent, exec), program, args, ops, shuffle)| {
            // The arguments go among the other items, at places the last value picks.
            let mut all: Vec<Op> = args.into_iter().map(Op::Arg).collect();
            let mut r = shuffle;
            for o in ops {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let at = (r >> 33) as usize % (all.len() + 1);
                all.insert(at, o);
            }
            Spec {
                inherited,
                parent,
                exec,
                program,
                ops: all,
            }
        },
    )
}

/// Runs one side (`cmd` already names its program) on the spec: exit code and the output,
/// normalised by the rules in the module's documentation.
fn side(mut cmd: Command, spec: &Spec) -> (Option<i32>, String) {
    let f = fixture();
    cmd.args(spec.argv())
        .env_clear()
        .envs(
            spec.inherited
                .iter()
                .map(|(n, v)| (OsString::from_vec(n.clone()), OsString::from_vec(v.clone()))),
        )
        .current_dir(&f.home);
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if spec.env_changed() {
        let env: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].starts_with("env "))
            .collect();
        let mut sorted: Vec<String> = env.iter().map(|&i| lines[i].clone()).collect();
        sorted.sort();
        for (i, l) in env.into_iter().zip(sorted) {
            lines[i] = l;
        }
    }
    for l in &mut lines {
        if let Some(bits) = l.strip_prefix("SigIgn:\t") {
            let b = u64::from_str_radix(bits, 16).unwrap() & !(0b11 << 31);
            *l = format!("SigIgn:\t{b:016x}");
        }
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), lines.join("\n") + &stderr)
}

/// The full path of `program`, from our own `PATH`.
fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(program))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{program} is not in PATH"))
}

/// Generates `cases` specs and holds `tinyrt` (run through `arch`'s runner, built with the
/// `alloc` feature or not) to the std side on each.
fn oracle(tinyrt: &Path, arch: Option<&Arch>, alloc: bool, cases: u32, what: &str) {
    let f = fixture();
    let seed: u64 = std::env::var("TINYRT_ORACLE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    // What the cases covered (counted over every case run, shrinking included).
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<&str, u32>::new());
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let result = runner.run(&spec(arch.is_none_or(|a| a.runner.is_none())), |spec| {
        let ours = side(
            match arch.and_then(|a| a.runner) {
                // By its full path: the generated PATH is the runner's environment too.
                Some(q) => {
                    let mut c = Command::new(which(q));
                    c.arg(tinyrt);
                    c
                }
                None => Command::new(tinyrt),
            },
            &spec,
        );
        let want = if !alloc && spec.listed() > 32 {
            (Some(127), "error 7".to_owned())
        } else {
            side(Command::new(&f.std_side), &spec)
        };
        let count = |what| *seen.borrow_mut().entry(what).or_default() += 1;
        let out = &want.1;
        count("cases");
        for (what, hit) in [
            ("started", out.starts_with("argc ")),
            ("start failed", out.starts_with("error ")),
            ("E2BIG", out.starts_with("error 7")),
            ("ENOENT", out.starts_with("error 2")),
            ("EACCES", out.starts_with("error 13")),
            (
                "more than 32 listed, started",
                spec.listed() > 32 && out.starts_with("argc "),
            ),
            ("found in b", out.contains("/home/b/probe-")),
            ("environment changed", spec.env_changed()),
            ("exec", spec.exec),
            (
                "mask set",
                out.contains("SigBlk:") && !out.contains("SigBlk:\t0000000000000000"),
            ),
            (
                "something ignored",
                out.contains("SigIgn:") && !out.contains("SigIgn:\t0000000000000000"),
            ),
        ] {
            if hit {
                count(what);
            }
        }
        if ours != want {
            return Err(TestCaseError::fail(format!(
                "{}\n--- tinyrt: exit {:?}\n{}\n--- want: exit {:?}\n{}",
                spec.shell(tinyrt),
                ours.0,
                ours.1,
                want.0,
                want.1
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{what}: TINYRT_ORACLE_SEED={seed} replays this run; smallest failing case:\n{e}");
    }
    // The generator reaches every kind of case (a test of the test: the numbers are far
    // below what any seed gives; printed with --nocapture).
    let seen = seen.into_inner();
    eprintln!("{what}: {seen:?}");
    if cases >= 100 {
        let mut want = vec!["started", "ENOENT", "found in b", "environment changed"];
        want.extend(["mask set", "something ignored", "exec"]);
        want.push(if alloc {
            "more than 32 listed, started"
        } else {
            "E2BIG"
        });
        for w in want {
            assert!(
                seen.get(w).is_some_and(|&n| n * 200 >= cases),
                "{what}: few cases {w}: {seen:?}"
            );
        }
    }
}

#[test]
fn command_agrees_with_std() {
    oracle(
        &example(Build::Release, "spawn_spec"),
        None,
        false,
        300,
        "release",
    );
}

#[test]
fn command_with_alloc_agrees_with_std() {
    let target = root().join("target/tinyrt-tests/heap-release");
    cargo_ok(
        cargo().env("CARGO_TARGET_DIR", &target).args([
            "build",
            "--quiet",
            "--release",
            "--features",
            "alloc",
            "--example",
            "spawn_spec",
        ]),
        "build spawn_spec with alloc",
    );
    let tinyrt = target.join("release/examples/spawn_spec");
    oracle(&tinyrt, None, true, 200, "alloc");
}

#[test]
fn command_agrees_with_std_on_every_architecture() {
    for arch in ARCHES {
        let Some(dir) = cross_examples(&arch) else {
            continue;
        };
        oracle(
            &dir.join("spawn_spec"),
            Some(&arch),
            false,
            24,
            &arch.name(),
        );
    }
}
