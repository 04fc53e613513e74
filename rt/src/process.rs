//! This process (its id, ending it, subreaper and parent-death settings) and other
//! programs: [`Command`] starts one, [`Child`] and [`wait_any`] collect how they ended.
//!
//! [`Command`] is shaped like std's, without allocation: a program (absolute, or searched
//! in `PATH` like `execvp`), up to [`MAX_ARGS`] arguments borrowed from the caller (or the
//! rest of our own argv, [`Command::from_args`], without limit), the environment (inherited,
//! cleared, changed), a working directory, standard input/output/error (inherited, null, a
//! descriptor, a pipe), a process group, and the signal mask and dispositions in the child.
//!
//! It starts the child with `clone(CLONE_VM | CLONE_VFORK)` (per-architecture asm in
//! `arch`): the child shares our memory on a stack of its own and we are suspended until it
//! execs or exits, so nothing is copied. Before `clone` every signal is blocked; the child
//! gives every signal that has a handler its default action before it sets its own mask, then
//! makes only system calls (no allocation, no lock, nothing of ours) up to `execve`. An
//! exec that fails sends its errno back through a close-on-exec pipe: [`Command::spawn`]
//! returns it (ENOENT, EACCES, ENOEXEC, ...) after reaping the child, so none is left
//! behind. Learned from musl's `posix_spawn` and the kernel's `clone` documentation.
//!
//! In library mode (inside a std program) tinyrt has no view of libc's environment: an
//! inherited environment is empty there, `PATH` is the default one, and
//! [`Command::from_args`] answers `None`. Set what the child needs with [`Command::env`].
//!
//! # Safety
//!
//! The child runs on a buffer in `spawn`'s frame, which outlives it (we are suspended until
//! it execs or exits), and reads only the `ChildPlan` that frame owns; every pointer the
//! plan holds is to a NUL-terminated string or NULL-terminated array alive for the call.
//! System calls elsewhere here pass pointers to values they borrow for the call.
#![allow(unsafe_code)]

use crate::arch::{syscall1, syscall2, syscall3, syscall4};
use crate::errno::Errno;
use crate::io::Fd;
use crate::signal::{SigSet, Signal};
use core::ffi::{CStr, c_char, c_void};
use core::mem::MaybeUninit;
use linux_raw_sys::general as g;

/// The handler values of the default action and of ignoring.
const SIG_DFL: usize = 0;
const SIG_IGN: usize = 1;

/// Ends the process (every thread) with `code`; the parent sees `code & 0xff`. Nothing
/// runs first: no destructors, no buffers to flush (tinyrt has none).
#[inline]
pub fn exit(code: i32) -> ! {
    crate::arch::exit_group(code)
}

/// This process's id.
pub fn id() -> u32 {
    // SAFETY: getpid takes no arguments and cannot fail.
    (unsafe { crate::arch::syscall0(g::__NR_getpid as usize) }) as u32
}

/// The parent's process id.
pub fn parent_id() -> u32 {
    // SAFETY: getppid takes no arguments and cannot fail.
    (unsafe { crate::arch::syscall0(g::__NR_getppid as usize) }) as u32
}

fn prctl(option: u32, arg: usize) -> Result<usize, Errno> {
    // SAFETY: the options used here take an integer (or, GET_CHILD_SUBREAPER, a pointer to
    // an int we own).
    Errno::from_ret(unsafe { syscall2(g::__NR_prctl as usize, option as usize, arg) })
}

/// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`): orphaned descendants
/// are re-parented to it instead of to PID 1, so it can reap them.
pub fn set_child_subreaper(on: bool) -> Result<(), Errno> {
    prctl(linux_raw_sys::prctl::PR_SET_CHILD_SUBREAPER, on as usize).map(|_| ())
}

/// Whether this process is a child subreaper.
pub fn is_child_subreaper() -> Result<bool, Errno> {
    let mut v: i32 = 0;
    prctl(
        linux_raw_sys::prctl::PR_GET_CHILD_SUBREAPER,
        &mut v as *mut i32 as usize,
    )?;
    Ok(v != 0)
}

/// The signal this process gets when its parent ends (`PR_SET_PDEATHSIG`; `None`: none).
pub fn set_parent_death_signal(sig: Option<Signal>) -> Result<(), Errno> {
    let n = sig.map_or(0, Signal::number) as usize;
    prctl(linux_raw_sys::prctl::PR_SET_PDEATHSIG, n).map(|_| ())
}

/// How a child ended (or stopped): the raw `wait` status.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// From a raw `wait` status.
    pub const fn from_raw(raw: i32) -> ExitStatus {
        ExitStatus(raw)
    }

    /// The raw `wait` status.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The exit code, if the child exited.
    pub const fn code(self) -> Option<i32> {
        if self.0 & 0x7f == 0 {
            Some((self.0 >> 8) & 0xff)
        } else {
            None
        }
    }

    /// The signal that ended the child, if one did.
    pub const fn signal(self) -> Option<Signal> {
        match self.0 & 0x7f {
            0 | 0x7f => None,
            n => Signal::new(n),
        }
    }

    /// Whether the ending signal dumped core.
    pub const fn core_dumped(self) -> bool {
        self.signal().is_some() && self.0 & 0x80 != 0
    }

    /// Whether the child exited with code 0.
    pub const fn success(self) -> bool {
        self.0 == 0
    }

    /// The shell's number for it: the exit code, or 128 plus the signal.
    pub const fn shell_code(self) -> i32 {
        match (self.code(), self.signal()) {
            (Some(c), _) => c,
            (None, Some(s)) => 128 + s.number(),
            (None, None) => 128,
        }
    }
}

/// `wait4(pid, &status, flags, NULL)`, retried on EINTR: `Ok(None)` for WNOHANG with
/// nothing to report.
fn wait4(pid: i32, flags: u32) -> Result<Option<(u32, ExitStatus)>, Errno> {
    loop {
        let mut status: i32 = 0;
        // SAFETY: the kernel writes one int into `status`; no rusage.
        let r = Errno::from_ret(unsafe {
            syscall4(
                g::__NR_wait4 as usize,
                pid as isize as usize,
                &mut status as *mut i32 as usize,
                flags as usize,
                0,
            )
        });
        match r {
            Ok(0) => return Ok(None),
            Ok(p) => return Ok(Some((p as u32, ExitStatus(status)))),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Waits for any child to end and reaps it: its pid and status. ECHILD when there is none.
pub fn wait_any() -> Result<(u32, ExitStatus), Errno> {
    wait4(-1, 0).map(|r| r.unwrap_or((0, ExitStatus(0))))
}

/// Reaps a child that has ended, without waiting: `Ok(None)` when children remain but none
/// has ended; ECHILD when there is none.
pub fn try_wait_any() -> Result<Option<(u32, ExitStatus)>, Errno> {
    wait4(-1, g::WNOHANG)
}

/// An owned file descriptor from [`pipe`] or [`Stdio::Pipe`]: closed when dropped.
#[derive(Debug)]
pub struct OwnedFd(Fd);

impl OwnedFd {
    /// The descriptor.
    pub fn as_raw_fd(&self) -> Fd {
        self.0
    }

    /// Gives the descriptor up without closing it.
    pub fn into_raw_fd(self) -> Fd {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }

    /// Reads into `buf`, retrying on EINTR: the number of bytes, 0 at end of file.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        loop {
            match crate::sys::read(self.0.0, buf) {
                Err(Errno::EINTR) => continue,
                r => return r,
            }
        }
    }

    /// Reads until end of file or until `buf` is full: the number of bytes.
    pub fn read_full(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut n = 0;
        while n < buf.len() {
            match self.read(buf.get_mut(n..).unwrap_or_default())? {
                0 => break,
                k => n += k,
            }
        }
        Ok(n)
    }

    /// Writes all of `buf`.
    pub fn write_all(&self, buf: &[u8]) -> Result<(), Errno> {
        crate::io::write_all(self.0, buf)
    }
}

impl Drop for OwnedFd {
    fn drop(&mut self) {
        let _ = crate::sys::close(self.0.0);
    }
}

/// A pipe, both ends close-on-exec: (read end, write end).
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into `fds`.
    Errno::from_ret(unsafe {
        syscall2(
            g::__NR_pipe2 as usize,
            fds.as_mut_ptr() as usize,
            g::O_CLOEXEC as usize,
        )
    })?;
    Ok((OwnedFd(Fd(fds[0])), OwnedFd(Fd(fds[1]))))
}

/// Makes `new` a copy of `old` (closing what `new` was), without close-on-exec; for
/// `old == new`, clears close-on-exec (EBADF if `old` is not open).
pub fn dup2(old: Fd, new: Fd) -> Result<(), Errno> {
    // SAFETY: no pointers.
    Errno::from_ret(unsafe { raw_dup2(old.0, new.0) }).map(|_| ())
}

/// `dup2` from `dup3` (which every architecture has) and `fcntl`: the raw result.
///
/// # Safety
/// None beyond the system calls' own: no pointers. Async-signal-safe (the child uses it).
#[inline(always)]
unsafe fn raw_dup2(old: i32, new: i32) -> usize {
    if old == new {
        // SAFETY: no pointers.
        return unsafe { syscall3(g::__NR_fcntl as usize, old as usize, g::F_SETFD as usize, 0) };
    }
    // SAFETY: no pointers.
    unsafe { syscall3(g::__NR_dup3 as usize, old as usize, new as usize, 0) }
}

/// What a child's standard input, output or error is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdio {
    /// Ours.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A copy of this descriptor (it stays ours).
    Fd(Fd),
    /// A new pipe; our end is in [`Child::stdin`], [`Child::stdout`] or [`Child::stderr`].
    Pipe,
}

/// The most arguments [`Command::arg`] keeps (`argv[0]` included); more make `spawn` fail
/// with E2BIG. [`Command::from_args`] has no limit.
pub const MAX_ARGS: usize = 32;
/// The most environment changes ([`Command::env`], [`Command::env_remove`]) a command
/// keeps; more make `spawn` fail with E2BIG.
pub const MAX_ENV_CHANGES: usize = 16;

/// Where the argument vector comes from. (No allocation: the listed arguments live inline,
/// whichever variant is used.)
#[derive(Clone, Copy)]
#[allow(clippy::large_enum_variant)]
enum Argv<'a> {
    /// Ours, with `len` entries.
    Listed([Option<&'a CStr>; MAX_ARGS], usize, bool),
    /// The rest of the process's own argv, already NULL-terminated.
    Process(*const *const c_char),
}

/// A program to start, and how: see the module documentation.
#[derive(Clone, Copy)]
pub struct Command<'a> {
    program: &'a CStr,
    argv: Argv<'a>,
    /// Builds the `argv` of a listed one: set by `new`, so that a program that only runs
    /// its own arguments carries none of that code.
    listed: Option<ListedFn>,
    /// (name, Some(value)) to set, (name, None) to remove.
    env: [(&'a [u8], Option<&'a [u8]>); MAX_ENV_CHANGES],
    env_len: usize,
    env_overflow: bool,
    env_clear: bool,
    cwd: Option<&'a CStr>,
    stdio: [Stdio; 3],
    pgroup: Option<i32>,
    foreground: bool,
    mask: Option<SigSet>,
    defaults: SigSet,
    /// Builds a changed environment: set by the methods that change it, so that a program
    /// that never does carries none of that code.
    env_hook: Option<EnvHook>,
    /// Opens pipes and /dev/null: set by the methods that ask for them, likewise.
    stdio_hook: Option<StdioHook>,
}

/// Writes a listed argument vector, NULL-terminated, into the buffer: its address.
type ListedFn =
    for<'a, 'b> fn(&'b Command<'a>, &'b mut ArgvBuf) -> Result<*const *const c_char, Errno>;

/// Room for a listed argument vector and its NULL, left uninitialised until one is built.
type ArgvBuf = [MaybeUninit<*const c_char>; MAX_ARGS + 1];

/// The listed arguments, then NULL (the buffer has room for one more than the list).
fn listed_argv<'a, 'b>(
    c: &'b Command<'a>,
    argv_buf: &'b mut ArgvBuf,
) -> Result<*const *const c_char, Errno> {
    let Argv::Listed(list, len, overflow) = &c.argv else {
        return Err(Errno::EINVAL);
    };
    if *overflow {
        return Err(Errno::E2BIG);
    }
    let mut slots = argv_buf.iter_mut();
    for (slot, a) in slots.by_ref().zip(list.iter().take(*len)) {
        slot.write(a.map_or(core::ptr::null(), CStr::as_ptr));
    }
    if let Some(slot) = slots.next() {
        slot.write(core::ptr::null());
    }
    // The first `len + 1` entries (all that execve reads, up to the NULL) are written.
    Ok(argv_buf.as_ptr() as *const *const c_char)
}

/// Builds the changed environment; finds the `PATH` it gives the search.
#[derive(Clone, Copy)]
struct EnvHook {
    build: fn(&Command<'_>, &mut Scratch) -> Result<*const *const c_char, Errno>,
    search: for<'a> fn(&Command<'a>) -> Option<&'a [u8]>,
}

/// What the methods that change the environment set.
const CHANGED_ENV: EnvHook = EnvHook {
    build: changed_environment,
    search: changed_search_path,
};
/// Opens what the streams need (in the parent); installs them (in the child).
#[derive(Clone, Copy)]
struct StdioHook {
    open: fn(&Command<'_>, &mut Streams) -> Result<(), Errno>,
    install: InstallFn,
}

/// Puts the child's streams in place (in the child).
type InstallFn = unsafe fn(&[i32; 3]) -> Option<Errno>;

/// What the methods that set a stream other than `Inherit` set.
const STDIO: StdioHook = StdioHook {
    open: open_streams,
    install: install_streams,
};

impl<'a> Command<'a> {
    /// Runs `program` (with `/`: that file; without: the first match in `PATH`, like
    /// `execvp` but without its /bin/sh fallback for ENOEXEC, as in musl), with `program`
    /// as `argv[0]` and no other argument. The `PATH` searched is the child's when the
    /// command changes it (as std does), else ours.
    #[inline]
    pub fn new(program: &'a CStr) -> Command<'a> {
        let mut list = [None; MAX_ARGS];
        list[0] = Some(program);
        let mut c = Command::with(program, Argv::Listed(list, 1, false));
        c.listed = Some(listed_argv);
        c
    }

    /// A command for `program` with this argument vector and everything else as `new`
    /// leaves it.
    #[inline(always)]
    fn with(program: &'a CStr, argv: Argv<'a>) -> Command<'a> {
        Command {
            program,
            argv,
            listed: None,
            env: [(&[], None); MAX_ENV_CHANGES],
            env_len: 0,
            env_overflow: false,
            env_clear: false,
            cwd: None,
            stdio: [Stdio::Inherit; 3],
            pgroup: None,
            foreground: false,
            mask: None,
            defaults: SigSet::EMPTY,
            env_hook: None,
            stdio_hook: None,
        }
    }

    /// Runs the rest of this process's arguments: the first is the program (and `argv[0]`),
    /// the others its arguments, passed on without copying (no limit). `None` if `args` is
    /// empty, was taken from the back, or (library mode) is not the kernel's.
    #[inline]
    pub fn from_args(args: crate::env::Args) -> Option<Command<'static>> {
        let argv = args.as_argv()?;
        let program = args.clone().next()?;
        Some(Command::with(program, Argv::Process(argv)))
    }

    /// Adds an argument (up to [`MAX_ARGS`]; a command made by [`Command::from_args`] takes
    /// no more: its arguments are the process's own, and this is ignored).
    pub fn arg(&mut self, arg: &'a CStr) -> &mut Command<'a> {
        if let Argv::Listed(list, len, overflow) = &mut self.argv {
            match list.get_mut(*len) {
                Some(slot) => {
                    *slot = Some(arg);
                    *len += 1;
                }
                None => *overflow = true,
            }
        }
        self
    }

    /// Adds arguments.
    pub fn args(&mut self, args: impl IntoIterator<Item = &'a CStr>) -> &mut Command<'a> {
        for a in args {
            self.arg(a);
        }
        self
    }

    fn env_change(&mut self, name: &'a [u8], value: Option<&'a [u8]>) -> &mut Command<'a> {
        self.env_hook = Some(CHANGED_ENV);
        match self.env.get_mut(self.env_len) {
            Some(slot) => {
                *slot = (name, value);
                self.env_len += 1;
            }
            None => self.env_overflow = true,
        }
        self
    }

    /// Sets `name` to `value` in the child's environment. A name with `=` or NUL, or a
    /// value with NUL, makes `spawn` fail with EINVAL.
    pub fn env(&mut self, name: &'a [u8], value: &'a [u8]) -> &mut Command<'a> {
        self.env_change(name, Some(value))
    }

    /// Removes `name` from the child's environment.
    pub fn env_remove(&mut self, name: &'a [u8]) -> &mut Command<'a> {
        self.env_change(name, None)
    }

    /// Starts the child's environment empty (what `env` sets after this still counts).
    pub fn env_clear(&mut self) -> &mut Command<'a> {
        self.env_clear = true;
        self.env_len = 0;
        self.env_overflow = false;
        self.env_hook = Some(CHANGED_ENV);
        self
    }

    /// Runs the child in `dir`. (A relative program is still searched in our `PATH`, and
    /// a relative path with `/` is taken from `dir`, as `chdir` then `execve` do.)
    pub fn current_dir(&mut self, dir: &'a CStr) -> &mut Command<'a> {
        self.cwd = Some(dir);
        self
    }

    /// The child's standard input.
    pub fn stdin(&mut self, s: Stdio) -> &mut Command<'a> {
        self.set_stdio(0, s)
    }

    /// The child's standard output.
    pub fn stdout(&mut self, s: Stdio) -> &mut Command<'a> {
        self.set_stdio(1, s)
    }

    /// The child's standard error.
    pub fn stderr(&mut self, s: Stdio) -> &mut Command<'a> {
        self.set_stdio(2, s)
    }

    fn set_stdio(&mut self, i: usize, s: Stdio) -> &mut Command<'a> {
        if let Some(slot) = self.stdio.get_mut(i) {
            *slot = s;
        }
        if s != Stdio::Inherit {
            self.stdio_hook = Some(STDIO);
        }
        self
    }

    /// Puts the child in process group `pgid` (0: a new group, led by the child).
    pub fn process_group(&mut self, pgid: i32) -> &mut Command<'a> {
        self.pgroup = Some(pgid);
        self
    }

    /// Makes the child's process group the terminal's foreground group (`tcsetpgrp` on
    /// its standard input), where there is a terminal (no terminal is not an error).
    pub fn foreground(&mut self, on: bool) -> &mut Command<'a> {
        self.foreground = on;
        self
    }

    /// The child's signal mask (default: ours when `spawn` is called).
    pub fn signal_mask(&mut self, mask: SigSet) -> &mut Command<'a> {
        self.mask = Some(mask);
        self
    }

    /// Signals to give their default action in the child (ignored ones stay ignored across
    /// execve otherwise; every signal with a handler is always reset).
    pub fn default_signals(&mut self, set: SigSet) -> &mut Command<'a> {
        self.defaults = set;
        self
    }

    /// Starts the child. (Inlined where it can be: a program that spawns once then keeps
    /// only the parts of `spawn` its command uses.)
    #[inline]
    pub fn spawn(&self) -> Result<Child, Errno> {
        spawn(self)
    }

    /// Starts the child and waits for it to end.
    pub fn status(&self) -> Result<ExitStatus, Errno> {
        let mut c = self.spawn()?;
        drop(c.stdin.take());
        c.wait()
    }

    /// Replaces this process with the program (standard streams set as asked; a pipe is
    /// EINVAL). Returns only on failure, with why; by then the process may already have
    /// what the command asked for (handlers reset, mask, directory, streams), as after a
    /// failed `execve` in C.
    pub fn exec(&self) -> Errno {
        if self.stdio.contains(&Stdio::Pipe) {
            return Errno::EINVAL;
        }
        let mut scratch = Scratch::EMPTY;
        let mut argv_buf: ArgvBuf = [const { MaybeUninit::uninit() }; MAX_ARGS + 1];
        let mut streams = Streams {
            ours: [None, None, None],
            theirs: [None, None, None],
            fds: [-1; 3],
        };
        if let Some(hook) = self.stdio_hook
            && let Err(e) = (hook.open)(self, &mut streams)
        {
            return e;
        }
        let mut plan = match plan(self, &mut argv_buf, &mut scratch, streams.fds, -1) {
            Ok(p) => p,
            Err(e) => return e,
        };
        // As in `spawn`: nothing may arrive while handlers are being reset (and a blocked
        // SIGTTOU lets `foreground` take the terminal instead of stopping us).
        let before = match crate::signal::set_mask(SigSet::FULL) {
            Ok(m) => m,
            Err(e) => return e,
        };
        plan.mask = self.mask.unwrap_or(before);
        // SAFETY: the plan's pointers are alive in this frame; on success nothing returns.
        let e = unsafe { run_plan(&plan) };
        let _ = crate::signal::set_mask(before);
        drop(streams);
        e
    }
}

/// A started child.
#[derive(Debug)]
pub struct Child {
    pid: u32,
    status: Option<ExitStatus>,
    /// Our end of its standard input, when that is [`Stdio::Pipe`].
    pub stdin: Option<OwnedFd>,
    /// Our end of its standard output, when that is [`Stdio::Pipe`].
    pub stdout: Option<OwnedFd>,
    /// Our end of its standard error, when that is [`Stdio::Pipe`].
    pub stderr: Option<OwnedFd>,
}

impl Child {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.pid
    }

    /// Waits for it to end (closing nothing) and reaps it; its status. Again after that:
    /// the same status.
    pub fn wait(&mut self) -> Result<ExitStatus, Errno> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let (_, s) = wait4(self.pid as i32, 0)?.ok_or(Errno::ECHILD)?;
        self.status = Some(s);
        Ok(s)
    }

    /// Its status if it has ended (reaping it), else `None`.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, Errno> {
        if let Some(s) = self.status {
            return Ok(Some(s));
        }
        let r = wait4(self.pid as i32, g::WNOHANG)?.map(|(_, s)| s);
        self.status = r;
        Ok(r)
    }

    /// Sends it SIGKILL (nothing once [`Child::wait`] or [`Child::try_wait`] has reaped it;
    /// after [`wait_any`] reaped it, its pid may be another process's: do not).
    pub fn kill(&mut self) -> Result<(), Errno> {
        match self.status {
            Some(_) => Ok(()),
            None => crate::signal::kill(self.pid as i32, Signal::KILL),
        }
    }
}

/// What the child does, prepared by the parent: pointers into the parent's frame only.
struct ChildPlan<'a> {
    /// The program: a path, or a name to search for in `search`.
    program: *const c_char,
    program_len: usize,
    /// `PATH` (when the program has no `/`).
    search: Option<&'a [u8]>,
    argv: *const *const c_char,
    envp: *const *const c_char,
    cwd: *const c_char,
    /// What becomes fd 0, 1, 2 (-1: stays).
    fds: [i32; 3],
    /// Puts `fds` in place (`None`: every stream is inherited).
    install: Option<InstallFn>,
    pgroup: Option<i32>,
    foreground: bool,
    mask: SigSet,
    defaults: SigSet,
    /// The write end of the error pipe (-1 for `exec`).
    report: i32,
}

/// Memory for a changed environment: the pointer array and the `NAME=value` strings.
struct Scratch {
    addr: usize,
    len: usize,
}

impl Scratch {
    const EMPTY: Scratch = Scratch { addr: 0, len: 0 };
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: our own mapping, no longer used (the child has exec'd or exited).
            let _ = unsafe { crate::sys::munmap(self.addr, self.len) };
        }
    }
}

/// An empty environment.
static EMPTY: [usize; 1] = [0];

/// The environment the child gets: ours (no copy), or a changed one built in `scratch`.
#[inline]
fn environment(c: &Command<'_>, scratch: &mut Scratch) -> Result<*const *const c_char, Errno> {
    match c.env_hook {
        Some(hook) => (hook.build)(c, scratch),
        None => Ok(crate::env::vars()
            .as_envp()
            .unwrap_or(EMPTY.as_ptr() as *const *const c_char)),
    }
}

/// A changed environment, in `scratch` (a mapping of its own) unless it is ours or empty.
fn changed_environment(
    c: &Command<'_>,
    scratch: &mut Scratch,
) -> Result<*const *const c_char, Errno> {
    let changes = c.env.get(..c.env_len).unwrap_or_default();
    if c.env_overflow {
        return Err(Errno::E2BIG);
    }
    for (name, value) in changes {
        if name.is_empty() || name.contains(&b'=') || name.contains(&0) {
            return Err(Errno::EINVAL);
        }
        if value.is_some_and(|v| v.contains(&0)) {
            return Err(Errno::EINVAL);
        }
    }
    if changes.is_empty() && c.env_clear {
        return Ok(EMPTY.as_ptr() as *const *const c_char);
    }
    let ours = || crate::env::vars().filter(|_| !c.env_clear);
    let changed = |entry: &CStr| {
        let b = entry.to_bytes();
        let name = b.split(|&x| x == b'=').next().unwrap_or(b);
        changes.iter().any(|(n, _)| *n == name)
    };
    let kept = ours().filter(|e| !changed(e)).count();
    let set = changes.iter().filter(|(_, v)| v.is_some()).count();
    let strings: usize = changes
        .iter()
        .map(|(n, v)| v.map_or(0, |v| n.len() + v.len() + 2))
        .sum();
    let ptrs = (kept + set + 1) * size_of::<usize>();
    let len = (ptrs + strings).next_multiple_of(4096);
    scratch.addr = crate::sys::mmap_anonymous(
        len,
        g::PROT_READ | g::PROT_WRITE,
        g::MAP_PRIVATE | g::MAP_ANONYMOUS,
    )?;
    scratch.len = len;
    // SAFETY: our fresh mapping of `len` bytes: `ptrs` bytes of pointers, then the strings.
    let (table, text) = unsafe {
        (
            core::slice::from_raw_parts_mut(scratch.addr as *mut usize, ptrs / size_of::<usize>()),
            core::slice::from_raw_parts_mut((scratch.addr + ptrs) as *mut u8, len - ptrs),
        )
    };
    // Written through iterators: the sizes above fit exactly, and nothing here can panic.
    let mut slots = table.iter_mut();
    for e in ours().filter(|e| !changed(e)) {
        if let Some(slot) = slots.next() {
            *slot = e.as_ptr() as usize;
        }
    }
    let base = text.as_ptr() as usize;
    let mut out = text.iter_mut().enumerate();
    // The last change of a name wins.
    for (i, (name, value)) in changes.iter().enumerate() {
        let Some(v) = value else { continue };
        let later = changes.get(i + 1..).unwrap_or_default();
        if later.iter().any(|(n2, _)| n2 == name) {
            continue;
        }
        for (k, &b) in name
            .iter()
            .chain(b"=")
            .chain(v.iter())
            .chain(b"\0")
            .enumerate()
        {
            if let Some((at, t)) = out.next() {
                if k == 0
                    && let Some(slot) = slots.next()
                {
                    *slot = base + at;
                }
                *t = b;
            }
        }
    }
    if let Some(slot) = slots.next() {
        *slot = 0;
    }
    Ok(scratch.addr as *const *const c_char)
}

/// Moves `fd` above the standard streams if it is one of them (close-on-exec kept).
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, Errno> {
    if fd.0.0 > 2 {
        return Ok(fd);
    }
    // SAFETY: no pointers.
    let r = Errno::from_ret(unsafe {
        syscall3(
            g::__NR_fcntl as usize,
            fd.0.0 as usize,
            g::F_DUPFD_CLOEXEC as usize,
            3,
        )
    })?;
    Ok(OwnedFd(Fd(r as i32)))
}

/// Builds the child's plan from `c`, in buffers of the caller's frame. (Inlined: where
/// the command is known, what it does not use goes.)
#[inline]
fn plan<'a>(
    c: &Command<'a>,
    argv_buf: &mut ArgvBuf,
    scratch: &mut Scratch,
    fds: [i32; 3],
    report: i32,
) -> Result<ChildPlan<'a>, Errno> {
    let argv = match (&c.argv, c.listed) {
        (Argv::Process(p), _) => *p,
        (_, Some(fill)) => fill(c, argv_buf)?,
        (_, None) => return Err(Errno::EINVAL),
    };
    let envp = environment(c, scratch)?;
    let program = c.program.to_bytes();
    if program.is_empty() {
        return Err(Errno::ENOENT);
    }
    // Like std: the child's PATH when the command changes it, else ours. (`any`, not
    // `contains`: that brings core's 200-byte memchr into every program that spawns.)
    #[allow(clippy::manual_contains)]
    let search = match program.iter().any(|&b| b == b'/') {
        true => None,
        false => Some(search_path(c).unwrap_or(b"/usr/local/bin:/bin:/usr/bin")),
    };
    Ok(ChildPlan {
        program: c.program.as_ptr(),
        program_len: program.len(),
        search,
        argv,
        envp,
        cwd: c.cwd.map_or(core::ptr::null(), CStr::as_ptr),
        fds,
        install: c.stdio_hook.map(|h| h.install),
        pgroup: c.pgroup,
        foreground: c.foreground,
        // `spawn` puts the mask it replaces here when none is asked for.
        mask: c.mask.unwrap_or(SigSet::EMPTY),
        defaults: c.defaults,
        report,
    })
}

/// The PATH the program is searched in: ours, unless the command changes the environment.
fn search_path<'a>(c: &Command<'a>) -> Option<&'a [u8]> {
    match c.env_hook {
        Some(hook) => (hook.search)(c),
        None => crate::env::var("PATH"),
    }
}

/// The PATH of a changed environment: the last change the command makes to it, else ours
/// (none when the command clears the environment).
fn changed_search_path<'a>(c: &Command<'a>) -> Option<&'a [u8]> {
    let changes = c.env.get(..c.env_len).unwrap_or_default();
    match changes.iter().rev().find(|(n, _)| *n == b"PATH") {
        Some((_, value)) => *value,
        None if c.env_clear => None,
        None => crate::env::var("PATH"),
    }
}

/// The bytes of the child's stack (in `spawn`'s frame): its frames, and a path buffer
/// for the `PATH` search.
const CHILD_STACK: usize = 16 * 1024;

/// The streams a child gets that we open for it: pipes (ours and its ends) and /dev/null.
struct Streams {
    ours: [Option<OwnedFd>; 3],
    theirs: [Option<OwnedFd>; 3],
    fds: [i32; 3],
}

/// Opens what `c`'s pipes and null streams need, into `s`.
fn open_streams(c: &Command<'_>, s: &mut Streams) -> Result<(), Errno> {
    let mut null: Option<i32> = None;
    for i in 0..3 {
        match c.stdio[i] {
            Stdio::Pipe => {
                let (r, w) = pipe()?;
                let (mine, child) = if i == 0 { (w, r) } else { (r, w) };
                let child = above_stdio(child)?;
                s.fds[i] = child.0.0;
                s.ours[i] = Some(mine);
                s.theirs[i] = Some(child);
            }
            Stdio::Fd(fd) => {
                // A descriptor that is not open would be taken by the next one we open
                // (the report pipe): refuse it now.
                // SAFETY: F_GETFD takes no pointer.
                let r =
                    unsafe { syscall2(g::__NR_fcntl as usize, fd.0 as usize, g::F_GETFD as usize) };
                Errno::from_ret(r)?;
                s.fds[i] = fd.0;
            }
            Stdio::Null => {
                let fd = match null {
                    Some(fd) => fd,
                    None => {
                        let fd = crate::sys::open(c"/dev/null", g::O_RDWR | g::O_CLOEXEC, 0)?;
                        let fd = above_stdio(OwnedFd(Fd(fd)))?;
                        let n = fd.0.0;
                        s.theirs[i] = Some(fd);
                        null = Some(n);
                        n
                    }
                };
                s.fds[i] = fd;
            }
            _ => {}
        }
    }
    Ok(())
}

#[inline]
fn spawn(c: &Command<'_>) -> Result<Child, Errno> {
    let mut streams = Streams {
        ours: [None, None, None],
        theirs: [None, None, None],
        fds: [-1; 3],
    };
    if let Some(hook) = c.stdio_hook {
        (hook.open)(c, &mut streams)?;
    }
    let (report_r, report_w) = pipe()?;
    let report_w = above_stdio(report_w)?;
    let mut scratch = Scratch::EMPTY;
    let mut argv_buf: ArgvBuf = [const { MaybeUninit::uninit() }; MAX_ARGS + 1];
    let mut plan = plan(c, &mut argv_buf, &mut scratch, streams.fds, report_w.0.0)?;

    /// The child's stack, 16-byte aligned on every architecture (`u128` is 8 on some).
    #[repr(C, align(16))]
    struct ChildStack([u8; CHILD_STACK]);
    let mut stack = MaybeUninit::<ChildStack>::uninit();
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) as *mut u8;
    // Nothing of ours may run in the child: block every signal until it has reset the
    // handlers (a handler would run on its stack, in our memory).
    let before = crate::signal::set_mask(SigSet::FULL)?;
    plan.mask = c.mask.unwrap_or(before);
    // SAFETY: `stack` lies in this frame and is not touched again until the child has
    // exec'd or exited (the kernel suspends us until then); `child_main` reads only `plan`,
    // also in this frame, and ends in execve or exit.
    let pid = unsafe {
        crate::arch::clone_vfork(
            top,
            child_main,
            &plan as *const ChildPlan<'_> as *mut c_void,
        )
    };
    let _ = crate::signal::set_mask(before);
    let pid = Errno::from_ret(pid as usize)? as u32;
    drop(streams.theirs);
    drop(report_w);
    let mut code = [0u8; 4];
    let n = report_r.read_full(&mut code).unwrap_or(0);
    if n == 4 {
        // The exec failed: reap the child (it has exited) so that none is left behind.
        let _ = wait4(pid as i32, 0);
        return Err(Errno::new(i32::from_ne_bytes(code)).unwrap_or(Errno::EIO));
    }
    let [stdin, stdout, stderr] = streams.ours;
    Ok(Child {
        pid,
        status: None,
        stdin,
        stdout,
        stderr,
    })
}

/// The child, until execve: system calls only, on its own stack.
///
/// # Safety
/// `arg` is the parent's `ChildPlan` (see `spawn`).
unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
    // SAFETY: see the function's contract.
    let plan = unsafe { &*(arg as *const ChildPlan<'_>) };
    // SAFETY: the plan's pointers are alive (the parent waits for us).
    let e = unsafe { run_plan(plan) };
    let code = e.raw().to_ne_bytes();
    // SAFETY: four bytes of ours into the report pipe.
    unsafe {
        syscall3(
            g::__NR_write as usize,
            plan.report as usize,
            code.as_ptr() as usize,
            4,
        )
    };
    crate::arch::exit_group(127)
}

/// Sets the process up as `plan` says and execs: returns only on failure, with why.
/// Async-signal-safe: system calls and reads of the plan only.
///
/// # Safety
/// The plan's pointers are alive, NUL-terminated strings and NULL-terminated arrays.
unsafe fn run_plan(plan: &ChildPlan<'_>) -> Errno {
    let fail = |r: usize| Errno::from_ret(r).err();
    // SAFETY: (the whole body) each call passes integers, or pointers from the plan (alive
    // and terminated, the caller's contract) and into this frame.
    unsafe {
        // No handler of the parent's may run here (it would run in the parent's memory,
        // on this small stack): every signal with a handler, whoever installed it (ours,
        // rustix's, libc's in library mode), and those asked for, get the default action
        // before the mask (all blocked, by `spawn`) opens. Ignored ones stay ignored.
        for n in 1..=Signal::MAX {
            let Some(sig) = Signal::new(n) else { continue };
            if sig == Signal::KILL || sig == Signal::STOP {
                continue;
            }
            let reset = plan.defaults.contains(sig)
                || crate::signal::sigaction_raw(n, None)
                    .is_ok_and(|(h, _, _)| h != SIG_DFL && h != SIG_IGN);
            if reset {
                let _ = crate::signal::sigaction_raw(n, Some((SIG_DFL, 0, SigSet::EMPTY)));
            }
        }
        if let Some(pgid) = plan.pgroup {
            let r = syscall2(g::__NR_setpgid as usize, 0, pgid as isize as usize);
            if let Some(e) = fail(r) {
                return e;
            }
        }
        if !plan.cwd.is_null()
            && let Some(e) = fail(syscall1(g::__NR_chdir as usize, plan.cwd as usize))
        {
            return e;
        }
        if let Some(install) = plan.install
            && let Some(e) = install(&plan.fds)
        {
            return e;
        }
        // The terminal of the child's own standard input, now in place.
        if plan.foreground {
            let pgrp = crate::arch::syscall1(g::__NR_getpgid as usize, 0) as i32;
            let r = syscall3(
                g::__NR_ioctl as usize,
                0,
                linux_raw_sys::ioctl::TIOCSPGRP as usize,
                &pgrp as *const i32 as usize,
            );
            match fail(r) {
                None | Some(Errno::ENOTTY | Errno::ENXIO) => {}
                Some(e) => return e,
            }
        }
        let mask = plan.mask.kernel();
        let r = syscall4(
            g::__NR_rt_sigprocmask as usize,
            g::SIG_SETMASK as usize,
            &mask as *const _ as usize,
            0,
            8,
        );
        if let Some(e) = fail(r) {
            return e;
        }
        let Some(search) = plan.search else {
            return execve(plan.program, plan.argv, plan.envp);
        };
        // `execvp`: each PATH entry in turn (an empty one is the current directory); ENOENT
        // and ENOTDIR try the next, EACCES too but is what we report if nothing else runs.
        let name = core::slice::from_raw_parts(plan.program.cast::<u8>(), plan.program_len);
        let mut buf = [0u8; 4096];
        let mut seen_eacces = false;
        for dir in search.split(|&b| b == b':') {
            let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
            // `dir/name`, NUL-terminated; an entry too long for the buffer is skipped.
            let mut out = buf.iter_mut();
            let fits = dir
                .iter()
                .chain(b"/")
                .chain(name)
                .chain(b"\0")
                .all(|&b| out.next().map(|t| *t = b).is_some());
            if !fits {
                continue;
            }
            match execve(buf.as_ptr() as *const c_char, plan.argv, plan.envp) {
                Errno::ENOENT | Errno::ENOTDIR | Errno::ENAMETOOLONG => {}
                Errno::EACCES => seen_eacces = true,
                e => return e,
            }
        }
        if seen_eacces {
            Errno::EACCES
        } else {
            Errno::ENOENT
        }
    }
}

/// Puts `fds` in place as the child's 0, 1 and 2 (-1: stays as it is).
///
/// # Safety
/// System calls only (the child calls it); no pointers.
unsafe fn install_streams(fds: &[i32; 3]) -> Option<Errno> {
    let fail = |r: usize| Errno::from_ret(r).err();
    // SAFETY: fcntl and dup3 take no pointers.
    unsafe {
        // A descriptor to install that is itself 0..=2 is moved up first, so that
        // installing another cannot close it.
        let mut fds = *fds;
        let mut moved = [false; 3];
        for (fd, moved) in fds.iter_mut().zip(moved.iter_mut()) {
            if (0..=2).contains(fd) {
                let r = syscall3(
                    g::__NR_fcntl as usize,
                    *fd as usize,
                    g::F_DUPFD_CLOEXEC as usize,
                    3,
                );
                match Errno::from_ret(r) {
                    Ok(n) => (*fd, *moved) = (n as i32, true),
                    Err(e) => return Some(e),
                }
            }
        }
        let mut result = None;
        for (i, fd) in fds.iter().enumerate() {
            if *fd >= 0
                && result.is_none()
                && let Some(e) = fail(raw_dup2(*fd, i as i32))
            {
                result = Some(e);
            }
        }
        // The copies moved up are no longer needed (after a successful exec they would be
        // closed anyway; after a failed `Command::exec` they must not stay open).
        for (fd, moved) in fds.iter().zip(moved.iter()) {
            if *moved {
                syscall1(g::__NR_close as usize, *fd as usize);
            }
        }
        result
    }
}

/// `execve(path, argv, envp)`: returns only on failure.
///
/// # Safety
/// `path` is NUL-terminated, `argv` and `envp` NULL-terminated arrays of such strings.
#[inline(always)]
unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Errno {
    // SAFETY: the caller's contract.
    let r = unsafe {
        syscall3(
            g::__NR_execve as usize,
            path as usize,
            argv as usize,
            envp as usize,
        )
    };
    Errno::from_ret(r).err().unwrap_or(Errno::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_descriptor_as_a_stream_is_refused() {
        let r = Command::new(c"/bin/true")
            .stdout(Stdio::Fd(Fd(1000)))
            .spawn();
        assert_eq!(r.err(), Some(Errno::EBADF));
        let mut c = Command::new(c"/bin/true")
            .stdout(Stdio::Fd(Fd(2)))
            .spawn()
            .unwrap();
        assert!(c.wait().unwrap().success());
    }

    #[test]
    fn exit_statuses() {
        let exited = ExitStatus::from_raw(42 << 8);
        assert_eq!(
            (exited.code(), exited.signal(), exited.shell_code()),
            (Some(42), None, 42)
        );
        let killed = ExitStatus::from_raw(9);
        assert_eq!(killed.code(), None);
        assert_eq!(killed.signal(), Some(Signal::KILL));
        assert_eq!(killed.shell_code(), 137);
        let dumped = ExitStatus::from_raw(0x80 | 11);
        assert!(dumped.core_dumped() && !killed.core_dumped());
        assert!(ExitStatus::from_raw(0).success() && !exited.success());
        let stopped = ExitStatus::from_raw(0x137f);
        assert_eq!((stopped.code(), stopped.signal()), (None, None));
    }
}
