//! The dispatch: one cached function pointer (a slot) per vDSO-backed function.
//!
//! Each slot starts out pointing at a resolver with the function's own C signature. The
//! first call (from any thread, or from a signal handler) runs the resolver: it looks the
//! architecture's symbol up in the live vDSO, or picks the raw system call, stores the
//! choice in the slot and calls it. Every later call is one load and one indirect call.
//! Racing resolvers compute the same answer and store the same value: no lock, no wait, no
//! allocation, nothing that is not async-signal-safe (memory reads and, in library mode,
//! the auxv system calls). Beside each slot, a byte in `KIND` says how it was resolved.
//!
//! Every function is described once, in [`SPECS`]. Adding one:
//!
//! 1. a variant of [`Function`] (and its place in `Function::ALL`);
//! 2. its symbol, as a field of `arch::VdsoNames` filled by each architecture;
//! 3. its raw system call in `sys` (a safe form, and a `*_raw` form with the vDSO
//!    function's C signature), and its slot adapter in `fallback`;
//! 4. here: its C signature type, a slot static, a resolver, a row of `SPECS`, and a call
//!    through the slot for the safe API above (`time`, `cpu`, ...).
//!
//! # Safety
//!
//! A slot holds our resolver, our system-call function, or a vDSO function found by
//! symbol and version in the validated live image; each has exactly the C signature named
//! by its type, and is called only through that type. The pointers passed are to memory the
//! caller borrows mutably; the one exception is [`getrandom`], `unsafe` because its opaque
//! state is the caller's to vouch for (`crate::random`'s pool). `use_syscall` only ever
//! stores a function's own system call into its slot.
#![allow(unsafe_code)]

use super::fallback::{
    sys_clock_getres, sys_clock_gettime, sys_getcpu, sys_getrandom, sys_gettimeofday, sys_time,
};
use super::image;
use crate::arch::{NR, VDSO};
use crate::elf::{gnu_hash, native};
use core::ffi::c_void;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use linux_raw_sys::general::{__kernel_old_timeval, __kernel_timespec};

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
    /// `getrandom` (the vDSO's needs opaque states: `crate::random` keeps them).
    Getrandom,
}

/// `SPECS[f].$field`, as a `match` with one constant per arm rather than an index into
/// `SPECS`: where `f` is not a constant, the compiler then keeps one small table for the
/// field read (or a jump), never rows of pointers that a static-PIE build must relocate.
macro_rules! field {
    ($f:expr, $field:ident) => {
        match $f {
            Function::ClockGettime => const { SPECS[Function::ClockGettime as usize].$field },
            Function::ClockGetres => const { SPECS[Function::ClockGetres as usize].$field },
            Function::Gettimeofday => const { SPECS[Function::Gettimeofday as usize].$field },
            Function::Time => const { SPECS[Function::Time as usize].$field },
            Function::Getcpu => const { SPECS[Function::Getcpu as usize].$field },
            Function::Getrandom => const { SPECS[Function::Getrandom as usize].$field },
        }
    };
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
    #[must_use]
    pub fn name(self) -> &'static str {
        field!(self, name)
    }

    /// This architecture's vDSO symbol for it, if the vDSO exports one we use.
    #[must_use]
    pub fn symbol(self) -> Option<&'static str> {
        field!(self, symbol)
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

// The slots. Separate statics, not an array: a program keeps only those it uses.
static CLOCK_GETTIME: AtomicPtr<()> = AtomicPtr::new(resolve_clock_gettime as *mut ());
static CLOCK_GETRES: AtomicPtr<()> = AtomicPtr::new(resolve_clock_getres as *mut ());
static GETTIMEOFDAY: AtomicPtr<()> = AtomicPtr::new(resolve_gettimeofday as *mut ());
static TIME: AtomicPtr<()> = AtomicPtr::new(resolve_time as *mut ());
static GETCPU: AtomicPtr<()> = AtomicPtr::new(resolve_getcpu as *mut ());
static GETRANDOM: AtomicPtr<()> = AtomicPtr::new(resolve_getrandom as *mut ());

/// Everything that differs between the functions, for one of them.
#[derive(Clone, Copy)]
struct Spec {
    /// The C name.
    name: &'static str,
    /// The architecture's vDSO symbol.
    symbol: Option<&'static str>,
    /// The symbol's GNU hash (0 without a symbol), computed here, at compile time.
    hash: u32,
    slot: &'static AtomicPtr<()>,
    /// The raw system call, with the vDSO function's signature.
    syscall: *mut (),
}

/// A symbol's GNU hash, at compile time.
const fn hash(symbol: Option<&'static str>) -> u32 {
    match symbol {
        Some(s) => gnu_hash(s.as_bytes()),
        None => 0,
    }
}

/// The functions, in the order of [`Function`].
const SPECS: [Spec; 6] = [
    Spec {
        name: "clock_gettime",
        symbol: VDSO.clock_gettime,
        hash: hash(VDSO.clock_gettime),
        slot: &CLOCK_GETTIME,
        syscall: sys_clock_gettime as *mut (),
    },
    Spec {
        name: "clock_getres",
        symbol: VDSO.clock_getres,
        hash: hash(VDSO.clock_getres),
        slot: &CLOCK_GETRES,
        syscall: sys_clock_getres as *mut (),
    },
    Spec {
        name: "gettimeofday",
        symbol: VDSO.gettimeofday,
        hash: hash(VDSO.gettimeofday),
        slot: &GETTIMEOFDAY,
        syscall: sys_gettimeofday as *mut (),
    },
    Spec {
        name: "time",
        symbol: VDSO.time,
        hash: hash(VDSO.time),
        slot: &TIME,
        syscall: sys_time as *mut (),
    },
    Spec {
        name: "getcpu",
        symbol: VDSO.getcpu,
        hash: hash(VDSO.getcpu),
        slot: &GETCPU,
        syscall: sys_getcpu as *mut (),
    },
    Spec {
        name: "getrandom",
        symbol: VDSO.getrandom,
        hash: hash(VDSO.getrandom),
        slot: &GETRANDOM,
        syscall: sys_getrandom as *mut (),
    },
];

/// How a function was resolved, kept beside its slot in `KIND` (as `Kind as u8`).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Unresolved = 0,
    Vdso,
    Syscall,
    /// `time` through the `clock_gettime` slot (`time_via_clock`: the vDSO has no `time`).
    ViaClock,
}

/// Each function's `Kind`, by `Function as usize`; written after its slot (see
/// `resolve_now`). Zero (`Unresolved`) in `.bss`: it costs the file nothing.
static KIND: [AtomicU8; 6] = [const { AtomicU8::new(Kind::Unresolved as u8) }; 6];

/// Whether `f`, already resolved, is of kind `k`.
#[inline(always)]
fn resolved_as(f: Function, k: Kind) -> bool {
    KIND[f as usize].load(Ordering::Acquire) == k as u8
}

/// The vDSO address of `f`'s symbol, if the live image is valid and exports it (and, where
/// the architecture asks, the symbol it must come with).
#[inline(always)]
fn lookup(f: Function) -> Option<usize> {
    let name = f.symbol()?;
    if matches!(f, Function::ClockGettime | Function::ClockGetres)
        && let Some(required) = VDSO.time64_requires
    {
        find_hashed(required.as_bytes(), const { hash(VDSO.time64_requires) })?;
    }
    find_hashed(name.as_bytes(), field!(f, hash))
}

/// The address of the live vDSO's `name` with this architecture's version, found the way
/// the dispatch finds its functions (the small native lookup); `None` without a vDSO, for
/// a missing symbol, or for an image of another shape. For diagnostics and benchmarks.
#[must_use]
pub fn find(name: &str) -> Option<usize> {
    find_hashed(name.as_bytes(), gnu_hash(name.as_bytes()))
}

/// `find` of a name whose GNU hash is known: the one place that bounds the live image and
/// looks a symbol up (every resolver calls it with constants: three registers).
#[inline(never)]
fn find_hashed(name: &[u8], hash: u32) -> Option<usize> {
    let (data, headers) = image::mapped()?;
    let base = data.as_ptr() as usize;
    native::lookup_with(data, &headers, base, name, hash, VDSO.version.as_bytes())
}

/// `resolve_now(Function::ALL[F])`, one instance per function.
#[inline(never)]
fn out_of_line<const F: usize>() -> *mut () {
    resolve_now(Function::ALL[F])
}

/// Resolves `f` and returns what its slot now holds: a jump to its own out-of-line copy.
#[inline(always)]
fn resolve(f: Function) -> *mut () {
    match f {
        Function::ClockGettime => out_of_line::<0>(),
        Function::ClockGetres => out_of_line::<1>(),
        Function::Gettimeofday => out_of_line::<2>(),
        Function::Time => out_of_line::<3>(),
        Function::Getcpu => out_of_line::<4>(),
        Function::Getrandom => out_of_line::<5>(),
    }
}

/// The body of `resolve`, for a constant `f`: stores the pointer, then the kind (Release),
/// so that whoever sees the kind also sees the pointer.
#[inline(always)]
fn resolve_now(f: Function) -> *mut () {
    let (kind, ptr) = match lookup(f) {
        // A vDSO getcpu is asked once before it is trusted (see `getcpu_answers`).
        Some(addr) if f != Function::Getcpu || getcpu_answers(addr as *mut ()) => {
            (Kind::Vdso, addr as *mut ())
        }
        // No vDSO time: read the coarse realtime clock through the vDSO if it serves
        // clock_gettime (time() has one-tick precision anyway), else the time system call
        // where the architecture has one.
        None if f == Function::Time
            && (is(Function::ClockGettime, Kind::Vdso) || NR.time.is_none()) =>
        {
            (Kind::ViaClock, time_via_clock as *mut ())
        }
        _ => (Kind::Syscall, field!(f, syscall)),
    };
    field!(f, slot).store(ptr, Ordering::Relaxed);
    KIND[f as usize].store(kind as u8, Ordering::Release);
    ptr
}

/// Resolves `f` if it is not yet.
#[inline(always)]
fn ensure(f: Function) {
    if resolved_as(f, Kind::Unresolved) {
        resolve(f);
    }
}

/// Whether `f` is of kind `k`, resolving it first if needed.
#[inline(always)]
fn is(f: Function, k: Kind) -> bool {
    ensure(f);
    resolved_as(f, k)
}

/// What serves `f` (resolving it if this is the first use).
pub(crate) fn backend(f: Function) -> Backend {
    ensure(f);
    describe(f)
}

/// Sends `f` to its raw system call from now on: for a vDSO function the layer above cannot
/// use (getrandom where its state pool cannot be set up, `crate::random`).
#[cold]
pub(crate) fn use_syscall(f: Function) {
    field!(f, slot).store(field!(f, syscall), Ordering::Relaxed);
    KIND[f as usize].store(Kind::Syscall as u8, Ordering::Release);
}

/// What serves `f`, or `None` while it is still unresolved (nothing is resolved by asking).
pub(crate) fn peek(f: Function) -> Option<Backend> {
    if resolved_as(f, Kind::Unresolved) {
        return None;
    }
    Some(describe(f))
}

/// What serves `f`, resolved.
fn describe(f: Function) -> Backend {
    if resolved_as(f, Kind::Vdso) {
        return Backend::Vdso {
            symbol: f.symbol().unwrap_or(""),
            version: VDSO.version,
            address: field!(f, slot).load(Ordering::Relaxed) as usize,
        };
    }
    if resolved_as(f, Kind::ViaClock) {
        // `time` through clock_gettime: whatever serves that.
        return backend(Function::ClockGettime);
    }
    Backend::Syscall
}

/// Whether `f` currently goes to the raw system call (used to decide on retries).
#[inline(always)]
pub(crate) fn is_syscall(f: Function) -> bool {
    is(f, Kind::Syscall)
}

/// Whether the vDSO serves `f` (resolving it if needed).
#[inline(always)]
pub(crate) fn is_vdso(f: Function) -> bool {
    is(f, Kind::Vdso)
}

// The calls through the slots. SAFETY (all of them): see the module's Safety section.

/// A slot's `int` answer with the architecture's error convention undone: a positive errno
/// (`VdsoNames::positive_errors`, powerpc64's vDSO) becomes the negated one every other
/// answer is. Nothing anywhere else (the test folds away).
#[inline(always)]
fn answer(r: i32) -> i32 {
    if VDSO.positive_errors && r > 0 { -r } else { r }
}

/// A clock function through `slot`: the kernel's timespec, or the raw error (a negated
/// errno). Nothing is written before the call: on success every slot's function has
/// written the whole timespec, and on failure it is not read.
#[inline(always)]
fn clock_via(slot: &AtomicPtr<()>, clock: i32) -> Result<__kernel_timespec, i32> {
    let mut ts = MaybeUninit::<__kernel_timespec>::uninit();
    // SAFETY: see above; `ts` is ours, valid for the write.
    let r = answer(unsafe {
        core::mem::transmute::<*mut (), ClockFn>(slot.load(Ordering::Relaxed))(
            clock,
            ts.as_mut_ptr(),
        )
    });
    if r == 0 {
        // SAFETY: 0 is success, after which the function has written all of `ts`.
        Ok(unsafe { ts.assume_init() })
    } else {
        Err(r)
    }
}

/// `clock_gettime(clock)` through the slot.
#[inline(always)]
pub(crate) fn clock_gettime(clock: i32) -> Result<__kernel_timespec, i32> {
    clock_via(&CLOCK_GETTIME, clock)
}

/// `clock_getres(clock)` through the slot.
#[inline(always)]
pub(crate) fn clock_getres(clock: i32) -> Result<__kernel_timespec, i32> {
    clock_via(&CLOCK_GETRES, clock)
}

/// `gettimeofday(tv, NULL)` through the slot: the timeval, or the raw error.
#[inline(always)]
pub(crate) fn gettimeofday() -> Result<__kernel_old_timeval, i32> {
    let mut tv = MaybeUninit::<__kernel_old_timeval>::uninit();
    // SAFETY: see above; `tv` is ours, and the time zone pointer may be NULL.
    let r = answer(unsafe {
        core::mem::transmute::<*mut (), GettimeofdayFn>(GETTIMEOFDAY.load(Ordering::Relaxed))(
            tv.as_mut_ptr(),
            core::ptr::null_mut(),
        )
    });
    if r == 0 {
        // SAFETY: 0 is success, after which the function has written all of `tv`.
        Ok(unsafe { tv.assume_init() })
    } else {
        Err(r)
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

/// `time` where the vDSO has no `time` of its own (`Kind::ViaClock`): the seconds of
/// CLOCK_REALTIME_COARSE through the `clock_gettime` slot (`time` has one-tick precision
/// anyway), else of CLOCK_REALTIME by system call.
///
/// # Safety
/// `t` is NULL or valid for writing (the contract of `time`).
unsafe extern "C" fn time_via_clock(t: *mut isize) -> isize {
    use linux_raw_sys::general::{CLOCK_REALTIME, CLOCK_REALTIME_COARSE};
    let sec = match clock_gettime(CLOCK_REALTIME_COARSE as i32) {
        Ok(ts) => ts.tv_sec,
        Err(_) => {
            let mut ts = __kernel_timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            match crate::sys::clock_gettime(CLOCK_REALTIME as i32, &mut ts) {
                0 => ts.tv_sec,
                r => return r as isize,
            }
        }
    };
    // SAFETY: `t` is NULL or valid (caller).
    unsafe { crate::sys::put_time(t, sec) }
}

/// `getrandom(buf, len, flags, state, state_len)` through the slot: bytes written, or a
/// negated errno.
///
/// # Safety
/// The slot holds the vDSO's getrandom (`is_vdso(Function::Getrandom)`); `buf` is valid for
/// writing `len` bytes; `state` is an opaque state of `state_len` bytes that no other call
/// uses meanwhile, in memory mapped as the vDSO's parameters ask (or, for the parameter
/// query, a `vgetrandom_opaque_params` with `state_len` all ones): see `crate::random`.
#[inline]
pub(crate) unsafe fn getrandom(
    buf: *mut c_void,
    len: usize,
    flags: u32,
    state: *mut c_void,
    state_len: usize,
) -> isize {
    // SAFETY: the slot's function has this signature (module Safety); the arguments are as
    // the caller guarantees.
    unsafe {
        core::mem::transmute::<*mut (), GetrandomFn>(GETRANDOM.load(Ordering::Relaxed))(
            buf, len, flags, state, state_len,
        )
    }
}

/// `getcpu(cpu, node, NULL)` through `f`: (cpu, node) or the raw error. Each number is read
/// from a two-word buffer: qemu-user's i386 vDSO answers getcpu with gettimeofday, which
/// writes a `struct timezone` (8 bytes) where the node (4) goes; without the room it wrote
/// over the caller's stack.
#[inline(always)]
fn getcpu_via(f: *mut ()) -> Result<(u32, u32), i32> {
    let (mut cpu, mut node) = ([0u32; 2], [0u32; 2]);
    // SAFETY: see above; both buffers are ours and larger than what getcpu writes; the
    // cache argument has been unused since Linux 2.6.24 and may be NULL.
    let r = answer(unsafe {
        core::mem::transmute::<*mut (), GetcpuFn>(f)(
            cpu.as_mut_ptr(),
            node.as_mut_ptr(),
            core::ptr::null_mut(),
        )
    });
    if r == 0 {
        Ok((cpu[0], node[0]))
    } else {
        Err(r)
    }
}

/// `getcpu()` through the slot.
#[inline]
pub(crate) fn getcpu() -> Result<(u32, u32), i32> {
    getcpu_via(GETCPU.load(Ordering::Relaxed))
}

/// Whether the vDSO getcpu at `f` answers like one: success, and a CPU number below 2^16
/// (Linux allows 8,192 CPUs). qemu-user's i386 vDSO answers the time of day instead; such a
/// function is not used (the system call serves).
#[cold]
#[inline(never)]
fn getcpu_answers(f: *mut ()) -> bool {
    matches!(getcpu_via(f), Ok((cpu, _)) if cpu < 1 << 16)
}

// The resolvers, one per function: resolve, then call what was chosen.

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
