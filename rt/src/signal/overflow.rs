//! Ending the program as std does: [`abort`] (the core of `process::abort`), and the report
//! of a main-stack overflow a program asks for ([`report_stack_overflow`], or
//! `tinyrt::main!(main, stack_overflow_message)`).
//!
//! The overflow is told from any other SIGSEGV by where the fault is: just below the lowest
//! mapped page of the main stack (the kernel refused to grow it further: RLIMIT_STACK, or
//! another mapping too close below), within the stack's limit below the address recorded
//! when the report was set up. std's `stack_overflow.rs` taught us the idea (a SIGSEGV
//! handler on an alternate stack that compares the fault with the guard region, and that
//! otherwise restores the default action and returns so that the fault repeats); the code
//! and the test of "the lowest mapped page" (`mincore` on the page above the fault) are our
//! own.
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
/// up), the stack's limit (RLIMIT_STACK; `usize::MAX` when unlimited) and the page size.
static TOP: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// Reports an overflow of the main stack as std does: `thread 'main' (TID) has overflowed its
/// stack` and `fatal runtime error: stack overflow, aborting` on standard error (each after a
/// newline, as std writes them), then [`process::abort`](crate::process::abort) (SIGABRT).
/// Any other SIGSEGV ends the program as it would have (the default action). Installs an
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

/// Whether a fault at `addr` hit the page just below the main stack's lowest mapped page:
/// below the recorded top by no more than the stack's limit (and two pages of slack for the
/// frame that overflowed), and the page above the fault's is mapped.
fn is_stack_overflow(addr: usize) -> bool {
    let (top, limit, page) = (TOP.load(Relaxed), LIMIT.load(Relaxed), PAGE.load(Relaxed));
    if addr >= top || top - addr > limit.saturating_add(2 * page) {
        return false;
    }
    let above = (addr & !(page - 1)).wrapping_add(page);
    let mut resident = 0u8;
    // SAFETY: mincore reads no memory of ours; it writes one byte (one page), ours. It
    // answers ENOMEM for a page that is not mapped.
    let r = unsafe {
        syscall3(
            g::__NR_mincore as usize,
            above,
            page,
            &mut resident as *mut u8 as usize,
        )
    };
    Errno::from_ret(r).is_ok()
}

extern "C" fn on_segv(sig: i32, info: &SigInfo, _ctx: *mut c_void) {
    if info.code() > 0 && is_stack_overflow(info.addr()) {
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
