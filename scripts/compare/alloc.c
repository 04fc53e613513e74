/* The allocation workload of scripts/report, in C (built static with glibc's and musl's
 * malloc): OPS random allocations and frees over 1024 slots (sizes 16 B to 1 KiB mostly,
 * a fifth 1 to 64 KiB; every block touched), then a 1 MiB string built 16 bytes at a time.
 * The same random numbers and steps as `heap bench` (examples/heap.rs) and the Rust std
 * version. Prints a checksum.   alloc OPS [THREADS]
 * With THREADS, that many threads run the workload at once (thread T's numbers start from
 * the seed plus T), and the checksum is their sum. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

static uint64_t next(uint64_t *s) {
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dULL;
}

struct job { long ops; uint64_t seed; uint64_t sum; int failed; };

static void *work(void *arg) {
    struct job *j = arg;
    long ops = j->ops;
    uint64_t s = j->seed;
    unsigned char **slot = calloc(1024, sizeof *slot);
    uint64_t sum = 0;
    j->failed = 1;
    if (!slot) return 0;
    for (long i = 0; i < ops; i++) {
        uint64_t r = next(&s);
        unsigned k = r % 1024;
        if (slot[k]) {
            sum += slot[k][0];
            free(slot[k]);
            slot[k] = 0;
        } else {
            size_t size = (r >> 32) % 5 ? 16 + (r >> 40) % 1009 : 1024 + (r >> 40) % 64513;
            slot[k] = malloc(size);
            if (!slot[k]) return 0;
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
            if (!str) return 0;
        }
        memcpy(str + len, "0123456789abcdef", 16);
        len += 16;
    }
    sum += (unsigned char)str[len - 1];
    free(str);
    free(slot);
    j->sum = sum;
    j->failed = 0;
    return 0;
}

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : 1000000;
    int threads = argc > 2 ? atoi(argv[2]) : 0;
    struct job jobs[64];
    uint64_t sum = 0;
    if (threads < 1) {
        jobs[0] = (struct job){ops, 0x9e3779b97f4a7c15ULL, 0, 0};
        work(&jobs[0]);
        if (jobs[0].failed) return 1;
        sum = jobs[0].sum;
    } else {
        pthread_t t[64];
        if (threads > 64) return 2;
        for (int i = 0; i < threads; i++) {
            jobs[i] = (struct job){ops, 0x9e3779b97f4a7c15ULL + i, 0, 0};
            if (pthread_create(&t[i], 0, work, &jobs[i])) return 1;
        }
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], 0);
            if (jobs[i].failed) return 1;
            sum += jobs[i].sum;
        }
    }
    printf("checksum %llu\n", (unsigned long long)sum);
    return 0;
}
