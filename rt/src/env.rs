//! Arguments and environment, read in place from the initial stack.
//!
//! Both are byte strings (`&'static CStr`): Linux does not promise UTF-8. In a program that
//! tinyrt's `_start` did not start, both are empty.
//!
//! ```
//! use tinyrt_rt::env;
//!
//! // An entry splits at its first `=`.
//! assert_eq!(env::split(c"A=b=c"), (&b"A"[..], &b"b=c"[..]));
//! // This example runs in a std program: tinyrt's `_start` did not run, so tinyrt has no
//! // arguments or environment of its own here (std's are the ones to read).
//! assert!(!env::started_by_tinyrt());
//! assert_eq!(env::args().count(), 0);
//! assert_eq!(env::var("PATH"), None);
//! ```

use core::ffi::CStr;

pub use crate::stack::{Args, Vars, args, started_by_tinyrt, vars};

/// Splits an environment entry at its first `=` into name and value. An entry without `=`
/// (possible: execve does not check) is all name with an empty value.
#[must_use]
pub fn split(entry: &'static CStr) -> (&'static [u8], &'static [u8]) {
    let b = entry.to_bytes();
    match b.iter().position(|&c| c == b'=') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

/// The value of the first environment variable called `name`, like C's `getenv`. A name that
/// is empty or contains `=` or NUL matches nothing.
pub fn var(name: impl AsRef<[u8]>) -> Option<&'static [u8]> {
    var_bytes(name.as_ref())
}

/// `var`, out of line: one copy of the walk to the environment however many names a
/// program looks up.
#[inline(never)]
fn var_bytes(name: &[u8]) -> Option<&'static [u8]> {
    find(vars(), name)
}

/// [`var`] over any environment.
pub(crate) fn find(vars: Vars, name: &[u8]) -> Option<&'static [u8]> {
    // A plain loop, not `contains`: that brings core's 200-byte memchr.
    if name.is_empty() || name.iter().any(|&c| c == b'=' || c == 0) {
        return None;
    }
    let mut vars = vars;
    vars.find_map(|e| {
        let b = e.to_bytes();
        (b.len() > name.len() && b.starts_with(name) && b[name.len()] == b'=')
            .then(|| &b[name.len() + 1..])
    })
}

/// Like [`var`], but only for a value that is valid UTF-8.
pub fn var_str(name: impl AsRef<[u8]>) -> Option<&'static str> {
    core::str::from_utf8(var(name)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_environment_entries() {
        let env = ["NOEQUALS", "", "=x", "A=1", "AB=2", "A=dup", "B="];
        let vars = crate::stack::tests::environment(&env);
        let var = |name: &str| find(vars.clone(), name.as_bytes());
        assert_eq!(var("A"), Some(&b"1"[..]), "the first of duplicates wins");
        assert_eq!(var("AB"), Some(&b"2"[..]));
        assert_eq!(var("B"), Some(&b""[..]), "set but empty");
        assert_eq!(
            var("NOEQUALS"),
            None,
            "an entry without '=' defines nothing"
        );
        assert_eq!(var(""), None);
        assert_eq!(var("A=1"), None);
        assert_eq!(var("ABC"), None);
        assert_eq!(var("X"), None);
        extern crate std;
        let pairs: std::vec::Vec<_> = vars.map(split).collect();
        assert_eq!(pairs[0], (&b"NOEQUALS"[..], &b""[..]));
        assert_eq!(pairs[2], (&b""[..], &b"x"[..]));
    }
}
