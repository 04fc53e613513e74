# An i386 vDSO-shaped image that exports `__vdso_clock_getres_time64` (Linux 7.2's i386 and
# arm vDSOs do) and nothing else the dispatch asks for: tests/now.rs writes it over a 32-bit
# program's vDSO at exec. Its function answers a resolution no kernel gives, 4242 ns with
# 0 s, into the 64-bit-time `struct __kernel_timespec` (two 8-byte fields), and 0: a program
# that prints it read it through this function, not the system call. Linked with a version
# script naming LINUX_2.6 (the dispatch's version) or, in a second image, LINUX_2.5.
        .text
        .globl  __vdso_clock_getres_time64
        .type   __vdso_clock_getres_time64, @function
__vdso_clock_getres_time64:
        movl    8(%esp), %eax
        movl    $0, (%eax)
        movl    $0, 4(%eax)
        movl    $4242, 8(%eax)
        movl    $0, 12(%eax)
        xorl    %eax, %eax
        ret
        .size   __vdso_clock_getres_time64, . - __vdso_clock_getres_time64
