//! Mutation test of the vDSO parser: more than a million damaged images derived from every
//! image we have (the live vDSO's dump, the committed dumps of other architectures, the
//! images the tests link), little- and big-endian, ELF32 and ELF64: bit flips, truncation
//! at every length, every word overwritten with 0, all-ones and its value (in the image's
//! byte order) plus and minus one, cyclic and endless hash chains and huge hash-table
//! counts (with s390x's 8-byte DT_HASH entries where it has them). For each: no panic, and
//! every symbol address the parser and each instantiation of the small lookup report lies
//! inside the image. Then a few hundred rejected images go through the real inspector,
//! which must exit 1 with one line on stderr.
//!
//! Release mode runs the 1.2 million in about two seconds on this 2-core machine
//! (`cargo test --release --test vdso_mutate -- --nocapture`); the README's test command
//! runs it unoptimised, in about a minute.

mod common;
use common::{Build, example, root, run, vdso_fixtures, vdso_images};
use std::time::Instant;
use tinyrt_rt::elf::Image;

const BASE: usize = 0x7fff_0000_0000;
const NAMES: [(&[u8], &[u8]); 7] = [
    (b"__vdso_clock_gettime", b"LINUX_2.6"),
    (b"__vdso_gettimeofday", b"LINUX_2.6"),
    (b"__kernel_clock_gettime", b"LINUX_2.6.39"),
    (b"__vdso_clock_gettime", b"LINUX_4.15"),
    (b"__vdso_time", b"LINUX_2.6"),
    (b"__kernel_clock_gettime", b"LINUX_2.6.29"),
    (b"__kernel_gettimeofday", b"LINUX_2.6.15"),
];

/// The small lookup's instantiations the test runs: every architecture tinyrt runs on,
/// s390x (big-endian, 8-byte DT_HASH entries) and powerpc64le, and big-endian ELF32 (s390
/// 31-bit and powerpc), so that the 32-bit, Thumb and big-endian paths are damaged too.
const NATIVE: usize = 9;
fn native_all(data: &[u8], name: &[u8], version: &[u8]) -> [Option<usize>; NATIVE] {
    use tinyrt_rt::__private_tests::elf_lookup_as as lookup_as;
    [
        lookup_as::<8, 62, false>(data, BASE, name, version),
        lookup_as::<4, 3, false>(data, BASE, name, version),
        lookup_as::<8, 183, false>(data, BASE, name, version),
        lookup_as::<8, 243, false>(data, BASE, name, version),
        lookup_as::<4, 40, false>(data, BASE, name, version),
        lookup_as::<8, 21, false>(data, BASE, name, version),
        lookup_as::<8, 22, true>(data, BASE, name, version),
        lookup_as::<4, 22, true>(data, BASE, name, version),
        lookup_as::<4, 20, true>(data, BASE, name, version),
    ]
}
/// Where the big-endian ones are in `native_all`'s answer.
const NATIVE_BIG: std::ops::Range<usize> = 6..9;

/// Parses one image; panics (fails the test) if a reported address is outside it.
/// Returns whether it was accepted.
fn check(data: &[u8]) -> bool {
    let inside = |a: usize| a >= BASE && a < BASE + data.len();
    // The dispatch's small lookup, on every mutant: whatever it finds is inside the image.
    for (name, version) in NAMES {
        for a in native_all(data, name, version).into_iter().flatten() {
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

/// An image's byte order (`EI_DATA`), for reading and writing its fields.
#[derive(Clone, Copy)]
struct Order {
    big: bool,
}

impl Order {
    fn of(image: &[u8]) -> Order {
        Order {
            big: image.get(5) == Some(&2),
        }
    }
    /// The field of `width` bytes (at most 8) at `off`.
    fn get(self, b: &[u8], off: usize, width: usize) -> u64 {
        let f = &b[off..off + width];
        let mut v = [0u8; 8];
        if self.big {
            v[8 - width..].copy_from_slice(f);
            u64::from_be_bytes(v)
        } else {
            v[..width].copy_from_slice(f);
            u64::from_le_bytes(v)
        }
    }
    /// Writes the low `width` bytes of `v` at `off`, if the image has room.
    fn put(self, b: &mut [u8], off: usize, width: usize, v: u64) {
        if let Some(s) = b.get_mut(off..off + width) {
            if self.big {
                s.copy_from_slice(&v.to_be_bytes()[8 - width..]);
            } else {
                s.copy_from_slice(&v.to_le_bytes()[..width]);
            }
        }
    }
}

/// DT_HASH's entry size: 8 bytes on ELF64 s390x (EM_S390, 22), else 4.
fn sysv_entry(image: &[u8]) -> usize {
    let machine = Order::of(image).get(image, 18, 2);
    if image[4] == 2 && machine == 22 { 8 } else { 4 }
}

/// Hand-made hash table damage: self-loops and cycles in SysV chains, GNU chains without
/// an end bit, huge counts, a bloom filter that lets everything through.
fn hash_damage(path: &std::path::Path, orig: &[u8], out: &mut Vec<Vec<u8>>) {
    let o = Order::of(orig);
    if let Some(h) = dyn_ptr(path, "HASH") {
        let e = sysv_entry(orig);
        let max = if e == 8 {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let nbucket = o.get(orig, h, e) as usize;
        let nchain = o.get(orig, h + e, e) as usize;
        let chains = h + 2 * e + e * nbucket;
        for kind in 0..4 {
            let mut m = orig.to_vec();
            for i in 0..nchain {
                let v = match kind {
                    0 => i as u64,                  // every symbol chains to itself
                    1 => 1,                         // everything loops back to symbol 1
                    2 => ((i + 1) % nchain) as u64, // one big cycle through all
                    _ => max - i as u64,            // out of range
                };
                o.put(&mut m, chains + e * i, e, v);
            }
            for b in 0..nbucket {
                o.put(&mut m, h + 2 * e + e * b, e, 1);
            }
            out.push(m);
        }
        for (off, v) in [
            (h, max),
            (h + e, max),
            (h, u64::from(u32::MAX)),
            (h + e, u64::from(u32::MAX)),
            (h, 0),
            (h + e, 0),
            (h + e, 1),
        ] {
            let mut m = orig.to_vec();
            o.put(&mut m, off, e, v);
            out.push(m);
        }
    }
    if let Some(g) = dyn_ptr(path, "GNU_HASH") {
        let word = if orig[4] == 2 { 8 } else { 4 };
        let nbuckets = o.get(orig, g, 4) as usize;
        let bloom_size = o.get(orig, g + 8, 4) as usize;
        let buckets = g + 16 + word * bloom_size;
        let chain = buckets + 4 * nbuckets;
        // No end bit anywhere after the chains start, bloom all ones.
        let mut m = orig.to_vec();
        m[g + 16..buckets].fill(0xff);
        let mut i = chain;
        while i + 4 <= m.len() {
            let v = o.get(&m, i, 4) & !1;
            o.put(&mut m, i, 4, v);
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
            o.put(&mut m2, off, 4, u64::from(v));
            out.push(m2);
            let mut m3 = m.clone();
            o.put(&mut m3, off, 4, u64::from(v));
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
        // Every 4- and 8-byte word: 0, all ones, value + 1, value - 1 (in the image's
        // byte order).
        let o = Order::of(orig);
        let mut m = orig.to_vec();
        for width in [4usize, 8] {
            for off in (0..orig.len().saturating_sub(width - 1)).step_by(width) {
                let v = o.get(orig, off, width);
                let max = if width == 4 {
                    u64::from(u32::MAX)
                } else {
                    u64::MAX
                };
                for nv in [0, max, v.wrapping_add(1) & max, v.wrapping_sub(1) & max] {
                    o.put(&mut m, off, width, nv);
                    self.one(&m);
                }
                m[off..off + width].copy_from_slice(&orig[off..off + width]);
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
    // Every source is accepted, and the big-endian instantiations of the small lookup find
    // functions in the big-endian sources: their paths are the ones being damaged.
    let mut big_sources = [0usize; 2];
    let mut big_found = 0;
    for (p, d) in &sources {
        assert!(check(d), "{} itself is rejected", p.display());
        if Order::of(d).big {
            big_sources[usize::from(d[4] == 2)] += 1;
            for (name, version) in NAMES {
                big_found += native_all(d, name, version)[NATIVE_BIG]
                    .iter()
                    .flatten()
                    .count();
            }
        }
    }
    assert!(
        big_sources[0] >= 5 && big_sources[1] >= 5 && big_found >= 20,
        "big-endian sources: {} ELF32, {} ELF64; {big_found} found in them",
        big_sources[0],
        big_sources[1]
    );

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
