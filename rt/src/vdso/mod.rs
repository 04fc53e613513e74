//! The vDSO: the ELF image the kernel (or qemu-user) maps into every process, and the
//! dispatch that serves `clock_gettime`, `clock_getres`, `gettimeofday`, `time`, `getcpu`
//! and `getrandom` from it, with the raw system call wherever it cannot.
//!
//! - [`image`](live): finding the live image through `AT_SYSINFO_EHDR`, bounding it (one
//!   path for both readers), and refusing an image for another class or machine (an
//!   emulator handing over a host image means "no usable vDSO", never a wrong call);
//! - `fallback`: the raw system calls (`sys`'s) with the vDSO functions' C signatures, to
//!   sit in the slots, and the one rule for retrying a failed vDSO call by system call;
//! - `dispatch`: one cached function pointer per function ([`Function`], [`Backend`]),
//!   resolved on first use through the small lookup `elf::native`.
//!
//! Inside, `fallback` imports only `sys` and `errno`; `dispatch` imports `image` and
//! `fallback`; nothing here imports from a layer above (the getrandom state pool is
//! `crate::random`'s: it calls the dispatch, never the other way round).
//!
//! ```
//! use tinyrt_rt::time::{self, Backend, Function};
//! use tinyrt_rt::vdso;
//!
//! // What serves each function here; a vDSO function lies in the live image, where the
//! // full parser finds the same symbol at the same address.
//! for f in Function::ALL {
//!     if let Backend::Vdso { symbol, address, .. } = time::backend(f) {
//!         let image = vdso::live().expect("a vDSO function without a vDSO");
//!         let found = image.symbols().flatten().find(|s| s.name == symbol.as_bytes());
//!         let sym = found.expect("the dispatch's symbol is in the image");
//!         assert_eq!(image.address(&sym), Ok(address), "{}", f.name());
//!         assert_eq!(vdso::find(symbol), Some(address));
//!     }
//! }
//! ```
//!
//! # Safety
//!
//! Each submodule says what it trusts: `image` the kernel's mapping at `AT_SYSINFO_EHDR`,
//! `dispatch` the C signatures of what its slots hold, `fallback` the pointers it passes
//! to the kernel.

mod dispatch;
mod fallback;
mod image;

pub use dispatch::{Backend, Function, find};
pub use image::{Error, live};

pub(crate) use dispatch::{
    backend, clock_getres, clock_gettime, getcpu, getrandom, gettimeofday, is_syscall, is_vdso,
    peek, time, use_syscall,
};
pub(crate) use fallback::{errno_of, retries};
