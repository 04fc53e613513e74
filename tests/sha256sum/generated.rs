//! tests/sha256sum.rs's generated cases: files, operands, options and check lists made by
//! proptest, each run by GNU's sha256sum and ours in a fresh directory.

use super::{NAMES, Side, agree, content, fresh, put};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::path::Path;

/// A line of a check list.
#[derive(Clone, Debug)]
enum Line {
    /// A file of the case (by its index in NAMES) in a form: 0 `HASH  NAME`, 1 `HASH *NAME`,
    /// 2 `SHA256 (NAME) = HASH`, 3 `HASH NAME` (BSD's), 4 `SHA256(NAME)=HASH`; `right`
    /// false gives it another file's digest; `upper` writes the digest in capitals.
    File {
        name: usize,
        form: u8,
        right: bool,
        upper: bool,
    },
    /// A name no file has.
    Missing,
    /// `-`: standard input.
    Stdin,
    /// A directory.
    Dir,
    Garbage(Vec<u8>),
    Comment,
    Empty,
}

#[derive(Clone, Debug)]
struct List {
    lines: Vec<Line>,
    /// The ending of each line: 0 `\n`, 1 `\r\n`, 2 none for the last line.
    ending: u8,
    /// Read from standard input (`-`) rather than a file.
    stdin: bool,
    /// Only right digests of the case's files (so that some lists pass whole).
    clean: bool,
}

#[derive(Clone, Debug)]
struct Case {
    /// Files: a name (index in NAMES) and a size.
    files: Vec<(usize, usize)>,
    check: bool,
    /// Options, in order, before the operands; `--` between them when `dashdash`.
    options: Vec<&'static str>,
    dashdash: bool,
    /// Computing mode: the operands: a file of the case (below `FILE_OPERANDS`, by index
    /// modulo their number), or one of `OTHER`.
    operands: Vec<usize>,
    /// Checking mode: the lists.
    lists: Vec<List>,
    stdin: Vec<u8>,
}

/// Operands that are not the case's files: `-`, a missing file, a directory, a name of
/// NAMES that may be missing.
const OTHER: [&str; 4] = ["-", "missing", "adir", "cr\rname"];
const FILE_OPERANDS: usize = 12;

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        select(vec![0usize, 1, 55, 56, 63, 64, 65, 127, 128, 129]),
        0usize..300_000,
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        6 => (0..NAMES.len(), 0u8..5, any::<bool>(), any::<bool>())
            .prop_map(|(name, form, right, upper)| Line::File { name, form, right, upper }),
        1 => Just(Line::Missing),
        1 => Just(Line::Stdin),
        1 => Just(Line::Dir),
        1 => proptest::collection::vec(
            select(b"abcdef0123456789 *()=\\\tSHA256\r\x00x".to_vec()),
            0..80
        )
        .prop_map(Line::Garbage),
        1 => Just(Line::Comment),
        1 => Just(Line::Empty),
    ]
}

fn list() -> impl Strategy<Value = List> {
    (
        proptest::collection::vec(line(), 0..10),
        0u8..3,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(lines, ending, stdin, clean)| List {
            lines,
            ending,
            stdin,
            clean,
        })
}

fn case() -> impl Strategy<Value = Case> {
    let sum_options = vec!["-b", "-t", "--tag", "-z", "--ta", "--bin", "-bz"];
    let check_options = vec![
        "--quiet",
        "--status",
        "--warn",
        "-w",
        "--strict",
        "--ignore-missing",
        "--st",
    ];
    (
        proptest::collection::vec((0..NAMES.len(), size()), 0..6),
        prop::bool::weighted(0.6),
        subsequence(sum_options, 0..=3).prop_shuffle(),
        subsequence(check_options, 0..=3).prop_shuffle(),
        prop::bool::weighted(0.8),
        proptest::collection::vec(0..FILE_OPERANDS + OTHER.len(), 0..6),
        proptest::collection::vec(list(), 1..3),
        proptest::collection::vec(any::<u8>(), 0..5000),
    )
        .prop_map(
            |(files, check, sum_opts, check_opts, dashdash, operands, lists, stdin)| Case {
                files,
                check,
                options: if check { check_opts } else { sum_opts },
                dashdash,
                operands,
                lists,
                stdin,
            },
        )
}

/// GNU's escaped form of a name in a checksum line (the caller puts the leading `\`).
fn escaped(name: &[u8]) -> (bool, Vec<u8>) {
    let escape = name.iter().any(|c| matches!(c, b'\\' | b'\n' | b'\r'));
    let mut out = Vec::new();
    for &c in name {
        match c {
            b'\\' if escape => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' if escape => out.extend_from_slice(b"\\r"),
            _ => out.push(c),
        }
    }
    (escape, out)
}

/// Writes the case's files in `dir`; returns the arguments and standard input.
fn lay_out(c: &Case, dir: &Path) -> (Vec<Vec<u8>>, Vec<u8>) {
    // The digest of each file, from GNU (`-z`: one NUL-ended `HASH  NAME` each).
    let mut digests: Vec<Option<String>> = vec![None; NAMES.len()];
    for (i, &(name, size)) in c.files.iter().enumerate() {
        put(dir, NAMES[name], &content(1000 + i as u64, size));
    }
    let names: Vec<&str> = c.files.iter().map(|f| NAMES[f.0]).collect();
    if !names.is_empty() {
        let out = super::gnu(dir, &[&["-z", "--"][..], &names].concat());
        for (rec, &(name, _)) in out.split(|&b| b == 0).zip(&c.files) {
            digests[name] = Some(String::from_utf8_lossy(&rec[..64]).into_owned());
        }
    }
    let any_digest = || "ab".repeat(32);
    let mut args: Vec<Vec<u8>> = c.options.iter().map(|o| o.as_bytes().to_vec()).collect();
    if c.check {
        // Anywhere among the options (getopt takes them in any order).
        args.insert(c.options.len() / 2, b"-c".to_vec());
    }
    if c.dashdash {
        args.push(b"--".to_vec());
    }
    let mut stdin = c.stdin.clone();
    if !c.check {
        for &o in &c.operands {
            let name = match names.len() {
                n if o < FILE_OPERANDS && n > 0 => names[o % n],
                _ => OTHER[o.saturating_sub(FILE_OPERANDS) % OTHER.len()],
            };
            args.push(name.as_bytes().to_vec());
        }
        return (args, stdin);
    }
    for (k, l) in c.lists.iter().enumerate() {
        let mut text = Vec::new();
        let lines: Vec<Line> = match (l.clean, c.files.len()) {
            (false, _) => l.lines.clone(),
            (true, 0) => Vec::new(),
            (true, n) => l
                .lines
                .iter()
                .filter_map(|line| match line {
                    Line::File {
                        name, form, upper, ..
                    } => Some(Line::File {
                        name: c.files[name % n].0,
                        form: *form,
                        right: true,
                        upper: *upper,
                    }),
                    _ => None,
                })
                .collect(),
        };
        for (j, line) in lines.iter().enumerate() {
            let (name, digest, form, upper): (&[u8], String, u8, bool) = match line {
                Line::File {
                    name,
                    form,
                    right,
                    upper,
                } => {
                    let d = digests[*name].clone().unwrap_or_else(any_digest);
                    let d = if *right {
                        d
                    } else {
                        d.replacen(&d[..1], if &d[..1] == "0" { "1" } else { "0" }, 1)
                    };
                    (NAMES[*name].as_bytes(), d, *form, *upper)
                }
                Line::Missing => (b"missing", any_digest(), 0, false),
                Line::Stdin => (b"-", any_digest(), 0, false),
                Line::Dir => (b"adir", any_digest(), 0, false),
                Line::Garbage(g) => {
                    text.extend_from_slice(g);
                    (b"", String::new(), 9, false)
                }
                Line::Comment => (b"", String::new(), 10, false),
                Line::Empty => (b"", String::new(), 9, false),
            };
            let digest = if upper { digest.to_uppercase() } else { digest };
            let (escape, name) = escaped(name);
            if escape && form < 5 {
                text.push(b'\\');
            }
            let parts: [&[u8]; 4] = match form {
                0 => [digest.as_bytes(), b"  ", &name, b""],
                1 => [digest.as_bytes(), b" *", &name, b""],
                2 => [b"SHA256 (", &name, b") = ", digest.as_bytes()],
                3 => [digest.as_bytes(), b" ", &name, b""],
                4 => [b"SHA256(", &name, b")=", digest.as_bytes()],
                10 => [b"# comment", b"", b"", b""],
                _ => [b"", b"", b"", b""],
            };
            text.extend(parts.concat());
            let last = j + 1 == lines.len();
            match (l.ending, last) {
                (1, _) => text.extend_from_slice(b"\r\n"),
                (2, true) => {}
                _ => text.push(b'\n'),
            }
        }
        if l.stdin {
            args.push(b"-".to_vec());
            stdin = text;
        } else {
            let name = format!("list{k}");
            std::fs::write(dir.join(&name), text).unwrap();
            args.push(name.into_bytes());
        }
    }
    (args, stdin)
}

/// Runs the generated cases (a seed from the time, or TINYRT_ORACLE_SEED to replay one).
pub fn run(ours: Side) {
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
        cases: 300,
        failure_persistence: None,
        max_shrink_iters: 256,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let dir = fresh("generated");
    // What GNU's answers covered, counted over every case run (shrinking included).
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<&str, u32>::new());
    let result = runner.run(&case(), |c| {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("adir")).unwrap();
        let (args, stdin) = lay_out(&c, &dir);
        let (out, err, code) = agree(ours, &args, &dir, &stdin).map_err(TestCaseError::fail)?;
        let has = |b: &[u8], what: &str| b.windows(what.len()).any(|w| w == what.as_bytes());
        for (what, hit) in [
            ("check, status 0", c.check && code == Some(0)),
            ("check, status 1", c.check && code == Some(1)),
            ("sums, status 0", !c.check && code == Some(0)),
            ("usage error", has(&err, "Try 'sha256sum --help'")),
            ("OK", has(&out, ": OK\n")),
            ("FAILED", has(&out, ": FAILED\n")),
            ("FAILED open or read", has(&out, ": FAILED open or read")),
            ("escaped line", out.first() == Some(&b'\\')),
            ("--tag line", has(&out, "SHA256 (")),
            ("binary line", has(&out, " *")),
            ("NUL-ended line", out.last() == Some(&0)),
            (
                "improperly formatted (--warn)",
                has(&err, "improperly formatted SHA256"),
            ),
            ("WARNING", has(&err, "WARNING: ")),
            (
                "no properly formatted lines",
                has(&err, "no properly formatted"),
            ),
            ("no file was verified", has(&err, "no file was verified")),
            ("quoted name", has(&err, "sha256sum: '")),
            ("Is a directory", has(&err, "Is a directory")),
        ] {
            if hit {
                *seen.borrow_mut().entry(what).or_default() += 1;
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("TINYRT_ORACLE_SEED={seed}: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let seen = seen.into_inner();
    eprintln!("generated cases (seed {seed}) covered: {seen:?}");
    // Each kind of answer must have come up, or the cases prove less than they claim.
    assert_eq!(seen.len(), 17, "seed {seed}: only {seen:?}");
}
