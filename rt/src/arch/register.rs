//! `syscall0` ..= `syscall6` and `exit_group` for the architectures whose system call
//! instruction takes the number in one register and up to six arguments in six others,
//! and returns the result in one register (x86_64, aarch64, riscv64, arm, s390x). Each of
//! them invokes [`register_syscalls!`] with its instruction and registers; i686, whose
//! kernel entry is a call and whose registers LLVM partly reserves, and powerpc64, whose
//! errors come back in a condition register, write their own.
//!
//! # Safety
//!
//! The generated `syscallN` functions enter the kernel with whatever arguments they are
//! given: the caller upholds the contract of the system call it names.

/// Generates the system call functions; see the module documentation.
/// `clobbers` are registers the instruction itself overwrites (x86_64: rcx, r11).
macro_rules! register_syscalls {
    (
        insn: $insn:literal,
        number: $nr:tt,
        result: $ret:tt,
        args: [$r1:tt, $r2:tt, $r3:tt, $r4:tt, $r5:tt, $r6:tt],
        clobbers: [$($c:tt),*] $(,)?
    ) => {
        /// A system call with no arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall0(n: usize) -> usize {
            let ret;
            // SAFETY: the caller upholds the system call's contract; the clobbered
            // registers are declared.
            unsafe {
                core::arch::asm!($insn, in($nr) n, lateout($ret) ret, $(out($c) _,)*
                    options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with one argument.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall1(n: usize, a1: usize) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, lateout($ret) ret,
                    $(out($c) _,)* options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with two arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall2(n: usize, a1: usize, a2: usize) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, in($r2) a2, lateout($ret) ret,
                    $(out($c) _,)* options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with three arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall3(n: usize, a1: usize, a2: usize, a3: usize) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, in($r2) a2, in($r3) a3,
                    lateout($ret) ret, $(out($c) _,)* options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with four arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall4(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, in($r2) a2, in($r3) a3,
                    in($r4) a4, lateout($ret) ret, $(out($c) _,)*
                    options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with five arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall5(
            n: usize,
            a1: usize,
            a2: usize,
            a3: usize,
            a4: usize,
            a5: usize,
        ) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, in($r2) a2, in($r3) a3,
                    in($r4) a4, in($r5) a5, lateout($ret) ret, $(out($c) _,)*
                    options(nostack, preserves_flags));
            }
            ret
        }

        /// A system call with six arguments.
        ///
        /// # Safety
        /// See the module documentation.
        #[inline(always)]
        pub unsafe fn syscall6(
            n: usize,
            a1: usize,
            a2: usize,
            a3: usize,
            a4: usize,
            a5: usize,
            a6: usize,
        ) -> usize {
            let ret;
            // SAFETY: as in `syscall0`.
            unsafe {
                core::arch::asm!($insn, in($nr) n, in($r1) a1, in($r2) a2, in($r3) a3,
                    in($r4) a4, in($r5) a5, in($r6) a6, lateout($ret) ret, $(out($c) _,)*
                    options(nostack, preserves_flags));
            }
            ret
        }

        /// `exit_group(code)`: ends every thread of the process; never returns.
        #[inline(always)]
        pub fn exit_group(code: i32) -> ! {
            // SAFETY: exit_group takes no pointers and does not return.
            unsafe {
                core::arch::asm!($insn,
                    in($nr) linux_raw_sys::general::__NR_exit_group as usize,
                    in($r1) code as isize as usize, options(noreturn, nostack));
            }
        }
    };
}
