/* agent/kmod.h: the gate that holds AgentService calls while kernel modules
 * load after serving, with a real ttRPC server and client over a socket
 * pair and a real worker pool. The load is replaced by work that blocks on
 * a pipe, so the test decides when it ends; no module is ever loaded. The
 * gated service is kata.testing.Echo (standing in for grpc.AgentService),
 * the ungated one grpc.Health, as in the agent. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/kmod.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "testing/echo.pb-c.h"
#include "tests/harness/harness.h"

#define ECHO "kata.testing.Echo"
#define HEALTH "grpc.Health"

struct rig {
    struct loop *loop;
    struct agent a; /* only what the gate uses: loop, pool, kmod, stopping */
    struct ttrpc_server *server;
    struct ttrpc_client *client;
    int release[2]; /* the blocked "load" returns once [1] is written */
    unsigned echo_runs;
};

static void echo_handler(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    struct agent *a = userdata;
    struct rig *r = (struct rig *)(void *)((char *)a - offsetof(struct rig, a));
    r->echo_runs++;
    ttrpc_call_reply(call, msg); /* BytesValue in, BytesValue out */
}

static void check_handler(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    (void)msg, (void)userdata;
    Grpc__HealthCheckResponse out = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    out.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_call_reply(call, &out.base);
}

static int rig_setup(struct rig *r)
{
    int sv[2];
    memset(r, 0, sizeof(*r));
    r->release[0] = r->release[1] = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0 ||
        pipe2(r->release, O_CLOEXEC) < 0)
        return -errno;
    if (loop_new(&r->loop) < 0 || workpool_new(r->loop, 2, 8, &r->a.pool) < 0 ||
        ttrpc_server_new(r->loop, NULL, &r->server) < 0)
        return -EIO;
    r->a.loop = r->loop;
    const ProtobufCServiceDescriptor *echo = &kata__testing__echo__descriptor;
    const ProtobufCServiceDescriptor *health = &grpc__health__descriptor;
    ttrpc_handler_fn efns[8] = {0}, hfns[8] = {0};
    if (echo->n_methods > 8 || health->n_methods > 8)
        return -E2BIG;
    efns[protobuf_c_service_descriptor_get_method_by_name(echo, "Echo") - echo->methods] =
        echo_handler;
    hfns[protobuf_c_service_descriptor_get_method_by_name(health, "Check") - health->methods] =
        check_handler;
    kmod_gate_handlers(&r->a, echo, efns);
    if (ttrpc_server_register(r->server, echo, efns, &r->a) < 0 ||
        ttrpc_server_register(r->server, health, hfns, &r->a) < 0 ||
        ttrpc_server_add_connection(r->server, sv[0]) < 0 ||
        ttrpc_client_new(r->loop, sv[1], NULL, &r->client) < 0)
        return -EIO;
    return 0;
}

static void rig_teardown(struct rig *r)
{
    if (r->release[1] >= 0)
        (void)!write(r->release[1], "x", 1);
    r->client = ttrpc_client_free(r->client);
    r->server = ttrpc_server_free(r->server);
    r->a.pool = workpool_free(r->a.pool);
    r->a.kmod = kmod_free(r->a.kmod);
    loop_run_once(r->loop, 0);
    r->loop = loop_free(r->loop);
    for (int i = 0; i < 2; i++)
        if (r->release[i] >= 0)
            close(r->release[i]);
}

/* The stand-in for the module loads: blocks until the test writes. */
static void blocked_load(void *userdata)
{
    struct rig *r = userdata;
    char c;
    while (read(r->release[0], &c, 1) < 0 && errno == EINTR)
        ;
}

struct reply {
    bool done;
    int code;
    char text[64];
};

static void on_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *userdata)
{
    struct reply *rp = userdata;
    rp->done = true;
    rp->code = st->code;
    if (resp) {
        const Google__Protobuf__BytesValue *b = (const Google__Protobuf__BytesValue *)resp;
        size_t n = b->value.len < sizeof(rp->text) - 1 ? b->value.len : sizeof(rp->text) - 1;
        memcpy(rp->text, b->value.data, n);
        rp->text[n] = '\0';
    }
}

static int send_echo(struct rig *r, const char *text, uint64_t timeout_ns, struct reply *rp)
{
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    req.value.data = (uint8_t *)text;
    req.value.len = strlen(text);
    struct ttrpc_call_opts o = {.timeout_ns = timeout_ns};
    return ttrpc_client_call(r->client, ECHO, "Echo", &req.base,
                             &google__protobuf__bytes_value__descriptor, &o, on_reply, rp);
}

static int check(struct rig *r)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    struct err e = ERR_INIT;
    int rc = ttrpc_client_call_sync(r->client, HEALTH, "Check", &req.base,
                                    &grpc__health_check_response__descriptor, NULL, &resp, NULL,
                                    &e);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static int run_until(struct rig *r, const bool *flag)
{
    for (int i = 0; i < 1000 && !*flag; i++)
        if (loop_run_once(r->loop, 10000) < 0)
            return -EIO;
    return *flag ? 0 : -ETIMEDOUT;
}

TEST(without_a_load_calls_go_through)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r));
    ASSERT_TRUE(!kmod_loading(&r.a));
    struct reply rp = {0};
    ASSERT_OK(send_echo(&r, "at once", 0, &rp));
    ASSERT_OK(run_until(&r, &rp.done));
    ASSERT_EQ(rp.code, TTRPC_OK);
    ASSERT_STREQ(rp.text, "at once");
    rig_teardown(&r);
    return 0;
}

/* Calls are held while the load runs, Health is not; they run in arrival
 * order once it ends. Check goes after the Echo calls on the same
 * connection, so its answer proves they reached the gate. */
TEST(calls_wait_for_the_load_health_does_not)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r));
    ASSERT_OK(kmod_start_work(&r.a, blocked_load, &r));
    ASSERT_TRUE(kmod_loading(&r.a));
    ASSERT_EQ(kmod_start_work(&r.a, blocked_load, &r), -EBUSY);
    struct reply first = {0}, second = {0};
    ASSERT_OK(send_echo(&r, "first", 0, &first));
    ASSERT_OK(send_echo(&r, "second", 0, &second));
    ASSERT_OK(check(&r));
    ASSERT_TRUE(!first.done && !second.done);
    ASSERT_EQ(r.echo_runs, 0);
    ASSERT_EQ(write(r.release[1], "x", 1), 1);
    ASSERT_OK(run_until(&r, &second.done));
    ASSERT_TRUE(first.done);
    ASSERT_EQ(first.code, TTRPC_OK);
    ASSERT_STREQ(first.text, "first");
    ASSERT_EQ(second.code, TTRPC_OK);
    ASSERT_STREQ(second.text, "second");
    ASSERT_EQ(r.echo_runs, 2);
    ASSERT_TRUE(!kmod_loading(&r.a));
    /* Later calls are not held. */
    struct reply third = {0};
    ASSERT_OK(send_echo(&r, "third", 0, &third));
    ASSERT_OK(run_until(&r, &third.done));
    ASSERT_STREQ(third.text, "third");
    rig_teardown(&r);
    return 0;
}

/* A held call whose deadline passes is answered DEADLINE_EXCEEDED and never
 * reaches its handler; a held call still runs when the load ends. */
TEST(a_held_call_can_expire)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r));
    ASSERT_OK(kmod_start_work(&r.a, blocked_load, &r));
    struct reply expiring = {0}, patient = {0};
    ASSERT_OK(send_echo(&r, "expiring", 50 * 1000000ull, &expiring));
    ASSERT_OK(send_echo(&r, "patient", 0, &patient));
    ASSERT_OK(run_until(&r, &expiring.done));
    ASSERT_EQ(expiring.code, TTRPC_DEADLINE_EXCEEDED);
    ASSERT_TRUE(!patient.done);
    ASSERT_EQ(write(r.release[1], "x", 1), 1);
    ASSERT_OK(run_until(&r, &patient.done));
    ASSERT_EQ(patient.code, TTRPC_OK);
    ASSERT_EQ(r.echo_runs, 1);
    rig_teardown(&r);
    return 0;
}

/* The host goes away while calls are held: nothing leaks, and the load's
 * end finds nobody waiting (ASan/LSan builds check the first part). */
TEST(host_gone_while_calls_are_held)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r));
    ASSERT_OK(kmod_start_work(&r.a, blocked_load, &r));
    struct reply rp = {0};
    ASSERT_OK(send_echo(&r, "orphan", 0, &rp));
    ASSERT_OK(check(&r));
    r.client = ttrpc_client_free(r.client);
    ASSERT_TRUE(rp.done); /* the client fails its own pending calls */
    /* The server sees the hang-up and cancels the held call. */
    for (int i = 0; i < 1000 && ttrpc_server_connection_count(r.server) > 0; i++)
        ASSERT_OK(loop_run_once(r.loop, 10000));
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    ASSERT_EQ(write(r.release[1], "x", 1), 1);
    for (int i = 0; i < 1000 && kmod_loading(&r.a); i++)
        ASSERT_OK(loop_run_once(r.loop, 10000));
    ASSERT_TRUE(!kmod_loading(&r.a));
    ASSERT_EQ(r.echo_runs, 0);
    rig_teardown(&r);
    return 0;
}
