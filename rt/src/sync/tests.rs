//! Unit tests of the single-thread behaviour and the type-level promises (the races are in
//! tests/sync.rs, with std threads).

extern crate std;

use super::*;
use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::format;
use std::string::String;
use std::time::Instant;

#[test]
fn mutex_try_lock_debug_and_default() {
    let m = Mutex::new(5u8);
    {
        let g = m.lock();
        assert!(m.try_lock().is_none());
        assert_eq!(format!("{m:?}"), "Mutex { data: <locked>, .. }");
        assert_eq!(format!("{g:?} {g}"), "5 5");
    }
    assert_eq!(format!("{m:?}"), "Mutex { data: 5, .. }");
    *m.try_lock().unwrap() += 1;
    assert_eq!(m.into_inner(), 6);
    let mut d: Mutex<String> = Mutex::default();
    d.get_mut().push('x');
    assert_eq!(*d.lock(), "x");
}

/// The raw states: a second locker marks the lock contended (so the unlock owes a wake),
/// and the unlock leaves it free.
#[test]
fn raw_mutex_states() {
    let m = RawMutex::new();
    assert!(!m.is_locked());
    m.lock();
    assert!(m.is_locked() && !m.try_lock());
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            m.lock();
            // SAFETY: locked just above on this thread.
            unsafe { m.unlock() };
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.is_finished());
        // SAFETY: locked above on this thread.
        unsafe { m.unlock() };
    });
    assert!(!m.is_locked());
    assert_eq!(format!("{m:?}"), "RawMutex { locked: false }");
}

#[test]
fn condvar_timeouts_end_no_earlier_than_asked() {
    let m = Mutex::new(());
    let cv = Condvar::new();
    for ms in [0u64, 1, 30] {
        let d = Duration::from_millis(ms);
        let start = Instant::now();
        let (_g, r) = cv.wait_timeout_while(m.lock(), d, |()| true);
        assert!(r.timed_out());
        assert!(start.elapsed() >= d, "{ms} ms: {:?}", start.elapsed());
    }
    // A condition already false returns at once, not timed out.
    let (g, r) = cv.wait_timeout_while(m.lock(), Duration::from_secs(100), |()| false);
    assert!(!r.timed_out());
    drop(g);
    // A timeout too large to add to the clock waits without one; a notification ends it.
    let done = core::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                let _g = m.lock();
                cv.notify_all();
            }
        });
        let (_g, r) = cv.wait_timeout(m.lock(), Duration::MAX);
        done.store(true, Ordering::Relaxed);
        assert!(!r.timed_out());
    });
}

#[test]
fn rwlock_readers_share_writers_exclude() {
    let l = RwLock::new(1);
    let (a, b) = (l.read(), l.try_read().unwrap());
    assert_eq!(*a + *b, 2);
    assert!(l.try_write().is_none());
    assert_eq!(format!("{l:?}"), "RwLock { data: 1, .. }");
    drop((a, b));
    let mut w = l.write();
    *w = 2;
    assert!(l.try_read().is_none() && l.try_write().is_none());
    assert_eq!(format!("{l:?}"), "RwLock { data: <locked>, .. }");
    drop(w);
    assert_eq!(l.into_inner(), 2);
}

#[test]
fn once_lock_sets_once_and_drops_once() {
    struct Counted<'a>(&'a AtomicUsize);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = AtomicUsize::new(0);
    {
        let c = OnceLock::new();
        assert_eq!(format!("{:?}", OnceLock::<u8>::new()), "OnceLock(<uninit>)");
        assert!(c.set(Counted(&drops)).is_ok());
        // The refused value comes back, and is dropped by the caller: one drop.
        assert!(c.set(Counted(&drops)).is_err());
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        let _ = c.get_or_init(|| unreachable!());
    }
    assert_eq!(drops.load(Ordering::Relaxed), 2);
    let mut c = OnceLock::from(7);
    assert_eq!(c.take(), Some(7));
    assert_eq!(c.get(), None);
    assert_eq!(*c.get_or_init(|| 8), 8);
    assert_eq!(c.clone().into_inner(), Some(8));
}

#[test]
fn once_runs_once_and_barrier_of_one_leads() {
    let once = Once::new();
    let runs = Cell::new(0);
    assert!(!once.is_completed());
    once.call_once(|| runs.set(runs.get() + 1));
    once.call_once(|| runs.set(runs.get() + 1));
    assert!(once.is_completed() && runs.get() == 1);
    for n in [0, 1] {
        let b = Barrier::new(n);
        assert!(b.wait().is_leader() && b.wait().is_leader());
    }
}

/// The auto traits as std's types have them (this fails to compile where one is missing).
#[test]
fn send_and_sync_as_std() {
    fn send_sync<T: Send + Sync>() {}
    fn sync<T: Sync>() {}
    // A `Cell` is Send but not Sync: the locks and OnceLock<Send+Sync> make it shareable
    // as std's do (Mutex and RwLock need only Send for the mutex; RwLock needs Sync too).
    send_sync::<Mutex<Cell<u8>>>();
    send_sync::<RwLock<u8>>();
    send_sync::<OnceLock<u8>>();
    send_sync::<Condvar>();
    send_sync::<Once>();
    send_sync::<Barrier>();
    send_sync::<RawMutex>();
    sync::<MutexGuard<'static, u8>>();
    sync::<RwLockReadGuard<'static, u8>>();
    sync::<RwLockWriteGuard<'static, u8>>();
}
