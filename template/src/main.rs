#![no_std]
#![no_main]

tinyrt::main!(main);

fn main(mut args: tinyrt::env::Args) -> i32 {
    let name = args.nth(1).map(|a| a.to_bytes()).unwrap_or(b"world");
    tinyrt::println!("Hello, {} from a downstream crate!", name.escape_ascii());
    0
}
