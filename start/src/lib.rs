//! tinyrt-start: crt0 for tinyrt programs.
//!
//! The kernel jumps to `_start` (per architecture, in `arch/`), which hands the untouched
//! initial stack pointer to `entry`. `entry` records it for `tinyrt-rt` (which reads argc,
//! argv, envp and the auxiliary vector in place — see its `stack` module for the layout),
//! runs the program's `main` (defined by `tinyrt::main!`) and ends the process with
//! `exit_group(main's code)`.
//!
//! With the `threads` feature, `entry` first gives the main thread its thread-local storage
//! and thread pointer (tinyrt-rt's `tls` module), and the crate defines `__tinyrt_threads`,
//! the symbol the linker scripts ask for before they accept a PT_TLS (and, on armv7,
//! `__aeabi_read_tp`).
//!
//! It also provides what a program without a C library lacks: the panic handler (message to
//! stderr, exit status 101), `memcpy`/`memmove`/`memset`/`memcmp`/`bcmp`/`strlen`, and the
//! `rust_eh_personality` symbol that debug builds of the prebuilt `core` refer to.
//!
//! Do not depend on this crate directly: depend on `tinyrt`, which links it.
//!
//! # Safety
//!
//! Unsafe code here is the entry point (which trusts the kernel's stack), the C memory
//! functions (C's contracts) and the call into the user's `main` symbol, which the
//! `tinyrt::main!` macro defines with the signature declared below.
#![no_std]
#![allow(unsafe_code)]
#![deny(missing_debug_implementations)]
// Under `cargo test`/`clippy --all-targets` this crate is compiled into std's test harness,
// whose C library already has `_start`, a panic handler and mem*: compile nothing then.
#![cfg(not(test))]

/// Each architecture's `relocation_load` and `relocation_store` for the static-PIE
/// relocator (`pie.rs`), from its load and store instruction, the register class of the
/// address and, on the architectures `tests/relocation_stores.rs` traces, the directive
/// that records each store's address in a section that is not loaded (test builds only,
/// `--cfg tinyrt_mark_relocation_stores`). Each access is an `asm!` block that may touch
/// any memory (no `nomem`/`readonly`): the word belongs to a static Rust believes
/// immutable, so the relocation happens outside Rust's memory model, as origin's
/// `relocation_load`/`relocation_store` do (the idea is origin's, the code ours).
#[cfg(feature = "pie")]
macro_rules! relocation_access {
    (load: $load:literal, store: $store:literal, address: $class:ident $(, mark: $mark:literal)? $(,)?) => {
        /// Reads the word at `at` for the static-PIE relocator (see `relocation_access!`).
        ///
        /// # Safety
        /// `at` is the aligned address of a word of the program's image, mapped readable.
        #[inline(always)]
        pub unsafe fn relocation_load(at: usize) -> usize {
            let v;
            // SAFETY: the caller's contract.
            unsafe {
                core::arch::asm!($load, p = in($class) at, v = lateout(reg) v,
                                 options(nostack, preserves_flags));
            }
            v
        }

        /// Writes the relocated word `v` at `at`: the one instruction that changes a
        /// relocated static.
        ///
        /// # Safety
        /// `at` is the aligned address of a word of the program's image, mapped writable,
        /// that no Rust code has read yet.
        #[inline(always)]
        pub unsafe fn relocation_store(at: usize, v: usize) {
            relocation_access!(@store $store, $class, at, v $(, $mark)?);
        }
    };
    (@store $store:literal, $class:ident, $at:ident, $v:ident) => {
        // SAFETY: the caller's contract.
        unsafe {
            core::arch::asm!($store, p = in($class) $at, v = in(reg) $v,
                             options(nostack, preserves_flags));
        }
    };
    (@store $store:literal, $class:ident, $at:ident, $v:ident, $mark:literal) => {
        #[cfg(not(tinyrt_mark_relocation_stores))]
        relocation_access!(@store $store, $class, $at, $v);
        // Test builds only: the store's address, recorded in a section that is not loaded,
        // so that a tracer can tell these stores from any other.
        // SAFETY: the caller's contract; the section is not part of the loaded image.
        #[cfg(tinyrt_mark_relocation_stores)]
        unsafe {
            core::arch::asm!("2:", $store,
                             ".pushsection .tinyrt_relocation_stores, \"\", @progbits",
                             $mark, ".popsection",
                             p = in($class) $at, v = in(reg) $v, options(nostack, preserves_flags));
        }
    };
}

#[cfg_attr(target_arch = "x86_64", path = "arch/x86_64.rs")]
#[cfg_attr(target_arch = "x86", path = "arch/x86.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arch/aarch64.rs")]
#[cfg_attr(target_arch = "riscv64", path = "arch/riscv64.rs")]
#[cfg_attr(target_arch = "arm", path = "arch/arm.rs")]
#[cfg_attr(target_arch = "s390x", path = "arch/s390x.rs")]
#[cfg_attr(target_arch = "powerpc64", path = "arch/powerpc64.rs")]
mod arch;
mod mem;

#[cfg(feature = "pie")]
mod pie;

use core::sync::atomic::{AtomicU32, Ordering};
use tinyrt_rt::io;

unsafe extern "Rust" {
    /// The program's main, wrapped by `tinyrt::main!`: returns the exit code. If the linker
    /// reports this symbol undefined, the program lacks a `tinyrt::main!(...)` line.
    safe fn __tinyrt_main(args: tinyrt_rt::env::Args, vars: tinyrt_rt::env::Vars) -> i32;
}

/// Called by `_start` with the initial stack pointer; never returns.
///
/// # Safety
/// `sp` is the stack pointer the kernel gave `_start`, and nothing has run before.
unsafe extern "C" fn entry(sp: *const usize) -> ! {
    // Static-PIE: relocate before anything reads a static that holds an address, then run
    // the rest in a function of its own (see pie.rs, "Outside Rust's memory model").
    // SAFETY: the first thing that runs, with the kernel's stack (the caller's contract).
    #[cfg(feature = "pie")]
    unsafe {
        let relocated = pie::relocate(sp);
        after_relocation(sp, relocated)
    }
    // SAFETY: the caller's contract.
    #[cfg(not(feature = "pie"))]
    unsafe {
        run(sp)
    }
}

/// Static-PIE: what runs once the words are relocated, never inlined into `entry`, so that
/// no load of a relocated static can be hoisted above the relocation.
///
/// # Safety
/// As `entry`, after `pie::relocate`.
#[cfg(feature = "pie")]
#[inline(never)]
unsafe fn after_relocation(sp: *const usize, relocated: pie::Outcome) -> ! {
    // SAFETY: the caller's contract.
    unsafe { run(sp, relocated) }
}

/// Reads the initial stack, runs the program's `main` and exits (in a static-PIE program,
/// after making its relro pages read-only).
///
/// # Safety
/// As `entry`; in a static-PIE program, relocated.
#[inline(always)]
unsafe fn run(sp: *const usize, #[cfg(feature = "pie")] relocated: pie::Outcome) -> ! {
    // SAFETY: the caller's contract is exactly `init`'s.
    let (args, vars) = unsafe { tinyrt_rt::__private_start::init(sp) };
    // SAFETY: once, right after `init`, before anything else runs.
    #[cfg(feature = "threads")]
    unsafe {
        tinyrt_rt::__private_start::init_main_thread()
    };
    // rustix (feature `rustix`) reads the auxiliary vector past the environment's NULL.
    // SAFETY: envp lies on the kernel's initial stack after argc and argv's argc pointers and
    // their NULL (see tinyrt-rt's `stack`); this runs before `main`, so before rustix is used.
    #[cfg(feature = "rustix")]
    unsafe {
        rustix::param::init(sp.add(*sp + 2) as *mut *mut u8)
    };
    #[cfg(feature = "pie")]
    pie::finish(relocated);
    tinyrt_rt::process::exit(__tinyrt_main(args, vars))
}

// Feature `threads`: the symbol tinyrt's linker scripts look for (DEFINED) before they
// accept thread-local storage; absolute, so that no section holds it and nothing drops it.
#[cfg(feature = "threads")]
core::arch::global_asm!(".globl __tinyrt_threads", ".set __tinyrt_threads, 1");

/// The heap (feature `alloc`): talc over mmap, see `tinyrt_rt::heap`.
#[cfg(feature = "alloc")]
#[global_allocator]
static HEAP: tinyrt_rt::heap::Heap = tinyrt_rt::heap::Heap::new();

/// The kernel id of the thread printing a panic; 0 while none is.
static PANICKING: AtomicU32 = AtomicU32::new(0);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let me = tinyrt_rt::thread::current_os_id();
    match PANICKING.compare_exchange(0, me, Ordering::Relaxed, Ordering::Relaxed) {
        Ok(_) => {}
        // A panic while printing this thread's panic (a Display impl that panics): say so
        // and stop.
        Err(t) if t == me => {
            let _ = io::write_all(io::STDERR, b"panicked while panicking; aborting\n");
            tinyrt_rt::process::exit(101);
        }
        // Another thread is printing its panic and then ends the process: let it finish.
        Err(_) => loop {
            tinyrt_rt::thread::yield_now();
        },
    }
    // std's first line: `thread '<name>' (TID) panicked at FILE:LINE:COL:`, then the message.
    tinyrt_rt::__private_start::with_thread_name(|name| {
        let name = name.unwrap_or("<unnamed>");
        let _ = match info.location() {
            Some(l) => io::write_fmt(
                io::STDERR,
                format_args!(
                    "thread '{name}' ({me}) panicked at {}:{}:{}:\n{}\n",
                    l.file(),
                    l.line(),
                    l.column(),
                    info.message()
                ),
            ),
            None => io::write_fmt(
                io::STDERR,
                format_args!("thread '{name}' ({me}) panicked:\n{}\n", info.message()),
            ),
        };
    });
    tinyrt_rt::process::exit(101)
}

/// Debug builds of the prebuilt `core` refer to this symbol; with `panic = "abort"` nothing
/// ever calls it.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

/// The prebuilt `alloc` (built to unwind) refers to this from its landing pads; with
/// `panic = "abort"` no unwinding ever starts, so nothing calls it. Were it called, it ends
/// the program with status 134 (only `exit_group`: a message would make every program carry
/// whatever its architecture's system-call entry needs to be chosen).
#[unsafe(no_mangle)]
pub extern "C" fn _Unwind_Resume(_exception: *mut core::ffi::c_void) -> ! {
    tinyrt_rt::process::exit(134)
}
