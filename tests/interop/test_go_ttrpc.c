/* Our C ttRPC client and server against the upstream Go implementation
 * (github.com/containerd/ttrpc 1.1.1, the one containerd 1.6 uses), through
 * the test service kata.testing.Echo.
 *
 * c_client_go_server_*: the Go peer serves on a socket in the test's scratch
 * directory and our client calls it. go_client_c_server_*: our server runs
 * on a loop in a thread of this process and the Go peer runs one client
 * scenario against it, printing each check (relayed as "#   go: ..." lines)
 * and exiting non-zero if any failed. Every test skips when the peer binary
 * (built by tests/interop/interop.mk when Go is installed) is absent. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "testing/echo.pb-c.h"
#include "tests/harness/harness.h"
#include "tests/interop/child.h"
#include "tests/support/echo_service.h"

#ifndef TTRPCPEER_PATH
#define TTRPCPEER_PATH "build/tests/interop/ttrpcpeer"
#endif

#define SERVICE "kata.testing.Echo"
#define MS UINT64_C(1000000)

static const char *peer_path(void)
{
    const char *p = getenv("TTRPCPEER");
    return p && *p ? p : TTRPCPEER_PATH;
}

static bool have_peer(void)
{
    return access(peer_path(), X_OK) == 0;
}

static char *sock_path(const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s.sock", test_tmpdir(), name) < 0)
        abort();
    return p;
}

/* ---- the Go peer as a server ---- */

struct go_server {
    struct child child;
    char *sock;
};

static void go_server_stop(struct go_server *g)
{
    child_stop(&g->child, 5000);
    if (g->sock) {
        /* The peer unlinks its socket on SIGTERM; this covers SIGKILL. */
        unlink(g->sock);
        free(g->sock);
        g->sock = NULL;
    }
}
#define _cleanup_go_server_ _cleanup_(go_server_stop)

/* Starts `ttrpcpeer server SOCK` and waits (up to 20 s) for its READY line,
 * printed once the socket listens. */
static int go_server_start(struct go_server *g, const char *name)
{
    _cleanup_close_ int rd = -1, wr = -1;
    int fds[2], r;
    char buf[16];
    ssize_t n;

    g->sock = sock_path(name);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    rd = fds[0];
    wr = fds[1];
    char *argv[] = {(char *)peer_path(), (char *)"server", g->sock, NULL};
    r = child_spawn(argv, wr, -1, &g->child);
    if (r < 0)
        return r;
    wr = fd_close(wr);
    struct pollfd p = {.fd = rd, .events = POLLIN};
    r = poll(&p, 1, 20000);
    if (r <= 0)
        return r < 0 ? -errno : -ETIMEDOUT;
    n = read(rd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return -EPIPE;
    buf[n] = '\0';
    return strncmp(buf, "READY", 5) == 0 ? 0 : -EPROTO;
}

/* ---- our client ---- */

struct cclient {
    struct loop *loop;
    struct ttrpc_client *client;
};

static void cclient_done(struct cclient *c)
{
    c->client = ttrpc_client_free(c->client);
    c->loop = loop_free(c->loop);
}
#define _cleanup_cclient_ _cleanup_(cclient_done)

static int cclient_connect(struct cclient *c, const char *sock)
{
    int fd = -1, r;

    r = loop_new(&c->loop);
    if (r < 0)
        return r;
    r = echo_service_connect_unix(sock, &fd);
    if (r < 0)
        return r;
    return ttrpc_client_new(c->loop, fd, NULL, &c->client);
}

static void set_timed_out(struct loop_source *s, void *userdata)
{
    (void)s;
    *(bool *)userdata = true;
}

/* Runs the loop until cond(arg) holds; -ETIMEDOUT after timeout_ms. */
static int run_until(struct loop *l, bool (*cond)(const void *), const void *arg, int timeout_ms)
{
    struct loop_source *timer = NULL;
    bool timed_out = false;
    int r;

    r = loop_add_timer(l, loop_now() + (uint64_t)timeout_ms * MS, set_timed_out, &timed_out,
                       &timer);
    if (r < 0)
        return r;
    while (!cond(arg) && !timed_out && r >= 0)
        r = loop_run_once(l, -1);
    loop_source_free(timer);
    if (r < 0)
        return r;
    return cond(arg) ? 0 : -ETIMEDOUT;
}

/* Echo through call_sync; returns 0 when the reply equals the payload. */
static int sync_echo(struct cclient *c, const uint8_t *data, size_t len)
{
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    ProtobufCMessage *resp = NULL;
    struct ttrpc_call_opts opts = {.timeout_ns = 10000 * MS};
    struct err e = ERR_INIT;
    int code = -1, r;

    req.value.data = (uint8_t *)data;
    req.value.len = len;
    r = ttrpc_client_call_sync(c->client, SERVICE, "Echo", &req.base,
                               &google__protobuf__bytes_value__descriptor, &opts, &resp, &code, &e);
    if (r < 0) {
        printf("#   Echo(%zu bytes): %d %s\n", len, r, err_msg(&e));
        return r;
    }
    const Google__Protobuf__BytesValue *v = (const Google__Protobuf__BytesValue *)resp;
    r = (v->value.len == len && (len == 0 || memcmp(v->value.data, data, len) == 0)) ? 0 : -EBADMSG;
    if (r < 0)
        printf("#   Echo(%zu bytes): reply of %zu bytes differs\n", len, v->value.len);
    protobuf_c_message_free_unpacked(resp, NULL);
    return r;
}

/* Calls a method whose reply is Empty; returns the gRPC code. */
static int sync_empty_call(struct cclient *c, const char *service, const char *method,
                           const ProtobufCMessage *req, uint64_t timeout_ns, struct err *e)
{
    ProtobufCMessage *resp = NULL;
    struct ttrpc_call_opts opts = {.timeout_ns = timeout_ns};
    int code = -1, r;

    r = ttrpc_client_call_sync(c->client, service, method, req,
                               &google__protobuf__empty__descriptor, &opts, &resp, &code, e);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (r >= 0)
        return TTRPC_OK;
    return code;
}

/* ---- C client -> Go server ---- */

TEST(c_client_go_server_unary)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};
    static const size_t sizes[] = {0, 1, 100, 65536, 1024 * 1024};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-unary"));
    ASSERT_OK(cclient_connect(&c, g.sock));

    for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
        _cleanup_free_ uint8_t *data = xmalloc(sizes[i] + 1);
        for (size_t j = 0; j < sizes[i]; j++)
            data[j] = (uint8_t)(j * 7 + i);
        ASSERT_OK(sync_echo(&c, data, sizes[i]));
    }
    ASSERT_EQ(ttrpc_client_pending(c.client), 0);
    ASSERT_TRUE(!ttrpc_client_is_closed(c.client));
    return 0;
}

static void never_called(const struct ttrpc_status *status, const ProtobufCMessage *response,
                         void *userdata)
{
    (void)status;
    (void)response;
    (void)userdata;
    /* A refused call must never reach its callback. */
    abort();
}

/* ttRPC's 4 MiB message limit: a request over it is refused locally with
 * -EMSGSIZE (no callback, connection intact); one just under it, and the
 * equally large reply, cross the wire. */
static int check_message_limit(struct cclient *c)
{
    const size_t limit = 4 << 20, near = limit - 1024;
    _cleanup_free_ uint8_t *data = xmalloc(limit);
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;

    for (size_t i = 0; i < limit; i++)
        data[i] = (uint8_t)(i * 13);
    req.value.data = data;
    req.value.len = limit;
    ASSERT_EQ(ttrpc_client_call(c->client, SERVICE, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL, never_called,
                                NULL),
              -EMSGSIZE);
    ASSERT_EQ(ttrpc_client_pending(c->client), 0);
    ASSERT_OK(sync_echo(c, data, near));
    ASSERT_TRUE(!ttrpc_client_is_closed(c->client));
    return 0;
}

TEST(c_client_go_server_message_limit)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-limit"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    return check_message_limit(&c);
}

struct echo_caller {
    char payload[64];
    size_t len;
    int *done;
    int *bad;
};

static void echo_caller_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                              void *userdata)
{
    struct echo_caller *ec = userdata;
    const Google__Protobuf__BytesValue *v = (const Google__Protobuf__BytesValue *)response;

    if (status->code != TTRPC_OK || !v || v->value.len != ec->len ||
        memcmp(v->value.data, ec->payload, ec->len) != 0) {
        printf("#   caller \"%s\": code %d %s\n", ec->payload, status->code, status->message);
        (*ec->bad)++;
    }
    (*ec->done)++;
}

static bool hundred_done(const void *arg)
{
    return *(const int *)arg == 100;
}

struct sleep_result {
    bool done;
    int code;
};

static void sleep_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                        void *userdata)
{
    struct sleep_result *sr = userdata;
    (void)response;
    sr->done = true;
    sr->code = status->code;
}

/* 100 Echo calls in flight at once on one connection, each checked against
 * its own payload, while a long Sleep on the same connection stays pending:
 * a slow call must not hold back the others. */
static int run_concurrent100(struct cclient *c)
{
    enum { N = 100 };
    _cleanup_free_ struct echo_caller *callers = xnew(struct echo_caller, N);
    struct sleep_result sr = {false, -1};
    Google__Protobuf__Int64Value sleep_req = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    int done = 0, bad = 0;

    sleep_req.value = 60000;
    ASSERT_OK(ttrpc_client_call(c->client, SERVICE, "Sleep", &sleep_req.base,
                                &google__protobuf__empty__descriptor, NULL, sleep_reply, &sr));
    for (int i = 0; i < N; i++) {
        Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
        struct echo_caller *ec = &callers[i];

        ec->len = (size_t)snprintf(ec->payload, sizeof(ec->payload), "caller-%03d-%.*s", i, i % 40,
                                   "0123456789012345678901234567890123456789");
        ec->done = &done;
        ec->bad = &bad;
        req.value.data = (uint8_t *)ec->payload;
        req.value.len = ec->len;
        ASSERT_OK(ttrpc_client_call(c->client, SERVICE, "Echo", &req.base,
                                    &google__protobuf__bytes_value__descriptor, NULL,
                                    echo_caller_reply, ec));
    }
    /* Callbacks never run from inside ttrpc_client_call(). */
    ASSERT_EQ(done, 0);
    ASSERT_EQ(ttrpc_client_pending(c->client), N + 1);

    ASSERT_OK(run_until(c->loop, hundred_done, &done, 20000));
    ASSERT_EQ(done, N);
    ASSERT_EQ(bad, 0);
    /* The Sleep is still pending; freeing the client cancels it. */
    ASSERT_TRUE(!sr.done);
    ASSERT_EQ(ttrpc_client_pending(c->client), 1);
    c->client = ttrpc_client_free(c->client);
    ASSERT_TRUE(sr.done);
    ASSERT_EQ(sr.code, TTRPC_CANCELLED);
    return 0;
}

TEST(c_client_go_server_concurrent100)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-concurrent"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    return run_concurrent100(&c);
}

TEST(c_client_go_server_deadline)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};
    Google__Protobuf__Int64Value req = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    struct err e = ERR_INIT;
    uint64_t t0, elapsed;

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-deadline"));
    ASSERT_OK(cclient_connect(&c, g.sock));

    req.value = 2000;
    t0 = loop_now();
    ASSERT_EQ(sync_empty_call(&c, SERVICE, "Sleep", &req.base, 200 * MS, &e),
              TTRPC_DEADLINE_EXCEEDED);
    elapsed = loop_now() - t0;
    printf("#   Sleep(2000ms) with a 200ms deadline: %s after %" PRIu64 " ms\n", err_msg(&e),
           elapsed / MS);
    ASSERT_LT(elapsed, 1500 * MS);
    /* The peer's late answer, if any, must not confuse the connection. */
    const uint8_t after[] = "after";
    ASSERT_OK(sync_echo(&c, after, sizeof(after)));
    /* A deadline longer than the sleep lets it finish normally. */
    req.value = 50;
    err_clear(&e);
    ASSERT_EQ(sync_empty_call(&c, SERVICE, "Sleep", &req.base, 5000 * MS, &e), TTRPC_OK);
    return 0;
}

static int metadata_call(struct cclient *c, const struct ttrpc_kv *kv, size_t n, char **ret)
{
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    ProtobufCMessage *resp = NULL;
    struct ttrpc_call_opts opts = {.timeout_ns = 10000 * MS, .metadata = kv, .n_metadata = n};
    struct err e = ERR_INIT;
    int r;

    r = ttrpc_client_call_sync(c->client, SERVICE, "Metadata", &req.base,
                               &google__protobuf__string_value__descriptor, &opts, &resp, NULL, &e);
    if (r < 0) {
        printf("#   Metadata: %s\n", err_msg(&e));
        return r;
    }
    *ret = xstrdup(((Google__Protobuf__StringValue *)resp)->value);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

static int check_metadata(struct cclient *c)
{
    static const struct ttrpc_kv kv[] = {
        {"zeta", "last"}, {"alpha", "1"}, {"multi", "b"}, {"x-peer", "c"}, {"multi", "a"},
    };
    _cleanup_free_ char *got = NULL, *none = NULL;

    ASSERT_OK(metadata_call(c, kv, ELEMENTSOF(kv), &got));
    ASSERT_STREQ(got, "alpha=1\nmulti=a\nmulti=b\nx-peer=c\nzeta=last\n");
    ASSERT_OK(metadata_call(c, NULL, 0, &none));
    ASSERT_STREQ(none, "");
    return 0;
}

TEST(c_client_go_server_metadata)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-metadata"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    return check_metadata(&c);
}

struct status_copy {
    bool done;
    int code;
    char message[256];
};

static void copy_status(const struct ttrpc_status *status, const ProtobufCMessage *response,
                        void *userdata)
{
    struct status_copy *sc = userdata;
    (void)response;
    sc->done = true;
    sc->code = status->code;
    snprintf(sc->message, sizeof(sc->message), "%s", status->message);
}

static bool status_done(const void *arg)
{
    return ((const struct status_copy *)arg)->done;
}

/* One call through the asynchronous API, to see the raw status. */
static int async_call_status(struct cclient *c, const char *service, const char *method,
                             const ProtobufCMessage *req, struct status_copy *sc)
{
    int r;

    r = ttrpc_client_call(c->client, service, method, req, &google__protobuf__empty__descriptor,
                          NULL, copy_status, sc);
    if (r < 0)
        return r;
    return run_until(c->loop, status_done, sc, 10000);
}

static int check_errors(struct cclient *c)
{
    static const int codes[] = {5, 6, 3, 9};

    for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
        Google__Protobuf__Int32Value req = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
        struct status_copy sc = {false, -1, ""};
        struct err e = ERR_INIT;
        char want[64], want_e[128];

        req.value = codes[i];
        snprintf(want, sizeof(want), "failing with code %d", codes[i]);
        snprintf(want_e, sizeof(want_e), "%s: %s", ttrpc_code_name(codes[i]), want);

        /* Synchronous: errno mapping, code and the formatted message. */
        ASSERT_EQ(sync_empty_call(c, SERVICE, "Fail", &req.base, 10000 * MS, &e), codes[i]);
        ASSERT_EQ(e.code, ttrpc_errno_from_code(codes[i]));
        ASSERT_STREQ(e.msg, want_e);
        /* Asynchronous: the status exactly as the peer sent it. */
        ASSERT_OK(async_call_status(c, SERVICE, "Fail", &req.base, &sc));
        ASSERT_EQ(sc.code, codes[i]);
        ASSERT_STREQ(sc.message, want);
    }
    const uint8_t still[] = "still here";
    ASSERT_OK(sync_echo(c, still, sizeof(still)));
    return 0;
}

TEST(c_client_go_server_errors)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-errors"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    return check_errors(&c);
}

static int check_unknown(struct cclient *c, bool go_server)
{
    static const struct {
        const char *service, *method, *message;
    } cases[] = {
        {SERVICE, "Nope", "method Nope"},
        {"kata.testing.Nope", "Echo", "service kata.testing.Nope"},
        {SERVICE, "Unserved", "method Unserved"},
    };
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;

    for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
        struct status_copy sc = {false, -1, ""};

        ASSERT_OK(async_call_status(c, cases[i].service, cases[i].method, &req.base, &sc));
        printf("#   %s/%s -> %s \"%s\"\n", cases[i].service, cases[i].method,
               ttrpc_code_name(sc.code), sc.message);
        ASSERT_EQ(sc.code, TTRPC_UNIMPLEMENTED);
        /* The Go server's exact wording; ours only has to name the method. */
        if (go_server)
            ASSERT_STREQ(sc.message, cases[i].message);
        else
            ASSERT_TRUE(strstr(sc.message, strchr(cases[i].message, ' ') + 1) != NULL);
    }
    const uint8_t still[] = "still here";
    ASSERT_OK(sync_echo(c, still, sizeof(still)));
    return 0;
}

TEST(c_client_go_server_unknown_method)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-unknown"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    return check_unknown(&c, true);
}

struct killed_state {
    struct sleep_result sr;
    bool closed;
};

static void on_closed(struct ttrpc_client *client, void *userdata)
{
    struct killed_state *ks = userdata;
    (void)client;
    ks->closed = true;
}

static bool killed_done(const void *arg)
{
    const struct killed_state *ks = arg;
    return ks->sr.done && ks->closed;
}

/* The Go server dies with a call pending: the call fails with UNAVAILABLE,
 * the closed callback runs, and new calls are refused with -EPIPE. */
TEST(c_client_go_server_peer_killed)
{
    _cleanup_go_server_ struct go_server g = {CHILD_INIT, NULL};
    _cleanup_cclient_ struct cclient c = {NULL, NULL};
    Google__Protobuf__Int64Value req = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    struct killed_state ks = {{false, -1}, false};
    struct sleep_result again = {false, -1};

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    ASSERT_OK(go_server_start(&g, "go-killed"));
    ASSERT_OK(cclient_connect(&c, g.sock));
    ttrpc_client_on_closed(c.client, on_closed, &ks);

    /* One round trip first, so the peer surely holds the connection. */
    const uint8_t hi[] = "hi";
    ASSERT_OK(sync_echo(&c, hi, sizeof(hi)));
    req.value = 60000;
    ASSERT_OK(ttrpc_client_call(c.client, SERVICE, "Sleep", &req.base,
                                &google__protobuf__empty__descriptor, NULL, sleep_reply, &ks.sr));
    ASSERT_OK(pidfd_send_signal(g.child.pidfd, SIGKILL, NULL, 0));

    ASSERT_OK(run_until(c.loop, killed_done, &ks, 10000));
    ASSERT_EQ(ks.sr.code, TTRPC_UNAVAILABLE);
    ASSERT_TRUE(ttrpc_client_is_closed(c.client));
    ASSERT_EQ(ttrpc_client_call(c.client, SERVICE, "Sleep", &req.base,
                                &google__protobuf__empty__descriptor, NULL, sleep_reply, &again),
              -EPIPE);
    ASSERT_TRUE(!again.done);
    return 0;
}

/* ---- Go client -> C server ---- */

/* Runs `ttrpcpeer client SOCK scenario` against our server, relaying its
 * report; returns its exit code (0 = every check passed). */
static int run_go_client(const char *scenario)
{
    _cleanup_echo_service_thread_ struct echo_service_thread *srv = NULL;
    _cleanup_child_ struct child child = CHILD_INIT;
    _cleanup_free_ char *sock = NULL;
    _cleanup_close_ int rd = -1, wr = -1;
    char name[64];
    int fds[2], r;

    snprintf(name, sizeof(name), "c-%s", scenario);
    sock = sock_path(name);
    r = echo_service_thread_start(sock, &srv);
    if (r < 0) {
        printf("#   cannot start the C server: %s\n", strerror(-r));
        return -1;
    }
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    rd = fds[0];
    wr = fds[1];
    char *argv[] = {(char *)peer_path(), (char *)"client", sock, (char *)scenario, NULL};
    if (child_spawn(argv, wr, wr, &child) < 0)
        return -1;
    wr = fd_close(wr);
    r = child_relay_output(rd, "go: ", 60000);
    if (r < 0) {
        printf("#   the Go client did not finish: %s\n", strerror(-r));
        return -1;
    }
    if (child_wait(&child, 10000) < 0)
        return -1;
    return child_exit_code(&child);
}

/* Eight Go clients at once, each with 100 calls in flight on its own
 * connection: the server serves many connections, each with many requests.
 * Each client's report goes to a file, printed if it failed. */
TEST(go_client_c_server_8_connections)
{
    enum { N = 8 };
    _cleanup_echo_service_thread_ struct echo_service_thread *srv = NULL;
    _cleanup_free_ char *sock = sock_path("c-many");
    struct child children[N];
    int failed = 0;

    if (!have_peer())
        return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());
    for (int i = 0; i < N; i++)
        children[i] = (struct child)CHILD_INIT;
    ASSERT_OK(echo_service_thread_start(sock, &srv));
    for (int i = 0; i < N; i++) {
        _cleanup_free_ char *out = NULL;
        _cleanup_close_ int fd = -1;
        char *argv[] = {(char *)peer_path(), (char *)"client", sock, (char *)"concurrent100", NULL};

        if (asprintf(&out, "%s/many-%d.txt", test_tmpdir(), i) < 0)
            abort();
        fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || child_spawn(argv, fd, fd, &children[i]) < 0) {
            failed++;
            break;
        }
    }
    for (int i = 0; i < N; i++) {
        _cleanup_free_ char *out = NULL;

        if (children[i].pid <= 0)
            continue;
        if (child_wait(&children[i], 60000) < 0 || child_exit_code(&children[i]) != 0) {
            _cleanup_close_ int fd = -1;

            if (asprintf(&out, "%s/many-%d.txt", test_tmpdir(), i) < 0)
                abort();
            printf("#   client %d failed:\n", i);
            fd = open(out, O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                child_relay_output(fd, "go: ", 1000);
            failed++;
        }
        child_stop(&children[i], 1000);
    }
    ASSERT_EQ(failed, 0);
    return 0;
}

#define GO_CLIENT_TEST(scenario)                                                                   \
    TEST(go_client_c_server_##scenario)                                                            \
    {                                                                                              \
        if (!have_peer())                                                                          \
            return test_skip("Go ttrpc peer %s not built (no Go toolchain?)", peer_path());        \
        ASSERT_EQ(run_go_client(#scenario), 0);                                                    \
        return 0;                                                                                  \
    }

GO_CLIENT_TEST(unary)
GO_CLIENT_TEST(concurrent100)
GO_CLIENT_TEST(deadline)
GO_CLIENT_TEST(metadata)
GO_CLIENT_TEST(errors)
GO_CLIENT_TEST(unknown)

/* ---- C client -> C server, same checks, as a control ---- */

/* The same client checks against our own server; a failure here that the
 * Go peer does not show points at one side rather than at interop. */
TEST(c_client_c_server_checks)
{
    _cleanup_echo_service_thread_ struct echo_service_thread *srv = NULL;
    _cleanup_cclient_ struct cclient c = {NULL, NULL};
    _cleanup_free_ char *sock = sock_path("c-control");

    ASSERT_OK(echo_service_thread_start(sock, &srv));
    ASSERT_OK(cclient_connect(&c, sock));
    ASSERT_EQ(check_metadata(&c), 0);
    ASSERT_EQ(check_errors(&c), 0);
    ASSERT_EQ(check_unknown(&c, false), 0);
    ASSERT_EQ(check_message_limit(&c), 0);
    ASSERT_EQ(run_concurrent100(&c), 0);
    return 0;
}
