//! The heap of a tinyrt program (feature `alloc`): [`Heap`], the global allocator that
//! tinyrt's start code installs, so that `extern crate alloc;` (`Vec`, `String`, `Box`,
//! `BTreeMap`, `format!`) works.
//!
//! - Small and medium blocks come from [talc](https://crates.io/crates/talc), a maintained,
//!   fuzzed no_std allocator, whose heap grows by `mmap` in arenas of 64 KiB, doubling each
//!   time up to 16 MiB (an arena never goes back to the system).
//! - Blocks of 256 KiB and more are mappings of their own: `mmap` to allocate, `munmap` to
//!   free (the memory goes back to the system at once), `mremap` to grow or shrink them.
//! - When the kernel refuses memory (RLIMIT_AS, a sandbox refusing `mmap`) the allocation
//!   returns null: `try_reserve` sees the error, and everything else reaches Rust's handler,
//!   which reports `memory allocation of N bytes failed` and ends the program.
//! - tinyrt programs are single-threaded, but a signal handler can interrupt an allocation.
//!   A second entry into talc while one is running (a handler that allocates) is detected:
//!   it prints `tinyrt: the allocator was entered again while it was busy (...)` and ends the
//!   program with status 134, instead of corrupting the heap or waiting for ever. Mappings
//!   of large blocks share no state and may be made from anywhere.
//!
//! Never in library mode: the global allocator is declared by tinyrt's start code, which a
//! std program does not link.
//!
//! A tinyrt program asks for it with the facade's feature (`tinyrt = { features = ["alloc"] }`)
//! and uses `alloc` as a std program does. A `Heap` is also an allocator object of its own
//! (this example runs in a std program, beside std's allocator):
//!
//! ```
//! use std::alloc::{GlobalAlloc, Layout};
//! use tinyrt_rt::heap::Heap;
//!
//! let heap = Heap::new();
//! let small = Layout::from_size_align(100, 16).unwrap();
//! let large = Layout::from_size_align(1 << 20, 4096).unwrap(); // a mapping of its own
//! for layout in [small, large] {
//!     // SAFETY: the layout's size is not zero; the block is freed with the same layout.
//!     unsafe {
//!         let p = heap.alloc(layout);
//!         assert!(!p.is_null() && p as usize % layout.align() == 0);
//!         p.write_bytes(0xa5, layout.size());
//!         heap.dealloc(p, layout);
//!     }
//! }
//! ```
//!
//! # Safety
//!
//! The unsafe code is the `GlobalAlloc` contract (pointers and layouts the caller got from
//! this allocator) and talc's: its arenas are fresh anonymous mappings that nothing else
//! uses, and its lock is held by exactly one caller at a time (a second one stops the
//! program before touching anything).
#![allow(unsafe_code)]

use crate::sys;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use linux_raw_sys::general as g;
use talc::base::Talc;
use talc::base::binning::Binning;
use talc::lock_api::{GuardSend, RawMutex};

/// Blocks of this size and more are mappings of their own.
pub(crate) const LARGE: usize = 256 * 1024;
/// The first arena; each next one is twice the last, up to [`MAX_ARENA`].
const FIRST_ARENA: usize = 64 * 1024;
const MAX_ARENA: usize = 16 * 1024 * 1024;

/// The global allocator of tinyrt programs (see the module's documentation).
pub struct Heap {
    talc: talc::TalcLock<Busy, Arenas>,
}

impl core::fmt::Debug for Heap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Heap").finish_non_exhaustive()
    }
}

impl Heap {
    /// An empty heap: nothing is mapped before the first allocation.
    #[must_use]
    pub const fn new() -> Heap {
        Heap {
            talc: talc::TalcLock::new(Arenas),
        }
    }
}

impl Default for Heap {
    fn default() -> Heap {
        Heap::new()
    }
}

/// talc's lock without threads: taken and released around every call; a second taker is
/// a re-entry (a signal handler that allocates), since no other thread exists.
#[cfg(not(all(feature = "threads", not(feature = "library-mode"))))]
pub(crate) struct Busy(AtomicBool);

// SAFETY: `lock` grants the lock to one caller at a time: any other caller stops the program
// (it never returns), so no two holders coexist.
#[cfg(not(all(feature = "threads", not(feature = "library-mode"))))]
unsafe impl RawMutex for Busy {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Busy = Busy(AtomicBool::new(false));
    type GuardMarker = GuardSend;

    fn lock(&self) {
        if !self.try_lock() {
            reentered();
        }
    }

    fn try_lock(&self) -> bool {
        !self.0.swap(true, Ordering::Acquire)
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// talc's lock with threads: a futex lock whose word holds its holder's thread id, so that
/// a second entry by the *same* thread (a signal handler that allocates while the thread it
/// interrupted holds the lock) is told from a wait, with no window between taking the lock
/// and recording who took it: that entry would wait for ever, so it stops the program as
/// without threads, while other threads wait. talc releases and takes the lock again around
/// the copy of a large `realloc`: each take is a take. Until the program starts a second
/// thread (`tls::many_threads`) the lock is the single-thread one (`alone`: a swap to take,
/// a plain store to release), so a program built with `threads` that has not started one
/// allocates as fast as one without. The waiting follows std's futex mutex (a word that
/// says whether someone waits, one wake per release); the holder in the word is ours.
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
pub(crate) struct Busy {
    alone: AtomicBool,
    /// 0 free; else the holder's thread id, with [`WAITERS`] set when a thread may wait.
    word: core::sync::atomic::AtomicU32,
}

/// The bit of [`Busy`]'s word that says a thread may be waiting (thread ids stay below
/// 2^22, the kernel's largest `pid_max`).
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
const WAITERS: u32 = 1 << 31;

#[cfg(all(feature = "threads", not(feature = "library-mode")))]
impl Busy {
    fn me() -> u32 {
        crate::tls::current().tid.load(Ordering::Relaxed)
    }

    /// `lock` once threads run (out of line: the single-thread path stays a few
    /// instructions).
    #[inline(never)]
    fn lock_shared(&self) {
        let me = Self::me();
        let Err(mut seen) = self
            .word
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
        else {
            return;
        };
        loop {
            if seen & !WAITERS == me {
                reentered();
            }
            if seen == 0 {
                // Free: take it, saying that others may wait (we cannot know they do not).
                match self.word.compare_exchange(
                    0,
                    me | WAITERS,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return,
                    Err(now) => seen = now,
                }
                continue;
            }
            if seen & WAITERS == 0
                && let Err(now) = self.word.compare_exchange(
                    seen,
                    seen | WAITERS,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
            {
                seen = now;
                continue;
            }
            crate::sync::futex::wait(&self.word, seen | WAITERS, None);
            seen = self.word.load(Ordering::Relaxed);
        }
    }

    fn try_lock_shared(&self) -> bool {
        self.word
            .compare_exchange(0, Self::me(), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// `unlock` once threads run.
    #[inline(never)]
    fn unlock_shared(&self) {
        if self.word.swap(0, Ordering::Release) & WAITERS != 0 {
            crate::sync::futex::wake_one(&self.word);
        }
    }
}

// SAFETY: one holder at a time: alone, any second taker stops the program; with threads,
// the word is taken only by a compare-and-swap from 0 (free) and freed only by its holder,
// and a taker that finds its own id there stops the program instead of waiting. The mode
// changes only while no lock is held (see `tls::many_threads`).
#[cfg(all(feature = "threads", not(feature = "library-mode")))]
unsafe impl RawMutex for Busy {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Busy = Busy {
        alone: AtomicBool::new(false),
        word: core::sync::atomic::AtomicU32::new(0),
    };
    type GuardMarker = GuardSend;

    #[inline]
    fn lock(&self) {
        if crate::tls::many_threads() {
            return self.lock_shared();
        }
        if self.alone.swap(true, Ordering::Acquire) {
            reentered();
        }
    }

    fn try_lock(&self) -> bool {
        if crate::tls::many_threads() {
            return self.try_lock_shared();
        }
        !self.alone.swap(true, Ordering::Acquire)
    }

    #[inline]
    unsafe fn unlock(&self) {
        if crate::tls::many_threads() {
            return self.unlock_shared();
        }
        self.alone.store(false, Ordering::Release);
    }
}

#[cold]
#[inline(never)]
fn reentered() -> ! {
    let _ = sys::write(
        2,
        b"tinyrt: the allocator was entered again while it was busy (an allocation in a \
signal handler?); stopping\n",
    );
    crate::arch::exit_group(134)
}

/// talc's source of memory: anonymous mappings, growing.
#[derive(Debug)]
pub(crate) struct Arenas;

static NEXT_ARENA: AtomicUsize = AtomicUsize::new(FIRST_ARENA);

// SAFETY: `acquire` uses only the `talc` it is given and the system calls; it never
// allocates through the global allocator.
unsafe impl talc::source::Source for Arenas {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let next = NEXT_ARENA.load(Ordering::Relaxed);
        // Room for the block, its alignment and talc's tags and metadata, in whole pages.
        let need = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(4096))
            .ok_or(())?;
        let size = round_up(need.max(next), page_size()).ok_or(())?;
        let base = map(size).ok_or(())?;
        NEXT_ARENA.store((next * 2).min(MAX_ARENA), Ordering::Relaxed);
        // SAFETY: a fresh private mapping of `size` bytes that nothing else uses.
        match unsafe { talc.claim(base, size) } {
            Some(_) => Ok(()),
            None => {
                // SAFETY: talc did not take it: still ours alone.
                let _ = unsafe { sys::munmap(base as usize, size) };
                Err(())
            }
        }
    }
}

// SAFETY: small blocks are talc's (whose GlobalAlloc contract is upheld by its lock); large
// ones are whole mappings whose length follows from the layout the caller passes back.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            return map_aligned(layout.size(), layout.align());
        }
        // SAFETY: forwarded contract.
        unsafe { self.talc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            // Fresh anonymous mappings are zero.
            return map_aligned(layout.size(), layout.align());
        }
        // SAFETY: forwarded contract.
        unsafe { self.talc.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= LARGE {
            // SAFETY: a large block of this size (the caller's contract), freed.
            unsafe { unmap(ptr, layout.size()) };
            return;
        }
        // SAFETY: forwarded contract.
        unsafe { self.talc.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let (old_large, new_large) = (layout.size() >= LARGE, new_size >= LARGE);
        if !old_large && !new_large {
            // SAFETY: forwarded contract; talc grows and shrinks in place where it can.
            return unsafe { self.talc.realloc(ptr, layout, new_size) };
        }
        if old_large && new_large && layout.align() <= page_size() {
            // SAFETY: a large block of this size, which the caller hands over.
            return unsafe { remap(ptr, layout.size(), new_size) };
        }
        // Across the threshold (or a large block aligned past a page): move it.
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        // SAFETY: a valid layout of non-zero size (new_size >= LARGE or the old one was).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for the smaller size and do not overlap.
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

fn page_size() -> usize {
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            let p = crate::auxv::page_size()
                .filter(|p| p.is_power_of_two())
                .unwrap_or(4096);
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

fn round_up(n: usize, to: usize) -> Option<usize> {
    Some(n.checked_add(to - 1)? & !(to - 1))
}

/// `size` bytes of fresh, private, zeroed memory (a whole number of pages), or `None`.
fn map(size: usize) -> Option<*mut u8> {
    let prot = g::PROT_READ | g::PROT_WRITE;
    let flags = g::MAP_PRIVATE | g::MAP_ANONYMOUS;
    sys::mmap_anonymous(size, prot, flags)
        .ok()
        .map(|a| a as *mut u8)
}

/// A mapping for a large block of `size` bytes aligned to `align`; null when refused. An
/// alignment past the page size maps more and gives back what lies around the block.
fn map_aligned(size: usize, align: usize) -> *mut u8 {
    let page = page_size();
    let Some(len) = round_up(size, page) else {
        return null_mut();
    };
    if align <= page {
        return map(len).unwrap_or(null_mut());
    }
    let Some(over) = len.checked_add(align) else {
        return null_mut();
    };
    let Some(base) = map(over) else {
        return null_mut();
    };
    let start = (base as usize + align - 1) & !(align - 1);
    let head = start - base as usize;
    let tail = over - head - len;
    // SAFETY: the head and tail of our own fresh mapping, which nobody has seen.
    unsafe {
        let _ = sys::munmap(base as usize, head);
        let _ = sys::munmap(start + len, tail);
    }
    start as *mut u8
}

/// # Safety
/// `ptr` is a large block of `size` bytes from `map_aligned` or `remap`, freed by its owner.
unsafe fn unmap(ptr: *mut u8, size: usize) {
    if let Some(len) = round_up(size, page_size()) {
        // SAFETY: the caller's: the block's whole mapping, no longer used.
        let _ = unsafe { sys::munmap(ptr as usize, len) };
    }
}

/// Grows or shrinks a large block's mapping, moving it if it must; null when refused (the
/// old block is then untouched, as `realloc` requires).
///
/// # Safety
/// `ptr` is a large block of `old` bytes whose whole mapping its owner hands over.
unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
    let page = page_size();
    match (round_up(old, page), round_up(new, page)) {
        (Some(a), Some(b)) if a == b => ptr,
        // SAFETY: the caller's: one whole mapping of ours.
        (Some(a), Some(b)) => unsafe { sys::mremap(ptr as usize, a, b, g::MREMAP_MAYMOVE) }
            .map_or(null_mut(), |p| p as *mut u8),
        _ => null_mut(),
    }
}
