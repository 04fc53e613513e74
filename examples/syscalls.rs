//! Exercises the raw system call layer with zero to six arguments, each call checked by
//! its effect (not just its return value), and prints `ok N` or the first failure:
//!
//! - 0: `getpid`
//! - 1: `close` of a descriptor just opened (a second close must fail with EBADF)
//! - 2: `munmap`-free `clock_gettime` into a buffer (MONOTONIC > 0)
//! - 3: `read` of /dev/zero into a buffer of 0xff bytes (all bytes become 0)
//! - 4: `openat` of /dev/zero (and of a missing path: ENOENT)
//! - 5: `statx` of `/` (a directory)
//! - 6: `copy_file_range` between two memory files, both offsets by pointer, there and back;
//!   and 200 `mmap`/`munmap` pairs (6 and 2 arguments; s390x's old mmap takes its six in
//!   memory) of varying sizes
//!
//! On i686 the whole set runs through both kernel entries (`int $0x80` and
//! `__kernel_vsyscall`).
#![no_std]
#![no_main]

use linux_raw_sys_constants::*;
use tinyrt::syscall::{nr, syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};
use tinyrt::{Errno, println};

tinyrt::main!(main);

/// The few constants this example needs (the kernel's values; identical on the seven
/// architectures tinyrt supports).
mod linux_raw_sys_constants {
    pub const AT_FDCWD: isize = -100;
    pub const O_RDONLY: usize = 0;
    pub const O_CLOEXEC: usize = 0o2000000;
    pub const STATX_TYPE: usize = 1;
    pub const S_IFMT: u16 = 0o170000;
    pub const S_IFDIR: u16 = 0o040000;
    pub const CLOCK_MONOTONIC: usize = 1;
    /// mmap with 6 arguments: `mmap2` (offset in pages) on 32-bit architectures.
    #[cfg(target_pointer_width = "32")]
    pub const MMAP: usize = tinyrt::syscall::nr::__NR_mmap2;
    #[cfg(target_pointer_width = "64")]
    pub const MMAP: usize = tinyrt::syscall::nr::__NR_mmap;
}

fn ret(r: usize) -> Result<usize, Errno> {
    Errno::from_ret(r)
}

fn check() -> Result<u32, &'static str> {
    let mut n = 0;
    // SAFETY: (every call below) the pointers passed are to live buffers of this function,
    // of the lengths given; the descriptors are ones this function opened.
    unsafe {
        let pid = ret(syscall0(nr::__NR_getpid)).map_err(|_| "getpid")?;
        n += 1;

        let fd = ret(syscall4(
            nr::__NR_openat,
            AT_FDCWD as usize,
            c"/dev/zero".as_ptr() as usize,
            O_RDONLY | O_CLOEXEC,
            0,
        ))
        .map_err(|_| "openat /dev/zero")?;
        let missing = ret(syscall4(
            nr::__NR_openat,
            AT_FDCWD as usize,
            c"/nonexistent/tinyrt".as_ptr() as usize,
            O_RDONLY,
            0,
        ));
        if missing != Err(Errno::ENOENT) {
            return Err("openat of a missing path did not fail with ENOENT");
        }
        n += 1;

        let mut buf = [0xffu8; 64];
        let got = ret(syscall3(
            nr::__NR_read,
            fd,
            buf.as_mut_ptr() as usize,
            buf.len(),
        ))
        .map_err(|_| "read")?;
        if got != buf.len() || buf.iter().any(|&b| b != 0) {
            return Err("read of /dev/zero");
        }
        n += 1;

        ret(syscall1(nr::__NR_close, fd)).map_err(|_| "close")?;
        if ret(syscall1(nr::__NR_close, fd)) != Err(Errno::EBADF) {
            return Err("second close did not fail with EBADF");
        }
        n += 1;

        let mut ts = [0i64; 2];
        let clock_nr = tinyrt::syscall::nr::__NR_clock_gettime;
        // On 32-bit architectures __NR_clock_gettime writes 32-bit fields: accept either.
        ret(syscall2(
            clock_nr,
            CLOCK_MONOTONIC,
            ts.as_mut_ptr() as usize,
        ))
        .map_err(|_| "clock_gettime")?;
        if ts[0] == 0 {
            return Err("clock_gettime wrote nothing");
        }
        n += 1;

        let mut stx = [0u8; 256];
        ret(syscall5(
            nr::__NR_statx,
            AT_FDCWD as usize,
            c"/".as_ptr() as usize,
            0,
            STATX_TYPE,
            stx.as_mut_ptr() as usize,
        ))
        .map_err(|_| "statx")?;
        // struct statx: stx_mode is the u16 at offset 28, in the machine's byte order
        // (big-endian on s390x).
        let mode = u16::from_ne_bytes([stx[28], stx[29]]);
        if mode & S_IFMT != S_IFDIR {
            return Err("statx: / is not a directory");
        }
        n += 1;

        // Two memory files: 48 bytes written to `a` are copied to `b` by the 6-argument
        // copy_file_range (both offsets passed by pointer), then copied back to the end of
        // `a` and read from there.
        let mfd = |name: &core::ffi::CStr| {
            ret(syscall2(nr::__NR_memfd_create, name.as_ptr() as usize, 0))
        };
        let a = mfd(c"tinyrt-a").map_err(|_| "memfd_create")?;
        let b = mfd(c"tinyrt-b").map_err(|_| "memfd_create")?;
        let mut src = [0u8; 48];
        for (i, x) in src.iter_mut().enumerate() {
            *x = i as u8 ^ 0x5a;
        }
        ret(syscall3(
            nr::__NR_write,
            a,
            src.as_ptr() as usize,
            src.len(),
        ))
        .map_err(|_| "write")?;
        let copy = |from: usize, off_in: &mut i64, to: usize, off_out: &mut i64| {
            ret(syscall6(
                nr::__NR_copy_file_range,
                from,
                off_in as *mut i64 as usize,
                to,
                off_out as *mut i64 as usize,
                48,
                0,
            ))
        };
        let (mut off_in, mut off_out) = (0i64, 0i64);
        let there = copy(a, &mut off_in, b, &mut off_out).map_err(|_| "copy_file_range")?;
        if there != 48 || off_in != 48 || off_out != 48 {
            return Err("copy_file_range moved the wrong amounts");
        }
        let (mut back_in, mut back_out) = (0i64, 48i64);
        let back = copy(b, &mut back_in, a, &mut back_out).map_err(|_| "copy_file_range back")?;
        // `a`'s own file offset is 48, after the write: the copied-back bytes are next.
        let mut dst = [0u8; 48];
        let got = ret(syscall3(
            nr::__NR_read,
            a,
            dst.as_mut_ptr() as usize,
            dst.len(),
        ))
        .map_err(|_| "read back")?;
        if back != 48 || got != 48 || dst != src {
            return Err("copy_file_range copied the wrong bytes");
        }
        let _ = (syscall1(nr::__NR_close, a), syscall1(nr::__NR_close, b));
        if pid == 0 {
            return Err("getpid returned 0");
        }
        n += 1;

        // Mappings of varying sizes, written at both ends, then unmapped: the 6-argument
        // mmap and the 2-argument munmap in a loop.
        for i in 0..200usize {
            let len = 4096 * (1 + i % 7);
            let args = [0, len, 3, 0x22, usize::MAX, 0];
            // s390x's mmap is the old one: one argument, the address of the six (its
            // 6-argument calls are checked by copy_file_range above).
            #[cfg(target_arch = "s390x")]
            let p = ret(syscall1(MMAP, args.as_ptr() as usize)).map_err(|_| "mmap")?;
            #[cfg(not(target_arch = "s390x"))]
            let p = ret(syscall6(
                MMAP, args[0], args[1], args[2], args[3], args[4], args[5],
            ))
            .map_err(|_| "mmap")?;
            let m = core::slice::from_raw_parts_mut(p as *mut u8, len);
            m[0] = 7;
            m[len - 1] = i as u8;
            if core::hint::black_box(m[len - 1]) != i as u8 {
                return Err("mapping lost a write");
            }
            ret(syscall2(nr::__NR_munmap, p, len)).map_err(|_| "munmap")?;
        }
        n += 1;
    }
    Ok(n)
}

fn main() -> i32 {
    entries(|name| match check() {
        Ok(n) => {
            println!("ok {} {}", n, name);
            0
        }
        Err(e) => {
            println!("FAILED {} {}", e, name);
            1
        }
    })
}

/// Runs `f` once per kernel entry: both on i686, the only one elsewhere.
#[cfg(target_arch = "x86")]
fn entries(mut f: impl FnMut(&str) -> i32) -> i32 {
    use tinyrt::syscall::arch::{SyscallEntry, syscall_entry, use_vsyscall};
    let a = f(match syscall_entry() {
        SyscallEntry::Vsyscall(_) => "default=vsyscall",
        SyscallEntry::Int80 => "default=int80",
    });
    use_vsyscall(false);
    let b = f("int80");
    use_vsyscall(true);
    let c = f("vsyscall");
    a | b | c
}

#[cfg(not(target_arch = "x86"))]
fn entries(mut f: impl FnMut(&str) -> i32) -> i32 {
    f("default")
}
