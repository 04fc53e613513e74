//! The `daemon` example (issue 27's scenario on `tinyrt::event::Poll`) driven as a user
//! would drive it: signals sent with `kill(2)` (glibc), a sensor file and a configuration
//! file written by the test, its command a program whose exit time it prints. Its lines
//! carry the CLOCK_MONOTONIC time at which it saw each event; this test reads the same
//! clock through glibc just before it acts, so the figures are latencies. They are printed
//! (`--nocapture`) and held only to a slack a loaded machine keeps (50 ms): speed is never
//! a timed test here. `strace` shows the loop's shape (one wait per wake, nothing else but
//! the sample's own calls), `daemon ticks` that a 1 ms schedule keeps start + k·period over
//! 5,000 ticks beside 1,000 idle pipes, and the scenario runs on every architecture under
//! qemu-user.

mod common;
// The line reader tests/init.rs uses (not all of it is needed here).
#[allow(dead_code)]
#[path = "common/proc.rs"]
mod proc;

use common::root;
use proc::Proc;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The slack a loaded machine is allowed for what the issue asks to happen within 1 ms.
const SLACK_NS: i128 = 50_000_000;
/// How long any one expected line may take to come (qemu-user on a loaded machine).
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// The release `daemon` example (built with the other examples, once per test process).
fn exe() -> PathBuf {
    common::example(common::Build::Release, "daemon")
}

/// CLOCK_MONOTONIC through glibc, in nanoseconds.
fn mono_ns() -> i128 {
    common::now::host(libc::CLOCK_MONOTONIC)
}

/// The time a line says its event was seen (`... at NS`).
fn at(line: &str) -> i128 {
    line.rsplit_once(" at ")
        .and_then(|(_, t)| t.trim().parse().ok())
        .unwrap_or_else(|| panic!("no time in {line:?}"))
}

/// A scratch directory of this test process's own, removed by its `Drop`.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = root().join(format!(
            "target/tinyrt-tests/daemon-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `text` to `name` whole (a rename), so that the daemon never reads half of it.
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let tmp = self.path(&format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, self.path(name)).unwrap();
        self.path(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running daemon (or a program running it: strace, qemu): `common/proc.rs`'s `Proc`
/// (stdout line by line, bounded in time), the lines seen so far, and the daemon's own pid.
struct Daemon {
    proc: Proc,
    seen: Vec<String>,
    /// The daemon's own process id, from its `start` line.
    pid: i32,
}

impl Daemon {
    fn start(mut cmd: Command) -> Daemon {
        cmd.stdin(Stdio::null());
        let mut d = Daemon {
            proc: Proc::spawn(cmd, "the daemon"),
            seen: Vec::new(),
            pid: 0,
        };
        let start = d.line(|l| l.starts_with("start pid="), "the start line");
        d.pid = start["start pid=".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        d
    }

    /// The next line that `want` accepts (the lines before it are kept in `seen`); fails
    /// the test, showing what came, when none comes in time.
    fn line(&mut self, want: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + LINE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(l) = self.proc.try_line(left.as_secs_f64()) else {
                panic!(
                    "{what}: no such line in time, or the daemon ended; got:\n{}",
                    self.text()
                )
            };
            self.seen.push(l.clone());
            if want(&l) {
                return l;
            }
        }
    }

    fn text(&self) -> String {
        self.seen.join("\n")
    }

    /// Sends `sig` to the daemon; the CLOCK_MONOTONIC time just before.
    fn signal(&self, sig: i32) -> i128 {
        let t = mono_ns();
        // SAFETY: kill takes no pointers; the pid is our child's (or its traced program's).
        assert_eq!(unsafe { libc::kill(self.pid, sig) }, 0, "kill {}", self.pid);
        t
    }

    /// Waits for it to end (10 s at most): its exit code, and every line it printed.
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let status = self.proc.wait();
        while let Some(l) = self.proc.try_line(5.0) {
            self.seen.push(l);
        }
        (status.code(), std::mem::take(&mut self.seen))
    }

    /// SIGTERM, then the end: exit 0 with the `stop` line last.
    fn stop(self) -> Vec<String> {
        let me = std::process::id();
        self.signal(libc::SIGTERM);
        let (code, seen) = self.finish();
        let last = seen.last().cloned().unwrap_or_default();
        assert!(
            code == Some(0) && last.starts_with(&format!("stop SIGTERM from {me} at ")),
            "exit {code:?}; lines:\n{}",
            seen.join("\n")
        );
        seen
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed test must not leave the daemon running under strace or qemu (`Proc`
        // kills what it started).
        if self.pid > 0 {
            // SAFETY: kill takes no pointers.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}

fn daemon(args: &[&str]) -> Command {
    let mut c = Command::new(exe());
    c.args(args);
    c
}

fn median(v: &mut [i128]) -> i128 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[test]
fn sigterm_is_seen_at_once_while_the_period_is_two_seconds() {
    let dir = Scratch::new("term");
    let sensor = dir.write("temp", "42000\n");
    let me = std::process::id();
    let mut took = Vec::new();
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"); 5]
        .into_iter()
        .chain([(libc::SIGINT, "SIGINT")])
    {
        let mut d = Daemon::start(daemon(&["--period", "2000", sensor.to_str().unwrap()]));
        // The first sample is due at once; then the loop waits up to 2 s for the next.
        std::thread::sleep(Duration::from_millis(300));
        let sent = d.signal(sig);
        let line = d.line(|l| l.starts_with("stop "), "the stop line");
        assert!(
            line.starts_with(&format!("stop {name} from {me} at ")),
            "{line}"
        );
        let latency = at(&line) - sent;
        let (code, seen) = d.finish();
        assert_eq!(code, Some(0), "{seen:?}");
        assert_eq!(seen.last(), Some(&line), "the stop line is the last");
        println!("{name} seen {latency} ns after it was sent (2 s period)");
        assert!(
            (0..SLACK_NS).contains(&latency),
            "{name} seen {latency} ns after kill: {seen:?}"
        );
        took.push(latency);
    }
    println!(
        "signal to stop line: median {} ns of {} runs",
        median(&mut took),
        took.len()
    );
}

#[test]
fn a_commands_exit_is_reported_at_once_with_its_code() {
    let dir = Scratch::new("child");
    // Above the threshold from the first sample: the command starts at once.
    let sensor = dir.write("temp", "61000\n");
    let exe = exe();
    let mut took = Vec::new();
    for (code, delay) in [(7, "300"), (0, "200"), (255, "200")] {
        let code_s = code.to_string();
        let d = daemon(&[
            "--period",
            "2000",
            "--threshold",
            "60000",
            sensor.to_str().unwrap(),
            "--command",
            exe.to_str().unwrap(),
            "exit",
            &code_s,
            delay,
        ]);
        let mut d = Daemon::start(d);
        d.line(
            |l| l.starts_with("cross 61000 threshold=60000 at "),
            "the crossing",
        );
        let spawn = d.line(|l| l.starts_with("spawn "), "the spawn line");
        let pid: u32 = spawn.split_whitespace().nth(1).unwrap().parse().unwrap();
        let exiting = d.line(|l| l.starts_with("exiting "), "the command's last line");
        assert_eq!(exiting, format!("exiting {code} at {}", at(&exiting)));
        let exited = d.line(|l| l.starts_with("child "), "the child line");
        assert_eq!(
            exited,
            format!("child {pid} exited {code} at {}", at(&exited)),
            "{}",
            d.text()
        );
        let latency = at(&exited) - at(&exiting);
        println!("exit {code}: reported {latency} ns after the command's last clock read");
        assert!(
            (0..SLACK_NS).contains(&latency),
            "{latency} ns:\n{}",
            d.text()
        );
        took.push(latency);
        d.stop();
    }
    println!(
        "command exit to child line: median {} ns",
        median(&mut took)
    );

    // Killed by a signal, and reaped without holding up the schedule: samples every 50 ms
    // go on while the command runs, and a second crossing then starts no second command.
    let d = daemon(&[
        "--period",
        "50",
        "--threshold",
        "60000",
        "--verbose",
        sensor.to_str().unwrap(),
        "--command",
        "/bin/sleep",
        "30",
    ]);
    let mut d = Daemon::start(d);
    let spawn = d.line(|l| l.starts_with("spawn "), "the spawn line");
    let pid: i32 = spawn.split_whitespace().nth(1).unwrap().parse().unwrap();
    for _ in 0..5 {
        d.line(
            |l| l.starts_with("sample 61000 at "),
            "a sample while it runs",
        );
    }
    // Down and up again while it runs: a crossing, but no second command.
    dir.write("temp", "100\n");
    d.line(|l| l.starts_with("sample 100 at "), "the lower reading");
    dir.write("temp", "61000\n");
    d.line(|l| l.starts_with("cross 61000 "), "the second crossing");
    let busy = d.line(|l| l.starts_with("busy "), "the busy line");
    assert!(busy.starts_with(&format!("busy {pid} at ")), "{busy}");
    assert!(!d.text().contains("child "), "{}", d.text());
    // SAFETY: kill takes no pointers; pid is the daemon's child, not reaped yet (no child line).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let killed = d.line(|l| l.starts_with("child "), "the child line");
    assert_eq!(
        killed,
        format!("child {pid} killed SIGKILL at {}", at(&killed))
    );
    d.stop();
}

#[test]
fn usr1_summarises_the_readings_and_hup_reloads_the_configuration() {
    let dir = Scratch::new("summary");
    let sensor = dir.write("temp", "10\n");
    let config = dir.write("config", "threshold=1000\n");
    let mut d = Daemon::start(daemon(&[
        "--period",
        "20",
        "--config",
        config.to_str().unwrap(),
        "--verbose",
        sensor.to_str().unwrap(),
    ]));
    assert!(d.text().contains(" threshold=1000 at "), "{}", d.text());
    // Nothing read yet is a summary of nothing only if it comes first: do not rely on it.
    for v in [10, 30, 20] {
        dir.write("temp", &format!("{v}\n"));
        d.line(
            |l| l.starts_with(&format!("sample {v} at ")),
            "the new reading",
        );
    }
    // An unreadable reading is reported and not counted.
    dir.write("temp", "warm\n");
    d.line(
        |l| l.starts_with("sensor error EINVAL at "),
        "the bad reading",
    );
    dir.write("temp", "20\n");
    d.line(|l| l.starts_with("sample 20 at "), "the reading");
    let check = |d: &mut Daemon| {
        d.signal(libc::SIGUSR1);
        let line = d.line(|l| l.starts_with("summary "), "the summary");
        let values: Vec<i64> = d
            .seen
            .iter()
            .filter_map(|l| l.strip_prefix("sample "))
            .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
            .collect();
        let want = format!(
            "summary samples={} min={} max={} last={} at {}",
            values.len(),
            values.iter().min().unwrap(),
            values.iter().max().unwrap(),
            values.last().unwrap(),
            at(&line)
        );
        assert_eq!(line, want, "{}", d.text());
    };
    check(&mut d);
    assert!(!d.text().contains("cross"), "{}", d.text());

    // A new threshold below the reading: the next sample crosses it.
    dir.write("config", "threshold=15\nperiod=30\n");
    d.signal(libc::SIGHUP);
    d.line(
        |l| l.starts_with("reload threshold=15 period_ms=30 at "),
        "the reload",
    );
    d.line(
        |l| l.starts_with("cross 20 threshold=15 at "),
        "the crossing",
    );
    // A configuration it cannot read is refused, and the old one stays.
    dir.write("config", "threshold=hot\n");
    d.signal(libc::SIGHUP);
    d.line(|l| l.starts_with("reload error EINVAL at "), "the refusal");
    dir.write("temp", "12\n");
    d.line(|l| l.starts_with("sample 12 at "), "the reading");
    dir.write("temp", "16\n");
    d.line(
        |l| l.starts_with("cross 16 threshold=15 at "),
        "a crossing of 15",
    );
    check(&mut d);
    d.stop();
}

/// The first 80 lines of a strace log, for a failure's message.
fn excerpt(text: &str) -> String {
    text.lines().take(80).collect::<Vec<_>>().join("\n")
}

/// The system call's name on a line of `strace -f` (`PID name(...`), without `<... name
/// resumed>` halves.
fn call_name(line: &str) -> Option<&str> {
    let rest = line.split_once(' ').map_or(line, |(_, r)| r).trim_start();
    if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
        return None;
    }
    rest.split_once('(').map(|(n, _)| n)
}

#[test]
fn strace_shows_one_wait_per_wake_and_only_the_samples_calls() {
    let dir = Scratch::new("strace");
    let sensor = dir.write("temp", "30000\n");
    let log = dir.path("strace.txt");
    let mut c = Command::new("strace");
    c.args(["-f", "-qq", "-e", "trace=all", "-o"])
        .arg(&log)
        .arg(exe())
        .args(["--period", "20", sensor.to_str().unwrap()]);
    let d = Daemon::start(c);
    // About 20 periods of 20 ms in steady state.
    std::thread::sleep(Duration::from_millis(420));
    d.stop();
    let text = std::fs::read_to_string(&log).expect("strace's log");
    let calls: Vec<&str> = text.lines().filter_map(call_name).collect();
    let from = calls
        .iter()
        .position(|c| c.starts_with("epoll_pwait"))
        .unwrap_or_else(|| panic!("no epoll wait:\n{}", excerpt(&text)));
    let wait = calls[from];
    assert!(
        wait == "epoll_pwait" || wait == "epoll_pwait2",
        "{wait}:\n{}",
        excerpt(&text)
    );
    // Between two waits: a sample (openat, read until the end, close), or on a machine so
    // loaded that the next tick was due before the loop asked, more than one (they need
    // no wait); never nothing (a wake for nothing) and nothing else. After the last wait,
    // what SIGTERM brings (the signalfd's read, the stop line).
    let mut segments: Vec<Vec<&str>> = vec![Vec::new()];
    for &c in &calls[from + 1..] {
        if c == wait {
            segments.push(Vec::new());
        } else {
            segments.last_mut().unwrap().push(c);
        }
    }
    let last = segments.pop().unwrap();
    let wakes = segments.len();
    assert!(wakes >= 10, "{wakes} wakes in 420 ms:\n{}", excerpt(&text));
    let mut samples = 0;
    for (i, s) in segments.iter().enumerate() {
        let mut rest = &s[..];
        let mut n = 0;
        while let ["openat", tail @ ..] = rest {
            let reads = tail.iter().take_while(|&&c| c == "read").count();
            match tail.get(reads) {
                Some(&"close") if (1..=2).contains(&reads) => rest = &tail[reads + 1..],
                _ => break,
            }
            n += 1;
        }
        assert!(
            n >= 1 && rest.is_empty(),
            "wake {i} made {s:?}, not a sample's calls:\n{}",
            excerpt(&text)
        );
        samples += n;
    }
    for c in &calls[from..] {
        assert!(
            !c.starts_with("clock_") && !c.contains("sleep") && !c.starts_with("timerfd"),
            "{c} in steady state:\n{}",
            excerpt(&text)
        );
    }
    assert!(last.contains(&"write"), "{last:?}");
    println!(
        "{wakes} wakes of {wait} for {samples} samples (openat, read, close each); after the last: {last:?}"
    );
}

/// Raises this process's (hence its children's) descriptor limit to `n` if the hard limit
/// allows: 1,000 idle pipes are 2,000 descriptors.
fn at_least_descriptors(n: u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: r is ours.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    if r.rlim_cur < n {
        assert!(
            r.rlim_max >= n,
            "RLIMIT_NOFILE's hard limit {} < {n}",
            r.rlim_max
        );
        r.rlim_cur = n;
        // SAFETY: r is ours.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
    }
}

/// `daemon ticks`'s summary line as (name, value) pairs.
fn summary(out: &std::process::Output) -> std::collections::BTreeMap<String, i128> {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{:?} {text}", out.status);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("summary "))
        .unwrap_or_else(|| panic!("no summary: {text}"));
    line.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn a_millisecond_schedule_beside_a_thousand_idle_pipes_keeps_every_tick() {
    at_least_descriptors(4096);
    let out = daemon(&["ticks", "1000", "5000", "1000"]).output().unwrap();
    let s = summary(&out);
    println!("{s:?}");
    // Every tick counted, each due exactly at start + k·period, the last one at start +
    // 5,000 periods: no drift, whatever the lateness.
    assert_eq!(s["ticks"], 5000);
    assert_eq!(s["idle_fds"], 1000);
    assert_eq!(s["off_schedule"], 0, "{s:?}");
    assert_eq!(s["drift_ns"], 0, "{s:?}");
    assert_eq!(s["other"], 0, "an idle pipe woke the loop: {s:?}");
    // Never seen before it was due; no wait without a tick to show for it (late ticks
    // come together, in fewer waits); the last one not far behind.
    assert!(s["min_ns"] >= 0, "a tick seen early: {s:?}");
    assert!(s["waits"] <= 5000, "a busy loop: {s:?}");
    assert!(s["last_ns"] < 1_000_000_000, "{s:?}");
}

#[path = "daemon/arches.rs"]
mod arches;
