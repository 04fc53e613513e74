//! The library-mode source of the auxiliary vector (feature `library-mode`): `prctl(PR_GET_AUXV)`
//! (Linux 6.4+), then `/proc/self/auxv`, read once into a static table of atomic words.
//!
//! # Safety
//!
//! The one unsafe block views a local array of words as bytes, to read a file into it.
#![allow(unsafe_code)]

use super::{Entry, Source, stack_entry};
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Words of the library-mode copy: 64 pairs, more than any kernel writes (about 25).
const LIB_WORDS: usize = 128;
static LIB: [AtomicUsize; LIB_WORDS] = [const { AtomicUsize::new(0) }; LIB_WORDS];
static LIB_PAIRS: AtomicUsize = AtomicUsize::new(0);
/// 0: not read yet; 1, 2, 3: read, from prctl, /proc/self/auxv, or nowhere; 4: from prctl,
/// and /proc/self/auxv holds the same pairs.
static LIB_STATE: AtomicU8 = AtomicU8::new(0);

/// The vector in use: the stack's pairs, or the first `n` pairs of the library-mode copy.
#[derive(Clone, Copy)]
pub(super) enum View {
    Stack(&'static [[usize; 2]]),
    Lib(usize),
}

impl View {
    #[inline(always)]
    pub(super) fn stack(s: &'static [[usize; 2]]) -> View {
        View::Stack(s)
    }
    pub(super) fn len(self) -> usize {
        match self {
            View::Stack(s) => s.len(),
            View::Lib(n) => n,
        }
    }
    /// Entry `i` (below `len()`); `None` cannot happen but costs no panic path.
    pub(super) fn at(self, i: usize) -> Option<Entry> {
        match self {
            View::Stack(s) => stack_entry(s, i),
            View::Lib(_) => Some(Entry {
                key: super::Key::from_raw(LIB.get(2 * i)?.load(Ordering::Relaxed)),
                value: LIB.get(2 * i + 1)?.load(Ordering::Relaxed),
            }),
        }
    }
}

/// The library-mode copy, read on first use, and where it came from.
pub(super) fn view() -> (Source, View) {
    let source = match LIB_STATE.load(Ordering::Acquire) {
        0 => read_library_copy(),
        1 | 4 => Source::Prctl,
        2 => Source::ProcSelfAuxv,
        _ => Source::Unavailable,
    };
    (source, View::Lib(LIB_PAIRS.load(Ordering::Relaxed)))
}

/// Reads the vector through prctl, else /proc/self/auxv, into `LIB`. Every racing caller
/// stores the same words; the state is published last, with Release. A failure to read
/// anything is not cached: the next use tries again.
///
/// An emulator may pass PR_GET_AUXV through to the kernel, which then describes the
/// emulator's own process, while it emulates /proc/self/auxv for its guest (valgrind does
/// both: its prctl answer names a vDSO the guest cannot touch). So when both sources can be
/// read and they disagree, the file wins. Natively they are the same bytes.
///
/// Uses one 1 KiB buffer and a 64-byte one on the stack: a first clock read in a signal
/// handler on a small alternate stack must fit.
#[inline(never)] // Once per process; and a symbol tests/size.rs looks for.
fn read_library_copy() -> Source {
    let mut words = [0usize; LIB_WORDS];
    let mut vouched = false;
    let source = if crate::sys::prctl_get_auxv(&mut words).is_ok() {
        match proc_agrees(&words) {
            Some(Agreement::Differs) => read_proc(&mut words),
            agreement => {
                // Only the whole file, up to its AT_NULL, vouches for prctl's addresses.
                vouched = agreement == Some(Agreement::Whole);
                Source::Prctl
            }
        }
    } else {
        read_proc(&mut words)
    };
    if source == Source::Unavailable {
        return source;
    }
    // Pairs up to AT_NULL, or as many as fit.
    let mut pairs = 0;
    while words.get(2 * pairs).is_some_and(|&key| key != 0) && pairs < LIB_WORDS / 2 {
        pairs += 1;
    }
    for (slot, &w) in LIB.iter().zip(words.iter().take(2 * pairs)) {
        slot.store(w, Ordering::Relaxed);
    }
    LIB_PAIRS.store(pairs, Ordering::Relaxed);
    let state = match source {
        Source::Prctl if vouched => 4,
        Source::Prctl => 1,
        _ => 2,
    };
    LIB_STATE.store(state, Ordering::Release);
    source
}

/// Whether the copy in use is what /proc/self/auxv holds (read from it, or from prctl and
/// compared with it), after reading it if nobody has: the copy an address-valued key
/// (`AT_SYSINFO_EHDR`) may be taken from.
pub(super) fn file_vouches() -> bool {
    let _ = view();
    matches!(LIB_STATE.load(Ordering::Acquire), 2 | 4)
}

/// The bytes of `words`, to read a file into.
fn as_bytes_mut(words: &mut [usize; LIB_WORDS]) -> &mut [u8] {
    // SAFETY: any byte pattern is a valid usize and u8 has no alignment: the same memory
    // viewed as bytes, borrowed mutably for no longer than `words`.
    unsafe { core::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), size_of_val(words)) }
}

/// Reads /proc/self/auxv into `words` (zero-filled past its end).
fn read_proc(words: &mut [usize; LIB_WORDS]) -> Source {
    *words = [0; LIB_WORDS];
    match crate::io::read_file(c"/proc/self/auxv", as_bytes_mut(words)) {
        Ok(_) | Err(crate::Errno::EFBIG) => Source::ProcSelfAuxv,
        Err(_) => Source::Unavailable,
    }
}

/// How /proc/self/auxv compares with a copy read through prctl.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Agreement {
    /// A byte differs, or the file is empty or unreadable part-way.
    Differs,
    /// The same bytes as far as the file went, but it ended before its AT_NULL pair.
    Prefix,
    /// The same pairs up to and including AT_NULL.
    Whole,
}

/// Whether /proc/self/auxv holds the same pairs as `words` up to its AT_NULL; `None` when
/// the file cannot be opened.
fn proc_agrees(words: &[usize; LIB_WORDS]) -> Option<Agreement> {
    use linux_raw_sys::general::{O_CLOEXEC, O_RDONLY};
    let fd = crate::sys::open(c"/proc/self/auxv", O_RDONLY | O_CLOEXEC, 0).ok()?;
    let w = size_of::<usize>();
    let mut chunk = [0u8; 64];
    let (mut at, mut agree, mut ended) = (0usize, true, false);
    'read: loop {
        let n = match crate::sys::read(crate::fd::AsRawFd::as_raw_fd(&fd), &mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(crate::Errno::EINTR) => continue,
            Err(_) => {
                agree = false;
                break;
            }
        };
        for &b in chunk.iter().take(n) {
            let (i, k) = (at / w, at % w);
            if words.get(i).and_then(|w| w.to_ne_bytes().get(k).copied()) != Some(b) {
                agree = false;
                break 'read;
            }
            at += 1;
        }
        // Done once a whole AT_NULL pair has been compared.
        let pairs = at / (2 * w);
        if (0..pairs).any(|p| words.get(2 * p) == Some(&0)) {
            ended = true;
            break;
        }
    }
    drop(fd);
    Some(match (agree, ended) {
        (false, _) => Agreement::Differs,
        (true, true) => Agreement::Whole,
        (true, false) if at > 0 => Agreement::Prefix,
        (true, false) => Agreement::Differs,
    })
}
