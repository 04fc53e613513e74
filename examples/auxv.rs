//! Prints the auxiliary vector the way glibc's dynamic loader does for `LD_SHOW_AUXV=1`:
//! one `AT_NAME:` label padded to 22 columns, then the value as glibc formats that key
//! (decimal, `0x` hex, a string, or for AT_HWCAP bare hex as glibc's x86 loader prints it).
//! Keys without a name print as `AT_??? (0xKEY): 0xVALUE`.
#![no_std]
#![no_main]

use tinyrt::auxv::{self, keys::*};
use tinyrt::println;

tinyrt::main!(main);

enum Form {
    Dec,
    Hex,
    BareHex,
    Str,
}

fn form(key: u32) -> Form {
    match key {
        AT_EXECFD | AT_PHENT | AT_PHNUM | AT_PAGESZ | AT_UID | AT_EUID | AT_GID | AT_EGID
        | AT_CLKTCK | AT_SECURE | AT_MINSIGSTKSZ | AT_RSEQ_FEATURE_SIZE | AT_RSEQ_ALIGN => {
            Form::Dec
        }
        AT_EXECFN | AT_PLATFORM | AT_BASE_PLATFORM => Form::Str,
        AT_HWCAP => Form::BareHex,
        _ => Form::Hex,
    }
}

fn main() -> i32 {
    for e in auxv::iter() {
        let Some(name) = auxv::name(e.key) else {
            println!("AT_??? (0x{:x}): 0x{:x}", e.key, e.value);
            continue;
        };
        let label_len = name.len() + 1;
        let pad = if label_len < 22 { 22 - label_len } else { 1 };
        let v = e.value;
        match form(e.key as u32) {
            Form::Dec => println!("{}:{:pad$}{}", name, "", v),
            Form::Hex => println!("{}:{:pad$}0x{:x}", name, "", v),
            Form::BareHex => println!("{}:{:pad$}{:x}", name, "", v),
            Form::Str => {
                let s = match e.key as u32 {
                    AT_EXECFN => auxv::execfn(),
                    AT_PLATFORM => auxv::platform(),
                    _ => auxv::base_platform(),
                };
                match s {
                    Some(s) => println!("{}:{:pad$}{}", name, "", s.to_bytes().escape_ascii()),
                    None => println!("{}:{:pad$}0x{:x}", name, "", v),
                }
            }
        }
    }
    0
}
