/* Thread-local variables for tests/tls.rs, linked into the `tls` example (tinyrt's `threads`
 * feature): compiled by clang for every architecture, with the local-exec model, so that
 * each access is the thread pointer plus the offset LLD computed at link time.
 *
 * The values and alignments here are the ones tests/tls.rs expects: keep them in step.
 * With -DTLS_SMALL only the first three exist, and the segment is aligned to 8 only: the
 * case where the architecture's TCB gap (16 on aarch64, 8 on arm) decides the offsets. */

__thread unsigned int tls_init = 0x12345678u;                              /* .tdata */
__thread unsigned int tls_zero;                                            /* .tbss */
__thread unsigned int tls_a8[2] __attribute__((aligned(8))) = {8, 88};
#ifndef TLS_SMALL
__thread unsigned int tls_a64[16] __attribute__((aligned(64))) = {64, 6464};
__thread unsigned int tls_a4096[4] __attribute__((aligned(4096))) = {4096, 40964096};
__thread unsigned int tls_zero64[16] __attribute__((aligned(64)));         /* .tbss */
#endif

/* The address of variable `i` (in the order above) as the calling thread's code reaches it,
 * or 0 past the last. */
unsigned int *tls_var(unsigned int i)
{
    switch (i) {
    case 0: return &tls_init;
    case 1: return &tls_zero;
    case 2: return tls_a8;
#ifndef TLS_SMALL
    case 3: return tls_a64;
    case 4: return tls_a4096;
    case 5: return tls_zero64;
#endif
    default: return 0;
    }
}

/* Reads word `w` of variable `i` through the compiled thread-pointer-relative code. */
unsigned int tls_read(unsigned int i, unsigned int w)
{
    switch (i) {
    case 0: return tls_init;
    case 1: return tls_zero;
    case 2: return tls_a8[w & 1];
#ifndef TLS_SMALL
    case 3: return tls_a64[w & 15];
    case 4: return tls_a4096[w & 3];
    case 5: return tls_zero64[w & 15];
#endif
    default: return 0;
    }
}

/* Writes `v` into word 0 of variable `i` through the same code. */
void tls_write(unsigned int i, unsigned int v)
{
    switch (i) {
    case 0: tls_init = v; break;
    case 1: tls_zero = v; break;
    case 2: tls_a8[0] = v; break;
#ifndef TLS_SMALL
    case 3: tls_a64[0] = v; break;
    case 4: tls_a4096[0] = v; break;
    case 5: tls_zero64[0] = v; break;
#endif
    }
}
