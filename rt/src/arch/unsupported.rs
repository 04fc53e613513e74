compile_error!(
    "tinyrt does not support this architecture yet: x86_64 is supported today \
     (i686, aarch64, riscv64 and armv7 are planned)"
);
