//! x86_64 (x86_64-unknown-linux-gnu).
//!
//! - Enter the kernel with `syscall`: number in `rax`, arguments in `rdi`, `rsi`, `rdx`,
//!   `r10`, `r8`, `r9` (`r10`, not `rcx`, for the fourth).
//! - The result comes back in `rax`; -4095..=-1 is a negated errno.
//! - The instruction itself overwrites `rcx` (return address) and `r11` (rflags); nothing
//!   else is clobbered, and the kernel never touches the red zone or the stack.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names: pointers valid for the lengths the
//! kernel will read or write, file descriptors it owns, and so on.

register_syscalls! {
    insn: "syscall",
    number: "rax",
    result: "rax",
    args: ["rdi", "rsi", "rdx", "r10", "r8", "r9"],
    clobbers: ["rcx", "r11"],
}

/// Names of the auxiliary-vector keys only this architecture defines (none on x86_64).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// What this architecture's vDSO exports (kernel `arch/x86/entry/vdso/vdso.lds.S`).
pub mod vdso_names {
    /// The version every symbol below carries.
    pub const VERSION: &str = "LINUX_2.6";
    /// `clock_gettime` with a `__kernel_timespec` (64-bit fields).
    pub const CLOCK_GETTIME: Option<&str> = Some("__vdso_clock_gettime");
    /// A symbol that must be exported too before `CLOCK_GETTIME` is trusted.
    pub const CLOCK_GETTIME_REQUIRES: Option<&str> = None;
    /// `clock_getres` with a `__kernel_timespec`.
    pub const CLOCK_GETRES: Option<&str> = Some("__vdso_clock_getres");
    /// `gettimeofday` with a `__kernel_old_timeval`.
    pub const GETTIMEOFDAY: Option<&str> = Some("__vdso_gettimeofday");
    /// `time`.
    pub const TIME: Option<&str> = Some("__vdso_time");
    /// `getcpu`.
    pub const GETCPU: Option<&str> = Some("__vdso_getcpu");
    /// `getrandom` with the opaque-state protocol (Linux 6.11+).
    pub const GETRANDOM: Option<&str> = Some("__vdso_getrandom");
}

/// System calls of the time functions, all with 64-bit time.
pub mod time_nr {
    use linux_raw_sys::general as nr;
    /// `clock_gettime` with a `__kernel_timespec`.
    pub const CLOCK_GETTIME: usize = nr::__NR_clock_gettime as usize;
    /// `clock_getres` with a `__kernel_timespec`.
    pub const CLOCK_GETRES: usize = nr::__NR_clock_getres as usize;
    /// `gettimeofday` (64-bit fields here).
    pub const GETTIMEOFDAY: Option<usize> = Some(nr::__NR_gettimeofday as usize);
    /// The 32-bit-time fallbacks of `clock_gettime` and `clock_getres`: none needed.
    pub const CLOCK_GETTIME32: Option<usize> = None;
    /// See `CLOCK_GETTIME32`.
    pub const CLOCK_GETRES32: Option<usize> = None;
    /// `time`, where the architecture has it.
    pub const TIME: Option<usize> = Some(nr::__NR_time as usize);
    /// `getcpu`.
    pub const GETCPU: usize = nr::__NR_getcpu as usize;
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
