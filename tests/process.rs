//! `tinyrt::process` through the `run` example, judged by tools nobody here wrote (strace,
//! /proc, the shell, coreutils): exit codes and signals, start failures (ENOENT, EACCES,
//! ENOEXEC) with no child left behind, the `PATH` search (EACCES remembered, a later entry
//! run), a piped stdout, changed environments, working directory and stdin, `exec`; under
//! `strace -f`, a `clone(CLONE_VM|CLONE_VFORK)` whose child makes only the allowed system
//! calls before its execve; no zombie after a child is killed (seen in /proc while `run`
//! still lives); release and static-PIE builds natively, and every other architecture.

mod common;

use common::{Build, example, stdout, strace};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The `PATH` `run` gets; the rest of its environment is `HOME` and `KEEP=1`.
const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Cases for every architecture, one a line: `ARGS => CODE: OUTPUT` (in ARGS, `'...'` is
/// one word; in OUTPUT, `; ` separates `run`'s lines).
const PORTABLE: &str = "
    /bin/true => 0: spawned; exit 0; children none
    /bin/false => 1: spawned; exit 1; children none
    sh -c 'kill -KILL $$' => 137: spawned; signal 9; children none
    /nonexistent/x => 127: error ENOENT; children none
    no-such-program-xyz => 127: error ENOENT; children none
    --pipe --cwd /tmp --env X=y sh -c 'echo $X $PWD' => 0: spawned; stdout 7 bytes: y /tmp; \
        exit 0; children none
";

/// More cases, natively.
const NATIVE: &str = "
    true => 0: spawned; exit 0; children none
    sh -c 'exit 42' => 42: spawned; exit 42; children none
    sh -c 'kill -TERM $$' => 143: spawned; signal 15; children none
    --pipe echo hello => 0: spawned; stdout 6 bytes: hello; exit 0; children none
    --cwd /tmp --pipe pwd => 0: spawned; stdout 5 bytes: /tmp; exit 0; children none
    --cwd /nonexistent-dir /bin/true => 127: error ENOENT; children none
    --env FOO=bar --pipe sh -c 'echo $FOO $KEEP' => 0: spawned; stdout 6 bytes: bar 1; \
        exit 0; children none
    --pipe sh -c 'echo ${HOME-unset}' => 0: spawned; stdout 13 bytes: /home-of-run; exit 0; \
        children none
    --unset HOME --pipe sh -c 'echo ${HOME-unset} $KEEP' => 0: spawned; stdout 8 bytes: \
        unset 1; exit 0; children none
    --clear-env --env A=1 --pipe /usr/bin/env => 0: spawned; stdout 4 bytes: A=1; exit 0; \
        children none
    --clear-env --env A=1 --env B=x --env B=y --unset A --pipe /usr/bin/env => 0: spawned; \
        stdout 4 bytes: B=y; exit 0; children none
    --exec echo hi => 0: hi
    --exec /nonexistent/x => 127: error ENOENT
";

/// The cases of a table like `PORTABLE`: (arguments, exit code, output).
fn cases(table: &str) -> Vec<(Vec<String>, i32, String)> {
    let case = |line: &str| {
        let (args, rest) = line.split_once(" => ").unwrap();
        let (code, out) = rest.split_once(": ").unwrap();
        let words = |(i, w): (usize, &str)| match i % 2 {
            0 => w.split_whitespace().map(str::to_owned).collect(),
            _ => vec![w.to_owned()],
        };
        let args = args.split('\'').enumerate().flat_map(words).collect();
        (args, code.parse().unwrap(), out.to_owned())
    };
    table
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(case)
        .collect()
}

/// How a run of `run` ended: its exit code (128 + N after signal N) and output.
struct Ran {
    code: i32,
    out: String,
    stderr: String,
}

impl Ran {
    #[track_caller]
    fn is(&self, code: i32, out: &str, what: &str) {
        let (c, o, e) = (self.code, &self.out, &self.stderr);
        assert!(
            c == code && o == out,
            "{what}: expected {code} `{out}`, got {c} `{o}` {e}"
        );
    }
}

/// `cmd` (the `run` example, natively or under qemu) with `args`, in a known environment.
fn with_args<S: AsRef<std::ffi::OsStr>>(mut cmd: Command, args: &[S]) -> Command {
    cmd.args(args).env_clear().env("PATH", PATH);
    cmd.env("HOME", "/home-of-run").env("KEEP", "1");
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs `cmd` in a process group of its own, killed (with all it started) after 30 s.
fn finish(mut cmd: Command) -> Ran {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.process_group(0).spawn().expect("start run");
    let pid = child.id() as i32;
    let (done, wait) = std::sync::mpsc::channel::<()>();
    let dog = std::thread::spawn(move || {
        if wait.recv_timeout(Duration::from_secs(30)).is_err() {
            // SAFETY: kill takes no pointers; the group is our child's, not yet reaped.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done.send(());
    dog.join().unwrap();
    let s = out.status;
    Ran {
        code: s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
        out: stdout(&out).lines().collect::<Vec<_>>().join("; "),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn go<S: AsRef<std::ffi::OsStr>>(cmd: Command, args: &[S]) -> Ran {
    finish(with_args(cmd, args))
}

#[test]
fn statuses_errors_environment_cwd_and_exec() {
    let all = [cases(PORTABLE), cases(NATIVE)].concat();
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "run");
        for (args, code, out) in &all {
            go(Command::new(&exe), args).is(*code, out, &format!("{b:?} {args:?}"));
        }
    }
}

/// A directory of its own for `tag`: `ro/prog` (mode 0644), `ok/prog` (a script printing
/// `from-ok`), `garbage` (mode 0755, not a program).
fn files(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tinyrt-process-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, mode, text) in [
        ("ro/prog", 0o644, &b"#!/bin/sh\necho from-ro\n"[..]),
        ("ok/prog", 0o755, b"#!/bin/sh\necho from-ok\n"),
        ("garbage", 0o755, b"\x01\x02\x03 not a program\n"),
    ] {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dir
}

#[test]
fn files_that_cannot_run_and_the_path_search() {
    let dir = files("path");
    let d = |p: &str| dir.join(p).to_str().unwrap().to_owned();
    let ok = "spawned; stdout 8 bytes: from-ok; exit 0; children none";
    let eacces = "error EACCES; children none";
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "run");
        let what = |w: &str| format!("{b:?} {w}");
        go(Command::new(&exe), &[d("ro/prog")]).is(126, eacces, &what("mode 0644"));
        // Neither ELF nor `#!`: through /bin/sh, as std's Command (glibc's execvp) runs it.
        let std_code = Command::new(d("garbage"))
            .env_clear()
            .output()
            .unwrap()
            .status
            .code();
        let sh_code = std_code.expect("std: the shell's exit code");
        assert_ne!(sh_code, 0);
        let by_sh = format!("spawned; exit {sh_code}; children none");
        go(Command::new(&exe), &[d("garbage")]).is(sh_code, &by_sh, &what("garbage"));
        let abs = ["--pipe", &d("ok/prog")];
        go(Command::new(&exe), &abs).is(0, ok, &what("absolute"));
        let cwd = ["--cwd", &d("ok"), "--pipe", "./prog"];
        go(Command::new(&exe), &cwd).is(0, ok, &what("relative to --cwd"));
        // `run`'s own PATH is searched: an entry whose file is not executable (EACCES)
        // before a good one does not stop the search, and is the error when none runs.
        for (path, code, out) in [
            (d("ok"), 0, ok),
            (format!("{}:{}", d("ro"), d("ok")), 0, ok),
            (format!("/nonexistent-dir:{}", d("ro")), 126, eacces),
            (d("ro"), 126, eacces),
            (format!("/nonexistent-dir:/dev/null:{}", d("ok")), 0, ok),
        ] {
            let mut cmd = with_args(Command::new(&exe), &["--pipe", "prog"]);
            cmd.env("PATH", &path);
            finish(cmd).is(code, out, &what(&format!("PATH={path}")));
        }
        // An empty entry is the current directory.
        let mut cmd = with_args(Command::new(&exe), &["--pipe", "prog"]);
        cmd.env("PATH", "/nonexistent-dir:").current_dir(d("ok"));
        finish(cmd).is(0, ok, &what("PATH with an empty entry"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn null_stdin_reads_end_of_file_at_once() {
    let script = ["--pipe", "sh", "-c", "cat; echo done"];
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "run");
        // The control: our stdin is inherited, and read to its end.
        let (r, mut w) = std::io::pipe().unwrap();
        w.write_all(b"abc").unwrap();
        drop(w);
        let mut cmd = with_args(Command::new(&exe), &script);
        cmd.stdin(r);
        let want = "spawned; stdout 8 bytes: abcdone; exit 0; children none";
        finish(cmd).is(0, want, &format!("{b:?} inherited stdin"));
        // Our stdin stays open and empty: only /dev/null lets `cat` end (else the
        // watchdog kills it all and the output differs).
        let (r, w) = std::io::pipe().unwrap();
        let mut cmd = with_args(Command::new(&exe), &["--null-stdin"]);
        cmd.args(script).stdin(r);
        let want = "spawned; stdout 5 bytes: done; exit 0; children none";
        finish(cmd).is(0, want, &format!("{b:?} --null-stdin"));
        drop(w);
    }
}

/// One system call of an `strace -f` log: its name, its result ("0", "-1 ENOENT (...)",
/// "?"; empty while unfinished) and its text.
#[derive(Debug)]
struct Call {
    name: String,
    ret: String,
    text: String,
}

/// An `strace -f` log's calls by pid, in order, unfinished calls joined to their resumption.
fn by_pid(log: &str) -> BTreeMap<u32, Vec<Call>> {
    let mut m: BTreeMap<u32, Vec<Call>> = BTreeMap::new();
    for line in log.lines() {
        let (pid, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        let pid: u32 = pid.parse().unwrap_or_else(|_| panic!("{line}\n{log}"));
        let rest = rest.trim_start();
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let ret = match rest.rsplit_once(" = ") {
            Some((_, r)) if !rest.ends_with("<unfinished ...>") => r.trim().to_owned(),
            _ => String::new(),
        };
        let calls = m.entry(pid).or_default();
        let Some(resumed) = rest.strip_prefix("<... ") else {
            let name = rest.split('(').next().unwrap().to_owned();
            let text = rest.to_owned();
            calls.push(Call { name, ret, text });
            continue;
        };
        let name = resumed.split(' ').next().unwrap();
        let open = |c: &&mut Call| c.name == name && c.ret.is_empty();
        let c = calls.iter_mut().rev().find(open);
        let c = c.unwrap_or_else(|| panic!("resumed, never started: {line}\n{log}"));
        c.ret = ret;
        c.text.push_str(resumed);
    }
    m
}

/// The calls of the child of `run`'s one clone in `log`, which must be vfork-like (the
/// first pid of the log is `run`'s).
fn vfork_child(log: &str, what: &str) -> Vec<Call> {
    let mut m = by_pid(log);
    let parent = *m.keys().next().expect("an empty log");
    let forks = ["clone", "clone3", "vfork", "fork"];
    let mut clones = m[&parent]
        .iter()
        .filter(|c| forks.contains(&c.name.as_str()));
    let c = clones
        .next()
        .unwrap_or_else(|| panic!("{what}: no clone\n{log}"));
    assert!(clones.next().is_none(), "{what}: two clones\n{log}");
    let flags = c.text.contains("CLONE_VM") && c.text.contains("CLONE_VFORK");
    assert!(
        c.name == "vfork" || flags,
        "{what}: not CLONE_VM|CLONE_VFORK: {c:?}"
    );
    let child: u32 = c.ret.parse().unwrap_or_else(|_| panic!("{what}: {c:?}"));
    assert_eq!(
        m.len(),
        2,
        "{what}: other processes than run and its child\n{log}"
    );
    let calls = m.remove(&child);
    calls.unwrap_or_else(|| panic!("{what}: no calls of {child}\n{log}"))
}

/// Checks the child's calls up to its successful execve (if `execs`, else all of them)
/// against those the module allows it; returns the paths it gave execve.
fn allowed_until_exec(calls: &[Call], execs: bool, what: &str) -> Vec<String> {
    let exec = calls
        .iter()
        .position(|c| c.name == "execve" && c.ret == "0");
    assert_eq!(
        exec.is_some(),
        execs,
        "{what}: a successful execve? {calls:#?}"
    );
    let before = &calls[..exec.map_or(calls.len(), |i| i + 1)];
    let mut allowed = vec!["dup3", "fcntl", "rt_sigaction", "rt_sigprocmask", "setpgid"];
    allowed.extend(["getpgid", "ioctl", "chdir", "execve"]);
    if !execs {
        allowed.extend(["write", "exit_group"]);
        let last: Vec<&str> = before.iter().rev().take(2).map(|c| &c.name[..]).collect();
        assert_eq!(last, ["exit_group", "write"], "{what}: {calls:#?}");
    }
    for c in before {
        let ok = allowed.contains(&c.name.as_str());
        assert!(ok, "{what}: the child made {c:?}\n{calls:#?}");
    }
    let path = |c: &Call| c.text.split('"').nth(1).unwrap_or("").to_owned();
    let execs = before.iter().filter(|c| c.name == "execve");
    execs.map(path).collect()
}

#[test]
fn strace_sees_a_vfork_child_that_only_sets_up_and_execs() {
    for b in [Build::Release, Build::Pie] {
        let exe = example(b, "run");
        let exe = exe.to_str().unwrap();
        let path = format!("PATH={PATH}");
        let (out, log) = strace(&["-f", "-E", &path, exe, "--pipe", "echo", "hi"], None);
        let want = "spawned\nstdout 3 bytes: hi\nexit 0\nchildren none\n";
        assert_eq!(stdout(&out), want, "{log}");
        let what = format!("{b:?} --pipe echo hi");
        let tried = allowed_until_exec(&vfork_child(&log, &what), true, &what);
        // PATH in order, up to the first directory that has `echo`.
        let dirs = PATH.split(':');
        let has = |d: &&str| Path::new(d).join("echo").exists();
        let until = dirs.clone().position(|d| has(&d)).unwrap();
        let want: Vec<String> = dirs.take(until + 1).map(|d| format!("{d}/echo")).collect();
        assert_eq!(tried, want, "{what}\n{log}");

        let (out, log) = strace(&["-f", exe, "/nonexistent"], None);
        assert_eq!(stdout(&out), "error ENOENT\nchildren none\n", "{log}");
        assert_eq!(out.status.code(), Some(127), "{log}");
        let what = format!("{b:?} /nonexistent");
        let tried = allowed_until_exec(&vfork_child(&log, &what), false, &what);
        assert_eq!(tried, ["/nonexistent"], "{what}\n{log}");

        // --exec: the same process becomes echo; nothing is cloned.
        let (out, log) = strace(&["-f", exe, "--exec", "echo", "hi"], None);
        let ok = out.status.success() && stdout(&out) == "hi\n";
        assert!(ok, "{out:?}\n{log}");
        let m = by_pid(&log);
        assert_eq!(m.len(), 1, "{b:?} --exec: more than one process\n{log}");
        let calls = m.values().next().unwrap();
        let forks = |c: &Call| c.name.contains("fork") || c.name.contains("clone");
        assert!(!calls.iter().any(forks), "{b:?} --exec\n{log}");
        let execs = calls.iter().filter(|c| c.name == "execve" && c.ret == "0");
        assert_eq!(execs.count(), 2, "{b:?} --exec: run, then echo\n{log}");
    }
}

/// A handler of the parent's must never run in the vfork child (it would run in the
/// parent's memory): the child gives SIGUSR1, which `run --trap-usr1` handles, the default
/// action before its `rt_sigprocmask` opens the mask; without the handler it leaves SIGUSR1
/// alone (it only reads it).
#[test]
fn the_child_resets_the_parents_handlers_before_unblocking() {
    let exe = example(Build::Release, "run");
    let exe = exe.to_str().unwrap();
    for trap in [true, false] {
        let mut args = vec!["-f", exe];
        if trap {
            args.push("--trap-usr1");
        }
        args.push("/bin/true");
        let (out, log) = strace(&args, None);
        assert!(out.status.success(), "{log}");
        let child = vfork_child(&log, "trap");
        let unmask = child
            .iter()
            .position(|c| c.name == "rt_sigprocmask")
            .unwrap_or_else(|| panic!("no rt_sigprocmask in the child\n{log}"));
        let reset = child.iter().position(|c| {
            c.name == "rt_sigaction" && c.text.contains("SIGUSR1, {sa_handler=SIG_DFL")
        });
        match (trap, reset) {
            (true, Some(r)) => assert!(r < unmask, "reset after unblocking\n{log}"),
            (true, None) => panic!("SIGUSR1 was not reset in the child\n{log}"),
            (false, None) => {}
            (false, Some(_)) => panic!("SIGUSR1 reset without a handler\n{log}"),
        }
    }
}

/// The children of process `pid` (every /proc/*/stat whose ppid it is): (pid, state, name).
fn children_of(pid: u32) -> Vec<(u32, char, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(n) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue; // gone meanwhile
        };
        let (head, tail) = stat.rsplit_once(')').unwrap();
        let name = head.split_once('(').unwrap().1.to_owned();
        let mut f = tail.split_whitespace();
        let state = f.next().unwrap().chars().next().unwrap();
        if f.next().unwrap().parse::<u32>().unwrap() == pid {
            v.push((n, state, name));
        }
    }
    v
}

/// Polls `f` for up to 10 s; whether it became true.
fn within_10s(mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[test]
fn a_killed_child_is_reaped_while_run_still_lives() {
    // The control: /proc shows a zombie as Z under its parent (this process).
    let mut z = Command::new("true").spawn().unwrap();
    let me = std::process::id();
    let zombie = |c: &(u32, char, String)| c.0 == z.id() && c.1 == 'Z';
    assert!(within_10s(|| children_of(me).iter().any(zombie)));
    z.wait().unwrap();
    assert!(!children_of(me).iter().any(|c| c.0 == z.id()));

    for b in [Build::Release, Build::Pie] {
        let (mut r, w) = std::io::pipe().unwrap();
        let mut cmd = with_args(Command::new(example(b, "run")), &["sleep", "30"]);
        let mut run = cmd.stdout(w.try_clone().unwrap()).spawn().unwrap();
        drop(cmd);
        let mut line = [0u8; 8];
        r.read_exact(&mut line).unwrap();
        assert_eq!(&line, b"spawned\n");
        let kids = children_of(run.id());
        let one = matches!(&kids[..], [(_, 'R' | 'S', n)] if n == "sleep");
        assert!(one, "{b:?}: {kids:?}");
        let sleeper = kids[0].0;
        // Fill the pipe: `run` will block writing its next line, after it has reaped.
        // SAFETY: fcntl takes no pointers here; the descriptor is ours.
        let size = unsafe { libc::fcntl(w.as_raw_fd(), libc::F_GETPIPE_SZ) } as usize;
        (&w).write_all(&vec![b'x'; size]).unwrap();
        // SAFETY: kill takes no pointers; `sleeper` is alive (its parent waits for it).
        assert_eq!(unsafe { libc::kill(sleeper as i32, libc::SIGKILL) }, 0);
        let gone = within_10s(|| !Path::new(&format!("/proc/{sleeper}")).exists());
        assert!(gone, "{b:?}: still there: {:?}", children_of(run.id()));
        let alive = run.try_wait().unwrap().is_none();
        assert!(alive, "{b:?}: run ended before writing its status");
        assert_eq!(children_of(run.id()), [], "{b:?}");
        drop(w);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        let text = String::from_utf8_lossy(&rest[size..]).into_owned();
        assert_eq!(text, "signal 9\nchildren none\n", "{b:?}");
        assert_eq!(run.wait().unwrap().code(), Some(137), "{b:?}");
    }
}

#[test]
fn every_architecture() {
    for arch in common::ARCHES {
        let Some(dir) = common::cross_examples(&arch) else {
            continue;
        };
        let exe = dir.join("run");
        for (args, code, out) in cases(PORTABLE) {
            let what = format!("{} {args:?}", arch.name());
            go(arch.command(&exe), &args).is(code, &out, &what);
        }
    }
}
