//! `Thread` handles, ids, names, and parking (std's futex parker: one word per thread).

use crate::errno::Errno;
use crate::sync::Mutex;
use crate::sync::futex;
use crate::tls;
use core::fmt;
use core::num::NonZeroU64;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;

#[cfg(feature = "alloc")]
use alloc::{boxed::Box, sync::Arc};

/// A thread's id: unique among the threads of the process for its whole life (never
/// reused), as std's. The main thread's is 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(NonZeroU64);

impl ThreadId {
    fn next() -> ThreadId {
        static NEXT: AtomicU64 = AtomicU64::new(2);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        // 2^64 threads, one per nanosecond, take 584 years.
        ThreadId(NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN))
    }

    /// The number (1 for the main thread).
    #[must_use]
    pub fn as_u64(self) -> NonZeroU64 {
        self.0
    }
}

/// A thread's name.
pub(crate) enum Name {
    Main,
    Unnamed,
    #[cfg(feature = "alloc")]
    Owned(Box<str>),
}

/// What a [`Thread`] handle shares with its thread.
pub(crate) struct Inner {
    id: ThreadId,
    name: Name,
    /// std's parker: EMPTY, NOTIFIED, or PARKED (the owner sleeps on it).
    parker: AtomicU32,
    /// The kernel's id of the thread while it runs, 0 once it has ended: [`Thread::kill`]
    /// reads it under `kill_lock`, which the ending thread takes to clear it, so a signal
    /// never reaches a later thread that got the same number.
    tid: Mutex<u32>,
    /// Whether the handle is counted (`Arc`) or lives for ever (`&'static`).
    #[cfg(feature = "alloc")]
    shared: bool,
}

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

impl Inner {
    pub(crate) fn new(name: Name, tid: u32, shared: bool) -> Inner {
        #[cfg(not(feature = "alloc"))]
        let _ = shared;
        Inner {
            id: ThreadId::next(),
            name,
            parker: AtomicU32::new(EMPTY),
            tid: Mutex::new(tid),
            #[cfg(feature = "alloc")]
            shared,
        }
    }

    /// The running thread's kernel id (set by the thread itself at its start).
    pub(crate) fn set_tid(&self, tid: u32) {
        *self.tid.lock() = tid;
    }

    /// Gives back one count of the handle at `p` (its thread's, as it ends).
    ///
    /// # Safety
    /// `p` is the pointer the thread was started with, released once.
    pub(crate) unsafe fn release(p: *const Inner) {
        // SAFETY: the caller's contract: `p` is alive until this release.
        #[cfg(feature = "alloc")]
        if unsafe { &*p }.shared {
            // SAFETY: the caller's contract: a shared Inner came from `Arc::into_raw`, and
            // this gives back the count the thread held.
            unsafe { Arc::decrement_strong_count(p) };
        }
        #[cfg(not(feature = "alloc"))]
        let _ = p;
    }

    fn park(&self, timeout: Option<Duration>) {
        // std's parker: NOTIFIED -> EMPTY and return at once; EMPTY -> PARKED and sleep.
        if self.parker.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return;
        }
        match timeout {
            None => loop {
                futex::wait(&self.parker, PARKED, None);
                if self
                    .parker
                    .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
                    .is_ok()
                {
                    return;
                }
            },
            Some(t) => {
                // Woken, timed out or spurious: back to EMPTY either way (a token that came
                // in meanwhile is taken, as std does).
                futex::wait(&self.parker, PARKED, Some(t));
                self.parker.swap(EMPTY, Ordering::Acquire);
            }
        }
    }

    fn unpark(&self) {
        if self.parker.swap(NOTIFIED, Ordering::Release) == PARKED {
            futex::wake_one(&self.parker);
        }
    }
}

static MAIN: Inner = Inner {
    id: ThreadId(NonZeroU64::MIN),
    name: Name::Main,
    parker: AtomicU32::new(EMPTY),
    tid: Mutex::new(0),
    #[cfg(feature = "alloc")]
    shared: false,
};

/// A handle to a thread: its id, its name, and a way to unpark it or signal it.
#[derive(Clone)]
pub struct Thread {
    inner: Handle,
}

#[derive(Clone)]
enum Handle {
    Static(&'static Inner),
    #[cfg(feature = "alloc")]
    Shared(Arc<Inner>),
}

impl Thread {
    pub(crate) fn from_static(inner: &'static Inner) -> Thread {
        Thread {
            inner: Handle::Static(inner),
        }
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn from_arc(inner: Arc<Inner>) -> Thread {
        Thread {
            inner: Handle::Shared(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        match &self.inner {
            Handle::Static(i) => i,
            #[cfg(feature = "alloc")]
            Handle::Shared(i) => i,
        }
    }

    /// The thread's id.
    #[must_use]
    pub fn id(&self) -> ThreadId {
        self.inner().id
    }

    /// The thread's name: `Some("main")` for the main thread, what [`Builder::name`](super::Builder::name)
    /// gave, or `None`.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        name_of(self.inner())
    }

    /// Wakes the thread from [`park`], or makes its next `park` return at once.
    pub fn unpark(&self) {
        self.inner().unpark();
    }

    /// Sends `sig` to this thread alone (`tgkill`): its handler runs on this thread.
    ///
    /// # Errors
    /// ESRCH once the thread has ended (a later thread with the same kernel id is never
    /// hit); the kernel's errors.
    pub fn kill(&self, sig: crate::signal::Signal) -> Result<(), Errno> {
        let tid = self.inner().tid.lock();
        if *tid == 0 {
            return Err(Errno::ESRCH);
        }
        crate::sys::thread::tgkill(crate::sys::getpid(), *tid, sig.number())
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// The calling thread's handle.
#[must_use]
pub fn current() -> Thread {
    let p = tls::current().thread.load(Ordering::Acquire) as *const Inner;
    if p.is_null() {
        return Thread::from_static(&MAIN);
    }
    // SAFETY: a non-null `thread` pointer is the Inner this module stored at the thread's
    // start: `'static` memory (raw threads) or one strong count of an `Arc` the thread holds
    // until it ends, and the calling thread is that thread, so it is alive.
    let inner: &Inner = unsafe { &*p };
    #[cfg(feature = "alloc")]
    if inner.shared {
        // SAFETY: as above: `p` came from `Arc::into_raw` and its count is at least one.
        return Thread::from_arc(unsafe {
            Arc::increment_strong_count(p);
            Arc::from_raw(p)
        });
    }
    // SAFETY: not shared: the Inner lives in memory given up for ever (`spawn_raw`).
    Thread::from_static(unsafe { &*p })
}

/// Calls `f` with the calling thread's name, without making a handle (the panic handler's
/// way: nothing allocated, nothing counted).
pub(crate) fn with_current_name<R>(f: impl FnOnce(Option<&str>) -> R) -> R {
    current_inner(|i| f(name_of(i)))
}

pub(crate) fn name_of(inner: &Inner) -> Option<&str> {
    match &inner.name {
        Name::Main => Some("main"),
        Name::Unnamed => None,
        #[cfg(feature = "alloc")]
        Name::Owned(s) => Some(s),
    }
}

/// Blocks until [`Thread::unpark`] is called for this thread (or was called since the last
/// `park`), or spuriously: call it in a loop that checks its condition, as with std's.
pub fn park() {
    current_inner(|i| i.park(None));
}

/// As [`park`], for at most `timeout`.
pub fn park_timeout(timeout: Duration) {
    current_inner(|i| i.park(Some(timeout)));
}

fn current_inner<R>(f: impl FnOnce(&Inner) -> R) -> R {
    let p = tls::current().thread.load(Ordering::Acquire) as *const Inner;
    if p.is_null() {
        return f(&MAIN);
    }
    // SAFETY: as in `current`: the calling thread's own Inner, alive while it runs.
    f(unsafe { &*p })
}
