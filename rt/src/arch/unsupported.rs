compile_error!(
    "tinyrt does not support this architecture: x86_64, i686, aarch64, riscv64 and armv7 are"
);
