//! The program's logic, kept apart from its start-up so that `cargo test` can check it: the
//! unit tests below run under std's test harness, while the program (src/main.rs) is
//! `#![no_std]` and links with tinyrt's start code, which a test harness cannot.
#![cfg_attr(not(test), no_std)]

use core::fmt;

/// What the program prints: a greeting for its first argument, or for the world.
pub struct Greeting<'a>(pub Option<&'a [u8]>);

impl fmt::Display for Greeting<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0.unwrap_or(b"world");
        write!(f, "Hello, {} from a downstream crate!", name.escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::Greeting;

    #[test]
    fn greets_the_world_without_an_argument() {
        assert_eq!(
            Greeting(None).to_string(),
            "Hello, world from a downstream crate!"
        );
    }

    #[test]
    fn greets_the_argument() {
        assert_eq!(
            Greeting(Some(b"tester")).to_string(),
            "Hello, tester from a downstream crate!"
        );
    }

    #[test]
    fn escapes_bytes_that_are_not_ascii() {
        assert_eq!(
            Greeting(Some(b"a\xffb")).to_string(),
            "Hello, a\\xffb from a downstream crate!"
        );
    }
}
