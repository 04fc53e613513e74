//! Making, ending, joining and detaching threads: the memory, the `clone`, the exit.

use super::park::{Inner, Name, Thread, name_of};
use crate::arch;
use crate::errno::Errno;
use crate::signal::{self, SigSet};
use crate::sys::{self, futex};

use crate::tls::{self, Block};
use core::sync::atomic::{AtomicU32, Ordering};
use linux_raw_sys::general as g;

/// `clone`'s flags for a thread: DESIGN.md's facts 26 and 28 (qemu-user refuses a thread
/// without all of the first six; the kernel clears `tid` and wakes it at exit).
const FLAGS: u32 = g::CLONE_VM
    | g::CLONE_FS
    | g::CLONE_FILES
    | g::CLONE_SIGHAND
    | g::CLONE_THREAD
    | g::CLONE_SYSVSEM
    | g::CLONE_SETTLS
    | g::CLONE_PARENT_SETTID
    | g::CLONE_CHILD_CLEARTID;

/// The least stack a thread gets above the runtime's own needs.
const MIN_STACK: usize = 16 << 10;

/// [`Block::state`]: 0 while the thread runs with its handle held; then its handle was
/// dropped, or the thread is ending and will not free its memory (its joiner or dropper does).
const DETACHED: u32 = 1;
const EXITING: u32 = 2;

/// What the thread runs.
pub(crate) enum Run {
    /// `spawn_raw`'s function and argument.
    Plain(fn(usize), usize),
    /// A boxed closure (`spawn`, `Scope::spawn`), from `Box::into_raw`.
    #[cfg(feature = "alloc")]
    Boxed(*mut (dyn FnOnce() + Send + 'static)),
}

/// What the creator leaves at the top of the new thread's stack, read once by the thread.
struct Start {
    run: Run,
    /// The creator's signal mask, restored by the thread once it is set up.
    mask: SigSet,
    /// The thread's handle (an `Arc`'s count, or `'static` memory), kept in its Block.
    inner: *const Inner,
}

/// A running (or ended, not yet joined) thread: its Block and its mapping.
pub(crate) struct Native {
    block: *const Block,
    /// The mapping to free once the thread has ended; `(0, 0)` for memory given for ever.
    mapping: (usize, usize),
    done: bool,
}

// SAFETY: `Native` is a handle on a thread's Block and mapping, which any thread may wait
// for and free (the Block's words are atomics; the mapping is freed by exactly one party,
// decided by the swap on `state`).
unsafe impl Send for Native {}
// SAFETY: `&Native` only reads the Block's atomics.
unsafe impl Sync for Native {}

impl Native {
    fn block(&self) -> &Block {
        // SAFETY: the Block lives in the mapping, which only `join`/`detach` (consuming
        // `self`) or the thread after a detach (when no `Native` exists) frees.
        unsafe { &*self.block }
    }

    /// Whether the thread has ended (the kernel cleared its id).
    pub(crate) fn is_finished(&self) -> bool {
        self.block().tid.load(Ordering::Acquire) == 0
    }

    /// Waits for the thread to end, then frees its memory.
    pub(crate) fn join(mut self) {
        self.wait_and_free();
    }

    fn wait_and_free(&mut self) {
        self.done = true;
        // std's answer to a thread joining itself (EDEADLK from pthread_join): it would
        // wait for ever.
        assert!(
            !core::ptr::eq(self.block, tls::current()),
            "failed to join thread: Resource deadlock avoided"
        );
        let word: &AtomicU32 = &self.block().tid;
        loop {
            let tid = word.load(Ordering::Acquire);
            if tid == 0 {
                break;
            }
            // Shared: the kernel's wake at the thread's exit is not a private one.
            let _ = futex::futex_wait_shared(word, tid);
        }
        // Its guard (and, with the overflow report, alternate stack) below the stack.
        let below = self.block().stack.0.wrapping_sub(self.mapping.0);
        if self.mapping.1 != 0 && !keep(self.mapping, below) {
            // SAFETY: the thread has ended (the kernel cleared its id after its last use
            // of the memory), and nothing else refers to its mapping.
            let _ = unsafe { sys::munmap(self.mapping.0, self.mapping.1) };
        }
    }
}

/// How many mappings of joined threads are kept for the next threads.
const KEPT: usize = 4;

/// Mappings of joined threads, `(base, len, below)` (`below`: the bytes under the stack,
/// guard pages and alternate stack, as laid out when it was made), kept for the next ones (glibc keeps a cache of
/// stacks too): a spawn and join of a thread of the same stack size then costs no `mmap`,
/// `mprotect` or `munmap`. Their guard pages stay; the rest is what the last thread left
/// (a new thread's area is written afresh; its stack is the thread's to write). Only
/// joined threads' mappings come here: the kernel has cleared their id, so nothing of
/// theirs runs or is written by the kernel any more.
static KEEP: crate::sync::Mutex<[(usize, usize, usize); KEPT]> =
    crate::sync::Mutex::new([(0, 0, 0); KEPT]);

/// Keeps a joined thread's mapping (`below` bytes under its stack) for a later thread;
/// whether it was kept.
fn keep((base, len): (usize, usize), below: usize) -> bool {
    let mut kept = KEEP.lock();
    match kept.iter_mut().find(|m| m.1 == 0) {
        Some(slot) => {
            *slot = (base, len, below);
            true
        }
        None => false,
    }
}

/// A kept mapping of `len` bytes laid out with `below` bytes under its stack, if there is
/// one (a mapping made before the overflow report was asked for has no alternate stack).
fn reuse(len: usize, below: usize) -> Option<usize> {
    let mut kept = KEEP.lock();
    let slot = kept.iter_mut().find(|m| m.1 == len && m.2 == below)?;
    let base = slot.0;
    *slot = (0, 0, 0);
    Some(base)
}

impl Drop for Native {
    /// Detaches the thread: it frees its own memory as it ends, or, when it is already
    /// ending, the dropper waits for it and frees it.
    fn drop(&mut self) {
        // After a swap that finds the thread running, the thread may free the Block at any
        // moment: nothing here touches it again (as `Arc`'s drop after its last decrement).
        if !self.done && self.block().state.swap(DETACHED, Ordering::AcqRel) == EXITING {
            self.wait_and_free();
        }
    }
}

/// Maps the memory of a thread with `stack` bytes of stack: a guard page (and below it,
/// with the overflow report, an alternate stack: `signal::thread_guard_size`), the stack,
/// and room for its thread-local area and its `Start`. Returns the mapping and the size of
/// what lies below the stack.
pub(crate) fn map(stack: usize) -> Result<(usize, usize, usize), Errno> {
    let page = crate::auxv::page_size().unwrap_or(4096);
    let (area, align) = tls::area_layout();
    let top = area + align + size_of::<Start>() + 64;
    let guard = signal::thread_guard_size(page);
    let len = guard
        .checked_add(stack.max(MIN_STACK))
        .and_then(|n| n.checked_add(top))
        .and_then(|n| n.checked_next_multiple_of(page))
        .ok_or(Errno::ENOMEM)?;
    if let Some(base) = reuse(len, guard) {
        return Ok((base, len, guard));
    }
    let flags = g::MAP_PRIVATE | g::MAP_ANONYMOUS | g::MAP_STACK | g::MAP_NORESERVE;
    let base = sys::mmap_anonymous(len, g::PROT_READ | g::PROT_WRITE, flags)?;
    if let Err(e) = signal::protect_thread_guard(base, guard, page) {
        // SAFETY: the mapping was made just now and nothing refers to it.
        let _ = unsafe { sys::munmap(base, len) };
        return Err(e);
    }
    Ok((base, len, guard))
}

/// Starts a thread that runs `run` on `mem` (`base`, `len`, the lowest `guard` bytes of it
/// its guard page, laid out by `signal::thread_guard_size`), its handle `inner`. `owned`:
/// the mapping is this module's, freed when the thread has ended; otherwise it is the
/// program's for ever.
///
/// # Safety
/// `base..base+len` is writable memory that nothing else uses, now or ever (unless it is
/// `owned`, when the returned `Native` frees it); `inner` stays valid while the thread
/// runs (it holds one count of it, or it is `'static`). On an error nothing was started:
/// `run` and `inner` are the caller's to release.
pub(crate) unsafe fn start_thread(
    (base, len, guard): (usize, usize, usize),
    owned: bool,
    run: Run,
    inner: *const Inner,
) -> Result<Native, (Errno, Run)> {
    let (area_size, align) = tls::area_layout();
    let end = base + len;
    let area = (end - area_size) & !(align - 1);
    let start_at = (area - size_of::<Start>()) & !(align_of::<Start>().max(16) - 1);
    let stack_top = start_at & !15;
    if area_size > len || stack_top < base + guard + MIN_STACK {
        return Err((Errno::EINVAL, run));
    }
    // SAFETY: `area..area+area_size` lies inside the memory the caller gives, aligned.
    let (tp, block) = unsafe { tls::init_area(area as *mut u8) };
    // SAFETY: the Block was just written at `block` and no thread uses it yet.
    unsafe {
        (*block).mapping = if owned { (base, len) } else { (0, 0) };
        (*block).stack = (base + guard, stack_top);
        (*block).alt_stack =
            signal::thread_alt_stack(base, guard, crate::auxv::page_size().unwrap_or(4096));
    }
    tls::set_many_threads();
    // All signals blocked across the clone (one call that also answers the mask before):
    // the new thread starts with them blocked and restores `mask` once it is set up.
    let mask = signal::set_mask(SigSet::FULL).unwrap_or_else(|_| signal::mask());
    let start = Start { run, mask, inner };
    // SAFETY: `start_at` is aligned for `Start`, inside the memory and above the stack top,
    // where the new thread reads it before touching its stack.
    unsafe { (start_at as *mut Start).write(start) };
    #[allow(clippy::default_constructed_unit_structs)] // a unit struct except on i686
    let mut scratch = arch::TlsArg::default();
    let tls_arg = arch::clone_tls_arg(tp, &mut scratch);
    // SAFETY: `tid` is the Block's word (PARENT_SETTID writes the new id there, the kernel
    // clears it at the thread's exit); the stack top and `start_at` are as `entry` expects.
    let tid_word = unsafe { core::ptr::addr_of!((*block).tid) } as *mut u32;
    // SAFETY: the flags make a thread of this process on `stack_top`, which calls `entry`.
    let ret = unsafe {
        arch::clone_thread(
            FLAGS as usize,
            stack_top as *mut u8,
            tid_word,
            tls_arg,
            tid_word,
            entry,
            start_at,
        )
    };
    let _ = signal::set_mask(mask);
    if ret < 0 {
        // SAFETY: no thread started: the `Start` is still ours to take back.
        let start = unsafe { (start_at as *const Start).read() };
        return Err((Errno::new(-ret as i32).unwrap_or(Errno::EINVAL), start.run));
    }
    // The id, for `Thread::kill` from the moment `spawn` returns (the thread records it too,
    // whichever comes first).
    // SAFETY: the caller keeps `inner` alive beyond the thread's start (a handle's count or
    // `'static` memory).
    unsafe { &*inner }.started(ret as u32);
    Ok(Native {
        block,
        mapping: if owned { (base, len) } else { (0, 0) },
        done: false,
    })
}

/// The new thread's first Rust code, on its own stack, with every signal blocked.
///
/// # Safety
/// `start_at` is the `Start` its creator wrote; the thread pointer is this thread's.
unsafe extern "C" fn entry(start_at: usize) -> ! {
    // SAFETY: the creator wrote it there and never reads it again once `clone` succeeded.
    let start = unsafe { (start_at as *const Start).read() };
    let block = tls::current();
    block
        .thread
        .store(start.inner as *mut (), Ordering::Release);
    // SAFETY: the caller's contract: the thread holds `inner` while it runs.
    let inner = unsafe { &*start.inner };
    inner.started(block.tid.load(Ordering::Relaxed));
    if let Some(name) = name_of(inner) {
        // For signal's overflow report: alive while the thread holds `inner`.
        block.name_len.store(name.len(), Ordering::Relaxed);
        block
            .name
            .store(name.as_ptr().cast_mut(), Ordering::Release);
        sys::thread::set_name(name.as_bytes());
    }
    signal::thread_start();
    crate::cpu::thread_start();
    let _ = signal::set_mask(start.mask);
    match start.run {
        Run::Plain(f, arg) => f(arg),
        #[cfg(feature = "alloc")]
        // SAFETY: from `Box::into_raw` by the creator, for this thread alone.
        Run::Boxed(f) => unsafe { alloc::boxed::Box::from_raw(f)() },
    }
    exit()
}

/// Ends the calling thread after its work: it can no longer be signalled, its handle's
/// count is released, and either it frees its own memory (detached) or it leaves that to
/// its joiner.
fn exit() -> ! {
    // From here no handler runs on this thread: it would find no handle of its own (and
    // take the main thread's), and a detached thread's stack goes away below.
    let _ = signal::set_mask(SigSet::FULL);
    let block = tls::current();
    let inner = block.thread.swap(core::ptr::null_mut(), Ordering::AcqRel) as *const Inner;
    if !inner.is_null() {
        block.name.store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: the pointer `entry` stored; the thread still holds it.
        unsafe { &*inner }.ended();
        // SAFETY: the thread's own count of its handle, given back once.
        unsafe { Inner::release(inner) };
    }
    crate::cpu::thread_exit();
    let mapping = block.mapping;
    if block.state.swap(EXITING, Ordering::AcqRel) == DETACHED && mapping.1 != 0 {
        // Nothing may run on this stack once it is gone: no handler (blocked above), no
        // kernel write into the Block (`set_tid_address(NULL)`).
        sys::thread::clear_tid_address();
        // SAFETY: the mapping is this thread's own, its handle is gone (detached), and
        // nothing runs on it after the munmap: the same asm block exits.
        unsafe { arch::unmap_and_exit(mapping.0, mapping.1) }
    }
    arch::exit_thread(0)
}

/// A thread started on memory the program gave for ever ([`spawn_raw`]): join it or drop
/// the handle (the thread runs on; its memory stays the program's).
#[derive(Debug)]
pub struct RawJoinHandle {
    native: Native,
    thread: Thread,
}

impl core::fmt::Debug for Native {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Native")
            .field("finished", &self.is_finished())
            .finish_non_exhaustive()
    }
}

impl RawJoinHandle {
    /// Waits for the thread to end.
    pub fn join(self) {
        self.native.join();
    }

    /// The thread's handle.
    #[must_use]
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Whether the thread has ended.
    #[must_use]
    pub fn is_finished(&self) -> bool {
        self.native.is_finished()
    }
}

/// Starts a thread that runs `f(arg)` on `memory`, which the program gives up for ever (a
/// `static` buffer, or a leaked mapping): no heap needed. The lowest whole page of `memory`
/// becomes its guard page (`PROT_NONE`); above it the stack, and at the top the thread's
/// local storage and handle. Unnamed. Once the program asked for the stack overflow report
/// (`signal::report_stack_overflow`), the thread's alternate signal stack and a second
/// guard page come from `memory` too, below the first ([`signal::alt_stack_size`] and a
/// page more).
///
/// # Errors
/// EINVAL when `memory` is too small (a page for the guard, 16 KiB of stack and the
/// thread-local area, and the alternate stack with its guard page when there is one); the
/// kernel's errors (`clone`, `mprotect`).
pub fn spawn_raw(
    memory: &'static mut [u8],
    f: fn(usize),
    arg: usize,
) -> Result<RawJoinHandle, Errno> {
    let page = crate::auxv::page_size().unwrap_or(4096);
    let start = memory.as_mut_ptr() as usize;
    let end = start + memory.len();
    let guard = start.next_multiple_of(page);
    let Some(inner_at) = end.checked_sub(size_of::<Inner>()) else {
        return Err(Errno::EINVAL);
    };
    let inner_at = inner_at & !(align_of::<Inner>() - 1);
    let below = signal::thread_guard_size(page);
    if inner_at < guard.saturating_add(below + MIN_STACK) {
        return Err(Errno::EINVAL);
    }
    signal::protect_thread_guard(guard, below, page)?;
    // SAFETY: `inner_at` is aligned for `Inner` and inside memory given for ever.
    let inner: &'static Inner = unsafe {
        (inner_at as *mut Inner).write(Inner::new(Name::Unnamed, 0, false));
        &*(inner_at as *const Inner)
    };
    // SAFETY: the memory below `inner_at` is the program's for ever and unused.
    let native = unsafe {
        start_thread(
            (guard, inner_at - guard, below),
            false,
            Run::Plain(f, arg),
            inner,
        )
    }
    .map_err(|(e, _)| e)?;
    Ok(RawJoinHandle {
        native,
        thread: Thread::from_static(inner),
    })
}
