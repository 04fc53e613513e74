/* Starts PROGRAM N times with posix_spawn and waits for each (glibc's posix_spawn: clone
 * with CLONE_VM | CLONE_VFORK). Prints "repeat N total_ns T". The C side of the spawn
 * benchmark in scripts/report. */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: spawn N PROGRAM [ARGS...]\n");
        return 2;
    }
    long n = atol(argv[1]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, argv[2], NULL, NULL, argv + 2, environ) != 0) return 1;
        if (waitpid(pid, &status, 0) != pid) return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("repeat %ld total_ns %lld\n", n, ns);
    return 0;
}
