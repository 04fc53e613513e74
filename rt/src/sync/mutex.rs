//! [`RawMutex`] (a futex word, also a `lock_api::RawMutex`) and [`Mutex`] with its guard.
//!
//! The algorithm is std's futex mutex (library/std/src/sys/sync/mutex/futex.rs, MIT OR
//! Apache-2.0), written again here: three states, a short spin before sleeping, and a
//! wake only when someone may be asleep.

use super::futex;
use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

/// Free.
const UNLOCKED: u32 = 0;
/// Held, and nobody asleep on it.
const LOCKED: u32 = 1;
/// Held, and maybe someone asleep on it: the unlock must wake one.
const CONTENDED: u32 = 2;

/// How many times a locker looks at a held lock before it sleeps.
const SPINS: u32 = 100;

/// A mutual-exclusion lock that guards no data: one 32-bit futex word, zero when free.
///
/// It is what [`Mutex`] is built on, and it implements `lock_api::RawMutex`, so that
/// `lock_api::Mutex<RawMutex, T>` and the crates built on lock_api (talc's `Talck`, for one)
/// take it. Waiters sleep in the kernel (a private futex); there is no fairness and no owner:
/// locking it again on the same thread deadlocks.
///
/// ```
/// use tinyrt_rt::sync::RawMutex;
///
/// let m = RawMutex::new();
/// m.lock();
/// assert!(m.is_locked() && !m.try_lock());
/// // SAFETY: locked above, on this thread.
/// unsafe { m.unlock() };
/// assert!(m.try_lock());
///
/// // Through lock_api, as talc and other lock_api crates take it:
/// let counter = lock_api::Mutex::<RawMutex, u32>::new(0);
/// *counter.lock() += 1;
/// assert_eq!(*counter.lock(), 1);
/// ```
pub struct RawMutex {
    state: AtomicU32,
}

impl RawMutex {
    /// A new, unlocked mutex.
    #[must_use]
    pub const fn new() -> RawMutex {
        RawMutex {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Takes the lock, sleeping while another holder has it.
    #[inline]
    pub fn lock(&self) {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
    }

    /// Takes the lock if it is free; never waits.
    #[inline]
    pub fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    /// Releases the lock, waking one waiter if one may be asleep.
    ///
    /// # Safety
    ///
    /// The lock is held, taken by this context (the caller's `lock` or `try_lock`), and is
    /// not used as held after this.
    #[inline]
    pub unsafe fn unlock(&self) {
        if self.state.swap(UNLOCKED, Release) == CONTENDED {
            // One waiter is enough: the one that takes the lock marks it CONTENDED again
            // (see lock_contended), so its unlock wakes the next.
            self.wake();
        }
    }

    /// Whether someone holds the lock now (a snapshot: it may change at once).
    #[inline]
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.state.load(Relaxed) != UNLOCKED
    }

    #[cold]
    fn lock_contended(&self) {
        let mut state = self.spin();
        // Freed while we spun: take it without marking it contended.
        if state == UNLOCKED {
            match self
                .state
                .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return,
                Err(s) => state = s,
            }
        }
        loop {
            // Mark it contended (and so owe a wake on unlock). A swap that found it free
            // took it; we may then wake one sleeper needlessly, never miss one.
            if state != CONTENDED && self.state.swap(CONTENDED, Acquire) == UNLOCKED {
                return;
            }
            futex::wait(&self.state, CONTENDED, None);
            state = self.spin();
        }
    }

    /// Looks (loads only) until the lock is free or contended, or the spins run out.
    fn spin(&self) -> u32 {
        let mut left = SPINS;
        loop {
            let state = self.state.load(Relaxed);
            if state != LOCKED || left == 0 {
                return state;
            }
            core::hint::spin_loop();
            left -= 1;
        }
    }

    #[cold]
    fn wake(&self) {
        futex::wake_one(&self.state);
    }
}

impl Default for RawMutex {
    fn default() -> RawMutex {
        RawMutex::new()
    }
}

impl fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawMutex")
            .field("locked", &self.is_locked())
            .finish()
    }
}

// SAFETY: `lock` and `try_lock` give the lock to one holder at a time (the Acquire
// compare-exchange or swap from UNLOCKED), `unlock` releases it with Release ordering, and
// `INIT` is an unlocked mutex.
unsafe impl lock_api::RawMutex for RawMutex {
    #[allow(
        clippy::declare_interior_mutable_const,
        reason = "lock_api's initialiser"
    )]
    const INIT: RawMutex = RawMutex::new();

    // As std's MutexGuard: not sent to another thread.
    type GuardMarker = lock_api::GuardNoSend;

    #[inline]
    fn lock(&self) {
        RawMutex::lock(self);
    }

    #[inline]
    fn try_lock(&self) -> bool {
        RawMutex::try_lock(self)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // SAFETY: lock_api's contract is ours: held, by this context.
        unsafe { RawMutex::unlock(self) }
    }

    #[inline]
    fn is_locked(&self) -> bool {
        RawMutex::is_locked(self)
    }
}

/// A mutual-exclusion lock guarding a `T`, shaped like `std::sync::Mutex`, without
/// poisoning: [`lock`](Mutex::lock) returns the guard itself, not a `LockResult`.
///
/// In a tinyrt program a panic ends the process, so nothing could ever see a poisoned lock.
/// In a std program that unwinds, a guard dropped by a panic unlocks the mutex as usual and
/// the data stays as the panicking code left it (as with parking_lot and lock_api).
///
/// ```
/// use std::thread;
/// use tinyrt_rt::sync::Mutex;
///
/// let total = Mutex::new(0u32);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| *total.lock() += 1);
///     }
/// });
/// assert_eq!(total.into_inner(), 4);
/// ```
pub struct Mutex<T: ?Sized> {
    pub(super) raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: as std's: the mutex hands its `T` to one thread at a time, so it may be sent and
// shared wherever the `T` may be sent.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`.
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, the mutex consumed.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock, sleeping while another thread holds it; the guard unlocks when
    /// dropped. Locking it again on the same thread deadlocks.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.raw.lock();
        MutexGuard::new(self)
    }

    /// Takes the lock if it is free now; never waits.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// The value, through the exclusive borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// The lock of a [`Mutex`], held until dropped; derefs to the data. Like std's, it stays on
/// the thread that locked (it is not `Send`).
#[must_use = "the mutex unlocks at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    pub(super) lock: &'a Mutex<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`: sharing it is sharing a `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The guard of a lock just taken.
    fn new(lock: &'a Mutex<T>) -> MutexGuard<'a, T> {
        MutexGuard {
            lock,
            not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no other reference to the data is live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, and is borrowed mutably: this is the only
        // reference to the data.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard was made when this thread took the lock, and is dropped once.
        unsafe { self.lock.raw.unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
