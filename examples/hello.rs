//! Writes one line to standard output with a single `write`: three system calls in all
//! (`execve`, `write`, `exit_group`), since it keeps closed standard descriptors as they
//! come (`unsafe(keep_closed_stdio)`).
#![no_std]
#![no_main]

// SAFETY: the program opens no descriptor, so none of its own can take 0, 1 or 2.
tinyrt::main!(main, unsafe(keep_closed_stdio));

fn main() -> i32 {
    match tinyrt::io::write_all(tinyrt::io::STDOUT, b"Hello, world!\n") {
        Ok(()) => 0,
        Err(_) => 1,
    }
}
