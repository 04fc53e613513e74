//! Running programs and tools as processes: plain, under strace, and their output.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::build::root;

/// Runs `path` with `args`, stdin closed, and collects its output.
pub fn run<S: AsRef<std::ffi::OsStr>>(path: &Path, args: &[S]) -> Output {
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", path.display()))
}

/// Runs `cmd` (a program and its arguments) under `strace -qq`, tracing only `filter`
/// (`"trace=mprotect"`, ...) or every call, with a log file of its own. Returns the run's
/// output (strace passes on the program's stdout, stderr and exit status) and the log: one
/// line per system call.
pub fn strace<S: AsRef<std::ffi::OsStr>>(cmd: &[S], filter: Option<&str>) -> (Output, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let log = root().join(format!(
        "target/tinyrt-tests/strace-{}-{n}.txt",
        std::process::id()
    ));
    let mut c = Command::new("strace");
    c.args(["-qq", "-o"]).arg(&log);
    if let Some(f) = filter {
        c.args(["-e", f]);
    }
    let out = c
        .args(cmd)
        .stdin(Stdio::null())
        .output()
        .expect("run strace (scripts/test installs what the tests need)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (out, text)
}

/// stdout as text (lossless for the ASCII our examples print).
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Runs a tool nobody here wrote (readelf, strace, ...) and returns its stdout; fails the
/// test with a hint when the tool is missing.
pub fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{name}` ({e}): install it (scripts/test installs what the tests need)")
    });
    assert!(
        out.status.success(),
        "`{name} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
