//! [`RwLock`]: many readers or one writer, with its two guards.
//!
//! The algorithm is std's futex reader-writer lock (library/std/src/sys/sync/rwlock/
//! futex.rs, MIT OR Apache-2.0), written again here. One word holds a 30-bit reader count
//! (all ones: write-locked) and two flags, readers waiting (they sleep on that word) and
//! writers waiting (they sleep on a second word, a counter bumped at each writer wake-up).
//! Waiting writers come first: a new reader does not join readers while a writer waits.

use super::futex;
use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::AtomicU32;
use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

const ONE_READER: u32 = 1;
const COUNT: u32 = (1 << 30) - 1;
const WRITE_LOCKED: u32 = COUNT;
const MAX_READERS: u32 = COUNT - 1;
const READERS_WAITING: u32 = 1 << 30;
const WRITERS_WAITING: u32 = 1 << 31;
const SPINS: u32 = 100;

fn unlocked(s: u32) -> bool {
    s & COUNT == 0
}

fn write_locked(s: u32) -> bool {
    s & COUNT == WRITE_LOCKED
}

fn readers_waiting(s: u32) -> bool {
    s & READERS_WAITING != 0
}

fn writers_waiting(s: u32) -> bool {
    s & WRITERS_WAITING != 0
}

/// A reader may join: room in the count, and nobody waiting (a waiting writer goes first;
/// waiting readers mean an unlock is about to sort the waiters out).
fn read_lockable(s: u32) -> bool {
    s & COUNT < MAX_READERS && s & (READERS_WAITING | WRITERS_WAITING) == 0
}

/// The lock alone, without data.
struct RawRwLock {
    state: AtomicU32,
    writer_seq: AtomicU32,
}

impl RawRwLock {
    const fn new() -> RawRwLock {
        RawRwLock {
            state: AtomicU32::new(0),
            writer_seq: AtomicU32::new(0),
        }
    }

    fn try_read(&self) -> bool {
        self.state
            .fetch_update(Acquire, Relaxed, |s| {
                read_lockable(s).then_some(s + ONE_READER)
            })
            .is_ok()
    }

    #[inline]
    fn read(&self) {
        let s = self.state.load(Relaxed);
        if !read_lockable(s)
            || self
                .state
                .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
                .is_err()
        {
            self.read_contended();
        }
    }

    #[cold]
    fn read_contended(&self) {
        let mut s = self.spin(|s| !write_locked(s) || readers_waiting(s) || writers_waiting(s));
        loop {
            if read_lockable(s) {
                match self
                    .state
                    .compare_exchange_weak(s, s + ONE_READER, Acquire, Relaxed)
                {
                    Ok(_) => return,
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            assert!(s & COUNT != MAX_READERS, "too many readers of an RwLock");
            // Announce ourselves before sleeping, so that the unlock wakes us.
            if !readers_waiting(s)
                && let Err(now) =
                    self.state
                        .compare_exchange(s, s | READERS_WAITING, Relaxed, Relaxed)
            {
                s = now;
                continue;
            }
            futex::wait(&self.state, s | READERS_WAITING, None);
            s = self.spin(|s| !write_locked(s) || readers_waiting(s) || writers_waiting(s));
        }
    }

    /// # Safety
    /// This context holds one read lock.
    #[inline]
    unsafe fn read_unlock(&self) {
        let s = self.state.fetch_sub(ONE_READER, Release) - ONE_READER;
        // Readers wait on a read-locked lock only behind a waiting writer: the last reader
        // out wakes that writer.
        if unlocked(s) && writers_waiting(s) {
            self.wake_after_unlock(s);
        }
    }

    fn try_write(&self) -> bool {
        self.state
            .fetch_update(Acquire, Relaxed, |s| {
                unlocked(s).then_some(s + WRITE_LOCKED)
            })
            .is_ok()
    }

    #[inline]
    fn write(&self) {
        if self
            .state
            .compare_exchange_weak(0, WRITE_LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.write_contended();
        }
    }

    #[cold]
    fn write_contended(&self) {
        let mut s = self.spin(|s| unlocked(s) || writers_waiting(s));
        // Once we have slept, others may sleep beside us: keep their flag when we lock.
        let mut keep = 0;
        loop {
            if unlocked(s) {
                match self
                    .state
                    .compare_exchange_weak(s, s | WRITE_LOCKED | keep, Acquire, Relaxed)
                {
                    Ok(_) => return,
                    Err(now) => {
                        s = now;
                        continue;
                    }
                }
            }
            if !writers_waiting(s)
                && let Err(now) =
                    self.state
                        .compare_exchange(s, s | WRITERS_WAITING, Relaxed, Relaxed)
            {
                s = now;
                continue;
            }
            keep = WRITERS_WAITING;
            // The counter first, then the state: a wake-up after this read changes the
            // counter, and we do not sleep through it.
            let seq = self.writer_seq.load(Acquire);
            s = self.state.load(Relaxed);
            if unlocked(s) || !writers_waiting(s) {
                continue;
            }
            futex::wait(&self.writer_seq, seq, None);
            s = self.spin(|s| unlocked(s) || writers_waiting(s));
        }
    }

    /// # Safety
    /// This context holds the write lock.
    #[inline]
    unsafe fn write_unlock(&self) {
        let s = self.state.fetch_sub(WRITE_LOCKED, Release) - WRITE_LOCKED;
        if writers_waiting(s) || readers_waiting(s) {
            self.wake_after_unlock(s);
        }
    }

    /// After an unlock left the lock free with waiters: one writer if one waits (readers
    /// stay asleep behind it), else every reader. If someone locks it meanwhile, their
    /// unlock does this instead.
    #[cold]
    fn wake_after_unlock(&self, mut s: u32) {
        if s == WRITERS_WAITING {
            match self.state.compare_exchange(s, 0, Relaxed, Relaxed) {
                Ok(_) => {
                    self.wake_writer();
                    return;
                }
                // Readers may have started waiting too.
                Err(now) => s = now,
            }
        }
        if s == READERS_WAITING | WRITERS_WAITING {
            if self
                .state
                .compare_exchange(s, READERS_WAITING, Relaxed, Relaxed)
                .is_err()
            {
                return;
            }
            if self.wake_writer() {
                return;
            }
            // No writer was asleep (it may have been about to sleep, and will see the
            // counter changed): wake the readers rather than risk waking nobody.
            s = READERS_WAITING;
        }
        if s == READERS_WAITING && self.state.compare_exchange(s, 0, Relaxed, Relaxed).is_ok() {
            futex::wake_all(&self.state);
        }
    }

    /// Bumps the writers' counter and wakes one; whether one was asleep.
    fn wake_writer(&self) -> bool {
        self.writer_seq.fetch_add(1, Release);
        futex::wake_one(&self.writer_seq)
    }

    /// Loads the state until `done` says so or the spins run out.
    fn spin(&self, done: impl Fn(u32) -> bool) -> u32 {
        let mut left = SPINS;
        loop {
            let s = self.state.load(Relaxed);
            if done(s) || left == 0 {
                return s;
            }
            core::hint::spin_loop();
            left -= 1;
        }
    }
}

/// A reader-writer lock guarding a `T`, shaped like `std::sync::RwLock` without poisoning
/// (the guards come back directly; see [`Mutex`](super::Mutex) for why): any number of
/// readers at once, or one writer. A waiting writer goes before new readers, so a steady
/// stream of readers does not starve it; a thread that takes a read lock twice may
/// deadlock if a writer arrives between the two.
///
/// ```
/// use tinyrt_rt::sync::RwLock;
///
/// let config = RwLock::new(String::from("fast"));
/// {
///     let (a, b) = (config.read(), config.read());
///     assert_eq!((a.as_str(), b.as_str()), ("fast", "fast"));
///     assert!(config.try_write().is_none());
/// }
/// config.write().push_str("er");
/// assert_eq!(*config.read(), "faster");
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    data: UnsafeCell<T>,
}

// SAFETY: as std's: a writer gets `&mut T` (so `T: Send` to share the lock), readers on
// several threads share `&T` at once (so also `T: Sync`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// A new, unlocked lock holding `value`.
    pub const fn new(value: T) -> RwLock<T> {
        RwLock {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// The value, the lock consumed.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access, sleeping while a writer holds the lock or waits for it.
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.raw.read();
        RwLockReadGuard {
            lock: self,
            not_send: PhantomData,
        }
    }

    /// Shared access if it is available now; never waits.
    #[inline]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw.try_read().then(|| RwLockReadGuard {
            lock: self,
            not_send: PhantomData,
        })
    }

    /// Exclusive access, sleeping while readers or a writer hold the lock.
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.raw.write();
        RwLockWriteGuard {
            lock: self,
            not_send: PhantomData,
        }
    }

    /// Exclusive access if the lock is free now; never waits.
    #[inline]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw.try_write().then(|| RwLockWriteGuard {
            lock: self,
            not_send: PhantomData,
        })
    }

    /// The value, through the exclusive borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> RwLock<T> {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s data, held until dropped. Not `Send`, as std's.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    not_send: PhantomData<*const ()>,
}

/// Exclusive access to an [`RwLock`]'s data, held until dropped. Not `Send`, as std's.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard of either kind only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read lock is held: only shared references to the data are live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock is held: no reference but through this guard is live.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock is held and the guard borrowed mutably: the only reference.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard holds one read lock, taken when it was made; dropped once.
        unsafe { self.lock.raw.read_unlock() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard holds the write lock, taken when it was made; dropped once.
        unsafe { self.lock.raw.write_unlock() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
