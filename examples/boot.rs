//! `/init` of the initramfs that `tests/kernels.rs` boots real kernels with (under
//! qemu-system): it checks what only a real kernel shows and then restarts the machine
//! (qemu runs with `-no-reboot`, so that ends the run on every machine).
//!
//! In order, each result on a line of its own that starts with `@@ `:
//!
//! - mounts `/proc` and `/dev` (devtmpfs);
//! - runs each program of `RUNS` (packed into the initramfs under `/bin`) with
//!   `tinyrt::process::Command`, their output going to the console: `@@ took NAME MS` (the
//!   milliseconds it ran, on the monotonic clock) and `@@ exit NAME CODE`;
//! - reads every named clock through tinyrt (the vDSO where it serves) between two raw
//!   `clock_gettime` system calls, `ROUNDS` times: `@@ clock NAME ok` when every read lies
//!   between its two system calls (or all three fail alike), else `@@ clock NAME FAIL ...`;
//!   the same for gettimeofday, and for time between two readings of the coarse realtime
//!   clock's seconds (what time(2) answers); clock_getres must equal the system call's;
//! - says what served each vDSO function (`@@ backend clock_gettime vdso SYMBOL@VERSION` or
//!   `@@ backend getrandom syscall`) and getcpu (`@@ getcpu rseq|vdso|syscall`), and whether
//!   rseq registered (`@@ rseq yes|no`);
//! - dumps the live vDSO image in hex between `@@ vdso-begin LENGTH` and `@@ vdso-end`;
//! - `@@ done ok`, or `@@ done FAILED N` (N checks failed), then restarts.
//!
//! Run as an ordinary program (not PID 1) it does the same but neither mounts nor restarts.
//!
//! The initramfs has no shell: its `/bin/sh` is this program too, and run by that name it
//! knows one command line, `sh -c 'exit N'` (it exits with N), which is what the `threads`
//! example's `process` check runs from a thread.
#![no_std]
#![no_main]

use core::ffi::CStr;
use tinyrt::cpu;
use tinyrt::io::{STDOUT, write_all};
use tinyrt::process::{self, Command};
use tinyrt::syscall::{nr, syscall4, syscall5};
use tinyrt::time::{self, Backend, ClockId, Function};
use tinyrt::{Errno, println};

tinyrt::main!(main);

/// The programs to run: a name for the report, then argv (the program's path first).
const RUNS: &[(&str, &[&CStr])] = &[
    ("now", &[c"/bin/now", c"-v"]),
    ("now-pie", &[c"/bin/now-pie"]),
    ("cpus", &[c"/bin/cpus", c"check", c"20"]),
    ("signals", &[c"/bin/signals", c"all"]),
    ("run", &[c"/bin/run", c"--pipe", c"/bin/hello"]),
    ("tick", &[c"/bin/tick", c"10ms", c"20"]),
    ("relocs", &[c"/bin/relocs"]),
    ("relocs-pie", &[c"/bin/relocs-pie"]),
    ("random", &[c"/bin/random", c"16"]),
    ("clone-flags", &[c"/bin/clone_raw", c"flags"]),
    ("clone-join", &[c"/bin/clone_raw", c"join", c"1000"]),
    ("clone-detach", &[c"/bin/clone_raw", c"detach", c"10000"]),
    // Its children are itself (the initramfs's /bin/sh knows only `exit N`).
    ("event", &[c"/bin/event", c"all", c"--self"]),
    // Built with `threads` and `alloc`: tinyrt::thread, sync and thread-local state.
    ("threads-all", &[c"/bin/threads", c"all"]),
    ("threads-spawn", &[c"/bin/threads", c"spawn", c"1000"]),
    ("threads-detach", &[c"/bin/threads", c"detach", c"2000"]),
    ("cpus-threads", &[c"/bin/cpus-threads", c"threads", c"200"]),
    (
        "heap-threads",
        &[c"/bin/heap", c"threads", c"4", c"10000", c"7"],
    ),
    (
        "sha256sum",
        &[c"/bin/sha256sum", c"-c", c"/data/SHA256SUMS"],
    ),
];

/// Reads of each clock between two system calls.
const ROUNDS: usize = 200;

fn mount(source: &CStr, target: &CStr, fstype: &CStr) -> Result<(), Errno> {
    // SAFETY: mount(2) reads three NUL-terminated strings that outlive the call; no data.
    let r = unsafe {
        syscall5(
            nr::__NR_mount,
            source.as_ptr() as usize,
            target.as_ptr() as usize,
            fstype.as_ptr() as usize,
            0,
            0,
        )
    };
    Errno::from_ret(r).map(|_| ())
}

/// Restarts the machine (qemu's `-no-reboot` turns that into an exit); returns only on
/// failure.
fn restart() -> Errno {
    const MAGIC1: usize = 0xfee1_dead;
    const MAGIC2: usize = 0x2812_1969;
    const CMD_RESTART: usize = 0x0123_4567;
    // SAFETY: reboot(2) takes no pointer with this command.
    let r = unsafe { syscall4(nr::__NR_reboot, MAGIC1, MAGIC2, CMD_RESTART, 0) };
    match Errno::from_ret(r) {
        Ok(_) => Errno::EINVAL,
        Err(e) => e,
    }
}

fn run(name: &str, argv: &[&CStr]) -> bool {
    println!("@@ run {}", name);
    let mut c = Command::new(argv[0]);
    c.args(argv[1..].iter().copied());
    let start = time::clock_gettime(ClockId::MONOTONIC).map(|t| t.as_nanos());
    let status = c.status();
    if let (Ok(a), Ok(b)) = (start, time::clock_gettime(ClockId::MONOTONIC)) {
        println!("@@ took {} {} ms", name, (b.as_nanos() - a) / 1_000_000);
    }
    match status {
        Ok(s) => {
            match (s.code(), s.signal()) {
                (Some(code), _) => println!("@@ exit {} {}", name, code),
                (None, Some(sig)) => println!("@@ exit {} signal {:?}", name, sig),
                _ => println!("@@ exit {} unknown", name),
            }
            s.code() == Some(0)
        }
        Err(e) => {
            println!("@@ exit {} error {:?}", name, e);
            false
        }
    }
}

/// `a <= b <= c` for three results of one clock, or all three the same error.
fn ordered<T: PartialOrd + Copy + core::fmt::Debug>(
    what: &str,
    a: Result<T, Errno>,
    b: Result<T, Errno>,
    c: Result<T, Errno>,
) -> bool {
    let ok = match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => a <= b && b <= c,
        (Err(x), Err(y), Err(z)) => x == y && y == z,
        _ => false,
    };
    if !ok {
        println!("@@ clock {} FAIL {:?} {:?} {:?}", what, a, b, c);
    }
    ok
}

fn nanos(t: Result<time::Timespec, Errno>) -> Result<i128, Errno> {
    t.map(|t| t.as_nanos())
}

fn clocks() -> usize {
    let mut failed = 0;
    for (clock, name) in ClockId::ALL {
        let mut ok = true;
        for _ in 0..ROUNDS {
            let a = nanos(time::syscall::clock_gettime(clock));
            let b = nanos(time::clock_gettime(clock));
            let c = nanos(time::syscall::clock_gettime(clock));
            if !ordered(name, a, b, c) {
                ok = false;
                break;
            }
        }
        let (r, s) = (
            nanos(time::clock_getres(clock)),
            nanos(time::syscall::clock_getres(clock)),
        );
        if r != s {
            println!("@@ clock {} FAIL getres {:?} syscall {:?}", name, r, s);
            ok = false;
        }
        if ok {
            println!("@@ clock {} ok", name);
        } else {
            failed += 1;
        }
    }
    let tv = |t: Result<time::Timeval, Errno>| t.map(|t| (t.sec(), t.usec()));
    let mut ok = true;
    for _ in 0..ROUNDS {
        let a = tv(time::syscall::gettimeofday());
        let b = tv(time::gettimeofday());
        let c = tv(time::syscall::gettimeofday());
        if !ordered("gettimeofday", a, b, c) {
            ok = false;
            break;
        }
    }
    // time(2) answers the seconds of the coarse realtime clock (the kernel's
    // ktime_get_real_seconds), up to a tick behind CLOCK_REALTIME: a fine reading taken
    // just before may already be in the next second.
    let coarse = || time::syscall::clock_gettime(ClockId::REALTIME_COARSE).map(|t| t.sec());
    for _ in 0..ROUNDS {
        let a = coarse();
        let b = Ok(time::time());
        let c = coarse();
        if !ordered("time", a, b, c) {
            ok = false;
            break;
        }
    }
    if ok {
        println!("@@ clock gettimeofday+time ok");
    } else {
        failed += 1;
    }
    failed
}

fn backends() {
    for f in Function::ALL {
        match time::backend(f) {
            Backend::Vdso {
                symbol, version, ..
            } => println!("@@ backend {} vdso {}@{}", f.name(), symbol, version),
            Backend::Syscall => println!("@@ backend {} syscall", f.name()),
        }
    }
    let rseq = cpu::rseq_registered();
    let getcpu = match cpu::backend() {
        cpu::Backend::Rseq => "rseq",
        cpu::Backend::Call(Backend::Vdso { .. }) => "vdso",
        cpu::Backend::Call(Backend::Syscall) => "syscall",
    };
    println!("@@ getcpu {}", getcpu);
    println!("@@ rseq {}", if rseq { "yes" } else { "no" });
}

/// The `[vdso]` mapping's range, from /proc/self/maps.
fn vdso_mapping() -> Option<(usize, usize)> {
    let mut buf = [0u8; 16384];
    let n = tinyrt::io::read_file(c"/proc/self/maps", &mut buf).ok()?;
    let line = buf[..n]
        .split(|&b| b == b'\n')
        .find(|l| l.ends_with(b"[vdso]"))?;
    let range = core::str::from_utf8(line.split(|&b| b == b' ').next()?).ok()?;
    let (a, b) = range.split_once('-')?;
    Some((
        usize::from_str_radix(a, 16).ok()?,
        usize::from_str_radix(b, 16).ok()?,
    ))
}

/// Where the image's file ends: after its section header table (the last thing a linker
/// writes), read from the ELF header in the image's byte order.
fn file_end(img: &tinyrt::elf::Image<'_>) -> Option<usize> {
    let h = img.bytes();
    let word = |at: usize, len: usize| -> Option<usize> {
        let b = h.get(at..at + len)?;
        let mut v = 0usize;
        for i in 0..len {
            let byte = if img.is_big_endian() {
                b[i]
            } else {
                b[len - 1 - i]
            };
            v = (v << 8) | usize::from(byte);
        }
        Some(v)
    };
    let (shoff, shentsize, shnum) = match img.class() {
        tinyrt::elf::Class::Elf64 => (word(0x28, 8)?, word(0x3a, 2)?, word(0x3c, 2)?),
        tinyrt::elf::Class::Elf32 => (word(0x20, 4)?, word(0x2e, 2)?, word(0x30, 2)?),
    };
    shoff.checked_add(shentsize.checked_mul(shnum)?)
}

/// The live vDSO in hex, 64 bytes a line: the whole file the kernel mapped, section headers
/// included (tools read a dump by them), where the `[vdso]` mapping holds them; else what
/// tinyrt bounds from the program headers.
fn dump() -> bool {
    let img = match tinyrt::vdso::live() {
        Ok(img) => img,
        Err(e) => {
            println!("@@ vdso none {}", e);
            return false;
        }
    };
    let mut bytes = img.bytes();
    let base = bytes.as_ptr() as usize;
    if let (Some((start, end)), Some(file)) = (vdso_mapping(), file_end(&img))
        && start == base
        && file > bytes.len()
        && file <= end - start
    {
        // SAFETY: [base, base + file) lies inside the [vdso] mapping the kernel lists,
        // readable and unchanged for the life of the process.
        bytes = unsafe { core::slice::from_raw_parts(base as *const u8, file) };
    }
    println!("@@ vdso-begin {}", bytes.len());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for chunk in bytes.chunks(64) {
        let mut line = [0u8; 129];
        for (i, b) in chunk.iter().enumerate() {
            line[2 * i] = HEX[usize::from(b >> 4)];
            line[2 * i + 1] = HEX[usize::from(b & 15)];
        }
        line[2 * chunk.len()] = b'\n';
        if write_all(STDOUT, &line[..2 * chunk.len() + 1]).is_err() {
            return false;
        }
    }
    println!("@@ vdso-end");
    true
}

/// `sh -c 'exit N'`: N; anything else: 127, said on stderr.
fn sh(args: tinyrt::env::Args) -> i32 {
    let args: [Option<&[u8]>; 3] = {
        let mut a = args.skip(1).map(|a| a.to_bytes());
        [a.next(), a.next(), a.next()]
    };
    let code = match args {
        [Some(b"-c"), Some(cmd), None] => cmd
            .strip_prefix(b"exit ")
            .and_then(|n| core::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<i32>().ok()),
        _ => None,
    };
    code.unwrap_or_else(|| {
        tinyrt::eprintln!("sh: only `sh -c 'exit N'` is known here");
        127
    })
}

fn main(args: tinyrt::env::Args) -> i32 {
    if args
        .clone()
        .next()
        .is_some_and(|a| a.to_bytes().ends_with(b"/sh"))
    {
        return sh(args);
    }
    let init = process::id() == 1;
    let mut failed = 0;
    if init {
        for (what, target, fstype) in [(c"proc", c"/proc", c"proc"), (c"dev", c"/dev", c"devtmpfs")]
        {
            if let Err(e) = mount(what, target, fstype) {
                println!("@@ mount {:?} FAIL {:?}", target, e);
                failed += 1;
            }
        }
    }
    for (name, argv) in RUNS {
        if !run(name, argv) {
            failed += 1;
        }
    }
    failed += clocks();
    backends();
    if !dump() {
        failed += 1;
    }
    if failed == 0 {
        println!("@@ done ok");
    } else {
        println!("@@ done FAILED {}", failed);
    }
    if init {
        let e = restart();
        println!("@@ restart failed: {:?}", e);
    }
    i32::from(failed != 0)
}
