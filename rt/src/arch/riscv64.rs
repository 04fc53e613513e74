//! riscv64 (riscv64gc-unknown-linux-gnu).
//!
//! - Enter the kernel with `ecall`: number in `a7`, arguments in `a0` ..= `a5`.
//! - The result comes back in `a0` (-4095..=-1 is a negated errno); nothing else changes.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

register_syscalls! {
    insn: "ecall",
    number: "a7",
    result: "a0",
    args: ["a0", "a1", "a2", "a3", "a4", "a5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// What this architecture's vDSO exports (kernel `arch/riscv/kernel/vdso/vdso.lds.S`): no
/// `time`.
pub mod vdso_names {
    /// The version every symbol below carries.
    pub const VERSION: &str = "LINUX_4.15";
    /// `clock_gettime` with a `__kernel_timespec`.
    pub const CLOCK_GETTIME: Option<&str> = Some("__vdso_clock_gettime");
    /// A symbol that must be exported too before `CLOCK_GETTIME` is trusted.
    pub const CLOCK_GETTIME_REQUIRES: Option<&str> = None;
    /// `clock_getres` with a `__kernel_timespec`.
    pub const CLOCK_GETRES: Option<&str> = Some("__vdso_clock_getres");
    /// `gettimeofday` with a `__kernel_old_timeval`.
    pub const GETTIMEOFDAY: Option<&str> = Some("__vdso_gettimeofday");
    /// `time`: none.
    pub const TIME: Option<&str> = None;
    /// `getcpu`.
    pub const GETCPU: Option<&str> = Some("__vdso_getcpu");
    /// `getrandom` with the opaque-state protocol (recent kernels; qemu-user has none).
    pub const GETRANDOM: Option<&str> = Some("__vdso_getrandom");
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
