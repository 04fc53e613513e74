//! seccomp filters (BPF programs) installed in a child process before it runs.

use std::process::Command;

/// A BPF statement (`BPF_LD`, `BPF_RET`, ...) for a seccomp program.
pub fn bpf_stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A BPF `jeq k`: skip `jt` instructions if equal, `jf` if not.
pub fn bpf_jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// A seccomp program for processes of audit architecture `audit_arch` (others pass): each
/// rule (system call number, SECCOMP_RET_* action) applies its action; the rest is allowed.
pub fn seccomp_program(audit_arch: u32, rules: &[(i64, u32)]) -> Vec<libc::sock_filter> {
    use libc::{BPF_ABS, BPF_K, BPF_LD, BPF_RET, BPF_W};
    let (stmt, jeq) = (bpf_stmt, bpf_jeq);
    let mut p = vec![
        stmt(BPF_LD | BPF_W | BPF_ABS, 4), // seccomp_data.arch
        jeq(audit_arch, 1, 0),
        stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW),
        stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
    ];
    for &(nr, action) in rules {
        p.push(jeq(nr as u32, 0, 1));
        p.push(stmt(BPF_RET | BPF_K, action));
    }
    p.push(stmt(BPF_RET | BPF_K, libc::SECCOMP_RET_ALLOW));
    p
}

/// Installs `prog` in the child of `cmd` (after fork, before exec), with no_new_privs.
pub fn with_seccomp(cmd: &mut Command, prog: Vec<libc::sock_filter>) {
    use std::os::unix::process::CommandExt;
    let prog: &'static [libc::sock_filter] = prog.leak();
    let (addr, len) = (prog.as_ptr() as usize, prog.len() as u16);
    // SAFETY: the closure runs in the child between fork and exec and only makes two prctl
    // calls on memory prepared (and leaked, so alive) before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fprog = libc::sock_fprog {
                len,
                filter: addr as *mut libc::sock_filter,
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &fprog as *const _,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Installs `prog` on the calling thread alone (with no_new_privs): from now on its rules
/// bind this thread (a test's own, in a test binary run again as a child), no other.
#[allow(dead_code)] // Not every test binary that includes this module refuses calls so.
pub fn seccomp_this_thread(prog: &[libc::sock_filter]) {
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: two prctl calls on a live program, `fprog` and `prog` alive for them.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const _
            ),
            0
        );
    }
}

/// `AUDIT_ARCH_X86_64`: the `seccomp_data.arch` of this host's own system calls.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The i386 ABI's system calls the tests refuse (arch/x86/entry/syscalls/syscall_32.tbl),
/// and its `seccomp_data.arch`.
pub mod i386 {
    pub const AUDIT_ARCH: u32 = 0x4000_0003;
    pub const CLOCK_GETTIME32: i64 = 265;
    pub const CLOCK_GETRES32: i64 = 266;
    pub const CLOCK_NANOSLEEP32: i64 = 267;
    pub const FUTEX32: i64 = 240;
    pub const GETCPU: i64 = 318;
    pub const TIMERFD_SETTIME32: i64 = 325;
    pub const CLOCK_GETTIME64: i64 = 403;
    pub const CLOCK_GETRES_TIME64: i64 = 406;
    pub const CLOCK_NANOSLEEP_TIME64: i64 = 407;
    pub const TIMERFD_GETTIME64: i64 = 410;
    pub const TIMERFD_SETTIME64: i64 = 411;
    pub const FUTEX_TIME64: i64 = 422;
}
