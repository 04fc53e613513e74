//! Ending the program as std does: [`abort`] (the core of `process::abort`), and the report
//! of a main-stack overflow a program asks for ([`report_stack_overflow`], or
//! `tinyrt::main!(main, stack_overflow_message)`).
//!
//! The overflow is told from any other SIGSEGV by where the fault is and by `si_code`: just
//! below the lowest page of a run of mapped pages that reaches the address recorded when the
//! report was set up (every page from the fault's up to it mapped, asked of `mincore` in
//! chunks), within the stack's limit below it when RLIMIT_STACK is finite; the fault
//! SEGV_MAPERR on an unmapped page (the kernel refused to grow the stack: RLIMIT_STACK,
//! RLIMIT_AS, or another mapping too close below), or in a guard page (qemu-user's guest
//! stacks have one) with nothing mapped below it or at least half the stack's size down. A write into `.rodata` or a PROT_NONE page
//! elsewhere, just below another mapping or into a read-only page of the stack itself is
//! not an overflow, whatever the stack limit. std's `stack_overflow.rs` taught us the idea
//! (a SIGSEGV handler on an alternate stack that compares the fault with the guard region,
//! and that otherwise restores the default action and returns so that the fault repeats);
//! the code and the test of "the lowest page of the run" are our own.
//!
//! # Safety
//!
//! The handler does only async-signal-safe work: system calls on values of its own frame and
//! atomics written before it was installed.

use super::*;
use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Ends the process with SIGABRT, as C's `abort` and std's `process::abort`: SIGABRT is
/// unblocked and raised; if a handler catches it and returns (or it is ignored), SIGABRT gets
/// its default action and is raised again. Only a refusal of even that (a seccomp filter)
/// would reach the `exit_group(127)` at its end.
#[cold]
pub(crate) fn abort() -> ! {
    let abrt = SigSet::EMPTY.with(Signal::ABRT);
    let _ = unblock(abrt);
    let _ = raise(Signal::ABRT);
    // SAFETY: SIG_DFL installs no handler.
    let _ = unsafe { sigaction_raw(Signal::ABRT.number(), Some((SIG_DFL, 0, SigSet::EMPTY))) };
    // A handler that returned may have left it blocked.
    let _ = unblock(abrt);
    let _ = raise(Signal::ABRT);
    crate::arch::exit_group(127)
}

/// An address near the top of the main stack (a local of the function that set the report
/// up), the stack's limit (RLIMIT_STACK; `usize::MAX` when unlimited: no early filter then)
/// and the page size.
static TOP: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// Reports an overflow of the main stack as std does: `thread 'main' (TID) has overflowed its
/// stack` and `fatal runtime error: stack overflow, aborting` on standard error (each after a
/// newline, as std writes them), then [`process::abort`](crate::process::abort) (SIGABRT).
/// Any other SIGSEGV (not a fault just below the run of mappings that holds the main
/// stack: see the module's text) ends the program as it would have (the default action). Installs an
/// alternate stack ([`install_alt_stack`]) and a SIGSEGV handler for the calling thread,
/// which must be the main one, on its own stack: call it at the start of `main` (or name the
/// option: `tinyrt::main!(main, stack_overflow_message)`). A SIGSEGV handler installed later
/// replaces it. EOPNOTSUPP in library mode (the std program has its own report).
///
/// ```no_run
/// tinyrt_rt::signal::report_stack_overflow()?;
/// # Ok::<(), tinyrt_rt::Errno>(())
/// ```
pub fn report_stack_overflow() -> Result<(), Errno> {
    if !crate::env::started_by_tinyrt() {
        return Err(Errno::EOPNOTSUPP);
    }
    let here = 0u8;
    TOP.store(core::hint::black_box(&here) as *const u8 as usize, Relaxed);
    let mut lim = g::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the kernel writes one rlimit64, ours.
    let r = unsafe {
        syscall4(
            g::__NR_prlimit64 as usize,
            0,
            g::RLIMIT_STACK as usize,
            0,
            &mut lim as *mut _ as usize,
        )
    };
    let limit = match Errno::from_ret(r) {
        Ok(_) if lim.rlim_cur != g::RLIM64_INFINITY as u64 => {
            usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
        }
        _ => usize::MAX,
    };
    LIMIT.store(limit, Relaxed);
    PAGE.store(crate::auxv::page_size().unwrap_or(4096), Relaxed);
    install_alt_stack()?;
    let flags = (g::SA_SIGINFO | g::SA_ONSTACK) as usize;
    let handler = on_segv as extern "C" fn(i32, &SigInfo, *mut c_void) as usize;
    // SAFETY: the handler takes SA_SIGINFO's arguments and does only async-signal-safe work.
    unsafe { sigaction_raw(Signal::SEGV.number(), Some((handler, flags, SigSet::EMPTY))) }
        .map(|_| ())
}

/// Whether a fault is an overflow of the main stack: below the recorded top by no more than
/// the stack's limit when it has one (and two pages of slack for the frame that overflowed),
/// and just below the lowest page of one run of mapped pages that reaches the top (not just
/// below some other mapping: a heap arena, a static). Just below means either
/// - SEGV_MAPERR on an unmapped page: the kernel refused to grow the stack; or
/// - a fault in a guard page: a mapped page (SEGV_ACCERR: PROT_NONE; qemu-user gives the
///   guest's main stack one, and qemu-ppc64le reports SEGV_MAPERR for it) with nothing
///   mapped below it, or at least half the stack's size down (`deep`).
///
/// A write into `.rodata`, a PROT_NONE or read-only page elsewhere, or just below another
/// mapping is not an overflow, nor is any other `si_code`.
fn is_stack_overflow(code: i32, addr: usize) -> bool {
    let (top, limit, page) = (TOP.load(Relaxed), LIMIT.load(Relaxed), PAGE.load(Relaxed));
    if page == 0 || addr >= top || top - addr > limit.saturating_add(2 * page) {
        return false;
    }
    let (maperr, accerr) = (code == g::SEGV_MAPERR as i32, code == g::SEGV_ACCERR as i32);
    let at = addr & !(page - 1);
    let lowest = if !mapped(at, at, page) {
        if !maperr {
            return false;
        }
        at.wrapping_add(page)
    } else if (maperr || accerr)
        && at >= page
        && (deep(top - addr, limit) || !mapped(at - page, at - page, page))
    {
        at
    } else {
        return false;
    };
    lowest <= top && mapped(lowest, top, page)
}

/// Whether a fault `below` bytes under the recorded top is at least half the stack's size
/// down (its limit, or qemu-user's fixed 8 MiB when there is none): where a guard page
/// sits, not where a page of the stack in use would be made inaccessible. It lets a guard
/// page count whatever is mapped below it: qemu-user places its own mappings there at
/// times (one run in about twenty of qemu-x86_64's, seen in `.ci/run`).
fn deep(below: usize, limit: usize) -> bool {
    below >= limit.min(8 << 20) / 2
}

/// Whether every page from `from` (page-aligned) to the one holding `last` is mapped:
/// `mincore` answers ENOMEM for a range with an unmapped page. Asked in chunks of
/// `VEC` pages, so that the frame stays small on the alternate stack; the first gap
/// ends it.
fn mapped(from: usize, last: usize, page: usize) -> bool {
    const VEC: usize = 256;
    let mut vec = [0u8; VEC];
    let mut at = from;
    while at <= last {
        // (`checked_div`: no panic path for a page size of 0.)
        let pages = (last - at)
            .checked_div(page)
            .unwrap_or(0)
            .saturating_add(1)
            .min(VEC);
        let len = pages.wrapping_mul(page);
        // SAFETY: mincore reads no memory of ours; it writes one byte a page, `pages` bytes,
        // into our buffer of VEC bytes.
        let r = unsafe { syscall3(g::__NR_mincore as usize, at, len, vec.as_mut_ptr() as usize) };
        if Errno::from_ret(r).is_err() {
            return false;
        }
        match at.checked_add(len) {
            Some(next) => at = next,
            None => return true,
        }
    }
    true
}

extern "C" fn on_segv(sig: i32, info: &SigInfo, _ctx: *mut c_void) {
    if is_stack_overflow(info.code(), info.addr()) {
        // SAFETY: no pointers.
        let tid = unsafe { crate::arch::syscall0(g::__NR_gettid as usize) };
        // Gathered for one write, without a path that could panic (and bring core::fmt).
        let mut buf = [0u8; 128];
        let mut n = 0;
        let mut digits = [0; 20];
        for piece in [
            &b"\nthread 'main' ("[..],
            crate::io::decimal(tid, &mut digits),
            b") has overflowed its stack\nfatal runtime error: stack overflow, aborting\n",
        ] {
            for &b in piece {
                if let Some(slot) = buf.get_mut(n) {
                    *slot = b;
                    n += 1;
                }
            }
        }
        let _ = crate::io::write_all(crate::io::STDERR, buf.get(..n).unwrap_or(&[]));
        abort();
    }
    // Not an overflow: the default action, then the same again. A fault repeats when this
    // returns; a SIGSEGV someone sent is sent again.
    // SAFETY: SIG_DFL installs no handler.
    let _ = unsafe { sigaction_raw(sig, Some((SIG_DFL, 0, SigSet::EMPTY))) };
    if info.code() <= 0 {
        let _ = raise(Signal::SEGV);
    }
}
