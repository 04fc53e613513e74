//! The allocation workload of scripts/report with Rust std's allocator (musl's malloc when
//! built for x86_64-unknown-linux-musl): see scripts/compare/alloc.c. `alloc OPS [THREADS]`
use std::alloc::{Layout, alloc, dealloc};

fn main() {
    let ops: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let threads: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
    let sum: u64 = if threads == 0 {
        work(ops, SEED)
    } else {
        std::thread::scope(|s| {
            let h: Vec<_> = (0..threads).map(|t| s.spawn(move || work(ops, SEED + t))).collect();
            h.into_iter().map(|h| h.join().unwrap()).sum()
        })
    };
    println!("checksum {sum}");
}

fn work(ops: u64, seed: u64) -> u64 {
    let mut s: u64 = seed;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut slot: Vec<Option<(*mut u8, Layout)>> = vec![None; 1024];
    let mut sum = 0u64;
    for _ in 0..ops {
        let r = next();
        let k = (r % 1024) as usize;
        match slot[k].take() {
            // SAFETY: the block is ours, with this layout.
            Some((p, l)) => unsafe {
                sum += u64::from(*p);
                dealloc(p, l);
            },
            None => {
                let size = if (r >> 32) % 5 != 0 { 16 + (r >> 40) % 1009 } else { 1024 + (r >> 40) % 64513 };
                let l = Layout::from_size_align(size as usize, 8).unwrap();
                // SAFETY: a non-zero size; both writes are inside the block.
                unsafe {
                    let p = alloc(l);
                    assert!(!p.is_null());
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
    sum += u64::from(*text.as_bytes().last().unwrap());
    sum
}
