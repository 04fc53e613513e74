/* The C side of scripts/report's thread benchmarks (built static against glibc and musl).
 *   threads spawn N     N x (pthread_create of an empty thread + pthread_join)
 *   threads mutex N     N x (pthread_mutex_lock + unlock), one thread
 *   threads contend N   2 threads, each N/2 x (lock, add, unlock) on one mutex
 *   threads idle N      N threads started and left waiting: resident memory before/after
 * Prints "MODE N total_ns T" (idle: "idle N rss_kib_per_thread K"). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *empty(void *arg) { return arg; }

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static long per_thread;

static void *contend(void *arg) {
    for (long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

static pthread_barrier_t gate;
static void *idle(void *arg) {
    pthread_barrier_wait(&gate); /* started */
    pthread_barrier_wait(&gate); /* measured: may end */
    return arg;
}

static long rss_kib(void) {
    char buf[4096];
    FILE *f = fopen("/proc/self/status", "r");
    long kib = -1;
    while (f && fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "VmRSS:", 6)) kib = atol(buf + 6);
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: threads spawn|mutex|contend|idle N\n");
        return 2;
    }
    const char *mode = argv[1];
    long n = atol(argv[2]);
    long long a = now_ns();
    if (!strcmp(mode, "spawn")) {
        for (long i = 0; i < n; i++) {
            pthread_t t;
            if (pthread_create(&t, NULL, empty, NULL) || pthread_join(t, NULL)) return 1;
        }
    } else if (!strcmp(mode, "mutex")) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&lock);
            counter++;
            pthread_mutex_unlock(&lock);
        }
    } else if (!strcmp(mode, "contend")) {
        pthread_t t[2];
        per_thread = n / 2;
        for (int i = 0; i < 2; i++)
            if (pthread_create(&t[i], NULL, contend, NULL)) return 1;
        for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
        if (counter != 2 * per_thread) return 1;
    } else if (!strcmp(mode, "idle")) {
        pthread_t *t = calloc(n, sizeof *t);
        pthread_barrier_init(&gate, NULL, n + 1);
        long before = rss_kib();
        for (long i = 0; i < n; i++)
            if (pthread_create(&t[i], NULL, idle, NULL)) return 1;
        pthread_barrier_wait(&gate);
        long after = rss_kib();
        pthread_barrier_wait(&gate);
        for (long i = 0; i < n; i++) pthread_join(t[i], NULL);
        printf("idle %ld rss_kib_per_thread %.1f\n", n, (double)(after - before) / n);
        return 0;
    } else {
        return 2;
    }
    printf("%s %ld total_ns %lld\n", mode, n, now_ns() - a);
    return 0;
}
