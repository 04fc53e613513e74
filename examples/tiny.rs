//! The smallest useful program: exits with the number of arguments after the program name
//! (`tiny a b` exits 2). Its size is the runtime's floor: it keeps closed standard
//! descriptors as they come (`keep_closed_stdio`), with no system call before `main`.
#![no_std]
#![no_main]

tinyrt::main!(main, keep_closed_stdio);

fn main(args: tinyrt::env::Args) -> i32 {
    args.len().saturating_sub(1) as i32
}
