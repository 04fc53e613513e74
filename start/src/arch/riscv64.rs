//! riscv64 entry point.
//!
//! At `_start` the kernel has set `sp` to the initial stack (pointing at argc). `gp` must
//! be loaded with `__global_pointer$` (LLD defines it, at .sdata + 0x800; a GNU ld link
//! would need link.x to define it) before any code that the linker
//! may have relaxed to gp-relative addressing runs; the load itself must not be relaxed
//! (it would become relative to the gp it is setting), hence `.option norelax`.

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        ".option push",
        ".option norelax",
        "lla gp, __global_pointer$",
        ".option pop",
        "li fp, 0",           // the outermost frame: zero frame pointer and return address
        "li ra, 0",
        "mv a0, sp",          // entry(sp): the initial stack, unmodified
        "andi sp, sp, -16",   // the psABI wants sp 16-aligned
        "call {entry}",
        "unimp",              // entry never returns
        entry = sym crate::entry,
    )
}

#[path = "generic_mem.rs"]
mod generic_mem;
pub use generic_mem::{copy_backward, copy_forward, fill};

#[cfg(feature = "pie")]
relocation_access! {
    load: "ld {v}, 0({p})",
    store: "sd {v}, 0({p})",
    address: reg,
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
