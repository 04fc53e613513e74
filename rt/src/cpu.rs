//! The CPU and NUMA node the calling thread runs on, through the vDSO where it exports
//! `getcpu` (x86_64, i386, riscv64) and by system call elsewhere. The answer can be stale
//! by the time it is read: the scheduler may move the thread at any moment.

use crate::errno::Errno;
use crate::vdso::{self, Function};

/// (cpu, node) of the calling thread.
#[inline]
pub fn getcpu() -> Result<(u32, u32), Errno> {
    let (mut cpu, mut node) = (0u32, 0u32);
    let r = vdso::getcpu(&mut cpu, &mut node);
    if r != 0 {
        if r == -(Errno::EINVAL.raw()) || vdso::is_syscall(Function::Getcpu) {
            return Err(errno_of(r));
        }
        return syscall_getcpu();
    }
    Ok((cpu, node))
}

/// `getcpu` by system call, bypassing the vDSO.
pub fn syscall_getcpu() -> Result<(u32, u32), Errno> {
    let (mut cpu, mut node) = (0u32, 0u32);
    match vdso::call_sys_getcpu(&mut cpu, &mut node) {
        0 => Ok((cpu, node)),
        r => Err(errno_of(r)),
    }
}

/// The error of a nonzero raw result (a negated errno; anything else is EINVAL).
fn errno_of(r: i32) -> Errno {
    Errno::new(r.checked_neg().unwrap_or(0)).unwrap_or(Errno::EINVAL)
}
