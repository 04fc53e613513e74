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

#[cfg(feature = "pie")]
relocation_access! {
    load: "ldr {v}, [{p}]",
    store: "str {v}, [{p}]",
    address: reg,
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;

/// The EABI's thread-pointer helper that C code compiled for thread-local variables calls
/// (`-mtp=soft`, clang's default before 19): the thread pointer (TPIDRURO, which the runtime's
/// `set_tls` set) in r0, every other register kept (r1-r3 included, unlike a C function).
#[cfg(feature = "threads")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn __aeabi_read_tp() -> usize {
    core::arch::naked_asm!("mrc p15, 0, r0, c13, c0, 3", "bx lr")
}
