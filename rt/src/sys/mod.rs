//! Thin, safe wrappers over the architecture's raw system calls, written once for every
//! architecture: the few calls the runtime itself makes (`write`, `openat`, `read`,
//! `close`, `mmap`, `prctl`, `getpid`, `gettid`, and the system calls behind the vDSO's
//! `getcpu` and `getrandom`), and the hook that reports a failed print when `main` returns
//! (set by `io`, run by `process`); the time system calls and the one rule for their
//! 32-bit-time twins are in [`time64`] (re-exported here), the futex waits and wakes of the
//! locks and threads in [`futex`]. Plain system-call wrappers for
//! programs are rustix's job.
//!
//! # Safety
//!
//! Each safe wrapper takes only Rust references, whose lengths it passes on, or plain
//! integers, and asks for nothing the kernel could use to change memory the program holds.
//! The `unsafe` ones (`munmap`, `mremap`, and the `*_raw` forms with the vDSO functions' C
//! signatures) say what their caller guarantees.
#![allow(unsafe_code)]

use crate::arch::{NR, syscall0, syscall1, syscall2, syscall3, syscall4, syscall6};
use crate::errno::Errno;
use crate::fd::{FromRawFd, OwnedFd};
use core::ffi::c_void;
use linux_raw_sys::general as nr;

pub mod event;
pub mod futex;
pub mod thread;
pub mod time64;
pub use time64::*;

/// What to run when `main` returns (a `fn(i32) -> i32`; null: nothing): set by the first
/// failed print to standard output (`io`), run by `process::exit_code_after_main`, so that
/// programs that never print carry none of it. Kept here, below both.
static EXIT_REPORT: core::sync::atomic::AtomicPtr<()> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

/// Has `process::exit_code_after_main` run `report` with `main`'s code. (Release: what the
/// report reads, stored before this, is seen by the thread that runs it.)
pub fn set_exit_report(report: fn(i32) -> i32) {
    EXIT_REPORT.store(report as *mut (), core::sync::atomic::Ordering::Release);
}

/// What [`set_exit_report`] set, if anything.
pub fn exit_report() -> Option<fn(i32) -> i32> {
    let f = EXIT_REPORT.load(core::sync::atomic::Ordering::Acquire);
    if f.is_null() {
        return None;
    }
    // SAFETY: only `set_exit_report` stores a non-null pointer, and it stores a
    // `fn(i32) -> i32` cast to a data pointer, which transmutes back (same size, the
    // pointer's provenance kept).
    Some(unsafe { core::mem::transmute::<*mut (), fn(i32) -> i32>(f) })
}

/// `getpid()`: the process id (it cannot fail).
#[inline]
pub fn getpid() -> u32 {
    // SAFETY: getpid takes no arguments.
    (unsafe { syscall0(nr::__NR_getpid as usize) }) as u32
}

/// `gettid()`: the calling thread's id (it cannot fail).
#[inline]
pub fn gettid() -> u32 {
    // SAFETY: gettid takes no arguments.
    (unsafe { syscall0(nr::__NR_gettid as usize) }) as u32
}

/// `getcpu(cpu, node, cache)` by system call: 0 or a negated errno, as the vDSO's.
///
/// # Safety
/// `cpu` and `node` are NULL or valid for writing a `u32`.
pub unsafe fn getcpu_raw(cpu: *mut u32, node: *mut u32, cache: *mut c_void) -> i32 {
    // SAFETY: the kernel writes the cpu and node numbers where they are not NULL (caller);
    // the cache argument has been unused since Linux 2.6.24.
    unsafe { syscall3(NR.getcpu, cpu as usize, node as usize, cache as usize) as isize as i32 }
}

/// `getcpu` by system call into numbers we borrow.
pub fn getcpu(cpu: &mut u32, node: &mut u32) -> i32 {
    // SAFETY: both are valid, mutably borrowed; the cache argument may be NULL.
    unsafe { getcpu_raw(cpu, node, core::ptr::null_mut()) }
}

/// `getrandom(buf, len, flags)` by system call: the bytes written, or a negated errno.
///
/// # Safety
/// `buf` is valid for writing `len` bytes.
pub unsafe fn getrandom_raw(buf: *mut c_void, len: usize, flags: u32) -> isize {
    // SAFETY: the kernel writes at most `len` bytes at `buf` (caller).
    unsafe {
        syscall3(
            nr::__NR_getrandom as usize,
            buf as usize,
            len,
            flags as usize,
        ) as isize
    }
}

/// `getrandom` by system call into a buffer we borrow.
pub fn getrandom(buf: &mut [u8], flags: u32) -> isize {
    // SAFETY: `buf` is valid for its length, borrowed mutably.
    unsafe { getrandom_raw(buf.as_mut_ptr().cast(), buf.len(), flags) }
}

/// `write(fd, buf)`: the number of bytes written.
#[inline]
pub fn write(fd: i32, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel reads at most `buf.len()` bytes from `buf`, which we borrow.
    Errno::from_ret(unsafe {
        syscall3(
            nr::__NR_write as usize,
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
        )
    })
}

/// A descriptor the kernel has just returned, now owned.
#[inline]
pub(super) fn owned(fd: usize) -> OwnedFd {
    // SAFETY: a new descriptor from the kernel: open, and nothing else owns it yet.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// `openat(AT_FDCWD, path, flags, mode)`: a new file descriptor.
pub fn open(path: &core::ffi::CStr, flags: u32, mode: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: `path` is NUL-terminated and borrowed for the call; the kernel only reads it.
    Errno::from_ret(unsafe {
        syscall4(
            nr::__NR_openat as usize,
            nr::AT_FDCWD as isize as usize,
            path.as_ptr() as usize,
            flags as usize,
            mode as usize,
        )
    })
    .map(owned)
}

/// `mprotect(addr, len, PROT_NONE)`: makes pages inaccessible (a guard page). Safe: no
/// memory becomes accessible that was not, and an access to these pages faults instead of
/// reading or writing.
pub fn mprotect_none(addr: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: removing access changes no value the program can read; see above.
    Errno::from_ret(unsafe {
        syscall3(
            nr::__NR_mprotect as usize,
            addr,
            len,
            nr::PROT_NONE as usize,
        )
    })
    .map(|_| ())
}

/// The kernel's `struct rseq` (include/uapi/linux/rseq.h) with room for later fields: the
/// area a thread registers with `rseq`, which the kernel updates on every return to user
/// space after the thread was preempted, migrated or signalled. The fields are atomics: the
/// kernel writes them while the program may read them. 64-byte aligned: the alignment Linux
/// 7.x asks (`AT_RSEQ_ALIGN`) for a registration longer than the original 32 bytes.
#[repr(C, align(64))]
pub struct RseqArea {
    /// `cpu_id_start`, `cpu_id`, `rseq_cs` (two words, kept 0: no critical section),
    /// `flags`, `node_id` (Linux 6.3+), `mm_cid` (6.3+), then room.
    words: [core::sync::atomic::AtomicU32; 16],
}

impl RseqArea {
    /// An unregistered area: `cpu_id` is `RSEQ_CPU_ID_UNINITIALIZED` (all ones), and so is
    /// `node_id`, which only kernels that have it overwrite; every other field 0.
    pub const fn new() -> RseqArea {
        use core::sync::atomic::AtomicU32;
        let mut words = [const { AtomicU32::new(0) }; 16];
        words[1] = AtomicU32::new(u32::MAX);
        words[5] = AtomicU32::new(u32::MAX);
        RseqArea { words }
    }

    /// `cpu_id`: the CPU the thread last returned to user space on; above `i32::MAX` while
    /// unregistered.
    #[inline(always)]
    pub fn cpu_id(&self) -> u32 {
        self.words[1].load(core::sync::atomic::Ordering::Relaxed)
    }

    /// `node_id`: its NUMA node, written by kernels whose feature size covers it (24 bytes
    /// and more); all ones before (and on other kernels).
    #[inline(always)]
    pub fn node_id(&self) -> u32 {
        self.words[5].load(core::sync::atomic::Ordering::Relaxed)
    }
}

impl Default for RseqArea {
    fn default() -> RseqArea {
        RseqArea::new()
    }
}

/// `rseq(area, len, 0, sig)`: registers `area` as the calling thread's rseq area, of `len`
/// bytes (at least 32, at most the area's size, else EINVAL here) with the signature `sig`.
/// Safe: the area is `'static` and made of atomics, so the kernel's writes into it for the
/// rest of the thread's life (and of a forked child's) race with nothing the program holds.
pub fn rseq_register(area: &'static RseqArea, len: u32, sig: u32) -> Result<(), Errno> {
    if !(32..=size_of::<RseqArea>() as u32).contains(&len) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: see above; `rseq_cs` is 0, so the kernel never jumps to an abort handler.
    Errno::from_ret(unsafe {
        syscall4(
            NR.rseq,
            area as *const RseqArea as usize,
            len as usize,
            0,
            sig as usize,
        )
    })
    .map(|_| ())
}

/// The kernel's `RSEQ_FLAG_UNREGISTER` (include/uapi/linux/rseq.h; not in linux-raw-sys).
const RSEQ_FLAG_UNREGISTER: usize = 1;

/// `rseq(area, len, RSEQ_FLAG_UNREGISTER, sig)`: ends the calling thread's registration of
/// `area` (with the length and signature it was registered with; EINVAL otherwise), so that
/// the kernel no longer writes into it: before the memory of a thread's area is freed.
pub fn rseq_unregister(area: &RseqArea, len: u32, sig: u32) -> Result<(), Errno> {
    // SAFETY: the kernel only compares the arguments with the thread's registration.
    Errno::from_ret(unsafe {
        syscall4(
            NR.rseq,
            area as *const RseqArea as usize,
            len as usize,
            RSEQ_FLAG_UNREGISTER,
            sig as usize,
        )
    })
    .map(|_| ())
}

/// `read(fd, buf)`: the number of bytes read, 0 at end of file.
pub fn read(fd: i32, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`, which we borrow mutably.
    Errno::from_ret(unsafe {
        syscall3(
            nr::__NR_read as usize,
            fd as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

/// `close(fd)`.
pub fn close(fd: i32) -> Result<(), Errno> {
    // SAFETY: close takes no pointers.
    Errno::from_ret(unsafe { syscall1(nr::__NR_close as usize, fd as usize) }).map(|_| ())
}

/// `mmap(NULL, len, prot, flags, -1, 0)`: new anonymous memory wherever the kernel puts it;
/// its address. `flags` must include MAP_ANONYMOUS and must not ask for a fixed address
/// (EINVAL otherwise, without a system call): new memory never replaces memory in use.
pub fn mmap_anonymous(len: usize, prot: u32, flags: u32) -> Result<usize, Errno> {
    let fixed = nr::MAP_FIXED | nr::MAP_FIXED_NOREPLACE;
    if flags & fixed != 0 || flags & nr::MAP_ANONYMOUS == 0 {
        return Err(Errno::EINVAL);
    }
    let args = [0, len, prot as usize, flags as usize, -1isize as usize, 0];
    if NR.mmap_args_in_memory {
        // SAFETY: as below; the kernel reads the six arguments from `args`, which lives
        // across the call.
        return Errno::from_ret(unsafe { syscall1(NR.mmap, args.as_ptr() as usize) });
    }
    let [a1, a2, a3, a4, a5, a6] = args;
    // SAFETY: without MAP_FIXED the kernel picks an address no mapping uses, so nothing
    // the program holds changes; no pointer is passed.
    Errno::from_ret(unsafe { syscall6(NR.mmap, a1, a2, a3, a4, a5, a6) })
}

/// `munmap(addr, len)`: gives back whole pages. Only the heap and `process` call it, for
/// mappings they made themselves and no longer use (a caller passing any other range would
/// unmap memory the program uses: hence crate-private and `unsafe`).
///
/// # Safety
/// `addr..addr+len` is a mapping (or part of one) that nothing refers to any more.
pub unsafe fn munmap(addr: usize, len: usize) -> Result<(), Errno> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller gives up the range; no pointer the kernel writes through.
    Errno::from_ret(unsafe { syscall2(nr::__NR_munmap as usize, addr, len) }).map(|_| ())
}

/// `mremap(addr, old, new, flags)`: the mapping's new address.
///
/// # Safety
/// `addr..addr+old` is one whole mapping that the caller owns; with MREMAP_MAYMOVE it may
/// move, and the old range must not be used afterwards.
#[cfg(feature = "alloc")]
pub unsafe fn mremap(addr: usize, old: usize, new: usize, flags: u32) -> Result<usize, Errno> {
    // SAFETY: the caller owns the mapping and gives up its old range.
    Errno::from_ret(unsafe {
        crate::arch::syscall4(nr::__NR_mremap as usize, addr, old, new, flags as usize)
    })
}

/// `prctl(PR_GET_AUXV, buf, len, 0, 0)` (Linux 6.4+): copies the process's auxiliary vector
/// into `buf` and returns its full size in bytes (which may exceed what fit).
#[cfg(feature = "library-mode")]
pub fn prctl_get_auxv(buf: &mut [usize]) -> Result<usize, Errno> {
    use linux_raw_sys::prctl::PR_GET_AUXV;
    // SAFETY: the kernel writes at most `size_of_val(buf)` bytes into `buf`, which we
    // borrow mutably; arg4 and arg5 must be 0.
    Errno::from_ret(unsafe {
        crate::arch::syscall5(
            nr::__NR_prctl as usize,
            PR_GET_AUXV as usize,
            buf.as_mut_ptr() as usize,
            core::mem::size_of_val(buf),
            0,
            0,
        )
    })
}

/// Which of the descriptors 0, 1 and 2 are not open: one `ppoll` that asks for no event and
/// does not wait (the kernel marks a closed one POLLNVAL), as std checks them at start;
/// where that call is refused, `fcntl(F_GETFD)` on each.
pub fn closed_std_fds() -> [bool; 3] {
    let mut fds = [0i32, 1, 2].map(|fd| nr::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // Zero seconds and nanoseconds read as either width of timespec: the old ppoll of the
    // 32-bit architectures reads 8 of these bytes, the 64-bit ones all 16.
    let no_wait = [0u64; 2];
    loop {
        // SAFETY: the kernel writes `revents` of the three `pollfd`s we borrow mutably and
        // reads the zeroed timeout; the signal mask pointer is NULL.
        let r = Errno::from_ret(unsafe {
            syscall4(
                nr::__NR_ppoll as usize,
                fds.as_mut_ptr() as usize,
                fds.len(),
                no_wait.as_ptr() as usize,
                0,
            )
        });
        match r {
            Ok(_) => return fds.map(|p| p.revents as u32 & nr::POLLNVAL != 0),
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    [0usize, 1, 2].map(|fd| {
        // SAFETY: F_GETFD takes no pointer.
        let r = unsafe { syscall2(nr::__NR_fcntl as usize, fd, nr::F_GETFD as usize) };
        Errno::from_ret(r) == Err(Errno::EBADF)
    })
}
