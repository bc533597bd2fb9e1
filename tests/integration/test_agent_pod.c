/* What the containers of one pod share, with the stand-alone kata-agent on
 * this host (no VM): the hostname (every container of the pod, the
 * sandbox container included, is in the UTS namespace CreateSandbox named,
 * and sees another's sethostname) and terminals that `tty` can name inside the
 * container, for exec as for the init (the pty comes from the container's
 * own devpts, as with runc). Needs root and busybox-static; skips
 * otherwise. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"
#include "tests/support/agent_harness.h"

#define EMPTY &google__protobuf__empty__descriptor
#define ELEMENTS_OF_CAPS (sizeof(((struct agent_harness_spec *)0)->cap_list) / sizeof(char *))

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

static int create(struct fixture *f, struct agent_harness_spec *s, const char *cid)
{
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    const char *msg = NULL;
    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = &s->spec;
    int code = agent_harness_call(&f->h, "CreateContainer", &req.base, EMPTY, NULL, &msg);
    if (code != 0)
        printf("#   CreateContainer %s: %d %s\n", cid, code, msg ? msg : "");
    return code;
}

static int remove_ctr(struct fixture *f, const char *cid)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    req.timeout = 10;
    return agent_harness_call(&f->h, "RemoveContainer", &req.base, EMPTY, NULL, NULL);
}

/* A process's stdout (the pty, for a terminal) until EOF. */
/* Creates, starts and reads a container to its end; returns its status. */
static int run(struct fixture *f, struct agent_harness_spec *s, const char *cid, char *out,
               size_t size)
{
    if (create(f, s, cid) != 0 || agent_harness_call_cid(&f->h, "StartContainer", cid, NULL) != 0 ||
        agent_harness_read_all(&f->h, cid, cid, false, out, size) < 0)
        return -1;
    int st = agent_harness_wait(&f->h, cid, cid);
    printf("#   %s: status %d, output \"%s\"\n", cid, st, out);
    return remove_ctr(f, cid) == 0 ? st : -1;
}

/* Points the spec's UTS namespace at a path, as CRI does for the pod's. */
static void join_uts(struct agent_harness_spec *s, const char *path)
{
    for (size_t i = 0; i < s->linux_.n_namespaces; i++)
        if (strcmp(s->ns[i].type, "uts") == 0)
            s->ns[i].path = (char *)path;
}

/* sethostname() needs CAP_SYS_ADMIN, as in any container. */
static void privileged(struct agent_harness_spec *s)
{
    size_t n = s->caps.n_bounding;
    if (n < ELEMENTS_OF_CAPS) {
        s->cap_list[n] = (char *)"CAP_SYS_ADMIN";
        s->caps.n_bounding = s->caps.n_effective = s->caps.n_permitted = n + 1;
    }
}

/* An exec without a terminal; its output is read with read_out(). */
static int exec_plain(struct fixture *f, const char *cid, const char *eid, const char *const *args,
                      bool priv)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, args);
    if (priv)
        privileged(&s);
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

/* Runs an exec to its end; returns its status, its stdout in out. */
static int exec_run(struct fixture *f, const char *cid, const char *eid, const char *const *args,
                    bool priv, char *out, size_t size)
{
    if (exec_plain(f, cid, eid, args, priv) != 0 || agent_harness_read_all(&f->h, cid, eid, false, out, size) < 0)
        return -1;
    int st = agent_harness_wait(&f->h, cid, eid);
    printf("#   exec %s in %s: status %d, output \"%s\"\n", eid, cid, st, out);
    return st;
}

/* The inode of a process's UTS namespace. */
static unsigned long uts_inode(pid_t pid)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d/ns/uts", (int)pid);
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* Runs in UTS namespace of its own (the agent it starts inherits it), so
 * that CreateSandbox may name it as the guest's. Every container of the
 * pod shares that namespace, the sandbox (pause) container included,
 * whose spec lists a UTS namespace without a path as CRI's does. (A
 * container outside any sandbox gets one of its own with oci.Hostname:
 * test_agent.c agent_run_echo.) */
TEST(pod_containers_and_the_sandbox_container_share_the_hostname)
{
    if (geteuid() != 0)
        return test_skip("needs root");
    if (unshare(CLONE_NEWUTS) < 0)
        return test_skip("cannot unshare a UTS namespace: %s", strerror(errno));
    setenv("KATA_AGENT_PRIVATE_NAMESPACES", "uts", 1);
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;

    Grpc__CreateSandboxRequest sreq = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    const char *msg = NULL;
    sreq.sandbox_id = (char *)"podsbx";
    sreq.hostname = (char *)"the-pod";
    int code = agent_harness_call(&f.h, "CreateSandbox", &sreq.base, EMPTY, NULL, &msg);
    if (code)
        printf("#   CreateSandbox: %s\n", msg);
    ASSERT_EQ(code, 0);
    char host[128] = "";
    ASSERT_OK(gethostname(host, sizeof(host)));
    ASSERT_STREQ(host, "the-pod");

    /* The sandbox container first, as CRI creates it: its spec names a
     * hostname of its own (agenttest) in a UTS entry without a path, and
     * neither a new namespace nor that name may come of it. */
    char out[512];
    const char *p_args[] = {"sleep", "600", NULL};
    struct agent_harness_spec p;
    agent_harness_spec_init(&p, f.bundle, p_args);
    ASSERT_EQ(create(&f, &p, "pause"), 0);
    ASSERT_EQ(agent_harness_call_cid(&f.h, "StartContainer", "pause", NULL), 0);
    const char *hostname_args[] = {"hostname", NULL};
    ASSERT_EQ(exec_run(&f, "pause", "h1", hostname_args, false, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "the-pod\n");
    /* The very namespace the agent is in (an exec joins the init's). */
    char want[64];
    const char *ns_args[] = {"ls", "-l", "/proc/self/ns/uts", NULL};
    snprintf(want, sizeof(want), "-> uts:[%lu]\n", uts_inode(f.h.pid));
    ASSERT_EQ(exec_run(&f, "pause", "ns", ns_args, false, out, sizeof(out)), 0);
    ASSERT_TRUE(strstr(out, want) != NULL);

    /* Two pod containers joining by path: the first renames the pod, the
     * second and the sandbox container see it. */
    const char *a_args[] = {"sh", "-c", "hostname; hostname renamed-by-a", NULL};
    struct agent_harness_spec a;
    agent_harness_spec_init(&a, f.bundle, a_args);
    join_uts(&a, "/proc/4242/ns/uts"); /* a host path: meaningless in a guest */
    privileged(&a);
    ASSERT_EQ(run(&f, &a, "pod-a", out, sizeof(out)), 0);
    ASSERT_STREQ(out, "the-pod\n");
    const char *b_args[] = {"hostname", NULL};
    struct agent_harness_spec b;
    agent_harness_spec_init(&b, f.bundle, b_args);
    join_uts(&b, "/proc/4242/ns/uts");
    ASSERT_EQ(run(&f, &b, "pod-b", out, sizeof(out)), 0);
    ASSERT_STREQ(out, "renamed-by-a\n");
    ASSERT_EQ(exec_run(&f, "pause", "h2", hostname_args, false, out, sizeof(out)), 0);
    ASSERT_STREQ(out, "renamed-by-a\n");

    /* And the other way round: a rename from the sandbox container. */
    const char *rename_args[] = {"hostname", "from-pause", NULL};
    ASSERT_EQ(exec_run(&f, "pause", "h3", rename_args, true, out, sizeof(out)), 0);
    struct agent_harness_spec c;
    agent_harness_spec_init(&c, f.bundle, b_args);
    join_uts(&c, "/proc/4242/ns/uts");
    ASSERT_EQ(run(&f, &c, "pod-c", out, sizeof(out)), 0);
    ASSERT_STREQ(out, "from-pause\n");
    ASSERT_OK(gethostname(host, sizeof(host)));
    ASSERT_STREQ(host, "from-pause");

    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = (char *)"pause";
    sig.exec_id = (char *)"pause";
    sig.signal = 9;
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sig.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "pause", "pause"), 128 + 9);
    ASSERT_EQ(remove_ctr(&f, "pause"), 0);

    Grpc__DestroySandboxRequest dreq = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    ASSERT_EQ(agent_harness_call(&f.h, "DestroySandbox", &dreq.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    return agent_harness_stop(&f.h) != 0;
}

static int exec_tty(struct fixture *f, const char *cid, const char *eid, const char *const *args,
                    unsigned rows, unsigned cols)
{
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f->bundle, args);
    s.process.terminal = true;
    Grpc__Box box = GRPC__BOX__INIT;
    if (rows) {
        box.height = rows;
        box.width = cols;
        s.process.consolesize = &box;
    }
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

TEST(exec_and_init_terminals_are_the_containers_pts)
{
    struct fixture f;
    int r = setup(&f);
    if (r)
        return r;
    char out[512];

    /* The init on a terminal: its pty is the container's first. */
    const char *init_args[] = {"sh", "-c", "tty; ls -1 /dev/pts", NULL};
    struct agent_harness_spec s;
    agent_harness_spec_init(&s, f.bundle, init_args);
    s.process.terminal = true;
    ASSERT_EQ(run(&f, &s, "tty-init", out, sizeof(out)), 0);
    ASSERT_STREQ(out, "/dev/pts/0\r\n0\r\nptmx\r\n");

    /* exec -t into a container whose init has no terminal. */
    const char *sleeper[] = {"sleep", "60", NULL};
    agent_harness_spec_init(&s, f.bundle, sleeper);
    ASSERT_EQ(create(&f, &s, "tty-exec"), 0);
    ASSERT_EQ(agent_harness_call_cid(&f.h, "StartContainer", "tty-exec", NULL), 0);
    const char *tty_args[] = {"sh", "-c", "tty", NULL};
    ASSERT_EQ(exec_tty(&f, "tty-exec", "e1", tty_args, 0, 0), 0);
    ASSERT_GE(agent_harness_read_all(&f.h, "tty-exec", "e1", false, out, sizeof(out)), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "tty-exec", "e1"), 0);
    printf("#   exec tty: \"%s\"\n", out);
    ASSERT_STREQ(out, "/dev/pts/0\r\n");
    /* The size asked for at exec reaches the container's pty. */
    const char *size_args[] = {"sh", "-c", "stty size", NULL};
    ASSERT_EQ(exec_tty(&f, "tty-exec", "e2", size_args, 33, 99), 0);
    ASSERT_GE(agent_harness_read_all(&f.h, "tty-exec", "e2", false, out, sizeof(out)), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "tty-exec", "e2"), 0);
    ASSERT_STREQ(out, "33 99\r\n");

    Grpc__SignalProcessRequest sig = GRPC__SIGNAL_PROCESS_REQUEST__INIT;
    sig.container_id = (char *)"tty-exec";
    sig.exec_id = (char *)"tty-exec";
    sig.signal = 9;
    ASSERT_EQ(agent_harness_call(&f.h, "SignalProcess", &sig.base, EMPTY, NULL, NULL), 0);
    ASSERT_EQ(agent_harness_wait(&f.h, "tty-exec", "tty-exec"), 128 + 9);
    ASSERT_EQ(remove_ctr(&f, "tty-exec"), 0);
    ASSERT_EQ(agent_harness_count_mounts(f.h.dir), 0);
    return agent_harness_stop(&f.h) != 0;
}
