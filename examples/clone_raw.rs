//! `clone_raw MODE [N]`: threads at the lowest level, without a `thread` module: the raw
//! `clone_thread`, `exit_thread` and `unmap_and_exit` (through the hidden
//! `tinyrt::__private_tests::thread`), on stacks mapped here with a guard page below each
//! (`tests/threads_raw.rs`, and as a program of `boot` on real kernels). Each mode prints
//! one line and exits 0, or (after that line where it got that far) prints `FAILED ...`
//! and exits 1.
//!
//! - `join N` (1,000): N threads, all started (each then sleeps on a private futex until
//!   let go), then each let go and at once joined by waiting on its clear-child-tid word with
//!   a *shared* `FUTEX_WAIT` (the kernel's wake at thread exit is not private: a private
//!   wait would sleep for ever) and its stack unmapped. Each thread checks that `gettid` is the tid the
//!   parent was given, that its thread pointer is the parent's, adds its index to a sum and
//!   exits. Prints `join N count C sum S settls yes|no`.
//! - `detach N` (10,000): N threads, at most 64 alive at once, none joined: each frees its
//!   own stack with `unmap_and_exit`, after `set_tid_address(NULL)`, with every signal still
//!   blocked (inherited from the parent, which blocks them all across each clone) while the
//!   parent sends SIGUSR1 to the threads it started last (a handler on the unmapped stack
//!   would be a SIGSEGV). Then waits until `/proc/self/task` has as many entries as before
//!   the first thread, and compares `/proc/self/maps` with its lines before (the main
//!   `[stack]` line aside, which may grow). Prints `detach N count C tasks T of T0 maps
//!   same handled H`: T the tasks at the end, T0 before the first thread (qemu-user has
//!   threads of its own), H the SIGUSR1 handlers that ran (0: every thread had them blocked).
//! - `flags`: one thread with the flags qemu-user insists on and the three optional ones:
//!   the parent-tid word holds the tid before the child ends; the same clone without
//!   CLONE_SYSVSEM (refused by qemu-user with EINVAL, allowed by Linux). Prints `flags ok
//!   settls yes|no without-sysvsem accepted|EINVAL|...`.
//!
//! CLONE_SETTLS gets the parent's own thread pointer, read the way each architecture keeps
//! it (`thread_pointer`), and each thread checks it has the same; except on i686, whose
//! tls argument is a `struct user_desc *` naming a GDT entry (none is set up in a program
//! without tinyrt's `threads`, `%gs` is 0): there the flag is left out (`settls no`) and
//! the threads check they have the parent's `%gs` (0).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use tinyrt::__private_tests::thread as raw;
use tinyrt::signal::{self, Action, Handler, SigSet, Signal};
use tinyrt::syscall::{nr, syscall0, syscall3, syscall4};
use tinyrt::{Errno, eprintln, println};

tinyrt::main!(main);

/// Usable stack per thread (the guard page comes below it).
const STACK: usize = 64 * 1024;
/// Detached threads alive at once, at most.
const LIVE_MAX: usize = 64;

/// Threads that ran, the sum of their indexes, detached ones not yet at their end, and
/// SIGUSR1 handlers run.
static COUNT: AtomicUsize = AtomicUsize::new(0);
static SUM: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static HANDLED: AtomicUsize = AtomicUsize::new(0);
/// Checks a thread failed (its tid, thread pointer, signal mask).
static BAD: AtomicUsize = AtomicUsize::new(0);
/// The parent's signal mask (restored by joined threads after their set-up), the mask with
/// every signal blocked as the kernel keeps it (without SIGKILL and SIGSTOP; qemu-user
/// keeps its own few out too), and the parent's thread pointer.
static MASK: AtomicU64Bits = AtomicU64Bits::new();
static FULL: AtomicU64Bits = AtomicU64Bits::new();
static TP: AtomicUsize = AtomicUsize::new(0);

/// A `u64` in two `AtomicU32`s (no 64-bit atomics on every target).
struct AtomicU64Bits(AtomicU32, AtomicU32);

impl AtomicU64Bits {
    const fn new() -> AtomicU64Bits {
        AtomicU64Bits(AtomicU32::new(0), AtomicU32::new(0))
    }
    fn store(&self, v: u64) {
        self.0.store(v as u32, Ordering::Relaxed);
        self.1.store((v >> 32) as u32, Ordering::Relaxed);
    }
    fn load(&self) -> u64 {
        u64::from(self.0.load(Ordering::Relaxed)) | u64::from(self.1.load(Ordering::Relaxed)) << 32
    }
}

/// What the parent and a thread share, at the top of the thread's mapping.
#[repr(C, align(16))]
struct Slot {
    /// CLONE_PARENT_SETTID and CLONE_CHILD_CLEARTID's word: the tid, 0 once exited.
    tid: AtomicU32,
    /// Set by the parent to let a `flags` thread end.
    go: AtomicU32,
    /// The thread's index, and its mapping.
    index: usize,
    base: usize,
    len: usize,
}

/// A thread's mapping: a guard page, then `STACK` bytes, its `Slot` at the top.
fn map_stack(page: usize, index: usize) -> Option<&'static Slot> {
    let len = STACK + page;
    let flags = 0x02 | 0x20 | 0x20000; // MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK
    let base = raw::mmap_anonymous(len, 3, flags).ok()?;
    raw::mprotect_none(base, page).ok()?;
    let at = (base + len - size_of::<Slot>()) & !15;
    let slot = Slot {
        tid: AtomicU32::new(0),
        go: AtomicU32::new(0),
        index,
        base,
        len,
    };
    // SAFETY: `at` is inside the fresh read-write mapping, 16-aligned, with room for a
    // `Slot`; the mapping lives until the thread's end (joined: unmapped by the parent).
    unsafe {
        (at as *mut Slot).write(slot);
        Some(&*(at as *const Slot))
    }
}

/// The calling thread's thread pointer, as its architecture keeps it (x86_64 `%fs` base,
/// i686 the `%gs` selector, aarch64 `tpidr_el0`, riscv64 `tp`, armv7 TPIDRURO, s390x
/// `a0:a1`, powerpc64 `r13`).
fn thread_pointer() -> usize {
    let tp: usize;
    #[cfg(target_arch = "x86_64")]
    {
        let mut v = 0usize;
        // SAFETY: arch_prctl(ARCH_GET_FS) writes the base into `v`.
        unsafe { tinyrt::syscall::syscall2(158, 0x1003, &mut v as *mut usize as usize) };
        tp = v;
    }
    #[cfg(target_arch = "x86")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("mov {0:e}, gs", out(reg) tp);
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp);
    }
    #[cfg(target_arch = "riscv64")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("mv {}, tp", out(reg) tp);
    }
    #[cfg(target_arch = "arm")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) tp);
    }
    #[cfg(target_arch = "s390x")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("ear {0}, %a0", "sllg {0}, {0}, 32", "ear {0}, %a1", out(reg) tp);
    }
    #[cfg(target_arch = "powerpc64")]
    // SAFETY: reads one register into a general one.
    unsafe {
        core::arch::asm!("mr {}, 13", out(reg) tp);
    }
    tp & if cfg!(target_arch = "x86") {
        0xffff
    } else {
        usize::MAX
    }
}

/// The flags of every clone here, and whether CLONE_SETTLS is among them.
fn thread_flags() -> (usize, bool) {
    let all = raw::CLONE_THREAD_FLAGS | raw::CLONE_THREAD_OPTIONAL;
    let settls = !cfg!(target_arch = "x86");
    (if settls { all } else { all & !0x80000 }, settls)
}

fn gettid() -> u32 {
    // SAFETY: gettid takes no arguments.
    (unsafe { syscall0(nr::__NR_gettid) }) as u32
}

/// The checks every thread makes first: its tid is the one the parent holds, and its
/// thread pointer the parent's (CLONE_SETTLS got the right argument).
fn check_self(slot: &Slot) {
    if gettid() != slot.tid.load(Ordering::Acquire)
        || thread_pointer() != TP.load(Ordering::Relaxed)
    {
        BAD.fetch_add(1, Ordering::Relaxed);
    }
    COUNT.fetch_add(1, Ordering::Relaxed);
    SUM.fetch_add(slot.index, Ordering::Relaxed);
}

/// A joined thread: unblocks the parent's mask after its set-up, checks itself, sleeps
/// until let go, exits.
unsafe extern "C" fn joined(arg: usize) -> ! {
    // SAFETY: `arg` is the `Slot` the parent made for this thread, alive until joined.
    let slot = unsafe { &*(arg as *const Slot) };
    let _ = signal::set_mask(SigSet::from_bits(MASK.load()));
    check_self(slot);
    while slot.go.load(Ordering::Acquire) == 0 {
        // SAFETY: FUTEX_WAIT_PRIVATE reads `go`, ours, and sleeps while it is 0.
        unsafe {
            syscall4(
                nr::__NR_futex,
                &slot.go as *const AtomicU32 as usize,
                128,
                0,
                0,
            )
        };
    }
    raw::exit_thread(0)
}

/// A detached thread: checks itself, then frees its own mapping and exits, every signal
/// blocked since its start.
unsafe extern "C" fn detached(arg: usize) -> ! {
    // SAFETY: as in `joined`; the mapping is this thread's alone from here on.
    let slot = unsafe { &*(arg as *const Slot) };
    check_self(slot);
    let (base, len) = (slot.base, slot.len);
    if signal::mask().bits() != FULL.load() {
        BAD.fetch_add(1, Ordering::Relaxed);
    }
    LIVE.fetch_sub(1, Ordering::Release);
    raw::clear_tid_address();
    // SAFETY: every signal is blocked, no clear-child-tid word, nothing else refers to the
    // mapping.
    unsafe { raw::unmap_and_exit(base, len) }
}

/// Starts a thread on `slot`'s mapping running `entry`, every signal blocked across the
/// clone; its tid.
fn start(slot: &'static Slot, flags: usize, entry: unsafe extern "C" fn(usize) -> !) -> isize {
    let tid = &slot.tid as *const AtomicU32 as *mut u32;
    let Ok(old) = signal::set_mask(SigSet::FULL) else {
        return -1;
    };
    // SAFETY: the memory below the slot is this thread's stack alone; `tid` lives in the
    // mapping, which outlives the thread (joined) or is freed by the thread after
    // `set_tid_address(NULL)` (detached); each entry ends its thread.
    let r = unsafe {
        raw::clone_thread(
            flags,
            slot as *const Slot as *mut u8,
            tid,
            TP.load(Ordering::Relaxed),
            tid,
            entry,
            slot as *const Slot as usize,
        )
    };
    let _ = signal::set_mask(old);
    r
}

/// Lets the thread of `slot` end: `go` set and woken (a private futex: ours alone).
fn release(slot: &Slot) {
    slot.go.store(1, Ordering::Release);
    // SAFETY: FUTEX_WAKE_PRIVATE of one waiter on `go`, ours.
    unsafe {
        syscall4(
            nr::__NR_futex,
            &slot.go as *const AtomicU32 as usize,
            129,
            1,
            0,
        )
    };
}

/// Waits until the thread of `slot` has exited: its clear-child-tid word is 0.
fn join(slot: &Slot) {
    loop {
        let t = slot.tid.load(Ordering::Acquire);
        if t == 0 {
            return;
        }
        // SAFETY: FUTEX_WAIT (0, shared) reads the word, ours, and sleeps while it is `t`;
        // no timeout.
        unsafe {
            syscall4(
                nr::__NR_futex,
                &slot.tid as *const AtomicU32 as usize,
                0,
                t as usize,
                0,
            )
        };
    }
}

fn run_joined(n: usize, page: usize) -> Result<(), &'static str> {
    let (flags, settls) = thread_flags();
    let mut slots = [0usize; 1000];
    if n > slots.len() {
        return Err("at most 1000 joined threads");
    }
    for (i, s) in slots.iter_mut().enumerate().take(n) {
        let slot = map_stack(page, i).ok_or("mmap")?;
        let r = start(slot, flags, joined);
        if r <= 0 {
            eprintln!("clone: {}", r);
            return Err("clone failed");
        }
        *s = slot as *const Slot as usize;
    }
    for &s in &slots[..n] {
        // SAFETY: a slot mapped above, unmapped only below, after its thread exited.
        let slot = unsafe { &*(s as *const Slot) };
        release(slot);
        join(slot);
        // SAFETY: the thread has exited (the kernel cleared its tid word): nothing refers
        // to its mapping any more.
        unsafe { raw::munmap(slot.base, slot.len) }.map_err(|_| "munmap")?;
    }
    println!(
        "join {} count {} sum {} settls {}",
        n,
        COUNT.load(Ordering::Relaxed),
        SUM.load(Ordering::Relaxed),
        if settls { "yes" } else { "no" }
    );
    let (count, sum) = (COUNT.load(Ordering::Relaxed), SUM.load(Ordering::Relaxed));
    if count != n || sum != n * n.saturating_sub(1) / 2 {
        return Err("a count or sum is wrong");
    }
    Ok(())
}

extern "C" fn handled(_: i32) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

fn run_detached(
    n: usize,
    page: usize,
    maps: &mut [u8],
    before: &mut [u8],
) -> Result<(), &'static str> {
    let (flags, _) = thread_flags();
    // SAFETY: the handler only counts.
    unsafe { signal::set_action(Signal::USR1, &Action::new(Handler::Plain(handled))) }
        .map_err(|_| "sigaction")?;
    let tasks_before = count_tasks()?;
    let before = read_file(c"/proc/self/maps", before)?;
    let pid = tinyrt::process::id();
    let mut recent = [0u32; 8];
    for i in 0..n {
        while LIVE.load(Ordering::Acquire) >= LIVE_MAX {
            raw::sched_yield();
        }
        let slot = map_stack(page, i).ok_or("mmap")?;
        LIVE.fetch_add(1, Ordering::AcqRel);
        let r = start(slot, flags, detached);
        if r <= 0 {
            eprintln!("clone: {}", r);
            return Err("clone failed");
        }
        recent[i % recent.len()] = r as u32;
        for &t in &recent {
            if t != 0 {
                let _ = raw::tgkill(pid, t, Signal::USR1.number());
            }
        }
    }
    let mut tasks = count_tasks()?;
    for _ in 0..10_000 {
        if LIVE.load(Ordering::Acquire) == 0 && tasks == tasks_before {
            break;
        }
        let _ = tinyrt::time::sleep(core::time::Duration::from_millis(1));
        tasks = count_tasks()?;
    }
    let after = read_file(c"/proc/self/maps", maps)?;
    let same = without_stack(before).eq(without_stack(after));
    if !same {
        eprintln!(
            "maps before:\n{}",
            core::str::from_utf8(before).unwrap_or("?")
        );
        eprintln!(
            "maps after:\n{}",
            core::str::from_utf8(after).unwrap_or("?")
        );
    }
    println!(
        "detach {} count {} tasks {} of {} maps {} handled {}",
        n,
        COUNT.load(Ordering::Relaxed),
        tasks,
        tasks_before,
        if same { "same" } else { "differ" },
        HANDLED.load(Ordering::Relaxed)
    );
    if COUNT.load(Ordering::Relaxed) != n || tasks != tasks_before || !same {
        return Err("a thread, task or mapping is missing or left over");
    }
    if HANDLED.load(Ordering::Relaxed) != 0 {
        return Err("a handler ran on a thread that should have blocked every signal");
    }
    Ok(())
}

/// The lines of a maps file but the main stack's.
fn without_stack(maps: &[u8]) -> impl Iterator<Item = &[u8]> {
    maps.split(|&b| b == b'\n')
        .filter(|l| !l.ends_with(b"[stack]"))
}

fn run_flags(page: usize) -> Result<(), &'static str> {
    let (flags, settls) = thread_flags();
    let slot = map_stack(page, 0).ok_or("mmap")?;
    let r = start(slot, flags, joined);
    if r <= 0 {
        return Err("clone with the thread flags failed");
    }
    // The child waits for `go`: the word is still the tid CLONE_PARENT_SETTID wrote.
    let held = slot.tid.load(Ordering::Acquire) as isize == r;
    release(slot);
    join(slot);
    // SAFETY: the thread has exited.
    unsafe { raw::munmap(slot.base, slot.len) }.map_err(|_| "munmap")?;
    if !held {
        return Err("the parent-tid word did not hold the tid");
    }
    let slot = map_stack(page, 0).ok_or("mmap")?;
    slot.go.store(1, Ordering::Release);
    let r = start(slot, flags & !0x4_0000, joined); // without CLONE_SYSVSEM
    let without = match r {
        r if r > 0 => {
            join(slot);
            "accepted"
        }
        r => Errno::from_ret(r as usize)
            .err()
            .and_then(|e| e.name())
            .unwrap_or("?"),
    };
    // SAFETY: the thread, if any, has exited.
    unsafe { raw::munmap(slot.base, slot.len) }.map_err(|_| "munmap")?;
    println!(
        "flags ok {:#x} settls {} without-sysvsem {}",
        flags,
        if settls { "yes" } else { "no" },
        without
    );
    Ok(())
}

/// Reads `path` into `buf`: the bytes read.
fn read_file<'a>(path: &core::ffi::CStr, buf: &'a mut [u8]) -> Result<&'a [u8], &'static str> {
    // SAFETY: openat reads the NUL-terminated path.
    let fd = unsafe {
        syscall4(
            nr::__NR_openat,
            -100isize as usize,
            path.as_ptr() as usize,
            0,
            0,
        )
    };
    let fd = Errno::from_ret(fd).map_err(|_| "open")?;
    let mut n = 0;
    while n < buf.len() {
        // SAFETY: the kernel writes into the rest of `buf`, ours.
        let r = unsafe {
            syscall3(
                nr::__NR_read,
                fd,
                buf[n..].as_mut_ptr() as usize,
                buf.len() - n,
            )
        };
        match Errno::from_ret(r) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => break,
        }
    }
    // SAFETY: close takes no pointers.
    unsafe { tinyrt::syscall::syscall1(nr::__NR_close, fd) };
    if n == buf.len() {
        return Err("file too large");
    }
    Ok(&buf[..n])
}

/// The entries of `/proc/self/task` (the process's threads).
fn count_tasks() -> Result<usize, &'static str> {
    let path = c"/proc/self/task";
    // SAFETY: as in `read_file`.
    let fd = unsafe {
        syscall4(
            nr::__NR_openat,
            -100isize as usize,
            path.as_ptr() as usize,
            0,
            0,
        )
    };
    let fd = Errno::from_ret(fd).map_err(|_| "open /proc/self/task")?;
    let mut buf = [0u8; 4096];
    let mut count = 0;
    loop {
        // SAFETY: the kernel writes `linux_dirent64` records into `buf`, ours.
        let r = unsafe {
            syscall3(
                nr::__NR_getdents64,
                fd,
                buf.as_mut_ptr() as usize,
                buf.len(),
            )
        };
        let n = match Errno::from_ret(r) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => return Err("getdents64"),
        };
        let mut at = 0;
        while at < n {
            let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
            if buf[at + 19] != b'.' {
                count += 1;
            }
            at += reclen;
        }
    }
    // SAFETY: close takes no pointers.
    unsafe { tinyrt::syscall::syscall1(nr::__NR_close, fd) };
    Ok(count)
}

fn number(a: Option<&core::ffi::CStr>, default: usize) -> Option<usize> {
    let Some(a) = a else {
        return Some(default);
    };
    let mut n = 0usize;
    for &d in a.to_bytes() {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(usize::from(d - b'0'))?;
    }
    Some(n)
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let page = tinyrt::auxv::page_size().unwrap_or(4096);
    let Ok(old) = signal::set_mask(SigSet::FULL) else {
        println!("FAILED rt_sigprocmask");
        return 1;
    };
    FULL.store(signal::mask().bits());
    let _ = signal::set_mask(old);
    MASK.store(old.bits());
    TP.store(thread_pointer(), Ordering::Relaxed);
    let mode = args.nth(1);
    let n = args.next();
    let r = match mode.as_ref().map(|m| m.to_bytes()) {
        Some(b"join") => match number(n, 1000) {
            Some(n) => run_joined(n, page),
            None => Err("usage"),
        },
        Some(b"detach") => match number(n, 10_000) {
            Some(n) => {
                let mut before = [0u8; 32 * 1024];
                let mut after = [0u8; 32 * 1024];
                run_detached(n, page, &mut after, &mut before)
            }
            None => Err("usage"),
        },
        Some(b"flags") => run_flags(page),
        _ => Err("usage"),
    };
    let bad = BAD.load(Ordering::Relaxed);
    match r {
        Ok(()) if bad == 0 => 0,
        Ok(()) => {
            println!(
                "FAILED {} threads saw a wrong tid, thread pointer or mask",
                bad
            );
            1
        }
        Err("usage") => {
            eprintln!("usage: clone_raw join [N] | detach [N] | flags");
            2
        }
        Err(e) => {
            println!("FAILED {}", e);
            1
        }
    }
}
