//! tinyrt: a tiny, libc-free runtime for `#![no_std]` `#![no_main]` static Linux programs.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//!
//! tinyrt::main!(main);
//!
//! fn main(args: tinyrt::env::Args) -> i32 {
//!     tinyrt::println!("{} arguments", args.len());
//!     0
//! }
//! ```
//!
//! This crate re-exports the library (`tinyrt-rt`) and links the crt0 (`tinyrt-start`): a
//! program that depends on `tinyrt` gets `_start`, the panic handler and the C memory
//! functions, and must be linked with tinyrt's `link.x` (see the README).
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![deny(missing_debug_implementations)]

// crt0 brings `_start`, a panic handler and mem*, which std's test harness also has: the
// facade's own unit tests run without it.
#[cfg(not(test))]
extern crate tinyrt_start;

pub use tinyrt_rt::*;

/// Declares the program's entry function.
///
/// `tinyrt::main!(f)` makes `f` the program's main. `f` takes nothing, the arguments
/// (`tinyrt::env::Args`), or the arguments and the environment (`tinyrt::env::Vars`), and
/// returns an `i32` or `u8` exit code, `()` (exit 0), or a `Result<T, E: Debug>` (an `Err`
/// prints `Error: {e:?}` to stderr and exits 1). The parent sees the code modulo 256.
///
/// Before `f` runs, each of the descriptors 0, 1 and 2 that is closed is opened on
/// `/dev/null`, as std does (one `ppoll` when they are open: see
/// [`io::open_closed_std_fds`](crate::io::open_closed_std_fds)); if `/dev/null` cannot be
/// opened the program says so and aborts (SIGABRT), as std does.
/// When `f` returns, a failed `print!` to standard output is reported as GNU's tools do
/// (see [`io`](crate::io)).
/// `tinyrt::main!(f, unsafe(keep_closed_stdio))` leaves them as they came, for the
/// smallest programs, for PID 1 (which must not abort at start) and under seccomp filters
/// that kill on `ppoll`: no system call before `f`.
///
/// # Safety (of `unsafe(keep_closed_stdio)`)
///
/// A descriptor 0, 1 or 2 that was closed at start is the number the program's first
/// `open`, `pipe` or `TimerFd::new` gets, and the standard streams (`io::STDIN`, `STDOUT`,
/// `STDERR`, `print!`, `process::dup2_stdin`/`dup2_stdout`/`dup2_stderr`, `Command::exec`)
/// then reach what owns it: writing into it, or replacing its file under its owner. The
/// program promises that none of its own descriptors is reached so: it uses the standard
/// streams only where 0, 1 and 2 are known to be open (PID 1 from the kernel has them on
/// the console; a program started by a shell has them), or not at all while one of them
/// may be its own. That is why the option is spelled `unsafe(...)`: with the default,
/// tinyrt opens `/dev/null` on them and nothing can take their numbers.
///
/// `tinyrt::main!(f, stack_overflow_message)` (also with `unsafe(keep_closed_stdio)`) reports an
/// overflow of the main stack as std does, `thread 'main' (TID) has overflowed its stack`
/// then `fatal runtime error: stack overflow, aborting`, and SIGABRT; any other SIGSEGV
/// ends the program as before (see
/// [`signal::report_stack_overflow`](crate::signal::report_stack_overflow): an alternate
/// stack and a SIGSEGV handler, set up before `f` runs). Without it an overflow ends the
/// program with a plain SIGSEGV. What it adds to a program's size is in the README.
#[macro_export]
macro_rules! main {
    (@entry $main:path $(, $first:expr)*) => {
        #[doc(hidden)]
        #[unsafe(no_mangle)]
        pub extern "Rust" fn __tinyrt_main(
            args: $crate::env::Args,
            vars: $crate::env::Vars,
        ) -> i32 {
            $($first;)*
            let code = $crate::__private::call_main($main, args, vars);
            $crate::process::exit_code_after_main(code)
        }
    };
    ($main:path) => {
        $crate::main!(@entry $main, $crate::__private::open_closed_std_fds());
    };
    ($main:path, unsafe(keep_closed_stdio)) => {
        $crate::main!(@entry $main);
    };
    ($main:path, stack_overflow_message) => {
        $crate::main!(
            @entry $main,
            $crate::__private::open_closed_std_fds(),
            $crate::__private::report_stack_overflow()
        );
    };
    ($main:path, unsafe(keep_closed_stdio), stack_overflow_message) => {
        $crate::main!(@entry $main, $crate::__private::report_stack_overflow());
    };
    ($main:path, stack_overflow_message, unsafe(keep_closed_stdio)) => {
        $crate::main!($main, unsafe(keep_closed_stdio), stack_overflow_message);
    };
    ($main:path, keep_closed_stdio $(, stack_overflow_message)?) => {
        $crate::main!(@keep_closed_stdio_is_unsafe);
    };
    ($main:path, stack_overflow_message, keep_closed_stdio) => {
        $crate::main!(@keep_closed_stdio_is_unsafe);
    };
    (@keep_closed_stdio_is_unsafe) => {
        ::core::compile_error!(
            "`keep_closed_stdio` is unsafe: write `unsafe(keep_closed_stdio)` and keep its \
             contract (see `tinyrt::main!`: the standard streams must not reach a descriptor \
             of the program's own that took a closed 0, 1 or 2)"
        );
    };
}

#[doc(hidden)]
pub mod __private {
    use tinyrt_rt::env::{Args, Vars};

    /// The shapes `main` may have; `M` only tells the impls apart.
    pub trait MainFn<M> {
        fn call(self, args: Args, vars: Vars) -> i32;
    }

    impl<F: FnOnce() -> R, R: Termination> MainFn<()> for F {
        #[inline(always)]
        fn call(self, _: Args, _: Vars) -> i32 {
            self().report()
        }
    }

    impl<F: FnOnce(Args) -> R, R: Termination> MainFn<(Args,)> for F {
        #[inline(always)]
        fn call(self, args: Args, _: Vars) -> i32 {
            self(args).report()
        }
    }

    impl<F: FnOnce(Args, Vars) -> R, R: Termination> MainFn<(Args, Vars)> for F {
        #[inline(always)]
        fn call(self, args: Args, vars: Vars) -> i32 {
            self(args, vars).report()
        }
    }

    #[inline(always)]
    pub fn call_main<M, F: MainFn<M>>(f: F, args: Args, vars: Vars) -> i32 {
        f.call(args, vars)
    }

    /// `main!`'s start: descriptors 0-2 open, else a message and SIGABRT (as std). Small on
    /// purpose (no `core::fmt`, no errno names): every program that prints carries it.
    #[inline(never)]
    pub fn open_closed_std_fds() {
        use tinyrt_rt::{io, process, signal};
        if io::open_closed_std_fds().is_err() {
            let _ = io::write_all(
                io::STDERR,
                b"fatal: a standard descriptor is closed and /dev/null cannot be opened\n",
            );
            let _ = signal::set_mask(signal::SigSet::EMPTY);
            let _ = signal::raise(signal::Signal::ABRT);
            process::exit(134);
        }
    }

    /// `main!`'s `stack_overflow_message`: a failure (no memory for the alternate stack)
    /// leaves the program as it would be without the option.
    #[inline(never)]
    pub fn report_stack_overflow() {
        let _ = tinyrt_rt::signal::report_stack_overflow();
    }

    pub use crate::Termination;
}

/// What `main` may return: turned into the process's exit code.
pub trait Termination {
    /// The exit code (the parent sees it modulo 256).
    fn report(self) -> i32;
}

impl Termination for i32 {
    #[inline(always)]
    fn report(self) -> i32 {
        self
    }
}

impl Termination for u8 {
    #[inline(always)]
    fn report(self) -> i32 {
        self as i32
    }
}

impl Termination for () {
    #[inline(always)]
    fn report(self) -> i32 {
        0
    }
}

impl<T: Termination, E: core::fmt::Debug> Termination for Result<T, E> {
    fn report(self) -> i32 {
        match self {
            Ok(t) => t.report(),
            Err(e) => {
                eprintln!("Error: {e:?}");
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::__private::call_main;
    use super::Termination;
    use tinyrt_rt::env::{args, vars};

    #[test]
    fn exit_codes_from_each_return_type() {
        assert_eq!(7i32.report(), 7);
        assert_eq!(
            300i32.report(),
            300,
            "the kernel, not us, keeps the low 8 bits"
        );
        assert_eq!(255u8.report(), 255);
        assert_eq!(().report(), 0);
        assert_eq!(Ok::<i32, &str>(3).report(), 3);
        assert_eq!(Err::<i32, &str>("nope").report(), 1);
        assert_eq!(Ok::<(), u8>(()).report(), 0);
    }

    #[test]
    fn each_main_shape_is_called_with_what_it_asks_for() {
        fn none() -> i32 {
            1
        }
        fn with_args(a: tinyrt_rt::env::Args) -> u8 {
            a.len() as u8 + 2
        }
        fn with_both(a: tinyrt_rt::env::Args, v: tinyrt_rt::env::Vars) -> Result<i32, ()> {
            Ok((a.len() + v.count()) as i32 + 3)
        }
        // In a std test nothing recorded a stack: no arguments, no environment.
        assert_eq!(call_main(none, args(), vars()), 1);
        assert_eq!(call_main(with_args, args(), vars()), 2);
        assert_eq!(call_main(with_both, args(), vars()), 3);
    }
}
