//! A ptrace harness (x86_64 host): runs a program (64-bit, or 32-bit i386 under IA32
//! emulation), stops it at exec, optionally tampers with what the kernel gave it (removes
//! AT_SYSINFO_EHDR from its auxiliary vector, or renames a symbol in its vDSO), then counts
//! every system call it makes (by the tracee's own numbering).

use std::collections::HashMap;
use std::ffi::CString;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// What to change in the child at exec.
pub enum Tamper {
    /// Nothing.
    None,
    /// Rewrite the AT_SYSINFO_EHDR entry's key to AT_IGNORE: the program has no vDSO.
    HideVdso,
    /// Overwrite a NUL-terminated name in the vDSO's string table (same length).
    RenameInVdso(&'static [u8], &'static [u8]),
}

/// The outcome of a traced run.
pub struct Traced {
    /// Exit status, or 128 + signal.
    pub code: i32,
    pub stdout: String,
    /// System call number → number of calls.
    pub syscalls: HashMap<i64, usize>,
}

impl Traced {
    pub fn count(&self, nr: i64) -> usize {
        self.syscalls.get(&nr).copied().unwrap_or(0)
    }
}

/// Asserts how many times each system call of `want` (name, number, count) was made, as
/// `syscalls` (a run's `Traced::syscalls`) counted them.
pub fn assert_counts(syscalls: &HashMap<i64, usize>, want: &[(&str, i64, usize)]) {
    for &(name, nr, n) in want {
        let got = syscalls.get(&nr).copied().unwrap_or(0);
        assert_eq!(got, n, "{name} ({nr}) calls: {syscalls:?}");
    }
}

fn peek(pid: i32, addr: u64) -> u64 {
    // SAFETY: PTRACE_PEEKDATA reads a word of the stopped tracee; errors come back in errno.
    unsafe {
        *libc::__errno_location() = 0;
        let v = libc::ptrace(libc::PTRACE_PEEKDATA, pid, addr as *mut libc::c_void, 0);
        assert_eq!(*libc::__errno_location(), 0, "PEEKDATA {addr:#x}");
        v as u64
    }
}

fn poke(pid: i32, addr: u64, v: u64) {
    // SAFETY: PTRACE_POKEDATA writes a word of the stopped tracee.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_POKEDATA,
            pid,
            addr as *mut libc::c_void,
            v as *mut libc::c_void,
        )
    };
    assert_eq!(r, 0, "POKEDATA {addr:#x}");
}

/// The stopped tracee's registers.
pub fn regs(pid: i32) -> libc::user_regs_struct {
    // SAFETY: GETREGS fills the struct we own from the stopped tracee.
    unsafe {
        let mut r: libc::user_regs_struct = std::mem::zeroed();
        let rc = libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            0,
            &mut r as *mut _ as *mut libc::c_void,
        );
        assert_eq!(rc, 0, "GETREGS");
        r
    }
}

/// Starts `exe args` with an empty environment, traced, its stdout a pipe (whose read end
/// is returned), optionally under a seccomp program installed before the exec: it returns
/// with the child stopped at its exec, set to die with us (and to mark its system call stops).
pub fn start_traced(
    exe: &Path,
    args: &[&str],
    seccomp: Option<&[libc::sock_filter]>,
) -> (i32, std::fs::File) {
    use std::os::fd::FromRawFd;
    let fprog = seccomp.map(|p| libc::sock_fprog {
        len: p.len() as u16,
        filter: p.as_ptr() as *mut _,
    });
    let path = CString::new(exe.to_str().unwrap()).unwrap();
    let mut argv_c = vec![path.clone()];
    argv_c.extend(args.iter().map(|a| CString::new(*a).unwrap()));
    let mut argv: Vec<*const libc::c_char> = argv_c.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills fds; fork's child only calls async-signal-safe functions on
    // memory prepared before the fork.
    let pid = unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let pid = libc::fork();
        assert!(pid >= 0);
        if pid == 0 {
            libc::dup2(fds[1], 1);
            if let Some(f) = &fprog
                && (libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::SECCOMP_MODE_FILTER,
                        f as *const _,
                    ) != 0)
            {
                libc::_exit(126);
            }
            libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
            libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr());
            libc::_exit(127);
        }
        libc::close(fds[1]);
        pid
    };
    // SAFETY: fds[0] is the pipe's read end, ours alone from here.
    let stdout = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { assert_eq!(libc::waitpid(pid, &mut status, 0), pid) };
    assert!(
        libc::WIFSTOPPED(status) && libc::WSTOPSIG(status) == libc::SIGTRAP,
        "no exec stop: {status:#x}"
    );
    // SAFETY: options for our stopped tracee.
    unsafe {
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        assert_eq!(
            libc::ptrace(
                libc::PTRACE_SETOPTIONS,
                pid,
                0,
                opts as usize as *mut libc::c_void
            ),
            0
        );
    }
    (pid, stdout)
}

/// Runs `exe args` under the harness.
pub fn run_traced(exe: &Path, args: &[&str], tamper: Tamper) -> Traced {
    run_traced_with(exe, args, tamper, None)
}

/// `run_traced`, with a seccomp program installed in the child before it execs.
pub fn run_traced_with(
    exe: &Path,
    args: &[&str],
    tamper: Tamper,
    seccomp: Option<Vec<libc::sock_filter>>,
) -> Traced {
    let (pid, mut stdout) = start_traced(exe, args, seccomp.as_deref());
    let mut status = 0;

    // Walk the new stack to the auxiliary vector, in the tracee's word size.
    let w: u64 = if std::fs::read(exe).unwrap()[4] == 1 {
        4
    } else {
        8
    };
    let word = |addr: u64| {
        if w == 8 {
            peek(pid, addr)
        } else {
            peek(pid, addr) & 0xffff_ffff
        }
    };
    let sp = regs(pid).rsp;
    let argc = word(sp);
    let mut p = sp + w * (1 + argc + 1);
    while word(p) != 0 {
        p += w;
    }
    p += w;
    let mut found = false;
    loop {
        let key = word(p);
        if key == 0 {
            break;
        }
        if key == libc::AT_SYSINFO_EHDR {
            found = true;
            let base = word(p + w);
            match tamper {
                Tamper::None => {}
                Tamper::HideVdso => {
                    // Replace only the key word (the low half of an 8-byte peek on i386).
                    let old = peek(pid, p);
                    let keep = if w == 8 { 0 } else { old & !0xffff_ffff };
                    poke(pid, p, keep | libc::AT_IGNORE);
                }
                Tamper::RenameInVdso(from, to) => rename(pid, base, from, to),
            }
        }
        p += 2 * w;
    }
    assert!(found, "the kernel gave no AT_SYSINFO_EHDR to tamper with");

    // Count system calls until the child ends.
    let mut syscalls = HashMap::new();
    let mut entering = true;
    let mut deliver = 0;
    let code = loop {
        // SAFETY: resume our stopped tracee until the next system call stop.
        unsafe {
            assert_eq!(
                libc::ptrace(
                    libc::PTRACE_SYSCALL,
                    pid,
                    0,
                    deliver as usize as *mut libc::c_void
                ),
                0
            )
        };
        deliver = 0;
        // SAFETY: waiting for our own child.
        unsafe { assert_eq!(libc::waitpid(pid, &mut status, 0), pid) };
        if libc::WIFEXITED(status) {
            break libc::WEXITSTATUS(status);
        }
        if libc::WIFSIGNALED(status) {
            break 128 + libc::WTERMSIG(status);
        }
        let sig = libc::WSTOPSIG(status);
        if sig == libc::SIGTRAP | 0x80 {
            if entering {
                *syscalls.entry(regs(pid).orig_rax as i64).or_insert(0) += 1;
            }
            entering = !entering;
        } else {
            deliver = sig;
        }
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
    Traced {
        code,
        stdout: out,
        syscalls,
    }
}

/// Overwrites `from` (NUL-delimited on both sides) in the tracee's vDSO with `to`.
fn rename(pid: i32, base: u64, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .unwrap();
    let mut image = Vec::new();
    let mut page = [0u8; 4096];
    while mem
        .read_exact_at(&mut page, base + image.len() as u64)
        .is_ok()
        && image.len() < 1 << 16
    {
        image.extend_from_slice(&page);
    }
    let mut needle = vec![0u8];
    needle.extend_from_slice(from);
    needle.push(0);
    let at = image
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("name not in the vDSO")
        + 1;
    // /proc/pid/mem writes reach read-only pages of a ptrace-stopped tracee (copy on write).
    mem.write_all_at(to, base + at as u64).unwrap();
}
