//! Mutation test of the vDSO parser: more than a million damaged images derived from every
//! image we have (the live vDSO's dump, the committed dumps of other architectures, the
//! images the tests link): bit flips, truncation at every length, every word overwritten
//! with 0, all-ones and its value plus and minus one, cyclic and endless hash chains and
//! huge hash-table counts. For each: no panic, and every symbol address the parser reports
//! lies inside the image. Then a few hundred rejected images go through the real
//! inspector, which must exit 1 with one line on stderr.
//!
//! Release mode runs the million in under two seconds on this 2-core machine
//! (`cargo test --release --test vdso_mutate -- --nocapture`); the README's test command
//! runs it unoptimised, in about 50 s.

mod common;
use common::{Build, example, root, run, vdso_fixtures, vdso_images};
use std::time::Instant;
use tinyrt_rt::elf::Image;

const BASE: usize = 0x7fff_0000_0000;
const NAMES: [(&[u8], &[u8]); 5] = [
    (b"__vdso_clock_gettime", b"LINUX_2.6"),
    (b"__vdso_gettimeofday", b"LINUX_2.6"),
    (b"__kernel_clock_gettime", b"LINUX_2.6.39"),
    (b"__vdso_clock_gettime", b"LINUX_4.15"),
    (b"__vdso_time", b"LINUX_2.6"),
];

/// Parses one image; panics (fails the test) if a reported address is outside it.
/// Returns whether it was accepted.
fn check(data: &[u8]) -> bool {
    let inside = |a: usize| a >= BASE && a < BASE + data.len();
    // The dispatch's small lookup, on every mutant: whatever it finds is inside the image.
    // Every architecture's instantiation, so that the 32-bit and Thumb paths are damaged too.
    use tinyrt_rt::elf::native::lookup_as;
    for (name, version) in NAMES {
        for a in [
            lookup_as::<8, 62>(data, BASE, name, version),
            lookup_as::<4, 3>(data, BASE, name, version),
            lookup_as::<8, 183>(data, BASE, name, version),
            lookup_as::<8, 243>(data, BASE, name, version),
            lookup_as::<4, 40>(data, BASE, name, version),
        ]
        .into_iter()
        .flatten()
        {
            assert!(inside(a), "native lookup address {a:#x} outside the image");
        }
    }
    let Ok(img) = Image::parse(data, BASE) else {
        return false;
    };
    for s in img.symbols() {
        if let Ok(s) = s
            && let Ok(a) = img.address(&s)
        {
            assert!(inside(a), "symbol address {a:#x} outside the image");
        }
    }
    for (name, version) in NAMES {
        if let Ok(Some((_, a))) = img.lookup(name, version) {
            assert!(inside(a), "lookup address {a:#x} outside the image");
        }
    }
    true
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The offset of a dynamic-section pointer in an image whose first PT_LOAD maps offset 0
/// at vaddr 0 or at the image's own base (both our sources), read with readelf.
fn dyn_ptr(path: &std::path::Path, tag: &str) -> Option<usize> {
    let d = common::tool("readelf", &["-dW", path.to_str().unwrap()]);
    let l = d.lines().find(|l| l.contains(&format!("({tag})")))?;
    let v = u64::from_str_radix(l.split_whitespace().last()?.trim_start_matches("0x"), 16).ok()?;
    let segs = common::tool("readelf", &["-lW", path.to_str().unwrap()]);
    let load = segs.lines().find(|l| l.trim_start().starts_with("LOAD"))?;
    let f: Vec<&str> = load.split_whitespace().collect();
    let off = u64::from_str_radix(f[1].trim_start_matches("0x"), 16).ok()?;
    let vaddr = u64::from_str_radix(f[2].trim_start_matches("0x"), 16).ok()?;
    Some((v - vaddr + off) as usize)
}

fn put32(b: &mut [u8], off: usize, v: u32) {
    if let Some(s) = b.get_mut(off..off + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

/// Hand-made hash table damage: self-loops and cycles in SysV chains, GNU chains without
/// an end bit, huge counts, a bloom filter that lets everything through.
fn hash_damage(path: &std::path::Path, orig: &[u8], out: &mut Vec<Vec<u8>>) {
    if let Some(h) = dyn_ptr(path, "HASH") {
        let nbucket = u32::from_le_bytes(orig[h..h + 4].try_into().unwrap()) as usize;
        let nchain = u32::from_le_bytes(orig[h + 4..h + 8].try_into().unwrap()) as usize;
        let chains = h + 8 + 4 * nbucket;
        for kind in 0..4 {
            let mut m = orig.to_vec();
            for i in 0..nchain {
                let v = match kind {
                    0 => i as u32,                  // every symbol chains to itself
                    1 => 1,                         // everything loops back to symbol 1
                    2 => ((i + 1) % nchain) as u32, // one big cycle through all
                    _ => u32::MAX - i as u32,       // out of range
                };
                put32(&mut m, chains + 4 * i, v);
            }
            for b in 0..nbucket {
                put32(&mut m, h + 8 + 4 * b, 1);
            }
            out.push(m);
        }
        for (off, v) in [
            (h, u32::MAX),
            (h + 4, u32::MAX),
            (h, 0),
            (h + 4, 0),
            (h + 4, 1),
        ] {
            let mut m = orig.to_vec();
            put32(&mut m, off, v);
            out.push(m);
        }
    }
    if let Some(g) = dyn_ptr(path, "GNU_HASH") {
        let word = if orig[4] == 2 { 8 } else { 4 };
        let nbuckets = u32::from_le_bytes(orig[g..g + 4].try_into().unwrap()) as usize;
        let bloom_size = u32::from_le_bytes(orig[g + 8..g + 12].try_into().unwrap()) as usize;
        let buckets = g + 16 + word * bloom_size;
        let chain = buckets + 4 * nbuckets;
        // No end bit anywhere after the chains start, bloom all ones.
        let mut m = orig.to_vec();
        m[g + 16..buckets].fill(0xff);
        let mut i = chain;
        while i + 4 <= m.len() {
            let v = u32::from_le_bytes(m[i..i + 4].try_into().unwrap()) & !1;
            put32(&mut m, i, v);
            i += 4;
        }
        out.push(m.clone());
        for (off, v) in [
            (g, u32::MAX),
            (g, 0),
            (g + 4, 0),
            (g + 4, u32::MAX),
            (g + 8, u32::MAX),
            (g + 8, 0),
            (g + 8, 3),
            (g + 12, 63),
            (g + 12, u32::MAX),
        ] {
            let mut m2 = orig.to_vec();
            put32(&mut m2, off, v);
            out.push(m2);
            let mut m3 = m.clone();
            put32(&mut m3, off, v);
            out.push(m3);
        }
    }
}

/// Mutates one source after another, counting, and keeping a sample of rejected images.
#[derive(Default)]
struct Worker {
    total: usize,
    accepted: usize,
    rejected: usize,
    samples: Vec<Vec<u8>>,
}

impl Worker {
    fn one(&mut self, m: &[u8]) {
        let ok = check(m);
        self.total += 1;
        if ok {
            self.accepted += 1;
        } else {
            self.rejected += 1;
            if self.rejected.is_multiple_of(401) && self.samples.len() < 200 {
                self.samples.push(m.to_vec());
            }
        }
    }

    fn source(&mut self, path: &std::path::Path, orig: &[u8], share: usize) {
        let before = self.total;
        // Truncation at every length.
        for len in 0..orig.len() {
            self.one(&orig[..len]);
        }
        // Every 4- and 8-byte word: 0, all ones, value + 1, value - 1.
        let mut m = orig.to_vec();
        for width in [4usize, 8] {
            for off in (0..orig.len().saturating_sub(width - 1)).step_by(width) {
                let old = &orig[off..off + width];
                let v = if width == 4 {
                    u64::from(u32::from_le_bytes(old.try_into().unwrap()))
                } else {
                    u64::from_le_bytes(old.try_into().unwrap())
                };
                let max = if width == 4 {
                    u64::from(u32::MAX)
                } else {
                    u64::MAX
                };
                for nv in [0, max, v.wrapping_add(1) & max, v.wrapping_sub(1) & max] {
                    m[off..off + width].copy_from_slice(&nv.to_le_bytes()[..width]);
                    self.one(&m);
                }
                m[off..off + width].copy_from_slice(old);
            }
        }
        // Hash-table damage.
        let mut crafted = Vec::new();
        hash_damage(path, orig, &mut crafted);
        for c in &crafted {
            self.one(c);
        }
        // Random bit flips (1 to 4 bits) up to this source's share of the million, mostly
        // in the headers and tables, where they matter.
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ orig.len() as u64);
        let meta = orig.len().min(0x800);
        while self.total - before < share {
            let flips = 1 + rng.below(4);
            let mut at = [0usize; 4];
            for slot in at.iter_mut().take(flips) {
                let off = if rng.below(4) == 0 {
                    rng.below(orig.len())
                } else {
                    rng.below(meta)
                };
                m[off] ^= 1 << rng.below(8);
                *slot = off;
            }
            self.one(&m);
            for &off in &at[..flips] {
                m[off] = orig[off];
            }
        }
    }
}

#[test]
fn a_million_mutated_images_never_panic_or_escape() {
    let started = Instant::now();
    // Every source image.
    let exe = example(Build::Release, "vdso");
    let live = root().join("target/tinyrt-tests/live-vdso-mutate.so");
    assert!(
        run(&exe, &["--dump".as_ref(), live.as_os_str()])
            .status
            .success()
    );
    let mut paths = vec![live];
    paths.extend(vdso_fixtures());
    paths.extend(vdso_images().iter().map(|i| i.path.clone()));
    let sources: Vec<(std::path::PathBuf, Vec<u8>)> = paths
        .into_iter()
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    for (p, d) in &sources {
        assert!(check(d), "{} itself is rejected", p.display());
    }

    // Sources are split over the cores; each worker owns its counters and samples.
    let target_per_source = 1_000_000 / sources.len() + 1;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let results: Vec<(usize, usize, Vec<Vec<u8>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<_> = sources.iter().skip(t).step_by(threads).collect();
                scope.spawn(move || {
                    let mut w = Worker::default();
                    for (path, orig) in mine {
                        w.source(path, orig, target_per_source);
                    }
                    (w.total, w.accepted, w.samples)
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = results.iter().map(|r| r.0).sum();
    let accepted: usize = results.iter().map(|r| r.1).sum();
    let rejected_samples: Vec<Vec<u8>> = results.into_iter().flat_map(|r| r.2).collect();
    let elapsed = started.elapsed();
    eprintln!(
        "{total} mutated images from {} sources: {accepted} accepted, {} rejected, {:.1} s",
        sources.len(),
        total - accepted,
        elapsed.as_secs_f64()
    );
    assert!(total >= 1_000_000, "only {total} mutants");
    assert!(
        accepted > 1000 && total - accepted > 1000,
        "mutations too weak or too strong"
    );

    // The real inspector on a sample of rejected images: exit 1, one line on stderr.
    let dir = root().join("target/tinyrt-tests/rejected");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        rejected_samples.len() >= 200,
        "{} samples",
        rejected_samples.len()
    );
    for (i, m) in rejected_samples.iter().enumerate() {
        let f = dir.join(format!("rejected-{i}.so"));
        std::fs::write(&f, m).unwrap();
        let out = run(&exe, &[&f]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", f.display());
        assert!(out.stdout.is_empty(), "{}", f.display());
        assert_eq!(err.lines().count(), 1, "{}: {err}", f.display());
        assert!(
            err.starts_with(&format!("vdso: {}: ", f.display())),
            "{err}"
        );
    }
}
