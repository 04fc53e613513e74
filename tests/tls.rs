//! Thread-local storage (tinyrt's `threads` feature): a C object with `__thread` variables
//! (`tests/tools/tls_vars.c`: initialised, zeroed, aligned to 8, 64 and 4096), compiled by
//! clang for every architecture and linked into the `tls` example, release and static-PIE:
//! the main thread sees the initial values, the zeroes, the exact alignments and its own
//! writes, all through the code clang compiled and the offsets LLD computed; readelf shows
//! the PT_TLS. Two threads started by `thread::spawn_raw` each see their own copies with the
//! initial values, whatever the main thread wrote, at addresses of their own. Twice: with every variable (a segment aligned to 4096, whose area is mapped),
//! and with the three aligned to at most 8 (`-DTLS_SMALL`, an area in the static room), where
//! the TCB gap of variant I decides where the block lies (with a 4096-aligned segment any
//! gap below 4096 gives the same offsets). The native x86_64 programs are linked by LLD and
//! by GNU ld. On x86_64, strace counts the set-up's system calls. A program with thread-local
//! data but without `threads` fails to link with tinyrt's message, with either linker.

mod common;
use common::{ARCHES, Arch, cargo, root, runnable, skip, tool};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What tls_vars.c defines, in its order: (alignment, initial words 0 and 1; `None` where
/// the C code reads the same word twice).
const VARS: [(usize, u32, Option<u32>); 6] = [
    (4, 0x1234_5678, None),
    (4, 0, None),
    (8, 8, Some(88)),
    (64, 64, Some(6464)),
    (4096, 4096, Some(40_964_096)),
    (64, 0, Some(0)),
];

/// clang's target and flags for `arch`: the ABI Rust's target uses (riscv64's lp64d,
/// armv7's hard float), position-independent code with the local-exec model (what a
/// static or static-PIE executable's own variables take), no jump tables (no relocated
/// tables in a static-PIE).
fn clang_args(arch: &Arch) -> Vec<&'static str> {
    let mut a = match arch.target {
        "x86_64-unknown-linux-gnu" => vec!["--target=x86_64-linux-gnu"],
        "i686-unknown-linux-gnu" => vec!["--target=i686-linux-gnu"],
        "aarch64-unknown-linux-gnu" => vec!["--target=aarch64-linux-gnu"],
        "riscv64gc-unknown-linux-gnu" => {
            vec!["--target=riscv64-linux-gnu", "-march=rv64gc", "-mabi=lp64d"]
        }
        "armv7-unknown-linux-gnueabihf" => {
            vec!["--target=armv7a-linux-gnueabihf", "-mfloat-abi=hard"]
        }
        "s390x-unknown-linux-gnu" => vec!["--target=s390x-linux-gnu"],
        "powerpc64le-unknown-linux-gnu" => vec!["--target=powerpc64le-linux-gnu"],
        t => panic!("no clang target for {t}"),
    };
    a.extend([
        "-O2",
        "-fPIE",
        "-ftls-model=local-exec",
        "-ffreestanding",
        "-fno-jump-tables",
        "-fno-stack-protector",
        "-fno-asynchronous-unwind-tables",
        "-c",
    ]);
    a
}

/// tls_vars.c compiled for `arch` (`small`: with `-DTLS_SMALL`), or `None` after a loud
/// skip when clang is missing.
fn object(arch: &Arch, small: bool) -> Option<PathBuf> {
    let dir = root().join("target/tinyrt-tests/tls-objects");
    std::fs::create_dir_all(&dir).unwrap();
    let obj = dir.join(format!(
        "{}{}.o",
        arch.target,
        if small { "-small" } else { "" }
    ));
    let out = Command::new("clang")
        .args(clang_args(arch))
        .args(small.then_some("-DTLS_SMALL"))
        .arg(root().join("tests/tools/tls_vars.c"))
        .arg("-o")
        .arg(&obj)
        .output();
    match out {
        Err(e) => {
            skip(
                &arch.name(),
                &format!("no clang ({e}): `apt-get install clang`"),
            );
            None
        }
        Ok(o) => {
            assert!(
                o.status.success(),
                "clang for {}: {}",
                arch.target,
                String::from_utf8_lossy(&o.stderr)
            );
            Some(obj)
        }
    }
}

/// `cargo rustc` of `example` for `arch` with tinyrt's `features`, the object linked in, and
/// the `extra` link arguments: the command's output and the program's path. Only the
/// example sees the extra arguments, so the crates below it build once per feature set.
fn build(
    arch: &Arch,
    example: &str,
    features: &[&str],
    obj: &Path,
    extra: &[&str],
) -> (std::process::Output, PathBuf) {
    let dir = root().join(format!("target/tinyrt-tests/tls-{}", features.join("-")));
    let mut c = cargo();
    c.env("CARGO_TARGET_DIR", &dir).args([
        "rustc",
        "--quiet",
        "--release",
        "--example",
        example,
        "--target",
        arch.target,
    ]);
    if !features.is_empty() {
        c.args(["--features", &features.join(",")]);
    }
    c.args(["--", "-C"])
        .arg(format!("link-arg={}", obj.display()));
    for a in extra {
        c.args(["-C", &format!("link-arg={a}")]);
    }
    // The tests run in parallel and each build writes the same file: copy it out under a
    // name of its own before another build replaces it.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = c.output().expect("run cargo");
    let built = dir.join(arch.target).join("release/examples").join(example);
    // The object's name holds the target.
    let name = format!(
        "{example}-{}{}",
        obj.file_stem().unwrap().to_str().unwrap(),
        extra.concat()
    );
    let exe = dir.join("programs").join(name);
    if out.status.success() {
        std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
        std::fs::copy(&built, &exe).unwrap();
    }
    (out, exe)
}

/// What the example printed for one thread (or area): the `thread` line and its variables,
/// each `(address, word 0, word 1)`.
#[derive(Debug)]
struct View {
    who: String,
    block: usize,
    tid: u32,
    vars: Vec<(usize, u32, u32)>,
}

/// The example's views, in order, and whether its `wrote` line came after the first.
fn views(what: &str, out: &str) -> Vec<View> {
    let hex = |s: &str| usize::from_str_radix(s.strip_prefix("0x").unwrap(), 16).unwrap();
    let mut views: Vec<View> = Vec::new();
    for (n, line) in out.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f[..] {
            ["thread", who, _tp, block, tid] => views.push(View {
                who: who.to_owned(),
                block: hex(block.strip_prefix("block=").unwrap()),
                tid: tid.strip_prefix("tid=").unwrap().parse().unwrap(),
                vars: Vec::new(),
            }),
            ["var", i, addr, words] => {
                let v = views.last_mut().expect(what);
                assert_eq!(i.parse::<usize>().unwrap(), v.vars.len(), "{what}: {line}");
                let (w0, w1) = words
                    .strip_prefix("words=")
                    .unwrap()
                    .split_once(',')
                    .unwrap();
                let addr = hex(addr.strip_prefix("addr=").unwrap());
                v.vars
                    .push((addr, w0.parse().unwrap(), w1.parse().unwrap()));
            }
            ["wrote"] => assert_eq!(views.len(), 1, "{what}: `wrote` at line {n}:\n{out}"),
            _ => panic!("{what}: unexpected line {line:?}:\n{out}"),
        }
    }
    views
}

/// Checks the example's output for `vars` variables: in each view every variable aligned,
/// word 0 its initial value (the main thread's before its writes, the fresh area's, each
/// new thread's) or the written one (the main thread's after, the first thread's after its
/// own writes), word 1 untouched; the main thread's addresses and Block the same
/// throughout, every other area's elsewhere; a thread id of its own on each thread, 0 in
/// the fresh area. Two threads made by `spawn_raw`: each its own copies with the initial
/// values, whatever the main thread or the first one wrote.
fn check(what: &str, out: &str, vars: usize) {
    let v = views(what, out);
    let whos: Vec<&str> = v.iter().map(|v| v.who.as_str()).collect();
    assert_eq!(
        whos,
        ["main", "main", "fresh", "main", "t1", "t1", "t2", "main"],
        "{what}:\n{out}"
    );
    // Word 0 of each view: the initial value, the main thread's writes (1000 + I) or the
    // first thread's (2000 + I).
    for (view, written) in v.iter().zip([0, 1000, 0, 1000, 0, 2000, 0, 1000]) {
        assert_eq!(view.vars.len(), vars, "{what}:\n{out}");
        for (k, &(addr, w0, w1)) in view.vars.iter().enumerate() {
            let (align, init0, init1) = VARS[k];
            let ctx = format!("{what}: {} var {k} at {addr:#x}:\n{out}", view.who);
            assert_eq!(addr % align, 0, "not aligned to {align}: {ctx}");
            let want0 = if written != 0 {
                written + k as u32
            } else {
                init0
            };
            assert_eq!(w0, want0, "word 0: {ctx}");
            match init1 {
                Some(i) => assert_eq!(w1, i, "word 1: {ctx}"),
                None => assert_eq!(w1, w0, "{ctx}"),
            }
        }
    }
    let addrs = |i: usize| v[i].vars.iter().map(|x| x.0).collect::<Vec<_>>();
    for (a, b) in [(0, 1), (0, 3), (0, 7), (4, 5)] {
        assert_eq!(addrs(a), addrs(b), "{what}: views {a} and {b}");
    }
    // The main thread, the fresh area and the two threads: four areas, no address shared.
    for (a, b) in [(0, 2), (0, 4), (0, 6), (2, 4), (4, 6)] {
        assert!(
            addrs(a).iter().all(|x| !addrs(b).contains(x)),
            "{what}: views {a} and {b} share an address:\n{out}"
        );
    }
    let main = v[0].tid;
    assert!(
        main > 0 && [1, 3, 7].iter().all(|&i| v[i].tid == main),
        "{what}:\n{out}"
    );
    assert_eq!(v[2].tid, 0, "{what}:\n{out}");
    assert!(
        v[4].tid > 0
            && v[4].tid != main
            && v[5].tid == v[4].tid
            && v[6].tid > 0
            && v[6].tid != main,
        "{what}: thread ids:\n{out}"
    );
    assert!(
        v[0].block == v[3].block
            && v[0].block == v[7].block
            && v[2].block != v[0].block
            && v[4].block == v[5].block
            && ![v[0].block, v[2].block].contains(&v[4].block)
            && v[6].block != v[0].block,
        "{what}:\n{out}"
    );
}

/// The PT_TLS as readelf prints it, for `exe`: `(filesz, memsz, align)`.
fn pt_tls(exe: &Path) -> Option<(u64, u64, u64)> {
    let text = tool("readelf", &["-lW", exe.to_str().unwrap()]);
    let line = text.lines().find(|l| l.trim_start().starts_with("TLS "))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    let hex = |s: &str| u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap();
    Some((hex(f[4]), hex(f[5]), hex(f[f.len() - 1])))
}

/// The link argument that makes the C driver (x86_64's linker) run GNU ld.
const GNU_LD: &[&str] = &["-fuse-ld=bfd"];

#[test]
fn main_thread_sees_its_thread_local_storage_on_every_arch() {
    let native = Arch {
        runner: None,
        ..ARCHES[1]
    };
    assert_eq!(native.target, "x86_64-unknown-linux-gnu");
    for arch in std::iter::once(&native).chain(ARCHES.iter()) {
        if !runnable(arch) {
            continue;
        }
        // The native x86_64 programs also with GNU ld (the C driver takes the last
        // `-fuse-ld`): the linker scripts are for both linkers.
        let linkers: &[&[&str]] = match arch.runner {
            None if arch.target.starts_with("x86_64") => &[&[], GNU_LD],
            _ => &[&[]],
        };
        for (small, vars, p_align) in [(false, VARS.len(), 4096), (true, 3, 8)] {
            let Some(obj) = object(arch, small) else {
                return;
            };
            for features in [&["threads"][..], &["threads", "pie"]] {
                for extra in linkers {
                    let what = format!("{} {features:?} small={small} {extra:?}", arch.name());
                    let (out, exe) = build(arch, "tls", features, &obj, extra);
                    run_one(arch, &what, &out, &exe, vars, p_align);
                }
            }
        }
    }
}

/// Checks one build of the `tls` example: its PT_TLS and what it prints.
fn run_one(
    arch: &Arch,
    what: &str,
    out: &std::process::Output,
    exe: &Path,
    vars: usize,
    p_align: u64,
) {
    assert!(
        out.status.success(),
        "{what}: building tls failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (filesz, memsz, align) = pt_tls(exe).unwrap_or_else(|| panic!("{what}: no PT_TLS"));
    assert_eq!(align, p_align, "{what}");
    assert!(filesz > 0 && memsz > filesz, "{what}: {filesz} {memsz}");
    let run = arch.command(exe).output().unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{what}: {:?}\n{text}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    check(what, &text, vars);
}

#[test]
fn thread_local_storage_without_the_feature_fails_to_link() {
    let arch = Arch {
        runner: None,
        ..ARCHES[1]
    };
    let Some(obj) = object(&arch, false) else {
        return;
    };
    for features in [&[][..], &["pie"]] {
        for linker in [&[][..], GNU_LD] {
            // `hello` has no thread-local variable of its own: `-u tls_var` keeps the object's.
            let extra = [&["-u", "tls_var"][..], linker].concat();
            let (out, _) = build(&arch, "hello", features, &obj, &extra);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success(),
                "{features:?} {linker:?}: linked:\n{err}"
            );
            assert!(
                err.contains("ERROR(tinyrt): the program has thread-local storage")
                    && err.contains("enable tinyrt's `threads` feature"),
                "{features:?} {linker:?}: {err}"
            );
        }
    }
}

/// The main thread's set-up on x86_64, as strace sees it before `main!`'s first call (its
/// `ppoll` of the standard descriptors):
/// `set_tid_address` and `arch_prctl(ARCH_SET_FS)`, and an `mmap` before them only when the
/// area does not fit the static room (the 4096-aligned segment; the small one fits).
#[test]
fn main_thread_set_up_system_calls() {
    let arch = Arch {
        runner: None,
        ..ARCHES[1]
    };
    for (small, want) in [
        (true, &["set_tid_address", "arch_prctl"][..]),
        (false, &["mmap", "set_tid_address", "arch_prctl"]),
    ] {
        let Some(obj) = object(&arch, small) else {
            return;
        };
        let (out, exe) = build(&arch, "tls", &["threads"], &obj, &[]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (run, log) = common::strace(&[exe.to_str().unwrap()], None);
        assert!(run.status.success(), "small={small}: {log}");
        let calls: Vec<&str> = log
            .lines()
            .map(|l| l.split('(').next().unwrap())
            .skip_while(|c| *c == "execve")
            .take_while(|c| *c != "ppoll")
            .collect();
        assert_eq!(calls, want, "small={small}:\n{log}");
        assert!(log.contains("arch_prctl(ARCH_SET_FS, "), "{log}");
    }
}
