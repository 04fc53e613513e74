#![no_std]
#![no_main]

use tinyrt_template::Greeting;

tinyrt::main!(main);

fn main(mut args: tinyrt::env::Args) -> i32 {
    tinyrt::println!("{}", Greeting(args.nth(1).map(|a| a.to_bytes())));
    0
}
