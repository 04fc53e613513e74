//! `Command` as a std program (library mode) uses it: listed arguments, the child's mask and
//! dispositions, streams, and the `/bin/sh` fallback, seen by real programs (`echo`, `grep`).

use super::*;

#[test]
fn a_closed_descriptor_as_a_stream_is_refused() {
    // SAFETY: not a descriptor anything uses: 1000 is not open (that is what is tested),
    // and `spawn` only asks `fcntl(F_GETFD)` about it.
    let closed = unsafe { crate::fd::BorrowedFd::borrow_raw(1000) };
    let r = Command::new(c"/bin/true").stdout(Stdio::Fd(closed)).spawn();
    assert_eq!(r.err(), Some(Errno::EBADF));
    let mut c = Command::new(c"/bin/true")
        .stdout(Stdio::Fd(crate::io::STDERR))
        .spawn()
        .unwrap();
    assert!(c.wait().unwrap().success());
}

extern crate std;
use std::ffi::CString;
use std::vec::Vec;

/// What `/bin/echo` prints for these arguments, started through `Command::arg`.
fn echo(args: &[&CStr]) -> Result<Vec<u8>, Errno> {
    let mut c = Command::new(c"/bin/echo");
    for a in args {
        c.arg(a);
    }
    let mut child = c.stdout(Stdio::Pipe).spawn()?;
    let mut out = std::vec![0u8; 64 * 1024];
    let n = crate::io::read_full(child.stdout.take().unwrap(), &mut out)?;
    assert!(child.wait()?.success());
    out.truncate(n);
    Ok(out)
}

/// Every count of listed arguments up to the inline limit reaches the child exactly:
/// none lost, none stale past the end (a NULL one slot late gave EFAULT or an old one).
#[test]
fn listed_arguments_reach_the_child_exactly() {
    let owned: Vec<CString> = (0..MAX_ARGS)
        .map(|i| CString::new(std::format!("a{i}")).unwrap())
        .collect();
    let all: Vec<&CStr> = owned.iter().map(|a| a.as_c_str()).collect();
    // Longer lists first, so that a shorter one would find their stale pointers.
    for n in (0..MAX_ARGS).rev() {
        let want = std::format!(
            "{}\n",
            all[..n]
                .iter()
                .map(|a| a.to_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(
            echo(&all[..n]).map(|o| std::string::String::from_utf8(o).unwrap()),
            Ok(want),
            "{n} arguments"
        );
    }
}

/// Past `MAX_ARGS` (argv[0] included): E2BIG without the heap, the child gets them all
/// with it.
#[test]
fn arguments_past_the_inline_limit() {
    let owned: Vec<CString> = (0..200)
        .map(|i| CString::new(std::format!("b{i}")).unwrap())
        .collect();
    let all: Vec<&CStr> = owned.iter().map(|a| a.as_c_str()).collect();
    let got = echo(&all[..MAX_ARGS]);
    if cfg!(feature = "alloc") {
        let want = std::format!(
            "{}\n",
            all.iter()
                .map(|a| a.to_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(echo(&all).unwrap(), want.into_bytes());
        assert!(got.is_ok());
    } else {
        assert_eq!(got, Err(Errno::E2BIG));
        assert!(echo(&all[..MAX_ARGS - 1]).is_ok());
    }
}

/// The child's `SigBlk` line, as `grep` started through `Command` sees it.
fn child_blocked(c: &mut Command<'_>) -> std::string::String {
    child_status(c, c"SigBlk")
}

/// The child's `/proc/self/status` line for `field`, as `grep` started through `c` sees it.
fn child_status<'a>(c: &mut Command<'a>, field: &'a CStr) -> std::string::String {
    let mut child = c
        .arg(field)
        .arg(c"/proc/self/status")
        .stdout(Stdio::Pipe)
        .spawn()
        .unwrap();
    let mut out = [0u8; 256];
    let n = crate::io::read_full(child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(child.wait().unwrap().success());
    std::string::String::from_utf8_lossy(&out[..n]).into_owned()
}

/// A child starts with an empty mask whatever ours is, unless one is asked.
#[test]
fn the_child_mask_is_empty_unless_asked() {
    let ours = crate::signal::block(SigSet::of(&[Signal::TERM, Signal::USR1])).unwrap();
    let by_default = child_blocked(&mut Command::new(c"/bin/grep"));
    let asked = child_blocked(
        Command::new(c"/bin/grep").signal_mask(SigSet::of(&[Signal::HUP, Signal::TERM])),
    );
    crate::signal::set_mask(ours).unwrap();
    assert_eq!(by_default, "SigBlk:\t0000000000000000\n");
    assert_eq!(asked, "SigBlk:\t0000000000004001\n");
}

/// With `shell_fallback`, a script without `#!` runs through `/bin/sh` with its path and
/// arguments, as glibc's execvp runs it, named by path and found in PATH; without it,
/// ENOEXEC.
#[test]
fn a_script_without_a_shebang_runs_through_sh() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(std::format!("tinyrt-noshebang-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("plain");
    std::fs::write(&script, "echo \"$0|$1|$2\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = CString::new(script.to_str().unwrap()).unwrap();
    let out = |c: &mut Command<'_>| {
        let c = c.arg(c"a b").arg(c"c").stdout(Stdio::Pipe);
        // Not asked for: ENOEXEC, as std's Command (posix_spawn) and musl answer.
        assert_eq!(c.spawn().err(), Some(Errno::ENOEXEC));
        let mut child = c.shell_fallback(true).spawn()?;
        let mut buf = [0u8; 512];
        let n = crate::io::read_full(child.stdout.take().unwrap(), &mut buf)?;
        assert!(child.wait()?.success());
        Ok::<_, Errno>(std::string::String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    let want = std::format!("{}|a b|c\n", script.display());
    assert_eq!(out(&mut Command::new(&path)), Ok(want.clone()));
    let dir_c = CString::new(dir.to_str().unwrap()).unwrap();
    let by_name = out(Command::new(c"plain").env(b"PATH", dir_c.as_bytes()));
    assert_eq!(by_name, Ok(want));
    // A damaged ELF file: the kernel's ENOEXEC sends it to the shell too (as glibc
    // does), which refuses it.
    std::fs::write(&script, [0x7f, b'E', b'L', b'F', 2, 1, 1, 0]).unwrap();
    let mut c = Command::new(&path);
    let status = c.shell_fallback(true).spawn().unwrap().wait().unwrap();
    assert!(!status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Like std's: a child gets SIGPIPE's default action though we ignore it (as a std
/// program, this test, does), unless the command's default set leaves it out.
#[test]
fn the_child_gets_sigpipe_back_unless_told() {
    let ignored = |line: std::string::String| {
        let bits = line.trim().strip_prefix("SigIgn:\t").unwrap();
        u64::from_str_radix(bits, 16).unwrap() & 1 << (Signal::PIPE.number() - 1) != 0
    };
    let ours = crate::signal::action(Signal::PIPE);
    assert!(matches!(
        ours.map(|a| a.handler),
        Ok(crate::signal::Handler::Ignore)
    ));
    let by_default = child_status(&mut Command::new(c"/bin/grep"), c"SigIgn");
    let kept = child_status(
        Command::new(c"/bin/grep").default_signals(SigSet::of(&[Signal::USR1])),
        c"SigIgn",
    );
    assert!(!ignored(by_default.clone()), "{by_default}");
    assert!(ignored(kept.clone()), "{kept}");
}

#[test]
fn debug_shows_the_program_arguments_and_changes() {
    let mut c = Command::new(c"/bin/echo");
    c.arg(c"a b")
        .arg(c"q\"")
        .env(b"K", b"v\n")
        .env_remove(b"GONE");
    let shown = std::format!("{c:?}");
    for part in [
        r#"program: "/bin/echo""#,
        r#"args: ["/bin/echo", "a b", "q\""]"#,
        r#"("K", Some("v\n")), ("GONE", None)"#,
    ] {
        assert!(shown.contains(part), "{part} not in {shown}");
    }
    // Shown twice alike (the environment's list is not used up by the first).
    assert_eq!(shown, std::format!("{c:?}"));
}

#[test]
fn a_command_built_on_one_thread_runs_from_another() {
    let mut c = Command::new(c"/bin/echo");
    c.args([c"from", c"a thread"]).stdout(Stdio::Pipe);
    let out = std::thread::spawn(move || {
        let mut child = c.spawn().unwrap();
        let mut out = [0u8; 64];
        let n = crate::io::read_full(child.stdout.as_ref().unwrap(), &mut out).unwrap();
        assert!(child.wait().unwrap().success());
        out[..n].to_vec()
    })
    .join()
    .unwrap();
    assert_eq!(out, b"from a thread\n");
}
