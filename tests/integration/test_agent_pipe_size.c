/* agent.container_pipe_size with the stand-alone kata-agent: the kernel
 * parameter reaches the agent through KATA_AGENT_CMDLINE (a file read in
 * place of /proc/cmdline), and the stdout and stderr pipes of container
 * and exec processes then have that size, seen from the test with
 * F_GETPIPE_SZ on /proc/<pid>/fd/N of the process itself. stdin keeps the
 * kernel's default, as in the Kata agent. A size the kernel refuses is
 * logged and the process runs with default pipes. Needs root and
 * busybox-static; skips otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

struct fixture {
    struct agent_harness h;
    char bundle[300];
};

/* Starts an agent whose kernel command line is `cmdline`. */
static int setup(struct fixture *f, const char *cmdline)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/cmdline-%d", test_tmpdir(), (int)getpid());
    FILE *fp = fopen(path, "w");
    if (!fp)
        return 1;
    fprintf(fp, "%s\n", cmdline);
    fclose(fp);
    setenv("KATA_AGENT_CMDLINE", path, 1);
    int r = agent_harness_start_with_bundle(&f->h, f->bundle, sizeof(f->bundle));
    unsetenv("KATA_AGENT_CMDLINE");
    return r == -ENOENT ? test_skip("%s", f->h.why) : r;
}

static int create(struct fixture *f, const char *cid, const char *const *args)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, args);
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    const char *msg = NULL;
    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = &s.spec;
    int code = agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   CreateContainer %s: %d %s\n", cid, code, msg ? msg : "");
    return code;
}

static int exec_proc(struct fixture *f, const char *cid, const char *eid, const char *const *args)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, args);
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    const char *msg = NULL;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.process = &s.process;
    int code = agent_harness_call(&f->h, "ExecProcess", &req.base, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   ExecProcess %s: %d %s\n", eid, code, msg ? msg : "");
    return code;
}

static int kill_and_remove(struct fixture *f, const char *cid)
{
    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = (char *)cid;
    sig.exec_id = (char *)cid;
    sig.signal = 9;
    if (agent_harness_call(&f->h, "SignalProcess", &sig.base, EMPTY, NULL, NULL) != 0 ||
        agent_harness_wait(&f->h, cid, cid) != 128 + 9)
        return -1;
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.timeout = 10;
    return agent_harness_call(&f->h, "RemoveContainer", &req.base, EMPTY, NULL, NULL);
}

/* The pid of the process whose command line is exactly `sleep <arg>`: the
 * argument is unique to this test run. 0 when there is none (yet). */
static pid_t find_sleeper(const char *arg)
{
    char want[64], path[300], buf[64];
    size_t want_len = (size_t)snprintf(want, sizeof(want), "sleep%c%s", '\0', arg) + 1;
    pid_t found = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && !found && (de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf));
        close(fd);
        if (n == (ssize_t)want_len && memcmp(buf, want, want_len) == 0)
            found = (pid_t)atoi(de->d_name);
    }
    if (d)
        closedir(d);
    return found;
}

static pid_t wait_sleeper(const char *arg)
{
    pid_t pid = 0;
    for (int i = 0; i < 500 && !(pid = find_sleeper(arg)); i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    return pid;
}

/* The size of the pipe behind fd n of pid: opening /proc/<pid>/fd/<n>
 * opens that very pipe. -errno when it is not one. */
static int pipe_size_of(pid_t pid, int n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, n);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int size = fcntl(fd, F_GETPIPE_SZ);
    if (size < 0)
        size = -errno;
    close(fd);
    return size;
}

static int default_pipe_size(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    int size = fcntl(p[0], F_GETPIPE_SZ);
    close(p[0]);
    close(p[1]);
    return size;
}

TEST(container_and_exec_pipes_get_the_size)
{
    struct fixture f;
    int r = setup(&f, "console=hvc0 agent.container_pipe_size=262144 quiet");
    if (r)
        return r;
    int dflt = default_pipe_size();
    ASSERT_GT(dflt, 0);
    ASSERT_NE(dflt, 262144); /* else the test would prove nothing */
    char init_arg[32], exec_arg[32], out[256];
    snprintf(init_arg, sizeof(init_arg), "%d", 700000 + (int)getpid());
    snprintf(exec_arg, sizeof(exec_arg), "%d", 800000 + (int)getpid());

    const char *init_args[] = {"sleep", init_arg, NULL};
    ASSERT_EQ(create(&f, "pipes", init_args), 0);
    ASSERT_EQ(agent_harness_call_cid(&f.h, "StartContainer", "pipes", NULL), 0);
    pid_t pid = wait_sleeper(init_arg);
    ASSERT_GT(pid, 0);
    printf("#   init %d: stdin %d, stdout %d, stderr %d\n", (int)pid, pipe_size_of(pid, 0),
           pipe_size_of(pid, 1), pipe_size_of(pid, 2));
    ASSERT_EQ(pipe_size_of(pid, 1), 262144);
    ASSERT_EQ(pipe_size_of(pid, 2), 262144);
    ASSERT_EQ(pipe_size_of(pid, 0), dflt);

    const char *exec_args[] = {"sleep", exec_arg, NULL};
    ASSERT_EQ(exec_proc(&f, "pipes", "e1", exec_args), 0);
    pid_t epid = wait_sleeper(exec_arg);
    ASSERT_GT(epid, 0);
    ASSERT_EQ(pipe_size_of(epid, 1), 262144);
    ASSERT_EQ(pipe_size_of(epid, 2), 262144);

    /* The streams still carry output. */
    const char *echo_args[] = {"sh", "-c", "echo to-out; echo to-err >&2", NULL};
    ASSERT_EQ(exec_proc(&f, "pipes", "e2", echo_args), 0);
    ASSERT_GE(agent_harness_read_all(&f.h, "pipes", "e2", false, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "to-out\n");
    ASSERT_GE(agent_harness_read_all(&f.h, "pipes", "e2", true, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "to-err\n");
    ASSERT_EQ(agent_harness_wait(&f.h, "pipes", "e2"), 0);

    ASSERT_EQ(kill_and_remove(&f, "pipes"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    return agent_harness_stop(&f.h) != 0;
}

/* 1 GiB: the kernel allocates a pipe's ring in one piece, far beyond what
 * it can (and without CAP_SYS_RESOURCE beyond fs.pipe-max-size). */
TEST(a_size_the_kernel_refuses_is_not_fatal)
{
    struct fixture f;
    int r = setup(&f, "agent.container_pipe_size=1073741824");
    if (r)
        return r;
    int dflt = default_pipe_size();
    char arg[32], out[256];
    snprintf(arg, sizeof(arg), "%d", 900000 + (int)getpid());
    const char *args[] = {"sleep", arg, NULL};
    ASSERT_EQ(create(&f, "big", args), 0);
    ASSERT_EQ(agent_harness_call_cid(&f.h, "StartContainer", "big", NULL), 0);
    pid_t pid = wait_sleeper(arg);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(pipe_size_of(pid, 1), dflt);
    ASSERT_EQ(pipe_size_of(pid, 2), dflt);
    const char *echo_args[] = {"echo", "flows", NULL};
    ASSERT_EQ(exec_proc(&f, "big", "e1", echo_args), 0);
    ASSERT_GE(agent_harness_read_all(&f.h, "big", "e1", false, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "flows\n");
    ASSERT_EQ(agent_harness_wait(&f.h, "big", "e1"), 0);
    ASSERT_EQ(kill_and_remove(&f, "big"), 0);
    return agent_harness_stop(&f.h) != 0;
}
