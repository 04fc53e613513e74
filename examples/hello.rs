//! Writes one line to standard output with a single `write`.
#![no_std]
#![no_main]

tinyrt::main!(main);

fn main() -> i32 {
    match tinyrt::io::write_all(tinyrt::io::STDOUT, b"Hello, world!\n") {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
