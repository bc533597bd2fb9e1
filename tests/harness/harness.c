/* Runner for TEST() cases collected from the "test_cases" linker section. */
#include "tests/harness/harness.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct test_case *const __start_test_cases[];
extern const struct test_case *const __stop_test_cases[];

static char tmpdir[64];

int test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("#   skip reason: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return TEST_SKIP;
}

void test_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("#   %s:%d: ", file, line);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static void remove_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

const char *test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/kata-test-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

static int selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

/* Declaration order: the linker keeps section entries in no useful order. */
static int by_position(const void *a, const void *b)
{
    const struct test_case *x = *(const struct test_case *const *)a;
    const struct test_case *y = *(const struct test_case *const *)b;
    int r = strcmp(x->file, y->file);
    return r ? r : x->line - y->line;
}

int main(int argc, char **argv)
{
    unsigned passed = 0, failed = 0, skipped = 0;
    const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

    /* A peer that hangs up must surface as EPIPE, not kill the test binary. */
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    size_t n = (size_t)(__stop_test_cases - __start_test_cases);
    const struct test_case **cases = calloc(n ? n : 1, sizeof(*cases));
    if (!cases)
        abort();
    memcpy(cases, __start_test_cases, n * sizeof(*cases));
    qsort(cases, n, sizeof(*cases), by_position);

    for (const struct test_case **t = cases; t < cases + n; t++) {
        if (!selected((*t)->name, argc, argv))
            continue;
        int r = (*t)->fn();
        if (r == 0) {
            printf("ok %s.%s\n", prog, (*t)->name);
            passed++;
        } else if (r == TEST_SKIP) {
            printf("skip %s.%s\n", prog, (*t)->name);
            skipped++;
        } else {
            printf("FAIL %s.%s (%s:%d)\n", prog, (*t)->name, (*t)->file, (*t)->line);
            failed++;
        }
    }
    free(cases);
    printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
