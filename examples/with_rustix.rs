//! A tinyrt program that makes its plain system calls through rustix: it reads a file,
//! prints its process ids and the page size, and sleeps, timing the sleep with rustix's
//! monotonic clock (the vDSO) and with tinyrt's.
//!
//!     with_rustix [FILE [MILLISECONDS]]      # defaults: /proc/self/stat, 10
//!
//! Build it with tinyrt's `rustix` feature (`--features rustix`): tinyrt's start code then
//! hands rustix the initial stack (`rustix::param::init`), and rustix reads the auxiliary
//! vector and finds the vDSO there. Without the feature it still works, but rustix asks the
//! kernel for the auxiliary vector (`prctl(PR_GET_AUXV)`) on its first need of it.
//!
//! On powerpc64 and s390x rustix's libc-free backend needs a nightly feature (its libc one
//! cannot link into a static tinyrt program): there the program only says so and exits 2.
#![no_std]
#![no_main]

tinyrt::main!(imp::main);

#[cfg(any(target_arch = "powerpc64", target_arch = "s390x"))]
mod imp {
    pub fn main() -> i32 {
        tinyrt::eprintln!(
            "with_rustix: rustix has no libc-free backend on this architecture with stable Rust"
        );
        2
    }
}

#[cfg(not(any(target_arch = "powerpc64", target_arch = "s390x")))]
mod imp {

    use core::ffi::CStr;
    use rustix::fs::{Mode, OFlags};
    use rustix::time::{ClockId, Timespec};
    use tinyrt::{Errno, eprintln, println};

    pub fn main(mut args: tinyrt::env::Args) -> i32 {
        let _ = args.next();
        let file = args.next().unwrap_or(c"/proc/self/stat");
        let millis = match args
            .next()
            .map(|a| a.to_str().ok().and_then(|s| s.parse::<u64>().ok()))
        {
            None => 10,
            Some(Some(ms)) => ms,
            Some(None) => {
                eprintln!("with_rustix: MILLISECONDS must be a whole number");
                return 2;
            }
        };
        match run(file, millis) {
            Ok(()) => 0,
            Err((what, e)) => {
                // tinyrt's Errno says the error's text, as std does (rustix's no_std Display gives only
                // the number).
                match Errno::new(e.raw_os_error()) {
                    Some(e) => eprintln!("with_rustix: {what} {file:?}: {e}"),
                    None => eprintln!("with_rustix: {what} {file:?}: {e}"),
                }
                1
            }
        }
    }

    fn run(file: &CStr, millis: u64) -> Result<(), (&'static str, rustix::io::Errno)> {
        let pid = rustix::process::getpid();
        let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
        println!("pid {} ppid {ppid}", pid.as_raw_nonzero());
        println!("page size {}", rustix::param::page_size());

        let fd = rustix::fs::open(file, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| ("cannot open", e))?;
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        let mut first_line = [0u8; 64];
        let mut first_len = None;
        loop {
            let n = rustix::io::read(&fd, &mut buf).map_err(|e| ("cannot read", e))?;
            if n == 0 {
                break;
            }
            if first_len.is_none() {
                let line = buf[..n].split(|&b| b == b'\n').next().unwrap_or(&[]);
                let len = line.len().min(first_line.len());
                first_line[..len].copy_from_slice(&line[..len]);
                first_len = Some(len);
            }
            total += n;
        }
        let first = &first_line[..first_len.unwrap_or(0)];
        println!(
            "read {total} bytes, first line {:?}",
            core::str::from_utf8(first).unwrap_or("(not UTF-8)")
        );

        let rustix_start = rustix::time::clock_gettime(ClockId::Monotonic);
        let tinyrt_start = tinyrt::time::Instant::now();
        let mut left = Timespec {
            tv_sec: (millis / 1000) as _,
            tv_nsec: ((millis % 1000) * 1_000_000) as _,
        };
        // nanosleep ends early when a signal handler runs; sleep what is left.
        while let rustix::thread::NanosleepRelativeResult::Interrupted(rest) =
            rustix::thread::nanosleep(&left)
        {
            left = rest;
        }
        let rustix_end = rustix::time::clock_gettime(ClockId::Monotonic);
        let tinyrt_slept = tinyrt_start.elapsed();
        let rustix_ns = (rustix_end.tv_sec - rustix_start.tv_sec) as i128 * 1_000_000_000
            + (rustix_end.tv_nsec - rustix_start.tv_nsec) as i128;
        println!(
            "slept {millis} ms: rustix's monotonic clock advanced {rustix_ns} ns, tinyrt's {} ns",
            tinyrt_slept.as_nanos()
        );
        Ok(())
    }
}
