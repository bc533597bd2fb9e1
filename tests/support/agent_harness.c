/* Stand-alone agent test support (see tests/support/agent_harness.h). */
#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/support/agent_harness.h"

/* Every test program links the tests/support objects, also those without the test
 * harness (fuzz replays): take its scratch dir when it is there. */
extern const char *test_tmpdir(void) __attribute__((weak));

static const char *scratch_dir(void)
{
    static char dir[64];
    if (test_tmpdir)
        return test_tmpdir();
    if (!*dir) {
        snprintf(dir, sizeof(dir), "/tmp/agent-harness-XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

static const char *agent_path(void)
{
    static char path[512];
    const char *o = getenv("O"), *bin = getenv("KATA_AGENT_BIN");
    if (bin && *bin)
        return bin;
    snprintf(path, sizeof(path), "%s/bin/kata-agent", o && *o ? o : "build");
    return path;
}

int agent_harness_start(struct agent_harness *h)
{
    static int seq;
    memset(h, 0, sizeof(*h));
    h->pidfd = -1;
    if (geteuid() != 0) {
        snprintf(h->why, sizeof(h->why), "needs root");
        return -ENOENT;
    }
    if (access(agent_path(), X_OK) != 0) {
        snprintf(h->why, sizeof(h->why), "%.200s not built", agent_path());
        return -ENOENT;
    }
    snprintf(h->dir, sizeof(h->dir), "%s/agent%d", scratch_dir(), seq++);
    mkdir(h->dir, 0755);
    snprintf(h->sock, sizeof(h->sock), "%s/agent.sock", h->dir);
    snprintf(h->shared, sizeof(h->shared), "%s/shared", h->dir);
    mkdir(h->shared, 0755);
    char addr[400];
    snprintf(addr, sizeof(addr), "unix://%s", h->sock);
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setenv("KATA_AGENT_SERVER_ADDR", addr, 1);
        setenv("KATA_AGENT_SHARED_DIR", h->shared, 1);
        if (!getenv("KATA_AGENT_LOG_LEVEL"))
            setenv("KATA_AGENT_LOG_LEVEL", "warn", 1);
        /* Only 0-2: whatever else the test runner left open would show up
         * in the agent's fd count (agent_harness_count_fds). */
        close_range(3, ~0U, 0);
        execl(agent_path(), "kata-agent", (char *)NULL);
        _exit(127);
    }
    h->pid = pid;
    h->pidfd = pidfd_open(pid, 0);
    struct err e = ERR_INIT;
    int fd = -1;
    for (int i = 0; i < 500 && fd < 0; i++) {
        if (access(h->sock, F_OK) == 0)
            fd = transport_dial(addr, 1000000000ULL, &e);
        if (fd < 0)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        err_clear(&e);
    }
    if (fd < 0) {
        snprintf(h->why, sizeof(h->why), "agent did not come up");
        agent_harness_stop(h);
        return -ETIMEDOUT;
    }
    int r = loop_new(&h->loop);
    if (r < 0 || (r = ttrpc_client_new(h->loop, fd, NULL, &h->client)) < 0) {
        agent_harness_stop(h);
        return r;
    }
    /* connect() returns before the agent accept()s: one round trip makes
     * sure the connection's fd exists in the agent before a test takes
     * its fd baseline. */
    Grpc__CheckRequest check = GRPC__CHECK_REQUEST__INIT;
    if (agent_harness_call(h, "Check", &check.base, &grpc__health_check_response__descriptor,
                           NULL, NULL) != 0) {
        snprintf(h->why, sizeof(h->why), "agent does not answer Check");
        agent_harness_stop(h);
        return -ETIMEDOUT;
    }
    return 0;
}

int agent_harness_stop(struct agent_harness *h)
{
    int rc = 0;
    h->client = ttrpc_client_free(h->client);
    h->loop = loop_free(h->loop);
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        int st;
        for (int i = 0; i < 300; i++) {
            if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
                rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                h->pid = 0;
                break;
            }
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        }
        if (h->pid > 0) {
            kill(h->pid, SIGKILL);
            waitpid(h->pid, &st, 0);
            rc = -1;
        }
        h->pid = 0;
    }
    if (h->pidfd >= 0)
        close(h->pidfd);
    h->pidfd = -1;
    return rc;
}

int agent_harness_call(struct agent_harness *h, const char *method, const ProtobufCMessage *req,
                       const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **ret_resp,
                       const char **ret_msg)
{
    static char msg[ERR_MSG_MAX];
    struct err e = ERR_INIT;
    int code = 0;
    const char *svc = strcmp(method, "Check") == 0 || strcmp(method, "Version") == 0
                          ? "grpc.Health"
                          : "grpc.AgentService";
    struct ttrpc_call_opts opts = {.timeout_ns = 60ULL * 1000 * 1000 * 1000};
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call_sync(h->client, svc, method, req, resp_type, &opts, &resp, &code, &e);
    snprintf(msg, sizeof(msg), "%s", r < 0 ? err_msg(&e) : "");
    if (ret_msg)
        *ret_msg = msg;
    if (ret_resp)
        *ret_resp = resp;
    else if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (r < 0 && code == 0)
        code = TTRPC_UNAVAILABLE;
    return r < 0 ? code : 0;
}

int agent_harness_bundle(const char *dir, char *why, size_t why_size)
{
    static const char *const applets[] = {"sh", "cat", "echo", "sleep", "stty", "mkdir", "chown",
                                          "touch", "tail", "true", "ls", "head", "id", "hostname"};
    char path[600];
    if (access("/bin/busybox", X_OK) != 0) {
        snprintf(why, why_size, "busybox-static is not installed");
        return -ENOENT;
    }
    snprintf(path, sizeof(path), "%s/rootfs", dir);
    mkdir(dir, 0755);
    mkdir(path, 0755);
    static const char *const dirs[] = {"bin", "proc", "sys", "dev", "tmp", "etc", "data"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s/rootfs/%s", dir, dirs[i]);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof(path), "%s/rootfs/bin/busybox", dir);
    int in = open("/bin/busybox", O_RDONLY | O_CLOEXEC);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            break;
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
        snprintf(path, sizeof(path), "%s/rootfs/bin/%s", dir, applets[i]);
        if (symlink("busybox", path) < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

static const char *const default_caps[] = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
                                           "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                                           "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
                                           "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                                           "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};

void agent_harness_spec_init(struct agent_harness_spec *s, const char *bundle_dir,
                             const char *const *args)
{
    static int seq;
    memset(s, 0, sizeof(*s));
    grpc__spec__init(&s->spec);
    grpc__process__init(&s->process);
    grpc__user__init(&s->user);
    grpc__root__init(&s->root);
    grpc__linux__init(&s->linux_);
    grpc__linux_capabilities__init(&s->caps);
    grpc__posixrlimit__init(&s->rlimit);
    grpc__box__init(&s->box);
    size_t n = 0;
    while (args[n] && n < AH_MAX_ARGS) {
        s->args[n] = (char *)args[n];
        n++;
    }
    s->process.n_args = n;
    s->process.args = s->args;
    s->env[0] = (char *)"PATH=/bin:/usr/bin";
    s->process.n_env = 1;
    s->process.env = s->env;
    s->process.cwd = (char *)"/";
    s->process.user = &s->user;
    size_t nc = sizeof(default_caps) / sizeof(default_caps[0]);
    for (size_t i = 0; i < nc; i++)
        s->cap_list[i] = (char *)default_caps[i];
    s->caps.n_bounding = s->caps.n_effective = s->caps.n_permitted = nc;
    s->caps.bounding = s->caps.effective = s->caps.permitted = s->cap_list;
    s->process.capabilities = &s->caps;
    s->rlimit.type = (char *)"RLIMIT_NOFILE";
    s->rlimit.hard = s->rlimit.soft = 1024;
    s->rlimits[0] = &s->rlimit;
    s->process.n_rlimits = 1;
    s->process.rlimits = s->rlimits;
    s->process.nonewprivileges = true;
    snprintf(s->rootfs, sizeof(s->rootfs), "%s/rootfs", bundle_dir);
    s->root.path = s->rootfs;
    s->spec.root = &s->root;
    s->spec.process = &s->process;
    s->spec.hostname = (char *)"agenttest";
    s->spec.version = (char *)"1.0.2";
    static const char *const m[][4] = {
        {"/proc", "proc", "proc", ""},
        {"/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"},
        {"/dev/pts", "devpts", "devpts", "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"},
        {"/dev/shm", "shm", "tmpfs", "nosuid,noexec,nodev,mode=1777,size=65536k"},
        {"/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"},
        {"/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"},
        {"/sys/fs/cgroup", "cgroup", "cgroup", "nosuid,noexec,nodev,relatime,ro"},
    };
    static char *opts[7][8];
    for (size_t i = 0; i < 7; i++) {
        grpc__mount__init(&s->mounts[i]);
        s->mounts[i].destination = (char *)m[i][0];
        s->mounts[i].type = (char *)m[i][2];
        s->mounts[i].source = (char *)m[i][1];
        /* split options once into a static table */
        static char store[7][128];
        if (!opts[i][0] && *m[i][3]) {
            snprintf(store[i], sizeof(store[i]), "%s", m[i][3]);
            size_t k = 0;
            for (char *t = strtok(store[i], ","); t && k < 7; t = strtok(NULL, ","))
                opts[i][k++] = t;
        }
        size_t k = 0;
        while (opts[i][k])
            k++;
        s->mounts[i].n_options = k;
        s->mounts[i].options = opts[i];
        s->mount_ptrs[i] = &s->mounts[i];
    }
    s->spec.n_mounts = 7;
    s->spec.mounts = s->mount_ptrs;
    static const char *const ns[] = {"pid", "network", "ipc", "uts", "mount"};
    for (size_t i = 0; i < 5; i++) {
        grpc__linux_namespace__init(&s->ns[i]);
        s->ns[i].type = (char *)ns[i];
        s->ns_ptrs[i] = &s->ns[i];
    }
    s->linux_.n_namespaces = 5;
    s->linux_.namespaces = s->ns_ptrs;
    snprintf(s->cgroup, sizeof(s->cgroup), "/kata-agent-test-%d-%d", (int)getpid(), seq++);
    s->linux_.cgroupspath = s->cgroup;
    static char *masked[] = {(char *)"/proc/kcore", (char *)"/proc/keys", (char *)"/sys/firmware"};
    static char *ro[] = {(char *)"/proc/sys", (char *)"/proc/sysrq-trigger"};
    s->linux_.n_maskedpaths = 3;
    s->linux_.maskedpaths = masked;
    s->linux_.n_readonlypaths = 2;
    s->linux_.readonlypaths = ro;
    s->spec.linux_ = &s->linux_;
}

void agent_harness_spec_deny(struct agent_harness_spec *s, const char *syscall)
{
    grpc__linux_seccomp__init(&s->seccomp);
    grpc__linux_syscall__init(&s->syscall);
    s->seccomp.defaultaction = (char *)"SCMP_ACT_ALLOW";
    s->seccomp_names[0] = (char *)syscall;
    s->syscall.n_names = 1;
    s->syscall.names = s->seccomp_names;
    s->syscall.action = (char *)"SCMP_ACT_ERRNO";
    s->syscall.errno_ret_case = GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET;
    s->syscall.errnoret = EPERM;
    s->syscalls[0] = &s->syscall;
    s->seccomp.n_syscalls = 1;
    s->seccomp.syscalls = s->syscalls;
    s->linux_.seccomp = &s->seccomp;
}

int agent_harness_count_cgroups(void)
{
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "/sys/fs/cgroup/*/kata-agent-test-%d-*", (int)getpid());
    glob_t g;
    int n = 0;
    if (glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
        n = (int)g.gl_pathc;
    globfree(&g);
    snprintf(pattern, sizeof(pattern), "/sys/fs/cgroup/kata-agent-test-%d-*", (int)getpid());
    if (glob(pattern, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0)
        n += (int)g.gl_pathc;
    globfree(&g);
    return n;
}

int agent_harness_count_mounts(const char *needle)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    if (f)
        fclose(f);
    return n;
}

int agent_harness_count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

int agent_harness_read_all(struct agent_harness *h, const char *cid, const char *eid,
                           bool err_stream, char *buf, size_t size)
{
    size_t off = 0;
    for (;;) {
        Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        req.container_id = (char *)cid;
        req.exec_id = (char *)eid;
        req.len = 32768;
        int code = agent_harness_call(h, err_stream ? "ReadStderr" : "ReadStdout", &req.base,
                                      &grpc__read_stream_response__descriptor, &resp, NULL);
        if (code != 0)
            return -code;
        const Grpc__ReadStreamResponse *r = (const Grpc__ReadStreamResponse *)resp;
        size_t n = r->data.len;
        if (n && off + n < size) {
            memcpy(buf + off, r->data.data, n);
            off += n;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        if (n == 0)
            break;
    }
    if (size)
        buf[off] = '\0';
    return (int)off;
}

int agent_harness_wait(struct agent_harness *h, const char *cid, const char *eid)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    int code = agent_harness_call(h, "WaitProcess", &req.base,
                                  &grpc__wait_process_response__descriptor, &resp, NULL);
    if (code != 0)
        return -1000 - code;
    int st = ((const Grpc__WaitProcessResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    return st;
}

int agent_harness_start_with_bundle(struct agent_harness *h, char *bundle, size_t size)
{
    int r = agent_harness_start(h);
    if (r < 0)
        return r;
    snprintf(bundle, size, "%s/bundle", h->dir);
    if (agent_harness_bundle(bundle, h->why, sizeof(h->why)) < 0) {
        agent_harness_stop(h);
        return -ENOENT;
    }
    return 0;
}

int agent_harness_call_cid(struct agent_harness *h, const char *method, const char *cid,
                           const char **ret_msg)
{
    Grpc__StartContainerRequest req = GRPC__START_CONTAINER_REQUEST__INIT;
    const char *msg = NULL;
    req.container_id = (char *)cid;
    int code = agent_harness_call(h, method, &req.base, &google__protobuf__empty__descriptor,
                                  NULL, &msg);
    if (code != 0)
        printf("#   %s %s: %d %s\n", method, cid, code, msg ? msg : "");
    if (ret_msg)
        *ret_msg = msg;
    return code;
}
