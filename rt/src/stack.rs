//! The initial process stack, as the kernel laid it out and crt0 handed it over: the bottom
//! layer of the crate, which imports nothing from it.
//!
//! At `_start` the stack pointer points at `argc`; above it, in place, lie the argument and
//! environment pointer arrays and the auxiliary vector (ELF ABI, Linux `fs/binfmt_elf.c`):
//!
//! ```text
//!   sp ──▶ ┌──────────────────────────┐  low addresses
//!          │ argc                     │  one word
//!          ├──────────────────────────┤
//!          │ argv[0] .. argv[argc-1]  │  argc pointers to NUL-terminated strings
//!          │ NULL                     │
//!          ├──────────────────────────┤
//!          │ envp[0] .. envp[n-1]     │  "NAME=value" strings; n is not given anywhere
//!          │ NULL                     │
//!          ├──────────────────────────┤
//!          │ auxv: (key, value) pairs │  two words each
//!          │ (AT_NULL, 0)             │
//!          ├──────────────────────────┤
//!          │ padding, AT_RANDOM bytes,│
//!          │ platform string, argument│  the strings themselves: argv, envp, AT_EXECFN
//!          │ and environment strings  │
//!          └──────────────────────────┘  high addresses (top of the stack)
//! ```
//!
//! Nothing is copied: crt0 records `sp` once, and every accessor here reads the kernel's
//! arrays where they lie. `envp` starts at `argv + argc + 1`; the auxiliary vector starts one
//! word past the environment's NULL. [`auxv_start`] is the one walk to it: inlined and free
//! of statics, so that the static-PIE start code can use it before relocation; [`auxv`]
//! caches its result for everyone else.
//!
//! When tinyrt's `_start` did not run (tinyrt-rt inside an ordinary std program), no stack
//! was recorded: there are no arguments or environment here and the auxiliary vector is empty.
//!
//! # Safety
//!
//! [`init`] trusts its pointer: it must be the stack pointer the kernel gave `_start`,
//! untouched, and it must be called before any other code of the program runs (so before
//! any thread exists). After that every read is of memory the kernel initialised, which
//! nobody in this crate writes and which lives until the process exits; the lengths are the
//! kernel's (argc, NULL terminators, AT_NULL).
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The recorded stack pointer. Written once by [`init`] before any other code runs, then only
/// read: a plain cell (not an atomic), so that a program that never reads it loses the store.
struct Sp(UnsafeCell<*const usize>);

// SAFETY: written only by `init`, whose contract is that it runs before any thread exists.
unsafe impl Sync for Sp {}

static SP: Sp = Sp(UnsafeCell::new(core::ptr::null()));

/// Records the initial stack pointer and returns the arguments and environment read from it.
/// Called by crt0 (`tinyrt-start`, through `tinyrt_rt::__private_start`), nobody else.
///
/// # Safety
/// `sp` is the unmodified stack pointer the kernel handed to `_start`, and this runs before
/// any other code of the program (in particular before any thread is created).
#[inline(always)]
pub unsafe fn init(sp: *const usize) -> (Args, Vars) {
    // SAFETY: single-threaded by the contract above; nobody reads SP concurrently.
    unsafe { *SP.0.get() = sp };
    // SAFETY: `sp` is the kernel's initial stack.
    unsafe { from_stack(sp) }
}

/// # Safety
/// `sp` is the kernel's initial stack pointer (not null).
#[inline(always)]
unsafe fn from_stack(sp: *const usize) -> (Args, Vars) {
    // SAFETY: argc is the first word; argv's argc entries follow it, then a NULL, then envp
    // (see the drawing above). The kernel's arrays live until the process exits and nobody
    // writes them.
    unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const Str;
        (
            Args {
                argv,
                front: 0,
                back: argc,
            },
            Vars {
                next: argv.add(argc + 1),
            },
        )
    }
}

/// The arguments and environment of library mode: none.
const NONE: (Args, Vars) = (
    Args {
        argv: core::ptr::null(),
        front: 0,
        back: 0,
    },
    Vars {
        next: core::ptr::null(),
    },
);

#[inline(always)]
fn sp() -> *const usize {
    // SAFETY: SP is written only before any other code runs (see `init`); this is a read.
    unsafe { *SP.0.get() }
}

/// True when tinyrt's `_start` started this process (so the values here are the kernel's).
#[inline]
#[must_use]
pub fn started_by_tinyrt() -> bool {
    !sp().is_null()
}

/// A pointer the kernel put on the initial stack: NULL or a NUL-terminated string that lives
/// until the process exits. Only this module makes them.
#[derive(Clone, Copy)]
#[repr(transparent)]
struct Str(*const c_char);

// SAFETY: the strings are never written after exec; sharing the pointer is sharing &'static.
unsafe impl Send for Str {}
// SAFETY: as above.
unsafe impl Sync for Str {}

impl Str {
    #[inline]
    fn get(self) -> Option<&'static CStr> {
        // SAFETY: a `Str` is NULL or a kernel string (see the type's documentation).
        unsafe { cstr(self.0) }
    }
}

/// The program's arguments, `argv[0]` first (empty in library mode).
#[must_use]
pub fn args() -> Args {
    let sp = sp();
    if sp.is_null() {
        return NONE.0;
    }
    // SAFETY: SP is the initial stack (see `init`).
    unsafe { from_stack(sp).0 }
}

/// The environment's `NAME=value` strings, in order (empty in library mode).
#[must_use]
pub fn vars() -> Vars {
    let sp = sp();
    if sp.is_null() {
        return NONE.1;
    }
    // SAFETY: SP is the initial stack (see `init`).
    unsafe { from_stack(sp).1 }
}

/// An iterator over the program's arguments as `&'static CStr`; see [`args`].
#[derive(Clone)]
pub struct Args {
    /// argv, with `front..back` the entries not yet yielded (all below argc).
    argv: *const Str,
    front: usize,
    back: usize,
}

// SAFETY: `argv` points into the kernel's argument array, which is never written.
unsafe impl Send for Args {}
// SAFETY: as above.
unsafe impl Sync for Args {}

impl Args {
    #[inline]
    fn at(&self, i: usize) -> Option<&'static CStr> {
        // SAFETY: callers pass front <= i < back <= argc: an entry of argv, which the kernel
        // fills with strings (never NULL below argc; `get` would turn one into `None`).
        unsafe { *self.argv.add(i) }.get()
    }
}

impl Args {
    /// The entries not yet yielded as an `argv` for execve, when they run to the kernel's
    /// terminating NULL (nothing was taken from the back); `None` in library mode.
    pub(crate) fn as_argv(&self) -> Option<*const *const c_char> {
        if self.argv.is_null() {
            return None;
        }
        // SAFETY: back <= argc: argv[back] is an entry or the terminating NULL.
        let at_end = unsafe { *self.argv.add(self.back) }.0.is_null();
        // SAFETY: front <= back: inside the array.
        at_end.then(|| unsafe { self.argv.add(self.front) } as *const *const c_char)
    }
}

impl Iterator for Args {
    type Item = &'static CStr;

    #[inline]
    fn next(&mut self) -> Option<&'static CStr> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.at(self.front - 1)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }

    #[inline]
    fn nth(&mut self, n: usize) -> Option<&'static CStr> {
        self.front += n.min(self.back - self.front);
        self.next()
    }
}

impl DoubleEndedIterator for Args {
    #[inline]
    fn next_back(&mut self) -> Option<&'static CStr> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.at(self.back)
    }
}

impl ExactSizeIterator for Args {}

impl core::fmt::Debug for Args {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// An iterator over the environment's `NAME=value` strings; see [`vars`].
#[derive(Clone)]
pub struct Vars {
    /// The next entry of envp, or null once the terminating NULL was reached.
    next: *const Str,
}

// SAFETY: `next` points into the kernel's environment array, which is never written.
unsafe impl Send for Vars {}
// SAFETY: as above.
unsafe impl Sync for Vars {}

impl Vars {
    /// The entries not yet yielded as an `envp` for execve (NULL-terminated); `None` once
    /// exhausted or in library mode.
    pub(crate) fn as_envp(&self) -> Option<*const *const c_char> {
        (!self.next.is_null()).then_some(self.next as *const *const c_char)
    }
}

impl Iterator for Vars {
    type Item = &'static CStr;

    #[inline]
    fn next(&mut self) -> Option<&'static CStr> {
        if self.next.is_null() {
            return None;
        }
        // SAFETY: `next` points at an envp entry at or before its NULL terminator, and we
        // never step past the terminator.
        let v = unsafe { *self.next }.get();
        self.next = match v {
            // SAFETY: the entry was not the terminator, so the next one exists.
            Some(_) => unsafe { self.next.add(1) },
            None => core::ptr::null(),
        };
        v
    }
}

impl core::iter::FusedIterator for Vars {}

impl core::fmt::Debug for Vars {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

/// Turns a kernel-supplied string pointer into a `CStr`; NULL gives `None`.
///
/// # Safety
/// `p` is NULL or points at a NUL-terminated string that lives as long as the process.
#[inline]
pub(crate) unsafe fn cstr(p: *const c_char) -> Option<&'static CStr> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) })
    }
}

/// The first word of the auxiliary vector of the initial stack at `sp`: past argc, argv
/// and its NULL, and the environment and its NULL. Always inlined, with wrapping pointer
/// steps and no static: the static-PIE start code runs it before it has relocated itself.
///
/// # Safety
/// `sp` is a kernel initial stack pointer (or a faithful copy of that layout).
#[inline(always)]
#[must_use]
pub unsafe fn auxv_start(sp: *const usize) -> *const usize {
    // SAFETY: argv's argc entries and its NULL follow argc, then the environment up to its
    // NULL: all of it is the initialised stack (caller).
    unsafe {
        let mut e = sp.wrapping_add((*sp).wrapping_add(2));
        while *e != 0 {
            e = e.wrapping_add(1);
        }
        e.wrapping_add(1)
    }
}

/// The first word of the initial stack's auxiliary vector (found on first use past the
/// arguments and the environment, then cached), or null.
static AUXV: AtomicPtr<usize> = AtomicPtr::new(core::ptr::null_mut());
/// The number of its pairs before AT_NULL, plus one; 0 until `auxv` first counts them.
static AUXV_PAIRS: AtomicUsize = AtomicUsize::new(0);

/// The first word of the auxiliary vector; `None` when tinyrt's `_start` did not run.
/// Racing threads find and store the same pointer.
#[inline]
fn auxv_first() -> Option<*const usize> {
    let p = AUXV.load(Ordering::Acquire);
    if !p.is_null() {
        return Some(p);
    }
    let sp = sp();
    if sp.is_null() {
        return None;
    }
    // SAFETY: SP is the kernel's initial stack (see `init`).
    let start = unsafe { auxv_start(sp) };
    AUXV.store(start.cast_mut(), Ordering::Release);
    Some(start)
}

/// The auxiliary vector on the initial stack as (key, value) pairs, without the terminating
/// AT_NULL pair; `None` when tinyrt's `_start` did not run. Counted on first use, then
/// cached.
pub(crate) fn auxv() -> Option<&'static [[usize; 2]]> {
    let p = auxv_first()?;
    let mut pairs = AUXV_PAIRS.load(Ordering::Relaxed);
    if pairs == 0 {
        // SAFETY: `p` is the initial stack's vector.
        pairs = unsafe { pairs_before_null(p) } + 1;
        // Racing threads count the same number.
        AUXV_PAIRS.store(pairs, Ordering::Relaxed);
    }
    // SAFETY: the pairs before AT_NULL are the kernel's, alive for the whole process;
    // [usize; 2] has the layout of two consecutive words.
    Some(unsafe { core::slice::from_raw_parts(p as *const [usize; 2], pairs - 1) })
}

/// The first (key, value) pair with `key` in the stack's auxiliary vector, walked up to it
/// (nothing counted: a key near the start, as AT_SYSINFO_EHDR is, costs a few steps);
/// `None` when no stack was recorded or the key is absent.
#[inline]
pub(crate) fn auxv_entry(key: usize) -> Option<&'static [usize; 2]> {
    // SAFETY: the initial stack's vector.
    unsafe { pair_with(auxv_first()?, key) }
}

/// The number of (key, value) pairs from `start` before the AT_NULL key.
///
/// # Safety
/// `start` is the first word of an auxiliary vector ended by AT_NULL.
unsafe fn pairs_before_null(start: *const usize) -> usize {
    let mut n = 0;
    // SAFETY: the pairs up to AT_NULL are readable (caller).
    while unsafe { *start.add(2 * n) } != 0 {
        n += 1;
    }
    n
}

/// The first pair from `start` with `key`, before the AT_NULL key.
///
/// # Safety
/// `start` is the first word of an auxiliary vector ended by AT_NULL, alive for the whole
/// process.
unsafe fn pair_with(start: *const usize, key: usize) -> Option<&'static [usize; 2]> {
    let mut p = start as *const [usize; 2];
    loop {
        // SAFETY: pairs up to and including AT_NULL are readable and alive (caller).
        let e = unsafe { &*p };
        match e[0] {
            0 => return None,
            k if k == key => return Some(e),
            // SAFETY: not yet AT_NULL: another pair follows.
            _ => p = unsafe { p.add(1) },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! crt0's view of odd stacks, built by hand in the kernel's layout.
    extern crate std;
    use super::*;
    use std::ffi::CString;
    use std::vec::Vec;

    /// The vector of the stack at `sp`: its first word and its number of pairs.
    unsafe fn auxv_at(sp: *const usize) -> (*const usize, usize) {
        // SAFETY: a faithful stack layout (caller).
        unsafe {
            let start = auxv_start(sp);
            (start, pairs_before_null(start))
        }
    }

    /// A leaked string pointer (the stack's strings live for the whole process too).
    fn s(text: &str) -> usize {
        CString::new(text).unwrap().into_raw() as usize
    }

    /// argc, argv..., NULL, envp..., NULL, auxv pairs, AT_NULL 0.
    fn stack(
        argv: &[Option<&str>],
        argc: usize,
        envp: &[&str],
        auxv: &[[usize; 2]],
    ) -> *const usize {
        let mut v: Vec<usize> = std::vec![argc];
        v.extend(argv.iter().map(|a| a.map_or(0, s)));
        v.push(0);
        v.extend(envp.iter().map(|e| s(e)));
        v.push(0);
        for p in auxv {
            v.extend_from_slice(p);
        }
        v.extend_from_slice(&[0, 0]);
        v.leak().as_ptr()
    }

    /// The environment of a hand-built stack with no arguments, for the tests of `env`.
    pub(crate) fn environment(envp: &[&str]) -> Vars {
        // SAFETY: a faithful stack layout.
        unsafe { from_stack(stack(&[], 0, envp, &[])) }.1
    }

    fn strings(i: impl Iterator<Item = &'static CStr>) -> Vec<&'static [u8]> {
        i.map(CStr::to_bytes).collect()
    }

    #[test]
    fn argc_zero_with_a_null_argv0() {
        // Kernels before 5.18 start a program exec'd with an empty argv like this.
        let sp = stack(&[], 0, &["A=1"], &[[6, 4096]]);
        // SAFETY: a faithful stack layout.
        let (args, vars) = unsafe { from_stack(sp) };
        assert_eq!(args.len(), 0);
        assert!(strings(args).is_empty());
        assert_eq!(strings(vars), [b"A=1"]);
        // SAFETY: as above.
        let (p, n) = unsafe { auxv_at(sp) };
        assert_eq!(n, 1);
        // SAFETY: p points at the one pair.
        assert_eq!(unsafe { (*p, *p.add(1)) }, (6, 4096));
    }

    #[test]
    fn empty_strings_and_odd_environment_entries() {
        let env = ["NOEQUALS", "", "=x", "A=1", "AB=2", "A=dup", "B="];
        let sp = stack(
            &[Some(""), Some("x y"), Some("")],
            3,
            &env,
            &[[25, 0], [1, 7]],
        );
        // SAFETY: a faithful stack layout.
        let (args, vars) = unsafe { from_stack(sp) };
        assert_eq!(args.len(), 3);
        assert_eq!(strings(args.clone()), [b"" as &[u8], b"x y", b""]);
        assert_eq!(strings(args.clone().rev()), [b"" as &[u8], b"x y", b""]);
        assert_eq!(args.clone().nth(1).unwrap().to_bytes(), b"x y");
        assert_eq!(args.clone().nth(3), None);
        assert_eq!(strings(vars), env.map(str::as_bytes));
        // SAFETY: a faithful stack layout.
        let (start, n) = unsafe { auxv_at(sp) };
        assert_eq!(
            n, 2,
            "a zero value does not end the vector, only key AT_NULL does"
        );
        // SAFETY: as above; the test's stack is leaked (alive for the process).
        let find = |key| unsafe { pair_with(start, key) }.copied();
        assert_eq!(find(25), Some([25, 0]));
        assert_eq!(find(1), Some([1, 7]));
        assert_eq!(find(6), None, "the walk stops at AT_NULL");
    }

    #[test]
    fn no_environment() {
        let sp = stack(&[Some("prog")], 1, &[], &[]);
        // SAFETY: a faithful stack layout.
        let (args, vars) = unsafe { from_stack(sp) };
        assert_eq!(strings(args), [b"prog"]);
        assert_eq!(vars.count(), 0);
        // SAFETY: as above.
        assert_eq!(unsafe { auxv_at(sp) }.1, 0);
    }
}
