//! What the inspector must list for some of the committed vDSO dumps (tests/fixtures/vdso),
//! besides matching pyelftools: their `#` line and the symbols that tell them apart.
//! Included by `vdso.rs` alone.

/// What the inspector must list for the dumps of qemu-user's big-endian and powerpc vDSOs
/// (besides matching pyelftools): their `#` line and the functions DESIGN.md names.
pub const BIG_ENDIAN_AND_POWER_DUMPS: [(&str, &str, &[&str]); 3] = [
    (
        "s390x-qemu-10.0.2.so",
        "# class=ELF64 machine=22 hash=gnu,sysv versions=yes\n",
        &[
            "__kernel_clock_gettime@LINUX_2.6.29 ",
            "__kernel_clock_getres@LINUX_2.6.29 ",
            "__kernel_gettimeofday@LINUX_2.6.29 ",
            "__kernel_getcpu@LINUX_2.6.29 ",
        ],
    ),
    (
        "ppc64le-qemu-10.0.2.so",
        "# class=ELF64 machine=21 hash=gnu,sysv versions=yes\n",
        &[
            "__kernel_clock_gettime@LINUX_2.6.15 ",
            "__kernel_clock_getres@LINUX_2.6.15 ",
            "__kernel_gettimeofday@LINUX_2.6.15 ",
            "__kernel_time@LINUX_2.6.15 ",
            "__kernel_getcpu@LINUX_2.6.15 ",
        ],
    ),
    (
        "ppc-qemu-10.0.2.so",
        "# class=ELF32 machine=20 hash=gnu,sysv versions=yes\n",
        &[
            "__kernel_clock_gettime@LINUX_2.6.15 ",
            "__kernel_clock_gettime64@LINUX_2.6.15 ",
            "__kernel_gettimeofday@LINUX_2.6.15 ",
        ],
    ),
];

/// The same for dumps of real kernels' vDSOs (tests/kernels.rs boots them): the shapes
/// qemu-user's do not have. aarch64's hash table changed from SysV only (6.1) to GNU only
/// (6.12, 7.2), as arm64's compat vDSO for 32-bit programs did, while 32-bit arm's own
/// stayed SysV only; riscv64's is GNU only on 7.2; 7.2 adds clock_getres_time64 on i386
/// and arm; getrandom arrived on the 64-bit ones.
pub const REAL_KERNEL_DUMPS: [(&str, &str, &[&str]); 10] = [
    (
        "aarch64-linux-6.1.0-50-arm64.so",
        "# class=ELF64 machine=183 hash=sysv versions=yes\n",
        &["__kernel_clock_gettime@LINUX_2.6.39 "],
    ),
    (
        "aarch64-linux-6.12.117+deb13-arm64.so",
        "# class=ELF64 machine=183 hash=gnu versions=yes\n",
        &["__kernel_getrandom@LINUX_2.6.39 "],
    ),
    (
        "aarch64-linux-7.2.13+deb14-arm64.so",
        "# class=ELF64 machine=183 hash=gnu versions=yes\n",
        &["__kernel_clock_gettime@LINUX_2.6.39 "],
    ),
    (
        "arm-linux-7.2.13+deb14-arm64.so",
        "# class=ELF32 machine=40 hash=gnu versions=yes\n",
        &[
            "__vdso_clock_getres_time64@LINUX_2.6 ",
            "__vdso_clock_gettime64@LINUX_2.6 ",
        ],
    ),
    (
        "arm-linux-7.2.13+deb14-armmp-lpae.so",
        "# class=ELF32 machine=40 hash=sysv versions=yes\n",
        &["__vdso_clock_getres_time64@LINUX_2.6 "],
    ),
    (
        "i386-linux-7.2.13+deb14-amd64.so",
        "# class=ELF32 machine=3 hash=gnu,sysv versions=yes\n",
        &[
            "__vdso_clock_getres_time64@LINUX_2.6 ",
            "__vdso_getcpu@LINUX_2.6 ",
        ],
    ),
    (
        "riscv64-linux-7.2.13+deb14-riscv64.so",
        "# class=ELF64 machine=243 hash=gnu versions=yes\n",
        &["__vdso_getrandom@LINUX_4.15 ", "__vdso_getcpu@LINUX_4.15 "],
    ),
    (
        "s390x-linux-7.2.13+deb14-s390x.so",
        "# class=ELF64 machine=22 hash=gnu,sysv versions=yes\n",
        &["__kernel_getrandom@LINUX_2.6.29 "],
    ),
    (
        "ppc64le-linux-7.2.13+deb14-powerpc64le.so",
        "# class=ELF64 machine=21 hash=gnu,sysv versions=yes\n",
        &[
            "__kernel_getrandom@LINUX_2.6.15 ",
            "__kernel_time@LINUX_2.6.15 ",
        ],
    ),
    (
        "x86_64-linux-7.2.13+deb14-amd64.so",
        "# class=ELF64 machine=62 hash=gnu,sysv versions=yes\n",
        &["__vdso_getrandom@LINUX_2.6 "],
    ),
];
