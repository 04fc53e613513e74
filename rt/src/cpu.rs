//! The CPU and NUMA node the calling thread runs on.
//!
//! In a tinyrt program the first [`getcpu`] registers an rseq area for the thread (Linux
//! 4.18+: an area in the thread's block, 64-byte aligned, its length from
//! `AT_RSEQ_FEATURE_SIZE` and `AT_RSEQ_ALIGN` as `rseq_len` says, the architecture's
//! signature). From then on the kernel writes the thread's CPU into the area whenever it
//! returns to user space on another one, and a read is a few loads, no call. The
//! node comes from the area too where the kernel's rseq has `node_id` (Linux 6.3+, a feature
//! size of 24 bytes or more). Where the registration is refused (qemu-user answers ENOSYS;
//! EINVAL, EBUSY; a seccomp filter), or the kernel's area has no node, `getcpu` goes
//! through the dispatch as it does everywhere else: the vDSO where it exports `getcpu`
//! (x86_64, i386, riscv64), else the system call, with the time functions' error rule (a
//! vDSO error but EINVAL is retried once by system call). The kernel's answer is asked
//! once for the process. Nothing of it happens at start-up, and a program that never asks
//! for its CPU never makes the call.
//!
//! Each thread has its own area (with the `threads` feature, in the block its thread
//! pointer reaches): a thread started once the process's first `getcpu` found the kernel
//! writing one registers its area as it starts, any other on its first `getcpu`; each
//! unregisters it as it ends, before its memory can be freed. A thread made by other means
//! (a raw `clone`) would read its creator's area: such a thread should use
//! [`getcpu_any_thread`]. A child made by `fork` inherits the registration and reads its
//! own CPU; `exec` ends it (the new program registers its own).
//!
//! In library mode (tinyrt-rt inside a std program) the C library owns the thread's rseq
//! registration (glibc registers every thread): tinyrt never registers one there, and uses
//! the dispatch.
//!
//! Whatever path serves, the answer can be stale by the time it is read: the scheduler
//! may move the thread at any moment.
//!
//! ```
//! use tinyrt_rt::cpu;
//!
//! let (cpu, _node) = cpu::getcpu().unwrap();
//! // One of the machine's CPUs, as glibc counts them.
//! # // SAFETY: sysconf has no preconditions.
//! let configured = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) };
//! assert!(i64::from(cpu) < configured as i64);
//! ```

use crate::errno::Errno;
use crate::sys::{self, RseqArea};
use crate::vdso::{self, Function, errno_of, retries};
use core::sync::atomic::{AtomicU8, Ordering};

/// The calling thread's rseq area: in its block (with `threads`, one per thread, reached
/// from the thread pointer; otherwise one static block), zero but `cpu_id` and `node_id`
/// until registered.
#[inline(always)]
fn area() -> &'static RseqArea {
    &crate::tls::current().rseq
}

/// Where `getcpu` reads from, decided by its first call on any thread: the kernel's answer
/// holds for every thread (each registers its own area, once: [`register_thread`]).
static STATE: AtomicU8 = AtomicU8::new(UNDECIDED);
const UNDECIDED: u8 = 0;
/// Registered, with `node_id`: both numbers from the area.
const AREA_CPU_NODE: u8 = 1;
/// Registered, without `node_id`: [`current`] reads the area, `getcpu` the dispatch.
const AREA_CPU: u8 = 2;
/// Not registered (refused, or library mode): the dispatch.
const DISPATCH: u8 = 3;

/// The original rseq length (Linux 4.18 to 6.2: a 20-byte `struct rseq` padded to 32), the
/// smallest the kernel takes, and the alignment it asks of an area registered with it.
const ORIG_RSEQ_SIZE: usize = 32;

/// The length to register the area with, from what the kernel says in the auxiliary vector
/// (`AT_RSEQ_FEATURE_SIZE`, `AT_RSEQ_ALIGN`: both absent before Linux 6.3), for an area of
/// `size` bytes at an address aligned to `align` (`RseqArea`'s).
///
/// The kernel's rule (kernel/rseq.c, `sys_rseq`): a length of exactly 32 bytes (the original
/// ABI) asks for a 32-byte-aligned area; any other length must cover the feature size (all
/// the fields the kernel writes) and the area must be aligned to `AT_RSEQ_ALIGN`. So the
/// length is the feature size (at least 32) rounded up to that alignment, which makes the
/// registered bytes one aligned block, as the kernel's own `struct rseq` is (Linux 6.3 to
/// 7.1: feature size 28, alignment 32, 32 bytes; 7.2: 33 and 64, 64 bytes). Where that
/// block is larger than the area, or the alignment larger than the area's (or not a power
/// of two), the area is registered with the original 32 bytes, which every kernel takes
/// at a 32-byte-aligned address: the kernel then writes the original fields (`cpu_id`, and
/// from Linux 6.3 `node_id`, both inside them), never a later one. Nothing is allocated, and
/// no kernel's answer can make the area move: a read stays three loads of one static.
const fn rseq_len(
    feature: Option<usize>,
    kernel_align: Option<usize>,
    size: usize,
    align: usize,
) -> usize {
    let feature = match feature {
        Some(f) if f > ORIG_RSEQ_SIZE => f,
        _ => ORIG_RSEQ_SIZE,
    };
    let want = match kernel_align {
        Some(a) if a > ORIG_RSEQ_SIZE => a,
        _ => ORIG_RSEQ_SIZE,
    };
    if !want.is_power_of_two() || want > align {
        return ORIG_RSEQ_SIZE;
    }
    match feature.checked_next_multiple_of(want) {
        Some(len) if len <= size => len,
        _ => ORIG_RSEQ_SIZE,
    }
}

/// The state, registering on the first call.
#[inline(always)]
fn state() -> u8 {
    match STATE.load(Ordering::Relaxed) {
        UNDECIDED => register(),
        s => s,
    }
}

/// Decides the state, once: registers the calling thread's area and reads what the kernel
/// wrote. A signal handler that interrupts the first call and asks too registers the area
/// itself (or finds it registered) and stores its state first; the interrupted call's
/// registration then gets EBUSY, which `register_thread` takes as the registration it is,
/// and its store comes last: the state ends up what the kernel gave.
#[cold]
#[inline(never)]
fn register() -> u8 {
    let s = if crate::env::started_by_tinyrt() {
        // Whether the kernel writes `node_id` is read from the area itself after the
        // registration.
        match register_thread() {
            // Registered: the kernel has written the area on the way back to user space,
            // the node too where it has one.
            true if area_cpu_node().is_some() => AREA_CPU_NODE,
            true if area().cpu_id() <= i32::MAX as u32 => AREA_CPU,
            _ => DISPATCH,
        }
    } else {
        DISPATCH
    };
    STATE.store(s, Ordering::Relaxed);
    s
}

/// Registers the calling thread's area, trying once per thread (the length it took, or
/// `u32::MAX` for a refusal, kept in the thread's block); whether it is registered.
#[cold]
#[inline(never)]
fn register_thread() -> bool {
    let block = crate::tls::current();
    match block.rseq_len.load(Ordering::Relaxed) {
        0 => {}
        u32::MAX => return false,
        _ => return true,
    }
    use crate::auxv::{Key, get};
    let len = rseq_len(
        get(Key::RSEQ_FEATURE_SIZE),
        get(Key::RSEQ_ALIGN),
        size_of::<RseqArea>(),
        align_of::<RseqArea>(),
    ) as u32;
    let ok = match sys::rseq_register(area(), len, crate::arch::RSEQ_SIG) {
        Ok(()) => true,
        // The kernel answers EBUSY only to a second registration, by this thread, of this
        // same area with this length and signature: a signal handler on this thread
        // registered it between the test above and this call, and the kernel has written
        // the CPU there since. (An EBUSY from a filter leaves the area unwritten: refused.)
        Err(Errno::EBUSY) => area().cpu_id() <= i32::MAX as u32,
        Err(_) => false,
    };
    block
        .rseq_len
        .store(if ok { len } else { u32::MAX }, Ordering::Relaxed);
    ok
}

/// A new thread's start (the thread module's): registers its area where the process's
/// first `getcpu` found the kernel writing one; nothing while undecided or refused.
#[cfg_attr(
    not(all(feature = "threads", not(feature = "library-mode"))),
    allow(dead_code)
)]
pub(crate) fn thread_start() {
    if matches!(STATE.load(Ordering::Relaxed), AREA_CPU_NODE | AREA_CPU) {
        register_thread();
    }
}

/// A thread's end (the thread module's): unregisters its area, so that the kernel never
/// writes into it once its memory is freed.
#[cfg_attr(
    not(all(feature = "threads", not(feature = "library-mode"))),
    allow(dead_code)
)]
pub(crate) fn thread_exit() {
    let block = crate::tls::current();
    let len = block.rseq_len.swap(u32::MAX, Ordering::Relaxed);
    if len != 0 && len != u32::MAX {
        let _ = sys::rseq_unregister(area(), len, crate::arch::RSEQ_SIG);
    }
}

/// (cpu, node) from the area, if the kernel writes both there: before the registration,
/// without one and on kernels without `node_id` one of them is still all ones. The CPU is
/// read again after the node, so that a migration between the two reads (the kernel
/// rewrites both on the way back to user space) is not answered half.
#[inline(always)]
fn area_cpu_node() -> Option<(u32, u32)> {
    let area = area();
    let cpu = area.cpu_id();
    let node = area.node_id();
    ((cpu | node) <= i32::MAX as u32 && area.cpu_id() == cpu).then_some((cpu, node))
}

/// (cpu, node) of the calling thread. Once the area serves, one test of the area itself
/// decides: no state is read.
#[inline]
pub fn getcpu() -> Result<(u32, u32), Errno> {
    // In library mode the C library owns the area: straight to the dispatch (a tinyrt
    // program, built without the feature, has no such test).
    if cfg!(feature = "library-mode") && !crate::env::started_by_tinyrt() {
        return getcpu_any_thread();
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
    let registered = match STATE.load(Ordering::Relaxed) {
        UNDECIDED => register() == AREA_CPU_NODE,
        // Another thread decided: this one registers its own area the first time.
        AREA_CPU_NODE => register_thread(),
        _ => false,
    };
    if registered && let Some(pair) = area_cpu_node() {
        return Ok(pair);
    }
    getcpu_any_thread()
}

/// The CPU of the calling thread (C's `sched_getcpu`): from the rseq area whenever it is
/// registered, even where the kernel's area has no node.
#[inline]
pub fn current() -> Result<u32, Errno> {
    // In library mode, as in `getcpu`: straight to the dispatch.
    if cfg!(feature = "library-mode") && !crate::env::started_by_tinyrt() {
        return getcpu_any_thread().map(|(cpu, _)| cpu);
    }
    let cpu = area().cpu_id();
    if cpu <= i32::MAX as u32 {
        return Ok(cpu);
    }
    match state() {
        AREA_CPU_NODE | AREA_CPU if register_thread() => Ok(area().cpu_id()),
        _ => getcpu_any_thread().map(|(cpu, _)| cpu),
    }
}

/// `getcpu` from any thread, never through the rseq area: the vDSO's where it has one, else
/// the system call. For threads made by other means than the one tinyrt started, and for
/// comparison.
#[inline]
pub fn getcpu_any_thread() -> Result<(u32, u32), Errno> {
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
    match sys::getcpu(&mut cpu, &mut node) {
        0 => Ok((cpu, node)),
        r => Err(errno_of(r as isize)),
    }
}

/// What serves [`getcpu`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The thread's rseq area, for the CPU and the node.
    Rseq,
    /// A call: the vDSO's `getcpu` or the system call (the rseq area was refused, has no
    /// node, or belongs to the C library in library mode).
    Call(vdso::Backend),
}

/// What serves [`getcpu`]: deciding it (registering the area) if no call has yet.
#[allow(clippy::must_use_candidate)] // Also called for its effect: it sets the backend up.
pub fn backend() -> Backend {
    if state() == AREA_CPU_NODE {
        return Backend::Rseq;
    }
    Backend::Call(vdso::backend(Function::Getcpu))
}

/// Whether the thread's rseq area is registered (deciding it if no call has yet): then
/// [`current`] reads it, and [`getcpu`] too where it has the node.
#[must_use]
pub fn rseq_registered() -> bool {
    matches!(state(), AREA_CPU_NODE | AREA_CPU) && register_thread()
}

#[cfg(test)]
mod tests {
    use super::{ORIG_RSEQ_SIZE, rseq_len};
    use crate::sys::RseqArea;

    /// `rseq_len` for tinyrt's own area.
    fn len(feature: Option<usize>, align: Option<usize>) -> usize {
        rseq_len(
            feature,
            align,
            size_of::<RseqArea>(),
            align_of::<RseqArea>(),
        )
    }

    #[test]
    fn the_area_is_aligned_as_linux_7_asks() {
        assert_eq!(align_of::<RseqArea>(), 64);
        assert_eq!(size_of::<RseqArea>(), 64);
    }

    #[test]
    fn rseq_len_follows_the_kernels_rule() {
        // (AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN) → length.
        for (feature, align, want) in [
            // Before Linux 6.3: neither entry, the original ABI.
            (None, None, 32),
            // 6.3 to 7.1 (this machine's 6.18 too): 28 and 32.
            (Some(28), Some(32), 32),
            // 7.2: 33 and 64: one 64-byte block at a 64-byte boundary.
            (Some(33), Some(64), 64),
            // A larger alignment than the feature size needs: the block it asks for.
            (Some(28), Some(64), 64),
            (Some(64), Some(64), 64),
            // Original fields only, or one entry missing.
            (Some(20), None, 32),
            (None, Some(32), 32),
            (Some(33), None, 64),
            (Some(0), Some(0), 32),
            // More than the area serves (alignment over 64, or more than 64 bytes), or an
            // alignment that is not a power of two: the original 32 bytes.
            (Some(28), Some(128), 32),
            (Some(65), Some(128), 32),
            (Some(65), Some(64), 32),
            (Some(28), Some(48), 32),
            (Some(usize::MAX), Some(64), 32),
            (Some(28), Some(usize::MAX), 32),
        ] {
            let got = len(feature, align);
            assert_eq!(got, want, "feature {feature:?}, align {align:?}");
            // Whatever the answer, the kernel's rule holds for an area aligned to 64.
            assert!(got >= ORIG_RSEQ_SIZE && got <= size_of::<RseqArea>());
            if got != ORIG_RSEQ_SIZE {
                let (f, a) = (feature.unwrap_or(0), align.unwrap_or(32));
                assert!(got >= f && got.is_multiple_of(a) && a <= align_of::<RseqArea>());
            }
        }
        // An area aligned to 128 (a larger static) serves a kernel asking for 128.
        assert_eq!(rseq_len(Some(65), Some(128), 128, 128), 128);
        assert_eq!(rseq_len(Some(28), Some(128), 128, 128), 128);
    }
}
