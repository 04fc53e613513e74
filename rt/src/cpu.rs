//! The CPU and NUMA node the calling thread runs on, through the vDSO where it exports
//! `getcpu` (x86_64, i386, riscv64) and by system call elsewhere, with the time functions'
//! error rule (a vDSO error but EINVAL is retried once by system call). The answer can be
//! stale by the time it is read: the scheduler may move the thread at any moment.

use crate::errno::Errno;
use crate::vdso::{self, Function, errno_of, retries};

/// (cpu, node) of the calling thread.
#[inline]
pub fn getcpu() -> Result<(u32, u32), Errno> {
    let (mut cpu, mut node) = (0u32, 0u32);
    let r = vdso::getcpu(&mut cpu, &mut node);
    if r != 0 {
        if !retries(r as isize, || vdso::is_syscall(Function::Getcpu)) {
            return Err(errno_of(r as isize));
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
        r => Err(errno_of(r as isize)),
    }
}
