//! The `__NR_*` numbers of this architecture for the calls a program is likely to make
//! through [`syscall0`](super::syscall0) ..= [`syscall6`](super::syscall6): files,
//! descriptors, memory, processes, signals, time and the few a small init or sandbox needs.
//! A curated set, not the kernel's whole table: tinyrt owns these names and their values
//! (the kernel's, which never change), so no other crate's version is part of tinyrt's API.
//! For a call not listed, take its number from `linux-raw-sys` (`general::__NR_*`) or
//! rustix's wrapper for it.
//!
//! Each is the kernel's own name, as `syscall(2)` and `unistd.h` spell it, and a `usize`,
//! what `syscallN` takes. On 32-bit architectures the plain time calls (`clock_gettime`,
//! `clock_nanosleep`, `futex`, ...) take 32-bit time; their 64-bit-time twins
//! (`__NR_clock_gettime64`, ...) are listed there only, as is `__NR_mmap2` where
//! `__NR_mmap` is missing or takes its offset in bytes.
//!
//! ```
//! use tinyrt_rt::syscall::{nr, syscall3};
//! let msg = b"hello\n";
//! // SAFETY: the kernel reads `msg.len()` bytes of `msg`.
//! let r = unsafe { syscall3(nr::__NR_write, 1, msg.as_ptr() as usize, msg.len()) };
//! assert_eq!(tinyrt_rt::Errno::from_ret(r), Ok(msg.len()));
//! ```
#![allow(non_upper_case_globals)]

/// `pub const __NR_x: usize` for each name, from linux-raw-sys (a private dependency).
macro_rules! numbers {
    ($($(#[$m:meta])* $name:ident)*) => {$(
        $(#[$m])*
        #[doc = concat!("`", stringify!($name), "`.")]
        pub const $name: usize = linux_raw_sys::general::$name as usize;
    )*};
}

// Files and descriptors.
numbers! {
    __NR_read __NR_write __NR_openat __NR_close __NR_lseek __NR_pread64 __NR_pwrite64
    __NR_readv __NR_writev __NR_dup __NR_dup3 __NR_pipe2 __NR_fcntl __NR_ioctl __NR_fsync
    __NR_ftruncate __NR_statx __NR_readlinkat __NR_mkdirat __NR_unlinkat __NR_renameat2
    __NR_linkat __NR_symlinkat __NR_fchmodat __NR_faccessat __NR_getdents64 __NR_getcwd
    __NR_chdir __NR_fchdir __NR_chroot __NR_umask __NR_memfd_create __NR_copy_file_range
    __NR_sendfile __NR_close_range __NR_eventfd2 __NR_epoll_create1 __NR_epoll_ctl
    __NR_epoll_pwait __NR_inotify_init1 __NR_signalfd4 __NR_timerfd_create __NR_ppoll
}

// Memory.
numbers! {
    __NR_munmap __NR_mprotect __NR_madvise __NR_mremap __NR_mincore __NR_brk
}

// Processes, signals, namespaces, the machine.
numbers! {
    __NR_getpid __NR_getppid __NR_gettid __NR_setsid __NR_setpgid __NR_getpgid __NR_clone
    __NR_execve __NR_execveat __NR_exit __NR_exit_group __NR_wait4 __NR_waitid
    __NR_pidfd_open __NR_pidfd_send_signal __NR_kill __NR_tgkill __NR_rt_sigaction
    __NR_rt_sigprocmask __NR_sigaltstack __NR_prctl __NR_prlimit64 __NR_sched_yield
    __NR_sched_getaffinity __NR_sched_setaffinity __NR_getcpu __NR_rseq __NR_getrandom
    __NR_uname __NR_mount __NR_umount2 __NR_pivot_root __NR_unshare __NR_setns __NR_seccomp
    __NR_reboot
}

// Time (32-bit time on 32-bit architectures: see the module's text), and futexes.
numbers! {
    __NR_clock_gettime __NR_clock_getres __NR_clock_nanosleep __NR_timerfd_settime
    __NR_timerfd_gettime __NR_rt_sigtimedwait __NR_futex
}

// `mmap` with its offset in bytes.
#[cfg(target_pointer_width = "64")]
numbers! { __NR_mmap }

// The 64-bit-time twins and `mmap2` (offset in pages).
#[cfg(target_pointer_width = "32")]
numbers! {
    __NR_mmap2 __NR_clock_gettime64 __NR_clock_getres_time64 __NR_clock_nanosleep_time64
    __NR_timerfd_settime64 __NR_timerfd_gettime64 __NR_rt_sigtimedwait_time64
    __NR_futex_time64 __NR_ppoll_time64
}
