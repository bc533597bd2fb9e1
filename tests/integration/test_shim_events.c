/* shim/events.c against a fake containerd Events service on our own ttRPC
 * server (same process, same loop): order, topics, namespace, timestamps,
 * retries while containerd is away, and the publish-binary fallback. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/events.h"
#include "shim/shim.h"
#include "tests/harness/harness.h"

#define MAX_SEEN 32

struct sink {
    char topics[MAX_SEEN][32];
    char ns[MAX_SEEN][32];
    char type_urls[MAX_SEEN][64];
    int64_t ts[MAX_SEEN];
    uint32_t exit_status;
    unsigned n;
};

static void handle_forward(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *req =
        (const Containerd__Services__Events__Ttrpc__V1__ForwardRequest *)request;
    Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
    const Containerd__Services__Events__Ttrpc__V1__Envelope *env = req->envelope;
    struct sink *s = ud;

    if (!env || !env->namespace_[0] || env->topic[0] != '/') {
        ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "bad envelope");
        return;
    }
    if (s->n < MAX_SEEN) {
        snprintf(s->topics[s->n], 32, "%s", env->topic);
        snprintf(s->ns[s->n], 32, "%s", env->namespace_);
        snprintf(s->type_urls[s->n], 64, "%s", env->event ? env->event->type_url : "");
        s->ts[s->n] = env->timestamp ? env->timestamp->seconds : 0;
        if (strcmp(env->topic, "/tasks/exit") == 0 && env->event) {
            Containerd__Events__TaskExit *ex = containerd__events__task_exit__unpack(
                NULL, env->event->value.len, env->event->value.data);
            if (ex) {
                s->exit_status = ex->exit_status;
                containerd__events__task_exit__free_unpacked(ex, NULL);
            }
        }
        s->n++;
    }
    ttrpc_call_reply(call, &empty.base);
}

struct rig {
    struct shim shim;
    struct ttrpc_server *server;
    struct sink sink;
    char sock[PATH_MAX];
};

static int rig_init(struct rig *r, const char *name)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->sock, sizeof(r->sock), "%s/%s.ttrpc", test_tmpdir(), name);
    r->shim.namespace_ = "evtest";
    r->shim.ttrpc_address = r->sock;
    if (loop_new(&r->shim.loop) < 0 || workpool_new(r->shim.loop, 2, 16, &r->shim.pool) < 0)
        return -ENOMEM;
    return events_new(&r->shim, &r->shim.events);
}

static int rig_serve(struct rig *r)
{
    static const ttrpc_handler_fn handlers[] = {handle_forward};
    char uri[PATH_MAX + 8];
    int fd, rc;

    snprintf(uri, sizeof(uri), "unix://%s", r->sock);
    fd = transport_listen(uri, NULL);
    if (fd < 0)
        return fd;
    rc = ttrpc_server_new(r->shim.loop, NULL, &r->server);
    if (rc >= 0)
        rc = ttrpc_server_register(
            r->server, &containerd__services__events__ttrpc__v1__events__descriptor, handlers,
            &r->sink);
    return rc < 0 ? rc : ttrpc_server_listen_fd(r->server, fd);
}

static void rig_done(struct rig *r)
{
    r->shim.events = events_free(r->shim.events);
    r->server = ttrpc_server_free(r->server);
    r->shim.pool = workpool_free(r->shim.pool);
    r->shim.loop = loop_free(r->shim.loop);
    unlink(r->sock);
}

static void run_until(struct rig *r, unsigned n, int timeout_ms)
{
    uint64_t end = loop_now() + (uint64_t)timeout_ms * 1000000;

    while ((r->sink.n < n || events_pending(r->shim.events)) && loop_now() < end)
        loop_run_once(r->shim.loop, 50);
}

TEST(events_in_order_with_topics_and_namespace)
{
    static const enum events_kind kinds[] = {
        EVENTS_TASK_CREATE, EVENTS_TASK_START, EVENTS_TASK_EXEC_ADDED,
        EVENTS_TASK_EXEC_STARTED, EVENTS_TASK_PAUSED, EVENTS_TASK_RESUMED,
        EVENTS_TASK_OOM, EVENTS_TASK_EXIT, EVENTS_TASK_DELETE};
    static const char *const topics[] = {
        "/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
        "/tasks/paused", "/tasks/resumed", "/tasks/oom", "/tasks/exit", "/tasks/delete"};
    struct rig r;
    struct events_task t = {.container_id = "c1", .exec_id = "e1", .pid = 42,
                            .exit_status = 3};

    ASSERT_OK(rig_init(&r, "order"));
    ASSERT_OK(rig_serve(&r));
    clock_gettime(CLOCK_REALTIME, &t.at);
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++)
        ASSERT_OK(events_publish(r.shim.events, kinds[i], &t));
    run_until(&r, ELEMENTSOF(kinds), 5000);
    ASSERT_EQ(r.sink.n, ELEMENTSOF(kinds));
    for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
        ASSERT_STREQ(r.sink.topics[i], topics[i]);
        ASSERT_STREQ(events_topic(kinds[i]), topics[i]);
        ASSERT_STREQ(r.sink.ns[i], "evtest");
        ASSERT_TRUE(strncmp(r.sink.type_urls[i], "containerd.events.Task", 22) == 0);
        ASSERT_GT(r.sink.ts[i], time(NULL) - 60);
    }
    ASSERT_STREQ(r.sink.type_urls[7], "containerd.events.TaskExit");
    ASSERT_EQ(r.sink.exit_status, 3);
    ASSERT_EQ(events_pending(r.shim.events), 0);
    rig_done(&r);
    return 0;
}

TEST(events_retry_until_containerd_listens)
{
    struct rig r;
    struct events_task t = {.container_id = "c2"};
    uint64_t t0;

    ASSERT_OK(rig_init(&r, "retry"));
    ASSERT_OK(events_publish(r.shim.events, EVENTS_TASK_START, &t));
    ASSERT_OK(events_publish(r.shim.events, EVENTS_TASK_EXIT, &t));
    /* Nobody listens: the first attempt fails and backs off. */
    t0 = loop_now();
    while (loop_now() - t0 < 300 * 1000000ull)
        loop_run_once(r.shim.loop, 50);
    ASSERT_EQ(r.sink.n, 0);
    ASSERT_EQ(events_pending(r.shim.events), 2);
    ASSERT_OK(rig_serve(&r));
    run_until(&r, 2, 5000);
    ASSERT_EQ(r.sink.n, 2);
    ASSERT_STREQ(r.sink.topics[0], "/tasks/start");
    ASSERT_STREQ(r.sink.topics[1], "/tasks/exit");
    rig_done(&r);
    return 0;
}

TEST(events_publish_binary_fallback)
{
    struct rig r;
    struct events_task t = {.container_id = "c3"};
    char script[PATH_MAX], out[PATH_MAX + 8], line[512] = "";
    FILE *f;
    uint64_t end;

    snprintf(script, sizeof(script), "%s/fake-containerd", test_tmpdir());
    snprintf(out, sizeof(out), "%s.out", script);
    f = fopen(script, "we");
    ASSERT_TRUE(f != NULL);
    fprintf(f, "#!/bin/sh\necho \"$*\" > %s.tmp\ncat >> %s.tmp\nmv %s.tmp %s\n", out, out, out,
            out);
    fclose(f);
    ASSERT_OK(chmod(script, 0755));
    ASSERT_OK(rig_init(&r, "binary"));
    r.shim.ttrpc_address = NULL; /* containerd 1.6 always sets it; force the fallback */
    r.shim.publish_binary = script;
    r.shim.grpc_address = "/run/fake.sock";
    ASSERT_OK(events_publish(r.shim.events, EVENTS_TASK_OOM, &t));
    end = loop_now() + 5000 * 1000000ull;
    while (events_pending(r.shim.events) && loop_now() < end)
        loop_run_once(r.shim.loop, 50);
    ASSERT_EQ(events_pending(r.shim.events), 0);
    f = fopen(out, "re");
    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(fgets(line, sizeof(line), f) != NULL);
    fclose(f);
    printf("#   publish binary got: %s", line);
    ASSERT_TRUE(strstr(line, "--address /run/fake.sock publish --topic /tasks/oom "
                             "--namespace evtest") != NULL);
    rig_done(&r);
    return 0;
}
