//! The architectures the tests build for and run (natively or under qemu-user), and loud skips.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An architecture the tests build for and run: natively or under qemu-user.
#[derive(Clone, Copy, Debug)]
pub struct Arch {
    /// The rustup target.
    pub target: &'static str,
    /// How to run its programs: `None` natively, else the qemu-user binary.
    pub runner: Option<&'static str>,
    /// A symbol (with version) its vDSO must export, to prove the listing is not empty.
    pub vdso_symbol: &'static str,
    /// The functions `now` must tag `[syscall]` (DESIGN.md's table: what the vDSO lacks, or
    /// has only with 32-bit time); every other line must say `[vdso]`.
    pub now_syscall: &'static [&'static str],
    /// Whether rustix has its libc-free backend (`linux_raw`) here with stable Rust, so that
    /// tinyrt's `rustix` feature and `examples/with_rustix.rs` build. Not on s390x and
    /// powerpc64: rustix's linux_raw needs `--cfg rustix_use_experimental_asm` (nightly)
    /// there, tinyrt's feature is a `compile_error!` (start/src/lib.rs) and `with_rustix`
    /// only says why and exits 2. The rustix checks leave those architectures out; every
    /// other check runs on them.
    pub rustix: bool,
}

/// Every architecture besides the host's native build: i686 natively (IA32 emulation), the
/// rest under qemu-user >= 8.1 (the first with a guest vDSO), x86_64 and i386 too.
pub const ARCHES: [Arch; 8] = [
    Arch {
        target: "i686-unknown-linux-gnu",
        runner: None,
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        now_syscall: &["clock_getres"],
        rustix: true,
    },
    Arch {
        target: "x86_64-unknown-linux-gnu",
        runner: Some("qemu-x86_64"),
        vdso_symbol: "__vdso_clock_gettime@LINUX_2.6",
        now_syscall: &[],
        rustix: true,
    },
    Arch {
        target: "i686-unknown-linux-gnu",
        runner: Some("qemu-i386"),
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        // qemu's i386 __vdso_getcpu answers the time of day (it is gettimeofday): the
        // dispatch asks it once, refuses it, and the system call serves.
        now_syscall: &["clock_getres", "getcpu"],
        rustix: true,
    },
    Arch {
        target: "aarch64-unknown-linux-gnu",
        runner: Some("qemu-aarch64"),
        vdso_symbol: "__kernel_clock_gettime@LINUX_2.6.39",
        now_syscall: &["getcpu"],
        rustix: true,
    },
    Arch {
        target: "riscv64gc-unknown-linux-gnu",
        runner: Some("qemu-riscv64"),
        vdso_symbol: "__vdso_clock_gettime@LINUX_4.15",
        now_syscall: &[],
        rustix: true,
    },
    Arch {
        target: "armv7-unknown-linux-gnueabihf",
        runner: Some("qemu-arm"),
        vdso_symbol: "__vdso_clock_gettime64@LINUX_2.6",
        now_syscall: &["clock_getres", "getcpu"],
        rustix: true,
    },
    Arch {
        target: "s390x-unknown-linux-gnu",
        runner: Some("qemu-s390x"),
        // Big-endian: its vDSO is read with the big-endian lookup, 8-byte DT_HASH words.
        vdso_symbol: "__kernel_clock_gettime@LINUX_2.6.29",
        // No __kernel_time (time reads __kernel_clock_gettime, tagged as it); qemu's vDSO
        // has no getrandom either (the `random` check reads the listing).
        now_syscall: &[],
        rustix: false,
    },
    Arch {
        target: "powerpc64le-unknown-linux-gnu",
        runner: Some("qemu-ppc64le"),
        vdso_symbol: "__kernel_clock_gettime@LINUX_2.6.15",
        // __kernel_time is exported, and every function the dispatch asks is there
        // (__kernel_getrandom, which qemu's vDSO lacks anyway, is never used: its count and
        // errno are both positive).
        now_syscall: &[],
        rustix: false,
    },
];

impl Arch {
    pub fn name(&self) -> String {
        match self.runner {
            None => format!("{} (native)", self.target),
            Some(q) => format!("{} ({q})", self.target),
        }
    }

    /// A command that runs `program` on this architecture.
    pub fn command(&self, program: &Path) -> Command {
        match self.runner {
            None => Command::new(program),
            Some(q) => {
                let mut c = Command::new(q);
                c.arg(program);
                c
            }
        }
    }
}

/// Says loudly (past the test harness's capture) that an architecture was skipped and how
/// to get it; with TINYRT_REQUIRE_ALL_ARCHES=1 (as scripts/test sets unless told
/// TINYRT_ALLOW_SKIP=1) a skip is a failure.
pub fn skip(what: &str, how: &str) {
    use std::io::Write;
    let msg = format!("SKIPPED {what}: {how} (scripts/test installs what is missing)");
    assert!(
        std::env::var_os("TINYRT_REQUIRE_ALL_ARCHES").is_none_or(|v| v != "1"),
        "{msg}"
    );
    let _ = writeln!(std::io::stderr(), "\n*** {msg} ***");
}

/// True when `arch`'s programs can be built and run here: its rustup target is installed
/// and, for an emulated one, its qemu-user is 8.1 or later. Otherwise says so loudly
/// (`skip`) and returns false.
pub fn runnable(arch: &Arch) -> bool {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let sysroot = PathBuf::from(String::from_utf8(sysroot.stdout).unwrap().trim());
    if !sysroot
        .join("lib/rustlib")
        .join(arch.target)
        .join("lib")
        .exists()
    {
        skip(
            &arch.name(),
            &format!("no Rust target: `rustup target add {}`", arch.target),
        );
        return false;
    }
    if let Some(q) = arch.runner {
        let v = Command::new(q).arg("--version").output();
        let text = v
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let version: Vec<u32> = text
            .split_whitespace()
            .nth(2)
            .unwrap_or("0")
            .split('.')
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        if version.len() < 2 || (version[0], version[1]) < (8, 1) {
            skip(
                &arch.name(),
                &format!(
                    "no {q} >= 8.1 (found {:?}): install qemu-user from bookworm-backports",
                    text.lines().next().unwrap_or("none")
                ),
            );
            return false;
        }
    }
    true
}
