//! The auxiliary vector: what the kernel tells a new program about itself and the machine.
//!
//! Typed getters for the entries programs use, a getauxval-style [`get`], and [`iter`] over
//! every (key, value) pair in the kernel's order. A key is a [`Key`], whose constants are the
//! kernel's `AT_*` numbers (`Key::PAGESZ` is `AT_PAGESZ`).
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
//! ```
//! use tinyrt_rt::auxv::{self, Key};
//!
//! // Every Linux kernel passes the page size; a typed getter and `get` read the same entry.
//! let page = auxv::page_size().expect("AT_PAGESZ");
//! assert!(page.is_power_of_two());
//! assert_eq!(auxv::get(Key::PAGESZ), Some(page));
//! assert_eq!(Key::PAGESZ.name(), Some("AT_PAGESZ"));
//! assert_eq!(format!("{:?}", Key::PAGESZ), "Key(AT_PAGESZ)");
//! // Every entry, in the kernel's order; a key this build does not know keeps its number.
//! assert!(auxv::iter().any(|e| e.key == Key::PAGESZ && e.value == page));
//! assert_eq!(Key::from_raw(4242).name(), None);
//! ```
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

/// A key of the auxiliary vector: the kernel's `AT_*` number. `Debug` shows its name where
/// it has one (`Key(AT_PAGESZ)`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(usize);

/// Defines `Key`'s constants and the names [`Key::name`] knows, from one list.
macro_rules! keys {
    ($($(#[$m:meta])* $c:ident = $at:ident;)*) => {
        impl Key {
            $($(#[$m])* #[doc = concat!("`", stringify!($at), "`.")]
            pub const $c: Key = Key(linux_raw_sys::auxvec::$at as usize);)*
        }

        /// The generic keys' names.
        fn generic_name(key: Key) -> Option<&'static str> {
            match key {
                $(Key::$c => Some(stringify!($at)),)*
                _ => None,
            }
        }
    };
}

keys! {
    /// The end of the vector (never an entry of [`iter`]).
    NULL = AT_NULL; IGNORE = AT_IGNORE; EXECFD = AT_EXECFD; PHDR = AT_PHDR; PHENT = AT_PHENT;
    PHNUM = AT_PHNUM; PAGESZ = AT_PAGESZ; BASE = AT_BASE; FLAGS = AT_FLAGS; ENTRY = AT_ENTRY;
    NOTELF = AT_NOTELF; UID = AT_UID; EUID = AT_EUID; GID = AT_GID; EGID = AT_EGID;
    PLATFORM = AT_PLATFORM; HWCAP = AT_HWCAP; CLKTCK = AT_CLKTCK; SECURE = AT_SECURE;
    BASE_PLATFORM = AT_BASE_PLATFORM; RANDOM = AT_RANDOM; HWCAP2 = AT_HWCAP2;
    RSEQ_FEATURE_SIZE = AT_RSEQ_FEATURE_SIZE; RSEQ_ALIGN = AT_RSEQ_ALIGN; HWCAP3 = AT_HWCAP3;
    HWCAP4 = AT_HWCAP4; EXECFN = AT_EXECFN; SYSINFO_EHDR = AT_SYSINFO_EHDR;
    MINSIGSTKSZ = AT_MINSIGSTKSZ;
}

impl Key {
    /// The key with this number (any number: the kernel may add keys).
    #[must_use]
    pub const fn from_raw(raw: usize) -> Key {
        Key(raw)
    }

    /// Its number.
    #[must_use]
    pub const fn raw(self) -> usize {
        self.0
    }

    /// Its `AT_*` name (`"AT_PAGESZ"`), also for this architecture's own keys
    /// (`"AT_SYSINFO"` on i686), or `None` for a key this build does not know.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        generic_name(self).or_else(|| crate::arch::auxv_name(self.0))
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Key({name})"),
            None => write!(f, "Key({})", self.0),
        }
    }
}

/// One entry of the auxiliary vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The `AT_*` key.
    pub key: Key,
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
#[must_use]
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
    s.get(i).map(|&[key, value]| Entry {
        key: Key(key),
        value,
    })
}

/// An iterator over the auxiliary vector; see [`iter`].
#[derive(Clone)]
pub struct Iter {
    view: View,
    front: usize,
    back: usize,
}

impl core::fmt::Debug for Iter {
    /// The entries still to come.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
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
#[must_use]
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
#[must_use]
pub fn get(key: Key) -> Option<usize> {
    // The stack's pairs are walked up to the key (nothing counted); the library-mode copy
    // is searched in place.
    if crate::stack::started_by_tinyrt() {
        return stack_get(key);
    }
    let view = library::view().1;
    (0..view.len())
        .filter_map(|i| view.at(i))
        .find(|e| e.key == key)
        .map(|e| e.value)
}

/// `get`, but only from the initial stack: for keys whose values are pointers.
fn stack_get(key: Key) -> Option<usize> {
    crate::stack::auxv_entry(key.0).map(|e| e[1])
}

/// `get` for a key whose value is a mapping's address: from the initial stack, or in
/// library mode from a copy that `/proc/self/auxv` vouches for (never from prctl alone).
fn mapping_get(key: Key) -> Option<usize> {
    if crate::stack::started_by_tinyrt() {
        return stack_get(key);
    }
    let value = get(key);
    value.filter(|_| library::file_vouches())
}

fn string(key: Key) -> Option<&'static CStr> {
    let p = stack_get(key)?;
    // SAFETY: the vector is the initial stack's (see the module's Safety section): the
    // kernel points these keys at NUL-terminated strings it wrote there.
    unsafe { crate::stack::cstr(p as *const c_char) }
}

/// `AT_PAGESZ`: the page size in bytes.
#[must_use]
pub fn page_size() -> Option<usize> {
    get(Key::PAGESZ)
}

/// `AT_CLKTCK`: the frequency of `times()` ticks (`sysconf(_SC_CLK_TCK)`).
#[must_use]
pub fn clock_ticks() -> Option<usize> {
    get(Key::CLKTCK)
}

/// `AT_RANDOM`: 16 random bytes the kernel placed on the stack at exec. A cheap seed, never
/// to be used as a key by itself (the same bytes are visible to anyone who can read it).
#[must_use]
pub fn random_bytes() -> Option<&'static [u8; 16]> {
    let p = stack_get(Key::RANDOM)?;
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
#[must_use]
pub fn secure() -> bool {
    if let Some(v) = get(Key::SECURE) {
        return v != 0;
    }
    match (get(Key::UID), get(Key::EUID), get(Key::GID), get(Key::EGID)) {
        (Some(u), Some(eu), Some(g), Some(eg)) => u != eu || g != eg,
        _ => true,
    }
}

/// `AT_HWCAP`: the architecture's CPU feature bits.
#[must_use]
pub fn hwcap() -> Option<usize> {
    get(Key::HWCAP)
}

/// `AT_HWCAP2`: more CPU feature bits.
#[must_use]
pub fn hwcap2() -> Option<usize> {
    get(Key::HWCAP2)
}

/// `AT_EXECFN`: the path name the program was executed by.
#[must_use]
pub fn execfn() -> Option<&'static CStr> {
    string(Key::EXECFN)
}

/// `AT_PLATFORM`: a string naming the CPU (`"x86_64"`, `"aarch64"`, `"v7l"`, ...).
#[must_use]
pub fn platform() -> Option<&'static CStr> {
    string(Key::PLATFORM)
}

/// `AT_BASE_PLATFORM`: the real platform where it differs from `AT_PLATFORM` (PowerPC).
#[must_use]
pub fn base_platform() -> Option<&'static CStr> {
    string(Key::BASE_PLATFORM)
}

/// `AT_MINSIGSTKSZ`: the smallest signal stack the kernel needs on this CPU (Linux 5.14+ on
/// x86; arm64 since 4.18).
#[must_use]
pub fn min_sigstack_size() -> Option<usize> {
    get(Key::MINSIGSTKSZ)
}

/// `AT_SYSINFO_EHDR`: the address of the vDSO's ELF header, if the kernel mapped one. From
/// the initial stack, or in library mode from `/proc/self/auxv`: where only prctl could be
/// read, `None` (see the module's Safety section), and the system calls serve.
#[must_use]
pub fn sysinfo_ehdr() -> Option<usize> {
    mapping_get(Key::SYSINFO_EHDR).filter(|&a| a != 0)
}

/// `AT_PHDR`, `AT_PHENT`, `AT_PHNUM`: where the program's own program headers are mapped,
/// the size of one, and how many.
#[must_use]
pub fn program_headers() -> Option<(usize, usize, usize)> {
    Some((get(Key::PHDR)?, get(Key::PHENT)?, get(Key::PHNUM)?))
}

/// `AT_ENTRY`: the program's entry point.
#[must_use]
pub fn entry() -> Option<usize> {
    get(Key::ENTRY)
}

/// `AT_BASE`: the load address of the ELF interpreter (0 for a static program).
#[must_use]
pub fn interpreter_base() -> Option<usize> {
    get(Key::BASE)
}

/// Real and effective user and group ids at exec: (uid, euid, gid, egid).
#[must_use]
pub fn ids() -> Option<(usize, usize, usize, usize)> {
    Some((
        get(Key::UID)?,
        get(Key::EUID)?,
        get(Key::GID)?,
        get(Key::EGID)?,
    ))
}
