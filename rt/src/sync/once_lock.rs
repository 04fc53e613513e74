//! [`OnceLock`]: a value written once, by whichever thread comes first, over [`Once`].

use super::once::Once;
use core::cell::UnsafeCell;
use core::fmt;
use core::mem::MaybeUninit;

/// A cell written at most once and then read by reference from any thread, shaped like
/// `std::sync::OnceLock`.
///
/// ```
/// use tinyrt_rt::sync::OnceLock;
///
/// static NAME: OnceLock<String> = OnceLock::new();
/// assert_eq!(NAME.get(), None);
/// assert_eq!(NAME.get_or_init(|| "first".to_string()), "first");
/// assert_eq!(NAME.set("second".to_string()), Err("second".to_string()));
/// assert_eq!(NAME.get().map(String::as_str), Some("first"));
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: as std's: a value set on one thread is read (`&T`) on others, so sharing needs
// `T: Sync`, and it may be set from, or dropped on, another thread than it was made on, so
// also `T: Send`.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: sending the cell sends the `T`.
unsafe impl<T: Send> Send for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell.
    #[must_use]
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// The value, if it has been set.
    #[inline]
    pub fn get(&self) -> Option<&T> {
        // SAFETY: a completed `once` means the value was written (Acquire in
        // `is_completed`), and it is never written again while `self` is shared.
        self.once
            .is_completed()
            .then(|| unsafe { (*self.value.get()).assume_init_ref() })
    }

    /// The value, through the exclusive borrow, if it has been set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        // SAFETY: completed: written; the borrow is exclusive.
        self.once
            .is_completed()
            .then(|| unsafe { self.value.get_mut().assume_init_mut() })
    }

    /// Sets the value if the cell is empty; otherwise hands `value` back. Waits while
    /// another thread sets it.
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("run once"));
        match value {
            None => Ok(()),
            Some(v) => Err(v),
        }
    }

    /// The value, set first by `f` if the cell is empty. When threads race, one runs its
    /// `f` and the others wait for it and get its value. Calling it again from inside `f`
    /// deadlocks.
    pub fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        self.once.call_once(|| {
            // SAFETY: the one run of `once`: nothing else writes or reads the slot now.
            unsafe { (*self.value.get()).write(f()) };
        });
        // SAFETY: `call_once` returned: a run completed and wrote the value.
        unsafe { (*self.value.get()).assume_init_ref() }
    }

    /// The value, the cell consumed.
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }

    /// The value, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        if !self.once.is_completed() {
            return None;
        }
        self.once = Once::new();
        // SAFETY: it was completed, so the value is there; the cell is now marked empty,
        // so it is neither read nor dropped again.
        Some(unsafe { self.value.get_mut().assume_init_read() })
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if self.once.is_completed() {
            // SAFETY: completed: the value is there, and dropped only here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> Default for OnceLock<T> {
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T> From<T> for OnceLock<T> {
    fn from(value: T) -> OnceLock<T> {
        let cell = OnceLock::new();
        let _ = cell.set(value);
        cell
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        let cell = OnceLock::new();
        if let Some(v) = self.get() {
            let _ = cell.set(v.clone());
        }
        cell
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(v) => d.field(v),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}
