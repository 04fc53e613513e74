//! The CPU and NUMA node the calling thread runs on.
//!
//! In a tinyrt program the first [`getcpu`] registers an rseq area for the thread (Linux
//! 4.18+: a static area, 32-byte aligned, its length from `AT_RSEQ_FEATURE_SIZE`, the
//! architecture's signature). From then on the kernel writes the thread's CPU into the area
//! whenever it returns to user space on another one, and a read is two loads, no call. The
//! node comes from the area too where the kernel's rseq has `node_id` (Linux 6.3+, a feature
//! size of 24 bytes or more). Where the registration is refused (qemu-user answers ENOSYS;
//! EINVAL, EBUSY; a seccomp filter), or the kernel's area has no node, `getcpu` goes
//! through the dispatch as it does everywhere else: the vDSO where it exports `getcpu`
//! (x86_64, i386, riscv64), else the system call, with the time functions' error rule (a
//! vDSO error but EINVAL is retried once by system call). The registration is tried once.
//! Nothing of it happens at start-up, and a program that never asks for its CPU never
//! makes the call.
//!
//! In library mode (tinyrt-rt inside a std program) the C library owns the thread's rseq
//! registration (glibc registers every thread): tinyrt never registers one there, and uses
//! the dispatch.
//!
//! The area belongs to the thread that registered it, the one thread a tinyrt program has.
//! A thread made by other means (a raw `clone`) would read the registering thread's CPU:
//! such a thread should use [`dispatch_getcpu`]. A child made by `fork` inherits the
//! registration and reads its own CPU; `exec` ends it (the new program registers its own).
//!
//! Whatever path serves, the answer can be stale by the time it is read: the scheduler
//! may move the thread at any moment.

use crate::errno::Errno;
use crate::sys::{self, RseqArea};
use crate::vdso::{self, Function, errno_of, retries};
use core::sync::atomic::{AtomicU8, Ordering};

/// The thread's rseq area (zero but `cpu_id` until registered: it costs the file nothing).
static AREA: RseqArea = RseqArea::new();

/// Where `getcpu` reads from, decided by its first call.
static STATE: AtomicU8 = AtomicU8::new(UNDECIDED);
const UNDECIDED: u8 = 0;
/// Registered, with `node_id`: both numbers from the area.
const AREA_CPU_NODE: u8 = 1;
/// Registered, without `node_id`: [`current`] reads the area, `getcpu` the dispatch.
const AREA_CPU: u8 = 2;
/// Not registered (refused, or library mode): the dispatch.
const DISPATCH: u8 = 3;

/// The smallest rseq length the kernel takes, and `struct rseq`'s alignment.
const ORIG_RSEQ_SIZE: usize = 32;

/// The state, registering on the first call.
#[inline(always)]
fn state() -> u8 {
    match STATE.load(Ordering::Relaxed) {
        UNDECIDED => register(),
        s => s,
    }
}

/// Registers the area, once: the state it leads to. A signal handler that interrupts the
/// first call and asks too gets EBUSY from the kernel (or, before the interrupted call
/// registered, registers itself) and stores its state first; the interrupted call's store
/// comes last, so the state ends up what the registration gave.
#[cold]
#[inline(never)]
fn register() -> u8 {
    let s = if crate::env::started_by_tinyrt() {
        // Kernels before 6.3 have no AT_RSEQ_FEATURE_SIZE: their area is the original 20
        // bytes (in a 32-byte registration). Whether the kernel writes `node_id` is read
        // from the area itself after the registration.
        let feature = crate::auxv::get(linux_raw_sys::auxvec::AT_RSEQ_FEATURE_SIZE).unwrap_or(20);
        let len = feature
            .checked_next_multiple_of(ORIG_RSEQ_SIZE)
            .filter(|&l| l <= size_of::<RseqArea>())
            .unwrap_or(ORIG_RSEQ_SIZE)
            .max(ORIG_RSEQ_SIZE);
        match sys::rseq_register(&AREA, len as u32, crate::arch::RSEQ_SIG) {
            // Registered: the kernel has written the area on the way back to user space,
            // the node too where it has one.
            Ok(()) if area_cpu_node().is_some() => AREA_CPU_NODE,
            Ok(()) if AREA.cpu_id() <= i32::MAX as u32 => AREA_CPU,
            _ => DISPATCH,
        }
    } else {
        DISPATCH
    };
    STATE.store(s, Ordering::Relaxed);
    s
}

/// (cpu, node) from the area, if the kernel writes both there: before the registration,
/// without one and on kernels without `node_id` one of them is still all ones. The CPU is
/// read again after the node, so that a migration between the two reads (the kernel
/// rewrites both on the way back to user space) is not answered half.
#[inline(always)]
fn area_cpu_node() -> Option<(u32, u32)> {
    let cpu = AREA.cpu_id();
    let node = AREA.node_id();
    ((cpu | node) <= i32::MAX as u32 && AREA.cpu_id() == cpu).then_some((cpu, node))
}

/// (cpu, node) of the calling thread. Once the area serves, one test of the area itself
/// decides: no state is read.
#[inline]
pub fn getcpu() -> Result<(u32, u32), Errno> {
    // In library mode the C library owns the area: straight to the dispatch (a tinyrt
    // program, built without the feature, has no such test).
    if cfg!(feature = "library-mode") && !crate::env::started_by_tinyrt() {
        return dispatch_getcpu();
    }
    match area_cpu_node() {
        Some(pair) => Ok(pair),
        None => getcpu_elsewhere(),
    }
}

/// `getcpu` where the area does not serve: registering it on the first call, else the
/// dispatch. Out of line, so that a loop of reads from the area is a few instructions (with
/// the dispatch inline their speed moved 2x with where the loop landed).
#[cold]
#[inline(never)]
fn getcpu_elsewhere() -> Result<(u32, u32), Errno> {
    if STATE.load(Ordering::Relaxed) == UNDECIDED
        && register() == AREA_CPU_NODE
        && let Some(pair) = area_cpu_node()
    {
        return Ok(pair);
    }
    dispatch_getcpu()
}

/// The CPU of the calling thread (C's `sched_getcpu`): from the rseq area whenever it is
/// registered, even where the kernel's area has no node.
#[inline]
pub fn current() -> Result<u32, Errno> {
    // In library mode, as in `getcpu`: straight to the dispatch.
    if cfg!(feature = "library-mode") && !crate::env::started_by_tinyrt() {
        return dispatch_getcpu().map(|(cpu, _)| cpu);
    }
    match state() {
        AREA_CPU_NODE | AREA_CPU => Ok(AREA.cpu_id()),
        _ => dispatch_getcpu().map(|(cpu, _)| cpu),
    }
}

/// `getcpu` through the dispatch, never the rseq area: the vDSO's where it has one, else
/// the system call. For threads made by other means than the one tinyrt started, and for
/// comparison.
#[inline]
pub fn dispatch_getcpu() -> Result<(u32, u32), Errno> {
    vdso::getcpu().or_else(getcpu_failed)
}

/// After the slot answered `failed`: the error rule.
#[cold]
#[inline(never)]
fn getcpu_failed(failed: i32) -> Result<(u32, u32), Errno> {
    if !retries(failed as isize, || vdso::is_syscall(Function::Getcpu)) {
        return Err(errno_of(failed as isize));
    }
    syscall_getcpu()
}

/// `getcpu` by system call, bypassing the rseq area and the vDSO.
pub fn syscall_getcpu() -> Result<(u32, u32), Errno> {
    let (mut cpu, mut node) = (0u32, 0u32);
    match vdso::call_sys_getcpu(&mut cpu, &mut node) {
        0 => Ok((cpu, node)),
        r => Err(errno_of(r as isize)),
    }
}

/// What serves [`getcpu`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The thread's rseq area, for the CPU and the node.
    Rseq,
    /// The dispatch: the vDSO's `getcpu` or the system call (the rseq area was refused,
    /// has no node, or belongs to the C library in library mode).
    Dispatch(vdso::Backend),
}

/// What serves [`getcpu`]: deciding it (registering the area) if no call has yet.
pub fn backend() -> Backend {
    if state() == AREA_CPU_NODE {
        return Backend::Rseq;
    }
    Backend::Dispatch(vdso::backend(Function::Getcpu))
}

/// Whether the thread's rseq area is registered (deciding it if no call has yet): then
/// [`current`] reads it, and [`getcpu`] too where it has the node.
pub fn rseq_registered() -> bool {
    matches!(state(), AREA_CPU_NODE | AREA_CPU)
}
