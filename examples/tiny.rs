//! The smallest useful program: exits with the number of arguments after the program name
//! (`tiny a b` exits 2). Its size is the runtime's floor: it keeps closed standard
//! descriptors as they come (`unsafe(keep_closed_stdio)`), with no system call before `main`.
#![no_std]
#![no_main]

// SAFETY: the program opens no descriptor, so none of its own can take 0, 1 or 2.
tinyrt::main!(main, unsafe(keep_closed_stdio));

fn main(args: tinyrt::env::Args) -> i32 {
    args.len().saturating_sub(1) as i32
}
