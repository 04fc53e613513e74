//! The smallest useful program: exits with the number of arguments after the program name
//! (`tiny a b` exits 2). Its size is the runtime's floor.
#![no_std]
#![no_main]

tinyrt::main!(main);

fn main(args: tinyrt::env::Args) -> i32 {
    args.len().saturating_sub(1) as i32
}
