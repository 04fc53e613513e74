//! powerpc64 (little-endian, ELFv2) entry point.
//!
//! At `_start` the kernel has set `r1` to the initial stack (pointing at argc); nothing
//! else is promised. Code reaches its globals through the TOC pointer in `r2`, so `_start`
//! sets it first, relative to its own address (which works at any load address:
//! static-PIE too). The ELFv2 ABI wants `r1` 16-aligned with a back chain at 0(r1) and
//! 32 bytes a callee may store into (CR, LR and TOC save words).

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "bcl 20, 31, 1f",       // the address of 1: into the link register
        "1:",
        "mflr 12",
        "addis 2, 12, (.TOC. - 1b)@ha",
        "addi 2, 2, (.TOC. - 1b)@l",
        "mr 3, 1",              // entry(sp): the initial stack, unmodified
        "clrrdi 1, 1, 4",       // 16-aligned
        "li 0, 0",
        "mtlr 0",               // no return address
        "stdu 0, -32(1)",       // the outermost frame: a zero back chain
        "bl {entry}",
        "nop",
        "trap",                 // entry never returns
        entry = sym crate::entry,
    )
}

#[path = "generic_mem.rs"]
mod generic_mem;
pub use generic_mem::{copy_backward, copy_forward, fill};

// `reg_nonzero`: r0 as a base register would mean zero.
#[cfg(feature = "pie")]
relocation_access! {
    load: "ld {v}, 0({p})",
    store: "std {v}, 0({p})",
    address: reg_nonzero,
}

/// `R_PPC64_RELATIVE`: the relative relocation type static-PIE start-up applies (64-bit
/// PowerPC ELF ABI; linux-raw-sys has none for powerpc64).
#[cfg(feature = "pie")]
pub const R_RELATIVE: u32 = 22;

// No `rustix` feature here (see the file).
#[path = "no_rustix.rs"]
mod no_rustix;
