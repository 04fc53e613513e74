//! `init [-s] [-g] [-p SIGNAL] [-e CODE] [-w] [-v] [--] PROGRAM [ARGS...]`: a container
//! init with tini's behaviour and options, on `tinyrt::process` and `tinyrt::signal`.
//!
//! It runs PROGRAM as its child in a process group of its own (the terminal's foreground
//! group where there is one), forwards every signal it receives to the child (`-g`: to the
//! child's group) except SIGCHLD and the ones that report our own faults, reaps every
//! zombie it inherits, and exits with the child's status (128 + N for a signal N).
//!
//! - `-s`: register as a child subreaper (for when it is not PID 1); also TINI_SUBREAPER.
//! - `-g`: signals go to the child's process group; also TINI_KILL_PROCESS_GROUP.
//! - `-p SIGNAL`: the signal we get when our parent dies (`-p SIGKILL`).
//! - `-e CODE`: the child's exit code CODE (0 to 255) counts as 0; repeatable.
//! - `-w`: warn about each zombie reaped; `-v`: more output (repeatable; TINI_VERBOSITY).
//! - `-h`: help; `-l`: the licence; `--version`.
//!
//! Like tini it waits with every forwarded signal blocked, in `sigtimedwait` (one second at
//! a time, reaping in between), and never installs a handler. Exit codes: 1 for a usage
//! error or a failed set-up, 127 when PROGRAM is not found, 126 when it cannot be executed.
//! Unlike tini (glibc's getopt), options end at the first operand, so `init ls -l` runs
//! `ls -l`; and a script without `#!` is not run with /bin/sh (exit 1, ENOEXEC).
//!
//! Written without `core::fmt`, to stay small: messages are put together by `say`.
#![no_std]
#![no_main]

use core::time::Duration;
use tinyrt::Errno;
use tinyrt::io::{STDERR, STDOUT};
use tinyrt::process::{self, Command};
use tinyrt::signal::{self, Handler, SigSet, Signal};

tinyrt::main!(main);

/// Writes `parts` and a newline to `fd` as one line (one `write` for up to 512 bytes).
#[inline(never)]
fn say(fd: tinyrt::io::Fd, parts: &[&[u8]]) {
    let mut buf = [0u8; 512];
    let mut out = buf.iter_mut();
    let mut len = 0;
    for &b in parts.iter().flat_map(|p| p.iter()).chain(b"\n") {
        if let Some(slot) = out.next() {
            *slot = b;
            len += 1;
        }
    }
    let _ = tinyrt::io::write_all(fd, buf.get(..len).unwrap_or_default());
}

/// `n` in decimal, in `buf`.
fn digits(mut n: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut i = buf.len();
    for d in buf.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        i -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(i..).unwrap_or_default()
}

/// The errors a start-up can meet by name, any other by number (`Errno::name` knows them
/// all, but its table would be a fifth of this program).
fn errno(e: Errno, buf: &mut [u8; 10]) -> &[u8] {
    match e {
        Errno::ENOENT => b"ENOENT (no such file or directory)",
        Errno::EACCES => b"EACCES (permission denied)",
        Errno::ENOEXEC => b"ENOEXEC (exec format error)",
        Errno::ENOTDIR => b"ENOTDIR (not a directory)",
        Errno::EPERM => b"EPERM (operation not permitted)",
        Errno::ENOMEM => b"ENOMEM (out of memory)",
        Errno::EINVAL => b"EINVAL (invalid argument)",
        _ => digits(e.raw() as u32, buf),
    }
}

const LICENSE: &[u8] = b"init is part of tinyrt, licensed under the MIT license or the \
    Apache License 2.0, at your option (LICENSE-MIT, LICENSE-APACHE).";
const FATAL: &[u8] = b"[FATAL init] ";
const WARN: &[u8] = b"[WARN  init] ";

const USAGE: &[u8] = b"Usage: init [OPTIONS] [--] PROGRAM [ARGS] | --version

Execute a program under the supervision of a valid init process (init)

  --version: Show version and exit.
  -h: Show this help message and exit.
  -s: Register as a process subreaper (requires Linux >= 3.4).
  -p SIGNAL: Trigger SIGNAL when parent dies, e.g. \"-p SIGKILL\".
  -v: Generate more verbose output. Repeat up to 3 times.
  -w: Print a warning when processes are getting reaped.
  -g: Send signals to the child's process group.
  -e EXIT_CODE: Remap EXIT_CODE (from 0 to 255) to 0 (can be repeated).
  -l: Show license and exit.

Environment variables:

  TINI_SUBREAPER: Register as a process subreaper (requires Linux >= 3.4).
  TINI_VERBOSITY: Set the verbosity level (default: 1).
  TINI_KILL_PROCESS_GROUP: Send signals to the child's process group.

";

/// Signals about our own faults, never forwarded (and never blocked: they must act).
const OURS: SigSet = SigSet::of(&[
    Signal::FPE,
    Signal::ILL,
    Signal::SEGV,
    Signal::BUS,
    Signal::ABRT,
    Signal::TRAP,
    Signal::SYS,
    Signal::TTIN,
    Signal::TTOU,
]);

struct Options {
    subreaper: bool,
    group: bool,
    death_signal: Option<Signal>,
    /// Exit codes that count as 0, one bit each.
    expect: [u64; 4],
    warn_on_reap: bool,
    verbosity: u32,
}

/// A whole decimal number (digits only), if it fits in a u32.
fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |n, &b| match b {
        b'0'..=b'9' => Some(n * 10 + (b - b'0') as u32),
        _ => None,
    })
}

/// Parses the options; the rest of `args` is PROGRAM and its arguments. `Err(code)`: exit.
fn parse(args: &mut tinyrt::env::Args) -> Result<Options, i32> {
    let mut o = Options {
        subreaper: false,
        group: false,
        death_signal: None,
        expect: [0; 4],
        warn_on_reap: false,
        verbosity: 1,
    };
    args.next();
    if args.len() == 1 && args.clone().next().map(|a| a.to_bytes()) == Some(b"--version") {
        say(
            STDOUT,
            &[
                b"init (tinyrt) version ",
                env!("CARGO_PKG_VERSION").as_bytes(),
            ],
        );
        return Err(0);
    }
    while let Some(a) = args.clone().next() {
        let a = a.to_bytes();
        if a == b"--" {
            args.next();
            break;
        }
        let Some(flags) = a.strip_prefix(b"-").filter(|f| !f.is_empty()) else {
            break;
        };
        args.next();
        for (i, &f) in flags.iter().enumerate() {
            match f {
                b'l' => {
                    say(STDOUT, &[LICENSE]);
                    return Err(0);
                }
                b'h' => {
                    let _ = tinyrt::io::write_all(STDOUT, USAGE);
                    return Err(0);
                }
                b's' => o.subreaper = true,
                b'g' => o.group = true,
                b'w' => o.warn_on_reap = true,
                b'v' => o.verbosity += 1,
                b'p' | b'e' => {
                    // The value: the rest of this word, or the next one.
                    let rest = flags.get(i + 1..).unwrap_or_default();
                    let value = match rest {
                        [] => args.next().map(|v| v.to_bytes()),
                        r => Some(r),
                    };
                    let Some(value) = value else {
                        say(STDERR, &[FATAL, b"option -", &[f], b" needs a value"]);
                        let _ = tinyrt::io::write_all(STDERR, USAGE);
                        return Err(1);
                    };
                    let ok = match f {
                        b'p' => {
                            // tini takes the full name only (`SIGKILL`).
                            o.death_signal = value
                                .starts_with(b"SIG")
                                .then(|| Signal::from_name(value))
                                .flatten();
                            o.death_signal.is_some()
                        }
                        _ => match number(value).filter(|&c| c <= 255) {
                            Some(c) => {
                                o.expect[(c / 64) as usize] |= 1 << (c % 64);
                                true
                            }
                            None => false,
                        },
                    };
                    if !ok {
                        say(
                            STDERR,
                            &[FATAL, b"Not a valid option for -", &[f], b": ", value],
                        );
                        return Err(1);
                    }
                    break;
                }
                _ => {
                    say(STDERR, &[FATAL, b"unknown option -", &[f]]);
                    let _ = tinyrt::io::write_all(STDERR, USAGE);
                    return Err(1);
                }
            }
        }
    }
    if args.len() == 0 {
        let _ = tinyrt::io::write_all(STDERR, USAGE);
        return Err(1);
    }
    if tinyrt::env::var("TINI_SUBREAPER").is_some() {
        o.subreaper = true;
    }
    if tinyrt::env::var("TINI_KILL_PROCESS_GROUP").is_some() {
        o.group = true;
    }
    if let Some(v) = tinyrt::env::var("TINI_VERBOSITY") {
        o.verbosity = number(v).unwrap_or(0);
    }
    Ok(o)
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let o = match parse(&mut args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    // Every signal we forward waits, blocked, for sigtimedwait; our own faults act.
    let forwarded = SigSet::from_bits(SigSet::FULL.bits() & !OURS.bits());
    let child_mask = match signal::set_mask(forwarded) {
        Ok(m) => m,
        Err(e) => {
            say(
                STDERR,
                &[FATAL, b"sigprocmask failed: ", errno(e, &mut [0; 10])],
            );
            return 1;
        }
    };
    // The child's group becomes the terminal's foreground: a background write or read of
    // ours must not stop us.
    // The child gets them back as they were: default again unless they were ignored.
    let mut restore = SigSet::EMPTY;
    for sig in [Signal::TTIN, Signal::TTOU] {
        match signal::ignore(sig) {
            Ok(old) if matches!(old.handler, Handler::Ignore) => {}
            Ok(_) => restore = restore.with(sig),
            Err(_) => {
                say(STDERR, &[FATAL, b"Failed to ignore SIGTTIN/SIGTTOU"]);
                return 1;
            }
        }
    }
    if o.death_signal.is_some() && process::set_parent_death_signal(o.death_signal).is_err() {
        say(STDERR, &[FATAL, b"Failed to set up parent death signal"]);
        return 1;
    }
    if o.subreaper
        && let Err(e) = process::set_child_subreaper(true)
    {
        let mut b10 = [0; 10];
        let why = errno(e, &mut b10);
        say(
            STDERR,
            &[FATAL, b"Failed to register as child subreaper: ", why],
        );
        return 1;
    }
    if o.verbosity > 0 && process::id() != 1 && !process::is_child_subreaper().unwrap_or(false) {
        say(
            STDERR,
            &[
                WARN,
                b"init is not running as PID 1 and isn't registered as a child subreaper.\n\
            Zombie processes will not be re-parented to init, so zombie reaping won't work.\n\
            To fix the problem, use the -s option or set the environment variable TINI_SUBREAPER \
            to register init as a child subreaper, or run init as PID 1.",
            ],
        );
    }
    let program = args.clone().next().map_or(&b""[..], |p| p.to_bytes());
    let Some(mut cmd) = Command::from_args(args) else {
        let _ = tinyrt::io::write_all(STDERR, USAGE);
        return 1;
    };
    cmd.process_group(0)
        .foreground(true)
        .signal_mask(child_mask)
        .default_signals(restore);
    let child = match cmd.spawn() {
        Ok(c) => c.id(),
        Err(e) => {
            let mut b10 = [0; 10];
            let why = errno(e, &mut b10);
            say(STDERR, &[FATAL, b"exec ", program, b" failed: ", why]);
            return match e {
                Errno::ENOENT => 127,
                Errno::EACCES => 126,
                _ => 1,
            };
        }
    };
    if o.verbosity > 1 {
        let mut b10 = [0; 10];
        let pid = digits(child, &mut b10);
        say(
            STDOUT,
            &[
                b"[INFO  init] Spawned child process '",
                program,
                b"' with pid '",
                pid,
                b"'",
            ],
        );
    }
    let target = if o.group {
        -(child as i32)
    } else {
        child as i32
    };
    loop {
        match signal::timed_wait(forwarded, Some(Duration::from_secs(1))) {
            Ok(Some(info)) => match info.signal() {
                Some(Signal::CHLD) | None => {}
                Some(sig) => {
                    if o.verbosity > 2 {
                        let name = sig.name().unwrap_or("?").as_bytes();
                        say(STDOUT, &[b"[DEBUG init] Passing signal: ", name]);
                    }
                    match signal::kill(target, sig) {
                        Ok(()) => {}
                        Err(Errno::ESRCH) => {
                            if o.verbosity > 0 {
                                say(STDERR, &[WARN, b"Child was dead when forwarding signal"]);
                            }
                        }
                        Err(e) => {
                            let mut b10 = [0; 10];
                            let why = errno(e, &mut b10);
                            say(
                                STDERR,
                                &[FATAL, b"Unexpected error when forwarding signal: ", why],
                            );
                            return 1;
                        }
                    }
                }
            },
            Ok(None) | Err(Errno::EINTR) => {}
            Err(e) => {
                let mut b10 = [0; 10];
                let why = errno(e, &mut b10);
                say(STDERR, &[FATAL, b"Unexpected error in sigtimedwait: ", why]);
                return 1;
            }
        }
        // Reap everything that has ended; the child's end is ours.
        let mut exit = None;
        loop {
            match process::try_wait_any() {
                Ok(Some((pid, status))) if pid == child => {
                    let code = (status.shell_code() & 0xff) as u32;
                    if o.verbosity > 1 {
                        let mut b10 = [0; 10];
                        let n = digits(code, &mut b10);
                        say(STDOUT, &[b"[INFO  init] Main child exited with ", n]);
                    }
                    let remapped = o.expect[(code / 64) as usize] & 1 << (code % 64) != 0;
                    exit = Some(if remapped { 0 } else { code as i32 });
                }
                Ok(Some((pid, _))) => {
                    if o.warn_on_reap && o.verbosity > 0 {
                        let mut b10 = [0; 10];
                        let n = digits(pid, &mut b10);
                        say(STDERR, &[WARN, b"Reaped zombie process with pid=", n]);
                    }
                }
                Ok(None) | Err(Errno::ECHILD) => break,
                Err(e) => {
                    let mut b10 = [0; 10];
                    let why = errno(e, &mut b10);
                    say(STDERR, &[FATAL, b"Error while waiting for pids: ", why]);
                    return 1;
                }
            }
        }
        if let Some(code) = exit {
            return code;
        }
    }
}
