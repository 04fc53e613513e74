//! aarch64 (aarch64-unknown-linux-gnu).
//!
//! - Enter the kernel with `svc #0`: number in `x8`, arguments in `x0` ..= `x5`.
//! - The result comes back in `x0` (-4095..=-1 is a negated errno); nothing else changes.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

register_syscalls! {
    insn: "svc 0",
    number: "x8",
    result: "x0",
    args: ["x0", "x1", "x2", "x3", "x4", "x5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// What this architecture's vDSO exports (kernel `arch/arm64/kernel/vdso/vdso.lds.S`): no
/// `time`, no `getcpu`.
pub mod vdso_names {
    /// The version every symbol below carries.
    pub const VERSION: &str = "LINUX_2.6.39";
    /// `clock_gettime` with a `__kernel_timespec`.
    pub const CLOCK_GETTIME: Option<&str> = Some("__kernel_clock_gettime");
    /// A symbol that must be exported too before `CLOCK_GETTIME` is trusted.
    pub const CLOCK_GETTIME_REQUIRES: Option<&str> = None;
    /// `clock_getres` with a `__kernel_timespec`.
    pub const CLOCK_GETRES: Option<&str> = Some("__kernel_clock_getres");
    /// `gettimeofday` with a `__kernel_old_timeval`.
    pub const GETTIMEOFDAY: Option<&str> = Some("__kernel_gettimeofday");
    /// `time`: none.
    pub const TIME: Option<&str> = None;
    /// `getcpu`: none.
    pub const GETCPU: Option<&str> = None;
    /// `getrandom` with the opaque-state protocol (Linux 6.12+).
    pub const GETRANDOM: Option<&str> = Some("__kernel_getrandom");
}

/// System calls of the time functions.
pub mod time_nr {
    use linux_raw_sys::general as nr;
    /// `clock_gettime`.
    pub const CLOCK_GETTIME: usize = nr::__NR_clock_gettime as usize;
    /// `clock_getres`.
    pub const CLOCK_GETRES: usize = nr::__NR_clock_getres as usize;
    /// `gettimeofday` (64-bit fields here).
    pub const GETTIMEOFDAY: Option<usize> = Some(nr::__NR_gettimeofday as usize);
    /// The 32-bit-time fallbacks of `clock_gettime` and `clock_getres`: none needed.
    pub const CLOCK_GETTIME32: Option<usize> = None;
    /// See `CLOCK_GETTIME32`.
    pub const CLOCK_GETRES32: Option<usize> = None;
    /// `time`: none on this architecture.
    pub const TIME: Option<usize> = None;
    /// `getcpu`.
    pub const GETCPU: usize = nr::__NR_getcpu as usize;
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
