//! I/O safety (issue 25): the descriptors a `TimerFd` and a `SignalFd` own survive every safe
//! call of tinyrt that takes, lends, copies or replaces a descriptor (`io::*`,
//! `process::dup2` and `dup2_stdin`/`stdout`/`stderr`, `try_clone`, a `Command` stream).
//! Judged by the kernel, read through glibc and /proc: the number still links to
//! `anon_inode:[timerfd]` / `anon_inode:[signalfd]`, keeps its close-on-exec flag, and is the
//! same timer (the odd interval set at the start) and the same signal set (fdinfo's
//! `sigmask`). Library mode, one test in this binary (it points 0, 1 and 2 elsewhere for a
//! moment).

use std::time::Duration;
use tinyrt_rt::errno::Errno;
use tinyrt_rt::io::{self, AsFd, AsRawFd, OwnedFd, RawFd};
use tinyrt_rt::process::{self, Command, Stdio};
use tinyrt_rt::signal::{SigSet, Signal, SignalFd, SignalFdFlags};
use tinyrt_rt::time::{ClockId, Timeout, TimerFd, TimerFlags};

/// An interval nothing else sets: the timer still has it only if it is the same timer.
const ODD: Duration = Duration::from_secs(7_777);

fn link(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|e| format!("({e})"))
}

fn cloexec(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the number.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

/// The `sigmask:` line of the descriptor's fdinfo.
fn sigmask(fd: RawFd) -> String {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
    info.lines()
        .find(|l| l.starts_with("sigmask:"))
        .unwrap_or("(none)")
        .to_string()
}

/// Runs `f` with 0, 1 and 2 saved (by glibc's `dup`) and put back after, so that what `f`
/// does to them cannot lose the test's own output.
fn with_stdio_saved(f: impl FnOnce()) {
    // SAFETY: dup and dup2 on the standard streams, restored before returning.
    let saved = [0, 1, 2].map(|fd| unsafe { libc::dup(fd) });
    f();
    for (fd, s) in saved.into_iter().enumerate() {
        // SAFETY: as above; `s` is ours, from dup.
        unsafe {
            libc::dup2(s, fd as i32);
            libc::close(s);
        }
    }
}

#[test]
fn the_descriptors_of_a_timerfd_and_a_signalfd_survive_every_safe_call() {
    let timer = TimerFd::new(
        ClockId::MONOTONIC,
        TimerFlags::CLOEXEC | TimerFlags::NONBLOCK,
    )
    .unwrap();
    timer.set(Timeout::After(ODD), ODD).unwrap();
    let set = SigSet::EMPTY.with(Signal::USR2);
    let sigfd = SignalFd::new(set, SignalFdFlags::CLOEXEC | SignalFdFlags::NONBLOCK).unwrap();
    let (t, s) = (timer.as_raw_fd(), sigfd.as_raw_fd());
    let mask = sigmask(s);
    assert_eq!(link(t), "anon_inode:[timerfd]");
    assert_eq!(link(s), "anon_inode:[signalfd]");
    assert!(cloexec(t) && cloexec(s));

    for fd in [timer.as_fd(), sigfd.as_fd()] {
        // Reading and writing: refused or empty, nothing closed.
        let mut buf = [0u8; 128];
        assert!(io::read(fd, &mut buf).is_err());
        assert!(io::read_full(fd, &mut buf).is_err());
        assert!(io::write(fd, b"x").is_err());
        assert!(io::write_all(fd, b"x").is_err());
        assert!(io::write_fmt(fd, format_args!("{}", 1)).is_err());

        // Copies: made and dropped (closing the copy, not the original).
        drop(fd.try_clone_to_owned().unwrap());
        let mut copy: OwnedFd = fd.try_clone_to_owned().unwrap();
        drop(copy.try_clone().unwrap());

        // dup2 onto descriptors of our own, from it and onto a copy of it.
        let (mut r, mut w) = process::pipe().unwrap();
        process::dup2(fd, &mut w).unwrap();
        process::dup2(&r, &mut copy).unwrap();
        process::dup2(&copy, &mut r).unwrap();
        drop((r, w, copy));

        // The standard streams redirected to it, then to themselves (POSIX `dup2(x, x)`).
        let mut seen = (String::new(), false, false);
        with_stdio_saved(|| {
            process::dup2_stdin(fd).unwrap();
            process::dup2_stdout(fd).unwrap();
            process::dup2_stderr(fd).unwrap();
            // A copy without close-on-exec, as dup2's.
            seen.0 = link(1);
            seen.1 = cloexec(1);
            // Onto itself: nothing changes, close-on-exec included (POSIX `dup2(x, x)`).
            // SAFETY: F_SETFD on our own standard output, put back after.
            unsafe { libc::fcntl(1, libc::F_SETFD, libc::FD_CLOEXEC) };
            process::dup2_stdin(io::STDIN).unwrap();
            process::dup2_stdout(io::STDOUT).unwrap();
            process::dup2_stderr(io::STDERR).unwrap();
            seen.2 = cloexec(1);
        });
        assert_eq!(seen, (link(fd.as_raw_fd()), false, true));

        // A child's stream: a copy in the child, ours untouched.
        let mut child = Command::new(c"/bin/true")
            .stdin(Stdio::Fd(fd))
            .stdout(Stdio::Fd(fd))
            .stderr(Stdio::Null)
            .spawn()
            .unwrap();
        assert!(child.wait().unwrap().success());
        let mut child = Command::new(c"/bin/true")
            .stdout(Stdio::Pipe)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        assert_eq!(io::read_full(&out, &mut buf), Ok(0));
        drop(out);
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(sigfd.read().err(), Some(Errno::EAGAIN));
    assert_eq!(timer.wait(), Err(Errno::EAGAIN));

    assert_eq!(link(t), "anon_inode:[timerfd]", "the timer's {t}");
    assert_eq!(link(s), "anon_inode:[signalfd]", "the signalfd's {s}");
    assert!(cloexec(t) && cloexec(s), "close-on-exec lost");
    assert_eq!(timer.get().unwrap().interval, ODD, "not the same timer");
    assert_eq!(sigmask(s), mask, "not the same signal set");
    // And their numbers close with them, once.
    drop((timer, sigfd));
    assert!(link(t).starts_with('(') && link(s).starts_with('('));
}
