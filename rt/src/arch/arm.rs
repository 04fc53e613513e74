//! armv7 (armv7-unknown-linux-gnueabihf), EABI.
//!
//! - Enter the kernel with `svc #0`: number in `r7`, arguments in `r0` ..= `r5`.
//! - The result comes back in `r0` (-4095..=-1 is a negated errno); nothing else changes.
//! - This target compiles to A32 (ARM) code, whose frame pointer is `r11`, so `r7` is free
//!   for inline asm.
//!
//! # Safety
//!
//! Every function here enters the kernel with whatever arguments it is given. The caller
//! must uphold the contract of the system call it names.

register_syscalls! {
    insn: "svc 0",
    number: "r7",
    result: "r0",
    args: ["r0", "r1", "r2", "r3", "r4", "r5"],
    clobbers: [],
}

/// Names of the auxiliary-vector keys only this architecture defines (none here).
pub fn auxv_name(_key: usize) -> Option<&'static str> {
    None
}

/// What this architecture's vDSO exports (kernel `arch/arm/vdso/vdso.lds.S`). The 64-bit
/// `__vdso_clock_gettime64` is trusted only when the 32-bit `__vdso_clock_gettime` is
/// exported too: kernels 5.5 to 5.7 exported a broken one alone. No `time`, no `getcpu`.
/// The 32-bit-time entries (`__vdso_clock_getres`, `__vdso_gettimeofday`) would overflow in
/// 2038: `clock_getres` uses `clock_getres_time64`, `gettimeofday` is derived from
/// `clock_gettime`.
pub mod vdso_names {
    /// The version every symbol below carries.
    pub const VERSION: &str = "LINUX_2.6";
    /// `clock_gettime` with a `__kernel_timespec` (64-bit fields).
    pub const CLOCK_GETTIME: Option<&str> = Some("__vdso_clock_gettime64");
    /// A symbol that must be exported too before `CLOCK_GETTIME` is trusted.
    pub const CLOCK_GETTIME_REQUIRES: Option<&str> = Some("__vdso_clock_gettime");
    /// `clock_getres` with a `__kernel_timespec`: none.
    pub const CLOCK_GETRES: Option<&str> = None;
    /// `gettimeofday`: derived from `clock_gettime` (the vDSO's has 32-bit fields).
    pub const GETTIMEOFDAY: Option<&str> = None;
    /// `time`: none.
    pub const TIME: Option<&str> = None;
    /// `getcpu`: none.
    pub const GETCPU: Option<&str> = None;
    /// `getrandom`: none (the 32-bit arm vDSO has no getrandom).
    pub const GETRANDOM: Option<&str> = None;
}

/// System calls of the time functions: the 64-bit-time ones (Linux 5.1+).
pub mod time_nr {
    use linux_raw_sys::general as nr;
    /// `clock_gettime64`.
    pub const CLOCK_GETTIME: usize = nr::__NR_clock_gettime64 as usize;
    /// `clock_getres_time64`.
    pub const CLOCK_GETRES: usize = nr::__NR_clock_getres_time64 as usize;
    /// `gettimeofday`: not used (32-bit fields); derived from `clock_gettime`.
    pub const GETTIMEOFDAY: Option<usize> = None;
    /// The 32-bit-time `clock_gettime`, for kernels before 5.1 and sandboxes that refuse
    /// the 64-bit one (Docker's default profile answers EPERM).
    pub const CLOCK_GETTIME32: Option<usize> = Some(nr::__NR_clock_gettime as usize);
    /// The 32-bit-time `clock_getres`, likewise.
    pub const CLOCK_GETRES32: Option<usize> = Some(nr::__NR_clock_getres as usize);
    /// `time`: none in the EABI.
    pub const TIME: Option<usize> = None;
    /// `getcpu`.
    pub const GETCPU: usize = nr::__NR_getcpu as usize;
}

/// Architecture-specific extras: none on this architecture.
pub mod extras {}
