//! `--check`: reads lists of checksums, hashes the files they name, and reports as GNU's
//! `sha256sum -c` does.

use crate::names;
use crate::pool::{self, CHUNK, Job, Sum};
use crate::{Options, Ui, decimal};
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::CStr;
use tinyrt::Errno;
use tinyrt::io::{self, AsFd, BorrowedFd, STDIN};

/// What lasts from one list to the next: whether the lines seen so far were the
/// `HASH NAME` form (one space, BSD's `md5 -r`) or GNU's (`HASH  NAME`, `HASH *NAME`),
/// once one was seen; the other form is then refused, as GNU refuses it.
#[derive(Default)]
pub struct State {
    reversed: Option<bool>,
}

/// A file a list names, with the digest it should have.
struct Listed {
    /// The name with a NUL after it (never one inside).
    path: Vec<u8>,
    expected: Sum,
}

/// One line's outcome, in the order of the lines.
enum Outcome {
    /// Not a checksum line: its number.
    Malformed(u64),
    Hashed(Listed, Result<Sum, Errno>),
    /// The list itself could not be read on.
    ReadError,
}

/// The tallies of one list.
#[derive(Default)]
struct Tally {
    formatted: bool,
    malformed: u64,
    unreadable: u64,
    mismatched: u64,
    matched: bool,
}

/// Checks the list in `file` (`-`: standard input); false when anything failed.
pub fn check_file(ui: &mut Ui, o: &Options, state: &mut State, file: &CStr) -> bool {
    let from_stdin = file.to_bytes() == b"-";
    let shown: &[u8] = if from_stdin {
        b"standard input"
    } else {
        file.to_bytes()
    };
    let mut quoted = Vec::new();
    names::quote_into(&mut quoted, shown);
    let owned = if from_stdin {
        None
    } else {
        match pool::open(file) {
            Ok(fd) => Some(fd),
            Err(e) => {
                ui.file_error(shown, e);
                return false;
            }
        }
    };
    let fd = owned.as_ref().map_or(STDIN, |f| f.as_fd());
    let mut lines = Lines::new(fd);
    let mut number = 0u64;
    let mut stop = false;
    let mut t = Tally::default();
    let mut read_error = false;
    pool::run(
        |buf| {
            while !stop {
                let line = match lines.next() {
                    Ok(Some(l)) => l,
                    Ok(None) => return None,
                    Err(_) => {
                        stop = true;
                        return Some(Job::Done(Outcome::ReadError));
                    }
                };
                number += 1;
                if line.first() == Some(&b'#') {
                    continue;
                }
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                let Some(l) =
                    parse(line, &mut state.reversed).filter(|l| !(from_stdin && l.path == b"-\0"))
                else {
                    return Some(Job::Done(Outcome::Malformed(number)));
                };
                if l.path == b"-\0" {
                    let sum = pool::hash_fd(STDIN, buf);
                    return Some(Job::Done(Outcome::Hashed(l, sum)));
                }
                return Some(Job::Work(l));
            }
            None
        },
        |l: Listed, buf| {
            let path = CStr::from_bytes_until_nul(&l.path).unwrap_or_default();
            let sum = pool::hash_file(path, buf);
            Outcome::Hashed(l, sum)
        },
        |r| match r {
            Outcome::Malformed(n) => {
                t.malformed += 1;
                if o.warn {
                    let mut b = [0u8; 20];
                    ui.error(&[
                        &quoted,
                        b": ",
                        decimal(n, &mut b),
                        b": improperly formatted SHA256 checksum line",
                    ]);
                }
            }
            Outcome::Hashed(l, sum) => {
                t.formatted = true;
                let name = l.path.strip_suffix(b"\0").unwrap_or_default();
                let verdict: &[u8] = match sum {
                    Err(Errno::ENOENT) if o.ignore_missing => return,
                    Err(e) => {
                        ui.file_error(name, e);
                        t.unreadable += 1;
                        b": FAILED open or read\n"
                    }
                    Ok(s) if s == l.expected => {
                        t.matched = true;
                        if o.quiet {
                            return;
                        }
                        b": OK\n"
                    }
                    Ok(_) => {
                        t.mismatched += 1;
                        b": FAILED\n"
                    }
                };
                if !o.status {
                    // Here only a newline calls for the escaped form (GNU's rule for these
                    // lines), which then escapes backslashes and carriage returns too.
                    let mut line = Vec::with_capacity(name.len() + 24);
                    if name.contains(&b'\n') {
                        line.push(b'\\');
                        names::escape_into(&mut line, name);
                    } else {
                        line.extend_from_slice(name);
                    }
                    line.extend_from_slice(verdict);
                    ui.out(&line);
                }
            }
            Outcome::ReadError => read_error = true,
        },
    );
    if read_error {
        ui.error(&[&quoted, b": read error"]);
        return false;
    }
    if !t.formatted {
        ui.error(&[&quoted, b": no properly formatted checksum lines found"]);
        return false;
    }
    if !o.status {
        let mut b = [0u8; 20];
        let warn = |ui: &mut Ui, n: u64, one: &[u8], many: &[u8], b: &mut [u8; 20]| {
            if n != 0 {
                ui.error(&[b"WARNING: ", decimal(n, b), if n == 1 { one } else { many }]);
            }
        };
        let (lm, lu, lx) = (t.malformed, t.unreadable, t.mismatched);
        warn(
            ui,
            lm,
            b" line is improperly formatted",
            b" lines are improperly formatted",
            &mut b,
        );
        warn(
            ui,
            lu,
            b" listed file could not be read",
            b" listed files could not be read",
            &mut b,
        );
        warn(
            ui,
            lx,
            b" computed checksum did NOT match",
            b" computed checksums did NOT match",
            &mut b,
        );
        if o.ignore_missing && !t.matched {
            ui.error(&[&quoted, b": no file was verified"]);
        }
    }
    t.mismatched == 0
        && t.unreadable == 0
        && !(o.strict && t.malformed != 0)
        && (!o.ignore_missing || t.matched)
}

/// Reads one checksum line into a `Listed`, or `None` when it is not one. The forms:
/// `[\]HASH  NAME` or `[\]HASH *NAME` (GNU's), `[\]HASH NAME` (BSD's `-r`), and
/// `[\]SHA256 (NAME) = HASH` (`--tag`), after any blanks; a leading `\` means the name is
/// escaped. HASH is 64 hexadecimal digits of either case.
fn parse(s: &[u8], reversed: &mut Option<bool>) -> Option<Listed> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let white = |c: u8| c == b' ' || c == b'\t';
    let mut i = s.iter().take_while(|&&c| white(c)).count();
    let escaped = at(i) == b'\\';
    i += usize::from(escaped);
    if s.get(i..).is_some_and(|r| r.starts_with(b"SHA256")) {
        let mut j = i + 6;
        j += usize::from(at(j) == b' ');
        if at(j) == b'(' {
            return tagged(s.get(j + 1..)?, escaped);
        }
    }
    // At least the digest, a blank and one more byte (two after a second `\`).
    if s.len() - i < 66 + usize::from(at(i) == b'\\') {
        return None;
    }
    let digest = s.get(i..i + 64)?;
    i += 64;
    if !white(at(i)) {
        return None;
    }
    i += 1;
    // Before the form is decided: a line whose digest is not one leaves it undecided.
    let expected = hex(digest)?;
    if s.len() - i == 1 || (at(i) != b' ' && at(i) != b'*') {
        if *reversed == Some(false) {
            return None;
        }
        *reversed = Some(true);
    } else if *reversed != Some(true) {
        *reversed = Some(false);
        i += 1;
    }
    listed(s.get(i..)?, escaped, expected)
}

/// The rest of a `SHA256 (NAME) = HASH` line after its `(`: NAME runs to the last `)`.
fn tagged(s: &[u8], escaped: bool) -> Option<Listed> {
    let close = s.iter().rposition(|&c| c == b')')?;
    let rest = s.get(close + 1..)?;
    let rest = rest.get(
        rest.iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count()..,
    )?;
    let rest = rest.strip_prefix(b"=")?;
    let digest = rest.get(
        rest.iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count()..,
    )?;
    // The digest ends at the line's end or at a NUL byte, as a C string would.
    let expected = hex(digest.split(|&c| c == 0).next()?)?;
    listed(s.get(..close)?, escaped, expected)
}

/// The digest written as exactly 64 hexadecimal digits, of either case.
fn hex(digest: &[u8]) -> Option<Sum> {
    if digest.len() != 64 {
        return None;
    }
    let mut sum = [0u8; 32];
    for (e, pair) in sum.iter_mut().zip(digest.chunks_exact(2)) {
        let nibble = |c: u8| char::from(c).to_digit(16);
        *e = (nibble(*pair.first()?)? << 4 | nibble(*pair.get(1)?)?) as u8;
    }
    Some(sum)
}

/// A `Listed` from a name as written. An unescaped name ends at a NUL byte, as a C string
/// would.
fn listed(name: &[u8], escaped: bool, expected: Sum) -> Option<Listed> {
    let mut path = if escaped {
        names::unescape(name)?
    } else {
        name.split(|&c| c == 0).next()?.to_vec()
    };
    path.push(0);
    Some(Listed { path, expected })
}

/// The lines of a list, read a chunk at a time; a line keeps its newline (the last one may
/// have none).
struct Lines<'a> {
    fd: BorrowedFd<'a>,
    buf: Vec<u8>,
    /// Where the next line starts in `buf`, and where the bytes read end.
    start: usize,
    end: usize,
    eof: bool,
    line: Vec<u8>,
}

impl<'a> Lines<'a> {
    fn new(fd: BorrowedFd<'a>) -> Self {
        Lines {
            fd,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            line: Vec::new(),
        }
    }

    fn next(&mut self) -> Result<Option<&[u8]>, Errno> {
        self.line.clear();
        loop {
            let ready = self.buf.get(self.start..self.end).unwrap_or_default();
            if let Some(nl) = ready.iter().position(|&c| c == b'\n') {
                self.line
                    .extend_from_slice(ready.get(..=nl).unwrap_or_default());
                self.start += nl + 1;
                return Ok(Some(&self.line));
            }
            self.line.extend_from_slice(ready);
            self.start = 0;
            self.end = 0;
            if self.eof {
                return Ok((!self.line.is_empty()).then_some(&self.line[..]));
            }
            match io::read(self.fd, &mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
    }
}
