//! Panics with the message given as its first argument (or a default one): the panic
//! handler prints `thread 'main' (TID) panicked at FILE:LINE:COL:` (std's words) and the message to stderr and exits 101.
#![no_std]
#![no_main]

tinyrt::main!(main);

fn main(mut args: tinyrt::env::Args) -> i32 {
    match args.nth(1) {
        Some(msg) => panic!("{}", msg.to_bytes().escape_ascii()),
        None => panic!("tinyrt panic example"),
    }
}
