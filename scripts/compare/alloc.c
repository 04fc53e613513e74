/* The allocation workload of scripts/report, in C (built static with glibc's and musl's
 * malloc): OPS random allocations and frees over 1024 slots (sizes 16 B to 1 KiB mostly,
 * a fifth 1 to 64 KiB; every block touched), then a 1 MiB string built 16 bytes at a time.
 * The same random numbers and steps as `heap bench` (examples/heap.rs) and the Rust std
 * version. Prints a checksum.   alloc OPS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
    s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dULL;
}

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : 1000000;
    static unsigned char *slot[1024];
    uint64_t sum = 0;
    for (long i = 0; i < ops; i++) {
        uint64_t r = next();
        unsigned k = r % 1024;
        if (slot[k]) {
            sum += slot[k][0];
            free(slot[k]);
            slot[k] = 0;
        } else {
            size_t size = (r >> 32) % 5 ? 16 + (r >> 40) % 1009 : 1024 + (r >> 40) % 64513;
            slot[k] = malloc(size);
            if (!slot[k]) return 1;
            slot[k][0] = (unsigned char)r;
            slot[k][size - 1] = 1;
        }
    }
    for (int k = 0; k < 1024; k++) free(slot[k]);
    size_t len = 0, cap = 0;
    char *str = 0;
    while (len < 1 << 20) {
        if (len + 16 > cap) {
            cap = cap ? cap * 2 : 16;
            str = realloc(str, cap);
            if (!str) return 1;
        }
        memcpy(str + len, "0123456789abcdef", 16);
        len += 16;
    }
    sum += (unsigned char)str[len - 1];
    free(str);
    printf("checksum %llu\n", (unsigned long long)sum);
    return 0;
}
