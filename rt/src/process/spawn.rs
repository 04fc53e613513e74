//! Starting a [`Command`]: the plan the parent prepares (argv, environment, streams), the
//! `clone` onto a stack of its own, and what the child does until `execve` (system calls
//! only). See the `process` module documentation.
//!
//! # Safety
//!
//! The child runs on a buffer in `spawn`'s frame, which outlives it (we are suspended until
//! it execs or exits), and reads only the `ChildPlan` that frame owns; every pointer the
//! plan holds is to a NUL-terminated string or NULL-terminated array alive for the call.

use super::command::*;
use super::exec::*;
use super::*;

/// What the child does, prepared by the parent: pointers into the parent's frame only.
pub(super) struct ChildPlan<'a> {
    /// The program: a path, or a name to search for in `search`.
    pub(super) program: *const c_char,
    pub(super) program_len: usize,
    /// `PATH` (when the program has no `/`).
    pub(super) search: Option<&'a [u8]>,
    pub(super) argv: *const *const c_char,
    pub(super) envp: *const *const c_char,
    pub(super) cwd: *const c_char,
    /// What becomes fd 0, 1, 2 (-1: stays).
    pub(super) fds: [i32; 3],
    /// Puts `fds` in place (`None`: every stream is inherited).
    pub(super) install: Option<InstallFn>,
    pub(super) pgroup: Option<i32>,
    pub(super) foreground: bool,
    pub(super) mask: SigSet,
    pub(super) defaults: SigSet,
    /// The write end of the error pipe (-1 for `exec`).
    pub(super) report: i32,
    /// `execve`, or `exec_or_shell` when the command asks for the shell fallback.
    pub(super) exec: ExecFn,
}

/// Memory for a changed environment: the pointer array and the `NAME=value` strings.
pub(super) struct Scratch {
    pub(super) addr: usize,
    pub(super) len: usize,
}

impl Scratch {
    pub(super) const EMPTY: Scratch = Scratch { addr: 0, len: 0 };
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
pub(super) static EMPTY: [usize; 1] = [0];

/// The environment the child gets: ours (no copy), or a changed one built in `scratch`.
#[inline]
pub(super) fn environment(
    c: &Command<'_>,
    scratch: &mut Scratch,
) -> Result<*const *const c_char, Errno> {
    match c.env_hook {
        Some(hook) => (hook.build)(c, scratch),
        None => Ok(crate::env::vars()
            .as_envp()
            .unwrap_or(EMPTY.as_ptr() as *const *const c_char)),
    }
}

/// A changed environment, in `scratch` (a mapping of its own) unless it is ours or empty.
pub(super) fn changed_environment(
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
pub(super) fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, Errno> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: no pointers.
    let r = Errno::from_ret(unsafe {
        syscall3(
            g::__NR_fcntl as usize,
            fd.as_raw_fd() as usize,
            g::F_DUPFD_CLOEXEC as usize,
            3,
        )
    })?;
    // SAFETY: a new descriptor from the kernel: nothing else owns it. (`fd` itself is
    // closed on return.)
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Builds the child's plan from `c`, in buffers of the caller's frame. (Inlined: where
/// the command is known, what it does not use goes.)
#[inline]
pub(super) fn plan<'a>(
    c: &Command<'a>,
    argv_buf: &mut ArgvBuf,
    scratch: &mut Scratch,
    fds: [i32; 3],
    report: i32,
) -> Result<ChildPlan<'a>, Errno> {
    let argv = match (&c.argv, c.listed) {
        (Argv::Process(p), _) => p.0,
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
        // Empty unless asked for (std's `Command` passes ours on: see `signal_mask`).
        mask: c.mask.unwrap_or(SigSet::EMPTY),
        defaults: c.defaults,
        report,
        exec: c.exec,
    })
}

/// The PATH the program is searched in: ours, unless the command changes the environment.
pub(super) fn search_path<'a>(c: &Command<'a>) -> Option<&'a [u8]> {
    match c.env_hook {
        Some(hook) => (hook.search)(c),
        None => crate::env::var("PATH"),
    }
}

/// The PATH of a changed environment: the last change the command makes to it, else ours
/// (none when the command clears the environment).
pub(super) fn changed_search_path<'a>(c: &Command<'a>) -> Option<&'a [u8]> {
    let changes = c.env.get(..c.env_len).unwrap_or_default();
    match changes.iter().rev().find(|(n, _)| *n == b"PATH") {
        Some((_, value)) => *value,
        None if c.env_clear => None,
        None => crate::env::var("PATH"),
    }
}

/// The bytes of the child's stack (in `spawn`'s frame): its frames, and a path buffer
/// for the `PATH` search.
pub(super) const CHILD_STACK: usize = 16 * 1024;

/// The streams a child gets that we open for it: pipes (ours and its ends) and /dev/null.
pub(super) struct Streams {
    pub(super) ours: [Option<OwnedFd>; 3],
    pub(super) theirs: [Option<OwnedFd>; 3],
    pub(super) fds: [i32; 3],
}

/// Opens what `c`'s pipes and null streams need, into `s`.
pub(super) fn open_streams(c: &Command<'_>, s: &mut Streams) -> Result<(), Errno> {
    let mut null: Option<i32> = None;
    for i in 0..3 {
        match c.stdio[i] {
            Stdio::Pipe => {
                let (r, w) = pipe()?;
                let (mine, child) = if i == 0 { (w, r) } else { (r, w) };
                let child = above_stdio(child)?;
                s.fds[i] = child.as_raw_fd();
                s.ours[i] = Some(mine);
                s.theirs[i] = Some(child);
            }
            Stdio::Fd(fd) => {
                // A descriptor that is not open would be taken by the next one we open
                // (the report pipe): refuse it now.
                let fd = fd.as_raw_fd();
                // SAFETY: F_GETFD takes no pointer.
                let r =
                    unsafe { syscall2(g::__NR_fcntl as usize, fd as usize, g::F_GETFD as usize) };
                Errno::from_ret(r)?;
                s.fds[i] = fd;
            }
            Stdio::Null => {
                let fd = match null {
                    Some(fd) => fd,
                    None => {
                        let fd = crate::sys::open(c"/dev/null", g::O_RDWR | g::O_CLOEXEC, 0)?;
                        let fd = above_stdio(fd)?;
                        let n = fd.as_raw_fd();
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
pub(super) fn spawn(c: &Command<'_>) -> Result<Child, Errno> {
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
    let mut argv_buf = ArgvBuf::new();
    let plan = plan(
        c,
        &mut argv_buf,
        &mut scratch,
        streams.fds,
        report_w.as_raw_fd(),
    )?;

    /// The child's stack, 16-byte aligned on every architecture (`u128` is 8 on some).
    #[repr(C, align(16))]
    struct ChildStack([u8; CHILD_STACK]);
    let mut stack = MaybeUninit::<ChildStack>::uninit();
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) as *mut u8;
    // Nothing of ours may run in the child: block every signal until it has reset the
    // handlers (a handler would run on its stack, in our memory).
    let before = crate::signal::set_mask(SigSet::FULL)?;
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
    let n = crate::io::read_full(&report_r, &mut code).unwrap_or(0);
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
pub(super) unsafe extern "C" fn child_main(arg: *mut c_void) -> ! {
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
pub(super) unsafe fn run_plan(plan: &ChildPlan<'_>) -> Errno {
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
            return (plan.exec)(plan.program, plan.argv, plan.envp);
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
            match (plan.exec)(buf.as_ptr() as *const c_char, plan.argv, plan.envp) {
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
pub(super) unsafe fn install_streams(fds: &[i32; 3]) -> Option<Errno> {
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
                && let Some(e) = fail(raw_dup3(*fd, i as i32))
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
