//! `sha256sum [OPTION]... [FILE]...`: print or check SHA-256 checksums, with GNU coreutils'
//! command line, output, messages and exit statuses (GNU's 9.1 is the oracle of
//! tests/sha256sum.rs, byte for byte, in the C locale).
//!
//! - FILEs are hashed in the order given; `-` (and no FILE at all) is standard input, read
//!   once: a second `-` sees its end and hashes nothing. A line is `HASH  NAME` (`-t`, the
//!   default) or `HASH *NAME` (`-b`; the same bytes are hashed on Linux), `SHA256 (NAME) =
//!   HASH` with `--tag`; a name with a backslash, newline or carriage return is written with
//!   those as `\\`, `\n`, `\r` and the line starts with `\`; `-z` ends lines with NUL instead
//!   and escapes nothing.
//! - `-c`/`--check`: each FILE is a list of such lines; each named file is hashed and
//!   reported `NAME: OK`, `NAME: FAILED` or `NAME: FAILED open or read`, then the warnings
//!   (`WARNING: N computed checksums did NOT match`, ...). `--quiet` leaves out the OKs,
//!   `--status` everything but errors, `--warn` reports each line that is not a checksum
//!   line, `--strict` makes them fail the run, `--ignore-missing` skips files that do not
//!   exist.
//! - Options are getopt_long's: clustered short ones, unambiguous prefixes of long ones,
//!   `--` ending them, operands anywhere. Errors name the file shell-quoted, as GNU's.
//!
//! The hash is RustCrypto's `sha2` (see the README for the code it runs on each
//! architecture). Files are read in chunks of 128 KiB by a pool of workers (`pool.rs`), and
//! the results are written in argument order.
#![no_std]
#![no_main]

extern crate alloc;

mod check;
mod names;
mod pool;

use alloc::vec::Vec;
use core::ffi::CStr;
use pool::{Job, Sum};
use tinyrt::Errno;
use tinyrt::io::{self, STDERR, STDIN, STDOUT};

tinyrt::main!(main);

/// The command line, after parsing.
#[derive(Default)]
pub struct Options {
    check: bool,
    /// `Some(true)` for `-b`, `Some(false)` for `-t`, `None` when neither was given.
    binary: Option<bool>,
    tag: bool,
    zero: bool,
    pub ignore_missing: bool,
    pub quiet: bool,
    pub status: bool,
    pub warn: bool,
    pub strict: bool,
}

/// The long options, in GNU's order (an ambiguous prefix lists its candidates so).
const LONG: [&[u8]; 12] = [
    b"check",
    b"ignore-missing",
    b"quiet",
    b"status",
    b"warn",
    b"strict",
    b"tag",
    b"zero",
    b"binary",
    b"text",
    b"help",
    b"version",
];

/// Standard output and standard error, and the program's name for messages.
pub struct Ui {
    pub program: &'static [u8],
    out: Vec<u8>,
    /// Whether a write to standard output failed: reported at the end, as GNU's.
    write_error: bool,
}

impl Ui {
    /// Writes a result's line: one `write` each, as GNU's, so that each shows as soon as it
    /// is known (and a failure is seen at the line that failed).
    pub fn out(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
        self.flush();
    }

    pub fn flush(&mut self) {
        if !self.out.is_empty() && !self.write_error && io::write_all(STDOUT, &self.out).is_err() {
            self.write_error = true;
        }
        self.out.clear();
    }

    /// `PROGRAM: PARTS...` and a newline on standard error in one write, after what is
    /// waiting for standard output (so that a terminal shows both in order).
    pub fn error(&mut self, parts: &[&[u8]]) {
        self.flush();
        let mut m = Vec::with_capacity(128);
        m.extend_from_slice(self.program);
        m.extend_from_slice(b": ");
        for p in parts {
            m.extend_from_slice(p);
        }
        m.push(b'\n');
        let _ = io::write_all(STDERR, &m);
    }

    /// `PROGRAM: NAME: TEXT`, NAME shell-quoted, TEXT the error's `strerror` text.
    pub fn file_error(&mut self, name: &[u8], e: Errno) {
        let mut q = Vec::new();
        names::quote_into(&mut q, name);
        let mut n = [0u8; 20];
        let text = match e.text() {
            Some(t) => t.as_bytes(),
            None => decimal(e.raw().unsigned_abs().into(), &mut n),
        };
        let unknown: &[u8] = if e.text().is_some() {
            b""
        } else {
            b"Unknown error "
        };
        self.error(&[&q, b": ", unknown, text]);
    }

    /// A usage error: the message, the pointer to `--help`, and status 1.
    fn usage(&mut self, parts: &[&[u8]]) -> i32 {
        self.error(parts);
        let program = self.program;
        let _ = io::write_all(STDERR, b"Try '");
        let _ = io::write_all(STDERR, program);
        let _ = io::write_all(STDERR, b" --help' for more information.\n");
        1
    }
}

/// `n` in decimal, in `buf`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    while let Some(d) = i.checked_sub(1).and_then(|j| buf.get_mut(j)) {
        *d = b'0' + (n % 10) as u8;
        i -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// Appends the digest in lowercase hexadecimal.
pub fn hex_into(out: &mut Vec<u8>, sum: &Sum) {
    for b in sum {
        out.push(b"0123456789abcdef"[usize::from(b >> 4)]);
        out.push(b"0123456789abcdef"[usize::from(b & 15)]);
    }
}

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args;
    let program = args.next().map_or(&b"sha256sum"[..], |a| a.to_bytes());
    let mut ui = Ui {
        program,
        out: Vec::with_capacity(4096),
        write_error: false,
    };
    let mut o = Options::default();
    let mut operands: Vec<&'static CStr> = Vec::new();
    let mut options_end = false;
    for a in args {
        let b = a.to_bytes();
        match b {
            _ if options_end => operands.push(a),
            b"--" => options_end = true,
            [b'-', b'-', long @ ..] => match long_option(&mut ui, &mut o, long) {
                Ok(()) => {}
                Err(code) => return code,
            },
            [b'-', short @ ..] if !short.is_empty() => {
                for &c in short {
                    match c {
                        b'b' => o.binary = Some(true),
                        b'c' => o.check = true,
                        b't' => o.binary = Some(false),
                        b'w' => (o.warn, o.quiet, o.status) = (true, false, false),
                        b'z' => o.zero = true,
                        _ => return ui.usage(&[b"invalid option -- '", &[c], b"'"]),
                    }
                }
            }
            _ => operands.push(a),
        }
    }
    // GNU's order of the checks of combinations.
    let check_only = |on: bool, name: &'static [u8]| on.then_some(name);
    let bad: Option<&[&[u8]]> = if o.tag && o.binary == Some(false) {
        Some(&[b"--tag does not support --text mode"])
    } else if o.zero && o.check {
        Some(&[b"the --zero option is not supported when verifying checksums"])
    } else if o.tag && o.check {
        Some(&[b"the --tag option is meaningless when verifying checksums"])
    } else if o.binary.is_some() && o.check {
        Some(&[b"the --binary and --text options are meaningless when verifying checksums"])
    } else {
        None
    };
    if let Some(parts) = bad {
        return ui.usage(parts);
    }
    let only = check_only(o.ignore_missing, b"ignore-missing")
        .or(check_only(o.status, b"status"))
        .or(check_only(o.warn, b"warn"))
        .or(check_only(o.quiet, b"quiet"))
        .or(check_only(o.strict, b"strict"));
    if let (Some(name), false) = (only, o.check) {
        return ui.usage(&[
            b"the --",
            name,
            b" option is meaningful only when verifying checksums",
        ]);
    }
    if operands.is_empty() {
        operands.push(c"-");
    }
    let ok = if o.check {
        let mut state = check::State::default();
        let mut ok = true;
        for f in &operands {
            ok &= check::check_file(&mut ui, &o, &mut state, f);
        }
        ok
    } else {
        sum_files(&mut ui, &o, &operands)
    };
    ui.flush();
    if ui.write_error {
        // GNU's words when a line's write failed (its final close of stdout succeeds, so
        // it names no error).
        ui.error(&[b"write error"]);
        return 1;
    }
    i32::from(!ok)
}

/// Reads one long option (without its `--`); `Err(status)` when the program ends here.
fn long_option(ui: &mut Ui, o: &mut Options, arg: &[u8]) -> Result<(), i32> {
    let (name, value) = match arg.iter().position(|&c| c == b'=') {
        Some(i) => (arg.get(..i).unwrap_or_default(), true),
        None => (arg, false),
    };
    let candidates: Vec<&'static [u8]> = LONG
        .iter()
        .copied()
        .filter(|l| l.starts_with(name))
        .collect();
    let full = match (LONG.iter().find(|l| **l == name), candidates.as_slice()) {
        (Some(exact), _) => *exact,
        (None, [one]) => *one,
        (None, []) => return Err(ui.usage(&[b"unrecognized option '--", arg, b"'"])),
        (None, many) => {
            let mut parts: Vec<&[u8]> = Vec::new();
            parts.extend_from_slice(&[b"option '--", arg, b"' is ambiguous; possibilities:"]);
            for l in many {
                parts.extend_from_slice(&[b" '--", l, b"'"]);
            }
            return Err(ui.usage(&parts));
        }
    };
    if value {
        return Err(ui.usage(&[b"option '--", full, b"' doesn't allow an argument"]));
    }
    match full {
        b"check" => o.check = true,
        b"ignore-missing" => o.ignore_missing = true,
        b"quiet" => (o.quiet, o.warn, o.status) = (true, false, false),
        b"status" => (o.status, o.warn, o.quiet) = (true, false, false),
        b"warn" => (o.warn, o.quiet, o.status) = (true, false, false),
        b"strict" => o.strict = true,
        b"tag" => (o.tag, o.binary) = (true, Some(true)),
        b"zero" => o.zero = true,
        b"binary" => o.binary = Some(true),
        b"text" => o.binary = Some(false),
        b"help" => {
            ui.out(HELP);
            ui.flush();
            return Err(0);
        }
        _ => {
            ui.out(b"sha256sum (tinyrt) 0.1.0\n");
            ui.flush();
            return Err(0);
        }
    }
    Ok(())
}

const HELP: &[u8] = b"Usage: sha256sum [OPTION]... [FILE]...
SHA-256 checksums of FILEs (standard input for - or no FILE), or checked against lists.

  -b, --binary          mark the lines with '*' (the bytes hashed are the same)
  -t, --text            mark the lines with ' ' (the default)
      --tag             write lines as SHA256 (FILE) = HASH
  -z, --zero            end lines with NUL, not newline, and escape no name
  -c, --check           check the sums listed in FILEs
With --check:
      --ignore-missing  skip listed files that do not exist
      --quiet           report only the files that fail
      --status          report nothing; the exit status tells
      --strict          fail on lines that are not checksum lines
  -w, --warn            report each line that is not a checksum line
      --help            show this and exit
      --version         show the version and exit
The output is GNU coreutils' sha256sum's. Built on tinyrt.
";

/// One operand of the computing mode: its name and its digest, or why there is none.
struct Summed {
    name: &'static CStr,
    sum: Result<Sum, Errno>,
}

/// The computing mode: a line for each operand, in order; false when one failed.
fn sum_files(ui: &mut Ui, o: &Options, operands: &[&'static CStr]) -> bool {
    let mut ok = true;
    let mut next = operands.iter();
    let mut line = Vec::with_capacity(256);
    pool::run(
        |buf| {
            let name = *next.next()?;
            Some(if name.to_bytes() == b"-" {
                Job::Done(Summed {
                    name,
                    sum: pool::hash_fd(STDIN, buf),
                })
            } else {
                Job::Work(name)
            })
        },
        |name, buf| Summed {
            name,
            sum: pool::hash_file(name, buf),
        },
        |s| {
            let name = s.name.to_bytes();
            match s.sum {
                Ok(sum) => {
                    line.clear();
                    let escape = !o.zero && names::needs_escape(name);
                    if escape {
                        line.push(b'\\');
                    }
                    if o.tag {
                        line.extend_from_slice(b"SHA256 (");
                    } else {
                        hex_into(&mut line, &sum);
                        line.extend_from_slice(if o.binary == Some(true) { b" *" } else { b"  " });
                    }
                    if escape {
                        names::escape_into(&mut line, name);
                    } else {
                        line.extend_from_slice(name);
                    }
                    if o.tag {
                        line.extend_from_slice(b") = ");
                        hex_into(&mut line, &sum);
                    }
                    line.push(if o.zero { 0 } else { b'\n' });
                    ui.out(&line);
                }
                Err(e) => {
                    ui.file_error(name, e);
                    ok = false;
                }
            }
        },
    );
    ok
}

/// sha2 asks the CPU for its SHA-2 instructions (`cpufeatures`) through the C library's
/// `getauxval(AT_HWCAP)` on aarch64 Linux; a tinyrt program has no C library, so this is
/// that function, on tinyrt's auxiliary vector (0 for an absent key, as glibc's).
#[cfg(target_arch = "aarch64")]
// SAFETY: no other definition of `getauxval` is linked (tinyrt programs have no C library).
#[unsafe(no_mangle)]
extern "C" fn getauxval(key: core::ffi::c_ulong) -> core::ffi::c_ulong {
    tinyrt::auxv::get(tinyrt::auxv::Key::from_raw(key as usize)).unwrap_or(0) as _
}
