/* linux.resources.devices in the stand-alone kata-agent on this host: a
 * container whose rules deny every device but /dev/null can write to
 * /dev/null and cannot open /dev/zero (EPERM), through the cgroup v1
 * devices controller of the host and, in a private mount namespace where
 * /sys/fs/cgroup is a cgroup2 mount, through the BPF device program the
 * agent attaches. Needs root and busybox-static; skips with the reason
 * otherwise. */
#include <errno.h>
#include <linux/bpf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
#define CGROUP2_MAGIC 0x63677270

/* Prints what the container could do with each device. */
static const char *const probe[] = {
    "/bin/sh", "-c",
    "test -c /dev/null && echo null-is-chr; test -c /dev/zero || echo zero-not-chr; "
    "echo hi >/dev/null && echo null-write-ok; "
    "if head -c 1 /dev/zero >/dev/null 2>&1; then echo zero-open; else echo zero-denied; fi; "
    "head -c 1 /dev/zero 2>&1 >/dev/null; true",
    NULL};

struct fixture {
    struct agent_harness h;
    char bundle[300];
};

static int setup(struct fixture *f)
{
    int r = agent_harness_start_with_bundle(&f->h, f->bundle, sizeof(f->bundle));
    if (r == -ENOENT)
        return test_skip("%s", f->h.why);
    if (r < 0)
        return r;
    return 0;
}

/* Runs the probe with `rules` (n may be 0) and returns its output; *code
 * gets CreateContainer's gRPC code, *msg its message. */
static int run(struct fixture *f, const char *cid, Grpc__LinuxDeviceCgroup **rules, size_t n,
               char *out, size_t size, int *code, const char **msg, char *cgroup, size_t cgsize)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, probe);
    grpc__linux_resources__init(&s.res);
    s.res.devices = rules;
    s.res.n_devices = n;
    s.linux_.resources = &s.res;
    snprintf(cgroup, cgsize, "%s", s.cgroup);
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = &s.spec;
    out[0] = '\0';
    *code = agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, msg);
    if (*code != 0)
        return 0;
    if (agent_harness_call_cid(&f->h, "StartContainer", cid, msg) != 0 ||
        agent_harness_read_all(&f->h, cid, cid, false, out, size) < 0)
        return -1;
    Grpc__WaitProcessRequest w = GRPC__WAIT_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    w.container_id = (char *)cid;
    w.exec_id = (char *)cid;
    if (agent_harness_call(&f->h, "WaitProcess", &w.base, &grpc__wait_process_response__descriptor,
                           &resp, NULL) != 0)
        return -1;
    protobuf_c_message_free_unpacked(resp, NULL);
    Grpc__RemoveContainerRequest rm = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = (char *)cid;
    rm.timeout = 10;
    return agent_harness_call(&f->h, "RemoveContainer", &rm.base, EMPTY, NULL, NULL) == 0 ? 0 : -1;
}

static void show(const char *what, const char *out)
{
    const char *p = out;
    while (*p) {
        size_t n = strcspn(p, "\n");
        printf("# %s: %.*s\n", what, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static bool dir_exists(const char *root, const char *cg)
{
    char p[400];
    struct stat st;
    snprintf(p, sizeof(p), "%s%s", root, cg);
    return stat(p, &st) == 0;
}

static int wait_exit(struct fixture *f, const char *cid, const char *eid)
{
    Grpc__WaitProcessRequest w = GRPC__WAIT_PROCESS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    w.container_id = (char *)cid;
    w.exec_id = (char *)eid;
    if (agent_harness_call(&f->h, "WaitProcess", &w.base, &grpc__wait_process_response__descriptor,
                           &resp, NULL) != 0)
        return -1;
    int st = ((Grpc__WaitProcessResponse *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    return st;
}

/* Runs the probe as an exec in cid; its output in out. */
static int exec_probe(struct fixture *f, const char *cid, const char *eid, char *out, size_t size)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, probe);
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.exec_id = (char *)eid;
    req.process = &s.process;
    if (agent_harness_call(&f->h, "ExecProcess", &req.base, EMPTY, NULL, NULL) != 0 ||
        agent_harness_read_all(&f->h, cid, eid, false, out, size) < 0)
        return -1;
    return wait_exit(f, cid, eid) == 0 ? 0 : -1;
}

static int update(struct fixture *f, const char *cid, Grpc__LinuxDeviceCgroup **rules, size_t n,
                  const char **msg)
{
    Grpc__LinuxResources res = GRPC__LINUX_RESOURCES__INIT;
    Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
    res.devices = rules;
    res.n_devices = n;
    req.container_id = (char *)cid;
    req.resources = &res;
    return agent_harness_call(&f->h, "UpdateContainer", &req.base, EMPTY, NULL, msg);
}

/* UpdateContainer replaces the rules of a running container: /dev/zero is
 * denied, then allowed (so the old rules are gone), then denied again. */
static int update_scenario(struct fixture *f, Grpc__LinuxDeviceCgroup **deny_null,
                           Grpc__LinuxDeviceCgroup **deny_null_zero)
{
    struct agent_harness_spec s;
    const char *sleeper[] = {"sleep", "600", NULL};
    const char *msg = NULL;
    char out[4096];
    agent_harness_spec_init(&s, f->bundle, sleeper);
    grpc__linux_resources__init(&s.res);
    s.res.devices = deny_null;
    s.res.n_devices = 2;
    s.linux_.resources = &s.res;
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)"dev-upd";
    req.exec_id = (char *)"dev-upd";
    req.oci = &s.spec;
    ASSERT_EQ(agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, &msg), 0);
    ASSERT_EQ(agent_harness_call_cid(&f->h, "StartContainer", "dev-upd", &msg), 0);
    ASSERT_EQ(exec_probe(f, "dev-upd", "e1", out, sizeof(out)), 0);
    show("before update", out);
    ASSERT_TRUE(strstr(out, "zero-denied") != NULL);
    ASSERT_EQ(update(f, "dev-upd", deny_null_zero, 3, &msg), 0);
    ASSERT_EQ(exec_probe(f, "dev-upd", "e2", out, sizeof(out)), 0);
    show("zero allowed", out);
    ASSERT_TRUE(strstr(out, "zero-open") != NULL);
    ASSERT_TRUE(strstr(out, "null-write-ok") != NULL);
    ASSERT_EQ(update(f, "dev-upd", deny_null, 2, &msg), 0);
    ASSERT_EQ(exec_probe(f, "dev-upd", "e3", out, sizeof(out)), 0);
    show("zero denied again", out);
    ASSERT_TRUE(strstr(out, "zero-denied") != NULL);
    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = (char *)"dev-upd";
    sig.exec_id = (char *)"dev-upd";
    sig.signal = 9;
    ASSERT_EQ(agent_harness_call(&f->h, "SignalProcess", &sig.base, EMPTY, NULL, NULL), 0);
    wait_exit(f, "dev-upd", "dev-upd");
    Grpc__RemoveContainerRequest rm = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    rm.container_id = (char *)"dev-upd";
    rm.timeout = 10;
    ASSERT_EQ(agent_harness_call(&f->h, "RemoveContainer", &rm.base, EMPTY, NULL, NULL), 0);
    return 0;
}

/* The whole scenario; cg_root is where the container's cgroup shows up
 * (to check that it is removed). */
static int scenario(const char *cg_root)
{
    struct fixture f;
    char out[4096], cg[128];
    const char *msg = NULL;
    int code, r = setup(&f);
    if (r)
        return r;

    /* Without rules every device stays usable: the shim sends none. */
    ASSERT_EQ(run(&f, "dev-none", NULL, 0, out, sizeof(out), &code, &msg, cg, sizeof(cg)), 0);
    ASSERT_EQ(code, 0);
    show("no rules", out);
    ASSERT_TRUE(strstr(out, "null-write-ok") != NULL);
    ASSERT_TRUE(strstr(out, "zero-open") != NULL);

    /* Deny all, then allow /dev/null: runc's shape of a device list. */
    Grpc__LinuxDeviceCgroup deny = GRPC__LINUX_DEVICE_CGROUP__INIT, null = deny, bad = deny;
    deny.allow = false;
    deny.access = (char *)"rwm";
    null.allow = true;
    null.type = (char *)"c";
    null.major = 1;
    null.minor = 3;
    null.access = (char *)"rwm";
    Grpc__LinuxDeviceCgroup *rules[] = {&deny, &null};
    ASSERT_EQ(run(&f, "dev-null", rules, 2, out, sizeof(out), &code, &msg, cg, sizeof(cg)), 0);
    ASSERT_EQ(code, 0);
    show("deny all but null", out);
    ASSERT_TRUE(strstr(out, "null-is-chr") != NULL); /* mknod still allowed */
    ASSERT_TRUE(strstr(out, "null-write-ok") != NULL);
    ASSERT_TRUE(strstr(out, "zero-denied") != NULL);
    ASSERT_TRUE(strstr(out, "zero-not-chr") == NULL);
    ASSERT_TRUE(strstr(out, "Operation not permitted") != NULL);
    for (int i = 0; i < 100 && dir_exists(cg_root, cg); i++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    ASSERT_TRUE(!dir_exists(cg_root, cg));

    /* No deny-all: everything stays allowed but what is denied. */
    Grpc__LinuxDeviceCgroup zero = null;
    zero.minor = 5;
    zero.allow = false;
    zero.access = (char *)"rw"; /* "m" too would leave /dev/zero a plain file */
    Grpc__LinuxDeviceCgroup *deny_zero[] = {&zero};
    ASSERT_EQ(run(&f, "dev-zero", deny_zero, 1, out, sizeof(out), &code, &msg, cg, sizeof(cg)), 0);
    ASSERT_EQ(code, 0);
    show("deny zero only", out);
    ASSERT_TRUE(strstr(out, "null-write-ok") != NULL);
    ASSERT_TRUE(strstr(out, "zero-denied") != NULL);
    ASSERT_TRUE(strstr(out, "zero-not-chr") == NULL);

    Grpc__LinuxDeviceCgroup zero_ok = null;
    zero_ok.minor = 5;
    Grpc__LinuxDeviceCgroup *three[] = {&deny, &null, &zero_ok};
    if ((r = update_scenario(&f, rules, three)) != 0)
        return r;

    /* A malformed rule is refused before anything is created. */
    bad.allow = true;
    bad.type = (char *)"x";
    bad.access = (char *)"rw";
    Grpc__LinuxDeviceCgroup *bad_rules[] = {&deny, &bad};
    ASSERT_EQ(run(&f, "dev-bad", bad_rules, 2, out, sizeof(out), &code, &msg, cg, sizeof(cg)), 0);
    ASSERT_EQ(code, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(msg && strstr(msg, "Devices[1].Type") != NULL);
    ASSERT_TRUE(!dir_exists(cg_root, cg));
    bad.type = (char *)"c";
    bad.access = (char *)"rwx";
    ASSERT_EQ(run(&f, "dev-bad2", bad_rules, 2, out, sizeof(out), &code, &msg, cg, sizeof(cg)), 0);
    ASSERT_EQ(code, TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(msg && strstr(msg, "Devices[1].Access") != NULL);
    ASSERT_TRUE(!dir_exists(cg_root, cg));
    return agent_harness_stop(&f.h) != 0;
}

TEST(devices_cgroup_v1)
{
    struct statfs fs;
    if (geteuid() != 0)
        return test_skip("needs root");
    if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_MAGIC)
        return test_skip("/sys/fs/cgroup is cgroup v2 on this host: no v1 devices controller");
    if (access("/sys/fs/cgroup/devices/devices.allow", W_OK) != 0)
        return test_skip("no cgroup v1 devices controller at /sys/fs/cgroup/devices");
    return scenario("/sys/fs/cgroup/devices");
}

/* Loads the smallest device program: tells whether the kernel has them. */
static int probe_bpf(void)
{
    struct bpf_insn prog[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 1},
        {.code = BPF_JMP | BPF_EXIT},
    };
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = 2;
    attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
    long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
    if (fd < 0)
        return -errno;
    close((int)fd);
    return 0;
}

static int v2_child(void)
{
    struct statfs fs;
    int r;
    if (unshare(CLONE_NEWNS) < 0)
        return test_skip("unshare(CLONE_NEWNS): %s", strerror(errno));
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return test_skip("cannot make / private: %s", strerror(errno));
    if (!(statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_MAGIC) &&
        mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        return test_skip("this kernel does not let us mount cgroup2: %s", strerror(errno));
    if ((r = probe_bpf()) < 0)
        return test_skip("the kernel refuses BPF_PROG_TYPE_CGROUP_DEVICE programs: %s",
                         strerror(-r));
    return scenario("/sys/fs/cgroup");
}

TEST(devices_cgroup_v2_bpf)
{
    if (geteuid() != 0)
        return test_skip("needs root");
    fflush(stdout);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int rc = v2_child();
        fflush(stdout);
        _exit(rc);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st));
    return WEXITSTATUS(st);
}
