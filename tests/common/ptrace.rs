//! A ptrace harness (x86_64 host): runs a program (64-bit, or 32-bit i386 under IA32
//! emulation), stops it at exec, optionally tampers with what the kernel gave it (removes
//! AT_SYSINFO_EHDR from its auxiliary vector, rewrites or removes other entries, renames a
//! symbol in its vDSO or replaces the image), then counts every system call it makes (by
//! the tracee's own numbering) and keeps each one's arguments and result.

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
    /// Rewrite auxiliary-vector entries: (key, Some(value)) sets the value of the entry with
    /// that key, (key, None) turns its key into AT_IGNORE. Each key must be there.
    Auxv(&'static [(u64, Option<u64>)]),
    /// Write this image file over the start of the vDSO mapping (at most its size), and turn
    /// AT_SYSINFO (i386's `__kernel_vsyscall`, which the new image may cover) into
    /// AT_IGNORE: the program then enters the kernel with `int $0x80`.
    ReplaceVdso(std::path::PathBuf),
}

/// One system call the tracee made: its number, its six argument registers (the tracee's
/// own order: rdi, rsi, rdx, r10, r8, r9; on i386 ebx, ecx, edx, esi, edi, ebp) and what it
/// returned (None if the tracee ended inside it).
#[derive(Clone, Debug)]
pub struct Call {
    pub nr: i64,
    pub args: [u64; 6],
    pub ret: Option<i64>,
}

/// The outcome of a traced run.
pub struct Traced {
    /// Exit status, or 128 + signal.
    pub code: i32,
    pub stdout: String,
    /// System call number → number of calls.
    pub syscalls: HashMap<i64, usize>,
    /// Every system call, in order.
    pub calls: Vec<Call>,
}

impl Traced {
    pub fn count(&self, nr: i64) -> usize {
        self.syscalls.get(&nr).copied().unwrap_or(0)
    }

    /// The calls of number `nr`.
    pub fn calls_of(&self, nr: i64) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.nr == nr).collect()
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
    start_traced_env(exe, args, &[], seccomp)
}

/// `start_traced` with the environment `env` ("NAME=value" each).
fn start_traced_env(
    exe: &Path,
    args: &[&str],
    env: &[String],
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
    let env_c: Vec<CString> = env
        .iter()
        .map(|e| CString::new(e.as_str()).unwrap())
        .collect();
    let mut envp: Vec<*const libc::c_char> = env_c.iter().map(|c| c.as_ptr()).collect();
    envp.push(std::ptr::null());
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
    run_traced_full(exe, args, &[], tamper, seccomp)
}

/// `run_traced` with the environment `env` ("NAME=value" each).
pub fn run_traced_env(exe: &Path, args: &[&str], env: &[String], tamper: Tamper) -> Traced {
    run_traced_full(exe, args, env, tamper, None)
}

fn run_traced_full(
    exe: &Path,
    args: &[&str],
    env: &[String],
    tamper: Tamper,
    seccomp: Option<Vec<libc::sock_filter>>,
) -> Traced {
    let (pid, mut stdout) = start_traced_env(exe, args, env, seccomp.as_deref());
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
    // Replace only an entry's key word (the low half of an 8-byte peek on i386).
    let set_key = |at: u64, key: u64| {
        let keep = if w == 8 {
            0
        } else {
            peek(pid, at) & !0xffff_ffff
        };
        poke(pid, at, keep | key);
    };
    let set_value = |at: u64, value: u64| {
        let keep = if w == 8 {
            0
        } else {
            peek(pid, at) & !0xffff_ffff
        };
        poke(pid, at, keep | value);
    };
    let mut found = false;
    let mut rewritten = Vec::new();
    loop {
        let key = word(p);
        if key == 0 {
            break;
        }
        if key == libc::AT_SYSINFO_EHDR {
            found = true;
            let base = word(p + w);
            match &tamper {
                Tamper::HideVdso => set_key(p, libc::AT_IGNORE),
                Tamper::RenameInVdso(from, to) => rename(pid, base, from, to),
                Tamper::ReplaceVdso(image) => replace(pid, base, image),
                Tamper::None | Tamper::Auxv(_) => {}
            }
        }
        // AT_SYSINFO (32): i386's entry into the kernel, inside the vDSO.
        if key == 32 && matches!(tamper, Tamper::ReplaceVdso(_)) {
            set_key(p, libc::AT_IGNORE);
        }
        if let Tamper::Auxv(entries) = &tamper
            && let Some(&(k, v)) = entries.iter().find(|e| e.0 == key)
        {
            match v {
                Some(v) => set_value(p + w, v),
                None => set_key(p, libc::AT_IGNORE),
            }
            rewritten.push(k);
        }
        p += 2 * w;
    }
    assert!(found, "the kernel gave no AT_SYSINFO_EHDR to tamper with");
    if let Tamper::Auxv(entries) = &tamper {
        for (k, _) in entries.iter() {
            assert!(rewritten.contains(k), "the kernel gave no auxv entry {k}");
        }
    }

    // Count system calls until the child ends.
    let mut syscalls = HashMap::new();
    let mut calls = Vec::new();
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
            let r = regs(pid);
            if entering {
                *syscalls.entry(r.orig_rax as i64).or_insert(0) += 1;
                let args = if w == 8 {
                    [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
                } else {
                    [r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp].map(|a| a & 0xffff_ffff)
                };
                calls.push(Call {
                    nr: r.orig_rax as i64,
                    args,
                    ret: None,
                });
            } else if let Some(c) = calls.last_mut() {
                c.ret = Some(if w == 8 {
                    r.rax as i64
                } else {
                    i64::from(r.rax as u32 as i32)
                });
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
        calls,
    }
}

/// Writes the image file `image` over the tracee's vDSO at `base` (its mapping must hold it).
fn replace(pid: i32, base: u64, image: &Path) {
    let bytes = std::fs::read(image).unwrap();
    let mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("/proc/{pid}/mem"))
        .unwrap();
    // The mapping's end, from the tracee's maps.
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let end = maps
        .lines()
        .find(|l| l.starts_with(&format!("{base:x}-")))
        .and_then(|l| u64::from_str_radix(l.split(['-', ' ']).nth(1)?, 16).ok())
        .expect("the vDSO mapping in /proc/PID/maps");
    assert!(
        bytes.len() as u64 <= end - base,
        "{image:?} does not fit the vDSO's {} bytes",
        end - base
    );
    mem.write_all_at(&bytes, base).unwrap();
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

/// Runs the test `name` of the calling test binary again, alone, under the harness, with
/// `__vdso_getrandom` renamed in its vDSO at exec: the process sees what a kernel before
/// 6.11 gives (no vDSO getrandom; pyelftools on its own vDSO agrees). `child` is set in its
/// environment (the test's way to know it is the re-run), and PATH (for pyelftools). Its
/// libtest output (`--nocapture`: the test's own prints too) after checking it passed.
pub fn rerun_without_vdso_getrandom(name: &str, child: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let env = [
        format!("PATH={}", std::env::var("PATH").unwrap_or_default()),
        format!("{child}=1"),
    ];
    let t = run_traced_env(
        &exe,
        &[name, "--exact", "--nocapture", "--test-threads=1"],
        &env,
        Tamper::RenameInVdso(b"__vdso_getrandom", b"__vdso_getrandoX"),
    );
    assert!(
        t.code == 0 && t.stdout.contains("test result: ok. 1 passed"),
        "{name} without a vDSO getrandom: exit {}: {}",
        t.code,
        t.stdout
    );
    t.stdout
}
