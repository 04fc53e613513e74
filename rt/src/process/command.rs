//! [`Command`], the description of a program to start, and [`Child`], a started one. The
//! starting itself (the plan, the clone, the child's work) is in `spawn`.
//!
//! # Safety
//!
//! `exec` runs the child's plan in this process: see `spawn`'s Safety section.

use super::exec::*;
use super::spawn::*;
use super::*;
use crate::fd::BorrowedFd;

/// What a child's standard input, output or error is.
#[derive(Clone, Copy, Debug)]
pub enum Stdio<'fd> {
    /// Ours.
    Inherit,
    /// `/dev/null`.
    Null,
    /// A copy of this descriptor (it stays its owner's; borrowed while the command is).
    Fd(BorrowedFd<'fd>),
    /// A new pipe; our end is in [`Child::stdin`], [`Child::stdout`] or [`Child::stderr`].
    Pipe,
}

/// The most arguments a [`Command`] keeps inline (`argv[0]` included). Without the `alloc`
/// feature that is its limit: more make `spawn` (and `exec`) fail with E2BIG. With `alloc`,
/// the arguments past these go to the heap and only the kernel limits them (`execve`'s
/// E2BIG). [`Command::from_args`] has no limit either way.
pub const MAX_ARGS: usize = 32;
/// The most environment changes ([`Command::env`], [`Command::env_remove`]) a command
/// keeps; more make `spawn` fail with E2BIG.
pub const MAX_ENV_CHANGES: usize = 16;

/// Where the argument vector comes from.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub(super) enum Argv<'a> {
    /// Ours, listed by `new` and `arg`.
    Listed(Listed<'a>),
    /// The rest of the process's own argv, already NULL-terminated.
    Process(ProcessArgv),
}

/// A pointer into the kernel's argv on the initial stack (`env::Args::as_argv`).
#[derive(Clone, Copy)]
pub(super) struct ProcessArgv(pub(super) *const *const c_char);

// SAFETY: the array and its strings are the kernel's, on the initial stack: alive for the
// whole process and never written after start, so any thread may hold and read them (as
// `env::Args` itself does). This keeps `Command` `Send + Sync`, as std's is.
unsafe impl Send for ProcessArgv {}
// SAFETY: as above: only read, by anyone.
unsafe impl Sync for ProcessArgv {}

/// A program to start, and how: see the module documentation.
#[derive(Clone)]
pub struct Command<'a> {
    pub(super) program: &'a CStr,
    pub(super) argv: Argv<'a>,
    /// Builds the `argv` of a listed one: set by `new`, so that a program that only runs
    /// its own arguments carries none of that code.
    pub(super) listed: Option<ListedFn>,
    /// (name, Some(value)) to set, (name, None) to remove.
    pub(super) env: [(&'a [u8], Option<&'a [u8]>); MAX_ENV_CHANGES],
    pub(super) env_len: usize,
    pub(super) env_overflow: bool,
    pub(super) env_clear: bool,
    pub(super) cwd: Option<&'a CStr>,
    pub(super) stdio: [Stdio<'a>; 3],
    pub(super) pgroup: Option<i32>,
    pub(super) foreground: bool,
    pub(super) mask: Option<SigSet>,
    pub(super) defaults: SigSet,
    /// Builds a changed environment: set by the methods that change it, so that a program
    /// that never does carries none of that code.
    pub(super) env_hook: Option<EnvHook>,
    /// Opens pipes and /dev/null: set by the methods that ask for them, likewise.
    pub(super) stdio_hook: Option<StdioHook>,
    /// How the child execs: set by `shell_fallback`, so that a program that never asks
    /// carries none of the fallback.
    pub(super) exec: ExecFn,
}

/// Listed arguments: the first [`MAX_ARGS`] inline, the rest on the heap (feature `alloc`)
/// or refused.
#[derive(Clone)]
pub(super) struct Listed<'a> {
    inline: [Option<&'a CStr>; MAX_ARGS],
    /// How many of `inline` are set.
    len: usize,
    #[cfg(feature = "alloc")]
    more: alloc::vec::Vec<&'a CStr>,
    /// An argument did not fit.
    #[cfg(not(feature = "alloc"))]
    overflow: bool,
}

impl<'a> Listed<'a> {
    fn push(&mut self, arg: &'a CStr) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(arg);
                self.len += 1;
            }
            #[cfg(feature = "alloc")]
            None => self.more.push(arg),
            #[cfg(not(feature = "alloc"))]
            None => self.overflow = true,
        }
    }
}

/// Writes a listed argument vector, NULL-terminated, into the buffer: its address.
pub(super) type ListedFn =
    for<'a, 'b> fn(&'b Command<'a>, &'b mut ArgvBuf) -> Result<*const *const c_char, Errno>;

/// Room for a listed argument vector and its NULL, left uninitialised until one is built
/// (inline; on the heap for a longer one with the `alloc` feature).
pub(super) struct ArgvBuf {
    inline: [MaybeUninit<*const c_char>; MAX_ARGS + 1],
    #[cfg(feature = "alloc")]
    heap: alloc::vec::Vec<*const c_char>,
}

impl ArgvBuf {
    pub(super) const fn new() -> ArgvBuf {
        ArgvBuf {
            inline: [const { MaybeUninit::uninit() }; MAX_ARGS + 1],
            #[cfg(feature = "alloc")]
            heap: alloc::vec::Vec::new(),
        }
    }
}

/// The listed arguments, then NULL. (Built in the parent: the child only reads it.)
pub(super) fn listed_argv<'a, 'b>(
    c: &'b Command<'a>,
    buf: &'b mut ArgvBuf,
) -> Result<*const *const c_char, Errno> {
    let Argv::Listed(l) = &c.argv else {
        return Err(Errno::EINVAL);
    };
    let inline = l.inline.iter().take(l.len);
    let pointers = inline.map(|a| a.map_or(core::ptr::null(), CStr::as_ptr));
    #[cfg(not(feature = "alloc"))]
    if l.overflow {
        return Err(Errno::E2BIG);
    }
    #[cfg(feature = "alloc")]
    if !l.more.is_empty() {
        let v = &mut buf.heap;
        v.clear();
        v.try_reserve_exact(l.len + l.more.len() + 1)
            .map_err(|_| Errno::ENOMEM)?;
        v.extend(pointers);
        v.extend(l.more.iter().map(|a| a.as_ptr()));
        v.push(core::ptr::null());
        return Ok(v.as_ptr());
    }
    // The list drives the zip, so that no slot is taken past its end: `len` written, then
    // the NULL at `len` (the buffer has room for one more than the list).
    let mut n = 0;
    for (p, slot) in pointers.zip(buf.inline.iter_mut()) {
        slot.write(p);
        n += 1;
    }
    if let Some(slot) = buf.inline.get_mut(n) {
        slot.write(core::ptr::null());
    }
    // The first `n + 1` entries (all that execve reads, up to the NULL) are written.
    Ok(buf.inline.as_ptr() as *const *const c_char)
}

impl core::fmt::Debug for Command<'_> {
    /// The program, its arguments and environment changes as quoted strings (as std's
    /// shows them), then what else was set.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        struct Quoted<'b>(&'b [u8]);
        impl core::fmt::Debug for Quoted<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "\"{}\"", self.0.escape_ascii())
            }
        }
        struct Args<'b, 'a>(&'b Argv<'a>);
        impl core::fmt::Debug for Args<'_, '_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let Argv::Listed(l) = self.0 else {
                    return f.write_str("(this process's own)");
                };
                let inline = l.inline.iter().take(l.len).flatten();
                #[cfg(feature = "alloc")]
                let inline = inline.chain(l.more.iter());
                let quoted = inline.map(|a| Quoted(a.to_bytes()));
                f.debug_list().entries(quoted).finish()
            }
        }
        let changes = self.env.iter().take(self.env_len);
        let env = changes.map(|&(name, value)| (Quoted(name), value.map(Quoted)));
        f.debug_struct("Command")
            .field("program", &Quoted(self.program.to_bytes()))
            .field("args", &Args(&self.argv))
            .field("env_clear", &self.env_clear)
            .field("env", &DebugIter(core::cell::Cell::new(Some(env))))
            .field("cwd", &self.cwd.map(|c| Quoted(c.to_bytes())))
            .field("stdio", &self.stdio)
            .field("process_group", &self.pgroup)
            .field("signal_mask", &self.mask)
            .field("default_signals", &self.defaults)
            .finish_non_exhaustive()
    }
}

/// Shows an iterator's items as a list, once.
struct DebugIter<I>(core::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: core::fmt::Debug> core::fmt::Debug for DebugIter<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let items = self.0.take().into_iter().flatten();
        f.debug_list().entries(items).finish()
    }
}

/// Builds the changed environment; finds the `PATH` it gives the search.
#[derive(Clone, Copy)]
pub(super) struct EnvHook {
    pub(super) build: fn(&Command<'_>, &mut Scratch) -> Result<*const *const c_char, Errno>,
    pub(super) search: for<'a> fn(&Command<'a>) -> Option<&'a [u8]>,
}

/// What the methods that change the environment set.
pub(super) const CHANGED_ENV: EnvHook = EnvHook {
    build: changed_environment,
    search: changed_search_path,
};
/// Opens what the streams need (in the parent); installs them (in the child).
#[derive(Clone, Copy)]
pub(super) struct StdioHook {
    pub(super) open: fn(&Command<'_>, &mut Streams) -> Result<(), Errno>,
    pub(super) install: InstallFn,
}

/// Puts the child's streams in place (in the child).
pub(super) type InstallFn = unsafe fn(&[i32; 3]) -> Option<Errno>;

/// What the methods that set a stream other than `Inherit` set.
pub(super) const STDIO: StdioHook = StdioHook {
    open: open_streams,
    install: install_streams,
};

impl<'a> Command<'a> {
    /// Runs `program` (with `/`: that file; without: the first match in `PATH`, like
    /// `execvp` but without its /bin/sh fallback for ENOEXEC unless
    /// [`Command::shell_fallback`] asks for it, as std's `Command` and musl), with `program`
    /// as `argv[0]` and no other argument. The `PATH` searched is the child's when the
    /// command changes it (as std does), else ours.
    #[inline]
    pub fn new(program: &'a CStr) -> Command<'a> {
        let mut list = Listed {
            inline: [None; MAX_ARGS],
            len: 0,
            #[cfg(feature = "alloc")]
            more: alloc::vec::Vec::new(),
            #[cfg(not(feature = "alloc"))]
            overflow: false,
        };
        list.push(program);
        let mut c = Command::with(program, Argv::Listed(list));
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
            defaults: SigSet::of(&[Signal::PIPE]),
            env_hook: None,
            stdio_hook: None,
            exec: plain_execve,
        }
    }

    /// Runs the rest of this process's arguments: the first is the program (and `argv[0]`),
    /// the others its arguments, passed on without copying (no limit). `None` if `args` is
    /// empty, was taken from the back, or (library mode) is not the kernel's.
    #[inline]
    #[must_use]
    pub fn from_args(args: crate::env::Args) -> Option<Command<'static>> {
        let argv = args.as_argv()?;
        let program = args.clone().next()?;
        Some(Command::with(program, Argv::Process(ProcessArgv(argv))))
    }

    /// Adds an argument (past [`MAX_ARGS`] only with the `alloc` feature, else `spawn`
    /// fails with E2BIG; a command made by [`Command::from_args`] takes no more: its
    /// arguments are the process's own, and this is ignored).
    pub fn arg(&mut self, arg: &'a CStr) -> &mut Command<'a> {
        if let Argv::Listed(list) = &mut self.argv {
            list.push(arg);
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
    pub fn stdin(&mut self, s: Stdio<'a>) -> &mut Command<'a> {
        self.set_stdio(0, s)
    }

    /// The child's standard output.
    pub fn stdout(&mut self, s: Stdio<'a>) -> &mut Command<'a> {
        self.set_stdio(1, s)
    }

    /// The child's standard error.
    pub fn stderr(&mut self, s: Stdio<'a>) -> &mut Command<'a> {
        self.set_stdio(2, s)
    }

    fn set_stdio(&mut self, i: usize, s: Stdio<'a>) -> &mut Command<'a> {
        if let Some(slot) = self.stdio.get_mut(i) {
            *slot = s;
        }
        if !matches!(s, Stdio::Inherit) {
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

    /// The child's signal mask (default: empty, whatever our own mask is: a program that
    /// blocks signals to wait for them does not hand that on, as libuv does not).
    /// std's `Command` differs here: since Rust 1.66 it passes the parent's mask on (so
    /// that `nohup`'s blocked SIGHUP reaches every descendant); `signal_mask(signal::mask())`
    /// does that.
    pub fn signal_mask(&mut self, mask: SigSet) -> &mut Command<'a> {
        self.mask = Some(mask);
        self
    }

    /// Signals to give their default action in the child: this set replaces the default
    /// one, SIGPIPE alone (as std's `Command` resets it: a program that ignores SIGPIPE to
    /// see EPIPE does not make `yes | head` run forever). Others that we ignore stay ignored
    /// across execve; every signal with a handler is always reset.
    pub fn default_signals(&mut self, set: SigSet) -> &mut Command<'a> {
        self.defaults = set;
        self
    }

    /// With `true`, a file the kernel refuses as not a program (ENOEXEC: neither ELF nor
    /// `#!`) runs as `/bin/sh FILE ARGS...`, as glibc's `execvp` (and so tini) runs it; past
    /// 254 arguments it stays ENOEXEC. Off by default, as std's `spawn` on its
    /// `posix_spawn` path (std's `exec`, and its spawn with `pre_exec`, inherit glibc's
    /// `execvp` fallback) and musl.
    pub fn shell_fallback(&mut self, on: bool) -> &mut Command<'a> {
        self.exec = match on {
            true => exec_or_shell,
            false => plain_execve,
        };
        self
    }

    /// Starts the child. (Inlined where it can be: a program that spawns once then keeps
    /// only the parts of `spawn` its command uses.)
    #[inline]
    pub fn spawn(&self) -> Result<Child, Errno> {
        super::spawn::spawn(self)
    }

    /// Starts the child and waits for it to end.
    pub fn status(&self) -> Result<ExitStatus, Errno> {
        let mut c = self.spawn()?;
        drop(c.stdin.take());
        c.wait()
    }

    /// Replaces this process with the program (standard streams set as asked; a pipe is
    /// EINVAL). Returns only on failure, with why; by then the process may already have
    /// what the command asked for (handlers reset, SIGPIPE's default action, mask,
    /// directory, streams), as after a failed `execve` in C.
    #[allow(clippy::must_use_candidate)] // As std's `CommandExt::exec`.
    pub fn exec(&self) -> Errno {
        if self.stdio.iter().any(|s| matches!(s, Stdio::Pipe)) {
            return Errno::EINVAL;
        }
        let mut scratch = Scratch::EMPTY;
        let mut argv_buf = ArgvBuf::new();
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
        let plan = match plan(self, &mut argv_buf, &mut scratch, streams.fds, -1) {
            Ok(p) => p,
            Err(e) => return e,
        };
        // As in `spawn`: nothing may arrive while handlers are being reset (and a blocked
        // SIGTTOU lets `foreground` take the terminal instead of stopping us).
        let before = match crate::signal::set_mask(SigSet::FULL) {
            Ok(m) => m,
            Err(e) => return e,
        };
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
    pub(super) pid: u32,
    pub(super) status: Option<ExitStatus>,
    /// Our end of its standard input, when that is [`Stdio::Pipe`].
    pub stdin: Option<OwnedFd>,
    /// Our end of its standard output, when that is [`Stdio::Pipe`].
    pub stdout: Option<OwnedFd>,
    /// Our end of its standard error, when that is [`Stdio::Pipe`].
    pub stderr: Option<OwnedFd>,
}

impl Child {
    /// Its process id.
    #[must_use]
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

#[cfg(test)]
mod tests;
