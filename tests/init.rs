//! The `init` example against Debian's `tini-static` (0.19), side by side: every scenario
//! runs under both, and each result must agree between them and with what tini documents
//! (so that both being wrong the same way cannot pass). Exit codes and usage errors; every
//! forwarded signal reaching the child, which starts with the mask and dispositions init
//! was given; `-g` (and TINI_KILL_PROCESS_GROUP) reaching a grandchild, and without it not;
//! orphans re-parented to a `-s` subreaper and reaped (`-w` says so); PID 1 in a new PID
//! namespace; `-p SIGKILL` when the parent dies.

mod common;
// Not in common/mod.rs: only this test watches processes this way.
#[path = "common/proc.rs"]
mod proc;

use common::{Build, example};
use proc::{Proc, children_of, gone, group_of, kill, stat, within};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's reference (package `tini`).
const TINI: &str = "/usr/bin/tini-static";

/// Debian's tini-static and ours, by name.
fn inits() -> [(&'static str, PathBuf); 2] {
    assert!(
        Path::new(TINI).exists(),
        "{TINI} is missing: apt-get install tini (scripts/test installs what the tests need)"
    );
    [
        ("tini-static", PathBuf::from(TINI)),
        ("init", example(Build::Release, "init")),
    ]
}

/// Asserts that tini-static's result and ours are the same, and the expected one.
fn agree<T: std::fmt::Debug + PartialEq>(what: &str, results: &[(&str, T)], want: &T) {
    let [(_, tini), (_, ours)] = results else {
        panic!("{what}: two results expected");
    };
    assert_eq!(tini, ours, "{what}: tini-static and init differ");
    assert_eq!(tini, want, "{what}: both agree, on the wrong result");
}

/// `init` with stdin closed (on a terminal, tini would make its child's group the
/// foreground one) and every signal's action the default: an action ignored where the test
/// runs (`nohup` ignores SIGHUP) is passed on by init to its child, and a shell cannot trap
/// a signal that was ignored when it started.
fn command(init: &Path) -> Command {
    let mut c = Command::new(init);
    c.stdin(Stdio::null());
    // SAFETY: the closure only calls sigaction (async-signal-safe) between fork and exec;
    // 1..32 are the standard signals (glibc keeps 32 and 33 for itself).
    unsafe {
        c.pre_exec(|| {
            for sig in 1..32 {
                if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                    libc::signal(sig, libc::SIG_DFL);
                }
            }
            Ok(())
        });
    }
    c
}

fn run(init: &Path, args: &[&str], what: &str) -> (Option<i32>, String) {
    let mut c = command(init);
    c.args(args);
    Proc::spawn(c, what).finish()
}

#[test]
fn exit_codes_agree() {
    let dir = common::root().join("target/tinyrt-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let plain = dir.join(format!("init-not-executable-{}", std::process::id()));
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    std::fs::set_permissions(&plain, mode).unwrap();
    let plain = plain.to_str().unwrap().to_owned();
    // Executable, without `#!`: tini's execvp runs it through /bin/sh.
    let no_shebang = dir.join(format!("init-no-shebang-{}", std::process::id()));
    std::fs::write(&no_shebang, "exit 7\n").unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&no_shebang, mode).unwrap();
    let no_shebang = no_shebang.to_str().unwrap().to_owned();
    let cases: &[(&[&str], i32)] = &[
        (&["-s", "--", "sh", "-c", "exit 0"], 0),
        (&["-s", "--", "sh", "-c", "exit 1"], 1),
        (&["-s", "--", "sh", "-c", "exit 42"], 42),
        (&["-s", "--", "sh", "-c", "kill -KILL $$"], 137),
        (&["-s", "--", "sh", "-c", "kill -TERM $$"], 143),
        (&["-s", "-e", "42", "--", "sh", "-c", "exit 42"], 0),
        (&["-s", "-e", "41", "-e42", "--", "sh", "-c", "exit 42"], 0),
        (&["-s", "-e", "42", "--", "sh", "-c", "exit 43"], 43),
        (&["-s", "-e", "143", "--", "sh", "-c", "kill -TERM $$"], 0),
        (&["-s", "-e", "256", "--", "true"], 1),
        (&["-s", "--", "/nonexistent/program"], 127),
        (&["-s", "--", "no-such-program-in-path"], 127),
        (&["-s", "--", &plain], 126),
        (&["-s", "--", &no_shebang], 7),
        (&["-s", "--", "/"], 126),
        (&[], 1),
        (&["-s"], 1),
        (&["-s", "--"], 1),
        (&["-s", "-p", "SIGBOGUS", "--", "true"], 1),
        (&["-s", "-x", "--", "true"], 1),
        (&["-h"], 0),
    ];
    for &(args, want) in cases {
        let what = format!("{args:?}");
        let got: Vec<_> = inits()
            .iter()
            .map(|(name, p)| (*name, run(p, args, &format!("{name} {what}")).0))
            .collect();
        agree(&what, &got, &Some(want));
    }
    // No PROGRAM: the usage on stderr.
    for (name, p) in inits() {
        let (_, err) = run(&p, &["-s"], name);
        assert!(err.contains("Usage:"), "{name}: {err}");
    }
    let _ = std::fs::remove_file(&plain);
    let _ = std::fs::remove_file(&no_shebang);
}

/// Signals that tini forwards, as sh names them (dash knows no STKFLT).
const FORWARDED: [(&str, i32); 16] = [
    ("TERM", libc::SIGTERM),
    ("INT", libc::SIGINT),
    ("HUP", libc::SIGHUP),
    ("QUIT", libc::SIGQUIT),
    ("USR1", libc::SIGUSR1),
    ("USR2", libc::SIGUSR2),
    ("WINCH", libc::SIGWINCH),
    ("ALRM", libc::SIGALRM),
    ("CONT", libc::SIGCONT),
    ("PIPE", libc::SIGPIPE),
    ("URG", libc::SIGURG),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("PWR", libc::SIGPWR),
];

/// A child that traps every signal of FORWARDED (each says its name and exits with a code
/// of its own), says it is ready and loops.
fn trapping_child() -> String {
    let mut s = String::new();
    for (i, (name, _)) in FORWARDED.iter().enumerate() {
        s += &format!("trap 'echo got {name}; exit {}' {name}; ", 10 + i);
    }
    s + "echo ready $$; while :; do sleep 0.05; done"
}

#[test]
fn every_forwarded_signal_reaches_the_child() {
    for (i, &(name, sig)) in FORWARDED.iter().enumerate() {
        let got: Vec<_> = inits()
            .iter()
            .map(|(init, p)| {
                let mut c = command(p);
                c.args(["-s", "--", "sh", "-c", &trapping_child()]);
                let mut proc = Proc::spawn(c, &format!("{init} SIG{name}"));
                proc.group = Some(group_of(proc.number("ready ")));
                kill(proc.pid(), sig);
                let saw = proc.try_line(10.0);
                (*init, (saw, proc.finish().0))
            })
            .collect();
        let want = (Some(format!("got {name}")), Some(10 + i as i32));
        agree(&format!("SIG{name}"), &got, &want);
    }
}

/// Runs `prefix` then `grep` on its own /proc/self/status, started with `blocked` blocked:
/// its SigBlk and SigIgn lines, and the exit code.
fn signal_state(prefix: &[&std::ffi::OsStr], blocked: Option<i32>) -> ([String; 2], Option<i32>) {
    let grep = ["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"].map(std::ffi::OsStr::new);
    let argv: Vec<_> = prefix.iter().chain(&grep).collect();
    let mut c = command(Path::new(argv[0]));
    c.args(&argv[1..]);
    if let Some(sig) = blocked {
        // SAFETY: the closure only makes async-signal-safe calls on its own stack, between
        // fork and exec.
        unsafe {
            c.pre_exec(move || {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, sig);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
    }
    let mut proc = Proc::spawn(c, &format!("{prefix:?} grep"));
    let lines = [proc.line(), proc.line()];
    (lines, proc.finish().0)
}

/// The child starts with the mask and the ignored signals that init was started with, as
/// grep started by us directly does (init itself blocks nearly every signal, and ignores
/// SIGTTIN and SIGTTOU), in a process group of its own. Read by grep and cut themselves:
/// dash clears its own mask.
#[test]
fn the_child_starts_with_inits_mask_in_its_own_group() {
    for blocked in [None, Some(libc::SIGUSR2)] {
        let direct = signal_state(&[], blocked);
        let mask = blocked.map_or(0u64, |s| 1 << (s - 1));
        assert_eq!(direct.0[0], format!("SigBlk:\t{mask:016x}"));
        for _ in 0..5 {
            let got: Vec<_> = inits()
                .iter()
                .map(|(init, p)| {
                    let prefix = [p.as_os_str(), "-s".as_ref(), "--".as_ref()];
                    (*init, signal_state(&prefix, blocked))
                })
                .collect();
            agree(&format!("mask {blocked:?}"), &got, &direct);
        }
    }
    let got: Vec<_> = inits()
        .iter()
        .map(|(init, p)| {
            let mut c = command(p);
            c.args(["-s", "--", "cut", "-d", " ", "-f", "1,5", "/proc/self/stat"]);
            let mut proc = Proc::spawn(c, init);
            let ids: Vec<String> = proc.line().split(' ').map(str::to_owned).collect();
            (*init, (ids[0] == ids[1], proc.finish().0))
        })
        .collect();
    agree("own process group", &got, &(true, Some(0)));
}

/// A grandchild in the child's group that traps SIGTERM, under a child that dies of it.
const GROUP_SCRIPT: &str = r#"sh -c 'trap "echo grandchild got TERM; exit 0" TERM; echo ready $$; while :; do sleep 0.05; done' & wait"#;

#[test]
fn group_signals_reach_a_grandchild_only_with_g() {
    for (how, flag, env) in [
        ("-g", "-g", None),
        ("TINI_KILL_PROCESS_GROUP", "-s", Some("1")),
        ("without -g", "-s", None),
    ] {
        let group = how != "without -g";
        let got: Vec<_> = inits()
            .iter()
            .map(|(init, p)| {
                let mut c = command(p);
                c.args(["-s", flag, "--", "sh", "-c", GROUP_SCRIPT]);
                c.env_remove("TINI_KILL_PROCESS_GROUP");
                if let Some(v) = env {
                    c.env("TINI_KILL_PROCESS_GROUP", v);
                }
                let mut proc = Proc::spawn(c, &format!("{init} {how}"));
                let grandchild = proc.number("ready ");
                proc.group = Some(group_of(grandchild));
                kill(proc.pid(), libc::SIGTERM);
                let code = proc.wait().code();
                // Without -g the grandchild must not hear of it: give it time to.
                let saw = proc.try_line(if group { 5.0 } else { 0.3 });
                let alive = !within(if group { 2.0 } else { 0.0 }, || gone(grandchild));
                (*init, (code, saw, alive))
            })
            .collect();
        let want = match group {
            true => (Some(143), Some("grandchild got TERM".to_owned()), false),
            false => (Some(143), None, true),
        };
        agree(how, &got, &want);
    }
}

/// With -s (not PID 1), a double-forked orphan is re-parented to init while it lives and
/// reaped as soon as it ends, with -w's warning; without -s it is not re-parented to init.
#[test]
fn orphans_are_reparented_to_the_subreaper_and_reaped() {
    const SCRIPT: &str = "(sleep 0.5 & echo orphan $!); sleep 1.5; echo done";
    let got: Vec<_> = inits()
        .iter()
        .map(|(init, p)| {
            let mut c = command(p);
            c.args(["-s", "-w", "--", "sh", "-c", SCRIPT]);
            let mut proc = Proc::spawn(c, init);
            let me = proc.pid();
            let orphan = proc.number("orphan ");
            let reparented = within(0.45, || stat(orphan).is_some_and(|(_, pp)| pp == me));
            // Then it ends and init reaps it, while init (and its child) still run.
            let reaped = within(1.0, || stat(orphan).is_none());
            let zombies: Vec<_> = children_of(me).into_iter().filter(|c| c.1 == 'Z').collect();
            let running = proc.child.try_wait().unwrap().is_none();
            let done = proc.line();
            let (code, err) = proc.finish();
            let warned = err.contains(&format!("Reaped zombie process with pid={orphan}"));
            let r = (reparented, reaped, zombies, running, done, code, warned);
            (*init, r)
        })
        .collect();
    agree(
        "orphan with -s -w",
        &got,
        &(true, true, vec![], true, "done".to_owned(), Some(0), true),
    );
    // The control: without -s the orphan's parent is never init.
    let got: Vec<_> = inits()
        .iter()
        .map(|(init, p)| {
            let mut c = command(p);
            c.args(["--", "sh", "-c", "(sleep 0.3 & echo orphan $!); sleep 0.5"]);
            let mut proc = Proc::spawn(c, init);
            let me = proc.pid();
            let orphan = proc.number("orphan ");
            let ever = within(0.4, || stat(orphan).is_some_and(|(_, pp)| pp == me));
            let (code, err) = proc.finish();
            (*init, (ever, code, err.contains("not running as PID 1")))
        })
        .collect();
    agree("orphan without -s", &got, &(false, Some(0), true));
}

/// TINI_SUBREAPER does what -s does, and TINI_VERBOSITY=0 silences: no warning that
/// reaping will not work (the orphan test above sees it without either).
#[test]
fn tini_subreaper_and_verbosity_in_the_environment() {
    for var in ["TINI_SUBREAPER=1", "TINI_VERBOSITY=0"] {
        let got: Vec<_> = inits()
            .iter()
            .map(|(init, p)| {
                let mut c = command(p);
                let (k, v) = var.split_once('=').unwrap();
                c.args(["--", "sh", "-c", "exit 3"]).env(k, v);
                (*init, Proc::spawn(c, init).finish())
            })
            .collect();
        agree(var, &got, &(Some(3), String::new()));
    }
}

/// `unshare --fork --pid --mount-proc INIT ARGS`.
fn in_pid_namespace(init: &Path, args: &[&str], what: &str) -> (Option<i32>, String, String) {
    let mut c = Command::new("unshare");
    c.args(["--fork", "--pid", "--mount-proc"])
        .arg(init)
        .args(args);
    c.stdin(Stdio::null());
    let mut proc = Proc::spawn(c, what);
    let mut out = String::new();
    while let Some(l) = proc.try_line(10.0) {
        out += &l;
        out.push('\n');
    }
    let (code, err) = proc.finish();
    (code, out, err)
}

#[test]
fn as_pid_1_of_a_new_pid_namespace() {
    let probe = Command::new("unshare")
        .args(["--fork", "--pid", "--mount-proc", "true"])
        .output()
        .expect("run unshare (util-linux)");
    if !probe.status.success() {
        let err = String::from_utf8_lossy(&probe.stderr);
        assert!(err.contains("Operation not permitted"), "unshare: {err}");
        return common::skip("init as PID 1", &format!("unshare: {}", err.trim()));
    }
    let got: Vec<_> = inits()
        .iter()
        .map(|(init, p)| {
            let r = in_pid_namespace(p, &["--", "sh", "-c", "echo $$; exit 7"], init);
            (*init, r)
        })
        .collect();
    agree("PID 1", &got, &(Some(7), "2\n".to_owned(), String::new()));
    // Without -s: as PID 1 it inherits the orphan anyway, and leaves no zombie.
    let script = "(sleep 0.2 &); sleep 0.8; \
        echo zombies: $(grep -l '^State:[[:space:]]*Z' /proc/[0-9]*/status 2>/dev/null)";
    let got: Vec<_> = inits()
        .iter()
        .map(|(init, p)| {
            let (code, out, err) = in_pid_namespace(p, &["-w", "--", "sh", "-c", script], init);
            let warned = err.contains("Reaped zombie process with pid=");
            (*init, (code, out, warned))
        })
        .collect();
    agree(
        "PID 1 orphan",
        &got,
        &(Some(0), "zombies:\n".to_owned(), true),
    );
}

/// `-p SIGKILL`: when init's parent (a shell we end by closing its stdin) exits, init is
/// killed; its child, which it cannot tell, stays. Without -p init outlives its parent.
#[test]
fn parent_death_signal() {
    for p_kill in [true, false] {
        let got: Vec<_> = inits()
            .iter()
            .map(|(init, p)| {
                let opt = if p_kill { "-p SIGKILL" } else { "" };
                let script = format!(
                    "{} -s {opt} -- sleep 30 >/dev/null 2>&1 </dev/null & echo init $!; read x; exit 0",
                    p.display()
                );
                let mut c = Command::new("sh");
                c.args(["-c", &script]).stdin(Stdio::piped());
                let mut parent = Proc::spawn(c, &format!("{init} {opt}"));
                let pid = parent.number("init ");
                let mut sleep = None;
                let found = within(5.0, || {
                    sleep = children_of(pid).first().map(|c| c.0);
                    sleep.is_some()
                });
                assert!(found, "{init}: no child of init {pid}");
                let sleep = sleep.unwrap();
                parent.group = Some(group_of(sleep));
                drop(parent.child.stdin.take());
                assert_eq!(parent.finish().0, Some(0), "{init}: the parent shell");
                let init_died = within(if p_kill { 2.0 } else { 0.3 }, || gone(pid));
                let sleep_lives = !gone(sleep);
                if !init_died {
                    // Init forwards our SIGTERM to sleep, then exits with its status.
                    kill(pid, libc::SIGTERM);
                    assert!(within(5.0, || gone(pid) && gone(sleep)), "{init}: TERM");
                }
                (*init, (init_died, sleep_lives))
            })
            .collect();
        agree(&format!("-p SIGKILL {p_kill}"), &got, &(p_kill, true));
    }
}

/// Details where tini's choices are easy to miss: a SIGTTOU that was ignored when init
/// started stays ignored in the child (init ignores TTIN and TTOU itself and gives the child
/// what it had); `-p` takes the full name only; `-l` prints the licence and exits 0.
#[test]
fn ignored_ttou_survives_and_option_details_agree() {
    let results: Vec<_> = inits()
        .iter()
        .map(|(name, init)| {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "trap '' TTOU; exec {} -s -- grep ^SigIgn /proc/self/status",
                    init.display()
                ))
                .output()
                .unwrap();
            let ign = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let bits =
                u64::from_str_radix(ign.trim_start_matches("SigIgn:").trim(), 16).unwrap_or(0);
            (*name, bits & (1 << (libc::SIGTTOU - 1)) != 0)
        })
        .collect();
    agree("an ignored SIGTTOU in the child", &results, &true);
    let results: Vec<_> = inits()
        .iter()
        .map(|(name, init)| {
            (
                *name,
                run(init, &["-s", "-p", "KILL", "--", "true"], "-p KILL").0,
            )
        })
        .collect();
    agree("-p KILL (no SIG prefix)", &results, &Some(1));
    let results: Vec<_> = inits()
        .iter()
        .map(|(name, init)| (*name, run(init, &["-l"], "-l").0))
        .collect();
    agree("-l", &results, &Some(0));
}
