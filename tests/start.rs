//! crt0 survives odd starts with the right output and exit status: an empty environment,
//! huge and many arguments, many environment variables, empty strings, an empty argv; and
//! main's return value or a panic reaches the parent unchanged.

mod common;
use common::{Build, example, run, stdout};
use std::ffi::CString;
use std::os::unix::process::ExitStatusExt;
use std::process::Command;

/// What the `args` example must print for these arguments and this environment count.
fn expected_args(argv: &[Vec<u8>], envc: usize) -> String {
    let mut s = format!("argc: {}\n", argv.len());
    for (i, a) in argv.iter().enumerate() {
        s += &format!("argv[{i}]: \"{}\"\n", a.escape_ascii());
    }
    s += &format!("envc: {envc}\n");
    s
}

#[test]
fn empty_environment() {
    let exe = example(Build::Release, "args");
    let out = Command::new(&exe).env_clear().arg("one").output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    let argv = vec![exe.to_str().unwrap().as_bytes().to_vec(), b"one".to_vec()];
    assert!(text.starts_with(&expected_args(&argv, 0)), "{text}");
    assert!(text.contains("env HOME: (unset)\n"));
    // `env -i`, the tool, too.
    let out = Command::new("env").arg("-i").arg(&exe).output().unwrap();
    assert!(stdout(&out).contains("envc: 0\n"));
}

#[test]
fn largest_single_argument_and_a_mebibyte_of_arguments() {
    let exe = example(Build::Release, "args");
    // Linux caps one argument at MAX_ARG_STRLEN = 32 pages (128 KiB, with its NUL), so a
    // single 1 MiB argument is refused by execve itself (E2BIG) before any program runs:
    // check that, then the largest single argument, then 1 MiB of arguments in total.
    let huge = "x".repeat(1 << 20);
    let err = Command::new(&exe).arg(&huge).output().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::E2BIG));

    let big = "y".repeat(128 * 1024 - 1);
    let out = Command::new(&exe).arg(&big).output().unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains(&format!("argv[1]: \"{big}\"\n")));

    let parts: Vec<String> = (0..8)
        .map(|i| char::from(b'a' + i).to_string().repeat(128 * 1024 - 1))
        .collect();
    let out = Command::new(&exe).args(&parts).output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with("argc: 9\n"));
    for (i, p) in parts.iter().enumerate() {
        assert!(
            text.contains(&format!("argv[{}]: \"{p}\"\n", i + 1)),
            "argument {i} lost"
        );
    }
}

#[test]
fn ten_thousand_arguments_including_empty_ones() {
    let exe = example(Build::Release, "args");
    let args: Vec<String> = (0..10_000)
        .map(|i| {
            if i % 7 == 0 {
                String::new()
            } else {
                format!("arg{i}")
            }
        })
        .collect();
    let out = Command::new(&exe).env_clear().args(&args).output().unwrap();
    assert!(out.status.success());
    let mut argv = vec![exe.to_str().unwrap().as_bytes().to_vec()];
    argv.extend(args.iter().map(|a| a.as_bytes().to_vec()));
    assert_eq!(stdout(&out), expected_args(&argv, 0) + &unset_lines());
}

fn unset_lines() -> String {
    "env HOME: (unset)\nenv PATH: (unset)\nenv TINYRT_ARGS_TEST: (unset)\n".to_owned()
}

#[test]
fn ten_thousand_environment_variables() {
    let exe = example(Build::Release, "args");
    let mut c = Command::new(&exe);
    c.env_clear();
    for i in 0..10_000 {
        c.env(format!("V{i}"), format!("value {i}"));
    }
    c.env("TINYRT_ARGS_TEST", "last=one");
    c.env("TINYRT_SHOW", "V0,V9999,V5000,NOPE");
    let out = c.output().unwrap();
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("envc: 10002\n"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.contains("env TINYRT_ARGS_TEST: \"last=one\"\n"));
    assert!(text.contains("env V0: \"value 0\"\n"));
    assert!(text.contains("env V9999: \"value 9999\"\n"));
    assert!(text.contains("env V5000: \"value 5000\"\n"));
    assert!(text.contains("env NOPE: (unset)\n"));
}

#[test]
fn odd_environment_entries() {
    // execve takes any strings as the environment: entries without '=', an empty entry,
    // a name that is a prefix of another, duplicate names (the first wins, like getenv).
    let exe = example(Build::Release, "args");
    let env = [
        "NOEQUALS",
        "",
        "TINYRT_ARGS=short",
        "TINYRT_ARGS_TEST=first",
        "TINYRT_ARGS_TEST=second",
        "=novalue",
        "TINYRT_SHOW=NOEQUALS,TINYRT_ARGS,TINYRT,TINYRT_ARGS_TES",
    ];
    let out = exec_raw(&exe, &[b"args" as &[u8]], &env.map(str::as_bytes));
    assert_eq!(out.0, 0);
    let text = String::from_utf8(out.1).unwrap();
    assert!(text.contains("envc: 7\n"), "{text}");
    assert!(text.contains("env TINYRT_ARGS_TEST: \"first\"\n"), "{text}");
    // An entry without '=' defines nothing; names match whole, never as prefixes.
    assert!(text.contains("env NOEQUALS: (unset)\n"), "{text}");
    assert!(text.contains("env TINYRT_ARGS: \"short\"\n"), "{text}");
    assert!(text.contains("env TINYRT: (unset)\n"), "{text}");
    assert!(text.contains("env TINYRT_ARGS_TES: (unset)\n"), "{text}");
}

/// fork + execve with exactly this argv and envp (which may be empty), returning the exit
/// code and stdout. std's Command cannot pass an empty argv.
fn exec_raw(exe: &std::path::Path, argv: &[&[u8]], envp: &[&[u8]]) -> (i32, Vec<u8>) {
    let path = CString::new(exe.to_str().unwrap()).unwrap();
    let argv_c: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
    let envp_c: Vec<CString> = envp.iter().map(|a| CString::new(*a).unwrap()).collect();
    let mut argv_p: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp_c.iter().map(|c| c.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let mut fds = [0; 2];
    // SAFETY: plain libc calls; between fork and execve the child only calls
    // async-signal-safe functions (dup2, close, execve, _exit) on memory prepared before.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::dup2(fds[1], 1);
            libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr());
            libc::_exit(127);
        }
        libc::close(fds[1]);
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len());
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        libc::close(fds[0]);
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status), "killed: status {status:#x}");
        (libc::WEXITSTATUS(status), out)
    }
}

#[test]
fn empty_argv() {
    // Linux 5.18+ turns an empty argv into argc 1 with argv[0] = "" (commit dcd46d897adb);
    // older kernels start the program with argc 0 and argv[0] = NULL. Either way argc and
    // the printed arguments must agree, and the environment must still be found.
    let exe = example(Build::Release, "args");
    let (code, out) = exec_raw(&exe, &[], &[b"TINYRT_ARGS_TEST=seen"]);
    assert_eq!(code, 0);
    let text = String::from_utf8(out).unwrap();
    let argc0 = text.starts_with("argc: 0\nenvc: 1\n");
    let argc1 = text.starts_with("argc: 1\nargv[0]: \"\"\nenvc: 1\n");
    assert!(argc0 || argc1, "{text}");
    assert!(text.contains("env TINYRT_ARGS_TEST: \"seen\"\n"), "{text}");
    eprintln!(
        "empty argv starts the program with argc {}",
        if argc0 { 0 } else { 1 }
    );

    // tiny returns argc - 1 (saturating): 0 either way.
    let (code, _) = exec_raw(&example(Build::Release, "tiny"), &[], &[]);
    assert_eq!(code, 0);
}

#[test]
fn exit_codes_reach_the_parent_unchanged() {
    // tiny exits with its argument count: every status 0..=255.
    let exe = example(Build::Release, "tiny");
    for n in 0..=255usize {
        let out = Command::new(&exe).args(vec!["a"; n]).output().unwrap();
        assert_eq!(out.status.code(), Some(n as i32), "{n} arguments");
    }
    let exe = example(Build::Release, "exitcode");
    for (arg, code) in [
        ("0", 0),
        ("1", 1),
        ("255", 255),
        ("256", 0),
        ("300", 44),
        ("-1", 255),
    ] {
        let out = run(&exe, &[arg]);
        assert_eq!(out.status.code(), Some(code), "exitcode {arg}");
        assert!(out.stderr.is_empty());
    }
    let out = run(&exe, &["nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: exitcode N"));
}

#[test]
fn panic_prints_its_message_and_exits_101() {
    for b in [Build::Release, Build::Debug] {
        let exe = example(b, "panic");
        let out = run(&exe, &["the message, with {braces}"]);
        assert_eq!(out.status.code(), Some(101), "{b:?}");
        assert_eq!(out.status.signal(), None);
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.strip_prefix("thread 'main' (")
                .and_then(|e| e.split_once(") "))
                .is_some_and(|(tid, e)| tid.parse::<u32>().is_ok()
                    && e.starts_with("panicked at examples/panic.rs:")),
            "{b:?}: {err}"
        );
        assert!(
            err.ends_with(":\nthe message, with {braces}\n"),
            "{b:?}: {err}"
        );
        let out = run(&exe, &[] as &[&str]);
        assert_eq!(out.status.code(), Some(101));
        assert!(
            String::from_utf8(out.stderr)
                .unwrap()
                .contains("\ntinyrt panic example\n")
        );
    }
}

#[test]
fn hello_writes_one_line_with_one_write() {
    let exe = example(Build::Release, "hello");
    let out = run(&exe, &[] as &[&str]);
    assert_eq!(stdout(&out), "Hello, world!\n");
    assert_eq!(out.status.code(), Some(0));
    // The whole life of the process, as strace sees it: exec, one write, exit_group. No
    // libc start-up (brk, mmap, arch_prctl, set_tid_address, ...).
    let (out, log) = common::strace(&[&exe], None);
    assert_eq!(stdout(&out), "Hello, world!\n");
    let calls: Vec<String> = log
        .lines()
        .map(|l| l.split('(').next().unwrap().to_owned())
        .collect();
    assert_eq!(calls, ["execve", "write", "exit_group"]);
    // A closed stdout: the write fails (EBADF) and hello says so with exit 1, no crash.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("{} >&-", exe.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn syscalls_mono_and_bench_run_natively() {
    let out = run(&example(Build::Release, "syscalls"), &[] as &[&str]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "ok 8 default\n");

    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is ours.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let before = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    let text = stdout(&run(&example(Build::Release, "mono"), &[] as &[&str]));
    // SAFETY: as above.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let after = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    let (s, ns) = text.trim_end().split_once('.').unwrap();
    assert_eq!(ns.len(), 9, "{text}");
    let v = s.parse::<i128>().unwrap() * 1_000_000_000 + ns.parse::<i128>().unwrap();
    assert!(before <= v && v <= after, "{before} <= {v} <= {after}");

    let text = stdout(&run(&example(Build::Release, "bench"), &["--quick"]));
    for needle in [
        "clock_gettime(MONOTONIC)",
        "getcpu",
        "first-call resolution",
    ] {
        assert!(text.contains(needle), "{text}");
    }
}

/// `exe` with the descriptors `fds` closed (as `<&- >&-` would), stderr captured unless 2
/// is among them.
fn with_closed(exe: &std::path::Path, fds: &'static [i32], args: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(exe);
    c.args(args).stdout(std::process::Stdio::inherit());
    // SAFETY: close is async-signal-safe, and the descriptors are the child's own.
    unsafe {
        c.pre_exec(move || {
            for &fd in fds {
                libc::close(fd);
            }
            Ok(())
        });
    }
    c.output().unwrap()
}

/// Started with standard descriptors closed, a program does not hand their numbers to its
/// first `pipe` (where `println!` would then write): `tinyrt::main!` opens `/dev/null` on
/// each closed one before `main`, as std does. `hello` opts out (`unsafe(keep_closed_stdio)`): its
/// write to a closed standard output fails. Without any `/dev/null` the program says why and
/// aborts, as std's runtime does.
#[test]
fn closed_standard_descriptors_are_opened_on_dev_null() {
    let exe = example(Build::Release, "stdfds");
    let out = with_closed(&exe, &[0, 1], &[]);
    assert!(out.status.success(), "{out:?}");
    let report = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 4, "{report}");
    assert_eq!(&lines[..2], ["0 /dev/null", "1 /dev/null"], "{report}");
    assert!(lines[2].starts_with("2 pipe:["), "{report}");
    assert_eq!(lines[3], "pipe 3 4", "{report}");

    let file = std::env::temp_dir().join(format!("tinyrt-stdfds-{}", std::process::id()));
    let out = with_closed(&exe, &[0, 1, 2], &[file.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let report = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(report, "0 /dev/null\n1 /dev/null\n2 /dev/null\npipe 3 4\n");

    // Opted out: nothing is opened, so the write to the closed descriptor 1 fails.
    let out = with_closed(&example(Build::Release, "hello"), &[1], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");

    // No /dev/null (a private mount namespace with an empty /dev): a message and SIGABRT.
    let script = r#"mount -t tmpfs none /dev && exec "$0" 0<&-"#;
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .arg(&exe)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{out:?}");
    assert!(
        err.contains("a standard descriptor is closed and /dev/null cannot be opened\n"),
        "{err}"
    );
}

/// A program whose `println!` fails (standard output on a full device) says so when `main`
/// returns and exits 1, as GNU's tools do: side by side with coreutils' `echo`, run under the
/// same name. Writes that succeed leave the status alone.
#[test]
fn a_failed_print_is_reported_at_exit_as_gnu_tools_do() {
    use std::os::unix::process::CommandExt;
    let run = |program: &std::path::Path| {
        let out = Command::new(program)
            .arg0("echo")
            .arg("hi")
            .env("LC_ALL", "C")
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let gnu = run(std::path::Path::new("/bin/echo"));
    assert_eq!(
        gnu,
        (
            Some(1),
            "echo: write error: No space left on device\n".to_owned()
        )
    );
    let exe = example(Build::Release, "args");
    assert_eq!(run(&exe), gnu);
    let out = Command::new(&exe).arg("hi").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}
