/* The C equivalent of `daemon ticks` (examples/daemon.rs): an epoll loop as C daemons
 * write it. IDLE_FDS pipes' read ends registered (their write ends kept open: never
 * readable), then COUNT ticks of an absolute schedule on CLOCK_MONOTONIC (the k-th due at
 * start + k*PERIOD): each turn reads the clock, and while the next tick is not yet due waits
 * in epoll_wait with the time left in milliseconds, rounded up (epoll_wait's unit; rounded
 * down it would wake early and spin). Prints the same summary line as `daemon ticks`.
 *   ticks PERIOD_US COUNT IDLE_FDS */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: ticks PERIOD_US COUNT IDLE_FDS\n");
        return 2;
    }
    long long period = atoll(argv[1]) * 1000;
    int count = atoi(argv[2]), idle = atoi(argv[3]);
    if (period <= 0 || count < 1 || idle < 0) return 2;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("epoll_create1"); return 1; }
    for (int i = 0; i < idle; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) { perror("pipe2"); return 1; }
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = 1000 + i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e) < 0) { perror("epoll_ctl"); return 1; }
    }
    long long *late = calloc(count, sizeof *late);
    long long start = now_ns(), due = start + period, last_due = start;
    long long waits = 0, other = 0, off = 0;
    struct epoll_event evs[16];
    int k = 0;
    while (k < count) {
        long long now = now_ns();
        if (now < due) {
            int ms = (int)((due - now + 999999) / 1000000);
            int n = epoll_wait(ep, evs, 16, ms);
            waits++;
            if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
            if (n > 0) other += n;
            continue;
        }
        /* Due: the tick is seen now. */
        k++;
        if (due != start + (long long)k * period) off++;
        late[k - 1] = now - due;
        last_due = due;
        due += period;
    }
    long long last = late[count - 1];
    qsort(late, count, sizeof *late, cmp);
#define AT(q) late[(count - 1) * (q) / 100]
    printf("summary ticks=%d period_ns=%lld idle_fds=%d waits=%lld other=%lld min_ns=%lld "
           "median_ns=%lld p99_ns=%lld max_ns=%lld last_ns=%lld drift_ns=%lld off_schedule=%lld\n",
           count, period, idle, waits, other, AT(0), AT(50), AT(99), AT(100), last,
           last_due - (start + (long long)count * period), off);
    return 0;
}
