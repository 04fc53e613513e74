//! armv7 (EABI, hard float) entry point.
//!
//! At `_start` the kernel has set `sp` to the initial stack (pointing at argc); `r0` may
//! hold an atexit function for dynamic loaders, which a static program ignores.

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov fp, #0",         // the outermost frame: zero frame pointer and link register
        "mov lr, #0",
        "mov r0, sp",         // entry(sp): the initial stack, unmodified
        "bic sp, sp, #15",    // AAPCS wants 8-byte alignment at calls; 16 does no harm
        "bl {entry}",
        "udf #0",             // entry never returns
        entry = sym crate::entry,
    )
}

#[path = "generic_mem.rs"]
mod generic_mem;
pub use generic_mem::{copy_backward, copy_forward, fill};

/// Reads the word at `at` for the static-PIE relocator, outside Rust's memory model: the
/// word belongs to a static Rust believes immutable, so the access is an `asm!` block that
/// may touch any memory (no `nomem`/`readonly`), as origin's `relocation_load` does; the
/// idea is origin's, the code ours.
///
/// # Safety
/// `at` is the aligned address of a word of the program's image, mapped readable.
#[cfg(feature = "pie")]
#[inline(always)]
pub unsafe fn relocation_load(at: usize) -> usize {
    let v;
    // SAFETY: the caller's contract.
    unsafe {
        core::arch::asm!("ldr {v}, [{p}]", p = in(reg) at, v = lateout(reg) v,
                         options(nostack, preserves_flags));
    }
    v
}

/// Writes the relocated word `v` at `at`: the one instruction that changes a relocated
/// static (origin's `relocation_store`, the same way).
///
/// # Safety
/// `at` is the aligned address of a word of the program's image, mapped writable, that no
/// Rust code has read yet.
#[cfg(feature = "pie")]
#[inline(always)]
pub unsafe fn relocation_store(at: usize, v: usize) {
    // SAFETY: the caller's contract.
    unsafe {
        core::arch::asm!("str {v}, [{p}]", p = in(reg) at,
                         v = in(reg) v, options(nostack, preserves_flags));
    }
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
