//! aarch64 entry point.
//!
//! At `_start` the kernel has set `sp` to the initial stack (16-byte aligned, pointing at
//! argc); `x0` may hold an atexit function for dynamic loaders, which a static program
//! ignores.

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, xzr",       // the outermost frame: zero frame pointer and link register
        "mov x30, xzr",
        "mov x0, sp",         // entry(sp): the initial stack, unmodified
        "and x1, x0, #-16",   // keep sp 16-aligned (the AAPCS64 requires it at all times)
        "mov sp, x1",
        "bl {entry}",
        "brk #0x1",           // entry never returns
        entry = sym crate::entry,
    )
}

#[path = "generic_mem.rs"]
mod generic_mem;
pub use generic_mem::{copy_backward, copy_forward, fill};

/// Read by the outline-atomics helpers of compiler_builtins (`__aarch64_ldadd4_acq_rel` and
/// friends, which LLVM calls for atomic read-modify-write operations on this target): 1
/// when the CPU has the LSE atomic instructions. compiler_builtins defines it together with
/// a C-library constructor that sets it through `getauxval`; tinyrt runs no constructors
/// and has no `getauxval` symbol, so it defines the flag itself, and the linker then leaves
/// that object out. 0 selects the load/store-exclusive loops every ARMv8 CPU runs.
#[unsafe(no_mangle)]
pub static __aarch64_have_lse_atomics: u8 = 0;

#[cfg(feature = "pie")]
relocation_access! {
    load: "ldr {v}, [{p}]",
    store: "str {v}, [{p}]",
    address: reg,
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
