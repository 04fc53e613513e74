//! Booting real kernels under qemu-system (only `tests/kernels.rs` includes this): the
//! machines, Debian's kernels fetched into a cache, the initramfs (a cpio "newc" archive
//! written here), and one boot with a deadline.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::root;

/// How one architecture boots: its Debian kernel and its qemu-system machine.
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    /// The rustup target of the programs it runs.
    pub target: &'static str,
    /// The vDSO those programs get (the fixtures' name prefix): `arm` for armv7 programs
    /// on an arm64 kernel too (its compat vDSO), `i386` for i686 ones on amd64.
    pub vdso: &'static str,
    /// Debian's name of the architecture.
    pub deb_arch: &'static str,
    /// The kernel metapackage (its dependencies lead to the image).
    pub meta: &'static str,
    /// The suites that have that kernel for this architecture (bookworm has no riscv64
    /// port in main, trixie and sid no i386 kernel).
    pub suites: &'static [&'static str],
    pub qemu: &'static str,
    /// The machine's arguments (`-M`, `-cpu`, firmware).
    pub args: &'static [&'static str],
    /// The kernel's console device.
    pub console: &'static str,
    /// How many CPUs the guest gets: 2 (`cpus check` then migrates), but 1 for 32-bit arm,
    /// whose SMP kernel under one TCG thread stalls for minutes before /init.
    pub cpus: u32,
}

const ALL_SUITES: &[&str] = &["bookworm", "trixie", "sid"];

/// Measured boot facts (DESIGN.md, "Real kernels"): x86 boots on `pc` with its console on
/// ttyS0; arm on `virt` with ttyAMA0 (32-bit arm with `highmem=off`: an LPAE kernel
/// otherwise finds its PCI window above 4 GiB); riscv `virt` needs OpenSBI (`-bios
/// default`); powerpc `pseries` with qemu's own firmware (`x-vof=on`, no SLOF) and hvc0;
/// s390x's SCLP console.
/// The last two run 32-bit programs on 64-bit kernels (IA32 emulation, arm64's AArch32
/// compat), which is how trixie and sid, without an i386 kernel, run i686 programs, and
/// gives the armv7 programs arm64's compat vDSO.
pub const MACHINES: [Machine; 9] = [
    Machine {
        target: "x86_64-unknown-linux-gnu",
        vdso: "x86_64",
        deb_arch: "amd64",
        meta: "linux-image-amd64",
        suites: ALL_SUITES,
        qemu: "qemu-system-x86_64",
        args: &["-M", "pc", "-cpu", "max"],
        console: "ttyS0",
        cpus: 2,
    },
    Machine {
        target: "i686-unknown-linux-gnu",
        vdso: "i386",
        deb_arch: "i386",
        meta: "linux-image-686",
        suites: &["bookworm"],
        qemu: "qemu-system-i386",
        args: &["-M", "pc", "-cpu", "max"],
        console: "ttyS0",
        cpus: 2,
    },
    Machine {
        target: "aarch64-unknown-linux-gnu",
        vdso: "aarch64",
        deb_arch: "arm64",
        meta: "linux-image-arm64",
        suites: ALL_SUITES,
        qemu: "qemu-system-aarch64",
        args: &["-M", "virt", "-cpu", "max"],
        console: "ttyAMA0",
        cpus: 2,
    },
    Machine {
        target: "riscv64gc-unknown-linux-gnu",
        vdso: "riscv64",
        deb_arch: "riscv64",
        meta: "linux-image-riscv64",
        suites: &["trixie", "sid"],
        qemu: "qemu-system-riscv64",
        args: &["-M", "virt", "-bios", "default"],
        console: "ttyS0",
        cpus: 2,
    },
    Machine {
        target: "armv7-unknown-linux-gnueabihf",
        vdso: "arm",
        deb_arch: "armhf",
        meta: "linux-image-armmp-lpae",
        suites: ALL_SUITES,
        qemu: "qemu-system-arm",
        args: &["-M", "virt,highmem=off", "-cpu", "cortex-a15"],
        console: "ttyAMA0",
        cpus: 1,
    },
    Machine {
        target: "s390x-unknown-linux-gnu",
        vdso: "s390x",
        deb_arch: "s390x",
        meta: "linux-image-s390x",
        suites: ALL_SUITES,
        qemu: "qemu-system-s390x",
        args: &["-M", "s390-ccw-virtio"],
        console: "ttysclp0",
        cpus: 2,
    },
    Machine {
        target: "powerpc64le-unknown-linux-gnu",
        vdso: "ppc64le",
        deb_arch: "ppc64el",
        meta: "linux-image-powerpc64le",
        suites: ALL_SUITES,
        qemu: "qemu-system-ppc64",
        args: &["-M", "pseries,x-vof=on"],
        console: "hvc0",
        cpus: 2,
    },
    Machine {
        target: "i686-unknown-linux-gnu",
        vdso: "i386",
        deb_arch: "amd64",
        meta: "linux-image-amd64",
        suites: &["trixie", "sid"],
        qemu: "qemu-system-x86_64",
        args: &["-M", "pc", "-cpu", "max"],
        console: "ttyS0",
        cpus: 2,
    },
    Machine {
        target: "armv7-unknown-linux-gnueabihf",
        vdso: "arm",
        deb_arch: "arm64",
        meta: "linux-image-arm64",
        suites: ALL_SUITES,
        qemu: "qemu-system-aarch64",
        args: &["-M", "virt", "-cpu", "max"],
        console: "ttyAMA0",
        cpus: 2,
    },
];

/// Where the kernels are kept between runs: `TINYRT_KERNEL_CACHE`, else
/// `$XDG_CACHE_HOME/tinyrt/kernels`, else `~/.cache/tinyrt/kernels` (outside the target
/// directory, so that `cargo clean` does not download them again).
pub fn kernel_cache() -> PathBuf {
    if let Some(d) = std::env::var_os("TINYRT_KERNEL_CACHE") {
        return d.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| root().join("target"));
    base.join("tinyrt/kernels")
}

/// Why a kernel could not be had.
#[derive(Debug)]
pub enum Fetch {
    /// The suite has no such package for the architecture.
    Absent(String),
    /// apt failed (no network, a broken mirror): its messages.
    Failed(String),
}

/// The kernel image of `m` in `suite` (tests/tools/fetch-kernel: a private apt root, the
/// image alone kept in the cache). Where trixie's index names a kernel that the mirror cannot
/// serve (seen for s390x and ppc64el: 404 for 6.12.117, and for trixie-security's 6.12.118),
/// the same 6.12 series as bookworm-backports builds it (Debian's trixie kernel, backported)
/// stands in, and the table's version column shows it (`+deb12`).
pub fn kernel(m: &Machine, suite: &str) -> Result<PathBuf, Fetch> {
    match fetch(m, suite) {
        Err(Fetch::Failed(e)) if suite == "trixie" => fetch(m, "bookworm-backports").map_err(|f| {
            Fetch::Failed(match f {
                Fetch::Absent(b) | Fetch::Failed(b) => format!("{e}\nbookworm-backports: {b}"),
            })
        }),
        r => r,
    }
}

fn fetch(m: &Machine, suite: &str) -> Result<PathBuf, Fetch> {
    let out = Command::new(root().join("tests/tools/fetch-kernel"))
        .arg(kernel_cache())
        .args([suite, m.deb_arch, m.meta])
        .output()
        .expect("run tests/tools/fetch-kernel");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())),
        Some(3) => Err(Fetch::Absent(err)),
        _ => Err(Fetch::Failed(err)),
    }
}

/// A cpio archive in the kernel's "newc" format (Documentation/driver-api/early-userspace/
/// buffer-format.rst): each entry a 110-byte ASCII header, its NUL-terminated name and its
/// data, both padded to 4 bytes; a `TRAILER!!!` entry ends it. Owner root, so no root is
/// needed to make one.
#[derive(Default)]
pub struct Cpio {
    bytes: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn entry(&mut self, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        self.ino += 1;
        let fields = [
            self.ino,
            mode,
            0, // uid
            0, // gid
            1, // nlink
            0, // mtime
            data.len() as u32,
            0, // devmajor
            0, // devminor
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0, // check
        ];
        self.bytes.extend_from_slice(b"070701");
        for f in fields {
            self.bytes.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        self.bytes.extend_from_slice(name.as_bytes());
        self.bytes.push(0);
        self.pad();
        self.bytes.extend_from_slice(data);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.bytes.len().is_multiple_of(4) {
            self.bytes.push(0);
        }
    }

    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, (0, 0), &[]);
    }

    /// A character device node (the kernel makes it: no mknod here).
    pub fn char_dev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020600, (major, minor), &[]);
    }

    pub fn program(&mut self, name: &str, from: &Path) {
        let data = std::fs::read(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        self.entry(name, 0o100755, (0, 0), &data);
    }

    /// A plain file, readable by all.
    pub fn file(&mut self, name: &str, data: &[u8]) {
        self.entry(name, 0o100644, (0, 0), data);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, (0, 0), &[]);
        self.bytes
    }
}

/// What one boot printed, and how long it took.
pub struct Boot {
    pub console: String,
    pub seconds: f64,
    /// False when the deadline passed (qemu was killed).
    pub finished: bool,
}

/// Boots `kernel` with `initrd` on `m` (TCG, one host thread, no network); the run
/// ends when the guest restarts (`-no-reboot`: /init's last act, or a panic with
/// `panic=-1`), or at `deadline`. The console goes to `log` as it comes (and qemu's own
/// messages after it).
pub fn boot(m: &Machine, kernel: &Path, initrd: &Path, log: &Path, deadline: Duration) -> Boot {
    let start = Instant::now();
    let out = std::fs::File::create(log).unwrap();
    let err_path = log.with_extension("stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let mut child = Command::new(m.qemu)
        .args(m.args)
        .args(["-accel", "tcg,thread=single", "-m", "1024", "-smp"])
        .arg(m.cpus.to_string())
        .args(["-nographic", "-no-reboot", "-nic", "none"])
        .arg("-kernel")
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(format!("console={} panic=-1 loglevel=1", m.console))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", m.qemu));
    let mut finished = true;
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            finished = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut console = String::from_utf8_lossy(&std::fs::read(log).unwrap()).replace('\r', "");
    let err = std::fs::read(&err_path).unwrap();
    if !err.is_empty() {
        console.push_str("\n[qemu stderr]\n");
        console.push_str(&String::from_utf8_lossy(&err));
    }
    Boot {
        console,
        seconds,
        finished,
    }
}
