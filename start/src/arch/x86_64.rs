//! x86_64 entry point.
//!
//! At `_start` the kernel has set `rsp` to the initial stack (16-byte aligned, pointing at
//! argc), `rdx` to 0 or the address of a function for `atexit` (dynamic loaders only; a
//! static program ignores it), and no return address exists.

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",   // the outermost frame: a zero frame pointer ends backtraces
        "mov rdi, rsp",   // entry(sp): the initial stack, unmodified
        "and rsp, -16",   // the ABI wants rsp 16-aligned at a call (the kernel gives that,
                          // but keep the promise without relying on it)
        "call {entry}",   // pushes a (never used) return address, as the callee expects
        "ud2",            // entry never returns
        entry = sym crate::entry,
    )
}

/// Copies `n` bytes upward with `rep movsb` (fast on every x86_64 since Ivy Bridge's ERMSB).
///
/// # Safety
/// `d` and `s` valid for `n` bytes; if they overlap, `d` is below `s`.
#[inline(always)]
pub unsafe fn copy_forward(d: *mut u8, s: *const u8, n: usize) {
    // SAFETY: the caller's contract; the direction flag is clear per the ABI.
    unsafe {
        core::arch::asm!("rep movsb", inout("rcx") n => _, inout("rdi") d => _,
                         inout("rsi") s => _, options(nostack, preserves_flags));
    }
}

// Downward copies (memmove to a higher, overlapping address) take the word loop:
// `std; rep movsb` would do it in one instruction, but with the direction flag set it goes
// without the fast-string microcode (documented for upward moves), a byte per iteration.
#[path = "generic_mem.rs"]
#[allow(dead_code)] // its upward copy and fill are the string instructions here
mod generic_mem;
pub use generic_mem::copy_backward;

/// Sets `n` bytes to `c` with `rep stosb`.
///
/// # Safety
/// `d` valid for `n` bytes.
#[inline(always)]
pub unsafe fn fill(d: *mut u8, c: u8, n: usize) {
    // SAFETY: the caller's contract; the direction flag is clear per the ABI.
    unsafe {
        core::arch::asm!("rep stosb", inout("rcx") n => _, inout("rdi") d => _, in("al") c,
                         options(nostack, preserves_flags));
    }
}

#[cfg(feature = "pie")]
relocation_access! {
    load: "mov {v}, qword ptr [{p}]",
    store: "mov qword ptr [{p}], {v}",
    address: reg,
    mark: ".quad 2b",
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
