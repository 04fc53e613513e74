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
//! `ls -l`. A script without `#!` runs through /bin/sh, as tini's execvp runs it.
//!
//! Written without `core::fmt`, to stay small: messages are put together by `say`. Its
//! standard descriptors are kept as they come (`unsafe(keep_closed_stdio)`), as tini keeps them: as
//! PID 1 it must not abort at start for want of a `/dev/null`.
#![no_std]
#![no_main]

use core::time::Duration;
use tinyrt::Errno;
use tinyrt::io::{BorrowedFd, STDERR, STDOUT};
use tinyrt::process::{self, Command};
use tinyrt::signal::{self, Handler, SigSet, Signal};

// SAFETY: the only descriptor the program opens is `Command::spawn`'s own error pipe,
// closed before spawn returns; nothing writes to 0, 1 or 2 meanwhile.
tinyrt::main!(main, unsafe(keep_closed_stdio));

/// Writes `parts` and a newline to `fd`. (A `write` each: these lines are rare, and a
/// buffer to gather them would cost more code than the calls.)
#[inline(never)]
fn say(fd: BorrowedFd<'static>, parts: &[&[u8]]) {
    for p in parts.iter().chain([&b"\n"[..]].iter()) {
        put(fd, p);
    }
}

/// `io::write_all`, once for the whole program (inlined at each use it would cost more).
#[inline(never)]
fn put(fd: BorrowedFd<'static>, bytes: &[u8]) {
    let _ = tinyrt::io::write_all(fd, bytes);
}

/// Writes `what` and `n` in decimal, and a newline, to `fd`.
#[inline(never)]
fn note(fd: BorrowedFd<'static>, what: &[u8], n: u32) {
    let mut b10 = [0; 10];
    say(fd, &[what, digits(n, &mut b10)]);
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

/// Says `[FATAL init] WHAT DETAIL` and the error (`: ENOENT`, `: EACCES`, or `: errno N`
/// for the rarer ones, whose names would be a fifth of this program); returns 1, the
/// exit code.
#[cold]
#[inline(never)]
fn fatal(what: &[u8], detail: &[u8], e: Option<Errno>) -> i32 {
    let mut b10 = [0; 10];
    let (a, b): (&[u8], &[u8]) = match e {
        None => (b"", b""),
        Some(Errno::ENOENT) => (b": ENOENT, not found", b""),
        Some(Errno::EACCES) => (b": EACCES, not executable", b""),
        Some(e) => (b": errno ", digits(e.raw() as u32, &mut b10)),
    };
    say(STDERR, &[b"[FATAL init] ", what, detail, a, b]);
    1
}

/// The usage on standard error; exit code 1.
#[cold]
fn usage() -> i32 {
    put(STDERR, USAGE);
    1
}

const USAGE: &[u8] =
    b"Usage: init [-hlsgwv] [-p SIGNAL] [-e CODE]... [--] PROGRAM [ARGS] | --version
  -s subreaper, -g signal the group, -p signal on parent death, -e CODE exits 0,
  -w warn on reaping, -v verbose; TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP, TINI_VERBOSITY
";

const LICENSE: &[u8] = b"init (tinyrt): MIT OR Apache-2.0";

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

/// Parses the options into `o`; the rest of `args` is PROGRAM and its arguments.
/// `Err(code)`: exit with it. (`o` is the caller's: a struct returned by value is copied.)
fn parse(args: &mut tinyrt::env::Args, o: &mut Options) -> Result<(), i32> {
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
                    put(STDOUT, USAGE);
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
                        fatal(b"bad option -", &[f], None);
                        return Err(usage());
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
                        let what: &[&[u8]] =
                            &[b"[FATAL init] Not a valid option for -", &[f], b": ", value];
                        say(STDERR, what);
                        return Err(1);
                    }
                    break;
                }
                _ => {
                    fatal(b"bad option -", &[f], None);
                    return Err(usage());
                }
            }
        }
    }
    if args.len() == 0 {
        return Err(usage());
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
    Ok(())
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let mut o = Options {
        subreaper: false,
        group: false,
        death_signal: None,
        expect: [0; 4],
        warn_on_reap: false,
        verbosity: 1,
    };
    if let Err(code) = parse(&mut args, &mut o) {
        return code;
    }
    // Every signal we forward waits, blocked, for sigtimedwait; our own faults act.
    let forwarded = SigSet::from_bits(SigSet::FULL.bits() & !OURS.bits());
    let child_mask = match signal::set_mask(forwarded) {
        Ok(m) => m,
        Err(e) => return fatal(b"sigprocmask", b"", Some(e)),
    };
    // The child's group becomes the terminal's foreground: a background write or read of
    // ours must not stop us.
    // The child gets them back as they were: default again unless they were ignored.
    let mut restore = SigSet::EMPTY;
    for sig in [Signal::TTIN, Signal::TTOU] {
        match signal::ignore(sig) {
            Ok(old) if matches!(old.handler, Handler::Ignore) => {}
            Ok(_) => restore = restore.with(sig),
            Err(e) => return fatal(b"sigaction(SIGTTIN/SIGTTOU)", b"", Some(e)),
        }
    }
    if o.death_signal.is_some()
        && let Err(e) = process::set_parent_death_signal(o.death_signal)
    {
        return fatal(b"prctl(PR_SET_PDEATHSIG)", b"", Some(e));
    }
    if o.subreaper
        && let Err(e) = process::set_child_subreaper(true)
    {
        return fatal(b"prctl(PR_SET_CHILD_SUBREAPER)", b"", Some(e));
    }
    if o.verbosity > 0 && process::id() != 1 && !process::is_child_subreaper().unwrap_or(false) {
        say(
            STDERR,
            &[
                b"[WARN  init] not running as PID 1 nor as a child subreaper: \
                orphans will not be reaped (see -s)",
            ],
        );
    }
    let program = args.clone().next().map_or(&b""[..], |p| p.to_bytes());
    let Some(mut cmd) = Command::from_args(args) else {
        return usage();
    };
    cmd.process_group(0)
        .foreground(true)
        .signal_mask(child_mask)
        .default_signals(restore)
        .shell_fallback(true);
    let child = match cmd.spawn() {
        Ok(c) => c.id(),
        Err(e) => {
            fatal(b"exec ", program, Some(e));
            return match e {
                Errno::ENOENT => 127,
                Errno::EACCES => 126,
                _ => 1,
            };
        }
    };
    if o.verbosity > 1 {
        note(STDOUT, b"[INFO  init] Spawned the child, pid ", child);
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
                        note(STDOUT, b"[DEBUG init] Passing signal ", sig.number() as u32);
                    }
                    match signal::kill(target, sig) {
                        Ok(()) => {}
                        Err(Errno::ESRCH) => {
                            if o.verbosity > 0 {
                                say(STDERR, &[b"[WARN  init] the child was gone: not forwarded"]);
                            }
                        }
                        Err(e) => return fatal(b"kill", b"", Some(e)),
                    }
                }
            },
            Ok(None) | Err(Errno::EINTR) => {}
            Err(e) => return fatal(b"sigtimedwait", b"", Some(e)),
        }
        // Reap everything that has ended; the child's end is ours.
        let mut exit = None;
        loop {
            match process::try_wait_any() {
                Ok(Some((pid, status))) if pid == child => {
                    let code = (status.shell_code() & 0xff) as u32;
                    if o.verbosity > 1 {
                        note(STDOUT, b"[INFO  init] Main child exited with ", code);
                    }
                    let remapped = o.expect[(code / 64) as usize] & 1 << (code % 64) != 0;
                    exit = Some(if remapped { 0 } else { code as i32 });
                }
                Ok(Some((pid, _))) => {
                    if o.warn_on_reap && o.verbosity > 0 {
                        note(STDERR, b"[WARN  init] Reaped zombie process with pid=", pid);
                    }
                }
                Ok(None) | Err(Errno::ECHILD) => break,
                Err(e) => return fatal(b"waitpid", b"", Some(e)),
            }
        }
        if let Some(code) = exit {
            return code;
        }
    }
}
