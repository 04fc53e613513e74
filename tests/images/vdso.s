# Symbols shaped like a vDSO's, for images the tests link themselves (tests/common/images.rs).
# The same source assembles as ELF64 and ELF32 (x86: as --64, as --32; s390x's as: -m64,
# -m31) for either byte order; images linked without a version script assemble it with
# --defsym UNVERSIONED=1. The functions' code is written as bytes, x86's `nop` (0x90) and
# `ret` (0xc3), so that every target's assembler takes it and the tests can check that a
# symbol's address points at its code.
        .macro  nop
        .byte   0x90
        .endm
        .macro  ret
        .byte   0xc3
        .endm

        .text
        .globl  __vdso_clock_gettime
        .type   __vdso_clock_gettime, @function
__vdso_clock_gettime:
        nop
        ret
        .size   __vdso_clock_gettime, . - __vdso_clock_gettime

        .globl  __vdso_gettimeofday
        .type   __vdso_gettimeofday, @function
__vdso_gettimeofday:
        nop
        nop
        ret
        .size   __vdso_gettimeofday, . - __vdso_gettimeofday

        .globl  __vdso_time
        .type   __vdso_time, @function
__vdso_time:
        ret
        .size   __vdso_time, . - __vdso_time

        # A weak alias, like the kernel's clock_gettime -> __vdso_clock_gettime.
        .weak   clock_gettime
        .type   clock_gettime, @function
        .set    clock_gettime, __vdso_clock_gettime

        # An untyped global (STT_NOTYPE): exported, like arm's __kernel_* labels.
        .globl  __vdso_notype
__vdso_notype:
        ret

        # A non-default version (name@VER, one @): its versym has the hidden bit.
        .globl  __vdso_old_impl
        .type   __vdso_old_impl, @function
__vdso_old_impl:
        ret
.ifndef UNVERSIONED
        .symver __vdso_old_impl, __vdso_old@LINUX_2.5
.endif

        # A global the version scripts make local: not exported.
        .globl  __vdso_internal
        .type   __vdso_internal, @function
__vdso_internal:
        ret

        .data
        # A data object: not a function, not listed.
        .globl  __vdso_object
        .type   __vdso_object, @object
__vdso_object:
        .long   1
        .size   __vdso_object, 4
