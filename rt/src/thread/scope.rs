//! Scoped threads: threads that may borrow from the caller's stack, all ended when
//! [`scope`] returns (std's design: the scope counts its running threads and parks).

use super::park::{Thread, current, park};
use super::spawn::{Builder, JoinInner, ScopeData};
use crate::errno::Errno;
use alloc::sync::Arc;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A scope to spawn threads in ([`scope`]).
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    // Invariant in both lifetimes, as std's.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// Runs `f` with a [`Scope`] whose threads may borrow anything that outlives the call;
/// returns once every thread spawned in it has ended its closure, joined or not.
///
/// ```no_run
/// let mut counts = [0u32; 4];
/// tinyrt_rt::thread::scope(|s| {
///     for c in counts.iter_mut() {
///         s.spawn(move || *c += 1);
///     }
/// });
/// assert_eq!(counts, [1; 4]);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            main: current(),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = f(&scope);
    while scope.data.running.load(Ordering::Acquire) != 0 {
        park();
    }
    result
}

impl<'scope> Scope<'scope, '_> {
    pub(crate) fn data(&self) -> &Arc<ScopeData> {
        &self.data
    }

    /// Starts a thread in the scope (as [`spawn`](super::spawn), but it may borrow).
    ///
    /// # Panics
    /// When the thread cannot be made ([`Builder::spawn_scoped`] returns the error).
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .expect("failed to spawn thread")
    }
}

impl core::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// As [`spawn`](Builder::spawn), for a thread of `scope` that may borrow from outside it.
    ///
    /// # Errors
    /// As `spawn`.
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> Result<ScopedJoinHandle<'scope, T>, Errno>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // SAFETY: the scope waits for the thread to drop its closure and packet before the
        // borrowed data can end.
        unsafe { self.spawn_unchecked(f, Some(scope.data().clone())) }.map(ScopedJoinHandle)
    }
}

/// A handle to join a scoped thread; dropping it leaves the thread to the scope.
pub struct ScopedJoinHandle<'scope, T>(pub(crate) JoinInner<'scope, T>);

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the thread to end and returns what its closure returned.
    #[allow(clippy::must_use_candidate)] // Also called to wait for the thread, as std's.
    pub fn join(self) -> T {
        self.0.join()
    }

    /// The thread's handle.
    #[must_use]
    pub fn thread(&self) -> &Thread {
        self.0.thread()
    }

    /// Whether the thread's closure has returned.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> core::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", self.thread())
            .finish_non_exhaustive()
    }
}
