//! No library-mode source (tinyrt-rt built without the feature `library-mode`): a program
//! that tinyrt's `_start` did not start has no auxiliary vector.

use super::{Entry, Source, stack_entry};

/// The vector in use: only ever the stack's pairs (empty without a recorded stack).
#[derive(Clone, Copy)]
pub(super) struct View(&'static [[usize; 2]]);

impl View {
    #[inline(always)]
    pub(super) fn stack(s: &'static [[usize; 2]]) -> View {
        View(s)
    }
    #[inline(always)]
    pub(super) fn len(self) -> usize {
        self.0.len()
    }
    #[inline(always)]
    pub(super) fn at(self, i: usize) -> Option<Entry> {
        stack_entry(self.0, i)
    }
}

/// No copy for `/proc/self/auxv` to vouch for.
#[inline(always)]
pub(super) fn file_vouches() -> bool {
    false
}

/// No vector.
#[inline(always)]
pub(super) fn view() -> (Source, View) {
    (Source::Unavailable, View(&[]))
}
