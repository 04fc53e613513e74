/* The C equivalent of examples/tick.rs with the default options: a periodic loop on
 * CLOCK_MONOTONIC with absolute deadlines (clock_nanosleep TIMER_ABSTIME, the deadline
 * advanced by one period each tick), printing the same summary line (the drift: the least
 * of how far each of the last 50 ticks woke from the schedule set by the first).
 *   tick PERIOD_NS COUNT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    long long period = atoll(argv[1]);
    int count = atoi(argv[2]);
    long long *late = calloc(count, sizeof *late);
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long next = ns(t), first = next, drift = 0;
    int have = 0;
    for (int k = 0; k < count; k++) {
        struct timespec d = {next / 1000000000LL, next % 1000000000LL};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {}
        clock_gettime(CLOCK_MONOTONIC, &t);
        late[k] = ns(t) - next;
        long long off = ns(t) - (first + (long long)k * period);
        if (k + 50 >= count && (!have || off < drift)) { drift = off; have = 1; }
        next += period;
    }
    qsort(late, count, sizeof *late, cmp);
#define AT(q) late[(count - 1) * (q) / 100]
    printf("summary ticks=%d period_ns=%lld min_ns=%lld median_ns=%lld p99_ns=%lld max_ns=%lld drift_ns=%lld\n",
           count, period, AT(0), AT(50), AT(99), AT(100), drift);
    return 0;
}
