//! The std side of tests/oracle.rs: `examples/spawn_spec.rs`'s spec (see there), run with
//! `std::process::Command`; built by the test with plain `rustc`. Each spec item is the
//! std call of the same name; what std has no method for is done as a std user does it, in
//! `pre_exec` (which std runs after it has reset SIGPIPE to its default action): `--mask`
//! sets the child's mask, `--default` gives its signals the default action (and keeps an
//! ignored SIGPIPE ignored when the list leaves it out: tinyrt's `default_signals` replaces
//! its default set, SIGPIPE alone). One default differs on purpose: std's child inherits
//! the parent's mask (Rust 1.66 on), tinyrt's starts with an empty one, so after `--block`
//! the child's mask is set here too (empty without `--mask`). `--block`, `--ignore` and
//! `--trap` set this process up first, through glibc.

use std::ffi::OsString;
use std::os::raw::c_int;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;

/// glibc's `sigset_t` (1024 bits).
#[repr(C)]
struct SigSet([u64; 16]);

unsafe extern "C" {
    fn sigprocmask(how: c_int, set: *const SigSet, old: *mut SigSet) -> c_int;
    fn signal(sig: c_int, handler: usize) -> usize;
}

const SIG_BLOCK: c_int = 0;
const SIG_SETMASK: c_int = 2;
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;
const SIGPIPE: c_int = 13;

extern "C" fn nothing(_: c_int) {}

fn list(v: &[u8]) -> Vec<c_int> {
    v.split(|&b| b == b',')
        .filter(|n| !n.is_empty())
        .map(|n| std::str::from_utf8(n).unwrap().parse().unwrap())
        .collect()
}

fn sigset(signals: &[c_int]) -> SigSet {
    let mut s = SigSet([0; 16]);
    for &n in signals {
        s.0[0] |= 1 << (n - 1);
    }
    s
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let mut cmd = Command::new(&args[0]);
    let mut ignored = Vec::new();
    let (mut mask, mut defaults, mut blocked, mut exec) = (None, None, false, false);
    let mut it = args[1..].iter();
    while let Some(opt) = it.next() {
        if opt == "--clear-env" {
            cmd.env_clear();
            continue;
        }
        if opt == "--exec" {
            exec = true;
            continue;
        }
        let v = it.next().expect("an option's value").as_bytes();
        let os = || OsString::from_vec(v.to_vec());
        match opt.to_str().unwrap() {
            "--arg" => _ = cmd.arg(os()),
            "--env" => {
                let i = v.iter().position(|&b| b == b'=').unwrap_or(v.len());
                let value = v.get(i + 1..).unwrap_or_default();
                _ = cmd.env(
                    OsString::from_vec(v[..i].to_vec()),
                    OsString::from_vec(value.to_vec()),
                )
            }
            "--unset" => _ = cmd.env_remove(os()),
            "--cwd" => _ = cmd.current_dir(os()),
            "--mask" => mask = Some(sigset(&list(v))),
            "--default" => defaults = Some(list(v)),
            "--block" => {
                blocked = true;
                // SAFETY: a set of ours, no old set asked.
                assert_eq!(
                    unsafe { sigprocmask(SIG_BLOCK, &sigset(&list(v)), std::ptr::null_mut()) },
                    0
                );
            }
            "--ignore" => {
                for n in list(v) {
                    // SAFETY: ignoring a signal.
                    assert_ne!(unsafe { signal(n, SIG_IGN) }, usize::MAX);
                    ignored.push(n);
                }
            }
            "--trap" => {
                for n in list(v) {
                    // SAFETY: the handler does nothing.
                    assert_ne!(
                        unsafe { signal(n, nothing as *const () as usize) },
                        usize::MAX
                    );
                    ignored.retain(|&i| i != n);
                }
            }
            o => panic!("unknown option {o}"),
        }
    }
    let keep_pipe = defaults
        .as_ref()
        .is_some_and(|d| ignored.contains(&SIGPIPE) && !d.contains(&SIGPIPE));
    if blocked {
        mask = Some(mask.unwrap_or(sigset(&[])));
    }
    if mask.is_some() || defaults.is_some() {
        // SAFETY: sigprocmask and signal are async-signal-safe; what they read is moved in.
        unsafe {
            cmd.pre_exec(move || {
                for &n in defaults.iter().flatten() {
                    signal(n, SIG_DFL);
                }
                if keep_pipe {
                    signal(SIGPIPE, SIG_IGN);
                }
                match &mask {
                    Some(m) if sigprocmask(SIG_SETMASK, m, std::ptr::null_mut()) != 0 => {
                        Err(std::io::Error::last_os_error())
                    }
                    _ => Ok(()),
                }
            })
        };
    }
    if exec {
        let e = cmd.exec();
        println!("error {}", e.raw_os_error().unwrap_or(0));
        std::process::exit(127)
    }
    match cmd.status() {
        Ok(s) => std::process::exit(s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))),
        Err(e) => {
            println!("error {}", e.raw_os_error().unwrap_or(0));
            std::process::exit(127)
        }
    }
}
