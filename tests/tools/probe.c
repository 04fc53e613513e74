/* What a started program sees, one item a line, for tests/oracle.rs: its argument count,
 * each argument (length, then the bytes with anything outside printable ASCII, and the
 * backslash, as \xNN), each environment entry in order (escaped the same way), its working
 * directory, the file it runs (/proc/self/exe: which PATH entry a search took), and the
 * SigBlk, SigIgn and SigCgt lines of /proc/self/status. Built static by the test. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void escaped(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p > 0x20 && *p < 0x7f && *p != '\\')
            putchar(*p);
        else
            printf("\\x%02x", *p);
    }
    putchar('\n');
}

int main(int argc, char **argv, char **envp) {
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv %zu ", strlen(argv[i]));
        escaped(argv[i]);
    }
    for (char **e = envp; *e; e++) {
        printf("env ");
        escaped(*e);
    }
    static char buf[PATH_MAX + 1];
    printf("cwd ");
    escaped(getcwd(buf, sizeof buf) ? buf : "?");
    ssize_t n = readlink("/proc/self/exe", buf, PATH_MAX);
    buf[n < 0 ? 0 : n] = 0;
    printf("exe ");
    escaped(buf);
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7) ||
            !strncmp(line, "SigCgt:", 7))
            fputs(line, stdout);
    return f ? 0 : 1;
}
