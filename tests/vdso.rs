//! The vDSO parser and the `vdso` inspector against pyelftools, on the live vDSO, on the
//! committed dumps of other architectures' vDSOs (big-endian ones among them), and on
//! images linked by the tests in both byte orders; and lookups behaving as specified on
//! each kind of image.

mod common;
use common::{Build, example, pyelftools_list, root, run, stdout, vdso_fixtures, vdso_images};
use tinyrt_rt::elf::{Error, Image};
// Not in common/mod.rs: what the committed vDSO dumps must show, for this test alone.
#[path = "common/dumps.rs"]
mod dumps;
use dumps::{BIG_ENDIAN_AND_POWER_DUMPS, REAL_KERNEL_DUMPS};

fn inspect(path: &std::path::Path) -> std::process::Output {
    run(&example(Build::Release, "vdso"), &[path])
}

#[test]
fn live_vdso_listing_matches_pyelftools() {
    let exe = example(Build::Release, "vdso");
    let dump = root().join("target/tinyrt-tests/live-vdso.so");
    let out = run(&exe, &["--dump".as_ref(), dump.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let live = run(&exe, &[] as &[&str]);
    assert!(
        live.status.success(),
        "{}",
        String::from_utf8_lossy(&live.stderr)
    );
    let live = stdout(&live);
    let reference = pyelftools_list(&dump);
    assert_eq!(live, reference, "live listing vs pyelftools on its dump");
    assert_eq!(stdout(&inspect(&dump)), reference, "listing of the dump");
    // Not hollow: the x86_64 kernel's vDSO exports these, versioned.
    for s in [
        "__vdso_clock_gettime@LINUX_2.6 ",
        "__vdso_gettimeofday@LINUX_2.6 ",
        "__vdso_time@LINUX_2.6 ",
    ] {
        assert!(live.contains(s), "{s} missing:\n{live}");
    }
    assert!(live.starts_with("# class=ELF64 machine=62 "), "{live}");
}

#[test]
fn committed_dumps_match_pyelftools() {
    let fixtures = vdso_fixtures();
    for f in &fixtures {
        let out = inspect(f);
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = stdout(&out);
        assert_eq!(text, pyelftools_list(f), "{}", f.display());
        let name = f.file_name().unwrap().to_str().unwrap();
        let expected = BIG_ENDIAN_AND_POWER_DUMPS.iter().chain(&REAL_KERNEL_DUMPS);
        if let Some((_, head, symbols)) = expected.clone().find(|d| d.0 == name) {
            assert!(text.starts_with(head), "{name}:\n{text}");
            for s in *symbols {
                assert!(text.contains(s), "{name}: {s} missing:\n{text}");
            }
        }
    }
    for (name, ..) in BIG_ENDIAN_AND_POWER_DUMPS.iter().chain(&REAL_KERNEL_DUMPS) {
        assert!(
            fixtures.iter().any(|f| f.ends_with(name)),
            "tests/fixtures/vdso/{name} missing"
        );
    }
    eprintln!("{} committed dumps checked", fixtures.len());
}

#[test]
fn built_images_match_pyelftools() {
    let big = vdso_images().iter().filter(|i| i.big_endian).count();
    assert!(
        big >= 20 && vdso_images().len() - big >= 20,
        "{big} big-endian images"
    );
    for img in vdso_images() {
        let out = inspect(&img.path);
        assert!(
            out.status.success(),
            "{}: {}",
            img.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let text = stdout(&out);
        assert_eq!(text, pyelftools_list(&img.path), "{}", img.name);
        let hash = match img.hash {
            "both" => "gnu,sysv",
            h => h,
        };
        assert!(
            text.contains(&format!(" hash={hash} ")),
            "{}: {text}",
            img.name
        );
        let versions = if img.version.is_some() { "yes" } else { "no" };
        assert!(
            text.contains(&format!(" versions={versions}\n")),
            "{}: {text}",
            img.name
        );
        if img.big_endian {
            assert!(text.contains(" machine=22 "), "{}: {text}", img.name);
        }
    }
}

/// DT_HASH's entry size, as readelf sees the `.hash` section: the built s390 images and
/// the s390x dump have the shapes the parser's two entry sizes are tested on.
#[test]
fn s390x_hash_tables_have_8_byte_entries() {
    let entsize = |p: &std::path::Path| {
        let sections = common::tool("readelf", &["-SW", p.to_str().unwrap()]);
        let line = sections
            .lines()
            .find(|l| l.contains(" .hash "))
            .unwrap_or_else(|| panic!("{}: no .hash\n{sections}", p.display()));
        // [Nr] Name Type Address Off Size ES ...: ES is the seventh field after "]".
        let fields: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
        fields[5].to_owned()
    };
    let s390x = root().join("tests/fixtures/vdso/s390x-qemu-10.0.2.so");
    assert_eq!(entsize(&s390x), "08");
    let mut checked = 0;
    for img in vdso_images().iter().filter(|i| i.hash != "gnu") {
        let want = if img.name.starts_with("elf64be") {
            "08"
        } else {
            "04"
        };
        assert_eq!(entsize(&img.path), want, "{}", img.name);
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn lookups_behave_as_specified_on_each_kind_of_image() {
    const BASE: usize = 0x7f00_0000;
    for img in vdso_images() {
        let bytes = std::fs::read(&img.path).unwrap();
        let image = Image::parse(&bytes, BASE).unwrap_or_else(|e| panic!("{}: {e}", img.name));
        assert_eq!(image.has_gnu_hash(), img.hash != "sysv", "{}", img.name);
        assert_eq!(image.has_sysv_hash(), img.hash != "gnu", "{}", img.name);
        assert_eq!(image.has_versions(), img.version.is_some(), "{}", img.name);
        let find = |name: &str, version: &str| {
            image
                .lookup(name.as_bytes(), version.as_bytes())
                .unwrap_or_else(|e| panic!("{}: lookup {name}: {e}", img.name))
        };
        let what = &img.name;
        match img.version {
            Some("LINUX_2.6") => {
                for name in [
                    "__vdso_clock_gettime",
                    "__vdso_gettimeofday",
                    "__vdso_time",
                    "clock_gettime",
                    "__vdso_notype",
                ] {
                    assert!(find(name, "LINUX_2.6").is_some(), "{what}: {name}");
                    assert!(
                        find(name, "LINUX_2.5").is_none(),
                        "{what}: {name} in the wrong version"
                    );
                }
                // Hidden (a non-default version), an object, a local: never found.
                assert!(
                    find("__vdso_old", "LINUX_2.5").is_none(),
                    "{what}: hidden symbol found"
                );
                assert!(
                    find("__vdso_object", "LINUX_2.6").is_none(),
                    "{what}: object found"
                );
                assert!(
                    find("__vdso_internal", "LINUX_2.6").is_none(),
                    "{what}: local found"
                );
            }
            Some(other) => {
                // Versions present, the wanted one absent.
                assert!(
                    find("__vdso_clock_gettime", "LINUX_2.6").is_none(),
                    "{what}"
                );
                assert!(find("__vdso_clock_gettime", other).is_some(), "{what}");
            }
            None => {
                // Unversioned: any version is accepted; everything global is exported.
                assert!(
                    find("__vdso_clock_gettime", "LINUX_2.6").is_some(),
                    "{what}"
                );
                assert!(find("__vdso_internal", "LINUX_2.6").is_some(), "{what}");
                assert!(
                    find("__vdso_object", "LINUX_2.6").is_none(),
                    "{what}: object found"
                );
            }
        }
        assert!(find("__vdso_nonexistent", "LINUX_2.6").is_none(), "{what}");
        assert!(find("", "LINUX_2.6").is_none(), "{what}");

        // Every exported symbol the iterator lists is found by its hash lookup, at the
        // address base + offset inside the image, and with st_value as stored.
        let mut exported = 0;
        for s in image.symbols() {
            let s = s.unwrap();
            if !s.is_exported() {
                continue;
            }
            exported += 1;
            let version = s.version.unwrap_or(b"LINUX_2.6");
            if image.address(&s).is_err() {
                // A linker-defined marker such as `_end` (ld -N, unversioned): exported by
                // the rules, but not code: a lookup must refuse it rather than hand it out.
                assert!(image.lookup(s.name, version).is_err(), "{what}");
                continue;
            }
            let (found, addr) = image.lookup(s.name, version).unwrap().unwrap_or_else(|| {
                panic!(
                    "{what}: {} not found by hash",
                    String::from_utf8_lossy(s.name)
                )
            });
            assert_eq!(found.value, s.value);
            assert!(
                addr >= BASE && addr < BASE + bytes.len(),
                "{what}: {addr:#x}"
            );
            // The bytes at the address are the function's code: `ret` or `nop` in our source.
            assert!(
                matches!(bytes[addr - BASE], 0xc3 | 0x90),
                "{what}: {:#x}",
                bytes[addr - BASE]
            );
        }
        assert!(exported >= 5, "{what}: only {exported} exported symbols");
    }
}

#[test]
fn unknown_byte_orders_and_non_elf_inputs_are_clear_errors() {
    let img = &vdso_images()[0];
    assert!(!img.big_endian);
    let mut bytes = std::fs::read(&img.path).unwrap();
    // EI_DATA neither ELFDATA2LSB nor ELFDATA2MSB.
    for d in [0, 3, 0xff] {
        bytes[5] = d;
        assert_eq!(
            Image::parse(&bytes, 0).unwrap_err(),
            Error::BadDataEncoding(d)
        );
    }
    // A little-endian image marked big-endian is read big-endian: e_version is then
    // 0x0100_0000, not 1.
    let mut swapped = std::fs::read(&img.path).unwrap();
    swapped[5] = 2;
    assert_eq!(Image::parse(&swapped, 0).unwrap_err(), Error::BadVersion);
    assert_eq!(
        Image::parse(b"", 0).unwrap_err(),
        Error::Truncated("the ELF header")
    );
    assert_eq!(
        Image::parse(
            b"MZ\x90\x00 not an ELF file at all, but long enough for a header........",
            0
        )
        .unwrap_err(),
        Error::BadMagic
    );

    let dir = root().join("target/tinyrt-tests");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, data, message) in [
        (
            "bad-data-encoding.so",
            &bytes,
            "unknown ELF data encoding 255",
        ),
        ("swapped-byte-order.so", &swapped, "unknown ELF version"),
    ] {
        let f = dir.join(name);
        std::fs::write(&f, data).unwrap();
        let out = inspect(&f);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(message), "{err}");
    }

    let out = inspect(&dir.join("does-not-exist.so"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("No such file or directory (os error 2)"),
        "{err}"
    );
    let out = inspect(std::path::Path::new("/"));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("Is a directory (os error 21)"), "{err}");
    let out = run(&example(Build::Release, "vdso"), &["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The class, machine and byte order of the image `d`, from its ELF header's bytes (not
/// from the parser): (ELFCLASS64, e_machine, ELFDATA2MSB).
fn kind_of(d: &[u8]) -> (bool, u16, bool) {
    let big = d[5] == 2;
    let m = [d[18], d[19]];
    let machine = if big {
        u16::from_be_bytes(m)
    } else {
        u16::from_le_bytes(m)
    };
    (d[4] == 2, machine, big)
}

/// The small lookup (`__private_tests::elf_lookup_as`) for the (word size, machine, byte order) of the five
/// architectures tinyrt runs on, s390x and powerpc64le (issue 19), and the big-endian
/// ELF32 images (s390 31-bit, powerpc).
fn native_for(d: &[u8], base: usize, name: &[u8], ver: &[u8]) -> Option<Option<usize>> {
    use tinyrt_rt::__private_tests::elf_lookup_as as lookup_as;
    Some(match kind_of(d) {
        (true, 62, false) => lookup_as::<8, 62, false>(d, base, name, ver),
        (false, 3, false) => lookup_as::<4, 3, false>(d, base, name, ver),
        (true, 183, false) => lookup_as::<8, 183, false>(d, base, name, ver),
        (true, 243, false) => lookup_as::<8, 243, false>(d, base, name, ver),
        (false, 40, false) => lookup_as::<4, 40, false>(d, base, name, ver),
        (true, 22, true) => lookup_as::<8, 22, true>(d, base, name, ver),
        (true, 21, false) => lookup_as::<8, 21, false>(d, base, name, ver),
        (false, 22, true) => lookup_as::<4, 22, true>(d, base, name, ver),
        (false, 20, true) => lookup_as::<4, 20, true>(d, base, name, ver),
        _ => return None,
    })
}

/// The small lookup the dispatch uses (`elf::native`) answers exactly as the full parser on
/// every image with one PT_LOAD (the shape of every real vDSO) for each architecture's
/// class, machine and byte order (arm keeps the Thumb bit; s390x reads 8-byte DT_HASH
/// entries), and declines every other image. The real images include copies without
/// DT_GNU_HASH, so that their DT_HASH is read too. `__private_tests::elf_lookup` is the
/// host's instantiation.
#[test]
fn native_lookup_agrees_with_the_full_parser() {
    const BASE: usize = 0x7f00_0000;
    let mut images: Vec<(String, Vec<u8>, usize)> = Vec::new();
    for p in vdso_fixtures()
        .into_iter()
        .chain(vdso_images().iter().map(|i| i.path.clone()))
    {
        let bytes = std::fs::read(&p).unwrap();
        let loads = common::tool("readelf", &["-lW", p.to_str().unwrap()])
            .lines()
            .filter(|l| l.trim_start().starts_with("LOAD"))
            .count();
        if let Some(sysv) = without_gnu_hash(&p, &bytes) {
            images.push((format!("{} without DT_GNU_HASH", p.display()), sysv, loads));
        }
        images.push((p.display().to_string(), bytes, loads));
    }
    let (mut compared, mut declined, mut thumb) = (0, 0, 0);
    // Found by the big-endian instantiations; by s390x's through its 8-byte DT_HASH.
    let (mut big_found, mut s390x_sysv_found) = (0, 0);
    for (what_image, bytes, loads) in &images {
        let full = Image::parse(bytes, BASE).unwrap_or_else(|e| panic!("{what_image}: {e}"));
        let (class64, machine, big) = kind_of(bytes);
        let mut names: Vec<(Vec<u8>, Vec<u8>)> = full
            .symbols()
            .map(|s| s.unwrap())
            .map(|s| (s.name.to_vec(), s.version.unwrap_or(b"LINUX_2.6").to_vec()))
            .collect();
        names.push((b"__vdso_missing".to_vec(), b"LINUX_2.6".to_vec()));
        names.push((b"__vdso_clock_gettime".to_vec(), b"LINUX_9.9".to_vec()));
        for (name, ver) in &names {
            let what = format!(
                "{what_image}: {}@{}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(ver)
            );
            let native = native_for(bytes, BASE, name, ver).expect("a known machine");
            if *loads == 1 {
                let expected = full.lookup(name, ver).ok().flatten().map(|(_, a)| a);
                assert_eq!(native, expected, "{what}");
                compared += 1;
                thumb += usize::from(native.is_some_and(|a| a & 1 == 1));
                if native.is_some() && big {
                    big_found += 1;
                    s390x_sysv_found +=
                        usize::from(class64 && machine == 22 && !full.has_gnu_hash());
                }
            } else {
                assert_eq!(native, None, "{what}: should decline");
                declined += 1;
            }
            // The host's own entry point is the host's instantiation.
            if (class64, machine, big) == (true, 62, false) {
                assert_eq!(
                    tinyrt_rt::__private_tests::elf_lookup(bytes, BASE, name, ver),
                    native,
                    "{what}"
                );
            }
        }
    }
    let counts = format!(
        "compared {compared}, declined {declined}, thumb {thumb}, big-endian found \
         {big_found}, s390x through DT_HASH {s390x_sysv_found}"
    );
    eprintln!("{counts}");
    assert!(
        compared > 100 && declined > 40 && thumb > 0 && big_found > 40 && s390x_sysv_found > 10,
        "{counts}"
    );
}

/// A copy of the image at `path` with its DT_GNU_HASH entry turned into DT_DEBUG (21), so
/// that readers fall back to DT_HASH; `None` when it does not have both. Little- or
/// big-endian, either class; the dynamic section's offset from readelf.
fn without_gnu_hash(path: &std::path::Path, bytes: &[u8]) -> Option<Vec<u8>> {
    let p = path.to_str().unwrap();
    let dynamic = common::tool("readelf", &["-dW", p]);
    if !dynamic.contains("(GNU_HASH)") || !dynamic.contains("(HASH)") {
        return None;
    }
    let segs = common::tool("readelf", &["-lW", p]);
    let line = segs
        .lines()
        .find(|l| l.trim_start().starts_with("DYNAMIC"))?;
    let off = line.split_whitespace().nth(1)?;
    let off = usize::from_str_radix(off.trim_start_matches("0x"), 16).ok()?;
    let (class64, _, big) = kind_of(bytes);
    let w = if class64 { 8 } else { 4 };
    let word = |b: &[u8]| {
        let mut v = [0u8; 8];
        if big {
            v[8 - w..].copy_from_slice(b);
            u64::from_be_bytes(v)
        } else {
            v[..w].copy_from_slice(b);
            u64::from_le_bytes(v)
        }
    };
    let mut out = bytes.to_vec();
    for e in (off..bytes.len() - 2 * w).step_by(2 * w).take(64) {
        match word(&bytes[e..e + w]) {
            0 => break,
            0x6fff_fef5 => {
                let debug = if big {
                    21u64.to_be_bytes()[8 - w..].to_vec()
                } else {
                    21u64.to_le_bytes()[..w].to_vec()
                };
                out[e..e + w].copy_from_slice(&debug);
                let img = Image::parse(&out, 0)
                    .unwrap_or_else(|e| panic!("{p} without DT_GNU_HASH: {e}"));
                assert!(!img.has_gnu_hash() && img.has_sysv_hash(), "{p}");
                return Some(out);
            }
            _ => {}
        }
    }
    panic!("{p}: no DT_GNU_HASH entry found in the dynamic section");
}

/// Damaged copies of the kernel's x86_64 vDSO that the full parser refuses or answers
/// `None` for: the small lookup declines them too. (Found by review: a symbol whose version
/// index is 0 matched a version the image does not define; an image without any hash table
/// was scanned with a count read from its ELF header; a PT_LOAD without PF_X was used.)
/// Offsets come from readelf.
#[test]
fn native_lookup_declines_what_the_full_parser_refuses() {
    use tinyrt_rt::__private_tests::elf_lookup_as as lookup_as;
    const BASE: usize = 0x7f00_0000;
    let path = root().join("tests/fixtures/vdso/x86_64-linux-6.18.so");
    let p = path.to_str().unwrap();
    let original = std::fs::read(&path).unwrap();
    let hex = |s: &str| usize::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    let dynamic = common::tool("readelf", &["-dW", p]);
    let tag = |name: &str| {
        let line = dynamic
            .lines()
            .find(|l| l.contains(&format!("({name})")))
            .unwrap();
        hex(line.split_whitespace().nth(2).unwrap())
    };
    let both = |img: &[u8], name: &[u8], ver: &[u8]| {
        let full = Image::parse(img, BASE).and_then(|i| i.lookup(name, ver));
        (
            lookup_as::<8, 62, false>(img, BASE, name, ver),
            full.ok().flatten().map(|(_, a)| a),
        )
    };
    // Untouched: both find it.
    let (native, full) = both(&original, b"__vdso_time", b"LINUX_2.6");
    assert!(native.is_some() && native == full);

    // 1. __vdso_time's version index set to 0 ("local"); ask for a version nobody defines.
    let syms = common::tool("readelf", &["--dyn-syms", "-W", p]);
    let index: usize = syms
        .lines()
        .find(|l| l.ends_with(" __vdso_time@@LINUX_2.6") || l.ends_with(" __vdso_time@LINUX_2.6"))
        .and_then(|l| l.split(':').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{syms}"));
    let mut img = original.clone();
    let at = tag("VERSYM") + 2 * index;
    img[at..at + 2].copy_from_slice(&0u16.to_le_bytes());
    assert_eq!(both(&img, b"__vdso_time", b"LINUX_9.9"), (None, None));

    // 2. No hash table: DT_HASH and DT_GNU_HASH entries turned into DT_DEBUG (21).
    let segs = common::tool("readelf", &["-lW", p]);
    let dyn_off = hex(segs
        .lines()
        .find(|l| l.trim_start().starts_with("DYNAMIC"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap());
    let mut img = original.clone();
    let mut changed = 0;
    for e in (dyn_off..).step_by(16).take(64) {
        let t = u64::from_le_bytes(img[e..e + 8].try_into().unwrap());
        if t == 0 {
            break;
        }
        if t == 4 || t == 0x6fff_fef5 {
            img[e..e + 8].copy_from_slice(&21u64.to_le_bytes());
            changed += 1;
        }
    }
    assert_eq!(changed, 2, "{dynamic}");
    assert!(
        Image::parse(&img, BASE).is_err() || both(&img, b"__vdso_time", b"LINUX_2.6").1.is_none()
    );
    assert_eq!(both(&img, b"__vdso_time", b"LINUX_2.6").0, None);

    // 3. The PT_LOAD without PF_X (p_flags is at +4 in an ELF64 program header).
    let phoff = 64;
    let mut img = original.clone();
    let mut cleared = 0;
    for ph in (phoff..)
        .step_by(56)
        .take(usize::from(u16::from_le_bytes([img[56], img[57]])))
    {
        if u32::from_le_bytes(img[ph..ph + 4].try_into().unwrap()) == 1 {
            img[ph + 4] &= !1;
            cleared += 1;
        }
    }
    assert_eq!(cleared, 1);
    assert_eq!(both(&img, b"__vdso_time", b"LINUX_2.6"), (None, None));
}
