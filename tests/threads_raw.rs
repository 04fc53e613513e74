//! Threads at the lowest level (`arch::clone_thread`, `exit_thread`, `unmap_and_exit`,
//! through the `clone_raw` example, no `thread` module): on every architecture (natively and
//! under qemu-user) 1,000 threads started on mapped stacks and joined through the kernel's
//! clear-child-tid wake (a shared futex), each with its own tid and the parent's thread
//! pointer; 10,000 detached threads that free their own stacks leave no task and no mapping
//! behind, and no SIGUSR1 sent to them ever runs a handler (every signal blocked); the
//! thread flags qemu-user insists on (a clone without CLONE_SYSVSEM is EINVAL there). And
//! natively under `strace -f`: every clone is a plain `clone` (no `clone3`) with exactly
//! those flags, the child's stack 16-byte aligned, and each detached thread's last calls
//! are `set_tid_address(NULL)`, the `munmap` of the mapping holding its stack, `exit(0)`.
#![cfg(target_arch = "x86_64")]

mod common;
use common::{ARCHES, Arch, Build, cross_examples, example, stdout, strace};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `clone_raw args` on `arch` (natively when `None`), killed after two minutes; a run
/// that hangs (a join that never wakes) fails the test.
fn run(arch: Option<&Arch>, exe: &Path, args: &[&str]) -> Output {
    let mut c = Command::new("timeout");
    c.arg("120");
    if let Some(q) = arch.and_then(|a| a.runner) {
        c.arg(q);
    }
    let out = c.arg(exe).args(args).stdin(Stdio::null()).output().unwrap();
    assert_ne!(out.status.code(), Some(124), "{exe:?} {args:?} hung");
    out
}

/// The one line of a successful run.
fn line(out: &Output, what: &str) -> String {
    let text = stdout(out);
    assert!(
        out.status.success() && text.lines().count() == 1,
        "{what}: {:?}: {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text.trim_end().to_owned()
}

/// i686's clone leaves CLONE_SETTLS out (its tls argument names a GDT entry: the tls part's).
fn settls(arch: &Arch) -> bool {
    !arch.target.starts_with("i686")
}

/// The clone flags `clone_raw` uses: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|PARENT_SETTID|
/// CHILD_CLEARTID, and SETTLS where it sets the thread pointer.
fn flags(settls: bool) -> u32 {
    let all = 0x100 | 0x200 | 0x400 | 0x800 | 0x1_0000 | 0x4_0000 | 0x10_0000 | 0x20_0000;
    if settls { all | 0x8_0000 } else { all }
}

fn check_arch(arch: &Arch, exe: &Path) {
    let name = arch.name();
    let yes = if settls(arch) { "yes" } else { "no" };
    // Linux allows a thread without CLONE_SYSVSEM; qemu-user refuses it.
    let without = if arch.runner.is_some() {
        "EINVAL"
    } else {
        "accepted"
    };
    assert_eq!(
        line(&run(Some(arch), exe, &["flags"]), &name),
        format!(
            "flags ok {:#x} settls {yes} without-sysvsem {without}",
            flags(settls(arch))
        ),
        "{name}"
    );
    assert_eq!(
        line(&run(Some(arch), exe, &["join"]), &name),
        format!("join 1000 count 1000 sum 499500 settls {yes}"),
        "{name}"
    );
    let detach = line(&run(Some(arch), exe, &["detach"]), &name);
    let words: Vec<&str> = detach.split(' ').collect();
    // qemu-user has threads of its own: the tasks after must be those before.
    let tasks = if arch.runner.is_some() {
        words.get(7).copied().unwrap_or("?")
    } else {
        "1"
    };
    assert_eq!(
        detach,
        format!("detach 10000 count 10000 tasks {tasks} of {tasks} maps same handled 0"),
        "{name}"
    );
}

#[test]
fn every_arch_joins_detaches_and_keeps_the_thread_flags() {
    for arch in &ARCHES {
        let Some(dir) = cross_examples(arch) else {
            continue;
        };
        check_arch(arch, &dir.join("clone_raw"));
    }
}

#[test]
fn natively() {
    let native = Arch {
        target: "x86_64-unknown-linux-gnu",
        runner: None,
        ..ARCHES[0]
    };
    check_arch(&native, &example(Build::Release, "clone_raw"));
}

/// One system call of a strace log: its name, its arguments and its result.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    name: String,
    args: String,
    ret: String,
}

/// The calls of a `strace -f` log by thread id, in order, each call's `<unfinished ...>`
/// and `<... resumed>` halves joined; a thread id's calls split into lives after each
/// `exit` (the kernel reuses the ids of ended threads: 10,000 threads outnumber a
/// `pid_max` of 32,768 less what the machine runs).
fn calls_by_thread(log: &str) -> HashMap<u32, Vec<Vec<Call>>> {
    let mut threads: HashMap<u32, Vec<Vec<Call>>> = HashMap::new();
    let mut open: HashMap<u32, String> = HashMap::new();
    for l in log.lines() {
        let Some((pid, rest)) = l.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        let whole = if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, start.to_owned());
            continue;
        } else if let Some(tail) = rest.strip_prefix("<... ") {
            let tail = tail.split_once(" resumed>").map_or("", |(_, t)| t);
            open.remove(&pid).unwrap_or_default() + tail
        } else {
            rest.to_owned()
        };
        let Some((name, args)) = whole.split_once('(') else {
            continue;
        };
        // strace pads the result: `exit(0)     = ?`.
        let (args, ret) = match args.rsplit_once(" = ") {
            Some((a, r)) => (a.trim_end().strip_suffix(')').unwrap_or(a), r),
            None => (args, "?"),
        };
        let lives = threads.entry(pid).or_default();
        if lives
            .last()
            .is_none_or(|l| l.last().is_some_and(|c| c.name == "exit"))
        {
            lives.push(Vec::new());
        }
        lives.last_mut().unwrap().push(Call {
            name: name.to_owned(),
            args: args.to_owned(),
            ret: ret.trim().to_owned(),
        });
    }
    threads
}

/// A field `name=value` of strace's clone arguments.
fn field<'a>(args: &'a str, name: &str) -> &'a str {
    args.split(", ")
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {args}"))
}

fn number(s: &str) -> usize {
    match s.strip_prefix("0x") {
        Some(h) => usize::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap_or_else(|_| panic!("not a number: {s}")),
    }
}

/// The thread that made the clones, and its `n` clones: each a plain `clone` with exactly
/// the thread flags and a 16-byte aligned child stack. Each child's lives: its calls and
/// its stack, the clone that started each paired with the thread id's lives in order.
fn children(log: &str, settls: bool, n: usize) -> Vec<(u32, Vec<Call>, usize)> {
    let threads = calls_by_thread(log);
    let every: Vec<&Call> = threads.values().flatten().flatten().collect();
    assert!(
        every.iter().all(|c| c.name != "clone3"),
        "a clone3 call: {every:?}"
    );
    assert_eq!(every.iter().filter(|c| c.name == "clone").count(), n);
    let (&main, lives) = threads
        .iter()
        .find(|(_, l)| l.iter().flatten().any(|c| c.name == "clone"))
        .unwrap();
    let want = [
        "CLONE_VM",
        "CLONE_FS",
        "CLONE_FILES",
        "CLONE_SIGHAND",
        "CLONE_THREAD",
        "CLONE_SYSVSEM",
        "CLONE_SETTLS",
        "CLONE_PARENT_SETTID",
        "CLONE_CHILD_CLEARTID",
    ]
    .iter()
    .filter(|f| settls || **f != "CLONE_SETTLS")
    .copied()
    .collect::<Vec<_>>()
    .join("|");
    let mut next: HashMap<u32, usize> = HashMap::new();
    let mut out = Vec::new();
    assert_eq!(lives.len(), 1, "the main thread {main} never exits");
    for c in lives[0].iter().filter(|c| c.name == "clone") {
        assert_eq!(field(&c.args, "flags"), want, "{c:?}");
        let stack = number(field(&c.args, "child_stack"));
        assert_eq!(stack % 16, 0, "{c:?}");
        let tid = c.ret.parse::<u32>().expect("a tid");
        let k = next.entry(tid).or_default();
        let life = threads
            .get(&tid)
            .and_then(|l| l.get(*k))
            .unwrap_or_else(|| panic!("no calls of thread {tid} (life {k})"));
        *k += 1;
        out.push((tid, life.clone(), stack));
    }
    for (tid, k) in next {
        assert_eq!(
            threads[&tid].len(),
            k,
            "thread {tid}: lives without a clone"
        );
    }
    out
}

/// `clone_raw join` and `detach` natively under `strace -f`, for x86_64 and i686.
#[test]
fn natively_under_strace_plain_clone_and_the_detached_threads_last_calls() {
    let i686 = cross_examples(&ARCHES[0]).map(|d| d.join("clone_raw"));
    let x86_64 = Some(example(Build::Release, "clone_raw"));
    for (exe, settls) in [(x86_64, true), (i686, false)] {
        let Some(exe) = exe else {
            continue;
        };
        let trace = Some("trace=clone,clone3,exit,munmap,set_tid_address");
        let exe = exe.to_str().unwrap();

        let (out, log) = strace(&["-f", exe, "join", "1000"], trace);
        line(&out, "join under strace");
        let exit = Call {
            name: "exit".into(),
            args: "0".into(),
            ret: "?".into(),
        };
        for (tid, calls, _) in children(&log, settls, 1000) {
            assert_eq!(calls, std::slice::from_ref(&exit), "thread {tid}");
        }

        let (out, log) = strace(&["-f", exe, "detach", "10000"], trace);
        line(&out, "detach under strace");
        for (tid, calls, stack) in children(&log, settls, 10_000) {
            let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(
                names,
                ["set_tid_address", "munmap", "exit"],
                "{tid}: {calls:?}"
            );
            assert!(
                ["0", "NULL"].contains(&calls[0].args.as_str()) && calls[0].ret == tid.to_string(),
                "{calls:?}"
            );
            let (base, len) = calls[1].args.split_once(", ").unwrap();
            let (base, len) = (number(base), number(len));
            assert!(
                base < stack && stack < base + len && calls[1].ret == "0",
                "thread {tid} on {stack:#x} unmapped {calls:?}"
            );
            assert_eq!(calls[2].args, "0");
        }
    }
}
