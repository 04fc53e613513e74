/* Runs a program and prints its peak resident set (KiB) on stderr: `maxrss PROGRAM ARGS...`.
 * scripts/report measures through this small launcher rather than from Python, because a
 * child's ru_maxrss counts the memory of the process it was forked from (Linux carries the
 * high-water mark across exec): vfork shares this launcher's few pages instead. */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    pid_t pid = vfork();
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) return 2;
    fprintf(stderr, "maxrss_kib %ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
