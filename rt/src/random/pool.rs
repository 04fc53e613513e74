//! The vDSO's `getrandom` (Linux 6.11+) and the opaque states it works in.
//!
//! The protocol, as the kernel defines it (`lib/vdso/getrandom.c`, and its selftest
//! `vdso_test_getrandom.c`, which this follows):
//!
//! 1. Ask for the parameters: `vgetrandom(NULL, 0, 0, &params, ~0UL)` answers 0 and fills
//!    `struct vgetrandom_opaque_params`: the size of one state, and the `prot` and `flags`
//!    to map states with (`PROT_READ | PROT_WRITE`, `MAP_DROPPABLE | MAP_ANONYMOUS` today:
//!    memory the kernel may zero at any time and that a forked child gets zeroed).
//! 2. Map states with exactly those, never letting one straddle a page (the vDSO answers
//!    EFAULT for such a state): here, one page, as many whole states as fit, at most one
//!    per bit of a `usize`.
//! 3. Each call passes one state and its size. A state must never be used by two calls at
//!    once: its bytes are the generator's key and its unused output. The vDSO's own
//!    `in_use` flag only guards one thread against a signal handler, not threads against
//!    each other.
//!
//! The states are handed out through one atomic bitmap of free states: a call claims a bit
//! with a compare-and-swap and gives it back when the vDSO returns, so concurrent threads
//! (library mode) and a signal handler that interrupts a call always get different states.
//! When every state is taken, the call uses the system call instead: nobody waits, which
//! keeps the path async-signal-safe. The first use sets the pool up; a caller that races
//! with the set-up (another thread, or a signal handler interrupting it) uses the system
//! call meanwhile. The kernel tells a forked child by its zeroed states (MAP_DROPPABLE
//! implies wipe-on-fork), and the vDSO then reseeds: parent and child never share output.
//!
//! Measured here: a 16-byte read through the vDSO costs a fraction of the system call (see
//! the README's getrandom table).
//!
//! Limits, all costing speed, never correctness: the pool is one page and does not grow
//! (past its states, callers use the system call); a fork while another thread holds a
//! state leaves that state taken in the child, and a fork while another thread sets the
//! pool up leaves the child on the system call; a failed `mmap` is not retried.
//!
//! Where the pool cannot be set up, it tells the dispatch (`vdso::use_syscall`), whose
//! getrandom slot then holds the system call: what serves getrandom is then reported as
//! such everywhere, and nothing below ever asks this module.
//!
//! # Safety
//!
//! The one thing trusted here is the state contract of `vdso::getrandom` (the call through
//! the dispatch's slot): the pool's page comes from `mmap` with the vDSO's own parameters
//! and is never unmapped, so a state address stays valid for the life of the process; a
//! state is passed to the vDSO only by the caller that claimed its bit, so no two calls
//! share one; the slot is called only after the dispatch said it holds the vDSO's function.
#![allow(unsafe_code)]

use crate::vdso::{self, Function, is_vdso};
use core::ffi::c_void;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use linux_raw_sys::general::{GRND_INSECURE, GRND_NONBLOCK, GRND_RANDOM};

/// The pool's life: not set up, being set up, ready, or not possible in this process.
const UNSET: u8 = 0;
const SETTING_UP: u8 = 1;
const READY: u8 = 2;
const UNAVAILABLE: u8 = 3;

static POOL: AtomicU8 = AtomicU8::new(UNSET);
/// The states' page and the size of one state (written before POOL turns READY).
static BASE: AtomicUsize = AtomicUsize::new(0);
static SIZE: AtomicUsize = AtomicUsize::new(0);
/// Bit `k` set: state `k` (at BASE + k * SIZE) is free.
static FREE: AtomicUsize = AtomicUsize::new(0);

/// The flags the vDSO serves itself: any combination of the three, except RANDOM with
/// INSECURE, which the kernel refuses (EINVAL, from the system call).
fn vdso_serves(flags: u32) -> bool {
    flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) == 0
        && flags & (GRND_RANDOM | GRND_INSECURE) != GRND_RANDOM | GRND_INSECURE
}

/// `getrandom(buf, flags)`: the vDSO with a claimed state where it can, else the system
/// call. The raw result: bytes written, or a negated errno.
pub(crate) fn getrandom(buf: &mut [u8], flags: u32) -> isize {
    if vdso_serves(flags)
        && is_vdso(Function::Getrandom)
        && let Some(r) = through_vdso(buf, flags)
    {
        return r;
    }
    stats::by_syscall();
    crate::sys::getrandom(buf, flags)
}

/// Sets the pool up where the vDSO serves getrandom and nobody has yet (where it cannot be,
/// the dispatch's slot turns to the system call).
pub(crate) fn set_up_now() {
    if is_vdso(Function::Getrandom) {
        let _ = pool();
    }
}

/// One call through the vDSO, or `None` when it cannot serve it (no pool, every state
/// taken, or an error that the system call should answer instead).
fn through_vdso(buf: &mut [u8], flags: u32) -> Option<isize> {
    let (base, size) = pool()?;
    let k = claim()?;
    // SAFETY: the slot holds the vDSO's getrandom (the pool is READY only where it does);
    // `buf` is valid for its length; state `k` lies inside the pool's page, which stays
    // mapped, and is ours alone until `release` (module Safety section).
    let r = unsafe {
        vdso::getrandom(
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            (base + k * size) as *mut c_void,
            size,
        )
    };
    release(k);
    let nonblock_again =
        r == -(linux_raw_sys::errno::EAGAIN as isize) && flags & GRND_NONBLOCK != 0;
    // EINTR comes from the kernel's blocking wait (the vDSO makes the system call itself
    // before the generator is ready): the caller's answer, as from the system call.
    let interrupted = r == -(linux_raw_sys::errno::EINTR as isize);
    // Any other error is the vDSO's own (a state it refuses, say): the system call answers.
    (r >= 0 || nonblock_again || interrupted).then_some(r)
}

/// The pool: (page, state size), setting it up on first use; `None` while another caller
/// sets it up, or when it cannot be.
fn pool() -> Option<(usize, usize)> {
    match POOL.load(Ordering::Acquire) {
        READY => Some((BASE.load(Ordering::Relaxed), SIZE.load(Ordering::Relaxed))),
        UNSET => {
            if POOL
                .compare_exchange(UNSET, SETTING_UP, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                return None;
            }
            let ready = set_up();
            POOL.store(if ready { READY } else { UNAVAILABLE }, Ordering::Release);
            if !ready {
                // No states, no vDSO getrandom: say so where everyone asks.
                vdso::use_syscall(Function::Getrandom);
            }
            ready.then(|| (BASE.load(Ordering::Relaxed), SIZE.load(Ordering::Relaxed)))
        }
        _ => None,
    }
}

/// Asks the vDSO for its parameters and maps one page of states with them.
fn set_up() -> bool {
    use linux_raw_sys::general::vgetrandom_opaque_params;
    let mut params = vgetrandom_opaque_params {
        size_of_opaque_state: 0,
        mmap_prot: 0,
        mmap_flags: 0,
        reserved: [0; 13],
    };
    // SAFETY: the slot holds the vDSO's getrandom (the caller checked its kind); this is
    // the protocol's parameter query: NULL buffer, zero length and flags, `~0` as the
    // state length, and a valid params struct as the state.
    let r = unsafe {
        vdso::getrandom(
            core::ptr::null_mut(),
            0,
            0,
            (&raw mut params).cast(),
            usize::MAX,
        )
    };
    let page = crate::auxv::page_size().unwrap_or(4096);
    let size = params.size_of_opaque_state as usize;
    if r != 0 || size == 0 || size > page {
        return false;
    }
    let Ok(base) = crate::sys::mmap_anonymous(page, params.mmap_prot, params.mmap_flags) else {
        return false;
    };
    let states = (page / size).min(usize::BITS as usize);
    BASE.store(base, Ordering::Relaxed);
    SIZE.store(size, Ordering::Relaxed);
    FREE.store(
        usize::MAX >> (usize::BITS as usize - states),
        Ordering::Relaxed,
    );
    stats::pool(states);
    true
}

/// Takes a free state: its index, or `None` when all are taken.
fn claim() -> Option<usize> {
    let mut free = FREE.load(Ordering::Relaxed);
    loop {
        if free == 0 {
            stats::busy();
            return None;
        }
        let k = free.trailing_zeros() as usize;
        // Acquire: the previous holder's use of the state happens before ours.
        match FREE.compare_exchange_weak(
            free,
            free & !(1 << k),
            Ordering::Acquire,
            Ordering::Relaxed,
        ) {
            Ok(_) => {
                stats::claimed(k);
                return Some(k);
            }
            Err(now) => free = now,
        }
    }
}

/// Gives state `k` back.
fn release(k: usize) {
    stats::released(k);
    FREE.fetch_or(1 << k, Ordering::Release);
}

/// What the pool did, for tests (crate feature `random-pool-stats`).
#[cfg(feature = "random-pool-stats")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// States in the pool (0 before it is set up).
    pub states: usize,
    /// Calls served with a state.
    pub claims: usize,
    /// Claims of a state already held by another call: must stay 0.
    pub double_claims: usize,
    /// The most states held at once.
    pub max_held: usize,
    /// Calls that found every state taken (and used the system call).
    pub busy: usize,
    /// Calls the system call served, for any reason.
    pub syscalls: usize,
}

/// The counters behind [`PoolStats`]: real with the feature, nothing without it (the
/// calls then compile to nothing).
#[cfg(feature = "random-pool-stats")]
mod stats {
    use super::PoolStats;
    use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

    static STATES: AtomicUsize = AtomicUsize::new(0);
    static CLAIMS: AtomicUsize = AtomicUsize::new(0);
    static DOUBLE: AtomicUsize = AtomicUsize::new(0);
    static HELD_NOW: AtomicUsize = AtomicUsize::new(0);
    static MAX_HELD: AtomicUsize = AtomicUsize::new(0);
    static BUSY: AtomicUsize = AtomicUsize::new(0);
    static SYSCALLS: AtomicUsize = AtomicUsize::new(0);
    /// One flag per state, kept apart from the bitmap: set while a caller holds it.
    static HELD: [AtomicBool; usize::BITS as usize] =
        [const { AtomicBool::new(false) }; usize::BITS as usize];

    pub fn pool(states: usize) {
        STATES.store(states, Relaxed);
    }
    pub fn claimed(k: usize) {
        CLAIMS.fetch_add(1, Relaxed);
        if HELD[k].swap(true, Relaxed) {
            DOUBLE.fetch_add(1, Relaxed);
        }
        let now = HELD_NOW.fetch_add(1, Relaxed) + 1;
        MAX_HELD.fetch_max(now, Relaxed);
    }
    pub fn released(k: usize) {
        HELD_NOW.fetch_sub(1, Relaxed);
        HELD[k].store(false, Relaxed);
    }
    pub fn busy() {
        BUSY.fetch_add(1, Relaxed);
    }
    pub fn by_syscall() {
        SYSCALLS.fetch_add(1, Relaxed);
    }
    pub fn get() -> PoolStats {
        PoolStats {
            states: STATES.load(Relaxed),
            claims: CLAIMS.load(Relaxed),
            double_claims: DOUBLE.load(Relaxed),
            max_held: MAX_HELD.load(Relaxed),
            busy: BUSY.load(Relaxed),
            syscalls: SYSCALLS.load(Relaxed),
        }
    }
}

#[cfg(not(feature = "random-pool-stats"))]
mod stats {
    pub fn pool(_: usize) {}
    pub fn claimed(_: usize) {}
    pub fn released(_: usize) {}
    pub fn busy() {}
    pub fn by_syscall() {}
}

/// The pool's counters so far.
#[cfg(feature = "random-pool-stats")]
pub(crate) fn pool_stats() -> PoolStats {
    stats::get()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vdso_is_asked_only_for_flags_it_serves() {
        for f in [
            0,
            GRND_NONBLOCK,
            GRND_RANDOM,
            GRND_INSECURE,
            GRND_NONBLOCK | GRND_RANDOM,
        ] {
            assert!(vdso_serves(f), "{f:#x}");
        }
        assert!(vdso_serves(GRND_NONBLOCK | GRND_INSECURE));
        // The kernel refuses RANDOM with INSECURE, and unknown bits: the system call says so.
        assert!(!vdso_serves(GRND_RANDOM | GRND_INSECURE));
        assert!(!vdso_serves(0x8));
        assert!(!vdso_serves(1 << 31));
    }
}
