//! `run [OPTIONS] [--] PROGRAM [ARGS...]`: starts PROGRAM with `tinyrt::process::Command`,
//! waits for it and says how it ended; then checks that no child is left (not even a
//! zombie).
//!
//! Options: `--env NAME=VALUE`, `--unset NAME`, `--clear-env`, `--cwd DIR`, `--pipe`
//! (read the child's standard output through a pipe and report it), `--null-stdin`,
//! `--group` (a process group of its own), `--exec` (replace this process instead),
//! `--repeat N` (start and wait N times, then print `repeat N total_ns T`: the tinyrt side
//! of the spawn benchmark in scripts/report), `--trap-usr1` (install a SIGUSR1 handler
//! first: the child must give it the default action before it unblocks signals).
//!
//! Output, one line each: `spawned` (after a successful start), then `exit CODE` or
//! `signal N`, or `error ENAME` when the start failed; with `--pipe`, `stdout N bytes: TEXT`
//! before the status (N counts everything read; TEXT is at most the first 4 KiB); last
//! `children none` (or `children left`), except after a failed `--exec`. The exit code is
//! the child's shell code (128 + N for a signal), 127 after ENOENT, 126 after EACCES or
//! ENOEXEC, 2 for a usage error.
#![no_std]
#![no_main]

use tinyrt::process::{self, Command, Stdio};
use tinyrt::{Errno, eprintln, println};

tinyrt::main!(main);

fn usage(why: &str) -> i32 {
    eprintln!("run: {why}");
    eprintln!(
        "usage: run [--env N=V] [--unset N] [--clear-env] [--cwd DIR] [--pipe] [--null-stdin] [--group] [--exec] [--] PROGRAM [ARGS...]"
    );
    2
}

fn main(mut rest: tinyrt::env::Args) -> i32 {
    rest.next();
    let mut envs: [(&[u8], Option<&[u8]>); 8] = [(&[], None); 8];
    let mut n_env = 0;
    let (mut clear, mut pipe, mut null_stdin, mut group, mut exec) =
        (false, false, false, false, false);
    let mut cwd = None;
    let mut repeat = 0u32;
    loop {
        let peek = rest.clone().next();
        let Some(a) = peek else {
            return usage("PROGRAM is missing");
        };
        match a.to_bytes() {
            b"--" => {
                rest.next();
                break;
            }
            b"--env" | b"--unset" => {
                rest.next();
                let Some(v) = rest.next() else {
                    return usage("--env and --unset take an argument");
                };
                if n_env == envs.len() {
                    return usage("too many --env/--unset");
                }
                envs[n_env] = match (a.to_bytes(), tinyrt::env::split(v)) {
                    (b"--env", (name, value)) => (name, Some(value)),
                    _ => (v.to_bytes(), None),
                };
                n_env += 1;
            }
            b"--cwd" => {
                rest.next();
                let Some(d) = rest.next() else {
                    return usage("--cwd takes a directory");
                };
                cwd = Some(d);
            }
            b"--repeat" => {
                rest.next();
                match rest.next().and_then(|n| n.to_str().ok()?.parse().ok()) {
                    Some(n) => repeat = n,
                    None => return usage("--repeat takes a count"),
                }
            }
            b"--trap-usr1" => {
                rest.next();
                extern "C" fn nothing(_: i32) {}
                let handler = tinyrt::signal::Action::new(tinyrt::signal::Handler::Plain(nothing));
                // SAFETY: the handler does nothing.
                if unsafe { tinyrt::signal::set_action(tinyrt::signal::Signal::USR1, &handler) }
                    .is_err()
                {
                    return usage("sigaction failed");
                }
            }
            b"--clear-env" => (clear, _) = (true, rest.next()),
            b"--pipe" => (pipe, _) = (true, rest.next()),
            b"--null-stdin" => (null_stdin, _) = (true, rest.next()),
            b"--group" => (group, _) = (true, rest.next()),
            b"--exec" => (exec, _) = (true, rest.next()),
            o if o.starts_with(b"--") => return usage("unknown option"),
            _ => break,
        }
    }
    let Some(mut cmd) = Command::from_args(rest) else {
        return usage("PROGRAM is missing");
    };
    if clear {
        cmd.env_clear();
    }
    for (name, value) in envs.iter().take(n_env) {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    if pipe {
        cmd.stdout(Stdio::Pipe);
    }
    if null_stdin {
        cmd.stdin(Stdio::Null);
    }
    if group {
        cmd.process_group(0);
    }
    if repeat > 0 {
        let start = tinyrt::time::Instant::now();
        for _ in 0..repeat {
            match cmd.status() {
                Ok(s) if s.success() => {}
                Ok(s) => return s.shell_code(),
                Err(e) => {
                    println!("error {}", e.name().unwrap_or("?"));
                    return failure_code(e);
                }
            }
        }
        println!("repeat {repeat} total_ns {}", start.elapsed().as_nanos());
        return 0;
    }
    if exec {
        let e = cmd.exec();
        println!("error {}", e.name().unwrap_or("?"));
        return failure_code(e);
    }
    let code = match cmd.spawn() {
        Ok(mut child) => {
            println!("spawned");
            if let Some(out) = child.stdout.take() {
                let mut buf = [0u8; 4096];
                let kept = tinyrt::io::read_full(&out, &mut buf).unwrap_or(0);
                // Read the rest to the end too (counted, not kept): the child must not die
                // of SIGPIPE because we stopped reading.
                let mut n = kept;
                let mut rest = [0u8; 4096];
                while let Ok(k @ 1..) = tinyrt::io::read_full(&out, &mut rest) {
                    n += k;
                }
                let text = match core::str::from_utf8(&buf[..kept]) {
                    Ok(t) => t,
                    Err(e) => core::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or(""),
                };
                println!("stdout {n} bytes: {}", text.trim_end());
            }
            match child.wait() {
                Ok(s) => {
                    match (s.code(), s.signal()) {
                        (Some(c), _) => println!("exit {c}"),
                        (_, Some(sig)) => println!("signal {}", sig.number()),
                        _ => println!("status {:#x}", s.raw()),
                    }
                    s.shell_code()
                }
                Err(e) => {
                    println!("error {}", e.name().unwrap_or("?"));
                    1
                }
            }
        }
        Err(e) => {
            println!("error {}", e.name().unwrap_or("?"));
            failure_code(e)
        }
    };
    match process::try_wait_any() {
        Err(Errno::ECHILD) => println!("children none"),
        _ => println!("children left"),
    }
    code
}

fn failure_code(e: Errno) -> i32 {
    match e {
        Errno::ENOENT => 127,
        Errno::EACCES | Errno::ENOEXEC => 126,
        _ => 1,
    }
}
