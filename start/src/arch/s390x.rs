//! s390x entry point.
//!
//! At `_start` the kernel has set `r15` to the initial stack (pointing at argc). The ELF
//! ABI has every caller keep a 160-byte register save area at the callee's `r15`, the
//! first doubleword a back chain (zero: the outermost frame).

/// The process's first instruction.
///
/// # Safety
/// Only the kernel calls this, once, with the initial stack.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "lgr %r2, %r15",        // entry(sp): the initial stack, unmodified
        "lghi %r0, -8",         // keep r15 8-aligned (the ABI's stack alignment)
        "ngr %r15, %r0",
        "aghi %r15, -160",      // the save area entry's callees may write
        "lghi %r0, 0",
        "stg %r0, 0(%r15)",     // a zero back chain: the outermost frame
        "lghi %r14, 0",         // and no return address
        "brasl %r14, {entry}",
        ".word 0",              // entry never returns (an invalid instruction)
        entry = sym crate::entry,
    )
}

#[path = "generic_mem.rs"]
mod generic_mem;
pub use generic_mem::{copy_backward, copy_forward, fill};

// `reg_addr`: r0 as a base register would mean zero.
#[cfg(feature = "pie")]
relocation_access! {
    load: "lg {v}, 0({p})",
    store: "stg {v}, 0({p})",
    address: reg_addr,
}

/// `R_390_RELATIVE`: the relative relocation type static-PIE start-up applies (s390x ELF
/// ABI; linux-raw-sys has none for s390x).
#[cfg(feature = "pie")]
pub const R_RELATIVE: u32 = 12;

// No `rustix` feature here (see the file).
#[path = "no_rustix.rs"]
mod no_rustix;
