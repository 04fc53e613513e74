//! The heap of a tinyrt program (tinyrt's `alloc` feature): `Vec`, `String`, `BTreeMap`,
//! `format!` and `Box<dyn Trait>`, and the checks the tests run on the allocator.
//!
//!     heap                      # uses each collection and prints a summary
//!     heap stress OPS [SEED [damage]]
//!                               # OPS random allocations, reallocations and frees, checked;
//!                               # `damage` overwrites a live block's byte halfway (the control)
//!     heap threads N OPS [SEED]  # (built with `threads`) N stress runs at once on N threads
//!     heap reenter          # (built with `threads`) a handler that allocates: stopped (134)
//!     heap large MIB            # MIB blocks of 1 MiB, then freed: resident set before/after
//!     heap oom                  # allocates until the kernel refuses (Rust's handler reports it)
//!     heap try                  # try_reserve until it fails, then goes on, then grows a Vec
//!                               # with try_reserve until that fails
//!     heap bench [OPS [THREADS]] # scripts/report's allocation workload (a checksum); on
//!                               # THREADS threads at once (built with `threads`)
//!
//! Build it with `--features alloc`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::alloc::{Layout, alloc, dealloc, realloc};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use tinyrt::{eprintln, println};

tinyrt::main!(main);

fn main(args: tinyrt::env::Args) -> i32 {
    let mut args = args.skip(1).map(|a| a.to_str().unwrap_or(""));
    match args.next() {
        None => summary(),
        Some("stress") => {
            let ops = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
            let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
            let damage = args.next() == Some("damage");
            stress(ops, seed, damage)
        }
        // The same checks from several threads at once, each with its own model, all on the
        // one heap (built with `threads`).
        #[cfg(feature = "threads")]
        Some("threads") => {
            let threads: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
            let ops = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
            let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
            tinyrt::thread::scope(|s| {
                let handles: Vec<_> = (0..threads)
                    .map(|t| s.spawn(move || stress(ops, seed + t, false)))
                    .collect();
                handles.into_iter().map(|h| h.join()).max().unwrap_or(0)
            })
        }
        // A thread that allocates too and sends SIGALRM to the main thread, whose handler
        // allocates, against a loop of allocations: the other thread's allocations wait for
        // the lock, a handler's on the thread holding it stops the program (status 134).
        #[cfg(feature = "threads")]
        Some("reenter") => reenter(),
        Some("large") => large(args.next().and_then(|a| a.parse().ok()).unwrap_or(256)),
        Some("oom") => oom(),
        Some("try") => try_reserve(),
        Some("bench") => bench(
            args.next()
                .and_then(|a| a.parse().ok())
                .unwrap_or(1_000_000),
            args.next().and_then(|a| a.parse().ok()).unwrap_or(0),
        ),
        Some(other) => {
            eprintln!("heap: unknown mode {other:?} (stress, threads, large, oom, try, bench)");
            2
        }
    }
}

trait Shape {
    fn area(&self) -> u64;
    fn name(&self) -> String;
}
struct Square(u64);
struct Rect(u64, u64);
impl Shape for Square {
    fn area(&self) -> u64 {
        self.0 * self.0
    }
    fn name(&self) -> String {
        format!("square {}", self.0)
    }
}
impl Shape for Rect {
    fn area(&self) -> u64 {
        self.0 * self.1
    }
    fn name(&self) -> String {
        format!("rect {}x{}", self.0, self.1)
    }
}

fn summary() -> i32 {
    let v: Vec<u64> = (0..100_000).collect();
    let sum: u64 = v.iter().sum();
    let mut words = BTreeMap::new();
    for w in "the quick brown fox jumps over the lazy dog the end".split(' ') {
        *words.entry(String::from(w)).or_insert(0u32) += 1;
    }
    let mut s = String::new();
    while s.len() < 1 << 20 {
        s.push_str("tinyrt ");
    }
    let shapes: Vec<Box<dyn Shape>> = alloc::vec![Box::new(Square(3)), Box::new(Rect(2, 5))];
    let names: Vec<String> = shapes
        .iter()
        .map(|s| format!("{}={}", s.name(), s.area()))
        .collect();
    println!("vec: {} numbers, sum {sum}", v.len());
    println!("string: {} bytes", s.len());
    println!("map: {} words, \"the\" {} times", words.len(), words["the"]);
    println!("dyn: {}", names.join(", "));
    0
}

/// xorshift64*: the stress test's random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A live block of the stress test: where, its layout and the tag its pattern is made of.
#[derive(Clone, Copy)]
struct Block {
    ptr: *mut u8,
    layout: Layout,
    tag: u8,
}

/// The byte a block tagged `tag` holds at `offset`.
fn pattern(tag: u8, offset: usize) -> u8 {
    tag ^ (offset as u8).wrapping_mul(31) ^ (offset >> 8) as u8
}

/// The offsets the test writes and checks, in increasing order: every byte of a block up to
/// 512 bytes, else its first and last 256 bytes and 16 bytes of every 4 KiB between (of every
/// 64 KiB in blocks of 256 KiB and more, which are fresh mappings; every byte of every block
/// would cost the run most of its time).
fn offsets(size: usize) -> impl Iterator<Item = usize> {
    let edge = size.min(256);
    let tail = size.saturating_sub(256).max(edge);
    let stride = if size >= 256 * 1024 { 65536 } else { 4096 };
    let middle = (edge..tail)
        .step_by(stride)
        .flat_map(move |o| o..(o + 16).min(tail));
    (0..edge).chain(middle).chain(tail..size)
}

fn fill(b: &Block) {
    for o in offsets(b.layout.size()) {
        // SAFETY: o < size: inside the block, which is ours.
        unsafe { b.ptr.add(o).write(pattern(b.tag, o)) };
    }
}

/// Checks the pattern `b` was filled with (at the offsets of its size) below `limit`; the
/// first wrong offset.
fn check(b: &Block, limit: usize) -> Result<(), usize> {
    for o in offsets(b.layout.size()).take_while(|&o| o < limit) {
        // SAFETY: o < size <= the block's size.
        if unsafe { b.ptr.add(o).read() } != pattern(b.tag, o) {
            return Err(o);
        }
    }
    Ok(())
}

fn random_layout(rng: &mut Rng) -> Layout {
    let size = match rng.below(1_000_000) {
        0..=4 => 64 << 20,                                // a few of 64 MiB
        5..=10_000 => 256 * 1024 + rng.below(768 * 1024), // large: mappings of their own
        10_001..=100_000 => 4096 + rng.below(252 * 1024), // medium
        _ => 1 + rng.below(4096),                         // small (size 0 is Vec's, not ours)
    } as usize;
    // 1 ..= 4096, and now and then a large block aligned past a page (64 KiB ..= 2 MiB):
    // those are trimmed out of a bigger mapping, and moved when they grow.
    let align = if size >= 256 * 1024 && rng.below(50) == 0 {
        1usize << (16 + rng.below(6))
    } else {
        1usize << rng.below(13)
    };
    Layout::from_size_align(size, align).unwrap_or(Layout::new::<u8>())
}

fn stress(ops: u64, seed: u64, damage: bool) -> i32 {
    const SLOTS: usize = 2048;
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut live: Vec<Option<Block>> = alloc::vec![None; SLOTS];
    let (mut allocs, mut reallocs, mut frees, mut bytes) = (0u64, 0u64, 0u64, 0u64);
    let fail = |what: &str| -> i32 {
        eprintln!("heap stress: {what}");
        1
    };
    for op in 0..ops {
        let i = rng.below(SLOTS as u64) as usize;
        let tag = (rng.next() >> 56) as u8;
        match live[i] {
            None => {
                let layout = random_layout(&mut rng);
                // SAFETY: a non-zero size.
                let ptr = unsafe { alloc(layout) };
                if ptr.is_null() {
                    return fail(&format!("op {op}: allocation of {layout:?} failed"));
                }
                if !(ptr as usize).is_multiple_of(layout.align()) {
                    return fail(&format!(
                        "op {op}: {ptr:?} not aligned to {}",
                        layout.align()
                    ));
                }
                let b = Block { ptr, layout, tag };
                fill(&b);
                live[i] = Some(b);
                allocs += 1;
                bytes += layout.size() as u64;
            }
            Some(b) if rng.below(3) == 0 => {
                let new = random_layout(&mut rng).size();
                if let Err(o) = check(&b, b.layout.size()) {
                    return fail(&format!("op {op}: block {i} damaged at {o} before realloc"));
                }
                // SAFETY: b is ours with this layout; the new size is non-zero.
                let ptr = unsafe { realloc(b.ptr, b.layout, new) };
                if ptr.is_null() {
                    return fail(&format!("op {op}: realloc to {new} failed"));
                }
                if !(ptr as usize).is_multiple_of(b.layout.align()) {
                    return fail(&format!(
                        "op {op}: realloc lost the alignment {}",
                        b.layout.align()
                    ));
                }
                // What the old block held, below the smaller size, is where it was.
                let moved = Block { ptr, ..b };
                if let Err(o) = check(&moved, b.layout.size().min(new)) {
                    return fail(&format!("op {op}: realloc lost byte {o} of block {i}"));
                }
                let layout = Layout::from_size_align(new, b.layout.align()).unwrap_or(b.layout);
                let b = Block { ptr, layout, tag };
                fill(&b);
                live[i] = Some(b);
                reallocs += 1;
            }
            Some(b) => {
                if let Err(o) = check(&b, b.layout.size()) {
                    return fail(&format!("op {op}: block {i} damaged at {o} before free"));
                }
                // SAFETY: b is ours with this layout.
                unsafe { dealloc(b.ptr, b.layout) };
                live[i] = None;
                frees += 1;
            }
        }
        if damage
            && op == ops / 2
            && let Some(b) = live.iter().flatten().next()
        {
            // SAFETY: inside a live block of ours: the control of the checks.
            unsafe { *b.ptr ^= 0xff };
        }
        if op % 100_000 == 99_999 {
            // No two live blocks overlap.
            let mut spans: Vec<(usize, usize)> = live
                .iter()
                .flatten()
                .map(|b| (b.ptr as usize, b.ptr as usize + b.layout.size()))
                .collect();
            spans.sort_unstable();
            if let Some(w) = spans.windows(2).find(|w| w[0].1 > w[1].0) {
                return fail(&format!(
                    "op {op}: blocks {:x?} and {:x?} overlap",
                    w[0], w[1]
                ));
            }
        }
    }
    for b in live.iter().flatten() {
        if check(b, b.layout.size()).is_err() {
            return fail("a block was damaged at the end");
        }
        // SAFETY: ours.
        unsafe { dealloc(b.ptr, b.layout) };
    }
    println!(
        "stress: {ops} operations: {allocs} allocations ({bytes} bytes), {reallocs} reallocations, {frees} frees: all checked"
    );
    0
}

/// Resident set in KiB, from /proc/self/statm (its second field, in pages).
fn rss_kib() -> u64 {
    let mut buf = [0u8; 128];
    let n = tinyrt::io::read_file(c"/proc/self/statm", &mut buf).unwrap_or(0);
    let text = core::str::from_utf8(&buf[..n]).unwrap_or("");
    let pages: u64 = text
        .split(' ')
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * tinyrt::auxv::page_size().unwrap_or(4096) as u64 / 1024
}

fn large(mib: usize) -> i32 {
    let before = rss_kib();
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    for k in 0..mib {
        blocks.push(alloc::vec![k as u8 | 1; 1 << 20]);
    }
    let full = rss_kib();
    let ok = blocks
        .iter()
        .enumerate()
        .all(|(k, b)| b.iter().step_by(4096).all(|&x| x == k as u8 | 1));
    drop(blocks);
    let after = rss_kib();
    println!("rss_kib before {before} allocated {full} freed {after} intact {ok}");
    if ok { 0 } else { 1 }
}

fn oom() -> i32 {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        // Each block is touched, so that its memory is really taken.
        kept.push(alloc::vec![1u8; 1 << 20]);
        if kept.len().is_multiple_of(1024) {
            println!("{} MiB", kept.len());
        }
    }
}

/// One Vec grown (reallocated in place, or moved) until the kernel refuses: Err, and its
/// contents are where they were.
fn grow() -> i32 {
    let mut v: Vec<u8> = alloc::vec![3; 1 << 20];
    loop {
        if let Err(e) = v.try_reserve_exact(v.len()) {
            let intact = v.iter().step_by(4096).all(|&b| b == 3) && v.last() == Some(&3);
            let state = if intact { "intact" } else { "DAMAGED" };
            println!(
                "growing: Err after {} MiB ({e}); contents {state}",
                v.len() >> 20
            );
            return if intact { 0 } else { 1 };
        }
        let n = v.len();
        v.resize(2 * n, 3);
    }
}

fn try_reserve() -> i32 {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut v: Vec<u8> = Vec::new();
        match v.try_reserve_exact(1 << 20) {
            Ok(()) => {
                v.resize(1 << 20, 1);
                kept.push(v);
            }
            Err(e) => {
                let mib = kept.len();
                drop(kept);
                // Memory is back: the program goes on.
                let again: Vec<u8> = alloc::vec![2; 1 << 20];
                println!(
                    "try_reserve failed after {mib} MiB ({e}); then {} bytes again",
                    again.len()
                );
                return grow();
            }
        }
    }
}

/// The allocation workload of scripts/report (the same steps as scripts/compare/alloc.c):
/// OPS random allocations and frees over 1024 slots, then a 1 MiB string.
fn bench(ops: u64, threads: u64) -> i32 {
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let sum = if threads == 0 {
        work(ops, SEED)
    } else {
        bench_threads(ops, SEED, threads)
    };
    match sum {
        Some(sum) => {
            println!("checksum {sum}");
            0
        }
        None => 1,
    }
}

/// The workload on `threads` threads at once (thread T's numbers start from the seed plus
/// T): the sum of their checksums.
#[cfg(feature = "threads")]
fn bench_threads(ops: u64, seed: u64, threads: u64) -> Option<u64> {
    tinyrt::thread::scope(|s| {
        let h: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || work(ops, seed + t)))
            .collect();
        h.into_iter().map(|h| h.join()).sum()
    })
}

#[cfg(not(feature = "threads"))]
fn bench_threads(_: u64, _: u64, _: u64) -> Option<u64> {
    eprintln!("heap bench: threads need the `threads` feature");
    None
}

fn work(ops: u64, seed: u64) -> Option<u64> {
    let mut rng = Rng(seed);
    let mut slot: [Option<(*mut u8, Layout)>; 1024] = [None; 1024];
    let mut sum = 0u64;
    for _ in 0..ops {
        let r = rng.next();
        let k = (r % 1024) as usize;
        match slot[k].take() {
            // SAFETY: the block is ours, with this layout.
            Some((p, l)) => unsafe {
                sum += u64::from(*p);
                dealloc(p, l);
            },
            None => {
                let size = if !(r >> 32).is_multiple_of(5) {
                    16 + (r >> 40) % 1009
                } else {
                    1024 + (r >> 40) % 64513
                };
                let Ok(l) = Layout::from_size_align(size as usize, 8) else {
                    return None;
                };
                // SAFETY: a non-zero size; both writes are inside the block.
                unsafe {
                    let p = alloc(l);
                    if p.is_null() {
                        return None;
                    }
                    *p = r as u8;
                    *p.add(l.size() - 1) = 1;
                    slot[k] = Some((p, l));
                }
            }
        }
    }
    for (p, l) in slot.into_iter().flatten() {
        // SAFETY: ours.
        unsafe { dealloc(p, l) };
    }
    let mut text = String::new();
    while text.len() < 1 << 20 {
        text.push_str("0123456789abcdef");
    }
    sum += u64::from(text.as_bytes().last().copied().unwrap_or(0));
    Some(sum)
}

#[cfg(feature = "threads")]
fn reenter() -> i32 {
    use core::sync::atomic::{AtomicBool, Ordering};
    use tinyrt::signal::{self, Action, Handler, Signal};
    static STOP: AtomicBool = AtomicBool::new(false);
    extern "C" fn on_alarm(_: i32) {
        drop(core::hint::black_box(Box::new([0u64; 6])));
    }
    // SAFETY: the handler allocates on purpose: what the heap must catch.
    if unsafe { signal::set_action(Signal::ALRM, &Action::new(Handler::Plain(on_alarm))) }.is_err()
    {
        return 2;
    }
    let main = tinyrt::thread::current();
    let other = tinyrt::thread::spawn(move || {
        let mut kept = Vec::new();
        while !STOP.load(Ordering::Relaxed) {
            kept.push(Box::new(kept.len()));
            if kept.len() > 1000 {
                kept.clear();
            }
            let _ = main.kill(Signal::ALRM);
        }
    });
    for i in 0..500_000_000usize {
        drop(core::hint::black_box(alloc::vec![0u8; 16 + i % 4000]));
    }
    STOP.store(true, Ordering::Relaxed);
    other.join();
    println!("no re-entry seen");
    1
}
