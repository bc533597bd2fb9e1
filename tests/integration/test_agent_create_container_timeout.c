/* [runtime] create_container_timeout is CreateContainer's deadline, as in
 * Kata (shim/agent_client.h agent_client_set_create_timeout()): against a
 * real ttRPC server that answers Health.Check but holds CreateContainer,
 * the call fails with a deadline error once the configured second has
 * passed, instead of waiting the 60 s of other calls; a server that does
 * answer is unaffected. No timing is asserted: the hold is only ended by
 * the client's own deadline (the loop is bounded at 30 s, well under 60). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "shim/agent_client.h"
#include "shim/agent_spec.h"
#include "tests/harness/harness.h"

#define SEC UINT64_C(1000000000)

static const char spec_json[] = "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],"
                                "\"cwd\":\"/\"},\"root\":{\"path\":\"rootfs\"},\"linux\":{}}";

struct run {
    struct loop *loop;
    struct workpool *pool;
    struct ttrpc_server *server;
    struct agent_client *ac;
    struct ttrpc_call *held; /* the CreateContainer left unanswered */
    bool hold;
    uint64_t timeout_ns;
    unsigned creates;
    int code; /* the reply's, 1 until it came */
    bool done;
};

static void handle(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    struct run *t = ud;
    const char *m = ttrpc_call_method(call);
    (void)request;

    if (strcmp(m, "Check") == 0) {
        Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        ttrpc_call_reply(call, &resp.base);
        return;
    }
    if (strcmp(m, "CreateContainer") == 0) {
        t->creates++;
        if (t->hold) {
            t->held = call;
            return;
        }
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

    if (r->code < 0)
        printf("#   CreateContainer: %s (%d)\n", r->msg, r->code);
    t->code = r->code;
    t->done = true;
}

static void ready(struct agent_client *ac, int code, const char *msg, void *ud)
{
    struct run *t = ud;
    struct agent_spec *spec = NULL;
    struct err e = ERR_INIT;
    int r;

    if (code < 0) {
        printf("#   agent not ready: %s\n", msg);
        t->code = code;
        t->done = true;
        return;
    }
    if ((r = agent_spec_parse(spec_json, sizeof(spec_json) - 1, "c1", "/r", &spec, &e)) < 0) {
        printf("#   spec: %s\n", err_msg(&e));
        t->code = r;
        t->done = true;
        return;
    }
    agent_client_set_create_timeout(ac, t->timeout_ns);
    if ((r = agent_create_container(ac, "c1", spec, created, t, NULL)) < 0) {
        t->code = r;
        t->done = true;
    }
}

static void lost(struct agent_client *ac, void *ud)
{
    (void)ac;
    (void)ud;
}

static int create_with(struct run *t, bool hold, uint64_t timeout_ns)
{
    char path[PATH_MAX], uri[PATH_MAX + 16];
    int fd, r;

    memset(t, 0, sizeof(*t));
    t->hold = hold;
    t->timeout_ns = timeout_ns;
    t->code = 1;
    snprintf(path, sizeof(path), "%s/agent-%d.sock", test_tmpdir(), (int)hold);
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
    for (int i = 0; i < 300 && !t->done; i++)
        loop_run_once(t->loop, 100);
    if (t->held) {
        ttrpc_call_fail(t->held, TTRPC_CANCELLED, "test over");
        t->held = NULL;
        loop_run_once(t->loop, 0);
    }
    unlink(path);
    return t->done ? t->code : -EINPROGRESS;
}

static void run_done(struct run *t)
{
    agent_client_free(t->ac);
    workpool_free(t->pool);
    ttrpc_server_free(t->server);
    loop_free(t->loop);
}

TEST(held_create_fails_at_the_configured_deadline)
{
    _cleanup_(run_done) struct run t;
    int r = create_with(&t, true, 1 * SEC);
    ASSERT_EQ(t.creates, 1);
    /* the client's deadline ended it, not the bounded loop (-EINPROGRESS) */
    ASSERT_EQ(r, ttrpc_errno_from_code(TTRPC_DEADLINE_EXCEEDED));
    return 0;
}

TEST(answered_create_succeeds)
{
    _cleanup_(run_done) struct run t;
    ASSERT_EQ(create_with(&t, false, 1 * SEC), 0);
    ASSERT_EQ(t.creates, 1);
    return 0;
}
