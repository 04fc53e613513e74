//! The system calls of threads, below the `thread` module: the clone flags of a thread,
//! `set_tid_address`, `tgkill`, `sched_yield`, the CPU count of `sched_getaffinity`, and
//! (from `arch`) `clone_thread`, `exit_thread` and `unmap_and_exit`.
//!
//! # Safety
//!
//! `set_tid_address` hands the kernel a pointer it writes when the thread exits: the
//! caller keeps the word alive (or passes NULL). The rest take no pointers the kernel
//! keeps, or only our own buffers for the length of the call.

use crate::arch::{syscall0, syscall1, syscall3};
use crate::errno::Errno;
use linux_raw_sys::general as nr;

pub use crate::arch::{clone_thread, exit_thread, unmap_and_exit};

/// The flags of a thread's `clone`: memory, filesystem information, descriptors, signal
/// handlers and System V semaphore undo lists shared, in the caller's thread group. qemu-user
/// refuses a thread clone without every one of these (EINVAL) and allows besides them only
/// [`CLONE_THREAD_OPTIONAL`].
pub const CLONE_THREAD_FLAGS: usize = (nr::CLONE_VM
    | nr::CLONE_FS
    | nr::CLONE_FILES
    | nr::CLONE_SIGHAND
    | nr::CLONE_THREAD
    | nr::CLONE_SYSVSEM) as usize;

/// The flags a thread's `clone` may add: a thread pointer (`tls`), the tid written to
/// `ptid` in the parent before `clone` returns, and `ctid` cleared and futex-woken (a
/// *shared* wake) when the thread exits.
pub const CLONE_THREAD_OPTIONAL: usize =
    (nr::CLONE_SETTLS | nr::CLONE_PARENT_SETTID | nr::CLONE_CHILD_CLEARTID) as usize;

/// `set_tid_address(tidptr)`: from now on, when the calling thread exits, the kernel writes
/// 0 to `*tidptr` and wakes one futex waiter there (NULL: nothing). Returns the caller's tid.
///
/// # Safety
/// `tidptr` is NULL or a `u32` that stays valid, and that nothing else needs, until the
/// thread exits or calls this again.
pub unsafe fn set_tid_address(tidptr: *mut u32) -> u32 {
    // SAFETY: the kernel only records the pointer (the caller keeps it valid).
    (unsafe { syscall1(nr::__NR_set_tid_address as usize, tidptr as usize) }) as u32
}

/// `set_tid_address(NULL)`: the kernel writes nothing when the calling thread exits (a
/// thread about to free the memory its clear-child-tid word was in).
pub fn clear_tid_address() {
    // SAFETY: NULL: the kernel keeps no pointer.
    unsafe { set_tid_address(core::ptr::null_mut()) };
}

/// `tgkill(tgid, tid, sig)`: sends `sig` to thread `tid` of thread group (process) `tgid`;
/// ESRCH if there is none (it exited), never another process's thread of that id.
pub fn tgkill(tgid: u32, tid: u32, sig: i32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    Errno::from_ret(unsafe {
        syscall3(
            nr::__NR_tgkill as usize,
            tgid as usize,
            tid as usize,
            sig as isize as usize,
        )
    })
    .map(|_| ())
}

/// `sched_yield()`: lets another runnable thread run (it cannot fail).
pub fn sched_yield() {
    // SAFETY: no arguments.
    unsafe { syscall0(nr::__NR_sched_yield as usize) };
}

/// The largest CPU mask asked for, in bytes: 32,768 CPUs (glibc's limit for its count);
/// Linux's `NR_CPUS` is at most 8,192 today.
const MASK_MAX: usize = 4096;

/// The number of CPUs the calling thread may run on: `sched_getaffinity(0, ...)`, with a
/// mask of 1,024 CPUs first (glibc's `cpu_set_t`), doubled on EINVAL (the kernel's answer
/// when the mask is shorter than its CPU count) up to `MASK_MAX` bytes. Uses 4 KiB of
/// stack.
pub fn sched_getaffinity_count() -> Result<usize, Errno> {
    affinity_count_from(128)
}

/// `sched_getaffinity_count` with a first mask of `len` bytes.
fn affinity_count_from(mut len: usize) -> Result<usize, Errno> {
    let mut mask = [0usize; MASK_MAX / size_of::<usize>()];
    loop {
        // SAFETY: the kernel writes at most `len` bytes into `mask`, ours and that long.
        let r = Errno::from_ret(unsafe {
            syscall3(
                nr::__NR_sched_getaffinity as usize,
                0,
                len,
                mask.as_mut_ptr() as usize,
            )
        });
        match r {
            // The kernel answers how many bytes it wrote (its mask's size).
            Ok(n) => {
                let words = n.min(len).div_ceil(size_of::<usize>());
                return Ok(mask[..words].iter().map(|w| w.count_ones() as usize).sum());
            }
            Err(Errno::EINVAL) if len < MASK_MAX => len *= 2,
            Err(e) => return Err(e),
        }
    }
}

/// `prctl(PR_SET_NAME)`: the calling thread's name as the kernel shows it
/// (`/proc/self/task/*/comm`), its first 15 bytes (the kernel's limit, as std and glibc cut
/// it); a name with a NUL is cut there. Best effort: an error changes nothing.
pub fn set_name(name: &[u8]) {
    let mut buf = [0u8; 16];
    for (b, &c) in buf
        .iter_mut()
        .zip(name.iter().take(15).take_while(|&&c| c != 0))
    {
        *b = c;
    }
    // SAFETY: the kernel reads at most 16 bytes of `buf`, which lives across the call.
    let _ = unsafe {
        crate::arch::syscall2(
            linux_raw_sys::general::__NR_prctl as usize,
            linux_raw_sys::prctl::PR_SET_NAME as usize,
            buf.as_ptr() as usize,
        )
    };
}

#[cfg(test)]
mod tests {
    /// The count agrees with glibc's `CPU_COUNT` of its `sched_getaffinity`.
    #[test]
    fn cpu_count_is_glibcs() {
        // SAFETY: the set is ours; glibc writes at most its size.
        let glibc = unsafe {
            let mut set: libc::cpu_set_t = core::mem::zeroed();
            assert_eq!(
                libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set),
                0
            );
            libc::CPU_COUNT(&set) as usize
        };
        assert_eq!(super::sched_getaffinity_count(), Ok(glibc));
        // From one byte: EINVAL (not a multiple of a word) until a word, the growth path
        // a machine with more CPUs than the first mask holds takes.
        assert_eq!(super::affinity_count_from(1), Ok(glibc));
    }

    /// `tgkill` of a signal 0 (only checks) reaches the calling thread, and a tid that is
    /// not in this process is ESRCH.
    #[test]
    fn tgkill_checks_the_thread_group() {
        let (pid, tid) = (super::super::getpid(), super::super::gettid());
        assert_eq!(super::tgkill(pid, tid, 0), Ok(()));
        assert_eq!(
            super::tgkill(pid, u32::MAX >> 2, 0),
            Err(crate::Errno::ESRCH)
        );
    }

    /// `set_tid_address(NULL)` answers the caller's tid (in a forked child: a std thread's
    /// clear-child-tid word is glibc's, which its join waits on).
    #[test]
    fn set_tid_address_answers_the_tid() {
        // SAFETY: the child makes system calls only and ends with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: NULL: the kernel keeps no pointer.
            let ok =
                unsafe { super::set_tid_address(core::ptr::null_mut()) } == super::super::gettid();
            super::clear_tid_address();
            super::sched_yield();
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        let mut status = 0;
        // SAFETY: `status` is ours.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert_eq!(status, 0);
    }
}
