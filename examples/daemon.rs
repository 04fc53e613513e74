//! `daemon [--period MS] [--threshold N] [--config FILE] [--verbose] SENSOR_FILE
//! [--command PROG ARG...]`: a small daemon on one `tinyrt::event::Poll`, the scenario of
//! issue 27. Every period (an `Interval` registered with `add_interval`, missed ticks
//! skipped) it reads an integer from SENSOR_FILE (as from
//! `/sys/class/thermal/thermal_zone0/temp`). When a reading goes above the threshold (the
//! one before was not above the threshold of its time) it runs the command, unless the one
//! it started last is still running: the `Child` joins the same wait (`add_child`), so the
//! schedule never waits for it. `--command` takes the rest of the arguments. Defaults: a
//! period of 100 ms, a threshold of 50000 (50 °C in millidegrees).
//!
//! Signals are read in the same wait (`add_signals`: blocked, through a signalfd):
//! SIGUSR1 prints a summary of the readings, SIGHUP reads FILE again (`--config`: lines
//! `threshold=N` and `period=MS`, each optional), SIGTERM and SIGINT stop it (exit 0).
//!
//! Every line says when its event was seen (`at NS`: CLOCK_MONOTONIC in nanoseconds, read
//! once per wake, from the vDSO), so that a test can time the loop:
//!
//! ```text
//! start pid=P period_ms=M threshold=T at NS
//! sample V at NS                      (with --verbose)
//! sensor error ENOENT at NS           (unreadable, or not an integer: EINVAL)
//! cross V threshold=T at NS           (then `spawn PID at NS`, `busy PID at NS` or
//!                                      `spawn error E at NS`)
//! child PID exited CODE at NS         (or `child PID killed SIGNAME at NS`)
//! summary samples=N min=A max=B last=C at NS   (`-` for no reading yet)
//! reload threshold=T period_ms=M at NS         (or `reload error E at NS`)
//! stop SIGTERM from PID at NS         (the last line)
//! ```
//!
//! Two more modes, for the tests and `scripts/report`:
//! - `daemon exit CODE [DELAY_MS]`: sleeps DELAY_MS, prints `exiting CODE at NS` and exits
//!   with CODE: a command whose exit time the daemon's `child` line can be compared with.
//! - `daemon ticks PERIOD_US COUNT IDLE_FDS`: registers the read ends of IDLE_FDS pipes
//!   (their write ends kept open: never readable), then waits for COUNT ticks of an
//!   `Interval` (the first a period after the start, missed ticks fired late: the schedule
//!   is start + k·period) and prints one line: `summary ticks=N period_ns=P idle_fds=F
//!   waits=W other=O min_ns=.. median_ns=.. p99_ns=.. max_ns=.. last_ns=.. drift_ns=..
//!   off_schedule=S`: how late each tick was seen (now - due; negative if early), `drift_ns` the last tick's
//!   due time against start + COUNT·period, `off_schedule` the ticks whose due time was not
//!   start + k·period, `waits` the calls to `wait`, `other` events that were not ticks.
//!   `scripts/compare/ticks.c` is the same in C.
//!
//! A sensor file named `ticks` or `exit` is given as `./ticks`.
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::time::Duration;
use tinyrt::Errno;
use tinyrt::event::{Event, Interest, Kind, Poll, Token};
use tinyrt::fd::OwnedFd;
use tinyrt::process::{self, Command, ExitStatus};
use tinyrt::signal::{SigSet, Signal};
use tinyrt::time::{self, ClockId, Interval, MissedTicks};
use tinyrt::{eprintln, println};

tinyrt::main!(main);

const TICK: Token = Token(0);
const SIGNALS: Token = Token(1);
const CHILD: Token = Token(2);

fn main(args: tinyrt::env::Args) -> i32 {
    let mut rest = args;
    rest.next();
    match rest.clone().next().map(CStr::to_bytes) {
        Some(b"ticks") => {
            rest.next();
            ticks_mode(rest)
        }
        Some(b"exit") => {
            rest.next();
            exit_mode(rest)
        }
        _ => match Options::parse(rest) {
            Ok(o) => run(o),
            Err(problem) => usage(problem),
        },
    }
}

fn usage(problem: &str) -> i32 {
    eprintln!("daemon: {problem}");
    eprintln!(
        "usage: daemon [--period MS] [--threshold N] [--config FILE] [--verbose] SENSOR_FILE \
         [--command PROG ARG...]\n       daemon ticks PERIOD_US COUNT IDLE_FDS\n       \
         daemon exit CODE [DELAY_MS]"
    );
    2
}

/// CLOCK_MONOTONIC in nanoseconds (the vDSO: no system call).
fn now_ns() -> i128 {
    time::clock_gettime(ClockId::MONOTONIC).map_or(0, |t| t.as_nanos())
}

/// A decimal integer, optionally signed, with surrounding ASCII white space.
fn parse_int(b: &[u8]) -> Option<i64> {
    core::str::from_utf8(b).ok()?.trim().parse().ok()
}

fn errno_name(e: Errno) -> &'static str {
    e.name().unwrap_or("E?")
}

/// What the command line and the configuration file say.
struct Options {
    period_ms: u64,
    threshold: i64,
    config: Option<&'static CStr>,
    verbose: bool,
    sensor: &'static CStr,
    command: Option<Command<'static>>,
}

impl Options {
    fn parse(mut args: tinyrt::env::Args) -> Result<Options, &'static str> {
        let (mut period_ms, mut threshold, mut config) = (100, 50_000, None);
        let (mut verbose, mut sensor, mut command) = (false, None, None);
        while let Some(a) = args.next() {
            match a.to_bytes() {
                b"--period" => {
                    period_ms = args
                        .next()
                        .and_then(|v| parse_int(v.to_bytes()))
                        .and_then(|v| u64::try_from(v).ok())
                        .filter(|&v| v > 0)
                        .ok_or("--period takes a positive number of milliseconds")?
                }
                b"--threshold" => {
                    threshold = args
                        .next()
                        .and_then(|v| parse_int(v.to_bytes()))
                        .ok_or("--threshold takes an integer")?
                }
                b"--config" => config = Some(args.next().ok_or("--config takes a file")?),
                b"--verbose" => verbose = true,
                b"--command" => {
                    // The rest of the arguments, passed on as they are.
                    let c = Command::from_args(args.clone()).ok_or("--command takes a program")?;
                    command = Some(c);
                    break;
                }
                _ if sensor.is_none() => sensor = Some(a),
                _ => return Err("one SENSOR_FILE only (put --command last)"),
            }
        }
        Ok(Options {
            period_ms,
            threshold,
            config,
            verbose,
            sensor: sensor.ok_or("SENSOR_FILE is needed")?,
            command,
        })
    }

    /// Reads the configuration file (if any) over the current values.
    fn reload(&mut self) -> Result<(), Errno> {
        let Some(path) = self.config else {
            return Ok(());
        };
        let mut buf = [0u8; 512];
        let n = tinyrt::io::read_file(path, &mut buf)?;
        let (mut threshold, mut period_ms) = (self.threshold, self.period_ms);
        for line in buf[..n].split(|&b| b == b'\n') {
            let mut kv = line.splitn(2, |&b| b == b'=');
            let (key, value) = (kv.next().unwrap_or_default(), kv.next());
            let value = value.and_then(parse_int);
            match (key.trim_ascii(), value) {
                (b"", _) => {}
                (b"threshold", Some(v)) => threshold = v,
                (b"period", Some(v)) if v > 0 => period_ms = v as u64,
                _ => return Err(Errno::EINVAL),
            }
        }
        (self.threshold, self.period_ms) = (threshold, period_ms);
        Ok(())
    }
}

/// The readings so far.
#[derive(Default)]
struct Stats {
    samples: u64,
    min: i64,
    max: i64,
    last: Option<i64>,
    /// Whether the last reading was above the threshold of its time.
    above: bool,
}

impl Stats {
    fn add(&mut self, v: i64) {
        if self.last.is_none() {
            (self.min, self.max) = (v, v);
        }
        self.samples += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.last = Some(v);
    }
}

fn schedule(period_ms: u64) -> Result<Interval, Errno> {
    let mut i = Interval::new(Duration::from_millis(period_ms))?;
    // A sampler has no use for a burst of late readings.
    i.set_missed_tick_behavior(MissedTicks::Skip);
    Ok(i)
}

fn run(mut o: Options) -> i32 {
    if let Err(e) = o.reload() {
        eprintln!("daemon: cannot read the configuration: {e}");
        return 1;
    }
    match serve(&mut o) {
        Ok(()) => 0,
        Err((what, e)) => {
            eprintln!("daemon: {what}: {e}");
            1
        }
    }
}

/// The loop: one `wait` per wake, whatever woke it.
fn serve(o: &mut Options) -> Result<(), (&'static str, Errno)> {
    let mut poll: Poll = Poll::new().map_err(|e| ("epoll", e))?;
    let signals = SigSet::of(&[Signal::TERM, Signal::INT, Signal::HUP, Signal::USR1]);
    poll.add_signals(signals, SIGNALS)
        .map_err(|e| ("signals", e))?;
    poll.add_interval(TICK, schedule(o.period_ms).map_err(|e| ("timer", e))?)
        .map_err(|e| ("timer", e))?;
    println!(
        "start pid={} period_ms={} threshold={} at {}",
        process::id(),
        o.period_ms,
        o.threshold,
        now_ns()
    );
    let mut stats = Stats::default();
    let mut running: Option<u32> = None;
    let mut events = [Event::EMPTY; 16];
    loop {
        let n = poll.wait(&mut events, None).map_err(|e| ("wait", e))?;
        let at = now_ns();
        for e in events.iter().take(n) {
            match e.kind() {
                // A reading that goes above the threshold starts the command.
                Kind::Timer { .. } if sample(o, &mut stats, at) => {
                    start_command(o, &mut poll, &mut running, at)
                }
                &Kind::Child { pid, status } => {
                    if running == Some(pid) {
                        running = None;
                    }
                    match status {
                        Ok(s) => report_exit(pid, s, at),
                        Err(e) => println!("child {pid} error {} at {at}", errno_name(e)),
                    }
                }
                Kind::Signal(info) => {
                    let sig = Signal::new(info.signo as i32);
                    let name = sig.and_then(Signal::name).unwrap_or("SIG?");
                    match sig {
                        Some(Signal::USR1) => summary(&stats, at),
                        Some(Signal::HUP) => reload(o, &mut poll, at),
                        _ => {
                            println!("stop {name} from {} at {at}", info.pid);
                            return Ok(());
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// Takes a reading; true when it went above the threshold.
fn sample(o: &Options, stats: &mut Stats, at: i128) -> bool {
    let mut buf = [0u8; 64];
    let v = tinyrt::io::read_file(o.sensor, &mut buf)
        .and_then(|n| parse_int(&buf[..n]).ok_or(Errno::EINVAL));
    let v = match v {
        Ok(v) => v,
        Err(e) => {
            println!("sensor error {} at {at}", errno_name(e));
            return false;
        }
    };
    if o.verbose {
        println!("sample {v} at {at}");
    }
    stats.add(v);
    let was_above = core::mem::replace(&mut stats.above, v > o.threshold);
    if stats.above && !was_above {
        println!("cross {v} threshold={} at {at}", o.threshold);
        return true;
    }
    false
}

/// Starts the command, unless there is none or the last one still runs.
fn start_command(o: &Options, poll: &mut Poll, running: &mut Option<u32>, at: i128) {
    let Some(command) = &o.command else {
        return;
    };
    if let Some(pid) = running {
        println!("busy {pid} at {at}");
        return;
    }
    let started = command.spawn().and_then(|child| {
        let pid = child.id();
        poll.add_child(child, CHILD)
            .map(|()| pid)
            .map_err(|(e, mut child)| {
                // Not watched, so not left behind: ended and reaped now.
                let _ = child.kill();
                let _ = child.wait();
                e
            })
    });
    match started {
        Ok(pid) => {
            *running = Some(pid);
            println!("spawn {pid} at {at}");
        }
        Err(e) => println!("spawn error {} at {at}", errno_name(e)),
    }
}

fn report_exit(pid: u32, s: ExitStatus, at: i128) {
    match (s.code(), s.signal()) {
        (Some(code), _) => println!("child {pid} exited {code} at {at}"),
        (None, Some(sig)) => println!(
            "child {pid} killed {} at {at}",
            sig.name().unwrap_or("SIG?")
        ),
        (None, None) => println!("child {pid} status {} at {at}", s.raw()),
    }
}

fn summary(stats: &Stats, at: i128) {
    match stats.last {
        Some(last) => println!(
            "summary samples={} min={} max={} last={last} at {at}",
            stats.samples, stats.min, stats.max
        ),
        None => println!("summary samples=0 min=- max=- last=- at {at}"),
    }
}

/// SIGHUP: the configuration read again; a new period restarts the schedule.
fn reload(o: &mut Options, poll: &mut Poll, at: i128) {
    let period = o.period_ms;
    if let Err(e) = o.reload() {
        println!("reload error {} at {at}", errno_name(e));
        return;
    }
    if o.period_ms != period {
        poll.remove_timer(TICK);
        let added = schedule(o.period_ms).and_then(|i| poll.add_interval(TICK, i));
        if let Err(e) = added {
            println!("reload error {} at {at}", errno_name(e));
            return;
        }
    }
    println!(
        "reload threshold={} period_ms={} at {at}",
        o.threshold, o.period_ms
    );
}

/// `exit CODE [DELAY_MS]`.
fn exit_mode(mut args: tinyrt::env::Args) -> i32 {
    let mut number = || args.next().and_then(|a| parse_int(a.to_bytes()));
    let Some(code) = number() else {
        return usage("exit takes CODE [DELAY_MS]");
    };
    let delay = number().unwrap_or(0).max(0) as u64;
    if time::sleep(Duration::from_millis(delay)).is_err() {
        return 1;
    }
    println!("exiting {code} at {}", now_ns());
    code as i32
}

/// The most ticks and idle descriptors the `ticks` mode takes.
const MAX_TICKS: usize = 100_000;
const MAX_IDLE: usize = 10_000;

/// `ticks PERIOD_US COUNT IDLE_FDS`.
fn ticks_mode(mut args: tinyrt::env::Args) -> i32 {
    let mut number = || {
        args.next()
            .and_then(|a| parse_int(a.to_bytes()))
            .and_then(|n| usize::try_from(n).ok())
    };
    match (number(), number(), number()) {
        (Some(p), Some(c), Some(i)) if p > 0 && (1..=MAX_TICKS).contains(&c) && i <= MAX_IDLE => {
            match ticks(Duration::from_micros(p as u64), c, i) {
                Ok(()) => 0,
                Err((what, e)) => {
                    eprintln!("daemon ticks: {what}: {e}");
                    1
                }
            }
        }
        _ => usage("ticks takes PERIOD_US (> 0) COUNT (1 to 100000) IDLE_FDS (0 to 10000)"),
    }
}

#[inline(never)]
fn ticks(period: Duration, count: usize, idle: usize) -> Result<(), (&'static str, Errno)> {
    let mut poll: Poll = Poll::new().map_err(|e| ("epoll", e))?;
    let mut ends: [Option<OwnedFd>; 2 * MAX_IDLE] = [const { None }; 2 * MAX_IDLE];
    for (i, pair) in ends.chunks_mut(2).take(idle).enumerate() {
        let (r, w) = process::pipe().map_err(|e| ("pipe", e))?;
        poll.register(&r, Token(1000 + i), Interest::READABLE)
            .map_err(|e| ("register", e))?;
        pair[0] = Some(r);
        pair[1] = Some(w);
    }
    let clock = ClockId::MONOTONIC;
    let start = time::clock_gettime(clock).map_err(|e| ("clock", e))?;
    let first = start
        .checked_add(period)
        .ok_or(("schedule", Errno::EOVERFLOW))?;
    let interval = Interval::starting_at(first, period, clock).map_err(|e| ("timer", e))?;
    poll.add_interval(TICK, interval)
        .map_err(|e| ("timer", e))?;
    let (start, step) = (start.as_nanos(), period.as_nanos() as i128);
    let mut late = [0i64; MAX_TICKS];
    let (mut k, mut waits, mut other, mut off, mut last_due) = (0, 0u64, 0u64, 0u64, start);
    let mut events = [Event::EMPTY; 16];
    while k < count {
        let n = poll.wait(&mut events, None).map_err(|e| ("wait", e))?;
        let at = now_ns();
        waits += 1;
        for e in events.iter().take(n) {
            match e.kind() {
                &Kind::Timer { due } if k < count => {
                    k += 1;
                    let due = due.as_nanos();
                    if due != start + k as i128 * step {
                        off += 1;
                    }
                    // Negative: seen before it was due.
                    late[k - 1] = i64::try_from(at - due).unwrap_or(i64::MAX);
                    last_due = due;
                }
                _ => other += 1,
            }
        }
    }
    let last = late[count - 1];
    let late = &mut late[..count];
    late.sort_unstable();
    let q = |p: usize| late[(count - 1) * p / 100];
    println!(
        "summary ticks={count} period_ns={step} idle_fds={idle} waits={waits} other={other} \
         min_ns={} median_ns={} p99_ns={} max_ns={} last_ns={last} drift_ns={} off_schedule={off}",
        q(0),
        q(50),
        q(99),
        q(100),
        last_due - (start + count as i128 * step)
    );
    drop(ends);
    Ok(())
}
