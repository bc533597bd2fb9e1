/* Log URIs under a real, private containerd 1.6 with the mock hypervisor
 * driver and the real kata-agent: `ctr run --log-uri file:///...` and
 * `binary:///...?k=v` (a logger script written here that copies fds 3 and
 * 4 to files), for a task (1 MB of output) and for an exec; a logger
 * that ignores EOF and SIGTERM is killed, and none outlives its task; bad
 * URIs fail Create/Exec with an error naming them. The last test checks
 * that no shim or logger is left. Skips like test_shim_containerd. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/busybox_image.h"
#include "tests/support/containerd_harness.h"
#include "tests/support/vm_ctr.h"

#define IMG BUSYBOX_IMAGE_REF
/* `seq 1 SEQ_N` prints a little over 1 MB. */
#define SEQ_N 170000
#define SEQ_N_STR "170000"

/* The containerd of vm_ctr.h; its containers run on the mock hypervisor
 * driver (the real kata-agent as a host process), written to kata_toml. */
static struct vmc_containerd ctd = VMC_CONTAINERD_INIT;
static struct vmc_paths paths;
static char kata_toml[PATH_MAX], sh_bin[PATH_MAX];

static const char *const bases[] = {"lf", "lb", "lx", "lhang", "lbad", "lterm"};
#define ID(var, base)                                                                              \
    char var[64];                                                                                  \
    vmc_id(var, sizeof(var), base)

static void stop_all(void)
{
    char ids[ELEMENTSOF(bases)][64];
    const char *ptrs[ELEMENTSOF(bases)];

    for (size_t i = 0; i < ELEMENTSOF(bases); i++) {
        vmc_id(ids[i], sizeof(ids[i]), bases[i]);
        ptrs[i] = ids[i];
    }
    vmc_containerd_stop(&ctd, ptrs, ELEMENTSOF(bases));
}

static int setup(void)
{
    char agent[PATH_MAX + 16];
    FILE *f;

    if (ctd.up)
        return 0;
    if (geteuid() != 0)
        return test_skip("needs root (containerd, mounts)");
    if (vmc_paths_init(&paths) < 0)
        return 1;
    snprintf(agent, sizeof(agent), "%s/kata-agent", paths.bin);
    if (access(paths.shim, X_OK) < 0 || access(agent, X_OK) < 0)
        return test_skip("%s or %s is not built", paths.shim, agent);
    /* The logger scripts run under /bin/sh; count them by its binary. */
    if (!realpath("/bin/sh", sh_bin))
        return test_skip("no /bin/sh");
    snprintf(kata_toml, sizeof(kata_toml), "%s/kata-mock.toml", test_tmpdir());
    if (!(f = fopen(kata_toml, "we")))
        return 1;
    fprintf(f, "[hypervisor.mock]\npath = \"%s\"\n[agent.kata]\ndial_timeout = 10\n", agent);
    if (fclose(f) != 0)
        return 1;
    return vmc_containerd_up(&ctd, stop_all);
}

#define CTR(res, ...) ASSERT_OK(ch_ctr(&ctd.c, 90000, (res), __VA_ARGS__, NULL))
#define RUN_ARGS "run", "--runtime", VMC_RUNTIME, "--runtime-config-path", kata_toml

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, len = 0, n;

    if (!f)
        return NULL;
    do {
        if (len + 65536 > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

/* Takes the first occurrence of needle out of buf (output of the other
 * stream lands between whole writes of this one, not between lines). */
static bool cut(char *buf, size_t *len, const char *needle)
{
    char *p = strstr(buf, needle);
    size_t n = strlen(needle);

    if (!p)
        return false;
    memmove(p, p + n, *len - (size_t)(p - buf) - n + 1);
    *len -= n;
    return true;
}

/* Is buf exactly `seq 1 n`? */
static bool is_seq(const char *buf, size_t len, unsigned n)
{
    size_t off = 0;
    char line[32];

    for (unsigned i = 1; i <= n; i++) {
        int k = snprintf(line, sizeof(line), "%u\n", i);
        if (off + (size_t)k > len || memcmp(buf + off, line, (size_t)k) != 0) {
            printf("#   seq differs at %u (offset %zu of %zu)\n", i, off, len);
            return false;
        }
        off += (size_t)k;
    }
    if (off != len)
        printf("#   %zu bytes after the seq\n", len - off);
    return off == len;
}

/* The file holds `seq 1 n` on stdout plus extra (from stderr). */
static int check_seq_file(const char *path, unsigned n, const char *extra)
{
    size_t len = 0;
    _cleanup_free_ char *buf = slurp(path, &len);

    ASSERT_TRUE(buf != NULL);
    printf("#   %s: %zu bytes\n", path, len);
    if (extra)
        ASSERT_TRUE(cut(buf, &len, extra));
    ASSERT_TRUE(is_seq(buf, len, n));
    return 0;
}

static int write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

    if (fd < 0)
        return -errno;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return -EIO;
    }
    return close(fd) < 0 ? -errno : 0;
}

/* A logger: its arguments and environment to <dir>/args and <dir>/env,
 * fd 3 to <dir>/out, fd 4 to <dir>/err, ready by closing fd 5, and
 * <dir>/done once both copies ended (before it exits). */
static int write_logger(const char *dir, char *script, size_t size)
{
    char text[2048];

    snprintf(script, size, "%s/logger.sh", dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "echo \"$@\" > %1$s/args\n"
             "echo \"$CONTAINER_ID $CONTAINER_NAMESPACE $LOGGER_MODE\" > %1$s/env\n"
             "cat <&3 > %1$s/out 4<&- 5>&- &\n"
             "cat <&4 > %1$s/err 3<&- 5>&- &\n"
             "exec 3<&- 4<&- 5>&-\n"
             "wait\n"
             "echo done > %1$s/done\n",
             dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -errno;
    return write_file(script, text, 0755);
}

static bool file_is(const char *dir, const char *name, const char *want)
{
    char path[PATH_MAX];
    size_t len = 0;
    _cleanup_free_ char *buf = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    buf = slurp(path, &len);
    if (!buf || strcmp(buf, want) != 0) {
        printf("#   %s: '%s', want '%s'\n", path, buf ? buf : "(missing)", want);
        return false;
    }
    return true;
}

static int loggers_running(const char *script)
{
    return ch_count_processes_with(sh_bin, script);
}

TEST(file_uri_takes_a_megabyte_and_stderr)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char log[PATH_MAX], uri[PATH_MAX + 16];

    VMC_SETUP(setup());
    ID(id, "lf");
    /* Its directory does not exist yet: the shim creates it. */
    snprintf(log, sizeof(log), "%s/file-uri/sub/log", test_tmpdir());
    snprintf(uri, sizeof(uri), "file://%s", log);
    CTR(&res, RUN_ARGS, "--rm", "--log-uri", uri, IMG, id, "sh", "-c",
        "seq 1 " SEQ_N_STR "; echo to-stderr >&2");
    vmc_show("run --log-uri file", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ASSERT_EQ(res.len, 0);
    ch_result_done(&res);
    return check_seq_file(log, SEQ_N, "to-stderr\n");
}

TEST(binary_uri_logger_gets_both_streams_args_and_env)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char dir[PATH_MAX], script[PATH_MAX], uri[2 * PATH_MAX], path[PATH_MAX + 8], env[128];

    VMC_SETUP(setup());
    ID(id, "lb");
    snprintf(dir, sizeof(dir), "%s/binary-uri", test_tmpdir());
    ASSERT_OK(write_logger(dir, script, sizeof(script)));
    snprintf(uri, sizeof(uri), "binary://%s?foo=bar&env.LOGGER_MODE=x%%20y", script);
    CTR(&res, RUN_ARGS, "--rm", "--log-uri", uri, IMG, id, "sh", "-c",
        "seq 1 " SEQ_N_STR "; echo to-stderr >&2");
    vmc_show("run --log-uri binary", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    /* The task exited only after the logger had finished. */
    ASSERT_TRUE(file_is(dir, "done", "done\n"));
    ASSERT_TRUE(file_is(dir, "args", "foo bar\n"));
    snprintf(env, sizeof(env), "%s default x y\n", id);
    ASSERT_TRUE(file_is(dir, "env", env));
    ASSERT_TRUE(file_is(dir, "err", "to-stderr\n"));
    snprintf(path, sizeof(path), "%s/out", dir);
    ASSERT_EQ(check_seq_file(path, SEQ_N, NULL), 0);
    ASSERT_EQ(loggers_running(script), 0);
    return 0;
}

TEST(exec_takes_file_and_binary_uris)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char dir[PATH_MAX], script[PATH_MAX], uri[2 * PATH_MAX], log[PATH_MAX + 16];

    VMC_SETUP(setup());
    ID(id, "lx");
    snprintf(dir, sizeof(dir), "%s/exec-uri", test_tmpdir());
    ASSERT_OK(write_logger(dir, script, sizeof(script)));
    CTR(&res, RUN_ARGS, "-d", IMG, id, "sleep", "300");
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    snprintf(log, sizeof(log), "%s/exec.log", dir);
    snprintf(uri, sizeof(uri), "file://%s", log);
    /* Real-sized: the exit is reported while the tail of the output is
     * still in the guest; none of it may be lost. */
    CTR(&res, "task", "exec", "--exec-id", "e1", "--log-uri", uri, id, "sh", "-c",
        "seq 1 " SEQ_N_STR "; echo exec-stderr >&2; exit 4");
    vmc_show("exec --log-uri file", &res, 300);
    ASSERT_EQ(res.exit_code, 4);
    ch_result_done(&res);
    ASSERT_EQ(check_seq_file(log, SEQ_N, "exec-stderr\n"), 0);
    snprintf(uri, sizeof(uri), "binary://%s?k", script);
    CTR(&res, "task", "exec", "--exec-id", "e2", "--log-uri", uri, id, "sh", "-c",
        "echo exec-out; echo exec-err >&2");
    vmc_show("exec --log-uri binary", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_TRUE(file_is(dir, "out", "exec-out\n"));
    ASSERT_TRUE(file_is(dir, "err", "exec-err\n"));
    ASSERT_TRUE(file_is(dir, "args", "k \n"));
    ASSERT_TRUE(file_is(dir, "env", "e2 default \n")); /* the exec's id, as runc has it */
    ASSERT_TRUE(file_is(dir, "done", "done\n"));
    ASSERT_EQ(loggers_running(script), 0);
    ASSERT_EQ(vmc_kill_task(&ctd, id), 0);
    CTR(&res, "container", "rm", id);
    ch_result_done(&res);
    return 0;
}

/* A logger that never exits on EOF and ignores SIGTERM is killed (with
 * whatever it started) by the time the task is deleted. */
TEST(stubborn_logger_is_killed)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    char dir[PATH_MAX], script[PATH_MAX + 32], uri[2 * PATH_MAX], text[PATH_MAX + 256];

    VMC_SETUP(setup());
    ID(id, "lhang");
    snprintf(dir, sizeof(dir), "%s/stubborn", test_tmpdir());
    ASSERT_TRUE(mkdir(dir, 0755) == 0 || errno == EEXIST);
    snprintf(script, sizeof(script), "%s/stubborn-logger.sh", dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\ntrap '' TERM\nexec 5>&-\ncat <&3 > %s/out &\n"
             "while :; do sleep 1; done\n",
             dir);
    ASSERT_OK(write_file(script, text, 0755));
    snprintf(uri, sizeof(uri), "binary://%s", script);
    CTR(&res, RUN_ARGS, "--rm", "--log-uri", uri, IMG, id, "echo", "hi");
    vmc_show("run with a stubborn logger", &res, 300);
    ASSERT_EQ(res.exit_code, 0);
    ch_result_done(&res);
    ASSERT_TRUE(file_is(dir, "out", "hi\n"));
    ASSERT_EQ(loggers_running(script), 0);
    return 0;
}

static int expect_bad(const char *uri, const char *why)
{
    _cleanup_(ch_result_done) struct ch_result res = {.exit_code = -1};
    ID(id, "lbad");

    CTR(&res, RUN_ARGS, "--rm", "--log-uri", uri, IMG, id, "echo", "hi");
    vmc_show(uri, &res, 300);
    ASSERT_NE(res.exit_code, 0);
    ASSERT_TRUE(strstr(res.output, uri) != NULL);
    ASSERT_TRUE(strstr(res.output, why) != NULL);
    ASSERT_TRUE(strstr(res.output, "InvalidArgument") != NULL ||
                strstr(res.output, "invalid argument") != NULL);
    ch_result_done(&res);
    ch_ctr(&ctd.c, 20000, &res, "task", "rm", "-f", id, NULL);
    ch_result_done(&res);
    ch_ctr(&ctd.c, 20000, &res, "container", "rm", id, NULL);
    return 0;
}

TEST(bad_uris_fail_create_naming_them)
{
    char uri[PATH_MAX + 32];

    VMC_SETUP(setup());
    ASSERT_EQ(expect_bad("ftp:///tmp/x", "unknown scheme"), 0);
    ASSERT_EQ(expect_bad("file://relative/log", "relative"), 0);
    snprintf(uri, sizeof(uri), "binary://%s/no-such-logger", test_tmpdir());
    ASSERT_EQ(expect_bad(uri, "No such file"), 0);
    snprintf(uri, sizeof(uri), "binary://%s", test_tmpdir());
    ASSERT_EQ(expect_bad(uri, "not a regular file"), 0);
    return 0;
}

TEST(zz_nothing_is_left_behind)
{
    VMC_SETUP(setup());
    for (int i = 0; i < 100 && ch_count_processes_with(paths.shim, ctd.c.sock) > 0; i++)
        usleep(50000);
    ASSERT_EQ(ch_count_processes_with(paths.shim, ctd.c.sock), 0);
    ASSERT_EQ(loggers_running(test_tmpdir()), 0);
    ASSERT_EQ(ch_count_mounts(ctd.c.dir), 0);
    stop_all();
    return 0;
}
