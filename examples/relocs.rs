//! Statics full of addresses: tables of function pointers and string slices, nested slices,
//! trait objects (vtables) and writable pointers. In a static-PIE build (tinyrt's `pie`
//! feature) every one of them is a run-time relocation that tinyrt's start code applies
//! before `main`; in a normal build the linker resolved them. The output is the same:
//!
//! ```text
//! op add1(7) = 8 [plus-one, inc]
//! ...
//! shape square area 9
//! nested a b | c | d e f
//! mutable: before -> after
//! checksum 1234567
//! ```
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicPtr, Ordering};
use tinyrt::println;

tinyrt::main!(main);

/// A named operation: a function pointer and string slices, all relocated.
struct Op {
    name: &'static str,
    f: fn(u64) -> u64,
    aliases: &'static [&'static str],
}

macro_rules! ops {
    ($($name:ident: |$x:ident| $body:expr, [$($alias:literal),*];)*) => {
        $(fn $name($x: u64) -> u64 { $body })*
        static OPS: &[Op] = &[
            $(Op { name: stringify!($name), f: $name, aliases: &[$($alias),*] },)*
        ];
    };
}

ops! {
    add1: |x| x + 1, ["plus-one", "inc"];
    double: |x| x * 2, ["twice"];
    square: |x| x * x, [];
    cube: |x| x * x * x, ["pow3"];
    neg: |x| x.wrapping_neg() >> 60, ["minus"];
    half: |x| x / 2, ["halve", "div2"];
    add100: |x| x + 100, [];
    mul7: |x| x * 7, ["seven"];
    xor5: |x| x ^ 5, ["x5"];
    shl3: |x| x << 3, ["times8"];
    fib: |x| { let (mut a, mut b) = (0u64, 1u64); for _ in 0..x { (a, b) = (b, a + b); } a }, ["fibonacci"];
    fact: |x| (1..=x).product(), ["factorial", "bang"];
    digits: |x| x.to_string_len(), ["len"];
    popcount: |x| u64::from(x.count_ones()), ["ones"];
    rev: |x| x.reverse_bits() >> 58, [];
    id: |x| x, ["same", "identity", "noop"];
}

/// `to_string_len` without alloc: the number of decimal digits.
trait Digits {
    fn to_string_len(self) -> u64;
}
impl Digits for u64 {
    fn to_string_len(self) -> u64 {
        let (mut n, mut v) = (1, self);
        while v >= 10 {
            v /= 10;
            n += 1;
        }
        n
    }
}

/// Trait objects in a static: each needs its vtable's address relocated.
trait Shape: Sync {
    fn name(&self) -> &'static str;
    fn area(&self) -> u64;
}
struct Square(u64);
struct Rect(u64, u64);
struct Tri(u64, u64);
impl Shape for Square {
    fn name(&self) -> &'static str {
        "square"
    }
    fn area(&self) -> u64 {
        self.0 * self.0
    }
}
impl Shape for Rect {
    fn name(&self) -> &'static str {
        "rect"
    }
    fn area(&self) -> u64 {
        self.0 * self.1
    }
}
impl Shape for Tri {
    fn name(&self) -> &'static str {
        "triangle"
    }
    fn area(&self) -> u64 {
        self.0 * self.1 / 2
    }
}
static SHAPES: [&dyn Shape; 4] = [&Square(3), &Rect(2, 5), &Tri(4, 6), &Square(11)];

/// Slices of slices of string slices.
static NESTED: &[&[&str]] = &[&["a", "b"], &["c"], &["d", "e", "f"]];

/// A pointer in writable data (.data, not .data.rel.ro): relocated, then changed.
static MUTABLE: AtomicPtr<&str> = AtomicPtr::new(&BEFORE as *const &str as *mut &str);
static BEFORE: &str = "before";
static AFTER: &str = "after";

fn main() -> i32 {
    let mut sum: u64 = 0;
    for op in OPS {
        let v = (op.f)(7);
        sum = sum.wrapping_mul(31).wrapping_add(v);
        tinyrt::print!("op {}(7) = {} [", op.name, v);
        for (i, a) in op.aliases.iter().enumerate() {
            tinyrt::print!("{}{}", if i > 0 { ", " } else { "" }, a);
        }
        println!("]");
    }
    for s in SHAPES {
        sum = sum.wrapping_mul(31).wrapping_add(s.area());
        println!("shape {} area {}", s.name(), s.area());
    }
    tinyrt::print!("nested");
    for (i, group) in NESTED.iter().enumerate() {
        tinyrt::print!("{}", if i > 0 { " |" } else { "" });
        for s in *group {
            tinyrt::print!(" {}", s);
        }
    }
    println!();
    // SAFETY: MUTABLE always points at one of the two statics.
    let before = unsafe { *MUTABLE.load(Ordering::Relaxed) };
    MUTABLE.store(&AFTER as *const &str as *mut &str, Ordering::Relaxed);
    // SAFETY: as above.
    let after = unsafe { *MUTABLE.load(Ordering::Relaxed) };
    println!("mutable: {} -> {}", before, after);
    println!("checksum {}", sum);
    0
}
