//! tinyrt-rt: the library half of tinyrt — raw system calls, `Errno`, the auxiliary vector,
//! arguments and environment, and unbuffered formatted output.
//!
//! It has no entry point and no global symbols, so it works in two settings:
//!
//! - under tinyrt's own crt0 (crate `tinyrt-start`, linked by the `tinyrt` facade), which
//!   records the initial stack before `main` so that [`env`](mod@env) and [`auxv`] read the
//!   kernel's arrays in place;
//! - inside an ordinary std program ("library mode"), where the arguments, environment and
//!   auxiliary vector it has from the stack are empty.
//!
//! Unsafe code is confined to the modules that must read raw memory or enter the kernel:
//! `stack` (the initial stack), `arch` (the per-architecture `asm!`), `sys` (the safe
//! wrappers over it), [`auxv`] (pointers the kernel put in the vector), [`vdso`] (the
//! live vDSO mapping), [`random`]'s state pool (the vDSO getrandom's opaque states),
//! [`signal`], [`process`] and `heap`. Each has a `# Safety` section. The ELF parser
//! ([`elf`]) is safe code over a byte slice.
//!
//! Nothing runs at start-up that a program does not ask for: the vDSO functions resolve on
//! their first call, getrandom's state pool is mapped by the first vDSO getrandom, and rseq
//! is registered by the first `cpu::getcpu`. [`init`] does all of that at once.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

/// A newtype of `u32` flags: its constants, `bits`, and `|`.
macro_rules! flags_type {
    ($(#[$m:meta])* pub struct $name:ident; $($(#[$cm:meta])* $c:ident = $v:expr;)*) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            $($(#[$cm])* pub const $c: $name = $name($v);)*

            /// The raw bits.
            pub const fn bits(self) -> u32 {
                self.0
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }
    };
}

mod stack;

mod arch;
mod sys;

pub mod auxv;
pub mod cpu;
pub mod elf;
pub mod env;
pub mod errno;
#[cfg(feature = "alloc")]
pub mod heap;
pub mod io;
pub mod process;
pub mod random;
pub mod signal;
pub mod time;
pub mod vdso;

pub use errno::Errno;

/// The runtime's start-up work, done now rather than on first use: resolves every vDSO
/// function (`time::Function::ALL`), sets getrandom's state pool up (one `mmap`) where the
/// vDSO has getrandom, and decides where `cpu::getcpu` reads from (in a tinyrt program, one
/// `rseq` call). Each first use is async-signal-safe, but needs a few KiB of stack (it
/// validates the vDSO image, and in library mode reads the auxiliary vector): call this
/// before relying on a small alternate signal stack, or before installing a seccomp filter
/// that forbids `prctl`, `openat`, `mmap` or `rseq`. Later calls do nothing.
pub fn init() {
    for f in vdso::Function::ALL {
        vdso::backend(f);
    }
    random::backend();
    cpu::backend();
}

/// What crt0 (`tinyrt-start`) needs from the initial stack; not an API.
#[doc(hidden)]
pub mod __private_start {
    pub use crate::stack::{auxv_start, init};
}

/// Raw system calls: the architecture's `syscall0` ..= `syscall6` and the kernel's call
/// numbers for it. Results are raw words; pass them to [`Errno::from_ret`].
pub mod syscall {
    /// What only this architecture has (i686: choosing `int $0x80` or `__kernel_vsyscall`).
    pub use crate::arch::extras as arch;
    pub use crate::arch::{syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};
    /// The `__NR_*` numbers of this architecture.
    pub mod nr {
        pub use linux_raw_sys::general::*;
    }
}
