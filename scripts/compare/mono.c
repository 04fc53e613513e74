/* The C equivalent of examples/mono.rs: CLOCK_MONOTONIC once, through the C library's vDSO path. */
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts)) return 1;
    printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
    return 0;
}
