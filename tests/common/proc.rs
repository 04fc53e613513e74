//! Processes a test starts and watches (tests/init.rs): their output line by line within a
//! time limit, their process groups killed at the end (never our own), and their state and
//! children read from /proc.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// A running process whose stdout arrives line by line and whose stderr is collected, all
/// bounded in time. Dropping it kills what is left: the process and `group`.
pub struct Proc {
    pub child: Child,
    lines: Receiver<String>,
    stderr: Receiver<String>,
    /// A process group of the child's own (init's child's), killed at the end.
    pub group: Option<i32>,
    what: String,
}

impl Proc {
    pub fn spawn(mut cmd: Command, what: &str) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: spawn: {e}"));
        let (tx, lines) = channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let (tx, stderr) = channel();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            let _ = tx.send(s);
        });
        Proc {
            child,
            lines,
            stderr,
            group: None,
            what: what.to_owned(),
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next line of stdout, within `secs` seconds; `None` at its end or on time-out.
    pub fn try_line(&self, secs: f64) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs_f64(secs)).ok()
    }

    pub fn line(&self) -> String {
        self.try_line(10.0)
            .unwrap_or_else(|| panic!("{}: no line on stdout within 10 s", self.what))
    }

    /// The number after `prefix` on the next line (`ready 1234`).
    pub fn number(&self, prefix: &str) -> i32 {
        let l = self.line();
        l.strip_prefix(prefix)
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: `{prefix}N` expected, got {l:?}", self.what))
    }

    pub fn wait(&mut self) -> ExitStatus {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < end,
                "{}: still running after 10 s",
                self.what
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the end; the exit code (`None` when killed by a signal) and stderr.
    pub fn finish(&mut self) -> (Option<i32>, String) {
        let code = self.wait().code();
        let err = self.stderr.recv_timeout(Duration::from_secs(5));
        (code, err.unwrap_or_default())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // SAFETY: getpgrp takes no pointers.
        let ours = unsafe { libc::getpgrp() };
        if let Some(g) = self.group.filter(|&g| g > 1 && g != ours) {
            // SAFETY: kill takes no pointers; `g` is a process group that we started, and
            // not our own (the test runner's and CI's), which `group_of` and the filter keep.
            unsafe { libc::kill(-g, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The process group `pid` moved into, once it left ours: init puts its child into a group
/// of its own after the fork, so reading it at once may see ours, and killing that group would
/// kill the test runner and CI with it (a CI run ended with exit 137 that way).
pub fn group_of(pid: i32) -> i32 {
    // SAFETY: getpgrp takes no pointers.
    let ours = unsafe { libc::getpgrp() };
    let mut g = -1;
    let moved = within(5.0, || {
        // SAFETY: getpgid takes no pointers.
        g = unsafe { libc::getpgid(pid) };
        g > 1 && g != ours
    });
    assert!(
        moved,
        "process {pid} is still in our process group ({g}) after 5 s"
    );
    g
}

pub fn kill(pid: i32, sig: i32) {
    // SAFETY: kill takes no pointers; `pid` is a process this test started.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill {pid} {sig}");
}

/// `pid`'s state letter and parent, from /proc/PID/stat; `None` when it is gone.
pub fn stat(pid: i32) -> Option<(char, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything: fields follow the last `)`.
    let mut f = s.get(s.rfind(')')? + 2..)?.split(' ');
    let state = f.next()?.chars().next()?;
    Some((state, f.next()?.parse().ok()?))
}

/// Every process whose parent is `parent`, with its state.
pub fn children_of(parent: i32) -> Vec<(i32, char)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            stat(pid)
                .filter(|&(_, pp)| pp == parent)
                .map(|(s, _)| (pid, s))
        })
        .collect()
}

/// Dead: gone from /proc, or a zombie waiting for a parent that is not ours to be.
pub fn gone(pid: i32) -> bool {
    stat(pid).is_none_or(|(s, _)| s == 'Z')
}

/// Polls `cond` every 5 ms for up to `secs` seconds.
pub fn within(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
