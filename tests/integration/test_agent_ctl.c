/* kata-agent-ctl (build/bin/kata-agent-ctl) run as a program against a fake
 * agent served by our ttRPC server on a unix socket (grpc.AgentService and
 * grpc.Health; a few methods record what they got and answer, the rest are
 * UNIMPLEMENTED), and against the real kata-agent when it has been built. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "tests/harness/harness.h"

#ifndef KATA_AGENT_CTL_PATH
#define KATA_AGENT_CTL_PATH "build/bin/kata-agent-ctl"
#endif
#ifndef KATA_AGENT_PATH
#define KATA_AGENT_PATH "build/bin/kata-agent"
#endif

/* ---- the fake agent ---- */

#define MAX_CALLS 256

struct recorded {
    char method[64];
    uint8_t *data;
    size_t len;
};

struct held {
    struct ttrpc_call *call;
    struct held *next;
};

struct fake {
    struct loop *loop;
    struct ttrpc_server *server;
    pthread_t thread;
    char path[108], hv_path[108];
    int hv_listen;
    pthread_t hv_thread;
    pthread_mutex_t lock;
    struct recorded calls[MAX_CALLS];
    size_t n_calls;
    struct held *held; /* GetOOMEvent calls kept until cancelled */
};

static const ProtobufCMethodDescriptor *method_of(struct ttrpc_call *call)
{
    const char *svc = ttrpc_call_service(call);
    const ProtobufCServiceDescriptor *d = strcmp(svc, "grpc.Health") == 0
                                              ? &grpc__health__descriptor
                                              : &grpc__agent_service__descriptor;
    return protobuf_c_service_descriptor_get_method_by_name(d, ttrpc_call_method(call));
}

static void record(struct fake *f, struct ttrpc_call *call, const ProtobufCMessage *req)
{
    pthread_mutex_lock(&f->lock);
    if (f->n_calls < MAX_CALLS) {
        struct recorded *r = &f->calls[f->n_calls++];
        snprintf(r->method, sizeof(r->method), "%s", ttrpc_call_method(call));
        r->len = protobuf_c_message_get_packed_size(req);
        r->data = malloc(r->len + 1);
        protobuf_c_message_pack(req, r->data);
    }
    pthread_mutex_unlock(&f->lock);
}

/* Records the request and answers an empty message of the output type. */
static void h_record(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    const ProtobufCMessageDescriptor *out = method_of(call)->output;
    void *resp = calloc(1, out->sizeof_message);
    record(ud, call, req);
    protobuf_c_message_init(out, resp);
    ttrpc_call_reply(call, resp);
    free(resp);
}

static void h_check(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__HealthCheckResponse r = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    (void)req;
    (void)ud;
    r.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_call_reply(call, &r.base);
}

static void h_version(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__VersionCheckResponse r = GRPC__VERSION_CHECK_RESPONSE__INIT;
    (void)req;
    (void)ud;
    r.grpc_version = (char *)"fake-grpc";
    r.agent_version = (char *)"fake-9.9";
    ttrpc_call_reply(call, &r.base);
}

static void h_guest_details(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    const Grpc__GuestDetailsRequest *q = (const Grpc__GuestDetailsRequest *)req;
    Grpc__GuestDetailsResponse r = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails d = GRPC__AGENT_DETAILS__INIT;
    char *handlers[] = {(char *)"virtio-fs", (char *)"local"};
    (void)ud;
    d.version = (char *)"fake";
    d.storage_handlers = handlers;
    d.n_storage_handlers = 2;
    r.agent_details = &d;
    r.mem_block_size_bytes = q->mem_block_size ? 134217728 : 0;
    r.support_mem_hotplug_probe = q->mem_hotplug_probe;
    ttrpc_call_reply(call, &r.base);
}

static void h_wait(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__WaitProcessResponse r = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    record(ud, call, req);
    r.status = 42;
    ttrpc_call_reply(call, &r.base);
}

static void h_write_stdin(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__WriteStreamResponse r = GRPC__WRITE_STREAM_RESPONSE__INIT;
    record(ud, call, req);
    r.len = (uint32_t)((const Grpc__WriteStreamRequest *)req)->data.len;
    ttrpc_call_reply(call, &r.base);
}

static void h_read_stdout(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__ReadStreamResponse r = GRPC__READ_STREAM_RESPONSE__INIT;
    record(ud, call, req);
    r.data.data = (uint8_t *)"hello";
    r.data.len = 5;
    ttrpc_call_reply(call, &r.base);
}

static void h_stats(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    Grpc__StatsContainerResponse r = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    Grpc__CgroupStats cg = GRPC__CGROUP_STATS__INIT;
    Grpc__MemoryStats ms = GRPC__MEMORY_STATS__INIT;
    Grpc__MemoryStats__StatsEntry e = GRPC__MEMORY_STATS__STATS_ENTRY__INIT;
    Grpc__MemoryStats__StatsEntry *ents[] = {&e};
    Grpc__HugetlbStats hs = GRPC__HUGETLB_STATS__INIT;
    Grpc__CgroupStats__HugetlbStatsEntry he = GRPC__CGROUP_STATS__HUGETLB_STATS_ENTRY__INIT;
    Grpc__CgroupStats__HugetlbStatsEntry *hents[] = {&he};
    record(ud, call, req);
    e.key = (char *)"rss";
    e.value = 5;
    ms.stats = ents;
    ms.n_stats = 1;
    hs.usage = 1;
    he.key = (char *)"2MB";
    he.value = &hs;
    cg.memory_stats = &ms;
    cg.hugetlb_stats = hents;
    cg.n_hugetlb_stats = 1;
    r.cgroup_stats = &cg;
    ttrpc_call_reply(call, &r.base);
}

static void h_pause(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    (void)ud;
    ttrpc_call_fail(call, TTRPC_NOT_FOUND, "container %s not found",
                    ((const Grpc__PauseContainerRequest *)req)->container_id);
}

static void oom_cancelled(struct ttrpc_call *call, void *ud)
{
    struct fake *f = ud;
    for (struct held **p = &f->held; *p; p = &(*p)->next)
        if ((*p)->call == call) {
            struct held *h = *p;
            *p = h->next;
            free(h);
            break;
        }
    ttrpc_call_fail(call, TTRPC_CANCELLED, "cancelled");
}

static void h_oom(struct ttrpc_call *call, const ProtobufCMessage *req, void *ud)
{
    struct fake *f = ud;
    struct held *h = calloc(1, sizeof(*h));
    (void)req;
    h->call = call;
    h->next = f->held;
    f->held = h;
    ttrpc_call_on_cancel(call, oom_cancelled, f);
}

static void set_handler(ttrpc_handler_fn *handlers, const ProtobufCServiceDescriptor *d,
                        const char *name, ttrpc_handler_fn fn)
{
    const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(d, name);
    handlers[m - d->methods] = fn;
}

static void *fake_main(void *ud)
{
    struct fake *f = ud;
    loop_run(f->loop);
    f->server = ttrpc_server_free(f->server);
    return NULL;
}

static void fake_quit(void *ud)
{
    loop_quit(((struct fake *)ud)->loop, 0);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        return -1;
    return fd;
}

/* The hybrid vsock side (as Cloud Hypervisor or Firecracker): accept,
 * answer "CONNECT <port>" with "OK <n>" when the port is 1025, then hand
 * the stream to the ttRPC server. */
struct hv_conn {
    struct fake *f;
    int fd;
};

static void hv_add(void *ud)
{
    struct hv_conn *c = ud;
    ttrpc_server_add_connection(c->f->server, c->fd);
    free(c);
}

static void *hv_main(void *ud)
{
    struct fake *f = ud;
    for (;;) {
        int fd = accept4(f->hv_listen, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return NULL;
        char line[64];
        size_t n = 0;
        while (n < sizeof(line) - 1 && read(fd, &line[n], 1) == 1 && line[n] != '\n')
            n++;
        line[n] = '\0';
        if (strcmp(line, "CONNECT 1025") != 0) {
            close(fd);
            continue;
        }
        if (write(fd, "OK 77\n", 6) != 6) {
            close(fd);
            continue;
        }
        fcntl(fd, F_SETFL, O_NONBLOCK);
        struct hv_conn *c = calloc(1, sizeof(*c));
        c->f = f;
        c->fd = fd;
        loop_post(f->loop, hv_add, c);
    }
}

static struct fake *fake_start(void)
{
    static unsigned seq;
    struct fake *f = calloc(1, sizeof(*f));
    ttrpc_handler_fn agent[64] = {0}, health[2] = {h_check, h_version};
    const ProtobufCServiceDescriptor *ad = &grpc__agent_service__descriptor;
    const char *recorded[] = {
        "CreateSandbox",   "CreateContainer", "StartContainer",  "ExecProcess", "SignalProcess",
        "RemoveContainer", "DestroySandbox",  "UpdateContainer", "CopyFile",    "SetGuestDateTime"};

    pthread_mutex_init(&f->lock, NULL);
    for (size_t i = 0; i < ELEMENTSOF(recorded); i++)
        set_handler(agent, ad, recorded[i], h_record);
    set_handler(agent, ad, "GetGuestDetails", h_guest_details);
    set_handler(agent, ad, "WaitProcess", h_wait);
    set_handler(agent, ad, "WriteStdin", h_write_stdin);
    set_handler(agent, ad, "ReadStdout", h_read_stdout);
    set_handler(agent, ad, "StatsContainer", h_stats);
    set_handler(agent, ad, "PauseContainer", h_pause);
    set_handler(agent, ad, "GetOOMEvent", h_oom);
    snprintf(f->path, sizeof(f->path), "%s/agent-%u.sock", test_tmpdir(), seq);
    snprintf(f->hv_path, sizeof(f->hv_path), "%s/hv-%u.sock", test_tmpdir(), seq++);
    int fd = listen_unix(f->path);
    f->hv_listen = listen_unix(f->hv_path);
    if (fd < 0 || f->hv_listen < 0 || loop_new(&f->loop) < 0 ||
        ttrpc_server_new(f->loop, NULL, &f->server) < 0 ||
        ttrpc_server_register(f->server, ad, agent, f) < 0 ||
        ttrpc_server_register(f->server, &grpc__health__descriptor, health, f) < 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) < 0 || ttrpc_server_listen_fd(f->server, fd) < 0 ||
        pthread_create(&f->thread, NULL, fake_main, f) != 0 ||
        pthread_create(&f->hv_thread, NULL, hv_main, f) != 0) {
        printf("# fake agent did not start\n");
        abort();
    }
    return f;
}

static void fake_stop(struct fake *f)
{
    loop_post(f->loop, fake_quit, f);
    pthread_join(f->thread, NULL);
    shutdown(f->hv_listen, SHUT_RDWR);
    pthread_join(f->hv_thread, NULL);
    close(f->hv_listen);
    loop_run_once(f->loop, 0);
    loop_free(f->loop);
    for (size_t i = 0; i < f->n_calls; i++)
        free(f->calls[i].data);
    unlink(f->path);
    unlink(f->hv_path);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* The n-th recorded call of method (0-based), unpacked, or NULL. */
static void *fake_call(struct fake *f, const char *method, size_t nth,
                       const ProtobufCMessageDescriptor *d)
{
    void *m = NULL;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_calls; i++)
        if (!strcmp(f->calls[i].method, method) && nth-- == 0) {
            m = protobuf_c_message_unpack(d, NULL, f->calls[i].len, f->calls[i].data);
            break;
        }
    pthread_mutex_unlock(&f->lock);
    return m;
}

static size_t fake_count(struct fake *f, const char *method)
{
    size_t n = 0;
    pthread_mutex_lock(&f->lock);
    for (size_t i = 0; i < f->n_calls; i++)
        n += !strcmp(f->calls[i].method, method);
    pthread_mutex_unlock(&f->lock);
    return n;
}

/* ---- running the tool ---- */

struct run {
    int status; /* exit status, or 128+signal */
    char out[65536];
    char err[16384];
    uint64_t ms;
};

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;
    buf[n] = '\0';
    if (fp)
        fclose(fp);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Runs kata-agent-ctl with argv (NULL-terminated, without argv[0]), stdin
 * from stdin_text (or /dev/null); kills it after 30 s. */
static void run_ctl(struct run *r, const char *stdin_text, const char *const *args)
{
    char in[256], out[256], err[256];
    const char *argv[256] = {KATA_AGENT_CTL_PATH};
    size_t n = 1;
    for (; args[n - 1] && n < ELEMENTSOF(argv) - 1; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    snprintf(in, sizeof(in), "%s/stdin", test_tmpdir());
    snprintf(out, sizeof(out), "%s/stdout", test_tmpdir());
    snprintf(err, sizeof(err), "%s/stderr", test_tmpdir());
    FILE *fp = fopen(in, "w");
    if (fp) {
        fputs(stdin_text ? stdin_text : "", fp);
        fclose(fp);
    }
    uint64_t start = now_ms();
    pid_t pid = fork();
    if (pid == 0) {
        int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600),
            e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (i < 0 || o < 0 || e < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    if (pidfd < 0 || poll(&p, 1, 30000) != 1) {
        printf("# kata-agent-ctl did not finish in 30 s; killing it\n");
        kill(pid, SIGKILL);
    }
    if (pidfd >= 0)
        close(pidfd);
    int st = 0;
    waitpid(pid, &st, 0);
    r->ms = now_ms() - start;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle))) {                                                            \
            test_fail_at(__FILE__, __LINE__, "no \"%s\" in:\n%s", (needle), (hay));                \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define RUN(r, stdin_text, ...)                                                                    \
    do {                                                                                           \
        const char *const _args[] = {__VA_ARGS__, NULL};                                           \
        run_ctl((r), (stdin_text), _args);                                                         \
    } while (0)

static int require_tool(void)
{
    if (access(KATA_AGENT_CTL_PATH, X_OK) != 0)
        return test_skip("%s is not built", KATA_AGENT_CTL_PATH);
    return 0;
}

static char addr[160];

static const char *address_of(struct fake *f)
{
    snprintf(addr, sizeof(addr), "unix://%s", f->path);
    return addr;
}

/* A bundle from `runc spec` (the default spec embedded when runc is
 * missing) in a fresh folder; returns its path. */
static const char *make_bundle(void)
{
    static char dir[200];
    static unsigned seq;
    char cmd[512];
    snprintf(dir, sizeof(dir), "%s/bundle-%u", test_tmpdir(), seq++);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s/rootfs' && cd '%s' && runc spec 2>/dev/null", dir,
             dir);
    if (system(cmd) != 0) {
        snprintf(cmd, sizeof(cmd), "%s/config.json", dir);
        FILE *fp = fopen(cmd, "w");
        if (!fp)
            return NULL;
        fputs("{\"ociVersion\": \"1.0.2-dev\", \"process\": {\"terminal\": true, \"user\": "
              "{\"uid\": 0, \"gid\": 0}, \"args\": [\"sh\"], \"cwd\": \"/\"}, \"root\": "
              "{\"path\": \"rootfs\", \"readonly\": true}, \"hostname\": \"runc\", \"linux\": "
              "{\"namespaces\": [{\"type\": \"pid\"}]}}",
              fp);
        fclose(fp);
    }
    return dir;
}

static bool is_hex_id(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* ---- tests ---- */

TEST(check_and_version)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "Check", "-c", "Version");
    fake_stop(f);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"status\": \"SERVING\"");
    ASSERT_CONTAINS(r.out, "\"agent_version\": \"fake-9.9\"");
    ASSERT_CONTAINS(r.out, "\"grpc_version\": \"fake-grpc\"");
    ASSERT_STREQ(r.err, "");
    return 0;
}

TEST(guest_details_auto_values_json_and_no_auto)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "GetGuestDetails");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"mem_block_size_bytes\": 134217728");
    ASSERT_CONTAINS(r.out, "\"support_mem_hotplug_probe\": true");
    ASSERT_CONTAINS(r.out, "\"storage_handlers\": [");
    RUN(&r, NULL, "connect", "-n", "--server-address", address_of(f), "-c", "GetGuestDetails");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"mem_block_size_bytes\": 0");
    ASSERT_CONTAINS(r.out, "\"support_mem_hotplug_probe\": false");
    RUN(&r, NULL, "connect", "--no-auto-values", "--server-address", address_of(f), "-c",
        "GetGuestDetails json://{\"mem_block_size\": true, \"memHotplugProbe\": false}");
    fake_stop(f);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"mem_block_size_bytes\": 134217728");
    ASSERT_CONTAINS(r.out, "\"support_mem_hotplug_probe\": false");
    return 0;
}

TEST(create_container_from_runc_bundle)
{
    if (require_tool())
        return TEST_SKIP;
    const char *bundle = make_bundle();
    ASSERT_TRUE(bundle != NULL);
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "-l", "debug", "connect", "--server-address", address_of(f), "--bundle-dir",
        bundle, "-c", "CreateSandbox", "-c", "CreateContainer", "-c", "StartContainer", "-c",
        "WaitProcess", "-c", "StatsContainer");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"status\": 42");
    ASSERT_CONTAINS(r.out, "\"stats\": {");
    ASSERT_CONTAINS(r.out, "\"rss\": 5");
    ASSERT_CONTAINS(r.out, "\"2MB\": {");
    ASSERT_CONTAINS(r.err, "level=debug");

    Grpc__CreateSandboxRequest *sb =
        fake_call(f, "CreateSandbox", 0, &grpc__create_sandbox_request__descriptor);
    Grpc__CreateContainerRequest *cc =
        fake_call(f, "CreateContainer", 0, &grpc__create_container_request__descriptor);
    Grpc__StartContainerRequest *sc =
        fake_call(f, "StartContainer", 0, &grpc__start_container_request__descriptor);
    Grpc__WaitProcessRequest *wp =
        fake_call(f, "WaitProcess", 0, &grpc__wait_process_request__descriptor);
    fake_stop(f);
    ASSERT_TRUE(sb && cc && sc && wp);
    ASSERT_TRUE(is_hex_id(sb->sandbox_id));
    ASSERT_TRUE(is_hex_id(cc->container_id));
    ASSERT_STREQ(cc->exec_id, cc->container_id);
    ASSERT_STREQ(sc->container_id, cc->container_id);
    ASSERT_STREQ(wp->container_id, cc->container_id);
    ASSERT_STREQ(wp->exec_id, cc->container_id);

    /* The bundle's config.json, converted. */
    Grpc__Spec *s = cc->oci;
    ASSERT_TRUE(s != NULL);
    ASSERT_STREQ(s->version, "1.0.2-dev");
    ASSERT_EQ(s->process->n_args, 1);
    ASSERT_STREQ(s->process->args[0], "sh");
    ASSERT_TRUE(s->process->terminal);
    ASSERT_STREQ(s->process->cwd, "/");
    ASSERT_STREQ(s->hostname, "runc");
    char *real = realpath(bundle, NULL), want_root[300];
    snprintf(want_root, sizeof(want_root), "%s/rootfs", real);
    free(real);
    ASSERT_STREQ(s->root->path, want_root);
    ASSERT_TRUE(s->root->readonly);
    ASSERT_TRUE(s->linux_ != NULL);
    ASSERT_STREQ(s->linux_->namespaces[0]->type, "pid");
    if (s->n_mounts) { /* runc's spec, not the fallback */
        ASSERT_EQ(s->n_mounts, 7);
        ASSERT_STREQ(s->mounts[0]->destination, "/proc");
        ASSERT_EQ(s->process->rlimits[0]->hard, 1024);
        ASSERT_STREQ(s->process->capabilities->bounding[0], "CAP_AUDIT_WRITE");
        ASSERT_EQ(s->linux_->n_namespaces, 5);
        ASSERT_TRUE(!s->linux_->resources->devices[0]->allow);
        ASSERT_STREQ(s->linux_->resources->devices[0]->access, "rwm");
        ASSERT_EQ(s->linux_->n_maskedpaths, 10);
    }
    protobuf_c_message_free_unpacked(&sb->base, NULL);
    protobuf_c_message_free_unpacked(&cc->base, NULL);
    protobuf_c_message_free_unpacked(&sc->base, NULL);
    protobuf_c_message_free_unpacked(&wp->base, NULL);
    return 0;
}

TEST(exec_uses_new_id_and_later_calls_follow_it)
{
    if (require_tool())
        return TEST_SKIP;
    const char *bundle = make_bundle();
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "--bundle-dir", bundle, "-c",
        "CreateContainer cid=ctr1", "-c", "ExecProcess", "-c", "WaitProcess", "-c",
        "WriteStdin data=hi", "-c", "ReadStdout", "-c", "SignalProcess");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"len\": 2");
    ASSERT_CONTAINS(r.out, "\"data\": \"aGVsbG8=\"");
    Grpc__ExecProcessRequest *ep =
        fake_call(f, "ExecProcess", 0, &grpc__exec_process_request__descriptor);
    Grpc__WaitProcessRequest *wp =
        fake_call(f, "WaitProcess", 0, &grpc__wait_process_request__descriptor);
    Grpc__ReadStreamRequest *rs =
        fake_call(f, "ReadStdout", 0, &grpc__read_stream_request__descriptor);
    Grpc__SignalProcessRequest *sp =
        fake_call(f, "SignalProcess", 0, &grpc__signal_process_request__descriptor);
    fake_stop(f);
    ASSERT_TRUE(ep && wp && rs && sp);
    ASSERT_STREQ(ep->container_id, "ctr1");
    ASSERT_TRUE(is_hex_id(ep->exec_id));
    ASSERT_TRUE(ep->process != NULL);
    ASSERT_STREQ(ep->process->args[0], "sh");
    ASSERT_STREQ(wp->container_id, "ctr1");
    ASSERT_STREQ(wp->exec_id, ep->exec_id);
    ASSERT_EQ(rs->len, 32768);
    ASSERT_EQ(sp->signal, 9);
    protobuf_c_message_free_unpacked(&ep->base, NULL);
    protobuf_c_message_free_unpacked(&wp->base, NULL);
    protobuf_c_message_free_unpacked(&rs->base, NULL);
    protobuf_c_message_free_unpacked(&sp->base, NULL);
    return 0;
}

TEST(key_value_json_and_file_arguments)
{
    if (require_tool())
        return TEST_SKIP;
    const char *bundle = make_bundle();
    char json_path[256], file_arg[300], spec_arg[300];
    snprintf(json_path, sizeof(json_path), "%s/sandbox.json", test_tmpdir());
    FILE *fp = fopen(json_path, "w");
    ASSERT_TRUE(fp != NULL);
    fputs("{\"hostname\": \"from-file\", \"dns\": [\"nameserver 10.0.0.1\"],"
          " \"kernel_modules\": [{\"name\": \"vfio\"}]}",
          fp);
    fclose(fp);
    snprintf(file_arg, sizeof(file_arg), "CreateSandbox file://%s sandbox_id=sb2", json_path);
    snprintf(spec_arg, sizeof(spec_arg),
             "CreateContainer spec=file://%s/config.json container_id=c2 "
             "OCI.Hostname=\"my host\" OCI.Annotations[io.k8s.x]=y "
             "OCI.Process.Env[0]='A=1 2' OCI.Linux.Resources={\"Memory\": {\"Limit\": 1000}}",
             bundle);
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "-n", "--server-address", address_of(f), "-c",
        "SignalProcess cid=abc exec_id=\"x y\" signal=usr1", "-c", "SignalProcess signal=SIGTERM",
        "-c",
        "CreateSandbox json://{\"hostname\": \"h1\", \"dns\": [\"nameserver 1.1.1.1\"], "
        "\"sandbox_pidns\": true}",
        "-c", file_arg, "-c", spec_arg, "-c", "SetGuestDateTime Sec=-5 Usec=0x10", "-c",
        "UpdateContainer cid=c2 resources={\"CPU\": {\"Cpus\": \"0-1\"}}");
    ASSERT_EQ(r.status, 0);
    Grpc__SignalProcessRequest *s1 =
        fake_call(f, "SignalProcess", 0, &grpc__signal_process_request__descriptor);
    Grpc__SignalProcessRequest *s2 =
        fake_call(f, "SignalProcess", 1, &grpc__signal_process_request__descriptor);
    Grpc__CreateSandboxRequest *j =
        fake_call(f, "CreateSandbox", 0, &grpc__create_sandbox_request__descriptor);
    Grpc__CreateSandboxRequest *fl =
        fake_call(f, "CreateSandbox", 1, &grpc__create_sandbox_request__descriptor);
    Grpc__CreateContainerRequest *cc =
        fake_call(f, "CreateContainer", 0, &grpc__create_container_request__descriptor);
    Grpc__SetGuestDateTimeRequest *dt =
        fake_call(f, "SetGuestDateTime", 0, &grpc__set_guest_date_time_request__descriptor);
    Grpc__UpdateContainerRequest *uc =
        fake_call(f, "UpdateContainer", 0, &grpc__update_container_request__descriptor);
    fake_stop(f);
    ASSERT_TRUE(s1 && s2 && j && fl && cc && dt && uc);
    ASSERT_STREQ(s1->container_id, "abc");
    ASSERT_STREQ(s1->exec_id, "x y");
    ASSERT_EQ(s1->signal, SIGUSR1);
    /* -n: nothing filled in. */
    ASSERT_STREQ(s2->container_id, "");
    ASSERT_EQ(s2->signal, SIGTERM);
    ASSERT_STREQ(j->hostname, "h1");
    ASSERT_STREQ(j->dns[0], "nameserver 1.1.1.1");
    ASSERT_TRUE(j->sandbox_pidns);
    ASSERT_STREQ(j->sandbox_id, "");
    ASSERT_STREQ(fl->hostname, "from-file");
    ASSERT_STREQ(fl->kernel_modules[0]->name, "vfio");
    ASSERT_STREQ(fl->sandbox_id, "sb2");
    ASSERT_STREQ(cc->container_id, "c2");
    ASSERT_STREQ(cc->exec_id, "");
    ASSERT_STREQ(cc->oci->hostname, "my host");
    ASSERT_STREQ(cc->oci->annotations[0]->key, "io.k8s.x");
    ASSERT_STREQ(cc->oci->process->env[0], "A=1 2");
    ASSERT_EQ(cc->oci->linux_->resources->memory->limit, 1000);
    ASSERT_STREQ(cc->oci->process->args[0], "sh");
    ASSERT_EQ(cc->oci->root->path[0], '/');
    ASSERT_EQ(dt->sec, -5);
    ASSERT_EQ(dt->usec, 16);
    ASSERT_STREQ(uc->resources->cpu->cpus, "0-1");
    protobuf_c_message_free_unpacked(&s1->base, NULL);
    protobuf_c_message_free_unpacked(&s2->base, NULL);
    protobuf_c_message_free_unpacked(&j->base, NULL);
    protobuf_c_message_free_unpacked(&fl->base, NULL);
    protobuf_c_message_free_unpacked(&cc->base, NULL);
    protobuf_c_message_free_unpacked(&dt->base, NULL);
    protobuf_c_message_free_unpacked(&uc->base, NULL);
    return 0;
}

TEST(builtins_repeat_sleep_echo)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "repeat 3", "-c", "Check",
        "-c", "repeat 2 Version", "-c", "sleep 300ms", "-c", "echo hello \"big world\"", "-c",
        "Check", "-c", "sleep 100");
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(count_of(r.out, "SERVING"), 4);
    ASSERT_EQ(count_of(r.out, "fake-9.9"), 2);
    ASSERT_CONTAINS(r.out, "hello big world\n");
    ASSERT_GE(r.ms, 400);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "repeat 2 CreateSandbox",
        "-c", "quit", "-c", "Check");
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(fake_count(f, "CreateSandbox"), 2);
    ASSERT_EQ(count_of(r.out, "SERVING"), 0);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "repeat x Check");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: repeat: usage");
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "sleep soon");
    fake_stop(f);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: sleep: usage");
    return 0;
}

TEST(errors_stop_unless_ignored)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "PauseContainer cid=zz", "-c",
        "Check");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: PauseContainer: NOT_FOUND: container zz not found");
    ASSERT_EQ(count_of(r.out, "SERVING"), 0);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "--ignore-errors", "-c",
        "PauseContainer cid=zz", "-c", "AddSwap", "-c", "Check");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.err, "ERROR: AddSwap: UNIMPLEMENTED");
    ASSERT_EQ(count_of(r.out, "SERVING"), 1);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "Frobnicate", "-c", "Check");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: Frobnicate: unknown command \"Frobnicate\"");
    ASSERT_EQ(count_of(r.out, "SERVING"), 0);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "CreateSandbox hostnme=x");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: CreateSandbox: hostnme: unknown field \"hostnme\"");
    ASSERT_EQ(fake_count(f, "CreateSandbox"), 0);
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "CreateSandbox oops");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "bad argument \"oops\"");
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c",
        "CopyFile json://{\"file_mode\": -1}");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: CopyFile: json: file_mode: expected unsigned integer");
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "CreateContainer");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "no OCI spec: give --bundle-dir");
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "-c", "Check 'unterminated");
    fake_stop(f);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "unterminated ' quote");
    return 0;
}

TEST(deadline_from_timeout)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", address_of(f), "--timeout", "200ms", "-c",
        "GetOOMEvent");
    fake_stop(f);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "ERROR: GetOOMEvent: DEADLINE_EXCEEDED");
    ASSERT_LT(r.ms, 10000);
    return 0;
}

TEST(server_not_there)
{
    if (require_tool())
        return TEST_SKIP;
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", "unix:///nonexistent/agent.sock", "-c", "Check");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err,
                    "ERROR: cannot connect to the agent at unix:///nonexistent/agent.sock: ");
    ASSERT_CONTAINS(r.err, "No such file or directory");
    RUN(&r, NULL, "connect", "--server-address", "tcp://1.2.3.4:5", "-c", "Check");
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "cannot connect");
    return 0;
}

TEST(hybrid_vsock)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    char hv[200];
    snprintf(hv, sizeof(hv), "unix://%s", f->hv_path);
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", hv, "--hybrid-vsock", "--hybrid-vsock-port",
        "1025", "-c", "Check");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "SERVING");
    RUN(&r, NULL, "connect", "--server-address", "unix://@abstract-x", "--hybrid-vsock", "-c",
        "Check");
    fake_stop(f);
    ASSERT_EQ(r.status, 1);
    ASSERT_CONTAINS(r.err, "--hybrid-vsock needs a unix:///path server address");
    return 0;
}

TEST(interactive_reads_stdin)
{
    if (require_tool())
        return TEST_SKIP;
    struct fake *f = fake_start();
    struct run r;
    RUN(&r, "Check\n# a comment\n\n  echo from stdin\nrepeat 2\nVersion\nquit\nCheck\n", "connect",
        "--server-address", address_of(f), "-i");
    fake_stop(f);
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(count_of(r.out, "SERVING"), 1);
    ASSERT_EQ(count_of(r.out, "fake-9.9"), 2);
    ASSERT_CONTAINS(r.out, "from stdin\n");
    /* Not a terminal: no prompt and no list. */
    ASSERT_EQ(count_of(r.out, "Enter command"), 0);
    return 0;
}

TEST(every_api_name_is_a_command)
{
    if (require_tool())
        return TEST_SKIP;
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", "unix:///nonexistent", "-c", "list");
    ASSERT_EQ(r.status, 0);
    const ProtobufCServiceDescriptor *svcs[] = {&grpc__agent_service__descriptor,
                                                &grpc__health__descriptor};
    const char *args[200] = {"connect", "-n", "--ignore-errors", "--timeout", "2s"};
    size_t n = 5, total = 0;
    struct fake *f = fake_start();
    args[n++] = "--server-address";
    args[n++] = address_of(f);
    for (size_t s = 0; s < 2; s++)
        for (unsigned i = 0; i < svcs[s]->n_methods; i++) {
            const char *name = svcs[s]->methods[i].name;
            char line[128];
            snprintf(line, sizeof(line), "  %s (%s service)\n", name, s ? "health" : "agent");
            ASSERT_CONTAINS(r.out, line);
            if (strcmp(name, "GetOOMEvent") != 0) { /* a long poll here */
                args[n++] = "-c";
                args[n++] = name;
            }
            total++;
        }
    ASSERT_EQ(total, 44);
    args[n++] = "-c";
    args[n++] = "GetIptables"; /* upstream's spelling */
    args[n] = NULL;
    struct run all;
    run_ctl(&all, NULL, args);
    fake_stop(f);
    ASSERT_EQ(all.status, 0);
    ASSERT_EQ(count_of(all.err, "unknown command"), 0);
    ASSERT_CONTAINS(all.err, "ERROR: GetIptables: UNIMPLEMENTED: grpc.AgentService.GetIPTables");
    /* 44 - GetOOMEvent + GetIptables calls; every one printed a reply or an error. */
    ASSERT_EQ(count_of(all.out, "\n}\n") + count_of(all.err, "ERROR: "), 44);
    return 0;
}

TEST(usage_and_help)
{
    if (require_tool())
        return TEST_SKIP;
    struct run r;
    RUN(&r, NULL, "--help");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "Usage: kata-agent-ctl");
    ASSERT_CONTAINS(r.out, "--server-address URI");
    RUN(&r, NULL, "examples");
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "GetGuestDetails json://");
    RUN(&r, NULL, "generate-sid");
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(strlen(r.out), 65);
    RUN(&r, NULL, "connect", "-c", "Check");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "--server-address is required");
    RUN(&r, NULL, "connect", "--server-address", "unix:///x");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "give at least one --cmd");
    RUN(&r, NULL, "connect", "--server-address", "unix:///x", "--timeout", "5 parsecs", "-c", "x");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "bad --timeout");
    RUN(&r, NULL, "-l", "loud", "examples");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "unknown log level");
    /* connect --vm itself boots VMs: tests/e2e/test_agent_ctl_vm.c */
    RUN(&r, NULL, "connect", "--vm", "bochs", "-c", "Check");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "--vm bochs: expected qemu, clh or mock");
    RUN(&r, NULL, "connect", "--vm", "qemu", "--server-address", "unix:///x", "-c", "Check");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "exclude each other");
    RUN(&r, NULL, "connect", "--config", "/x.toml", "--server-address", "unix:///x", "-c", "x");
    ASSERT_EQ(r.status, 2);
    ASSERT_CONTAINS(r.err, "--config goes with --vm");
    RUN(&r, NULL, "frob");
    ASSERT_EQ(r.status, 2);
    return 0;
}

/* Whether something accepts on the unix socket `path`. The file alone
 * does not say so: it appears at bind(), before the agent's listen(). */
static bool accepting(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return false;
    memcpy(sa.sun_path, path, n + 1);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* The real agent, stand-alone on a unix socket, when it has been built. */
TEST(real_agent_check_and_version)
{
    if (require_tool())
        return TEST_SKIP;
    if (access(KATA_AGENT_PATH, X_OK) != 0)
        return test_skip("%s is not built", KATA_AGENT_PATH);
    if (geteuid() != 0)
        return test_skip("the stand-alone agent needs root");
    char sock[200], env[260];
    snprintf(sock, sizeof(sock), "%s/real-agent.sock", test_tmpdir());
    snprintf(env, sizeof(env), "KATA_AGENT_SERVER_ADDR=unix://%s", sock);
    pid_t pid = fork();
    if (pid == 0) {
        char *const argv[] = {(char *)KATA_AGENT_PATH, NULL};
        char *const envp[] = {env, (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    for (int i = 0; i < 500 && !accepting(sock); i++)
        usleep(10000);
    char addr2[220];
    snprintf(addr2, sizeof(addr2), "unix://%s", sock);
    struct run r;
    RUN(&r, NULL, "connect", "--server-address", addr2, "-c", "Check", "-c", "Version");
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    if (r.status != 0)
        printf("# stderr: %s\n", r.err);
    ASSERT_EQ(r.status, 0);
    ASSERT_CONTAINS(r.out, "\"status\": \"SERVING\"");
    ASSERT_CONTAINS(r.out, "\"agent_version\": ");
    return 0;
}
