/* glibc's getenv beside tinyrt's env::var, for tests/oracle_values.rs: prints what the
 * `args` example prints of its environment (`env NAME: "VALUE"` or `env NAME: (unset)`)
 * for HOME, PATH, TINYRT_ARGS_TEST and each name listed in TINYRT_SHOW (comma-separated),
 * with getenv. The values the test generates need no escaping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(const char *name) {
    const char *v = getenv(name);
    if (v)
        printf("env %s: \"%s\"\n", name, v);
    else
        printf("env %s: (unset)\n", name);
}

int main(void) {
    show("HOME");
    show("PATH");
    show("TINYRT_ARGS_TEST");
    const char *extra = getenv("TINYRT_SHOW");
    static char buf[65536];
    strncpy(buf, extra ? extra : "", sizeof buf - 1);
    for (char *s = buf;;) {
        char *end = strchr(s, ',');
        if (end)
            *end = 0;
        if (*s)
            show(s);
        if (!end)
            break;
        s = end + 1;
    }
    return 0;
}
