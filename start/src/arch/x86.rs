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

#[cfg(feature = "pie")]
relocation_access! {
    load: "mov {v}, dword ptr [{p}]",
    store: "mov dword ptr [{p}], {v}",
    address: reg,
    mark: ".long 2b",
}

/// The relative relocation type static-PIE start-up applies (linux-raw-sys has it here).
#[cfg(feature = "pie")]
pub use linux_raw_sys::elf::R_RELATIVE;
