/* The stand-alone kata-agent driven over ttRPC with the generated agent
 * messages: a busybox bundle, real namespaces, cgroups, seccomp and
 * capabilities. Needs root and busybox-static; skips otherwise. Every test
 * starts its own agent and checks that nothing leaked (mounts under the
 * scratch dir, the test cgroup, agent fds). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor

struct fixture {
    struct agent_harness h;
    char bundle[300];
    int fds_before;
};

static int setup(struct fixture *f)
{
    int r = agent_harness_start_with_bundle(&f->h, f->bundle, sizeof(f->bundle));
    if (r == -ENOENT)
        return test_skip("%s", f->h.why);
    if (r < 0)
        return r;
    f->fds_before = agent_harness_count_fds(f->h.pid);
    return 0;
}

/* The agent must exit cleanly on SIGTERM (under ASan: no leak report). */
static int teardown(struct fixture *f)
{
    int rc = agent_harness_stop(&f->h);
    if (rc != 0)
        fprintf(stderr, "# the agent exited with %d\n", rc);
    return rc != 0;
}

static int create(struct fixture *f, struct agent_harness_spec *s, const char *cid,
                  const char **msg)
{
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = &s->spec;
    int code = agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, msg);
    if (code != 0)
        printf("#   CreateContainer %s: %d %s\n", cid, code, *msg);
    return code;
}

static int simple(struct fixture *f, const char *method, const char *cid, const char **msg)
{
    Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return agent_harness_call(&f->h, method, &req.base, EMPTY, NULL, msg);
}

static int remove_ctr(struct fixture *f, const char *cid)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.timeout = 10;
    return agent_harness_call(&f->h, "RemoveContainer", &req.base, EMPTY, NULL, NULL);
}

/* Reads a stream until EOF into buf. */
/* The exec is dropped on the agent's next loop turn after the last EOF was
 * read; WaitProcess answers its status until then, NOT_FOUND after. */
static int wait_gone(struct fixture *f, const char *cid, const char *eid)
{
    for (int i = 0; i < 1000; i++) {
        int st = agent_harness_wait(&f->h, cid, eid);
        if (st == -1000 - TTRPC_NOT_FOUND)
            return 0;
        if (st < 0)
            return st;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return -ETIMEDOUT;
}

static int exec_proc(struct fixture *f, const char *cid, const char *eid, const char *const *args,
                     bool tty, const char **msg)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, args);
    s.process.terminal = tty;
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.process = &s.process;
    return agent_harness_call(&f->h, "ExecProcess", &req.base, EMPTY, NULL, msg);
}

static bool cgroup_exists(const char *path)
{
    char p[300];
    struct stat st;
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory%s", path);
    if (stat(p, &st) == 0)
        return true;
    snprintf(p, sizeof(p), "/sys/fs/cgroup%s", path);
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode) && access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
}

/* Lists the agent's fds, to say which one leaked. */
static void dump_fds(pid_t pid)
{
    char dir[64], link[384], target[256];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        target[n > 0 ? n : 0] = '\0';
        printf("#   agent fd %s -> %s\n", de->d_name, target);
    }
    if (d)
        closedir(d);
}

/* Nothing of the container is left: no mounts, no cgroup, no extra fds. */
static int check_no_leaks(struct fixture *f, const char *cgroup)
{
    for (int i = 0; i < 100 && (cgroup_exists(cgroup) ||
                                agent_harness_count_fds(f->h.pid) > f->fds_before); i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    ASSERT_EQ(agent_harness_count_mounts(f->h.dir), 0);
    ASSERT_TRUE(!cgroup_exists(cgroup));
    if (agent_harness_count_fds(f->h.pid) > f->fds_before)
        dump_fds(f->h.pid);
    ASSERT_LE(agent_harness_count_fds(f->h.pid), f->fds_before);
    return 0;
}

static int run_simple(struct fixture *f, struct agent_harness_spec *s, const char *cid,
                      char *out, size_t size, int *status)
{
    const char *msg;
    int code = create(f, s, cid, &msg);
    if (code != 0) {
        fprintf(stderr, "# create: %s\n", msg);
        return -1;
    }
    code = simple(f, "StartContainer", cid, &msg);
    if (code != 0) {
        fprintf(stderr, "# start: %s\n", msg);
        return -1;
    }
    if (agent_harness_read_all(&f->h, cid, cid, false, out, size) < 0)
        return -1;
    *status = agent_harness_wait(&f->h, cid, cid);
    return remove_ctr(f, cid) == 0 ? 0 : -1;
}

TEST(agent_health_and_unimplemented)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    ASSERT_EQ(agent_harness_call(&f.h, "Check", &req.base,
                                 &grpc__health_check_response__descriptor, &resp, NULL), 0);
    ASSERT_EQ(((Grpc__HealthCheckResponse *)resp)->status,
              GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    protobuf_c_message_free_unpacked(resp, NULL);
    ASSERT_EQ(agent_harness_call(&f.h, "Version", &req.base,
                                 &grpc__version_check_response__descriptor, &resp, NULL), 0);
    ASSERT_TRUE(*((Grpc__VersionCheckResponse *)resp)->agent_version);
    protobuf_c_message_free_unpacked(resp, NULL);
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    const char *msg;
    ASSERT_EQ(agent_harness_call(&f.h, "MemAgentMemcgSet", &e.base, EMPTY, NULL, &msg),
              TTRPC_UNIMPLEMENTED);
    ASSERT_TRUE(strstr(msg, "MemAgentMemcgSet") != NULL);
    ASSERT_EQ(agent_harness_call(&f.h, "GetMetrics", &e.base, &grpc__metrics__descriptor, &resp,
                                 NULL), 0);
    ASSERT_TRUE(strstr(((Grpc__Metrics *)resp)->metrics, "kata_agent_process_open_fds") != NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
    Grpc__GuestDetailsRequest gd = GRPC__GUEST_DETAILS_REQUEST__INIT;
    gd.mem_block_size = true;
    ASSERT_EQ(agent_harness_call(&f.h, "GetGuestDetails", &gd.base,
                                 &grpc__guest_details_response__descriptor, NULL, NULL), 0);
    Grpc__CreateSandboxRequest cs = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    cs.sandbox_id = (char *)"sb1";
    cs.hostname = (char *)"sb";
    ASSERT_EQ(agent_harness_call(&f.h, "CreateSandbox", &cs.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_call(&f.h, "CreateSandbox", &cs.base, EMPTY, NULL, NULL),
              TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(agent_harness_call(&f.h, "DestroySandbox", &e.base, EMPTY, NULL, NULL), 0);
    return teardown(&f);
}

TEST(agent_run_echo)
{
    struct fixture f;
    int r = setup(&f), st = -1;
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sh", "-c", "echo hello; hostname; exit 3", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    char out[4096];
    ASSERT_EQ(run_simple(&f, &s, "echo1", out, sizeof(out), &st), 0);
    ASSERT_STREQ(out, "hello\nagenttest\n");
    ASSERT_EQ(st, 3);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

TEST(agent_exec_stdin_signal)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sleep", "1000", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    const char *msg;
    ASSERT_EQ(create(&f, &s, "ex1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "ex1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "ex1", &msg), TTRPC_FAILED_PRECONDITION);

    const char *cat[] = {"cat", NULL};
    ASSERT_EQ(exec_proc(&f, "ex1", "cat1", cat, false, &msg), 0);
    Grpc__WriteStreamRequest w = GRPC__WRITE_STREAM_REQUEST__INIT;
    w.container_id = (char *)"ex1";
    w.exec_id = (char *)"cat1";
    w.data.data = (uint8_t *)"ping\n";
    w.data.len = 5;
    ASSERT_EQ(agent_harness_call(&f.h, "WriteStdin", &w.base,
                                 &grpc__write_stream_response__descriptor, NULL, NULL), 0);
    Grpc__CloseStdinRequest cl = GRPC__CLOSE_STDIN_REQUEST__INIT;
    cl.container_id = (char *)"ex1";
    cl.exec_id = (char *)"cat1";
    ASSERT_EQ(agent_harness_call(&f.h, "CloseStdin", &cl.base, EMPTY, NULL, NULL), 0);
    char out[256];
    ASSERT_EQ(agent_harness_read_all(&f.h, "ex1", "cat1", false, out, sizeof(out)), 5);
    ASSERT_STREQ(out, "ping\n");
    ASSERT_EQ(agent_harness_wait(&f.h, "ex1", "cat1"), 0);

    /* SIGTERM to an exec (not a pid-namespace init) -> 143. */
    const char *sl[] = {"sleep", "100", NULL};
    ASSERT_EQ(exec_proc(&f, "ex1", "sl1", sl, false, &msg), 0);
    ASSERT_EQ(exec_proc(&f, "ex1", "sl1", sl, false, &msg), TTRPC_ALREADY_EXISTS);
    Grpc__SignalProcessRequest sg = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sg.container_id = (char *)"ex1";
    sg.exec_id = (char *)"sl1";
    sg.signal = SIGTERM;
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sg.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "ex1", "sl1"), 143);
    /* Gone once its exit was reported and its output read to EOF. */
    char none[16];
    ASSERT_EQ(agent_harness_read_all(&f.h, "ex1", "sl1", false, none, sizeof(none)), 0);
    ASSERT_EQ(agent_harness_read_all(&f.h, "ex1", "sl1", true, none, sizeof(none)), 0);
    ASSERT_EQ(wait_gone(&f, "ex1", "sl1"), 0);

    /* Terminal: stty size reports the size set by TtyWinResize. The shell
     * waits for a line on stdin, sent after the resize, not for a time. */
    const char *stty[] = {"sh", "-c", "read x; stty size", NULL};
    ASSERT_EQ(exec_proc(&f, "ex1", "tty1", stty, true, &msg), 0);
    Grpc__TtyWinResizeRequest rs = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;
    rs.container_id = (char *)"ex1";
    rs.exec_id = (char *)"tty1";
    rs.row = 33;
    rs.column = 77;
    ASSERT_EQ(agent_harness_call(&f.h, "TtyWinResize", &rs.base, EMPTY, NULL, NULL), 0);
    w.exec_id = (char *)"tty1";
    w.data.data = (uint8_t *)"go\n";
    w.data.len = 3;
    ASSERT_EQ(agent_harness_call(&f.h, "WriteStdin", &w.base,
                                 &grpc__write_stream_response__descriptor, NULL, NULL), 0);
    ASSERT_GT(agent_harness_read_all(&f.h, "ex1", "tty1", false, out, sizeof(out)), 0);
    ASSERT_TRUE(strstr(out, "33 77") != NULL);
    ASSERT_EQ(agent_harness_wait(&f.h, "ex1", "tty1"), 0);

    /* SIGTERM to the init without a handler is escalated to SIGKILL. */
    sg.exec_id = (char *)"";
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sg.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "ex1", "ex1"), 137);
    ASSERT_EQ(exec_proc(&f, "ex1", "late", sl, false, &msg), TTRPC_FAILED_PRECONDITION);
    ASSERT_EQ(remove_ctr(&f, "ex1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

static int read_cgroup_file(const char *ctrl, const char *cg, const char *file, char *buf,
                            size_t size)
{
    char p[400];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s/%s", ctrl, cg, file);
    FILE *f = fopen(p, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return (int)n;
}

TEST(agent_cgroups_pause_stats_update_oom)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) != 0) {
        teardown(&f);
        return test_skip("needs the cgroup v1 memory controller");
    }
    struct agent_harness_spec s;
    const char *args[] = {"sleep", "1000", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    const char *msg;
    ASSERT_EQ(create(&f, &s, "cg1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "cg1", &msg), 0);
    char buf[256];
    ASSERT_EQ(simple(&f, "PauseContainer", "cg1", &msg), 0);
    ASSERT_GT(read_cgroup_file("freezer", s.cgroup, "freezer.state", buf, sizeof(buf)), 0);
    ASSERT_TRUE(strncmp(buf, "FROZEN", 6) == 0);
    ASSERT_EQ(simple(&f, "PauseContainer", "cg1", &msg), TTRPC_FAILED_PRECONDITION);
    ASSERT_EQ(simple(&f, "ResumeContainer", "cg1", &msg), 0);
    ASSERT_GT(read_cgroup_file("freezer", s.cgroup, "freezer.state", buf, sizeof(buf)), 0);
    ASSERT_TRUE(strncmp(buf, "THAWED", 6) == 0);

    ProtobufCMessage *resp = NULL;
    Grpc__StatsContainerRequest sr = GRPC__STATS_CONTAINER_REQUEST__INIT;
    sr.container_id = (char *)"cg1";
    ASSERT_EQ(agent_harness_call(&f.h, "StatsContainer", &sr.base,
                                 &grpc__stats_container_response__descriptor, &resp, NULL), 0);
    Grpc__StatsContainerResponse *st = (Grpc__StatsContainerResponse *)resp;
    ASSERT_GT(st->cgroup_stats->memory_stats->usage->usage, 0);
    ASSERT_GE(st->cgroup_stats->pids_stats->current, 1);
    protobuf_c_message_free_unpacked(resp, NULL);

    Grpc__UpdateContainerRequest ur = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
    Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
    Grpc__LinuxMemory mem = GRPC__LINUX_MEMORY__INIT;
    mem.limit = 32 << 20;
    res.memory = &mem;
    ur.container_id = (char *)"cg1";
    ur.resources = &res;
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateContainer", &ur.base, EMPTY, NULL, NULL), 0);
    ASSERT_GT(read_cgroup_file("memory", s.cgroup, "memory.limit_in_bytes", buf, sizeof(buf)), 0);
    ASSERT_EQ(strtoll(buf, NULL, 10), 32 << 20);

    /* tail keeps a line without newline in memory: over the limit. */
    mem.limit = 8 << 20;
    mem.swap = 8 << 20;
    ASSERT_EQ(agent_harness_call(&f.h, "UpdateContainer", &ur.base, EMPTY, NULL, NULL), 0);
    const char *hog[] = {"tail", "/dev/zero", NULL};
    ASSERT_EQ(exec_proc(&f, "cg1", "hog", hog, false, &msg), 0);
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    ASSERT_EQ(agent_harness_call(&f.h, "GetOOMEvent", &e.base, &grpc__oomevent__descriptor, &resp,
                                 NULL), 0);
    ASSERT_STREQ(((Grpc__OOMEvent *)resp)->container_id, "cg1");
    protobuf_c_message_free_unpacked(resp, NULL);
    ASSERT_EQ(agent_harness_wait(&f.h, "cg1", "hog"), 137);
    ASSERT_EQ(remove_ctr(&f, "cg1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

TEST(agent_security_seccomp_caps_readonly)
{
    struct fixture f;
    int r = setup(&f), st = -1;
    if (r)
        return r;
    struct agent_harness_spec s;
    char out[1024];
    const char *mk[] = {"sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?", NULL};
    agent_harness_spec_init(&s, f.bundle, mk);
    agent_harness_spec_deny(&s, "mkdir");
    agent_harness_spec_deny(&s, "mkdirat");
    s.seccomp_names[1] = (char *)"mkdir";
    s.seccomp_names[0] = (char *)"mkdirat";
    s.syscall.n_names = 2;
    ASSERT_EQ(run_simple(&f, &s, "sec1", out, sizeof(out), &st), 0);
    ASSERT_TRUE(strstr(out, "not permitted") != NULL && strstr(out, "rc=1") != NULL);

    const char *ch[] = {"sh", "-c", "touch /tmp/f && chown 1000 /tmp/f; echo rc=$?", NULL};
    agent_harness_spec_init(&s, f.bundle, ch);
    s.caps.n_bounding = s.caps.n_effective = s.caps.n_permitted = 0;
    ASSERT_EQ(run_simple(&f, &s, "cap1", out, sizeof(out), &st), 0);
    ASSERT_TRUE(strstr(out, "rc=1") != NULL);
    agent_harness_spec_init(&s, f.bundle, ch);
    ASSERT_EQ(run_simple(&f, &s, "cap2", out, sizeof(out), &st), 0);
    ASSERT_TRUE(strstr(out, "rc=0") != NULL);

    const char *ro[] = {"sh", "-c", "touch /newfile 2>/dev/null; echo rc=$?", NULL};
    agent_harness_spec_init(&s, f.bundle, ro);
    s.root.readonly = true;
    ASSERT_EQ(run_simple(&f, &s, "ro1", out, sizeof(out), &st), 0);
    ASSERT_TRUE(strstr(out, "rc=1") != NULL);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

TEST(agent_bad_input)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sleep", "1000", NULL};
    const char *msg;
    agent_harness_spec_init(&s, f.bundle, args);
    ASSERT_EQ(simple(&f, "StartContainer", "nope", &msg), TTRPC_NOT_FOUND);
    ASSERT_EQ(simple(&f, "PauseContainer", "nope", &msg), TTRPC_NOT_FOUND);
    ASSERT_EQ(agent_harness_wait(&f.h, "nope", "x"), -1000 - TTRPC_NOT_FOUND);

    s.process.n_args = 0;
    ASSERT_EQ(create(&f, &s, "bad1", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Process.Args") != NULL);
    agent_harness_spec_init(&s, f.bundle, args);
    s.ns[0].type = (char *)"bogus";
    ASSERT_EQ(create(&f, &s, "bad2", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Namespaces[0].Type") != NULL);
    agent_harness_spec_init(&s, f.bundle, args);
    s.mounts[1].destination = (char *)"relative";
    ASSERT_EQ(create(&f, &s, "bad3", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Mounts[1].destination") != NULL);
    agent_harness_spec_init(&s, f.bundle, args);
    agent_harness_spec_deny(&s, "mkdir");
    s.syscall.action = (char *)"SCMP_ACT_BOGUS";
    ASSERT_EQ(create(&f, &s, "bad4", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(msg, "Seccomp.Syscalls[0].Action") != NULL);
    /* A mount that fails inside the init helper: nothing may stay. */
    agent_harness_spec_init(&s, f.bundle, args);
    s.mounts[1].type = (char *)"bind";
    s.mounts[1].source = (char *)"/does/not/exist";
    ASSERT_EQ(create(&f, &s, "bad5", &msg), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(check_no_leaks(&f, s.cgroup), 0);

    agent_harness_spec_init(&s, f.bundle, args);
    ASSERT_EQ(create(&f, &s, "dup1", &msg), 0);
    ASSERT_EQ(create(&f, &s, "dup1", &msg), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(simple(&f, "StartContainer", "dup1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "dup1", &msg), TTRPC_FAILED_PRECONDITION);
    ASSERT_EQ(agent_harness_wait(&f.h, "dup1", "nope"), -1000 - TTRPC_NOT_FOUND);
    ASSERT_EQ(remove_ctr(&f, "dup1"), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "dup1", &msg), TTRPC_NOT_FOUND);

    Grpc__CopyFileRequest cf = GRPC__COPY_FILE_REQUEST__INIT;
    char path[512];
    cf.data.data = (uint8_t *)"hi";
    cf.data.len = 2;
    cf.file_size = 2;
    cf.file_mode = 0100644;
    cf.dir_mode = 0755;
    snprintf(path, sizeof(path), "%s/c1/file", f.h.shared);
    cf.path = path;
    ASSERT_EQ(agent_harness_call(&f.h, "CopyFile", &cf.base, EMPTY, NULL, &msg), 0);
    cf.path = (char *)"/etc/evil";
    ASSERT_EQ(agent_harness_call(&f.h, "CopyFile", &cf.base, EMPTY, NULL, &msg),
              TTRPC_PERMISSION_DENIED);
    snprintf(path, sizeof(path), "%s/../evil", f.h.shared);
    cf.path = path;
    ASSERT_EQ(agent_harness_call(&f.h, "CopyFile", &cf.base, EMPTY, NULL, &msg),
              TTRPC_INVALID_ARGUMENT);
    char link[512];
    snprintf(link, sizeof(link), "%s/esc", f.h.shared);
    ASSERT_EQ(symlink("/etc", link), 0);
    snprintf(path, sizeof(path), "%s/esc/evil", f.h.shared);
    cf.path = path;
    ASSERT_EQ(agent_harness_call(&f.h, "CopyFile", &cf.base, EMPTY, NULL, &msg),
              TTRPC_PERMISSION_DENIED);
    ASSERT_TRUE(access("/etc/evil", F_OK) != 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

/* ReadStderr carries the init process's stderr, apart from its stdout. */
TEST(agent_stderr_stream)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sh", "-c", "echo out; echo err-line >&2", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    const char *msg;
    ASSERT_EQ(create(&f, &s, "se1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "se1", &msg), 0);
    char out[256], err[256];
    ASSERT_EQ(agent_harness_read_all(&f.h, "se1", "se1", true, err, sizeof(err)), 9);
    ASSERT_STREQ(err, "err-line\n");
    ASSERT_EQ(agent_harness_read_all(&f.h, "se1", "se1", false, out, sizeof(out)), 4);
    ASSERT_STREQ(out, "out\n");
    ASSERT_EQ(agent_harness_wait(&f.h, "se1", "se1"), 0);
    ASSERT_EQ(remove_ctr(&f, "se1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

/* A terminal's output waits for a reader that comes long after the exit:
 * the agent's grace for output in flight (half a second) must not drop
 * what is already in the pty. The wait is a starved client, not a bound. */
TEST(agent_tty_late_reader)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sh", "-c", "echo late-output", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    s.process.terminal = true;
    const char *msg;
    ASSERT_EQ(create(&f, &s, "late1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "late1", &msg), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "late1", "late1"), 0);
    nanosleep(&(struct timespec){1, 500 * 1000 * 1000}, NULL);
    char out[256];
    ASSERT_GT(agent_harness_read_all(&f.h, "late1", "late1", false, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "late-output\r\n");
    ASSERT_EQ(remove_ctr(&f, "late1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

/* Checks that out is exactly `seq 1 n`. */
static int check_seq(const char *out, int n)
{
    const char *p = out;
    for (int i = 1; i <= n; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || *end != '\n' || v != i) {
            printf("#   seq differs at %d\n", i);
            return -1;
        }
        p = end + 1;
    }
    return *p == '\0' ? 0 : -1;
}

struct async_wait {
    bool done;
    int code, status;
};

static void async_wait_done(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct async_wait *w = ud;
    w->done = true;
    w->code = st->code;
    if (st->code == TTRPC_OK)
        w->status = ((const Grpc__WaitProcessResponse *)resp)->status;
}

/* An exec's exit is reported before its output was read: the output left in
 * its pipe must still be readable to the end (the shim asks WaitProcess
 * while it reads, and a read after the answer used to get NOT_FOUND). */
TEST(agent_exec_output_outlives_wait)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sleep", "1000", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    const char *msg;
    ASSERT_EQ(create(&f, &s, "ow1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "ow1", &msg), 0);
    size_t size = 2u << 20;
    char *out = malloc(size);
    ASSERT_TRUE(out != NULL);

    /* Small enough to sit in the pipe: the exit is answered first. */
    const char *small[] = {"busybox", "seq", "1", "10000", NULL};
    ASSERT_EQ(exec_proc(&f, "ow1", "small", small, false, &msg), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "ow1", "small"), 0);
    ASSERT_EQ(agent_harness_read_all(&f.h, "ow1", "small", false, out, size), 48894);
    ASSERT_EQ(check_seq(out, 10000), 0);
    char err[64];
    ASSERT_EQ(agent_harness_read_all(&f.h, "ow1", "small", true, err, sizeof(err)), 0);

    /* Big: WaitProcess is in flight while the output is read, as the shim
     * does; the answer comes while the pipe still holds the tail. */
    const char *big[] = {"busybox", "seq", "1", "200000", NULL};
    ASSERT_EQ(exec_proc(&f, "ow1", "big", big, false, &msg), 0);
    Grpc__WaitProcessRequest wreq = GRPC__WAIT_PROCESS_REQUEST__INIT;
    wreq.container_id = (char *)"ow1";
    wreq.exec_id = (char *)"big";
    struct async_wait w = {0};
    ASSERT_EQ(ttrpc_client_call(f.h.client, "grpc.AgentService", "WaitProcess", &wreq.base,
                                &grpc__wait_process_response__descriptor, NULL, async_wait_done,
                                &w),
              0);
    ASSERT_EQ(agent_harness_read_all(&f.h, "ow1", "big", false, out, size), 1288895);
    ASSERT_EQ(check_seq(out, 200000), 0);
    ASSERT_EQ(agent_harness_read_all(&f.h, "ow1", "big", true, err, sizeof(err)), 0);
    /* EOF came after the exit; the answer is on its way, not bounded here. */
    while (!w.done)
        loop_run_once(f.h.loop, 1000);
    ASSERT_EQ(w.code, TTRPC_OK);
    ASSERT_EQ(w.status, 0);
    free(out);

    /* Read to EOF: the execs are gone now. */
    ASSERT_EQ(wait_gone(&f, "ow1", "small"), 0);
    ASSERT_EQ(wait_gone(&f, "ow1", "big"), 0);

    Grpc__SignalProcessRequest sg = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sg.container_id = (char *)"ow1";
    sg.signal = SIGKILL;
    sg.exec_id = (char *)"";
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sg.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "ow1", "ow1"), 128 + SIGKILL);
    ASSERT_EQ(remove_ctr(&f, "ow1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}

/* A background child keeps the exec's stdout open after the exec exited:
 * no EOF ever comes, so the agent drops the exec once no read came for
 * its grace (30 s); the read parked then gets EOF and nothing leaks. The
 * wait is the agent's bound, not an assertion on time. */
TEST(agent_exec_grandchild_holds_output)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    struct agent_harness_spec s;
    const char *args[] = {"sleep", "1000", NULL};
    agent_harness_spec_init(&s, f.bundle, args);
    const char *msg;
    ASSERT_EQ(create(&f, &s, "gc1", &msg), 0);
    ASSERT_EQ(simple(&f, "StartContainer", "gc1", &msg), 0);
    const char *bg[] = {"sh", "-c", "sleep 1000 & echo hi", NULL};
    /* A new exec under the id of one kept for its output replaces it. */
    ASSERT_EQ(exec_proc(&f, "gc1", "bg", bg, false, &msg), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "gc1", "bg"), 0);
    const char *again[] = {"echo", "again", NULL};
    ASSERT_EQ(exec_proc(&f, "gc1", "bg", again, false, &msg), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "gc1", "bg"), 0);
    char again_out[64];
    ASSERT_EQ(agent_harness_read_all(&f.h, "gc1", "bg", false, again_out, sizeof(again_out)), 6);
    ASSERT_STREQ(again_out, "again\n");

    ASSERT_EQ(exec_proc(&f, "gc1", "bg", bg, false, &msg), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "gc1", "bg"), 0);
    char out[64];
    ASSERT_EQ(agent_harness_read_all(&f.h, "gc1", "bg", false, out, sizeof(out)), 3);
    ASSERT_STREQ(out, "hi\n");
    ASSERT_EQ(wait_gone(&f, "gc1", "bg"), 0);

    Grpc__SignalProcessRequest sg = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sg.container_id = (char *)"gc1";
    sg.exec_id = (char *)"";
    sg.signal = SIGKILL;
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sg.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "gc1", "gc1"), 128 + SIGKILL);
    ASSERT_EQ(remove_ctr(&f, "gc1"), 0);
    r = check_no_leaks(&f, s.cgroup);
    int t = teardown(&f);
    return r ? r : t;
}
