//! `sleep NUMBER[SUFFIX]...`: pause for the sum of the intervals, as GNU coreutils' `sleep`.
//!
//! NUMBER is what C's `strtod` reads (leading blanks, a sign, decimal digits with a fraction
//! and an exponent, hexadecimal `0x1p-7`, `inf`, `infinity`), followed by at most one suffix:
//! `s` seconds (the default), `m` minutes, `h` hours, `d` days. A negative number or NaN is an
//! invalid interval; intervals past about 584 years, and infinity, sleep for ever. Options
//! are GNU's: `--help`, `--version` (and their unambiguous prefixes), `--` ending them;
//! anything else starting with `-` is an invalid option. Messages and exit statuses are
//! GNU's: `PROGRAM: invalid time interval 'X'` for each bad operand (X escaped as GNU's
//! `quote` does in the C locale), `PROGRAM: missing operand`, then `Try 'PROGRAM --help'
//! for more information.` and status 1.
//!
//! Written without `core::fmt` and without a path that can panic, so that it stays small.
#![no_std]
#![no_main]

use core::time::Duration;
use tinyrt::io::{self, STDERR, STDOUT};

// SAFETY: the program opens no descriptor, so none of its own can take 0, 1 or 2.
tinyrt::main!(main, unsafe(keep_closed_stdio));

/// Nanoseconds, saturated: `FOREVER` stands for every interval too long to count.
const FOREVER: u64 = u64::MAX;
const NS: u64 = 1_000_000_000;

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args;
    let program = args.next().map_or(&b"sleep"[..], |a| a.to_bytes());
    let mut total: u64 = 0;
    let mut operands = 0usize;
    let mut ok = true;
    let mut options = true;
    // Options first, in order, as getopt sees them (it moves operands aside): the first bad
    // one ends the program; --help and --version end it too.
    for a in args.clone() {
        let a = a.to_bytes();
        match a {
            _ if !options => break,
            b"--" => options = false,
            [b'-', b'-', long @ ..] if b"help".starts_with(long) => return help(program),
            [b'-', b'-', long @ ..] if b"version".starts_with(long) => {
                return written(program, io::write_all(STDOUT, b"sleep (tinyrt) 0.1.0\n"));
            }
            [b'-', b'-', ..] => return usage(program, &[b"unrecognized option '", a, b"'"]),
            [b'-', c, ..] => {
                return usage(program, &[b"invalid option -- '", &[*c], b"'"]);
            }
            _ => {}
        }
    }
    options = true;
    let seen_any = args.len() > 0;
    for a in args {
        let a = a.to_bytes();
        match a {
            _ if !options => {}
            b"--" => {
                options = false;
                continue;
            }
            [b'-', _, ..] => continue,
            _ => {}
        }
        operands += 1;
        match interval(a) {
            Some(ns) => total = total.saturating_add(ns),
            None => {
                invalid(program, a);
                ok = false;
            }
        }
    }
    // As GNU's: only no argument at all is a missing operand (`sleep --` sleeps for 0).
    if operands == 0 && !seen_any {
        return usage(program, &[b"missing operand"]);
    }
    if !ok {
        return try_help(program);
    }
    let d = if total == FOREVER {
        Duration::MAX
    } else {
        Duration::from_nanos(total)
    };
    match tinyrt::time::sleep(d) {
        Ok(()) => 0,
        Err(e) => {
            // The number by hand: Errno's names and core::fmt would each cost kilobytes.
            let mut digits = [0u8; 10];
            let mut at = digits.len();
            let mut n = e.raw().unsigned_abs();
            while let Some(d) = at.checked_sub(1).and_then(|i| digits.get_mut(i)) {
                *d = b'0' + (n % 10) as u8;
                at -= 1;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            let number = digits.get(at..).unwrap_or(&[]);
            say(program, &[b"cannot sleep: os error ", number]);
            1
        }
    }
}

/// Writes `PROGRAM: PARTS...` and a newline to stderr.
fn say(program: &[u8], parts: &[&[u8]]) {
    let _ = io::write_all(STDERR, program);
    let _ = io::write_all(STDERR, b": ");
    for p in parts {
        let _ = io::write_all(STDERR, p);
    }
    let _ = io::write_all(STDERR, b"\n");
}

/// `PROGRAM: invalid time interval 'A'`, with A as GNU's `quote` shows it in the C locale:
/// printable ASCII as it is but `\` and `'` after a backslash, the C escapes `\a \b \f
/// \n \r \t \v`, any other byte as a backslash and three octal digits.
fn invalid(program: &[u8], a: &[u8]) {
    let _ = io::write_all(STDERR, program);
    let _ = io::write_all(STDERR, b": invalid time interval '");
    // A write per byte: an error path, kept small.
    for &c in a {
        let (e, len) = match c {
            b'\\' | b'\'' => ([b'\\', c, 0, 0], 2),
            7..=13 => ([b'\\', b"abtnvfr"[usize::from(c - 7)], 0, 0], 2),
            0x20..=0x7e => ([c, 0, 0, 0], 1),
            _ => (
                [b'\\', b'0' + (c >> 6), b'0' + (c >> 3 & 7), b'0' + (c & 7)],
                4,
            ),
        };
        let _ = io::write_all(STDERR, e.get(..len).unwrap_or(&[]));
    }
    let _ = io::write_all(STDERR, b"'\n");
}

fn try_help(program: &[u8]) -> i32 {
    for p in [&b"Try '"[..], program, b" --help' for more information.\n"] {
        let _ = io::write_all(STDERR, p);
    }
    1
}

fn usage(program: &[u8], parts: &[&[u8]]) -> i32 {
    say(program, parts);
    try_help(program)
}

/// The exit status after writing to standard output: 0, or 1 with GNU's `PROGRAM: write
/// error: TEXT` (`sleep --help >/dev/full`: "No space left on device").
fn written(program: &[u8], r: Result<(), tinyrt::Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            let text = e.text().unwrap_or("Unknown error").as_bytes();
            say(program, &[b"write error: ", text]);
            1
        }
    }
}

fn help(program: &[u8]) -> i32 {
    let mut r = Ok(());
    for p in [
        &b"Usage: "[..],
        program,
        b" NUMBER[SUFFIX]...\n  or:  ",
        program,
        b" OPTION\n\
Pause for the sum of the NUMBERs of seconds; SUFFIX is s (seconds, the default),\n\
m (minutes), h (hours) or d (days). --help, --version: say so and exit.\n",
    ] {
        r = r.and_then(|()| io::write_all(STDOUT, p));
    }
    written(program, r)
}

/// One operand in nanoseconds (saturated at `FOREVER`), or `None` when it is invalid.
#[inline(never)]
fn interval(a: &[u8]) -> Option<u64> {
    let (ns, rest) = number(a)?;
    let scale = match rest {
        [] | [b's'] => 1,
        [b'm'] => 60,
        [b'h'] => 3600,
        [b'd'] => 86400,
        _ => return None,
    };
    Some(ns.saturating_mul(scale))
}

/// What `strtod` reads at the start of `a`, as non-negative nanoseconds rounded up
/// (saturated at `FOREVER`), and the rest of `a`; `None` when nothing is read, or for a
/// negative number or NaN.
fn number(a: &[u8]) -> Option<(u64, &[u8])> {
    let mut s = a;
    while let [b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r', rest @ ..] = s {
        s = rest;
    }
    let negative = matches!(s.first(), Some(b'-'));
    if let [b'+' | b'-', rest @ ..] = s {
        s = rest;
    }
    let (ns, rest) = if word(s, b"nan").is_some() {
        return None;
    } else if let Some(rest) = word(s, b"inf") {
        (FOREVER, word(rest, b"inity").unwrap_or(rest))
    } else if let [b'0', b'x' | b'X', rest @ ..] = s {
        hex(rest).unwrap_or_else(|| decimal(s).unwrap_or((0, s)))
    } else {
        decimal(s)?
    };
    // -0 is zero; any other negative number is refused.
    if negative && ns != 0 {
        return None;
    }
    Some((ns, rest))
}

/// `s` after `w`, compared without case.
fn word<'a>(s: &'a [u8], w: &[u8]) -> Option<&'a [u8]> {
    let (head, rest) = s.split_at_checked(w.len())?;
    head.eq_ignore_ascii_case(w).then_some(rest)
}

/// Digits in `radix` at the start of `s`, appended to `value`: the value of those that fit
/// (from the first that does not fit on, or from the start when `value` is already `full`,
/// every digit is counted as dropped), how many digits there were, how many were dropped,
/// and the rest of `s`.
fn digits(mut s: &[u8], radix: u32, mut value: u64, full: bool) -> (u64, i32, i32, &[u8]) {
    let (mut n, mut dropped, mut full) = (0i32, 0i32, full);
    while let Some((&c, rest)) = s.split_first() {
        let Some(d) = (c as char).to_digit(radix) else {
            break;
        };
        let next = value
            .checked_mul(radix as u64)
            .and_then(|v| v.checked_add(d as u64));
        match next {
            Some(v) if !full => value = v,
            _ => {
                full = true;
                dropped = dropped.saturating_add(1);
            }
        }
        n = n.saturating_add(1);
        s = rest;
    }
    (value, n, dropped, s)
}

/// An exponent (`e-3`, `p+4`) after `s` if there is one with digits, else 0 and `s`.
fn exponent(s: &[u8], marks: [u8; 2]) -> (i32, &[u8]) {
    let Some((&c, rest)) = s.split_first() else {
        return (0, s);
    };
    if c != marks[0] && c != marks[1] {
        return (0, s);
    }
    let (negative, rest) = match rest {
        [b'-', r @ ..] => (true, r),
        [b'+', r @ ..] => (false, r),
        r => (false, r),
    };
    let (value, n, dropped, after) = digits(rest, 10, 0, false);
    if n == 0 {
        return (0, s);
    }
    let e = if dropped > 0 || value > 100_000 {
        100_000
    } else {
        value as i32
    };
    (if negative { -e } else { e }, after)
}

/// A decimal number: mantissa digits, an optional fraction, an optional exponent.
fn decimal(s: &[u8]) -> Option<(u64, &[u8])> {
    let (m, int_digits, dropped, rest) = digits(s, 10, 0, false);
    let (m, frac_digits, frac_dropped, rest) = match rest {
        [b'.', r @ ..] => digits(r, 10, m, dropped > 0),
        r => (m, 0, 0, r),
    };
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    let (e, rest) = exponent(rest, [b'e', b'E']);
    // value = m * 10^(dropped + e - kept fraction digits); in nanoseconds, 9 more.
    let kept_frac = frac_digits - frac_dropped;
    let power = 9i32
        .saturating_add(dropped)
        .saturating_add(e)
        .saturating_sub(kept_frac);
    Some((scale10(m, power), rest))
}

/// `m * 10^power`, rounded up, saturated at `FOREVER`.
fn scale10(m: u64, power: i32) -> u64 {
    if m == 0 {
        return 0;
    }
    let mut v = m;
    if power >= 0 {
        for _ in 0..power {
            match v.checked_mul(10) {
                Some(x) => v = x,
                None => return FOREVER,
            }
        }
        v
    } else {
        let mut inexact = false;
        for _ in 0..power.unsigned_abs().min(21) {
            inexact |= !v.is_multiple_of(10);
            v /= 10;
        }
        v + (inexact || v == 0) as u64
    }
}

/// A hexadecimal number after `0x`: digits, an optional fraction, an optional binary
/// exponent; `None` when no digit follows (`strtod` then reads just the `0`).
fn hex(s: &[u8]) -> Option<(u64, &[u8])> {
    let (m, int_digits, dropped, rest) = digits(s, 16, 0, false);
    let (m, frac_digits, frac_dropped, rest) = match rest {
        [b'.', r @ ..] => digits(r, 16, m, dropped > 0),
        r => (m, 0, 0, r),
    };
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    let (e, rest) = exponent(rest, [b'p', b'P']);
    // value = m * 2^(4 * (dropped - kept fraction digits) + e)
    let shift = dropped
        .saturating_sub(frac_digits - frac_dropped)
        .saturating_mul(4)
        .saturating_add(e);
    if m == 0 {
        return Some((0, rest));
    }
    let ns = m as u128 * NS as u128;
    let ns = if shift >= 0 {
        if shift >= 64 || ns.leading_zeros() <= shift as u32 {
            return Some((FOREVER, rest));
        }
        ns << shift
    } else {
        let k = shift.unsigned_abs();
        if k >= 128 {
            1
        } else {
            let q = ns >> k;
            q + (q << k != ns) as u128
        }
    };
    Some((u64::try_from(ns).unwrap_or(FOREVER), rest))
}
