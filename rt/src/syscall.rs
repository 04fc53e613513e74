//! Raw system calls: the architecture's `syscall0` ..= `syscall6` and, in [`nr`], the
//! kernel's numbers for the calls a program most often makes itself. Results are raw words;
//! pass them to [`Errno::from_ret`](crate::Errno::from_ret).
//!
//! ```
//! use tinyrt_rt::{Errno, syscall::{nr, syscall0}};
//! // SAFETY: getpid takes no arguments and cannot fail.
//! let pid = Errno::from_ret(unsafe { syscall0(nr::__NR_getpid) }).unwrap();
//! assert_eq!(pid as u32, std::process::id());
//! ```

/// What only this architecture has (i686: choosing `int $0x80` or `__kernel_vsyscall`).
pub use crate::arch::extras as arch;
pub use crate::arch::{syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};

pub mod nr;
