//! `spawn_spec PROGRAM [SPEC...]`: builds one `tinyrt::process::Command` from the spec on
//! its own argv, starts it, waits, and exits with the child's shell code. The tests run the
//! same spec through `std::process::Command` (tests/tools/spawn_spec_std.rs) and compare what
//! the child saw.
//!
//! The spec, applied in order: `--arg X` (one `.arg(X)`, never `from_args`), `--env N=V`,
//! `--unset N`, `--clear-env`, `--cwd D`, `--mask LIST` (`signal_mask`), `--default LIST`
//! (`default_signals`); set up in this process first: `--block LIST` (our own mask),
//! `--ignore LIST` (ignored here), `--trap LIST` (a handler here); `--exec`: `exec` instead
//! of `status`. A LIST is signal numbers separated by commas (empty: no signal).
//!
//! Output: nothing of its own when the child starts (it writes to our stdout); `error N`
//! (the errno's number) and exit code 127 when the start fails; 2 for a usage error.
#![no_std]
#![no_main]

use tinyrt::process::Command;
use tinyrt::signal::{self, Action, Handler, SigSet, Signal};
use tinyrt::{eprintln, println};

tinyrt::main!(main);

fn usage(why: &str) -> i32 {
    eprintln!("spawn_spec: {why}");
    2
}

/// The set a comma-separated list of signal numbers names.
fn set(list: &[u8]) -> Option<SigSet> {
    let mut s = SigSet::EMPTY;
    for n in list.split(|&b| b == b',').filter(|n| !n.is_empty()) {
        let n: i32 = core::str::from_utf8(n).ok()?.parse().ok()?;
        s = s.with(Signal::new(n)?);
    }
    Some(s)
}

extern "C" fn nothing(_: i32) {}

fn main(mut args: tinyrt::env::Args) -> i32 {
    args.next();
    let Some(program) = args.next() else {
        return usage("PROGRAM is missing");
    };
    let mut cmd = Command::new(program);
    let mut exec = false;
    while let Some(opt) = args.next() {
        let opt = opt.to_bytes();
        if opt == b"--clear-env" {
            cmd.env_clear();
            continue;
        }
        if opt == b"--exec" {
            exec = true;
            continue;
        }
        let Some(v) = args.next() else {
            return usage("an option without its value");
        };
        let list = || set(v.to_bytes());
        match opt {
            b"--arg" => _ = cmd.arg(v),
            b"--env" => {
                let (name, value) = tinyrt::env::split(v);
                cmd.env(name, value);
            }
            b"--unset" => _ = cmd.env_remove(v.to_bytes()),
            b"--cwd" => _ = cmd.current_dir(v),
            b"--mask" | b"--default" | b"--block" | b"--ignore" | b"--trap" => {
                let Some(s) = list() else {
                    return usage("a bad signal list");
                };
                let done = match opt {
                    b"--mask" => Ok(_ = cmd.signal_mask(s)),
                    b"--default" => Ok(_ = cmd.default_signals(s)),
                    b"--block" => signal::block(s).map(drop),
                    b"--ignore" => s.iter().try_for_each(|g| signal::ignore(g).map(drop)),
                    _ => s.iter().try_for_each(|g| {
                        let a = Action::new(Handler::Plain(nothing));
                        // SAFETY: the handler does nothing.
                        unsafe { signal::set_action(g, &a) }.map(drop)
                    }),
                };
                if done.is_err() {
                    return usage("setting a signal up failed");
                }
            }
            _ => return usage("unknown option"),
        }
    }
    if exec {
        println!("error {}", cmd.exec().raw());
        return 127;
    }
    match cmd.status() {
        Ok(s) => s.shell_code(),
        Err(e) => {
            println!("error {}", e.raw());
            127
        }
    }
}
