//! Writing to file descriptors, and `print!`-style formatting without allocation.
//!
//! `print!`, `println!`, `eprint!` and `eprintln!` format into a 512-byte buffer on the stack
//! and write it out whenever it fills and at the end, so a line usually costs one `write`.
//! Unlike std's, they never panic. A failed `print!` to standard output is reported when
//! `main` returns, as GNU's tools do: `PROGRAM: write error: No space left on device` on
//! standard error, and an exit status of 0 becomes 1 (a closed pipe still raises SIGPIPE
//! first, whose default action ends the process, as in C). Failed writes to standard error
//! are dropped, and so is the report when the program ends by `process::exit` instead of
//! returning from `main`. Use [`write_all`] or [`write_fmt`] to see errors as they happen.
//!
//! Descriptors are std's shape ([`OwnedFd`], [`BorrowedFd`], [`AsFd`], ...: see
//! [`fd`](crate::fd)); the functions here take any [`AsFd`] (`STDOUT`, `&owned`, `&timer`,
//! a `BorrowedFd`).
//!
//! ```
//! use tinyrt_rt::{io, process};
//!
//! let (r, w) = process::pipe().unwrap();
//! io::write_all(&w, b"first ").unwrap();
//! io::write_fmt(&w, format_args!("{} {:03}", "then", 7)).unwrap();
//! drop(w); // the end of file for the reader
//! let mut buf = [0u8; 32];
//! let n = io::read_full(&r, &mut buf).unwrap();
//! assert_eq!(&buf[..n], b"first then 007");
//! ```

use crate::errno::Errno;
use core::fmt;

/// The descriptor types, here too, where the functions that take them are.
#[doc(no_inline)]
pub use crate::fd::{
    AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd, STDERR, STDIN, STDOUT,
};

/// Opens `/dev/null` on each of the descriptors 0, 1 and 2 that is closed, as std does
/// before `main`: otherwise the program's first `open` or `pipe` would take the number, and
/// what it prints would go into that file or pipe. One `ppoll` when all three are open
/// (`tinyrt::main!` calls this unless told `unsafe(keep_closed_stdio)`). `Err` when one is closed
/// and `/dev/null` cannot be opened onto it (the descriptor stays closed).
pub fn open_closed_std_fds() -> Result<(), Errno> {
    for (fd, closed) in crate::sys::closed_std_fds().into_iter().enumerate() {
        if closed {
            // The lowest free number: this one, since the ones below it are open by now.
            // (Not close-on-exec, and kept open for good: given up as a number.)
            let got = crate::sys::open(c"/dev/null", linux_raw_sys::general::O_RDWR, 0)?;
            if got.as_raw_fd() != fd as RawFd {
                return Err(Errno::EBADF);
            }
            let _ = got.into_raw_fd();
        }
    }
    Ok(())
}

/// `write(2)` once: the number of bytes the kernel took.
#[inline(always)]
pub fn write(fd: impl AsFd, buf: &[u8]) -> Result<usize, Errno> {
    crate::sys::write(fd.as_fd().as_raw_fd(), buf)
}

/// Writes all of `buf`, continuing after short writes and retrying `EINTR`.
#[inline(always)]
pub fn write_all(fd: impl AsFd, buf: &[u8]) -> Result<(), Errno> {
    write_all_to(fd.as_fd(), buf)
}

/// [`write_all`], once for every kind of descriptor (the generic shell above is always
/// inlined, so that a program has one copy of this, not one per descriptor type).
fn write_all_to(fd: BorrowedFd<'_>, mut buf: &[u8]) -> Result<(), Errno> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(Errno::EIO),
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

const BUF: usize = 512;

struct Buffered<'fd> {
    fd: BorrowedFd<'fd>,
    len: usize,
    buf: [u8; BUF],
    err: Option<Errno>,
}

impl Buffered<'_> {
    fn flush(&mut self) {
        if self.len > 0 {
            if let Err(e) = write_all_to(self.fd, &self.buf[..self.len]) {
                self.err.get_or_insert(e);
            }
            self.len = 0;
        }
    }
}

impl fmt::Write for Buffered<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut b = s.as_bytes();
        while !b.is_empty() {
            if self.len == BUF {
                self.flush();
            }
            let n = b.len().min(BUF - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&b[..n]);
            self.len += n;
            b = &b[n..];
        }
        Ok(())
    }
}

/// Formats `args` and writes the result to `fd`, reporting the first write error.
#[inline(always)]
pub fn write_fmt(fd: impl AsFd, args: fmt::Arguments<'_>) -> Result<(), Errno> {
    write_fmt_to(fd.as_fd(), args)
}

/// [`write_fmt`], once for every kind of descriptor.
fn write_fmt_to(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) -> Result<(), Errno> {
    let mut w = Buffered {
        fd,
        len: 0,
        buf: [0; BUF],
        err: None,
    };
    let _ = fmt::write(&mut w, args);
    w.flush();
    match w.err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[doc(hidden)]
pub fn _print(fd: BorrowedFd<'static>, args: fmt::Arguments<'_>) {
    if let Err(e) = write_fmt_to(fd, args)
        && fd.as_raw_fd() == STDOUT.as_raw_fd()
    {
        stdout_failed(e);
    }
}

/// The first failed `print!` to standard output (0: none yet).
static STDOUT_ERROR: core::sync::atomic::AtomicU16 = core::sync::atomic::AtomicU16::new(0);

/// Keeps the first error of a print to standard output, and has `main!` report it when
/// `main` returns (only a program that prints carries the report and the errors' texts).
#[cold]
#[inline(never)]
fn stdout_failed(e: Errno) {
    use core::sync::atomic::Ordering::Relaxed;
    let _ = STDOUT_ERROR.compare_exchange(0, e.raw() as u16, Relaxed, Relaxed);
    // Release there, Acquire in `sys::exit_report`: the error above is seen with it.
    crate::sys::set_exit_report(report_stdout_error);
}

/// `n` in decimal, written at the end of `buf` (20 digits hold any `usize`), without a
/// path that could panic (for the reports made where `core::fmt` is too much).
pub(crate) fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    while let Some(d) = at.checked_sub(1).and_then(|i| buf.get_mut(i)) {
        *d = b'0' + (n % 10) as u8;
        at -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(at..).unwrap_or_default()
}

/// As GNU's tools at exit: `PROGRAM: write error: TEXT` on standard error, and a status of
/// 0 becomes 1.
fn report_stdout_error(code: i32) -> i32 {
    let raw = STDOUT_ERROR.load(core::sync::atomic::Ordering::Relaxed);
    // (Read after `sys::exit_report`'s Acquire of the pointer `stdout_failed` stored
    // with Release after this error.)
    let Some(e) = Errno::new(raw as i32) else {
        return code;
    };
    let program = crate::env::args()
        .next()
        .map_or(&b"tinyrt"[..], |a| a.to_bytes());
    // The texts of the errors a write gives, not the whole table (3.5 KiB in every program
    // that prints); another error says its number.
    let mut digits = [0u8; 20];
    let parts: [&[u8]; 4] = match e.write_error_text() {
        Some(t) => [program, b": write error: ", t.as_bytes(), b"\n"],
        None => [
            program,
            b": write error: os error ",
            decimal(raw as usize, &mut digits),
            b"\n",
        ],
    };
    for part in parts {
        let _ = write_all(STDERR, part);
    }
    if code == 0 { 1 } else { code }
}

/// Formats to standard output; see the [module](crate::io) documentation.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDOUT, format_args!($($arg)*)) };
}

/// Formats a line to standard output; see the [module](crate::io) documentation.
#[macro_export]
macro_rules! println {
    () => { $crate::io::_print($crate::io::STDOUT, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::io::_print($crate::io::STDOUT, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Formats to standard error; see the [module](crate::io) documentation.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::io::_print($crate::io::STDERR, format_args!($($arg)*)) };
}

/// Formats a line to standard error; see the [module](crate::io) documentation.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::io::_print($crate::io::STDERR, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::io::_print($crate::io::STDERR, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `read(2)` once: the number of bytes read, 0 at end of file.
#[inline(always)]
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> Result<usize, Errno> {
    crate::sys::read(fd.as_fd().as_raw_fd(), buf)
}

/// Reads until end of file or until `buf` is full, retrying `EINTR`: the number of bytes.
#[inline(always)]
pub fn read_full(fd: impl AsFd, buf: &mut [u8]) -> Result<usize, Errno> {
    read_full_from(fd.as_fd(), buf)
}

/// [`read_full`], once for every kind of descriptor.
fn read_full_from(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut n = 0;
    while n < buf.len() {
        let rest = buf.get_mut(n..).unwrap_or_default();
        match read(fd, rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the whole file at `path` into `buf`; the number of bytes read. A file that does
/// not fit is `Err(EFBIG)`. Retries `EINTR`.
pub fn read_file(path: &core::ffi::CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    use linux_raw_sys::general::{O_CLOEXEC, O_RDONLY};
    let fd = crate::sys::open(path, O_RDONLY | O_CLOEXEC, 0)?;
    let mut len = 0;
    let r = loop {
        if len == buf.len() {
            // Full: there must be nothing more to read.
            let mut probe = [0u8; 1];
            match read(&fd, &mut probe) {
                Ok(0) => break Ok(len),
                Ok(_) => break Err(Errno::EFBIG),
                Err(Errno::EINTR) => continue,
                Err(e) => break Err(e),
            }
        }
        let Some(rest) = buf.get_mut(len..) else {
            break Err(Errno::EFBIG);
        };
        match read(&fd, rest) {
            Ok(0) => break Ok(len),
            Ok(n) => len += n,
            Err(Errno::EINTR) => {}
            Err(e) => break Err(e),
        }
    };
    drop(fd);
    r
}

/// Creates (or truncates) the file at `path` with mode 0644 and writes `data` to it.
pub fn write_file(path: &core::ffi::CStr, data: &[u8]) -> Result<(), Errno> {
    use linux_raw_sys::general::{O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY};
    let fd = crate::sys::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)?;
    let r = write_all(&fd, data);
    // close's error counts here (a full disk may show only then): not the silent drop.
    let c = crate::sys::close(fd.into_raw_fd());
    r.and(c)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::ToString;

    #[test]
    fn decimal_writes_what_std_formats() {
        for n in [0, 7, 10, 4_194_304, usize::MAX] {
            assert_eq!(super::decimal(n, &mut [0; 20]), n.to_string().as_bytes());
        }
    }
}
