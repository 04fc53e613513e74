//! tests/daemon.rs on every architecture: the scenario shortened, and the wait system calls
//! of 20 ticks counted (qemu's `-strace`, strace natively).

use super::{Daemon, Scratch, summary};
use crate::common::{self, ARCHES, Arch};
use std::path::Path;
use std::process::Command;

/// The scenario, shortened, on `arch`: a crossing starts a command (`/bin/sh`, the host's),
/// its exit code comes back, a summary, a reload, a stop; then 20 ticks of 10 ms.
fn scenario(arch: &Arch, exe: &Path) {
    let dir = Scratch::new(&format!(
        "arch-{}",
        arch.name().replace([' ', '(', ')'], "")
    ));
    let sensor = dir.write("temp", "70\n");
    let mut c = arch.command(exe);
    c.args(["--period", "50", "--threshold", "50", "--verbose"])
        .arg(&sensor)
        .args(["--command", "/bin/sh", "-c", "exit 5"]);
    let mut d = Daemon::start(c);
    let what = arch.name();
    d.line(|l| l.starts_with("cross 70 threshold=50 at "), &what);
    let spawn = d.line(|l| l.starts_with("spawn "), &what);
    let pid = spawn.split_whitespace().nth(1).unwrap();
    let exited = format!("child {pid} exited 5 at ");
    d.line(|l| l.starts_with(&exited), &what);
    d.line(|l| l.starts_with("sample 70 at "), &what);
    d.signal(libc::SIGUSR1);
    let s = d.line(|l| l.starts_with("summary "), &what);
    let n = d.seen.iter().filter(|l| l.starts_with("sample ")).count();
    assert!(
        s.starts_with(&format!("summary samples={n} min=70 max=70 last=70 at ")),
        "{what}: {s}"
    );
    d.signal(libc::SIGHUP);
    d.line(
        |l| l.starts_with("reload threshold=50 period_ms=50 at "),
        &what,
    );
    d.stop();

    // The ticks with the system calls seen (qemu's -strace, strace for a native run): a
    // wait is `epoll_pwait` or `epoll_pwait2` (aarch64 and riscv64 have no `epoll_wait`),
    // and never more than one per `Poll::wait` (a due tick needs none).
    let args = ["ticks", "10000", "20", "10"];
    let (out, log) = match arch.runner {
        Some(q) => {
            let out = Command::new(q)
                .arg("-strace")
                .arg(exe)
                .args(args)
                .output()
                .unwrap();
            let log = String::from_utf8_lossy(&out.stderr).into_owned();
            (out, log)
        }
        None => {
            let mut cmd = vec![exe.as_os_str().to_owned()];
            cmd.extend(args.iter().map(Into::into));
            common::strace(&cmd, Some("trace=all"))
        }
    };
    let s = summary(&out);
    assert_eq!(
        (s["ticks"], s["off_schedule"], s["drift_ns"], s["other"]),
        (20, 0, 0, 0),
        "{what}: {s:?}"
    );
    let calls = |name: &str| {
        log.lines()
            .filter(|l| l.contains(&format!(" {name}(")) || l.starts_with(&format!("{name}(")))
            .count() as i128
    };
    let waits = calls("epoll_pwait") + calls("epoll_pwait2");
    assert!(
        calls("epoll_wait") == 0 && (1..=s["waits"]).contains(&waits),
        "{what}: {waits} wait system calls for {} waits:\n{log}",
        s["waits"]
    );
    println!("{what}: ok, {waits} wait system calls, ticks {s:?}");
}

#[test]
fn the_scenario_on_every_architecture() {
    for arch in ARCHES {
        let Some(exe) = common::cross_example(&arch, &[], "daemon") else {
            continue;
        };
        scenario(&arch, &exe);
    }
}
