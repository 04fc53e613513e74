//! Every clock's value and resolution, gettimeofday, time and getcpu, one per line, each
//! tagged with the backend that served it: `[vdso]` (a vDSO function, no system call),
//! `[syscall]` (the raw system call: for functions the vDSO lacks, and for the clocks the
//! vDSO cannot read itself, such as CPU time) or, for getcpu, `[rseq]` (the thread's rseq
//! area, where the kernel registered it). A clock the kernel does not support prints its
//! error instead of a value.
//!
//! ```text
//! clock_gettime REALTIME 1764230000.123456789 [vdso]
//! clock_getres REALTIME 0.000000001 [vdso]
//! ...
//! gettimeofday 1764230000.123456 [vdso]
//! time 1764230000 [vdso]
//! getcpu cpu 1 node 0 [rseq]
//! ```
//!
//! Arguments select lines: clock names (`REALTIME`, `MONOTONIC`, ...) and `gettimeofday`,
//! `time`, `getcpu`. `-v` first adds a `#` line per function saying where its backend is
//! (a system call names the architecture's vDSO symbol that did not serve, if it has one).
//! `--syscall` reads everything through the raw system calls (`time::syscall`), bypassing
//! the vDSO, and tags every line `[syscall]`. `--slot ID` reads clock number ID through the
//! clock_gettime slot alone (`tinyrt::__private_tests::clock_gettime_slot`: for a vDSO, its function's own
//! answer, also for a clock it refuses) and prints `slot ID VALUE-OR-ERROR TAG`.
#![no_std]
#![no_main]

use tinyrt::time::{self, Backend, ClockId, Function, Timespec};
use tinyrt::{cpu, println};

tinyrt::main!(main);

fn tag(f: Function, raw: bool) -> &'static str {
    if raw {
        return "[syscall]";
    }
    backend_tag(time::backend(f))
}

/// The tag of the getcpu line: `[rseq]` where the rseq area serves it.
fn cpu_tag(raw: bool) -> &'static str {
    if raw {
        return "[syscall]";
    }
    match cpu::backend() {
        cpu::Backend::Rseq => "[rseq]",
        cpu::Backend::Call(b) => backend_tag(b),
    }
}

/// The tag of a clock line: clocks the vDSO cannot read go to the kernel directly.
fn clock_tag(f: Function, clock: ClockId, raw: bool) -> &'static str {
    if raw {
        return "[syscall]";
    }
    backend_tag(time::clock_backend(f, clock))
}

fn backend_tag(b: Backend) -> &'static str {
    match b {
        Backend::Vdso { .. } => "[vdso]",
        Backend::Syscall => "[syscall]",
    }
}

/// `now --slot ID`: clock ID through the dispatch's clock_gettime slot alone
/// (`tinyrt::__private_tests::clock_gettime_slot`: what the vDSO function itself answers), one line.
fn slot(id: Option<&[u8]>) -> i32 {
    let Some(id) = id.and_then(|d| core::str::from_utf8(d).ok()?.parse::<i32>().ok()) else {
        tinyrt::eprintln!("now: --slot needs a clock number");
        return 2;
    };
    let t = tag(Function::ClockGettime, false);
    match tinyrt::__private_tests::clock_gettime_slot(ClockId::from_raw(id)) {
        Ok(ts) => println!("slot {} {} {}", id, Ts(ts), t),
        Err(e) => println!("slot {} error {:?} {}", id, e, t),
    }
    0
}

struct Ts(Timespec);

impl core::fmt::Display for Ts {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:09}", self.0.sec(), self.0.nsec())
    }
}

fn main(args: tinyrt::env::Args) -> i32 {
    let mut verbose = false;
    let mut raw = false;
    let mut selected = [&[] as &[u8]; 32];
    let mut n = 0;
    let mut args = args.skip(1);
    while let Some(a) = args.next() {
        let a = a.to_bytes();
        if a == b"--slot" {
            return slot(args.next().map(|a| a.to_bytes()));
        }
        if a == b"-v" {
            verbose = true;
        } else if a == b"--syscall" {
            raw = true;
        } else if n < selected.len() {
            selected[n] = a;
            n += 1;
        } else {
            tinyrt::eprintln!("now: too many arguments");
            return 2;
        }
    }
    let selected = &selected[..n];
    let want = |key: &str| selected.is_empty() || selected.contains(&key.as_bytes());

    if verbose {
        match tinyrt::vdso::live() {
            Ok(img) => println!(
                "# vdso image: {} bytes at {:#x}, machine {}",
                img.bytes().len(),
                img.bytes().as_ptr() as usize,
                img.machine()
            ),
            Err(e) => println!("# vdso image: none ({})", e),
        }
        for f in Function::ALL {
            match time::backend(f) {
                Backend::Vdso {
                    symbol,
                    version,
                    address,
                } => {
                    println!(
                        "# {}: vdso {}@{} at {:#x}",
                        f.name(),
                        symbol,
                        version,
                        address
                    )
                }
                Backend::Syscall => match f.symbol() {
                    Some(symbol) => println!("# {}: syscall (not served by {symbol})", f.name()),
                    None => println!("# {}: syscall", f.name()),
                },
            }
        }
    }
    type Read = fn(ClockId) -> Result<time::Timespec, tinyrt::Errno>;
    let reads: [(Function, Read, Read); 2] = [
        (
            Function::ClockGettime,
            time::clock_gettime,
            time::syscall::clock_gettime,
        ),
        (
            Function::ClockGetres,
            time::clock_getres,
            time::syscall::clock_getres,
        ),
    ];
    for (clock, name) in ClockId::ALL {
        if !want(name) {
            continue;
        }
        for (f, auto, sys) in reads {
            let tag = clock_tag(f, clock, raw);
            match if raw { sys(clock) } else { auto(clock) } {
                Ok(ts) => println!("{} {} {} {}", f.name(), name, Ts(ts), tag),
                Err(e) => println!("{} {} error {:?} {}", f.name(), name, e, tag),
            }
        }
    }
    if want("gettimeofday") {
        match if raw {
            time::syscall::gettimeofday()
        } else {
            time::gettimeofday()
        } {
            Ok(tv) => println!(
                "gettimeofday {}.{:06} {}",
                tv.sec(),
                tv.usec(),
                tag(Function::Gettimeofday, raw)
            ),
            Err(e) => println!(
                "gettimeofday error {:?} {}",
                e,
                tag(Function::Gettimeofday, raw)
            ),
        }
    }
    if want("time") {
        let t = if raw {
            time::syscall::time()
        } else {
            Ok(time::time())
        };
        match t {
            Ok(t) => println!("time {} {}", t, tag(Function::Time, raw)),
            Err(e) => println!("time error {:?} {}", e, tag(Function::Time, raw)),
        }
    }
    if want("getcpu") {
        match if raw {
            cpu::syscall_getcpu()
        } else {
            cpu::getcpu()
        } {
            Ok((c, node)) => println!("getcpu cpu {} node {} {}", c, node, cpu_tag(raw)),
            Err(e) => println!("getcpu error {:?} {}", e, cpu_tag(raw)),
        }
    }
    0
}
