/* Log URIs through the Task service in process, against the fake agent of
 * tests/support/fake_agent.h (as test_shim_task does), for what ctr cannot
 * send: a terminal process (ctr drops --log-uri with -t) writing to a
 * file:// and to a binary:// logger, init and exec, and the exact gRPC
 * code of a bad URI on Create and Exec. Needs root (rootfs bind mounts). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "shim/shim.h"
#include "tests/harness/harness.h"
#include "tests/support/fake_agent.h"
#include "tests/support/shim_env.h"


static const char *sid(int n)
{
    static char ids[4][32];

    if (!ids[n][0])
        snprintf(ids[n], sizeof(ids[n]), "lt%d-%d", n, (int)getpid());
    return ids[n];
}

/* The in-process shim of shim_env.h, with containerd's namespace set to
 * one the logger must see (not the default). */
static int env_init(struct shim_env *v, const struct fake_agent_opts *o)
{
    int r = shim_env_init(v, o, 10);

    if (r)
        return r;
    v->shim.namespace_ = "ns1";
    /* A logger that died must not take the test with it. */
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

#define ENV(v, ...)                                                                                \
    _cleanup_(shim_env_free) struct shim_env v;                                                    \
    do {                                                                                           \
        struct fake_agent_opts _o = {__VA_ARGS__};                                                 \
        int _r = env_init(&v, &_o);                                                                \
        if (_r)                                                                                    \
            return _r;                                                                             \
    } while (0)

static int create(struct shim_env *v, const char *id, const char *out, const char *errp,
                  bool terminal)
{
    Containerd__Task__V2__CreateTaskRequest req = CONTAINERD__TASK__V2__CREATE_TASK_REQUEST__INIT;
    char bundle[512];

    if (shim_env_bundle(id,
                        "{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":true,\"args\":"
                        "[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"linux\":"
                        "{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":"
                        "\"/proc/self/ns/net\"}]}}",
                        bundle, sizeof(bundle)) < 0)
        return -1;
    req.id = (char *)id;
    req.bundle = bundle;
    req.terminal = terminal;
    req.stdout = (char *)out;
    req.stderr = (char *)errp;
    return shim_env_call(v, "Create", &req.base,
                         &containerd__task__v2__create_task_response__descriptor, NULL);
}

static int exec_req(struct shim_env *v, const char *id, const char *exec_id, const char *out,
                    bool terminal)
{
    return shim_env_exec(v, id, exec_id, "{\"terminal\":true,\"args\":[\"true\"],\"cwd\":\"/\"}",
                         terminal, out);
}

static int count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;

    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static bool file_is(const char *path, const char *want)
{
    char buf[256] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

    if (fd >= 0)
        close(fd);
    if (n < 0 || strcmp(buf, want) != 0) {
        printf("#   %s: '%s', want '%s'\n", path, n < 0 ? "(missing)" : buf, want);
        return false;
    }
    return true;
}

TEST(terminal_init_to_a_file)
{
    ENV(v, .exit_at_start = 7, .output = "hello\n");
    char log[PATH_MAX], uri[PATH_MAX + 16];
    uint32_t ex = 0;

    snprintf(log, sizeof(log), "%s/tty-file/new/log", test_tmpdir());
    snprintf(uri, sizeof(uri), "file://%s", log);
    /* A terminal has no stderr: containerd sends "" (anything is ignored). */
    ASSERT_EQ(create(&v, sid(0), uri, "", true), 0);
    ASSERT_EQ(shim_env_start(&v, sid(0), ""), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(0), "", &ex), 0);
    ASSERT_EQ(ex, 7);
    ASSERT_TRUE(file_is(log, "hello\n"));
    ASSERT_EQ(shim_env_delete(&v, sid(0), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

/* A stdout path naming a regular file (not a FIFO) is appended to. */
TEST(plain_file_path_is_appended_to)
{
    ENV(v, .exit_at_start = 0, .output = "appended\n");
    char log[PATH_MAX];
    uint32_t ex = 1;
    int fd;

    snprintf(log, sizeof(log), "%s/plain.log", test_tmpdir());
    ASSERT_OK(fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    ASSERT_EQ(write(fd, "old\n", 4), 4);
    close(fd);
    /* (stderr to a device: written directly, as epoll refuses it) */
    ASSERT_EQ(create(&v, sid(3), log, "/dev/null", false), 0);
    ASSERT_EQ(shim_env_start(&v, sid(3), ""), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(3), "", &ex), 0);
    ASSERT_EQ(ex, 0);
    ASSERT_TRUE(file_is(log, "old\nappended\n"));
    ASSERT_EQ(shim_env_delete(&v, sid(3), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}

TEST(terminal_logger_gets_stdout_and_an_empty_stderr)
{
    ENV(v, .exit_at_start = -1, .output = "from-tty\n");
    int fds_before;
    char dir[PATH_MAX], script[PATH_MAX + 16], text[8 * PATH_MAX], uri[PATH_MAX + 64],
        path[PATH_MAX + 16];
    uint32_t ex = 0;
    int fd;

    snprintf(dir, sizeof(dir), "%s/tty-logger", test_tmpdir());
    ASSERT_OK(mkdir(dir, 0755));
    snprintf(script, sizeof(script), "%s/logger.sh", dir);
    snprintf(text, sizeof(text),
             "#!/bin/sh\n"
             "echo \"$@ $CONTAINER_ID $CONTAINER_NAMESPACE\" >> %1$s/args\n"
             "cat <&3 >> %1$s/out 4<&- 5>&- &\n"
             "cat <&4 >> %1$s/err 3<&- 5>&- &\n"
             "exec 3<&- 4<&- 5>&-\n"
             "wait\n"
             "echo done >> %1$s/done\n",
             dir);
    ASSERT_OK(fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755));
    ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    snprintf(uri, sizeof(uri), "binary://%s?mode=tty", script);
    fds_before = count_fds();
    ASSERT_EQ(create(&v, sid(1), uri, "", true), 0);
    ASSERT_EQ(shim_env_start(&v, sid(1), ""), 0);
    /* An exec with a terminal, to the same logger program. */
    ASSERT_EQ(exec_req(&v, sid(1), "x1", uri, true), 0);
    ASSERT_EQ(shim_env_start(&v, sid(1), "x1"), 0);
    ASSERT_EQ(shim_env_kill(&v, sid(1), "x1", SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(1), "x1", &ex), 0);
    ASSERT_EQ(ex, 137);
    /* Its exit was reported only after its logger had finished. */
    snprintf(path, sizeof(path), "%s/done", dir);
    ASSERT_TRUE(file_is(path, "done\n"));
    ASSERT_EQ(shim_env_kill(&v, sid(1), "", SIGTERM), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(1), "", &ex), 0);
    ASSERT_EQ(ex, 128 + SIGTERM);
    ASSERT_TRUE(file_is(path, "done\ndone\n"));
    /* Both wrote the same line: the order does not matter. */
    snprintf(path, sizeof(path), "%s/out", dir);
    ASSERT_TRUE(file_is(path, "from-tty\nfrom-tty\n"));
    snprintf(path, sizeof(path), "%s/err", dir);
    ASSERT_TRUE(file_is(path, ""));
    snprintf(path, sizeof(path), "%s/args", dir);
    /* CONTAINER_ID is the exec's id for the exec, as runc's shim has it;
     * the two loggers started in either order. */
    snprintf(text, sizeof(text), "mode tty %s ns1\nmode tty x1 ns1\n", sid(1));
    if (!file_is(path, text)) {
        snprintf(text, sizeof(text), "mode tty x1 ns1\nmode tty %s ns1\n", sid(1));
        ASSERT_TRUE(file_is(path, text));
    }
    ASSERT_EQ(shim_env_delete(&v, sid(1), "x1", NULL), 0);
    ASSERT_EQ(shim_env_delete(&v, sid(1), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    /* The loggers' pipes and pidfds are gone with them (the fake agent
     * drops the shim's connection a turn or two later). */
    for (int i = 0; i < 50 && count_fds() != fds_before; i++)
        loop_run_once(v.shim.loop, 20);
    ASSERT_EQ(count_fds(), fds_before);
    return 0;
}

TEST(bad_uris_are_invalid_argument_on_create_and_exec)
{
    ENV(v, .exit_at_start = -1);
    char uri[PATH_MAX + 32];
    uint32_t ex = 0;

    ASSERT_EQ(create(&v, sid(2), "ftp:///x", "ftp:///x", false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(create(&v, sid(2), "file://rel/x", "file://rel/x", false), TTRPC_INVALID_ARGUMENT);
    snprintf(uri, sizeof(uri), "binary://%s/missing-logger", test_tmpdir());
    ASSERT_EQ(create(&v, sid(2), uri, uri, false), TTRPC_INVALID_ARGUMENT);
    /* Nothing was created by those. */
    ASSERT_TRUE(v.shim.sandbox == NULL);
    ASSERT_EQ(create(&v, sid(2), "", "", false), 0);
    ASSERT_EQ(shim_env_start(&v, sid(2), ""), 0);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", uri, false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", "nope:/x", false), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(exec_req(&v, sid(2), "x1", "", false), 0); /* the id was not taken */
    ASSERT_EQ(fake_agent_calls(v.fa, "CreateContainer"), 1);
    ASSERT_EQ(shim_env_kill(&v, sid(2), "", SIGKILL), 0);
    ASSERT_EQ(shim_env_wait(&v, sid(2), "", &ex), 0);
    ASSERT_EQ(shim_env_delete(&v, sid(2), "", NULL), 0);
    ASSERT_TRUE(shim_env_settle(&v));
    return 0;
}
