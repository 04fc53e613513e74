//! Returns the integer given as its first argument from `main` (`exitcode 300` exits with
//! 300 & 0xff = 44); without one, or with one that is not a decimal i32, prints why and
//! exits 2.
#![no_std]
#![no_main]

tinyrt::main!(main);

fn parse(s: &[u8]) -> Option<i32> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i32 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((d - b'0') as i32)?;
    }
    Some(if neg { -n } else { n })
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    match args.nth(1).map(|a| parse(a.to_bytes())) {
        Some(Some(n)) => n,
        _ => {
            tinyrt::eprintln!("usage: exitcode N   (N a decimal i32)");
            2
        }
    }
}
