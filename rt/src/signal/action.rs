//! What a signal does: [`Action`]s with their [`Handler`] and [`Flags`] (`rt_sigaction`,
//! with the architecture's restorer from `arch::kernel_action`), and the alternate stack
//! handlers with ONSTACK run on.
//!
//! # Safety
//!
//! Installing a handler is `unsafe` ([`set_action`]): the handler runs between any two
//! instructions of the program and must do only async-signal-safe work; the kernel calls it
//! with the arguments its type names (SA_SIGINFO is set exactly for [`Handler::Info`], and
//! for a [`Handler::Saved`] found with it). The
//! alternate stack is a mapping of our own that is never unmapped once installed.

use super::*;

/// An alternate signal stack, installed for the thread: handlers with
/// [`Flags::ONSTACK`] run on it, so that one can report a stack overflow of the main
/// stack. It is never removed or unmapped.
#[derive(Clone, Copy, Debug)]
pub struct AltStack {
    /// Its lowest usable address (a guard page lies below).
    pub base: usize,
    /// Its size in bytes.
    pub size: usize,
}

/// The size an alternate stack gets: four times the kernel's need for a signal frame on
/// this machine (AT_MINSIGSTKSZ: AVX-512, AMX and SVE frames are larger than the old
/// MINSIGSTKSZ constant), at least SIGSTKSZ, in whole pages.
#[must_use]
pub fn alt_stack_size() -> usize {
    let min = crate::auxv::min_sigstack_size()
        .unwrap_or(0)
        .max(g::MINSIGSTKSZ as usize);
    // Never 0 (`max`): no division-by-zero panic, and so no panic path, in a program that
    // asks for `report_stack_overflow` and otherwise has none.
    let page = crate::auxv::page_size().unwrap_or(4096).max(1);
    let want = min.saturating_mul(4).max(g::SIGSTKSZ as usize);
    want.div_ceil(page).saturating_mul(page)
}

/// Maps an alternate stack of [`alt_stack_size`] bytes with a guard page below it and
/// installs it for the calling thread (`sigaltstack`).
pub fn install_alt_stack() -> Result<AltStack, Errno> {
    let size = alt_stack_size();
    let page = crate::auxv::page_size().unwrap_or(4096);
    let len = size.checked_add(page).ok_or(Errno::ENOMEM)?;
    let base = crate::sys::mmap_anonymous(
        len,
        g::PROT_READ | g::PROT_WRITE,
        g::MAP_PRIVATE | g::MAP_ANONYMOUS | g::MAP_STACK,
    )?;
    let give_back = |e: Errno| {
        // SAFETY: our fresh mapping, which nothing uses yet.
        let _ = unsafe { crate::sys::munmap(base, len) };
        e
    };
    crate::sys::mprotect_none(base, page).map_err(give_back)?;
    let ss = g::stack_t {
        ss_sp: (base + page) as *mut c_void,
        ss_flags: 0,
        ss_size: size as _,
    };
    // SAFETY: the kernel reads one stack_t, ours; the stack it names is our mapping, never
    // unmapped.
    Errno::from_ret(unsafe {
        syscall2(
            g::__NR_sigaltstack as usize,
            &ss as *const g::stack_t as usize,
            0,
        )
    })
    .map_err(give_back)?;
    Ok(AltStack {
        base: base + page,
        size,
    })
}

flags_type! {
    /// Flags of an [`Action`].
    pub struct Flags;
    /// Restart interrupted system calls where the kernel can (`SA_RESTART`).
    RESTART = g::SA_RESTART;
    /// Do not block the signal while its handler runs (`SA_NODEFER`).
    NODEFER = g::SA_NODEFER;
    /// Run the handler on the alternate stack (`SA_ONSTACK`; see [`install_alt_stack`]).
    ONSTACK = g::SA_ONSTACK;
    /// Reset to the default action once the handler runs (`SA_RESETHAND`).
    RESETHAND = g::SA_RESETHAND;
    /// SIGCHLD: not for children that stop or continue (`SA_NOCLDSTOP`).
    NOCLDSTOP = g::SA_NOCLDSTOP;
    /// SIGCHLD: children that end leave no zombie (`SA_NOCLDWAIT`).
    NOCLDWAIT = g::SA_NOCLDWAIT;
    /// None.
    NONE = 0;
}

impl Flags {
    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// What a signal does when it arrives.
#[derive(Clone, Copy, Debug)]
pub enum Handler {
    /// The default action (end, stop, ignore or dump, by signal).
    Default,
    /// Nothing.
    Ignore,
    /// Call this with the signal number.
    Plain(extern "C" fn(i32)),
    /// Call this with the signal number, what the kernel tells about it, and the interrupted
    /// context (`ucontext_t`, architecture-specific) (SA_SIGINFO).
    Info(extern "C" fn(i32, &SigInfo, *mut c_void)),
    /// A handler as [`action`] and [`set_action`] found it installed (they cannot tell
    /// its Rust type): an [`Action`] with it, with the flags and mask they returned beside
    /// it, installs it again as it was (see [`SavedHandler`]).
    Saved(SavedHandler),
}

/// An installed handler as [`action`] and [`set_action`] found it: its address and how the
/// kernel calls it (with SA_SIGINFO's three arguments or the signal number alone). Only they
/// make one, so installing it again ("save, replace, restore") re-installs what was there.
///
/// The restorer (the signal return, see `arch::kernel_action`) is not kept: the handler gets
/// tinyrt's for its flags, as every handler tinyrt installs does. For a handler tinyrt
/// installed that is the one it had. For one someone else installed with a raw
/// `rt_sigaction` and a restorer of their own, tinyrt's takes its place: every restorer makes
/// the same `rt_sigreturn` (on i686 and armv7 `sigreturn` for a frame without SA_SIGINFO,
/// chosen by that same flag), so the handler runs and returns as before; only a restorer
/// that did more than return would be missed. (On x86_64, one installed without
/// SA_RESTORER, which crashes on return, gets one.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedHandler {
    address: usize,
    /// SA_SIGINFO and any kernel flag tinyrt does not name, as found (not SA_RESTORER).
    flags: u32,
}

impl SavedHandler {
    /// The handler's address.
    #[must_use]
    pub const fn address(self) -> usize {
        self.address
    }

    /// Whether the kernel calls it with siginfo and the context (SA_SIGINFO).
    #[must_use]
    pub const fn takes_info(self) -> bool {
        self.flags & g::SA_SIGINFO != 0
    }
}

/// A signal's disposition: its handler, flags, and the signals blocked while the handler
/// runs (besides the signal itself, unless NODEFER).
#[derive(Clone, Copy, Debug)]
pub struct Action {
    /// What happens.
    pub handler: Handler,
    /// How.
    pub flags: Flags,
    /// Also blocked during the handler.
    pub mask: SigSet,
}

impl Action {
    /// `handler`, no flags, nothing else blocked.
    #[must_use]
    pub const fn new(handler: Handler) -> Action {
        Action {
            handler,
            flags: Flags::NONE,
            mask: SigSet::EMPTY,
        }
    }

    /// With `flags`.
    #[must_use]
    pub const fn flags(self, flags: Flags) -> Action {
        Action { flags, ..self }
    }

    /// With `mask` blocked during the handler.
    #[must_use]
    pub const fn mask(self, mask: SigSet) -> Action {
        Action { mask, ..self }
    }
}

/// The flags the kernel adds that a caller did not choose (SA_RESTORER, SA_SIGINFO).
const CHOSEN: u32 = g::SA_RESTART
    | g::SA_NODEFER
    | g::SA_ONSTACK
    | g::SA_RESETHAND
    | g::SA_NOCLDSTOP
    | g::SA_NOCLDWAIT;

/// `SA_RESTORER`, the flag `arch::kernel_action` adds with its restorer: the same bit on
/// every architecture that has one (riscv64 has none, and never reports the bit).
const SA_RESTORER: u32 = 0x0400_0000;

/// `rt_sigaction(sig, act, old)`, raw: the kernel's structs, with the architecture's
/// restorer added to `act`.
///
/// # Safety
/// A handler in `act` must be a function the kernel may call with the arguments its flags
/// imply, doing only async-signal-safe work.
pub(crate) unsafe fn sigaction_raw(
    sig: i32,
    act: Option<(usize, usize, SigSet)>,
) -> Result<(usize, usize, SigSet), Errno> {
    let new = act.map(|(h, f, m)| crate::arch::kernel_action(h, f, m.kernel()));
    let mut old = crate::arch::kernel_action(0, 0, SigSet::EMPTY.kernel());
    let p = new.as_ref().map_or(0, |k| k as *const _ as usize);
    // SAFETY: the kernel reads `new` (or NULL) and writes `old`, both ours; what it installs
    // is the caller's contract.
    Errno::from_ret(unsafe {
        syscall4(
            g::__NR_rt_sigaction as usize,
            sig as usize,
            p,
            &mut old as *mut _ as usize,
            SET_SIZE,
        )
    })?;
    let handler = old.sa_handler_kernel.map_or(0, |f| f as usize);
    Ok((
        handler,
        old.sa_flags as usize,
        SigSet::from_kernel(old.sa_mask),
    ))
}

/// Sets what `sig` does; what it did before, in a form that installs it again: a handler comes
/// back as [`Handler::Saved`], with its flags and mask. EINVAL for SIGKILL and SIGSTOP
/// (their action cannot change); EOPNOTSUPP in a program tinyrt did not start (library
/// mode: its libc owns the handlers and their restorers).
///
/// ```no_run
/// use tinyrt_rt::signal::{self, Action, Handler, Signal};
/// extern "C" fn mine(_: i32) {}
/// // SAFETY: `mine` does nothing.
/// let old = unsafe { signal::set_action(Signal::USR1, &Action::new(Handler::Plain(mine))) }?;
/// signal::raise(Signal::USR1)?; // `mine` runs
/// // SAFETY: what was there before, as it was (SIG_DFL, SIG_IGN or a handler).
/// unsafe { signal::set_action(Signal::USR1, &old) }?;
/// # Ok::<(), tinyrt_rt::Errno>(())
/// ```
///
/// # Safety
/// A handler runs between any two instructions of the program, on its stack (or the
/// alternate one): it must do only async-signal-safe work (no allocation, no lock the
/// interrupted code may hold, atomics and system calls are fine) and must not unwind.
pub unsafe fn set_action(sig: Signal, action: &Action) -> Result<Action, Errno> {
    if !crate::env::started_by_tinyrt() {
        return Err(Errno::EOPNOTSUPP);
    }
    let (handler, info) = match action.handler {
        Handler::Default => (SIG_DFL, 0),
        Handler::Ignore => (SIG_IGN, 0),
        Handler::Plain(f) => (f as usize, 0),
        Handler::Info(f) => (f as usize, g::SA_SIGINFO),
        Handler::Saved(s) => (s.address, s.flags),
    };
    let flags = (action.flags.0 & CHOSEN | info & !CHOSEN) as usize;
    // SAFETY: the handler's type matches SA_SIGINFO (a saved one keeps the flag it was found
    // with); the rest is the caller's contract.
    let (h, f, m) = unsafe { sigaction_raw(sig.number(), Some((handler, flags, action.mask))) }?;
    Ok(decode(h, f, m))
}

/// What `sig` does now.
pub fn action(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: nothing is installed.
    let (h, f, m) = unsafe { sigaction_raw(sig.number(), None) }?;
    Ok(decode(h, f, m))
}

fn decode(handler: usize, flags: usize, mask: SigSet) -> Action {
    let handler = match handler {
        h if h == SIG_DFL => Handler::Default,
        h if h == SIG_IGN => Handler::Ignore,
        h => Handler::Saved(SavedHandler {
            address: h,
            flags: flags as u32 & !(CHOSEN | SA_RESTORER),
        }),
    };
    Action {
        handler,
        flags: Flags(flags as u32 & CHOSEN),
        mask,
    }
}

/// Ignores `sig` from now on; what it did before.
pub fn ignore(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: no handler is installed.
    unsafe { set_action(sig, &Action::new(Handler::Ignore)) }
}

/// Gives `sig` its default action again; what it did before.
pub fn set_default(sig: Signal) -> Result<Action, Errno> {
    // SAFETY: no handler is installed.
    unsafe { set_action(sig, &Action::new(Handler::Default)) }
}
