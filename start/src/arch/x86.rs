//! i686 entry point.
//!
//! At `_start` the kernel has set `esp` to the initial stack (pointing at argc); no return
//! address exists. `entry` is a cdecl function taking `sp` on the stack.

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",   // the outermost frame: a zero frame pointer ends backtraces
        "mov eax, esp",   // the initial stack, unmodified
        "and esp, -16",   // the i386 Linux ABI wants esp 16-aligned at each call:
        "sub esp, 12",    // 12 + the 4-byte argument below = 16
        "push eax",       // entry(sp)
        "call {entry}",
        "ud2",            // entry never returns
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
        core::arch::asm!("mov {v}, dword ptr [{p}]", p = in(reg) at, v = lateout(reg) v,
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
    #[cfg(not(tinyrt_mark_relocation_stores))]
    unsafe {
        core::arch::asm!("mov dword ptr [{p}], {v}", p = in(reg) at,
                         v = in(reg) v, options(nostack, preserves_flags));
    }
    // Test builds only (tests/relocation_stores.rs): the store's address, recorded in a section that is
    // not loaded, so that a tracer can tell these stores from any other.
    // SAFETY: the caller's contract; the section is not part of the loaded image.
    #[cfg(tinyrt_mark_relocation_stores)]
    unsafe {
        core::arch::asm!("2:", "mov dword ptr [{p}], {v}",
                         ".pushsection .tinyrt_relocation_stores, \"\", @progbits",
                         ".long 2b", ".popsection",
                         p = in(reg) at, v = in(reg) v, options(nostack, preserves_flags));
    }
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
