//! The live vDSO: the ELF image the kernel (or qemu-user) maps into every process.
//!
//! [`live`] finds it through `AT_SYSINFO_EHDR`, validates its ELF header, reads the
//! program headers to learn the image's extent (the end of its furthest `PT_LOAD`), and only
//! then makes a byte slice of exactly that extent for [`elf::Image::parse`]. It checks the
//! image's class and machine against the running program: a mismatch (an emulator handing
//! over a host image) means "no usable vDSO", never a wrong call.
//!
//! # Safety
//!
//! The slices made here cover memory the kernel mapped read-only at `AT_SYSINFO_EHDR` for
//! the life of the process and that nothing writes. They are made in three steps, each no
//! longer than what the previous step proved mapped: the first 64 bytes (the ELF header,
//! inside the first page), the program headers (checked to lie inside that first page), then
//! the extent the program headers give for the mapped file (rounded no further than the
//! page holding the last `PT_LOAD` byte). The first page is mapped whenever
//! `AT_SYSINFO_EHDR` is non-zero; the rest is mapped because the kernel maps the whole image
//! it describes, in pages.
#![allow(unsafe_code)]

use crate::elf::{self, Error, Image};

pub(crate) mod random;

/// The smallest page size of any Linux architecture: the header reads stay inside it.
const MIN_PAGE: usize = 4096;
/// Real vDSOs are a few pages; an image claiming more is not trusted with a slice.
const MAX_IMAGE: usize = 1 << 20;

/// The vDSO of this process, validated, or why there is none.
pub fn live() -> Result<Image<'static>, Error> {
    let base = crate::auxv::sysinfo_ehdr().ok_or(Error::NoVdso)?;
    // SAFETY: see the module's Safety section: AT_SYSINFO_EHDR is the start of a mapped page.
    unsafe { at(base) }
}

/// Validates and bounds the image at `base`.
///
/// # Safety
/// `base` is page-aligned and the start of a readable mapping of at least one page that
/// holds the whole ELF image its headers describe, unchanged while the result lives.
unsafe fn at(base: usize) -> Result<Image<'static>, Error> {
    if !base.is_multiple_of(MIN_PAGE) {
        return Err(Error::Misaligned);
    }
    // SAFETY: the first page is mapped (caller); 64 bytes are inside it.
    let head = unsafe { core::slice::from_raw_parts(base as *const u8, 64) };
    let headers = elf::header_extent(head)?;
    if headers > MIN_PAGE {
        return Err(Error::Truncated("the program headers"));
    }
    // SAFETY: `headers` <= one page, mapped (caller).
    let head = unsafe { core::slice::from_raw_parts(base as *const u8, headers) };
    let extent = elf::file_extent(head, MIN_PAGE)?;
    if extent > MAX_IMAGE {
        return Err(Error::TooLarge);
    }
    // SAFETY: the kernel maps the whole file of the image in pages; its PT_LOADs end at or
    // before `extent`, which stays inside the page that holds their last byte.
    let data = unsafe { core::slice::from_raw_parts(base as *const u8, extent) };
    for_this_machine(Image::parse(data, base)?)
}

/// The image, if it is for the running program's class and machine: an emulator may hand
/// over a vDSO for another architecture (or /proc/self/auxv may describe the host's).
fn for_this_machine(img: Image<'_>) -> Result<Image<'_>, Error> {
    if img.class().ident() != linux_raw_sys::elf::ELFCLASS
        || img.machine() != linux_raw_sys::elf::EM_CURRENT
    {
        return Err(Error::WrongMachine {
            class: img.class().ident(),
            machine: img.machine(),
        });
    }
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_two_bit_answers_widen_or_overflow() {
        let t = widen_timespec32(i32::MAX, 999_999_999).unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (2_147_483_647, 999_999_999)); // 2038-01-19 03:14:07
        // One second later the kernel's 32-bit field wraps negative: refused, not wrong.
        let wrapped = (2_147_483_648i64 as u32) as i32;
        assert_eq!(
            widen_timespec32(wrapped, 0).unwrap_err(),
            -(linux_raw_sys::errno::EOVERFLOW as i32)
        );
    }

    #[test]
    fn only_images_for_this_machine_are_used() {
        let fixtures: [&[u8]; 7] = [
            include_bytes!("../../tests/fixtures/vdso/x86_64-linux-6.18.so"),
            include_bytes!("../../tests/fixtures/vdso/i386-linux-6.18.so"),
            include_bytes!("../../tests/fixtures/vdso/x86_64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/i386-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/aarch64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/riscv64-qemu-10.0.2.so"),
            include_bytes!("../../tests/fixtures/vdso/arm-qemu-10.0.2.so"),
        ];
        let (mut used, mut refused) = (0, 0);
        for f in fixtures {
            let img = Image::parse(f, 0).unwrap();
            let ours = img.class().ident() == linux_raw_sys::elf::ELFCLASS
                && img.machine() == linux_raw_sys::elf::EM_CURRENT;
            match for_this_machine(img) {
                Ok(_) => {
                    assert!(ours);
                    used += 1;
                }
                Err(Error::WrongMachine { .. }) => {
                    assert!(!ours);
                    refused += 1;
                }
                Err(e) => panic!("{e}"),
            }
        }
        // Whatever the host, at least one fixture is its own (its kernel's or qemu's) and
        // most are another machine's.
        assert_eq!(used + refused, 7);
        assert!(used >= 1 && refused >= 4, "used {used}, refused {refused}");
    }
}

// ---------------------------------------------------------------------------------------
// Dispatch: one cached function pointer per vDSO-backed function.
//
// Each slot starts out pointing at a resolver with the function's own signature. The first
// call (from any thread, or from a signal handler) runs the resolver: it looks the
// architecture's symbol up in the live vDSO, or picks the raw system call, stores the choice
// in the slot and calls it. Every later call is one load and one indirect call. Racing
// resolvers compute the same answer and store the same values: no lock, no wait, no
// allocation, nothing that is not async-signal-safe (memory reads and, in library mode, the
// auxv system calls). The same shape as glibc's lazy vDSO pointers, written for a static,
// libc-free program.

use crate::arch::{self, NR as time_nr, VDSO as vdso_names};
use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use linux_raw_sys::general::{__kernel_old_timeval, __kernel_timespec};

/// The GNU version of this architecture's vDSO symbols (`LINUX_2.6` on x86).
pub const VERSION: &str = vdso_names.version;

/// The functions the dispatch serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `clock_gettime`.
    ClockGettime,
    /// `clock_getres`.
    ClockGetres,
    /// `gettimeofday`.
    Gettimeofday,
    /// `time`.
    Time,
    /// `getcpu`.
    Getcpu,
    /// `getrandom` (the vDSO's needs opaque states: see [`crate::random`]).
    Getrandom,
}

impl Function {
    /// All of them, in this order.
    pub const ALL: [Function; 6] = [
        Function::ClockGettime,
        Function::ClockGetres,
        Function::Gettimeofday,
        Function::Time,
        Function::Getcpu,
        Function::Getrandom,
    ];

    /// The C name.
    pub fn name(self) -> &'static str {
        match self {
            Function::ClockGettime => "clock_gettime",
            Function::ClockGetres => "clock_getres",
            Function::Gettimeofday => "gettimeofday",
            Function::Time => "time",
            Function::Getcpu => "getcpu",
            Function::Getrandom => "getrandom",
        }
    }

    /// This architecture's vDSO symbol for it, if the vDSO exports one we use.
    pub fn symbol(self) -> Option<&'static str> {
        match self {
            Function::ClockGettime => vdso_names.clock_gettime,
            Function::ClockGetres => vdso_names.clock_getres,
            Function::Gettimeofday => vdso_names.gettimeofday,
            Function::Time => vdso_names.time,
            Function::Getcpu => vdso_names.getcpu,
            Function::Getrandom => vdso_names.getrandom,
        }
    }
}

/// What serves a function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A vDSO function: its symbol and version, and its address in this process. `time`
    /// without a vDSO `time` of its own reports the `clock_gettime` it reads
    /// `CLOCK_REALTIME_COARSE` through.
    Vdso {
        /// The symbol name.
        symbol: &'static str,
        /// Its GNU version.
        version: &'static str,
        /// Its address.
        address: usize,
    },
    /// The raw system call.
    Syscall,
}

type ClockFn = unsafe extern "C" fn(i32, *mut __kernel_timespec) -> i32;
type GettimeofdayFn = unsafe extern "C" fn(*mut __kernel_old_timeval, *mut c_void) -> i32;
type TimeFn = unsafe extern "C" fn(*mut isize) -> isize;
type GetcpuFn = unsafe extern "C" fn(*mut u32, *mut u32, *mut c_void) -> i32;
/// `getrandom(buf, len, flags, opaque_state, opaque_len)`.
type GetrandomFn = unsafe extern "C" fn(*mut c_void, usize, u32, *mut c_void, usize) -> isize;

/// How a slot was resolved.
const UNRESOLVED: u8 = 0;
const VDSO: u8 = 1;
const SYSCALL: u8 = 2;
/// `time` or `gettimeofday` through `clock_gettime`.
const VIA_CLOCK: u8 = 3;

static CLOCK_GETTIME: AtomicPtr<()> = AtomicPtr::new(resolve_clock_gettime as *mut ());
static CLOCK_GETRES: AtomicPtr<()> = AtomicPtr::new(resolve_clock_getres as *mut ());
static GETTIMEOFDAY: AtomicPtr<()> = AtomicPtr::new(resolve_gettimeofday as *mut ());
static TIME: AtomicPtr<()> = AtomicPtr::new(resolve_time as *mut ());
static GETCPU: AtomicPtr<()> = AtomicPtr::new(resolve_getcpu as *mut ());
static GETRANDOM: AtomicPtr<()> = AtomicPtr::new(resolve_getrandom as *mut ());
static KIND: [AtomicU8; 6] = [const { AtomicU8::new(UNRESOLVED) }; 6];

#[inline(always)]
fn slot(f: Function) -> &'static AtomicPtr<()> {
    match f {
        Function::ClockGettime => &CLOCK_GETTIME,
        Function::ClockGetres => &CLOCK_GETRES,
        Function::Gettimeofday => &GETTIMEOFDAY,
        Function::Time => &TIME,
        Function::Getcpu => &GETCPU,
        Function::Getrandom => &GETRANDOM,
    }
}

/// The vDSO address of `f`'s symbol, if the live image is valid and exports it (and, where
/// the architecture asks, the symbol it must come with).
#[inline(always)]
fn lookup(f: Function) -> Option<usize> {
    let name = f.symbol()?;
    let base = crate::auxv::sysinfo_ehdr()?;
    // SAFETY: AT_SYSINFO_EHDR is the start of the vDSO mapping (module Safety section).
    let data = unsafe { mapped(base) }?;
    let version = vdso_names.version.as_bytes();
    if f == Function::ClockGettime
        && let Some(required) = vdso_names.clock_gettime_requires
    {
        elf::native::lookup(data, base, required.as_bytes(), version)?;
    }
    elf::native::lookup(data, base, name.as_bytes(), version)
}

/// The address of the live vDSO's `name` with this architecture's version, found the way
/// the dispatch finds its functions (the small native lookup); `None` without a vDSO, for
/// a missing symbol, or for an image of another shape. For diagnostics and benchmarks.
pub fn find(name: &str) -> Option<usize> {
    let base = crate::auxv::sysinfo_ehdr()?;
    // SAFETY: AT_SYSINFO_EHDR is the start of the vDSO mapping (module Safety section).
    let data = unsafe { mapped(base) }?;
    elf::native::lookup(data, base, name.as_bytes(), vdso_names.version.as_bytes())
}

/// The live image as a slice, for the small native lookup: its first page (always mapped),
/// then exactly the extent its one PT_LOAD gives, at most 1 MiB.
///
/// # Safety
/// As for `at`.
unsafe fn mapped(base: usize) -> Option<&'static [u8]> {
    if !base.is_multiple_of(MIN_PAGE) {
        return None;
    }
    // SAFETY: the first page of the mapping at `base` is readable (caller).
    let page = unsafe { core::slice::from_raw_parts(base as *const u8, MIN_PAGE) };
    let extent = elf::native::extent(page)?;
    if extent > MAX_IMAGE {
        return None;
    }
    // SAFETY: the kernel maps the whole image its PT_LOAD describes (module Safety section).
    Some(unsafe { core::slice::from_raw_parts(base as *const u8, extent) })
}

/// Resolves `f`: stores the kind, then the pointer (Release), and returns the pointer.
/// One out-of-line copy per function, shared by its resolver and `kind`: a program that
/// reads one function carries only that function's resolution, once.
#[inline(always)]
fn resolve(f: Function) -> *mut () {
    /// `resolve_now(Function::ALL[F])`, one instance per function.
    #[inline(never)]
    fn out_of_line<const F: usize>() -> *mut () {
        resolve_now(Function::ALL[F])
    }
    match f {
        Function::ClockGettime => out_of_line::<0>(),
        Function::ClockGetres => out_of_line::<1>(),
        Function::Gettimeofday => out_of_line::<2>(),
        Function::Time => out_of_line::<3>(),
        Function::Getcpu => out_of_line::<4>(),
        Function::Getrandom => out_of_line::<5>(),
    }
}

/// The body of `resolve`, for a constant `f`.
#[inline(always)]
fn resolve_now(f: Function) -> *mut () {
    let (kind, ptr) = match (f, lookup(f)) {
        (_, Some(addr)) => (VDSO, addr as *mut ()),
        (Function::ClockGettime, None) => (SYSCALL, sys_clock_gettime as *mut ()),
        (Function::ClockGetres, None) => (SYSCALL, sys_clock_getres as *mut ()),
        (Function::Gettimeofday, None) => match time_nr.gettimeofday {
            Some(_) => (SYSCALL, sys_gettimeofday as *mut ()),
            // 32-bit architectures: their gettimeofday has 32-bit seconds.
            None => (VIA_CLOCK, gettimeofday_via_clock as *mut ()),
        },
        (Function::Getcpu, None) => (SYSCALL, sys_getcpu as *mut ()),
        (Function::Getrandom, None) => (SYSCALL, sys_getrandom as *mut ()),
        (Function::Time, None) => {
            // No vDSO time: read the coarse realtime clock through the vDSO if it serves
            // clock_gettime (time() has one-tick precision anyway), else the time system
            // call where the architecture has one.
            if kind(Function::ClockGettime) == VDSO || time_nr.time.is_none() {
                (VIA_CLOCK, time_via_clock as *mut ())
            } else {
                (SYSCALL, sys_time as *mut ())
            }
        }
    };
    KIND[f as usize].store(kind, Ordering::Relaxed);
    slot(f).store(ptr, Ordering::Release);
    ptr
}

/// `f`'s kind, resolving it first if needed.
#[inline(always)]
fn kind(f: Function) -> u8 {
    if slot(f).load(Ordering::Acquire) == unresolved(f) {
        resolve(f);
    }
    KIND[f as usize].load(Ordering::Relaxed)
}

#[inline(always)]
fn unresolved(f: Function) -> *mut () {
    match f {
        Function::ClockGettime => resolve_clock_gettime as *mut (),
        Function::ClockGetres => resolve_clock_getres as *mut (),
        Function::Gettimeofday => resolve_gettimeofday as *mut (),
        Function::Time => resolve_time as *mut (),
        Function::Getcpu => resolve_getcpu as *mut (),
        Function::Getrandom => resolve_getrandom as *mut (),
    }
}

/// What serves `f` (resolving it if this is the first use; for getrandom, also setting its
/// state pool up, without which the system call serves).
pub fn backend(f: Function) -> Backend {
    let k = kind(f);
    if f == Function::Getrandom && k == VDSO {
        random::available();
    }
    describe(f, k)
}

/// What serves `f`, or `None` while it is still unresolved (nothing is resolved by asking).
pub fn peek(f: Function) -> Option<Backend> {
    if slot(f).load(Ordering::Acquire) == unresolved(f) {
        return None;
    }
    Some(describe(f, KIND[f as usize].load(Ordering::Relaxed)))
}

fn describe(f: Function, k: u8) -> Backend {
    match k {
        // The vDSO's getrandom without states (the set-up failed): the system call serves.
        VDSO if f == Function::Getrandom && random::unusable() => Backend::Syscall,
        VDSO => Backend::Vdso {
            symbol: f.symbol().unwrap_or(""),
            version: vdso_names.version,
            address: slot(f).load(Ordering::Acquire) as usize,
        },
        // `time` or `gettimeofday` through clock_gettime: whatever serves that.
        VIA_CLOCK => backend(Function::ClockGettime),
        _ => Backend::Syscall,
    }
}

/// Whether `f` currently goes to the raw system call (used to decide on retries).
#[inline(always)]
pub(crate) fn is_syscall(f: Function) -> bool {
    kind(f) == SYSCALL
}

// The calls. SAFETY (all five; getrandom's is in `random`): the slot holds either our resolver, our system-call
// function, or a vDSO function found by symbol and version in the validated live image;
// each has exactly the C signature named by its type. The pointers passed are to memory
// the caller borrows mutably.

/// `clock_gettime(clock, ts)` through the slot; the raw result (0 or a negated errno).
#[inline]
pub(crate) fn clock_gettime(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: see above.
    unsafe {
        core::mem::transmute::<*mut (), ClockFn>(CLOCK_GETTIME.load(Ordering::Relaxed))(clock, ts)
    }
}

/// `clock_getres(clock, ts)` through the slot; the raw result.
#[inline]
pub(crate) fn clock_getres(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: see above.
    unsafe {
        core::mem::transmute::<*mut (), ClockFn>(CLOCK_GETRES.load(Ordering::Relaxed))(clock, ts)
    }
}

/// `gettimeofday(tv, NULL)` through the slot; the raw result.
#[inline]
pub(crate) fn gettimeofday(tv: &mut __kernel_old_timeval) -> i32 {
    // SAFETY: see above; the time zone pointer may be NULL.
    unsafe {
        core::mem::transmute::<*mut (), GettimeofdayFn>(GETTIMEOFDAY.load(Ordering::Relaxed))(
            tv,
            core::ptr::null_mut(),
        )
    }
}

/// `time(NULL)` through the slot: seconds since the epoch, or a negated errno.
#[inline]
pub(crate) fn time() -> isize {
    // SAFETY: see above; `time` accepts NULL.
    unsafe {
        core::mem::transmute::<*mut (), TimeFn>(TIME.load(Ordering::Relaxed))(core::ptr::null_mut())
    }
}

/// `getcpu(cpu, node, NULL)` through the slot; the raw result.
#[inline]
pub(crate) fn getcpu(cpu: &mut u32, node: &mut u32) -> i32 {
    // SAFETY: see above; the cache argument has been unused since Linux 2.6.24 and may be NULL.
    unsafe {
        core::mem::transmute::<*mut (), GetcpuFn>(GETCPU.load(Ordering::Relaxed))(
            cpu,
            node,
            core::ptr::null_mut(),
        )
    }
}

// The resolvers, one per signature: resolve, then call what was chosen.

unsafe extern "C" fn resolve_clock_gettime(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    let f = resolve(Function::ClockGettime);
    // SAFETY: `f` has this signature (see `resolve`); the arguments are the caller's.
    unsafe { core::mem::transmute::<*mut (), ClockFn>(f)(clock, ts) }
}

unsafe extern "C" fn resolve_clock_getres(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    let f = resolve(Function::ClockGetres);
    // SAFETY: as above.
    unsafe { core::mem::transmute::<*mut (), ClockFn>(f)(clock, ts) }
}

unsafe extern "C" fn resolve_gettimeofday(tv: *mut __kernel_old_timeval, tz: *mut c_void) -> i32 {
    let f = resolve(Function::Gettimeofday);
    // SAFETY: as above.
    unsafe { core::mem::transmute::<*mut (), GettimeofdayFn>(f)(tv, tz) }
}

unsafe extern "C" fn resolve_time(t: *mut isize) -> isize {
    let f = resolve(Function::Time);
    // SAFETY: as above.
    unsafe { core::mem::transmute::<*mut (), TimeFn>(f)(t) }
}

unsafe extern "C" fn resolve_getcpu(cpu: *mut u32, node: *mut u32, cache: *mut c_void) -> i32 {
    let f = resolve(Function::Getcpu);
    // SAFETY: as above.
    unsafe { core::mem::transmute::<*mut (), GetcpuFn>(f)(cpu, node, cache) }
}

unsafe extern "C" fn resolve_getrandom(
    buf: *mut c_void,
    len: usize,
    flags: u32,
    state: *mut c_void,
    state_len: usize,
) -> isize {
    let f = resolve(Function::Getrandom);
    // SAFETY: as above.
    unsafe { core::mem::transmute::<*mut (), GetrandomFn>(f)(buf, len, flags, state, state_len) }
}

// The raw system calls, with the vDSO functions' signatures so that they can sit in the
// same slots. Callable directly through `crate::time::syscall` and `crate::cpu`.

/// Set once a 64-bit-time system call failed and its 32-bit twin then worked.
static TIME64_REFUSED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// `struct old_timespec32`: what the 32-bit-time system calls write.
#[repr(C)]
struct Timespec32 {
    sec: i32,
    nsec: i32,
}

/// The 64-bit-time call `nr64`; on 32-bit architectures, when it fails for any reason but
/// EINVAL (ENOSYS before Linux 5.1, EPERM from sandboxes such as Docker's default seccomp
/// profile), the 32-bit-time call `nr32`, whose answer is refused with EOVERFLOW when its
/// seconds went negative (a time between 2038 and 2106 wrapped by the kernel's 32-bit
/// field; past 2106 the wrap turns positive again and cannot be told apart). Once the
/// 32-bit call has served where the 64-bit one failed, later calls go to it directly.
///
/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
unsafe fn time64_call(
    nr64: usize,
    nr32: Option<usize>,
    clock: i32,
    ts: *mut __kernel_timespec,
) -> i32 {
    let clk = clock as isize as usize;
    let refused = nr32.is_some() && TIME64_REFUSED.load(Ordering::Relaxed);
    if !refused {
        // SAFETY: the kernel writes one __kernel_timespec at `ts` (caller).
        let r = unsafe { arch::syscall2(nr64, clk, ts as usize) } as isize as i32;
        let einval = -(linux_raw_sys::errno::EINVAL as i32);
        if nr32.is_none() || r == 0 || r == einval {
            return r;
        }
    }
    let Some(nr32) = nr32 else {
        return -(linux_raw_sys::errno::ENOSYS as i32);
    };
    let mut t32 = Timespec32 { sec: 0, nsec: 0 };
    // SAFETY: the kernel writes one old_timespec32 into `t32`, which is ours.
    let r32 =
        unsafe { arch::syscall2(nr32, clk, &mut t32 as *mut Timespec32 as usize) } as isize as i32;
    if r32 != 0 {
        return r32;
    }
    // The 64-bit call failed where the 32-bit one works: it will keep failing (an old
    // kernel, a sandbox), so later reads skip it instead of paying two system calls.
    TIME64_REFUSED.store(true, Ordering::Relaxed);
    match widen_timespec32(t32.sec, t32.nsec) {
        Ok(t) => {
            // SAFETY: `ts` is valid (caller).
            unsafe { *ts = t };
            0
        }
        Err(e) => e,
    }
}

/// A 32-bit-time call's answer as a 64-bit `__kernel_timespec`, or -EOVERFLOW when its
/// seconds are negative: the kernel wrapped a time past 2038 into the 32-bit field.
fn widen_timespec32(sec: i32, nsec: i32) -> Result<__kernel_timespec, i32> {
    if sec < 0 {
        return Err(-(linux_raw_sys::errno::EOVERFLOW as i32));
    }
    Ok(__kernel_timespec {
        tv_sec: i64::from(sec),
        tv_nsec: i64::from(nsec),
    })
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(crate) unsafe extern "C" fn sys_clock_gettime(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { time64_call(time_nr.clock_gettime, time_nr.clock_gettime32, clock, ts) }
}

/// # Safety
/// `ts` is valid for writing a `__kernel_timespec`.
pub(crate) unsafe extern "C" fn sys_clock_getres(clock: i32, ts: *mut __kernel_timespec) -> i32 {
    // SAFETY: forwarded.
    unsafe { time64_call(time_nr.clock_getres, time_nr.clock_getres32, clock, ts) }
}

/// Fills a `__kernel_old_timeval` from a realtime reading; EOVERFLOW if the seconds do not
/// fit its `long` (32-bit architectures after 2038).
///
/// # Safety
/// `tv` is valid for writing.
unsafe fn fill_timeval(tv: *mut __kernel_old_timeval, ts: &__kernel_timespec) -> i32 {
    // A C `long` holds any i64 on 64-bit architectures, not after 2038 on 32-bit ones.
    fn narrow<T: TryFrom<i64>>(v: i64) -> Option<T> {
        T::try_from(v).ok()
    }
    let Some(sec) = narrow(ts.tv_sec) else {
        return -(linux_raw_sys::errno::EOVERFLOW as i32);
    };
    // SAFETY: `tv` is valid (caller); tv_nsec / 1000 fits any `long`.
    unsafe {
        *tv = __kernel_old_timeval {
            tv_sec: sec,
            tv_usec: (ts.tv_nsec / 1000) as _,
        }
    };
    0
}

/// The realtime clock for `gettimeofday` and `time` where they have no entry of their own:
/// `first` (a clock id) through the clock_gettime slot when given, else (or when that
/// fails) CLOCK_REALTIME by system call. The raw error on failure.
fn realtime(first: Option<u32>) -> Result<__kernel_timespec, i32> {
    let mut ts = __kernel_timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    if let Some(clock) = first
        && clock_gettime(clock as i32, &mut ts) == 0
    {
        return Ok(ts);
    }
    match call_sys_clock_gettime(linux_raw_sys::general::CLOCK_REALTIME as i32, &mut ts) {
        0 => Ok(ts),
        r => Err(r),
    }
}

/// Stores `sec` at `t` unless it is NULL, and answers it, as `time` does.
///
/// # Safety
/// `t` is NULL or valid for writing.
unsafe fn put_time(t: *mut isize, sec: i64) -> isize {
    if !t.is_null() {
        // SAFETY: non-NULL `t` is valid (caller).
        unsafe { *t = sec as isize };
    }
    sec as isize
}

/// # Safety
/// `tv` is valid for writing a `__kernel_old_timeval`; `tz` is NULL or valid.
pub(crate) unsafe extern "C" fn sys_gettimeofday(
    tv: *mut __kernel_old_timeval,
    tz: *mut c_void,
) -> i32 {
    match time_nr.gettimeofday {
        // SAFETY: the kernel writes one timeval at `tv` and, if non-NULL, a timezone (caller).
        Some(nr) => unsafe { arch::syscall2(nr, tv as usize, tz as usize) as isize as i32 },
        // SAFETY: `tv` is valid (caller).
        None => realtime(None).map_or_else(|r| r, |ts| unsafe { fill_timeval(tv, &ts) }),
    }
}

/// `gettimeofday` without a (usable) vDSO or system call of its own: CLOCK_REALTIME
/// through the clock_gettime slot.
unsafe extern "C" fn gettimeofday_via_clock(tv: *mut __kernel_old_timeval, _: *mut c_void) -> i32 {
    let clock = Some(linux_raw_sys::general::CLOCK_REALTIME);
    // SAFETY: `tv` is valid (caller).
    realtime(clock).map_or_else(|r| r, |ts| unsafe { fill_timeval(tv, &ts) })
}

/// # Safety
/// `t` is NULL or valid for writing.
pub(crate) unsafe extern "C" fn sys_time(t: *mut isize) -> isize {
    match time_nr.time {
        // SAFETY: the kernel writes the time at `t` unless it is NULL (caller).
        Some(nr) => unsafe { arch::syscall1(nr, t as usize) as isize },
        // SAFETY: `t` is NULL or valid (caller).
        None => realtime(None).map_or_else(|r| r as isize, |ts| unsafe { put_time(t, ts.tv_sec) }),
    }
}

/// # Safety
/// `cpu` and `node` are NULL or valid for writing.
pub(crate) unsafe extern "C" fn sys_getcpu(
    cpu: *mut u32,
    node: *mut u32,
    cache: *mut c_void,
) -> i32 {
    // SAFETY: the kernel writes the cpu and node numbers where they are not NULL (caller).
    unsafe {
        arch::syscall3(time_nr.getcpu, cpu as usize, node as usize, cache as usize) as isize as i32
    }
}

/// # Safety
/// `buf` is valid for writing `len` bytes. The opaque state is not used.
pub(crate) unsafe extern "C" fn sys_getrandom(
    buf: *mut c_void,
    len: usize,
    flags: u32,
    _state: *mut c_void,
    _state_len: usize,
) -> isize {
    let nr = linux_raw_sys::general::__NR_getrandom as usize;
    // SAFETY: the kernel writes at most `len` bytes at `buf` (caller).
    unsafe { arch::syscall3(nr, buf as usize, len, flags as usize) as isize }
}

/// `time` without a vDSO `time`: CLOCK_REALTIME_COARSE through the clock_gettime slot
/// (`time` has one-tick precision anyway).
unsafe extern "C" fn time_via_clock(t: *mut isize) -> isize {
    let clock = Some(linux_raw_sys::general::CLOCK_REALTIME_COARSE);
    // SAFETY: `t` is NULL or valid (the signature's contract, as for `time`).
    realtime(clock).map_or_else(|r| r as isize, |ts| unsafe { put_time(t, ts.tv_sec) })
}

// Safe entries to the raw system calls, for `time::syscall` and `cpu`.

pub(crate) fn call_sys_clock_gettime(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: `ts` is a valid, mutably borrowed __kernel_timespec.
    unsafe { sys_clock_gettime(clock, ts) }
}

pub(crate) fn call_sys_clock_getres(clock: i32, ts: &mut __kernel_timespec) -> i32 {
    // SAFETY: as above.
    unsafe { sys_clock_getres(clock, ts) }
}

pub(crate) fn call_sys_gettimeofday(tv: &mut __kernel_old_timeval) -> i32 {
    // SAFETY: `tv` is valid; the time zone is NULL.
    unsafe { sys_gettimeofday(tv, core::ptr::null_mut()) }
}

pub(crate) fn call_sys_time() -> isize {
    // SAFETY: NULL is accepted.
    unsafe { sys_time(core::ptr::null_mut()) }
}

pub(crate) fn call_sys_getrandom(buf: &mut [u8], flags: u32) -> isize {
    // SAFETY: `buf` is valid for its length, borrowed mutably.
    unsafe {
        sys_getrandom(
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            core::ptr::null_mut(),
            0,
        )
    }
}

pub(crate) fn call_sys_getcpu(cpu: &mut u32, node: &mut u32) -> i32 {
    // SAFETY: both are valid, mutably borrowed; the cache argument may be NULL.
    unsafe { sys_getcpu(cpu, node, core::ptr::null_mut()) }
}
