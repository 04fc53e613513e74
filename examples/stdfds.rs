//! `stdfds [FILE]`: where the descriptors 0, 1 and 2 lead when `main` starts (the link of
//! `/proc/self/fd/N`, or `closed`), then the two numbers a new pipe gets; one line each, to
//! FILE (opened last) or else to standard error. Started with standard descriptors closed,
//! it shows what `tinyrt::main!` did about them: each closed one is `/dev/null` by then, and
//! the pipe gets 3 and 4, not a number the program's output would go to.
#![no_std]
#![no_main]

use tinyrt::io::{AsRawFd, FromRawFd, OwnedFd};
use tinyrt::syscall::{nr, syscall4};
use tinyrt::{Errno, eprintln};

tinyrt::main!(main);

const AT_FDCWD: isize = -100;

/// The link of `/proc/self/fd/N` into `buf`, or `None` when N is not open.
fn target(fd: u8, buf: &mut [u8; 128]) -> Option<&str> {
    let path = [
        b'/',
        b'p',
        b'r',
        b'o',
        b'c',
        b'/',
        b's',
        b'e',
        b'l',
        b'f',
        b'/',
        b'f',
        b'd',
        b'/',
        b'0' + fd,
        0,
    ];
    // SAFETY: the path is NUL-terminated and the kernel writes at most `buf.len()` bytes.
    let r = unsafe {
        syscall4(
            nr::__NR_readlinkat,
            AT_FDCWD as usize,
            path.as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    };
    let n = Errno::from_ret(r).ok()?;
    core::str::from_utf8(buf.get(..n)?).ok()
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    args.next();
    let mut links = [[0u8; 128]; 3];
    let [a, b, c] = &mut links;
    let found = [target(0, a), target(1, b), target(2, c)];
    let (r, w) = match tinyrt::process::pipe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("stdfds: pipe: {e}");
            return 1;
        }
    };
    let file = match args.next() {
        None => None,
        Some(path) => {
            const FLAGS: usize = 0o1 | 0o100 | 0o1000 | 0o2000000; // O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC
            // SAFETY: the path is NUL-terminated and borrowed for the call.
            let r = unsafe {
                syscall4(
                    nr::__NR_openat,
                    AT_FDCWD as usize,
                    path.as_ptr() as usize,
                    FLAGS,
                    0o644,
                )
            };
            match Errno::from_ret(r) {
                // SAFETY: a new descriptor from the kernel: nothing else owns it.
                Ok(fd) => Some(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
                Err(e) => {
                    eprintln!("stdfds: {}: {e}", path.to_str().unwrap_or("?"));
                    return 1;
                }
            }
        }
    };
    let out = match &file {
        Some(f) => tinyrt::io::AsFd::as_fd(f),
        None => tinyrt::io::STDERR,
    };
    let mut result = Ok(());
    for (fd, link) in found.iter().enumerate() {
        result = result.and(tinyrt::io::write_fmt(
            out,
            format_args!("{fd} {}\n", link.unwrap_or("closed")),
        ));
    }
    result = result.and(tinyrt::io::write_fmt(
        out,
        format_args!("pipe {} {}\n", r.as_raw_fd(), w.as_raw_fd()),
    ));
    match result {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
