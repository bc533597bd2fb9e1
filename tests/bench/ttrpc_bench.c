/* ttRPC benchmark program: our Echo server, and a client that keeps CALLERS
 * Echo calls of SIZE bytes outstanding on one connection for SECONDS.
 *
 *   ttrpc_bench server SOCKET
 *   ttrpc_bench client SOCKET CALLERS SIZE SECONDS
 *
 * The server prints "READY" once it listens and runs until SIGTERM/SIGINT.
 * The client re-issues each call from its completion callback, times every
 * call with CLOCK_MONOTONIC (from just before ttrpc_client_call() to the
 * start of its callback) and prints one line in the format the Go peer's
 * `bench` mode prints, so tests/bench/ttrpc can compare the two:
 *   reqs_per_sec=<float> p50_us=<float> p99_us=<float> */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/wrappers.pb-c.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "tests/support/echo_service.h"

#define SERVICE "kata.testing.Echo"
#define NS_PER_S UINT64_C(1000000000)

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    (void)s;
    (void)si;
    loop_quit(userdata, 0);
}

static int run_server(const char *path)
{
    struct loop *loop = NULL;
    struct ttrpc_server *server = NULL;
    struct echo_service *service = NULL;
    struct loop_source *sigterm = NULL, *sigint = NULL;
    int fd = -1, r;

    /* Signals are blocked and routed to the loop before anything else. */
    r = loop_new(&loop);
    if (r >= 0)
        r = loop_add_signal(loop, SIGTERM, on_signal, loop, &sigterm);
    if (r >= 0)
        r = loop_add_signal(loop, SIGINT, on_signal, loop, &sigint);
    if (r >= 0)
        r = ttrpc_server_new(loop, NULL, &server);
    if (r >= 0)
        r = echo_service_new(loop, server, &service);
    if (r >= 0)
        r = echo_service_listen_unix(path, &fd);
    if (r >= 0)
        r = ttrpc_server_listen_fd(server, fd);
    if (r >= 0) {
        printf("READY\n");
        fflush(stdout);
        r = loop_run(loop);
    } else {
        fprintf(stderr, "ttrpc_bench: server on %s: %s\n", path, strerror(-r));
    }
    echo_service_free(service);
    ttrpc_server_free(server);
    loop_source_free(sigterm);
    loop_source_free(sigint);
    loop_free(loop);
    unlink(path);
    return r < 0 ? 1 : 0;
}

struct bench;

struct caller {
    struct bench *b;
    uint64_t started;
};

struct bench {
    struct loop *loop;
    struct ttrpc_client *client;
    Google__Protobuf__BytesValue req;
    size_t size;
    uint64_t end; /* stop issuing new calls after this */
    unsigned outstanding;
    int error;     /* first failure, as a negative errno */
    uint64_t *lat; /* per-call latency, ns */
    size_t n_lat, cap_lat;
};

static void on_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                     void *userdata);

static int issue(struct caller *c)
{
    struct bench *b = c->b;
    int r;

    c->started = loop_now();
    r = ttrpc_client_call(b->client, SERVICE, "Echo", &b->req.base,
                          &google__protobuf__bytes_value__descriptor, NULL, on_reply, c);
    if (r < 0)
        return r;
    b->outstanding++;
    return 0;
}

static void finish_one(struct bench *b, int error)
{
    if (error < 0 && b->error == 0)
        b->error = error;
    if (--b->outstanding == 0)
        loop_quit(b->loop, 0);
}

static void on_reply(const struct ttrpc_status *status, const ProtobufCMessage *response,
                     void *userdata)
{
    struct caller *c = userdata;
    struct bench *b = c->b;
    uint64_t now = loop_now();
    const Google__Protobuf__BytesValue *v = (const Google__Protobuf__BytesValue *)response;
    int r;

    if (status->code != TTRPC_OK) {
        fprintf(stderr, "ttrpc_bench: Echo failed: %s: %s\n", ttrpc_code_name(status->code),
                status->message);
        finish_one(b, -EPROTO);
        return;
    }
    if (!v || v->value.len != b->size) {
        fprintf(stderr, "ttrpc_bench: Echo returned %zu bytes, want %zu\n", v ? v->value.len : 0,
                b->size);
        finish_one(b, -EBADMSG);
        return;
    }
    if (b->n_lat == b->cap_lat) {
        b->cap_lat = b->cap_lat ? b->cap_lat * 2 : 65536;
        b->lat = xrealloc(b->lat, b->cap_lat * sizeof(*b->lat));
    }
    b->lat[b->n_lat++] = now - c->started;

    b->outstanding--;
    if (b->error == 0 && now < b->end) {
        r = issue(c);
        if (r < 0 && b->error == 0)
            b->error = r;
    }
    if (b->outstanding == 0)
        loop_quit(b->loop, 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    return (double)sorted[(size_t)(q * (double)(n - 1))] / 1000.0;
}

static int run_client(const char *path, unsigned callers, size_t size, double seconds)
{
    struct bench b = {0};
    _cleanup_free_ uint8_t *payload = xmalloc(size + 1);
    _cleanup_free_ struct caller *cs = xnew(struct caller, callers);
    uint64_t begin, elapsed;
    int fd = -1, r;

    memset(payload, 'x', size);
    b.req = (Google__Protobuf__BytesValue)GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    b.req.value.data = payload;
    b.req.value.len = size;
    b.size = size;

    r = loop_new(&b.loop);
    if (r >= 0)
        r = echo_service_connect_unix(path, &fd);
    if (r >= 0)
        r = ttrpc_client_new(b.loop, fd, NULL, &b.client);
    if (r < 0) {
        fprintf(stderr, "ttrpc_bench: connect %s: %s\n", path, strerror(-r));
        loop_free(b.loop);
        return 1;
    }

    begin = loop_now();
    b.end = begin + (uint64_t)(seconds * (double)NS_PER_S);
    for (unsigned i = 0; i < callers && r >= 0; i++) {
        cs[i].b = &b;
        r = issue(&cs[i]);
    }
    if (r < 0)
        b.error = r;
    if (b.outstanding > 0)
        loop_run(b.loop);
    elapsed = loop_now() - begin;

    b.client = ttrpc_client_free(b.client);
    b.loop = loop_free(b.loop);
    if (b.error < 0) {
        fprintf(stderr, "ttrpc_bench: %s\n", strerror(-b.error));
        free(b.lat);
        return 1;
    }
    qsort(b.lat, b.n_lat, sizeof(*b.lat), cmp_u64);
    printf("reqs_per_sec=%.1f p50_us=%.1f p99_us=%.1f\n",
           (double)b.n_lat * (double)NS_PER_S / (double)elapsed,
           percentile_us(b.lat, b.n_lat, 0.50), percentile_us(b.lat, b.n_lat, 0.99));
    free(b.lat);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: ttrpc_bench server SOCKET\n"
                    "       ttrpc_bench client SOCKET CALLERS SIZE SECONDS\n");
    return 2;
}

int main(int argc, char **argv)
{
    /* A server that vanishes must show up as an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && strcmp(argv[1], "server") == 0)
        return run_server(argv[2]);
    if (argc == 6 && strcmp(argv[1], "client") == 0) {
        char *end1, *end2, *end3;
        long callers = strtol(argv[3], &end1, 10);
        long size = strtol(argv[4], &end2, 10);
        double seconds = strtod(argv[5], &end3);

        if (*end1 || *end2 || *end3 || callers < 1 || callers > 1024 || size < 0 ||
            size > 4 * 1024 * 1024 - 64 || !(seconds > 0))
            return usage();
        return run_client(argv[2], (unsigned)callers, (size_t)size, seconds);
    }
    return usage();
}
