//! Random bytes from the kernel's generator: `getrandom`, through the vDSO where the kernel
//! offers it (Linux 6.11+: x86_64; aarch64 and riscv64 on newer kernels), else the system
//! call.
//!
//! The vDSO path runs the kernel's own generator in user space, in per-caller opaque states
//! that tinyrt maps once (one page) and hands out atomically, call by call: no system call
//! after set-up except when the generator reseeds. Its output is what the system call
//! would give: same generator, same flags, same blocking rules (a request the vDSO cannot
//! serve goes to the system call). See [`backend`] for what serves this process.
//!
//! For a seed that costs nothing, [`at_random`] gives the 16 bytes the kernel put on the
//! initial stack at exec.
//!
//! ```
//! use tinyrt_rt::random;
//!
//! let mut key = [0u8; 32];
//! random::fill(&mut key).unwrap();
//! let mut other = [0u8; 32];
//! random::fill(&mut other).unwrap();
//! assert_ne!(key, other, "two fills of 256 random bits differ");
//! ```

use crate::errno::Errno;
use crate::vdso::{self, Backend, Function};

mod pool;

flags_type! {
    /// `getrandom` flags.
    pub struct Flags;
    /// None: block until the generator is initialised (once, early in boot), then never.
    NONE = 0;
    /// `GRND_NONBLOCK`: answer EAGAIN instead of blocking before initialisation.
    NONBLOCK = linux_raw_sys::general::GRND_NONBLOCK;
    /// `GRND_RANDOM`: historically the blocking pool; today the same bytes as `NONE`.
    RANDOM = linux_raw_sys::general::GRND_RANDOM;
    /// `GRND_INSECURE` (Linux 5.6+): never block, even before initialisation.
    INSECURE = linux_raw_sys::general::GRND_INSECURE;
}

impl Flags {
    /// Flags from their raw bits (unknown bits are passed on: the kernel answers EINVAL).
    #[must_use]
    pub const fn from_bits(bits: u32) -> Flags {
        Flags(bits)
    }
}

/// Fills up to `buf.len()` bytes of `buf` with random bytes; how many it wrote (the kernel
/// may write fewer than asked: past 32 MiB at once, or when a signal interrupts a large
/// request). Errors as the system call: EAGAIN (NONBLOCK before initialisation), EINTR,
/// EINVAL (unknown flags, or RANDOM with INSECURE).
pub fn getrandom(buf: &mut [u8], flags: Flags) -> Result<usize, Errno> {
    Errno::from_ret(pool::getrandom(buf, flags.0) as usize)
}

/// Fills all of `buf`, calling again after a short answer or EINTR.
pub fn fill(buf: &mut [u8]) -> Result<(), Errno> {
    let mut rest = buf;
    while !rest.is_empty() {
        match getrandom(rest, Flags::NONE) {
            Ok(n) => rest = rest.get_mut(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What serves `getrandom` in this process: the vDSO function (with its state pool set
/// up), or the system call. Asking sets the vDSO path up if this is the first use.
#[allow(clippy::must_use_candidate)] // Also called for its effect: it sets the backend up.
pub fn backend() -> Backend {
    pool::set_up_now();
    vdso::backend(Function::Getrandom)
}

/// `AT_RANDOM`: 16 random bytes the kernel placed on the stack at exec. A cheap seed (for
/// hash-table keys, say), never a key by itself: anyone who can read the process's memory
/// sees the same bytes. `None` in library mode (see [`crate::auxv::random_bytes`]).
#[must_use]
pub fn at_random() -> Option<&'static [u8; 16]> {
    crate::auxv::random_bytes()
}

/// The raw system call, bypassing the vDSO: for comparison, benchmarks and tests.
pub mod syscall {
    use super::*;

    /// `getrandom(2)` itself.
    pub fn getrandom(buf: &mut [u8], flags: Flags) -> Result<usize, Errno> {
        Errno::from_ret(crate::sys::getrandom(buf, flags.0) as usize)
    }
}

/// The state pool's counters (crate feature `random-pool-stats`): how many calls the vDSO
/// served, how many states were held at once, and how many times a state was handed to a
/// caller while another held it (never, or the pool is broken).
#[cfg(feature = "random-pool-stats")]
#[must_use]
pub fn pool_stats() -> PoolStats {
    pool::pool_stats()
}

#[cfg(feature = "random-pool-stats")]
pub use pool::PoolStats;
