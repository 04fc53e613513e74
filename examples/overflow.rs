//! `overflow CHECK`: how a tinyrt program ends, against std's (`tests/signals.rs`). Built with
//! `tinyrt::main!(main, stack_overflow_message)`.
//!
//! CHECK is one of:
//! - `recurse`: overflows the main stack: std's two lines on stderr, then SIGABRT.
//! - `null`: writes through a null pointer: SIGSEGV, reported as nothing else.
//! - `kill`: sends itself SIGSEGV: SIGSEGV.
//! - `rodata`: writes into a `static` (in `.rodata`, read-only): SIGSEGV (SEGV_ACCERR).
//! - `below-mapping`: writes into the unmapped page just below a fresh anonymous mapping of
//!   two pages (the upper one made read-only: another mapping above the first) with an
//!   unmapped page above them: SIGSEGV (SEGV_MAPERR), not an overflow, whatever the limit.
//! - `prot-none`: writes into a PROT_NONE page below a read-write one (an unmapped page
//!   below and above them): SIGSEGV (SEGV_ACCERR).
//! - `stack-read-only`: writes into a page of the main stack, below the frame, made
//!   read-only (mapped pages below and above it): SIGSEGV (SEGV_ACCERR), not an overflow.
//! - `abort`: `process::abort()`: SIGABRT.
//! - `abort-caught`: the same with a SIGABRT handler that returns (it prints `caught`):
//!   SIGABRT all the same.
//! - `abort-ignored`, `abort-blocked`: the same with SIGABRT ignored, or blocked.
//!
//! Built with the `threads` and `alloc` features, also (each on a thread of its own, which
//! the main thread joins):
//! - `thread-recurse`: overflows the stack of a thread named `worker`: std's two lines with
//!   its name and id, then SIGABRT.
//! - `unnamed-recurse`: the same on an unnamed thread (`<unknown>` in the report).
//! - `raw-recurse`: the same on a thread of `spawn_raw` (unnamed) on a static buffer.
//! - `thread-null`: writes through a null pointer on the thread `worker`: SIGSEGV, reported
//!   as nothing else.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};
use tinyrt::signal::{self, Action, Handler, SigSet, Signal};
use tinyrt::{eprintln, process};

tinyrt::main!(main, stack_overflow_message);

static DEPTH: AtomicUsize = AtomicUsize::new(0);

/// Read-only: a `static` without interior mutability goes to `.rodata`.
static READ_ONLY: [usize; 4] = [1, 2, 3, 4];

/// mmap with 6 arguments: `mmap2` (offset in pages) on 32-bit architectures.
#[cfg(target_pointer_width = "32")]
const MMAP: usize = tinyrt::syscall::nr::__NR_mmap2;
#[cfg(target_pointer_width = "64")]
const MMAP: usize = tinyrt::syscall::nr::__NR_mmap;

/// Four fresh pages, the lowest and the highest unmapped again, the second made `low` and
/// the third `high` (PROT_* bits; different ones make two mappings): the address of the
/// second, and the page size. `None` if a call fails.
fn island(low: usize, high: usize) -> Option<(usize, usize)> {
    use tinyrt::syscall::{nr, syscall2, syscall3};
    let page = tinyrt::auxv::page_size()?;
    let args = [0, 4 * page, 3, 0x22, usize::MAX, 0];
    // SAFETY: a fresh private anonymous mapping (s390x's old mmap reads the six words from
    // `args`), then calls on it alone.
    #[allow(unsafe_code)]
    unsafe {
        #[cfg(target_arch = "s390x")]
        let r = tinyrt::syscall::syscall1(MMAP, args.as_ptr() as usize);
        #[cfg(not(target_arch = "s390x"))]
        let r =
            tinyrt::syscall::syscall6(MMAP, args[0], args[1], args[2], args[3], args[4], args[5]);
        let base = tinyrt::Errno::from_ret(r).ok()?;
        let ok = |r: usize| tinyrt::Errno::from_ret(r).ok();
        ok(syscall2(nr::__NR_munmap, base, page))?;
        ok(syscall2(nr::__NR_munmap, base + 3 * page, page))?;
        ok(syscall3(nr::__NR_mprotect, base + page, page, low))?;
        ok(syscall3(nr::__NR_mprotect, base + 2 * page, page, high))?;
        Some((base + page, page))
    }
}

/// Grows the main stack by 128 KiB (every byte written), so that pages below the caller's
/// frame are mapped.
#[inline(never)]
fn grow() {
    core::hint::black_box([0u8; 128 * 1024]);
}

/// Makes a page of the main stack two pages below this frame read-only, with mapped pages
/// below it (`grow`): its address, or `None` if a call fails.
#[inline(never)]
fn stack_page_read_only() -> Option<usize> {
    grow();
    let page = tinyrt::auxv::page_size()?;
    let here = 0u8;
    let sp = core::hint::black_box(&here) as *const u8 as usize;
    let target = (sp & !(page - 1)) - 2 * page;
    // SAFETY: the page is below every live frame of ours (the fault handler runs on the
    // alternate stack).
    #[allow(unsafe_code)]
    let r =
        unsafe { tinyrt::syscall::syscall3(tinyrt::syscall::nr::__NR_mprotect, target, page, 1) };
    tinyrt::Errno::from_ret(r).ok().map(|_| target)
}

/// Writes to `addr`, which must fault.
fn write_to(addr: usize) {
    let p = core::hint::black_box(addr as *mut usize);
    // SAFETY: not sound, on purpose: the write must fault, and nothing of this program runs
    // after it.
    #[allow(unsafe_code)]
    unsafe {
        p.write_volatile(1)
    };
}

/// Recurses until the stack runs out: it is meant never to return.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: usize) -> usize {
    let frame = core::hint::black_box([n; 64]);
    DEPTH.store(n, Ordering::Relaxed);
    recurse(n + 1).wrapping_add(frame[n % 64])
}

extern "C" fn caught(_sig: i32) {
    let _ = tinyrt::io::write_all(tinyrt::io::STDOUT, b"caught\n");
}

#[cfg(all(feature = "threads", feature = "alloc"))]
extern crate alloc;

/// Runs `f` on a thread named `name` (or unnamed) and waits for it.
#[cfg(all(feature = "threads", feature = "alloc"))]
fn on_thread(name: Option<&str>, f: fn()) {
    let mut b = tinyrt::thread::Builder::new();
    if let Some(n) = name {
        b = b.name(alloc::string::String::from(n));
    }
    match b.spawn(f) {
        Ok(h) => h.join(),
        Err(e) => eprintln!("overflow: spawn failed: {e}"),
    }
}

/// Runs `recurse` on a thread of `spawn_raw` on a static buffer of 256 KiB, and waits.
#[cfg(feature = "threads")]
fn on_raw_thread() {
    static mut MEMORY: [u8; 256 << 10] = [0; 256 << 10];
    // SAFETY: the one use of the buffer, given up for ever.
    #[allow(unsafe_code)]
    let memory = unsafe { &mut *core::ptr::addr_of_mut!(MEMORY) };
    match tinyrt::thread::spawn_raw(
        memory,
        |_| {
            core::hint::black_box(recurse(0));
        },
        0,
    ) {
        Ok(h) => h.join(),
        Err(e) => eprintln!("overflow: spawn_raw failed: {e}"),
    }
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    let Some(what) = args.nth(1) else {
        eprintln!(
            "usage: overflow recurse|null|kill|rodata|below-mapping|prot-none|stack-read-only|abort|abort-caught|abort-ignored|abort-blocked|thread-recurse|unnamed-recurse|raw-recurse|thread-null"
        );
        return 2;
    };
    match what.to_bytes() {
        b"recurse" => return recurse(0) as i32,
        b"null" => {
            let p = core::hint::black_box(core::ptr::null_mut::<usize>());
            // SAFETY: not sound, on purpose: the write must fault (page 0 is never mapped), and
            // nothing of this program runs after it.
            #[allow(unsafe_code)]
            unsafe {
                p.write_volatile(1)
            };
        }
        b"rodata" => write_to(core::ptr::addr_of!(READ_ONLY) as usize),
        b"below-mapping" => match island(3, 1) {
            Some((low, page)) => write_to(low - page),
            None => eprintln!("overflow: mmap failed"),
        },
        b"prot-none" => match island(0, 3) {
            // The page above the PROT_NONE one stays read-write.
            Some((low, _)) => write_to(low),
            None => eprintln!("overflow: mmap failed"),
        },
        b"stack-read-only" => match stack_page_read_only() {
            Some(target) => write_to(target),
            None => eprintln!("overflow: mprotect failed"),
        },
        b"kill" => {
            let _ = signal::raise(Signal::SEGV);
        }
        b"abort" => process::abort(),
        #[cfg(all(feature = "threads", feature = "alloc"))]
        b"thread-recurse" => on_thread(Some("worker"), || {
            core::hint::black_box(recurse(0));
        }),
        #[cfg(all(feature = "threads", feature = "alloc"))]
        b"unnamed-recurse" => on_thread(None, || {
            core::hint::black_box(recurse(0));
        }),
        #[cfg(feature = "threads")]
        b"raw-recurse" => on_raw_thread(),
        #[cfg(all(feature = "threads", feature = "alloc"))]
        b"thread-null" => on_thread(Some("worker"), || write_to(0)),
        b"abort-caught" => {
            // SAFETY: the handler only writes.
            #[allow(unsafe_code)]
            let _ =
                unsafe { signal::set_action(Signal::ABRT, &Action::new(Handler::Plain(caught))) };
            process::abort()
        }
        b"abort-ignored" => {
            let _ = signal::ignore(Signal::ABRT);
            process::abort()
        }
        b"abort-blocked" => {
            let _ = signal::block(SigSet::EMPTY.with(Signal::ABRT));
            process::abort()
        }
        _ => {
            eprintln!("overflow: unknown check");
            return 2;
        }
    }
    eprintln!(
        "overflow: {} did not end the program",
        what.to_str().unwrap_or("?")
    );
    1
}
