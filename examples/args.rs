//! Prints its arguments and a few environment variables, one per line, escaped so that any
//! byte string prints as one readable line:
//!
//! ```text
//! argc: 2
//! argv[0]: "./args"
//! argv[1]: "hello world"
//! envc: 31
//! env HOME: "/root"
//! env TINYRT_ARGS_TEST: (unset)
//! ```
//!
//! The variables shown are HOME, PATH and TINYRT_ARGS_TEST, plus every name listed
//! (comma-separated) in TINYRT_SHOW.
#![no_std]
#![no_main]

use tinyrt::env::{self, Args, Vars};
use tinyrt::println;

tinyrt::main!(main);

fn main(args: Args, vars: Vars) -> i32 {
    println!("argc: {}", args.len());
    for (i, a) in args.enumerate() {
        println!("argv[{}]: \"{}\"", i, a.to_bytes().escape_ascii());
    }
    println!("envc: {}", vars.count());
    let extra = env::var("TINYRT_SHOW").unwrap_or(b"");
    let fixed: [&[u8]; 3] = [b"HOME", b"PATH", b"TINYRT_ARGS_TEST"];
    for name in fixed
        .into_iter()
        .chain(extra.split(|&c| c == b',').filter(|n| !n.is_empty()))
    {
        match env::var(name) {
            Some(v) => println!("env {}: \"{}\"", name.escape_ascii(), v.escape_ascii()),
            None => println!("env {}: (unset)", name.escape_ascii()),
        }
    }
    0
}
