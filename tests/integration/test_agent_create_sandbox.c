/* The CreateSandbox request the shim's agent client puts on the wire for
 * each shared-folder kind (shim/agent_client.h agent_create_sandbox()), as
 * received by a real ttRPC server decoding grpc.AgentService: virtio-fs,
 * Kata's 9p storage (driver/fstype "9p", tag kataShared, options
 * "trans=virtio,version=9p2000.L,cache=mmap", "nodev", "msize=<n>" with
 * 8192 when unset), and no storage at all; and [agent.kata] kernel_modules
 * items as KernelModule{name, parameters}. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/agent_client.h"
#include "tests/harness/harness.h"

#define SEC UINT64_C(1000000000)
#define GUEST_SHARED "/run/kata-containers/shared/containers"

struct seen {
    unsigned calls;
    size_t n_storages;
    char sandbox_id[64], hostname[64];
    char driver[32], source[32], fstype[32], mount_point[128];
    char options[256]; /* joined with '|' */
    char dns[256];     /* joined with '|' */
    char modules[256]; /* "name:param,param|name:" */
};

struct run {
    struct loop *loop;
    struct workpool *pool;
    struct ttrpc_server *server;
    struct agent_client *ac;
    enum agent_share share;
    unsigned msize;
    const char *const *modules;
    size_t n_modules;
    struct seen seen;
    int code; /* the reply's, 1 until it came */
    bool done;
};

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "(null)");
}

static void on_create_sandbox(struct run *t, const Grpc__CreateSandboxRequest *r)
{
    struct seen *s = &t->seen;

    s->calls++;
    copy(s->sandbox_id, sizeof(s->sandbox_id), r->sandbox_id);
    copy(s->hostname, sizeof(s->hostname), r->hostname);
    for (size_t i = 0; i < r->n_dns; i++) {
        size_t len = strlen(s->dns);
        snprintf(s->dns + len, sizeof(s->dns) - len, "%s%s", i ? "|" : "", r->dns[i]);
    }
    for (size_t i = 0; i < r->n_kernel_modules; i++) {
        const Grpc__KernelModule *m = r->kernel_modules[i];
        size_t len = strlen(s->modules);
        snprintf(s->modules + len, sizeof(s->modules) - len, "%s%s:", i ? "|" : "", m->name);
        for (size_t j = 0; j < m->n_parameters; j++) {
            len = strlen(s->modules);
            snprintf(s->modules + len, sizeof(s->modules) - len, "%s%s", j ? "," : "",
                     m->parameters[j]);
        }
    }
    s->n_storages = r->n_storages;
    if (r->n_storages == 0)
        return;
    const Grpc__Storage *st = r->storages[0];
    copy(s->driver, sizeof(s->driver), st->driver);
    copy(s->source, sizeof(s->source), st->source);
    copy(s->fstype, sizeof(s->fstype), st->fstype);
    copy(s->mount_point, sizeof(s->mount_point), st->mount_point);
    for (size_t i = 0; i < st->n_options; i++) {
        size_t len = strlen(s->options);
        snprintf(s->options + len, sizeof(s->options) - len, "%s%s", i ? "|" : "",
                 st->options[i]);
    }
}

static void handle(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    struct run *t = ud;
    const char *m = ttrpc_call_method(call);

    if (strcmp(m, "Check") == 0) {
        Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        ttrpc_call_reply(call, &resp.base);
        return;
    }
    if (strcmp(m, "CreateSandbox") == 0) {
        on_create_sandbox(t, (const Grpc__CreateSandboxRequest *)request);
        Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
        ttrpc_call_reply(call, &e.base);
        return;
    }
    ttrpc_call_fail(call, TTRPC_UNIMPLEMENTED, "%s: not in this test", m);
}

static int serve(struct run *t, const ProtobufCServiceDescriptor *d)
{
    ttrpc_handler_fn handlers[64];

    if (d->n_methods > ELEMENTSOF(handlers))
        return -E2BIG;
    for (unsigned i = 0; i < d->n_methods; i++)
        handlers[i] = handle;
    return ttrpc_server_register(t->server, d, handlers, t);
}

static void created(const struct agent_reply *r, void *ud)
{
    struct run *t = ud;

    t->code = r->code;
    t->done = true;
}

static void ready(struct agent_client *ac, int code, const char *msg, void *ud)
{
    struct run *t = ud;
    int r;

    if (code < 0) {
        printf("#   agent not ready: %s\n", msg);
        t->code = code;
        t->done = true;
        return;
    }
    static char *const dns[] = {(char *)"nameserver 10.96.0.10", (char *)"search svc.local"};
    r = agent_create_sandbox(ac, "sb-1", "pod-host", dns, 2, t->share, t->msize, t->modules,
                             t->n_modules, created, t, NULL);
    if (r < 0) {
        t->code = r;
        t->done = true;
    }
}

static void lost(struct agent_client *ac, void *ud)
{
    (void)ac;
    (void)ud;
}

/* One client, one server, one CreateSandbox; fills t->seen. */
static int create_sandbox_with(struct run *t, enum agent_share share, unsigned msize,
                               const char *const *modules, size_t n_modules)
{
    char path[PATH_MAX], uri[PATH_MAX + 16];
    int fd, r;

    memset(t, 0, sizeof(*t));
    t->share = share;
    t->msize = msize;
    t->modules = modules;
    t->n_modules = n_modules;
    t->code = 1;
    snprintf(path, sizeof(path), "%s/agent-%d-%u.sock", test_tmpdir(), (int)share, msize);
    snprintf(uri, sizeof(uri), "unix://%s", path);
    if ((r = loop_new(&t->loop)) < 0 || (r = workpool_new(t->loop, 1, 4, &t->pool)) < 0 ||
        (r = ttrpc_server_new(t->loop, NULL, &t->server)) < 0 ||
        (r = serve(t, &grpc__agent_service__descriptor)) < 0 ||
        (r = serve(t, &grpc__health__descriptor)) < 0)
        return r;
    if ((fd = transport_listen(uri, NULL)) < 0)
        return fd;
    if ((r = ttrpc_server_listen_fd(t->server, fd)) < 0)
        return r;
    if ((r = agent_client_new(t->loop, t->pool, uri, 10 * SEC, ready, lost, t, &t->ac)) < 0)
        return r;
    /* Bounded: a broken client fails the test instead of hanging it. */
    for (int i = 0; i < 600 && !t->done; i++)
        loop_run_once(t->loop, 100);
    unlink(path);
    return t->done ? t->code : -ETIMEDOUT;
}

static int create_sandbox(struct run *t, enum agent_share share, unsigned msize)
{
    return create_sandbox_with(t, share, msize, NULL, 0);
}

static void run_done(struct run *t)
{
    agent_client_free(t->ac);
    workpool_free(t->pool);
    ttrpc_server_free(t->server);
    loop_free(t->loop);
}

TEST(nine_p_storage_is_katas)
{
    struct run t;

    ASSERT_EQ(create_sandbox(&t, AGENT_SHARE_9P, 65536), 0);
    ASSERT_EQ(t.seen.calls, 1);
    ASSERT_STREQ(t.seen.sandbox_id, "sb-1");
    ASSERT_STREQ(t.seen.hostname, "pod-host");
    ASSERT_STREQ(t.seen.dns, "nameserver 10.96.0.10|search svc.local");
    ASSERT_EQ(t.seen.n_storages, 1);
    ASSERT_STREQ(t.seen.driver, "9p");
    ASSERT_STREQ(t.seen.source, "kataShared");
    ASSERT_STREQ(t.seen.fstype, "9p");
    ASSERT_STREQ(t.seen.mount_point, GUEST_SHARED);
    ASSERT_STREQ(t.seen.options, "trans=virtio,version=9p2000.L,cache=mmap|nodev|msize=65536");
    run_done(&t);
    return 0;
}

TEST(nine_p_msize_defaults_to_8192)
{
    struct run t;

    ASSERT_EQ(create_sandbox(&t, AGENT_SHARE_9P, 0), 0);
    ASSERT_EQ(t.seen.n_storages, 1);
    ASSERT_STREQ(t.seen.options, "trans=virtio,version=9p2000.L,cache=mmap|nodev|msize=8192");
    run_done(&t);
    return 0;
}

TEST(virtio_fs_storage_has_no_options)
{
    struct run t;

    ASSERT_EQ(create_sandbox(&t, AGENT_SHARE_VIRTIO_FS, 65536), 0);
    ASSERT_EQ(t.seen.n_storages, 1);
    ASSERT_STREQ(t.seen.driver, "virtio-fs");
    ASSERT_STREQ(t.seen.source, "kataShared");
    ASSERT_STREQ(t.seen.fstype, "virtiofs");
    ASSERT_STREQ(t.seen.mount_point, GUEST_SHARED);
    ASSERT_STREQ(t.seen.options, "");
    run_done(&t);
    return 0;
}

TEST(no_share_sends_no_storage)
{
    struct run t;

    ASSERT_EQ(create_sandbox(&t, AGENT_SHARE_NONE, 0), 0);
    ASSERT_EQ(t.seen.calls, 1);
    ASSERT_EQ(t.seen.n_storages, 0);
    run_done(&t);
    return 0;
}

TEST(kernel_modules_become_kernel_module_messages)
{
    /* As runtime_config_check_module() leaves them: one space between words. */
    static const char *const mods[] = {"e1000e InterruptThrottleRate=3000,3000 EEE=1", "i915",
                                       "virtio-balloon"};
    struct run t;

    ASSERT_EQ(create_sandbox_with(&t, AGENT_SHARE_NONE, 0, mods, ELEMENTSOF(mods)), 0);
    ASSERT_EQ(t.seen.calls, 1);
    ASSERT_STREQ(t.seen.modules,
                 "e1000e:InterruptThrottleRate=3000,3000,EEE=1|i915:|virtio-balloon:");
    run_done(&t);
    return 0;
}

TEST(no_kernel_modules_sends_none)
{
    struct run t;

    ASSERT_EQ(create_sandbox(&t, AGENT_SHARE_VIRTIO_FS, 0), 0);
    ASSERT_STREQ(t.seen.modules, "");
    run_done(&t);
    return 0;
}
