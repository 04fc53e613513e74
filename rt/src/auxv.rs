//! The auxiliary vector: what the kernel tells a new program about itself and the machine.
//!
//! Typed getters for the entries programs use, a getauxval-style [`get`], and [`iter`] over
//! every (key, value) pair in the kernel's order. Keys are the `AT_*` numbers, re-exported
//! from `linux-raw-sys` in [`keys`].
//!
//! Where the vector comes from ([`source`]):
//!
//! 1. the initial stack that tinyrt's `_start` recorded (see `crate::stack`), always when
//!    `_start` was ours;
//! 2. otherwise ("library mode": tinyrt-rt inside a std program, or under another crt0)
//!    `prctl(PR_GET_AUXV)` (Linux 6.4+),
//! 3. then `/proc/self/auxv`,
//! 4. else nothing: every getter answers `None` (and the vDSO is not used).
//!
//! Steps 2 and 3 are the crate feature `library-mode` (on by default). The `tinyrt` facade
//! turns it off: under tinyrt's own `_start` the stack is always there, and a program that
//! reads a clock then carries no auxv reader it can never run (about 1 KiB). Without the
//! feature, a program not started by tinyrt's `_start` has no vector (step 4).
//!
//! A library-mode copy is read once, on first use, into a static table of atomic words:
//! racing first users (threads, or a signal handler interrupting one) each read the same
//! kernel data and store the same values, so nobody waits and no lock is taken.
//!
//! # Safety
//!
//! `AT_EXECFN`, `AT_PLATFORM`, `AT_BASE_PLATFORM`, `AT_RANDOM` and `AT_SYSINFO_EHDR` hold
//! addresses that tinyrt dereferences (the last one: the vDSO code builds slices over the
//! image there). The first four are only dereferenced when the vector is the one on this
//! process's initial stack, where the kernel put the strings and bytes they point at, alive
//! until the process exits; in library mode their getters answer `None`.
//! `AT_SYSINFO_EHDR` ([`sysinfo_ehdr`]) comes from the initial stack, or in library mode
//! from `/proc/self/auxv` only: a copy read through `prctl(PR_GET_AUXV)` is trusted for it
//! only where the file holds the same pairs. An emulator may pass that prctl through to the
//! kernel, which then describes the emulator's own process (valgrind's host, whose vDSO its
//! guest must not touch), while it emulates the file for its guest.
#![allow(unsafe_code)]

use core::ffi::{CStr, c_char};

/// The `AT_*` key numbers.
pub mod keys {
    pub use linux_raw_sys::auxvec::*;
}
use keys::*;

/// One entry of the auxiliary vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The `AT_*` key.
    pub key: usize,
    /// Its value: a number, flags or an address, depending on the key.
    pub value: usize,
}

/// Where the auxiliary vector was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The initial stack, handed over by tinyrt's `_start`.
    Stack,
    /// `prctl(PR_GET_AUXV)`, in library mode.
    Prctl,
    /// `/proc/self/auxv`, in library mode when prctl failed.
    ProcSelfAuxv,
    /// None of them: the vector is empty.
    Unavailable,
}

/// Where the vector comes from in this process (reading it on first use).
pub fn source() -> Source {
    view().0
}

/// The library-mode source, chosen here and nowhere else: with the feature `library-mode`
/// the reader of prctl and /proc/self/auxv, without it a stub that has no vector. Each
/// defines the `View` of the vector in use (the stack's, or the library-mode copy).
#[cfg_attr(feature = "library-mode", path = "auxv/library.rs")]
#[cfg_attr(not(feature = "library-mode"), path = "auxv/none.rs")]
mod library;
use library::View;

fn view() -> (Source, View) {
    if let Some(s) = crate::stack::auxv() {
        return (Source::Stack, View::stack(s));
    }
    library::view()
}

/// Entry `i` of the stack's pairs; `None` past the end (which callers never ask for, but
/// it costs no panic path).
#[inline(always)]
fn stack_entry(s: &'static [[usize; 2]], i: usize) -> Option<Entry> {
    s.get(i).map(|&[key, value]| Entry { key, value })
}

/// An iterator over the auxiliary vector; see [`iter`].
#[derive(Clone)]
pub struct Iter {
    view: View,
    front: usize,
    back: usize,
}

impl Iterator for Iter {
    type Item = Entry;
    fn next(&mut self) -> Option<Entry> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.view.at(self.front - 1)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Entry> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.view.at(self.back)
    }
}

impl ExactSizeIterator for Iter {}

/// Every entry, in the kernel's order, without the terminating `AT_NULL`.
pub fn iter() -> Iter {
    let view = view().1;
    Iter {
        view,
        front: 0,
        back: view.len(),
    }
}

/// The value of `key`, like C's `getauxval`, except that an absent key is `None` rather than
/// 0 (many keys are legitimately 0). The first entry with the key wins.
pub fn get(key: u32) -> Option<usize> {
    // The stack's pairs are walked up to the key (nothing counted); the library-mode copy
    // is searched in place.
    if crate::stack::started_by_tinyrt() {
        return stack_get(key);
    }
    let view = library::view().1;
    (0..view.len())
        .filter_map(|i| view.at(i))
        .find(|e| e.key == key as usize)
        .map(|e| e.value)
}

/// `get`, but only from the initial stack: for keys whose values are pointers.
fn stack_get(key: u32) -> Option<usize> {
    crate::stack::auxv_entry(key as usize).map(|e| e[1])
}

/// `get` for a key whose value is a mapping's address: from the initial stack, or in
/// library mode from a copy that `/proc/self/auxv` vouches for (never from prctl alone).
fn mapping_get(key: u32) -> Option<usize> {
    if crate::stack::started_by_tinyrt() {
        return stack_get(key);
    }
    let value = get(key);
    value.filter(|_| library::file_vouches())
}

fn string(key: u32) -> Option<&'static CStr> {
    let p = stack_get(key)?;
    // SAFETY: the vector is the initial stack's (see the module's Safety section): the
    // kernel points these keys at NUL-terminated strings it wrote there.
    unsafe { crate::stack::cstr(p as *const c_char) }
}

/// `AT_PAGESZ`: the page size in bytes.
pub fn page_size() -> Option<usize> {
    get(AT_PAGESZ)
}

/// `AT_CLKTCK`: the frequency of `times()` ticks (`sysconf(_SC_CLK_TCK)`).
pub fn clock_ticks() -> Option<usize> {
    get(AT_CLKTCK)
}

/// `AT_RANDOM`: 16 random bytes the kernel placed on the stack at exec. A cheap seed, never
/// to be used as a key by itself (the same bytes are visible to anyone who can read it).
pub fn random_bytes() -> Option<&'static [u8; 16]> {
    let p = stack_get(AT_RANDOM)?;
    if p == 0 {
        return None;
    }
    // SAFETY: the kernel points AT_RANDOM at 16 bytes on the initial stack (module Safety).
    Some(unsafe { &*(p as *const [u8; 16]) })
}

/// `AT_SECURE`: whether the program runs with privileges its invoker lacks (setuid, file
/// capabilities, an LSM transition); such a program must distrust its environment. Without
/// the key (kernels before 2.6.0), falls back to comparing the real and effective ids, and
/// answers `true` when even those are missing: when in doubt, be careful.
pub fn secure() -> bool {
    if let Some(v) = get(AT_SECURE) {
        return v != 0;
    }
    match (get(AT_UID), get(AT_EUID), get(AT_GID), get(AT_EGID)) {
        (Some(u), Some(eu), Some(g), Some(eg)) => u != eu || g != eg,
        _ => true,
    }
}

/// `AT_HWCAP`: the architecture's CPU feature bits.
pub fn hwcap() -> Option<usize> {
    get(AT_HWCAP)
}

/// `AT_HWCAP2`: more CPU feature bits.
pub fn hwcap2() -> Option<usize> {
    get(AT_HWCAP2)
}

/// `AT_EXECFN`: the path name the program was executed by.
pub fn execfn() -> Option<&'static CStr> {
    string(AT_EXECFN)
}

/// `AT_PLATFORM`: a string naming the CPU (`"x86_64"`, `"aarch64"`, `"v7l"`, ...).
pub fn platform() -> Option<&'static CStr> {
    string(AT_PLATFORM)
}

/// `AT_BASE_PLATFORM`: the real platform where it differs from `AT_PLATFORM` (PowerPC).
pub fn base_platform() -> Option<&'static CStr> {
    string(AT_BASE_PLATFORM)
}

/// `AT_MINSIGSTKSZ`: the smallest signal stack the kernel needs on this CPU (Linux 5.14+ on
/// x86; arm64 since 4.18).
pub fn min_sigstack_size() -> Option<usize> {
    get(AT_MINSIGSTKSZ)
}

/// `AT_SYSINFO_EHDR`: the address of the vDSO's ELF header, if the kernel mapped one. From
/// the initial stack, or in library mode from `/proc/self/auxv`: where only prctl could be
/// read, `None` (see the module's Safety section), and the system calls serve.
pub fn sysinfo_ehdr() -> Option<usize> {
    mapping_get(AT_SYSINFO_EHDR).filter(|&a| a != 0)
}

/// `AT_PHDR`, `AT_PHENT`, `AT_PHNUM`: where the program's own program headers are mapped,
/// the size of one, and how many.
pub fn program_headers() -> Option<(usize, usize, usize)> {
    Some((get(AT_PHDR)?, get(AT_PHENT)?, get(AT_PHNUM)?))
}

/// `AT_ENTRY`: the program's entry point.
pub fn entry() -> Option<usize> {
    get(AT_ENTRY)
}

/// `AT_BASE`: the load address of the ELF interpreter (0 for a static program).
pub fn interpreter_base() -> Option<usize> {
    get(AT_BASE)
}

/// Real and effective user and group ids at exec: (uid, euid, gid, egid).
pub fn ids() -> Option<(usize, usize, usize, usize)> {
    Some((get(AT_UID)?, get(AT_EUID)?, get(AT_GID)?, get(AT_EGID)?))
}

/// The `AT_*` name of a key (`"AT_PAGESZ"`), or `None` for a key this build does not know.
pub fn name(key: usize) -> Option<&'static str> {
    macro_rules! names {
        ($($k:ident)*) => {
            match u32::try_from(key).ok()? {
                $($k => Some(stringify!($k)),)*
                _ => None,
            }
        };
    }
    names!(AT_NULL AT_IGNORE AT_EXECFD AT_PHDR AT_PHENT AT_PHNUM AT_PAGESZ AT_BASE AT_FLAGS
        AT_ENTRY AT_NOTELF AT_UID AT_EUID AT_GID AT_EGID AT_PLATFORM AT_HWCAP AT_CLKTCK
        AT_SECURE AT_BASE_PLATFORM AT_RANDOM AT_HWCAP2 AT_RSEQ_FEATURE_SIZE AT_RSEQ_ALIGN
        AT_HWCAP3 AT_HWCAP4 AT_EXECFN AT_SYSINFO_EHDR AT_MINSIGSTKSZ)
    .or_else(|| crate::arch::auxv_name(key))
}
