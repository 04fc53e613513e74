//! `spawn`, `Builder` and `JoinHandle`: threads that run closures (with `alloc`).

use super::DEFAULT_STACK_SIZE;
use super::native::{self, Native, Run};
use super::park::{Inner, Name, Thread};
use crate::errno::Errno;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A thread's settings before it starts, as std's `thread::Builder`.
#[derive(Debug, Default)]
#[must_use = "a Builder does nothing until `spawn`"]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// Default settings: unnamed, [`DEFAULT_STACK_SIZE`] (or `RUST_MIN_STACK`).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the thread: [`Thread::name`], the panic message, and (its first 15 bytes)
    /// the kernel's name of the task (`/proc/self/task/*/comm`), as std does. A name with
    /// a NUL byte makes `spawn` panic, as std's.
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// The thread's stack size in bytes (rounded up to whole pages; at least 16 KiB).
    pub fn stack_size(mut self, size: usize) -> Builder {
        self.stack_size = Some(size);
        self
    }

    /// Starts a thread that runs `f`; its handle joins it.
    ///
    /// # Errors
    /// The kernel's (`mmap`, `clone`): EAGAIN at the limit of tasks, ENOMEM.
    pub fn spawn<F, T>(self, f: F) -> Result<JoinHandle<T>, Errno>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `'static` closure and result: nothing borrowed can end before them.
        unsafe { self.spawn_unchecked(f, None) }.map(JoinHandle)
    }

    /// # Safety
    /// `f` and `T` outlive the thread, or the thread belongs to `scope`.
    pub(crate) unsafe fn spawn_unchecked<'scope, F, T>(
        self,
        f: F,
        scope: Option<Arc<ScopeData>>,
    ) -> Result<JoinInner<'scope, T>, Errno>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let stack = self.stack_size.unwrap_or_else(default_stack_size);
        if let Some(n) = &self.name {
            // std's rule (its names are C strings); ours reach the kernel's task name.
            assert!(
                !n.as_bytes().contains(&0),
                "thread name may not contain interior null bytes"
            );
        }
        // The memory first: when it is refused nothing else exists yet to undo.
        let mapping = native::map(stack)?;
        let name = match self.name {
            Some(n) => Name::Owned(n.into_boxed_str()),
            None => Name::Unnamed,
        };
        let inner = Arc::new(Inner::new(name, 0, true));
        let thread = Thread::from_arc(inner.clone());
        if let Some(scope) = &scope {
            scope.increment();
        }
        let packet = Arc::new(Packet {
            scope,
            result: UnsafeCell::new(None),
            _marker: PhantomData,
        });
        let theirs = packet.clone();
        let main = move || {
            let value = f();
            // SAFETY: only this thread writes the result, before its joiner can read it
            // (the joiner reads after the kernel says the thread has ended).
            unsafe { *theirs.result.get() = Some(value) };
            drop(theirs);
        };
        let boxed: Box<dyn FnOnce() + Send + 'scope> = Box::new(main);
        // SAFETY: the caller's contract: what the closure borrows outlives the thread's use
        // of it (std erases the lifetime the same way).
        let boxed: Box<dyn FnOnce() + Send + 'static> = unsafe { core::mem::transmute(boxed) };
        let run = Run::Boxed(Box::into_raw(boxed));
        let held = Arc::into_raw(inner);
        // SAFETY: a fresh mapping of this module's; `held` is one count for the thread.
        match unsafe { native::start_thread(mapping, true, run, held) } {
            Ok(native) => Ok(JoinInner {
                native,
                thread,
                packet,
            }),
            Err((e, run)) => {
                // SAFETY: nothing started: the closure (with its packet, which tells a scope
                // the thread is done), the count and the mapping are ours.
                unsafe {
                    if let Run::Boxed(f) = run {
                        drop(Box::from_raw(f));
                    }
                    drop(Arc::from_raw(held));
                    let _ = crate::sys::munmap(mapping.0, mapping.1);
                }
                Err(e)
            }
        }
    }
}

/// What a scope's threads share with it (see `scope.rs`): here, because each thread's
/// packet tells the scope when the thread is done with what it borrowed.
pub(crate) struct ScopeData {
    pub(crate) running: AtomicUsize,
    pub(crate) main: Thread,
}

impl ScopeData {
    pub(crate) fn increment(&self) {
        // More than half the address space of threads is a leak of handles: stop.
        if self.running.fetch_add(1, Ordering::Relaxed) > usize::MAX / 2 {
            crate::process::abort();
        }
    }

    pub(crate) fn decrement(&self) {
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.main.unpark();
        }
    }
}

/// `RUST_MIN_STACK` (read once, as std) or [`DEFAULT_STACK_SIZE`].
fn default_stack_size() -> usize {
    static SIZE: AtomicUsize = AtomicUsize::new(0);
    match SIZE.load(Ordering::Relaxed) {
        0 => {
            let n = crate::env::var_str("RUST_MIN_STACK")
                .and_then(|s| s.parse().ok())
                .unwrap_or(DEFAULT_STACK_SIZE);
            // Zero is "not read yet": a zero asked for is as small a stack as can be.
            let n = n.max(1);
            SIZE.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Starts a thread that runs `f`, as std's `thread::spawn`.
///
/// # Panics
/// When the thread cannot be made (`Builder::spawn` returns the error instead).
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// Where a thread leaves its result, shared by the thread and its handle.
pub(crate) struct Packet<'scope, T> {
    scope: Option<Arc<ScopeData>>,
    result: UnsafeCell<Option<T>>,
    _marker: PhantomData<Option<&'scope ScopeData>>,
}

// SAFETY: the result is written by the thread and read by the joiner after the thread has
// ended (ordered by the kernel's clearing of its id); `T: Send` crosses once.
unsafe impl<T: Send> Sync for Packet<'_, T> {}

impl<T> Drop for Packet<'_, T> {
    fn drop(&mut self) {
        // The result (never joined) goes first, then the scope learns the thread is done
        // with everything it borrowed (std's order).
        drop(self.result.get_mut().take());
        if let Some(scope) = &self.scope {
            scope.decrement();
        }
    }
}

/// What `JoinHandle` and `ScopedJoinHandle` share.
pub(crate) struct JoinInner<'scope, T> {
    native: Native,
    thread: Thread,
    packet: Arc<Packet<'scope, T>>,
}

impl<T> JoinInner<'_, T> {
    pub(crate) fn join(mut self) -> T {
        self.native.join();
        // The thread has ended, so its count of the packet is gone.
        Arc::get_mut(&mut self.packet)
            .and_then(|p| p.result.get_mut().take())
            .expect("BUG(tinyrt): a joined thread left no result")
    }

    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    pub(crate) fn is_finished(&self) -> bool {
        Arc::strong_count(&self.packet) == 1
    }
}

/// A handle to join a thread ([`spawn`]); dropping it detaches the thread.
pub struct JoinHandle<T>(JoinInner<'static, T>);

impl<T> JoinHandle<T> {
    /// Waits for the thread to end and returns what its closure returned (a panic never
    /// reaches here: it ends the process).
    #[allow(clippy::must_use_candidate)] // Also called to wait for the thread, as std's.
    pub fn join(self) -> T {
        self.0.join()
    }

    /// The thread's handle.
    #[must_use]
    pub fn thread(&self) -> &Thread {
        self.0.thread()
    }

    /// Whether the thread's closure has returned (it may still be ending).
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> core::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", self.thread())
            .finish_non_exhaustive()
    }
}
