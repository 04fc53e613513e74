//! The `sha256sum` example (tinyrt with `alloc`, RustCrypto's `sha2`) against Debian's GNU
//! coreutils `/usr/bin/sha256sum`, side by side on the same arguments, files, standard input
//! and working directory, in the C locale: standard output, standard error and the exit
//! status must be equal byte for byte.
//!
//! - `fixed_cases`: every file size around SHA-256's 64-byte block and its 55/56-byte padding
//!   limit, a file of several read chunks, names with spaces, backslashes, newlines,
//!   carriage returns, quotes, colons and non-ASCII bytes, a directory, missing files,
//!   standard input once and twice, `-b`/`-t`/`--tag`/`-z`, every usage error (unknown,
//!   ambiguous and misused options, meaningless combinations), and `--check` on lists GNU
//!   wrote, lists with bad, malformed, CRLF, commented, escaped, upper-case, BSD and NUL
//!   lines, with `--quiet`, `--status`, `--warn`, `--strict`, `--ignore-missing`.
//! - `generated_cases`: proptest makes the files (random names from a set of awkward ones,
//!   random sizes), the operands, the options in any order and the check lists (good,
//!   wrong, missing, garbage lines, every form, every line ending); a failure prints the
//!   seed (`TINYRT_ORACLE_SEED` replays it).
//!   The test fails unless 17 kinds of answer came up among GNU's.
//! - `a_failed_write_is_reported_as_gnu_does` (stdout on /dev/full),
//!   `each_line_is_written_when_ready` (a line while standard input still blocks),
//!   `help_and_version` (our own texts).
//! - In `sha256sum/arches.rs`: `on_every_arch`, a smaller set on each of
//!   tests/common/arches.rs's architectures (under qemu-user but i686) against GNU natively;
//!   which SHA code each runs (qemu's `-d in_asm` log); a 2 GiB + 1 byte file on i686.

mod common;
use common::{cargo, cargo_ok, root};
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const GNU: &str = "/usr/bin/sha256sum";

/// The example, built with `--features alloc,threads` (release) once per test process.
fn ours() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let target = root().join("target/tinyrt-tests/sha256sum");
        cargo_ok(
            cargo().env("CARGO_TARGET_DIR", &target).args([
                "build",
                "--quiet",
                "--release",
                "--features",
                "alloc,threads",
                "--example",
                "sha256sum",
            ]),
            "build the sha256sum example",
        );
        target.join("release/examples/sha256sum")
    })
}

/// How one side is started: a program, natively or under a qemu-user binary.
#[derive(Clone, Copy)]
struct Side<'a> {
    program: &'a Path,
    qemu: Option<&'a str>,
}

/// stdout, stderr and the exit status of one run.
type Seen = (Vec<u8>, Vec<u8>, Option<i32>);

/// Runs `side` as `sha256sum` (its argv[0]) in `dir` with `args`, feeding it `stdin`.
fn run(side: Side, args: &[Vec<u8>], dir: &Path, stdin: &[u8]) -> Seen {
    let mut c = match side.qemu {
        None => {
            let mut c = Command::new(side.program);
            c.arg0("sha256sum");
            c
        }
        Some(q) => {
            let mut c = Command::new(q);
            c.args([
                OsStr::new("-0"),
                OsStr::new("sha256sum"),
                side.program.as_os_str(),
            ]);
            c
        }
    };
    let mut child = c
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .env_clear()
        .env("LC_ALL", "C")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", side.program.display()));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // A thread: a side that never reads its input must not block us (EPIPE is fine).
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    (out.stdout, out.stderr, out.status.code())
}

/// The arguments as a shell line, to replay a failure by hand.
fn shell(args: &[Vec<u8>]) -> String {
    let q = |a: &[u8]| format!("'{}'", String::from_utf8_lossy(a).replace('\'', r"'\''"));
    args.iter().map(|a| q(a)).collect::<Vec<_>>().join(" ")
}

/// Runs both; GNU's output, or `Err` describing the difference.
fn agree(ours: Side, args: &[Vec<u8>], dir: &Path, stdin: &[u8]) -> Result<Seen, String> {
    let gnu = Side {
        program: Path::new(GNU),
        qemu: None,
    };
    let want = run(gnu, args, dir, stdin);
    let got = run(ours, args, dir, stdin);
    if got == want {
        return Ok(want);
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Err(format!(
        "sha256sum {} (in {}, {} bytes of stdin)\n--- ours: exit {:?}\nstdout {:?}\nstderr {:?}\n\
         --- GNU: exit {:?}\nstdout {:?}\nstderr {:?}",
        shell(args),
        dir.display(),
        stdin.len(),
        got.2,
        text(&got.0),
        text(&got.1),
        want.2,
        text(&want.0),
        text(&want.1)
    ))
}

/// Bytes that look random (a xorshift from `seed`), `n` of them.
fn content(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Awkward names: GNU escapes some in its lines and shell-quotes most in its messages.
const NAMES: [&str; 14] = [
    "plain",
    "with space",
    "back\\slash",
    "new\nline",
    "cr\rname",
    "it's",
    "colon:name",
    "\u{e9}t\u{e9}",
    "star*",
    "#hash",
    "tab\tname",
    "-dash",
    "n\\e\nw",
    "{",
];

/// A fresh, empty directory for one set of files (with an empty `adir`), under target/: one
/// name per use, emptied again by the next run.
fn fresh(name: &str) -> PathBuf {
    let dir = root().join(format!("target/tinyrt-tests/sha256sum-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("adir")).unwrap();
    dir
}

/// Writes the file `name` in `dir`.
fn put(dir: &Path, name: &str, data: &[u8]) {
    std::fs::write(dir.join(name), data).unwrap();
}

/// What GNU says for `args` in `dir` (its stdout), to build check lists from.
fn gnu(dir: &Path, args: &[&str]) -> Vec<u8> {
    let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    let gnu = Side {
        program: Path::new(GNU),
        qemu: None,
    };
    run(gnu, &args, dir, b"").0
}

/// The fixed files: sizes around the block and padding limits, a file of several chunks,
/// the awkward names; and check lists made from GNU's own output, edited.
fn fixed_files() -> PathBuf {
    let dir = fresh("fixed");
    let sizes = [0usize, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000];
    for (i, n) in sizes.iter().enumerate() {
        put(&dir, &format!("s{n}"), &content(i as u64, *n));
    }
    put(&dir, "big", &content(99, 3 * 1024 * 1024 + 17));
    for (i, n) in NAMES.iter().enumerate() {
        put(&dir, n, &content(100 + i as u64, i * 7));
    }
    let mut all = vec!["--", "s0", "s55", "s64", "big"];
    all.extend(NAMES);
    std::fs::write(dir.join("good.sums"), gnu(&dir, &all)).unwrap();
    all.insert(0, "--tag");
    std::fs::write(dir.join("tag.sums"), gnu(&dir, &all)).unwrap();
    std::fs::write(dir.join("bin.sums"), gnu(&dir, &["-b", "s1", "s65"])).unwrap();
    let line = |name: &str| gnu(&dir, &[name]);
    let h = |name: &str| String::from_utf8(line(name)[..64].to_vec()).unwrap();
    let (h0, h1, h56) = (h("s0"), h("s1"), h("s56"));
    let mixed = format!(
        "{h1}  s1\r\n# a comment\n\n  \n{h0}  s1\n{h56} *s56\n{up}  s1000\nnot a line\n\
         {h0}  missing\n{h0}  adir\n{h1}  s1\x00trailing\nSHA256 (s56) = {h56}\n\
         SHA256(s56)={h56}\nSHA256 (s56) =  {h56}x\n{short}  s1\n\\{h1}  bad\\qescape\n\
         \\{h1}  trailing\\\n\t {h1}  s1\n{h1}\ts1\nSHA256 (s1\n{h1}  \n{h56} s56\n{h1}  s1",
        up = h("s1000").to_uppercase(),
        short = &h1[..63],
    );
    std::fs::write(dir.join("mixed.sums"), mixed).unwrap();
    std::fs::write(
        dir.join("bsd.sums"),
        format!("{h1} s1\n{h56} s56\n{h1}  s1\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("missing.sums"),
        format!("{h1}  gone\n{h0}  gone2\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("stdin.sums"),
        format!("{h0}  -\n{h0}  -\n{h1}  s1\n"),
    )
    .unwrap();
    std::fs::write(dir.join("comments.sums"), "# only\n\n# comments\n").unwrap();
    // Not a digest, then GNU's form: the first line does not decide the form (BSD's).
    let z = "z".repeat(64);
    std::fs::write(dir.join("nonhex.sums"), format!("{z} s1\n{h1}  s1\n")).unwrap();
    std::fs::write(dir.join("empty.sums"), "").unwrap();
    dir
}

/// A case: the arguments and standard input.
type Case = (Vec<Vec<u8>>, Vec<u8>);

fn case(args: &[&str], stdin: &[u8]) -> Case {
    (
        args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        stdin.to_vec(),
    )
}

/// Argument lists, each with its standard input.
fn fixed_list() -> Vec<Case> {
    let mut v = Vec::new();
    let sizes: Vec<String> = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000]
        .iter()
        .map(|n| format!("s{n}"))
        .collect();
    let mut sizes: Vec<&str> = sizes.iter().map(|s| s.as_str()).collect();
    sizes.push("big");
    let mut names = vec!["--"];
    names.extend(NAMES);
    for opts in [
        &[][..],
        &["-b"],
        &["-t"],
        &["--tag"],
        &["-z"],
        &["--tag", "-z"],
    ] {
        v.push(case(&[opts, &sizes].concat(), b""));
        v.push(case(&[opts, &names].concat(), b""));
    }
    let stdin = content(7, 100_000);
    for args in [
        &[][..],
        &["-"],
        &["-", "-"],
        &["s55", "-", "s64", "-", "--tag"],
        &["--zero", "-"],
    ] {
        v.push(case(args, &stdin));
    }
    let missing = [
        "s1",
        "adir",
        "--",
        "gone",
        "mis sing",
        "it's gone",
        "a:b",
        "new\ngone",
        "\u{e9}",
        "~x",
        "x~",
        "",
        "a'b\nc",
        "back\\gone",
        "@",
        "s1",
    ];
    v.push(case(&missing, b""));
    for bad in [
        &["-x"][..],
        &["--xyz"],
        &["--xyz=1"],
        &["--s"],
        &["--st", "s1"],
        &["--t"],
        &["--s=1"],
        &["--check=1"],
        &["--tag", "-t"],
        &["-t", "--tag", "s1"],
        &["--ta", "--bin", "s1"],
        &["-c", "--tag"],
        &["-c", "-b"],
        &["-ct"],
        &["-cz"],
        &["-z", "-c", "--tag"],
        &["--ignore-missing"],
        &["--status"],
        &["--quiet"],
        &["--warn"],
        &["-w"],
        &["--strict"],
        &["--strict", "--warn"],
        &["--status", "--ignore-missing"],
        &["-bx"],
        &["--", "-x"],
        &["s1", "-q", "--help"],
        &["--hel=p"],
        &["-"],
    ] {
        v.push(case(bad, b""));
    }
    let lists = [
        "good.sums",
        "tag.sums",
        "bin.sums",
        "mixed.sums",
        "bsd.sums",
        "missing.sums",
        "stdin.sums",
        "comments.sums",
        "empty.sums",
        "adir",
        "nonhex.sums",
    ];
    let flags: [&[&str]; 8] = [
        &[],
        &["--quiet"],
        &["--status"],
        &["--warn"],
        &["--strict"],
        &["--ignore-missing"],
        &["--ignore-missing", "--quiet", "--strict"],
        &["-w", "--status"],
    ];
    for l in lists {
        for f in flags {
            v.push(case(&[&["-c", l][..], f].concat(), b"abc"));
        }
    }
    v.push(case(&["-c", "bsd.sums", "good.sums"], b""));
    v.push(case(&["-c", "gone.sums", "good.sums", "-"], b""));
    let gnu_lines = std::fs::read(fixed_dir().join("good.sums")).unwrap();
    v.push(case(&["--check"], &gnu_lines));
    v.push(case(&["-c", "-", "-"], &gnu_lines));
    v.push(case(&["-c", "-", "stdin.sums"], &gnu_lines));
    v
}

fn fixed_dir() -> &'static PathBuf {
    static D: OnceLock<PathBuf> = OnceLock::new();
    D.get_or_init(fixed_files)
}

#[test]
fn fixed_cases() {
    let side = Side {
        program: ours(),
        qemu: None,
    };
    let cases = fixed_list();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(args, stdin)| agree(side, args, fixed_dir(), stdin).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// `--help` and `--version` are texts of our own: status 0, on standard output.
#[test]
fn help_and_version() {
    for (arg, start) in [
        ("--help", "Usage: sha256sum "),
        ("--vers", "sha256sum (tinyrt) "),
    ] {
        let out = Command::new(ours()).arg(arg).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{arg}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(start),
            "{arg}"
        );
        assert!(out.stderr.is_empty(), "{arg}");
    }
}

/// Standard output on /dev/full: GNU's `write error` (no errno text: a line's write failed,
/// not the final close), status 1, and the other messages as before.
#[test]
fn a_failed_write_is_reported_as_gnu_does() {
    for args in [
        &["s1", "s55"][..],
        &["-c", "good.sums"],
        &["gone", "s1", "adir"],
    ] {
        let run = |p: &Path| {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            let out = Command::new(p)
                .arg0("sha256sum")
                .args(args)
                .env_clear()
                .env("LC_ALL", "C")
                .current_dir(fixed_dir())
                .stdout(full)
                .output()
                .unwrap();
            (
                String::from_utf8_lossy(&out.stderr).into_owned(),
                out.status.code(),
            )
        };
        let (ours, gnu) = (run(ours()), run(Path::new(GNU)));
        assert!(gnu.0.ends_with("sha256sum: write error\n"), "{gnu:?}");
        assert_eq!(ours, gnu, "{args:?}");
    }
}

/// Each line is written as soon as its file is hashed, not at the end: with standard input
/// still open (and empty), the first file's line arrives while the program waits on it.
#[test]
fn each_line_is_written_when_ready() {
    use std::io::BufRead;
    let mut child = Command::new(ours())
        .args(["s1", "-"])
        .current_dir(fixed_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // The rest (stdin's line), so that the program's write finds a reader.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let first = rx.recv_timeout(std::time::Duration::from_secs(20));
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    let want = String::from_utf8(gnu(fixed_dir(), &["s1"])).unwrap();
    assert_eq!(
        first.ok(),
        Some(want),
        "the first line before standard input ended"
    );
    assert!(status.success());
}

#[path = "sha256sum/generated.rs"]
mod generated;

#[test]
fn generated_cases() {
    generated::run(Side {
        program: ours(),
        qemu: None,
    });
}

#[path = "sha256sum/arches.rs"]
mod arches;
