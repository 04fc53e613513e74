//! Ending the program as std does: [`abort`] (the core of `process::abort`), and the report
//! of a stack overflow a program asks for ([`report_stack_overflow`], or
//! `tinyrt::main!(main, stack_overflow_message)`), on the main thread and on every thread
//! the thread module starts afterwards.
//!
//! A thread of the thread module's gets, once the report was asked for, an alternate stack
//! of its own carved from its mapping ([`thread_guard_size`]: from the bottom, a guard page,
//! the alternate stack, the guard page of its stack), installed by the thread at its start
//! ([`thread_start`]) and freed with the mapping. Its overflow is told exactly: a fault
//! (SEGV_MAPERR or SEGV_ACCERR) inside the page just below its stack (the Block's `stack`
//! bounds); it is reported with the thread's name from its Block (`<unknown>` when it has
//! none, as std writes it).
//!
//! On the main thread the overflow is told from any other SIGSEGV by where the fault is and
//! by `si_code`: just below the lowest page of a run of mapped pages that reaches the
//! address recorded when the report was set up (every page from the fault's up to it
//! mapped, asked of `mincore` in chunks), within the stack's limit below it when
//! RLIMIT_STACK is finite; the fault SEGV_MAPERR on an unmapped page (the kernel refused to
//! grow the stack: RLIMIT_STACK, RLIMIT_AS, or another mapping too close below), or in a
//! guard page (qemu-user's guest stacks have one) with nothing mapped below it or at least
//! half the stack's size down. A write into `.rodata` or a PROT_NONE page elsewhere, just
//! below another mapping or into a read-only page of the stack itself is not an overflow,
//! whatever the stack limit. std's `stack_overflow.rs` taught us the idea (a SIGSEGV
//! handler on an alternate stack that compares the fault with the guard region, and that
//! otherwise restores the default action and returns so that the fault repeats); the code
//! and the test of "the lowest page of the run" are our own.
//!
//! # Safety
//!
//! The handler does only async-signal-safe work: system calls on values of its own frame,
//! atomics written before it was installed, and the faulting thread's own Block (from its
//! thread pointer), whose name bytes stay alive while its `name` pointer is not null.
//! [`thread_start`] installs an alternate stack inside memory the thread module vouches for.

use super::*;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

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
/// Whether the report was set up: then each new thread gets an alternate stack.
static REPORT: AtomicBool = AtomicBool::new(false);

/// Reports a stack overflow as std does: `thread 'NAME' (TID) has overflowed its stack` and
/// `fatal runtime error: stack overflow, aborting` on standard error (each after a newline,
/// as std writes them), then [`process::abort`](crate::process::abort) (SIGABRT). NAME is
/// `main` on the main thread, and on a thread started afterwards by the thread module its
/// name or std's `<unknown>`. Any other SIGSEGV (not a fault just below the run of mappings
/// that holds the main stack, nor in a thread's guard page: see the module's text) ends the
/// program as it would have (the default action). Installs an alternate stack
/// ([`install_alt_stack`]) and a SIGSEGV handler for the calling thread, which must be the
/// main one, on its own stack, and from then on each new thread gets an alternate stack of
/// its own: call it at the start of `main` (or name the option:
/// `tinyrt::main!(main, stack_overflow_message)`); a thread started before has none, and
/// its overflow stays a plain SIGSEGV. A SIGSEGV handler installed later replaces it.
/// EOPNOTSUPP in library mode (the std program has its own report).
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
    unsafe { sigaction_raw(Signal::SEGV.number(), Some((handler, flags, SigSet::EMPTY))) }?;
    REPORT.store(true, Relaxed);
    Ok(())
}

/// The bytes a new thread's mapping keeps below its stack, from its base: its guard page;
/// once the report was set up also, below that, an alternate stack ([`alt_stack_size`])
/// and a guard page of its own under it. [`protect_thread_guard`] makes the guard pages
/// inaccessible, [`thread_alt_stack`] finds the alternate stack again.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) fn thread_guard_size(page: usize) -> usize {
    if REPORT.load(Relaxed) {
        page.saturating_mul(2).saturating_add(alt_stack_size())
    } else {
        page
    }
}

/// Makes the guard pages of the `guard` bytes at `base` (as [`thread_guard_size`] laid them
/// out) inaccessible.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) fn protect_thread_guard(base: usize, guard: usize, page: usize) -> Result<(), Errno> {
    crate::sys::mprotect_none(base, page)?;
    if guard > page {
        crate::sys::mprotect_none(base + guard - page, page)?;
    }
    Ok(())
}

/// The alternate stack (lowest address, size) inside the `guard` bytes at `base` laid out
/// by [`thread_guard_size`]; (0, 0) when they hold none.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) fn thread_alt_stack(base: usize, guard: usize, page: usize) -> (usize, usize) {
    match guard.checked_sub(2 * page) {
        Some(size) if size != 0 => (base + page, size),
        _ => (0, 0),
    }
}

/// A new thread's start, with its Block's `alt_stack` set: installs that alternate stack
/// for the calling thread (`sigaltstack`), if it has one. Best effort: without it an
/// overflow of the thread ends it with a plain SIGSEGV.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) fn thread_start() {
    let (sp, size) = crate::tls::current().alt_stack;
    if size == 0 {
        return;
    }
    let ss = g::stack_t {
        ss_sp: sp as *mut c_void,
        ss_flags: 0,
        ss_size: size as _,
    };
    // SAFETY: the kernel reads one stack_t, ours; the stack it names lies in the thread's
    // mapping, which outlives the thread's code (it is freed after the thread's exit, or by
    // the thread itself with every signal blocked).
    let _ = unsafe {
        syscall2(
            g::__NR_sigaltstack as usize,
            &ss as *const g::stack_t as usize,
            0,
        )
    };
}

/// Whether a fault (`code`, `addr`) on a thread of the thread module's, whose usable stack
/// starts at `low`, is its overflow: in the guard page just below.
fn is_thread_overflow(code: i32, addr: usize, low: usize) -> bool {
    let page = PAGE.load(Relaxed);
    (code == g::SEGV_MAPERR as i32 || code == g::SEGV_ACCERR as i32)
        && addr < low
        && addr >= low.saturating_sub(page)
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
    let block = crate::tls::current();
    let (code, addr) = (info.code(), info.addr());
    // A thread of the thread module's has its handle and its stack's bounds in its Block;
    // the main thread has no handle there.
    let spawned = !block.thread.load(Relaxed).is_null();
    let (overflow, name) = match block.stack.0 {
        low if spawned && low != 0 => (is_thread_overflow(code, addr, low), thread_name(block)),
        _ => (is_stack_overflow(code, addr), &b"main"[..]),
    };
    if overflow {
        // SAFETY: no pointers.
        let tid = unsafe { crate::arch::syscall0(g::__NR_gettid as usize) };
        let mut digits = [0; 20];
        write_gathered(&[
            b"\nthread '",
            name,
            b"' (",
            crate::io::decimal(tid, &mut digits),
            b") has overflowed its stack\nfatal runtime error: stack overflow, aborting\n",
        ]);
        abort();
    }
    // Not an overflow: the default action, then the same again. A fault repeats when this
    // returns; a SIGSEGV someone sent is sent again.
    // SAFETY: SIG_DFL installs no handler.
    let _ = unsafe { sigaction_raw(sig, Some((SIG_DFL, 0, SigSet::EMPTY))) };
    if code <= 0 {
        let _ = raise(Signal::SEGV);
    }
}

/// The name in the calling thread's Block, or std's `<unknown>` for a thread without one.
fn thread_name(block: &crate::tls::Block) -> &[u8] {
    let p = block.name.load(core::sync::atomic::Ordering::Acquire);
    if p.is_null() {
        return b"<unknown>";
    }
    let len = block.name_len.load(Relaxed);
    // SAFETY: a non-null `name` points at `name_len` bytes the thread module keeps alive
    // while the thread holds its handle, and it is the calling thread's own Block: the
    // thread runs this handler, so it has not let its handle go.
    unsafe { core::slice::from_raw_parts(p, len) }
}

/// Writes `pieces` to standard error, gathered in a buffer of the frame for as few writes
/// as possible (one, unless a long name fills it), without a path that could panic (and
/// bring core::fmt).
fn write_gathered(pieces: &[&[u8]]) {
    let mut buf = [0u8; 256];
    let mut n = 0;
    for &b in pieces.iter().flat_map(|p| p.iter()) {
        if n == buf.len() {
            let _ = crate::io::write_all(crate::io::STDERR, &buf);
            n = 0;
        }
        if let Some(slot) = buf.get_mut(n) {
            *slot = b;
            n += 1;
        }
    }
    let _ = crate::io::write_all(crate::io::STDERR, buf.get(..n).unwrap_or(&[]));
}
