//! Prints the auxiliary vector the way glibc's dynamic loader does for `LD_SHOW_AUXV=1`:
//! one `AT_NAME:` label padded to 22 columns, then the value as glibc formats that key
//! (decimal, `0x` hex, a string, or for AT_HWCAP bare hex as glibc's x86 loader prints it).
//! Keys without a name print as `AT_??? (0xKEY): 0xVALUE`.
//!
//! `auxv --typed` prints what tinyrt's typed getters answer instead, one `name: value` line
//! each (`-` when absent).
#![no_std]
#![no_main]

use tinyrt::auxv::{self, Key};
use tinyrt::println;

tinyrt::main!(main);

enum Form {
    Dec,
    Hex,
    BareHex,
    Str,
}

fn form(key: Key) -> Form {
    match key {
        Key::EXECFD
        | Key::PHENT
        | Key::PHNUM
        | Key::PAGESZ
        | Key::UID
        | Key::EUID
        | Key::GID
        | Key::EGID
        | Key::CLKTCK
        | Key::SECURE
        | Key::MINSIGSTKSZ
        | Key::RSEQ_FEATURE_SIZE
        | Key::RSEQ_ALIGN => Form::Dec,
        Key::EXECFN | Key::PLATFORM | Key::BASE_PLATFORM => Form::Str,
        Key::HWCAP => Form::BareHex,
        _ => Form::Hex,
    }
}

fn typed() {
    use core::fmt::Display;
    fn line(name: &str, v: Option<impl Display>) {
        match v {
            Some(v) => println!("{name}: {v}"),
            None => println!("{name}: -"),
        }
    }
    line("page_size", auxv::page_size());
    line("clock_ticks", auxv::clock_ticks());
    line("hwcap", auxv::hwcap());
    line("hwcap2", auxv::hwcap2());
    line("min_sigstack_size", auxv::min_sigstack_size());
    line("sysinfo_ehdr", auxv::sysinfo_ehdr());
    line("entry", auxv::entry());
    line("interpreter_base", auxv::interpreter_base());
    line("secure", Some(auxv::secure()));
    line(
        "execfn",
        auxv::execfn().map(|s| s.to_bytes().escape_ascii()),
    );
    line(
        "platform",
        auxv::platform().map(|s| s.to_bytes().escape_ascii()),
    );
    match auxv::random_bytes() {
        Some(r) => {
            tinyrt::print!("random: ");
            for b in r {
                tinyrt::print!("{b:02x}");
            }
            println!();
        }
        None => println!("random: -"),
    }
    match auxv::ids() {
        Some((u, eu, g, eg)) => println!("ids: {u} {eu} {g} {eg}"),
        None => println!("ids: -"),
    }
    match auxv::program_headers() {
        Some((a, sz, n)) => println!("program_headers: {a} {sz} {n}"),
        None => println!("program_headers: -"),
    }
}

fn main(mut args: tinyrt::env::Args) -> i32 {
    if args.nth(1).is_some_and(|a| a.to_bytes() == b"--typed") {
        typed();
        return 0;
    }
    for e in auxv::iter() {
        let Some(name) = e.key.name() else {
            println!("AT_??? (0x{:x}): 0x{:x}", e.key.raw(), e.value);
            continue;
        };
        let label_len = name.len() + 1;
        let pad = if label_len < 22 { 22 - label_len } else { 1 };
        let v = e.value;
        match form(e.key) {
            Form::Dec => println!("{}:{:pad$}{}", name, "", v),
            Form::Hex => println!("{}:{:pad$}0x{:x}", name, "", v),
            Form::BareHex => println!("{}:{:pad$}{:x}", name, "", v),
            Form::Str => {
                let s = match e.key {
                    Key::EXECFN => auxv::execfn(),
                    Key::PLATFORM => auxv::platform(),
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
