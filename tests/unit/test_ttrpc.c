/* lib/ttrpc: framing, client and server against each other over socket
 * pairs, and against hand-made byte streams for the bad cases. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/ttrpc/frame.h"
#include "lib/ttrpc/ttrpc.h"
#include "testing/echo.pb-c.h"
#include "tests/harness/harness.h"
#include "tests/support/echo_service.h"
#include "ttrpc/request.pb-c.h"

#define SVC "kata.testing.Echo"

/* A client and a server joined by a socket pair on one loop. */
struct rig {
    struct loop *loop;
    struct ttrpc_server *server;
    struct echo_service *echo;
    struct ttrpc_client *client;
};

static int rig_setup(struct rig *r, const struct ttrpc_limits *server_limits)
{
    int sv[2];
    memset(r, 0, sizeof(*r));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    if (loop_new(&r->loop) < 0 || ttrpc_server_new(r->loop, server_limits, &r->server) < 0 ||
        echo_service_new(r->loop, r->server, &r->echo) < 0 ||
        ttrpc_server_add_connection(r->server, sv[0]) < 0 ||
        ttrpc_client_new(r->loop, sv[1], NULL, &r->client) < 0)
        return -EIO;
    return 0;
}

static void rig_teardown(struct rig *r)
{
    r->client = ttrpc_client_free(r->client);
    r->echo = echo_service_free(r->echo);
    r->server = ttrpc_server_free(r->server);
    /* Let freed sources be released. */
    loop_run_once(r->loop, 0);
    r->loop = loop_free(r->loop);
}

static int call_echo(struct ttrpc_client *c, const char *text, char **ret, struct err *e)
{
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    req.value.data = (uint8_t *)text;
    req.value.len = strlen(text);
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call_sync(c, SVC, "Echo", &req.base,
                                   &google__protobuf__bytes_value__descriptor, NULL, &resp, NULL, e);
    if (r < 0)
        return r;
    Google__Protobuf__BytesValue *b = (Google__Protobuf__BytesValue *)resp;
    *ret = b->value.len ? strndup((const char *)b->value.data, b->value.len) : strdup("");
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

static int call_code(struct ttrpc_client *c, const char *service, const char *method,
                     const ProtobufCMessage *req, uint64_t timeout_ns, struct err *e)
{
    int code = -1;
    ProtobufCMessage *resp = NULL;
    struct ttrpc_call_opts opts = {.timeout_ns = timeout_ns};
    int r = ttrpc_client_call_sync(c, service, method, req, &google__protobuf__empty__descriptor,
                                   &opts, &resp, &code, e);
    if (r == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    return code;
}

TEST(frame_header_roundtrip)
{
    struct ttrpc_frame_header h = {.length = 0x00123456, .stream_id = 0x89abcdef, .type = 2,
                                   .flags = 1};
    uint8_t buf[TTRPC_HEADER_SIZE];
    ttrpc_frame_header_encode(&h, buf);
    const uint8_t want[] = {0x00, 0x12, 0x34, 0x56, 0x89, 0xab, 0xcd, 0xef, 0x02, 0x01};
    ASSERT_MEMEQ(buf, want, sizeof(want));
    struct ttrpc_frame_header back;
    ttrpc_frame_header_decode(buf, &back);
    ASSERT_EQ(back.length, h.length);
    ASSERT_EQ(back.stream_id, h.stream_id);
    ASSERT_EQ(back.type, 2);
    ASSERT_EQ(back.flags, 1);
    return 0;
}

TEST(frame_reader_byte_by_byte)
{
    /* Two frames fed one byte at a time come out whole and in order. */
    const uint8_t stream[] = {0, 0, 0, 3, 0, 0, 0, 1, 1, 0, 'a', 'b', 'c',
                              0, 0, 0, 0, 0, 0, 0, 3, 1, 0};
    struct ttrpc_frame_reader r;
    ttrpc_frame_reader_init(&r);
    int frames = 0;
    for (size_t i = 0; i < sizeof(stream); i++) {
        ttrpc_frame_reader_push(&r, &stream[i], 1);
        struct ttrpc_frame f;
        while (ttrpc_frame_reader_next(&r, &f) == TTRPC_FRAME_READY) {
            if (frames == 0) {
                ASSERT_EQ(f.header.length, 3);
                ASSERT_EQ(f.header.stream_id, 1);
                ASSERT_MEMEQ(f.data, "abc", 3);
            } else {
                ASSERT_EQ(f.header.length, 0);
                ASSERT_EQ(f.header.stream_id, 3);
            }
            frames++;
        }
    }
    ASSERT_EQ(frames, 2);
    ASSERT_TRUE(!ttrpc_frame_reader_partial(&r));
    ttrpc_frame_reader_done(&r);
    return 0;
}

TEST(frame_reader_skips_oversized_without_buffering)
{
    struct ttrpc_frame_reader r;
    ttrpc_frame_reader_init(&r);
    uint8_t hdr[TTRPC_HEADER_SIZE];
    struct ttrpc_frame_header h = {.length = TTRPC_MAX_MESSAGE + 1, .stream_id = 5, .type = 1};
    ttrpc_frame_header_encode(&h, hdr);
    ttrpc_frame_reader_push(&r, hdr, sizeof(hdr));
    struct ttrpc_frame f;
    ASSERT_EQ(ttrpc_frame_reader_next(&r, &f), TTRPC_FRAME_TOO_LARGE);
    ASSERT_EQ(f.header.stream_id, 5);
    /* Feed the body in chunks; the buffer never holds more than a chunk. */
    static uint8_t chunk[65536];
    size_t left = TTRPC_MAX_MESSAGE + 1;
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        ttrpc_frame_reader_push(&r, chunk, n);
        ASSERT_EQ(ttrpc_frame_reader_next(&r, &f), TTRPC_FRAME_NEED_MORE);
        ASSERT_LE(r.cap, 4 * sizeof(chunk));
        left -= n;
    }
    ASSERT_TRUE(!ttrpc_frame_reader_partial(&r));
    ttrpc_frame_reader_done(&r);
    return 0;
}

TEST(unary_echo)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    struct err e = ERR_INIT;
    char *out = NULL;
    ASSERT_OK(call_echo(r.client, "hello", &out, &e));
    ASSERT_STREQ(out, "hello");
    free(out);
    out = NULL;
    ASSERT_OK(call_echo(r.client, "", &out, &e));
    ASSERT_STREQ(out, "");
    free(out);
    rig_teardown(&r);
    return 0;
}

struct many_state {
    int done, ok;
};

static void many_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct many_state *m = ud;
    m->done++;
    if (st->code == TTRPC_OK && resp &&
        ((const Google__Protobuf__BytesValue *)resp)->value.len == 64)
        m->ok++;
}

TEST(thousand_concurrent_calls_one_connection)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    uint8_t payload[64];
    memset(payload, 'x', sizeof(payload));
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    req.value.data = payload;
    req.value.len = sizeof(payload);
    struct many_state m = {0, 0};
    for (int i = 0; i < 1000; i++)
        ASSERT_OK(ttrpc_client_call(r.client, SVC, "Echo", &req.base,
                                    &google__protobuf__bytes_value__descriptor, NULL, many_reply,
                                    &m));
    ASSERT_EQ(ttrpc_client_pending(r.client), 1000);
    while (m.done < 1000)
        ASSERT_OK(loop_run_once(r.loop, 5000));
    ASSERT_EQ(m.ok, 1000);
    rig_teardown(&r);
    return 0;
}

TEST(metadata_reaches_the_handler)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    const struct ttrpc_kv kv[] = {{"x-b", "2"}, {"x-a", "1"}, {"x-a", "3"}};
    struct ttrpc_call_opts opts = {.metadata = kv, .n_metadata = 3};
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    ProtobufCMessage *resp = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(ttrpc_client_call_sync(r.client, SVC, "Metadata", &req.base,
                                     &google__protobuf__string_value__descriptor, &opts, &resp,
                                     NULL, &e));
    ASSERT_STREQ(((Google__Protobuf__StringValue *)resp)->value, "x-a=1\nx-a=3\nx-b=2\n");
    protobuf_c_message_free_unpacked(resp, NULL);
    rig_teardown(&r);
    return 0;
}

TEST(error_codes_and_messages)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    const int codes[] = {TTRPC_NOT_FOUND, TTRPC_ALREADY_EXISTS, TTRPC_INVALID_ARGUMENT,
                         TTRPC_FAILED_PRECONDITION, TTRPC_INTERNAL};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        Google__Protobuf__Int32Value req = GOOGLE__PROTOBUF__INT32_VALUE__INIT;
        req.value = codes[i];
        struct err e = ERR_INIT;
        ASSERT_EQ(call_code(r.client, SVC, "Fail", &req.base, 0, &e), codes[i]);
        char want[128];
        snprintf(want, sizeof(want), "%s: failing with code %d", ttrpc_code_name(codes[i]),
                 codes[i]);
        ASSERT_STREQ(e.msg, want);
        ASSERT_EQ(e.code, ttrpc_errno_from_code(codes[i]));
    }
    rig_teardown(&r);
    return 0;
}

TEST(unknown_service_method_and_unserved_are_unimplemented)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    struct err e = ERR_INIT;
    ASSERT_EQ(call_code(r.client, "kata.testing.Nope", "Echo", &req.base, 0, &e),
              TTRPC_UNIMPLEMENTED);
    ASSERT_STREQ(e.msg, "UNIMPLEMENTED: service kata.testing.Nope");
    err_clear(&e);
    ASSERT_EQ(call_code(r.client, SVC, "Nope", &req.base, 0, &e), TTRPC_UNIMPLEMENTED);
    ASSERT_STREQ(e.msg, "UNIMPLEMENTED: method Nope");
    err_clear(&e);
    ASSERT_EQ(call_code(r.client, SVC, "Unserved", &req.base, 0, &e), TTRPC_UNIMPLEMENTED);
    ASSERT_STREQ(e.msg, "UNIMPLEMENTED: kata.testing.Echo.Unserved is not implemented");
    rig_teardown(&r);
    return 0;
}

TEST(malformed_payload_is_invalid_argument)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    /* A StringValue whose string field carries bytes that are not valid
     * varint-delimited data for Int64Value (Sleep's input): field 1 as a
     * length-delimited type where a varint is expected. */
    Google__Protobuf__StringValue bad = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
    bad.value = (char *)"not a number";
    struct err e = ERR_INIT;
    ASSERT_EQ(call_code(r.client, SVC, "Sleep", &bad.base, 0, &e), TTRPC_INVALID_ARGUMENT);
    ASSERT_TRUE(strstr(e.msg, "malformed google.protobuf.Int64Value payload") != NULL);
    rig_teardown(&r);
    return 0;
}

TEST(deadline_exceeded_on_both_sides)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    Google__Protobuf__Int64Value req = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    req.value = 5000;
    struct err e = ERR_INIT;
    uint64_t t0 = loop_now();
    ASSERT_EQ(call_code(r.client, SVC, "Sleep", &req.base, 100 * 1000000ull, &e),
              TTRPC_DEADLINE_EXCEEDED);
    ASSERT_LT(loop_now() - t0, 4000 * 1000000ull);
    /* The server saw the deadline too and dropped the held call. */
    for (int i = 0; i < 50 && echo_service_pending_sleeps(r.echo) > 0; i++)
        loop_run_once(r.loop, 20);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 0);
    rig_teardown(&r);
    return 0;
}

struct poll_state {
    int sleep_done, echo_done, echo_done_before_sleep;
};

static void long_poll_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    (void)resp;
    struct poll_state *p = ud;
    if (st->code == TTRPC_OK)
        p->sleep_done++;
}

static void quick_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    (void)resp;
    struct poll_state *p = ud;
    if (st->code == TTRPC_OK) {
        p->echo_done++;
        if (!p->sleep_done)
            p->echo_done_before_sleep++;
    }
}

TEST(long_poll_does_not_stall_other_calls)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    struct poll_state p = {0, 0, 0};
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 500;
    ASSERT_OK(ttrpc_client_call(r.client, SVC, "Sleep", &sleep.base,
                                &google__protobuf__empty__descriptor, NULL, long_poll_reply, &p));
    Google__Protobuf__BytesValue echo = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    for (int i = 0; i < 100; i++)
        ASSERT_OK(ttrpc_client_call(r.client, SVC, "Echo", &echo.base,
                                    &google__protobuf__bytes_value__descriptor, NULL, quick_reply,
                                    &p));
    while (!p.sleep_done)
        ASSERT_OK(loop_run_once(r.loop, 2000));
    ASSERT_EQ(p.echo_done, 100);
    ASSERT_EQ(p.echo_done_before_sleep, 100);
    rig_teardown(&r);
    return 0;
}

TEST(inflight_limit_gives_resource_exhausted)
{
    struct ttrpc_limits server_limits = {.max_inflight = 2};
    struct rig r;
    ASSERT_OK(rig_setup(&r, &server_limits));
    struct poll_state p = {0, 0, 0};
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 300;
    for (int i = 0; i < 2; i++)
        ASSERT_OK(ttrpc_client_call(r.client, SVC, "Sleep", &sleep.base,
                                    &google__protobuf__empty__descriptor, NULL, long_poll_reply,
                                    &p));
    struct err e = ERR_INIT;
    ASSERT_EQ(call_code(r.client, SVC, "Sleep", &sleep.base, 0, &e), TTRPC_RESOURCE_EXHAUSTED);
    ASSERT_TRUE(strstr(e.msg, "limit 2") != NULL);
    while (p.sleep_done < 2)
        ASSERT_OK(loop_run_once(r.loop, 2000));
    rig_teardown(&r);
    return 0;
}

TEST(request_over_4mib_is_refused_locally)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    size_t n = TTRPC_MAX_MESSAGE + 1;
    uint8_t *big = calloc(1, n);
    Google__Protobuf__BytesValue req = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    req.value.data = big;
    req.value.len = n;
    ASSERT_EQ(ttrpc_client_call(r.client, SVC, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL, many_reply, NULL),
              -EMSGSIZE);
    free(big);
    /* A large message under the limit goes through. */
    n = 3u << 20;
    big = malloc(n);
    memset(big, 'z', n);
    req.value.data = big;
    req.value.len = n;
    ProtobufCMessage *resp = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(ttrpc_client_call_sync(r.client, SVC, "Echo", &req.base,
                                     &google__protobuf__bytes_value__descriptor, NULL, &resp,
                                     NULL, &e));
    ASSERT_EQ(((Google__Protobuf__BytesValue *)resp)->value.len, n);
    ASSERT_MEMEQ(((Google__Protobuf__BytesValue *)resp)->value.data, big, n);
    protobuf_c_message_free_unpacked(resp, NULL);
    free(big);
    rig_teardown(&r);
    return 0;
}

/* ---- raw peers: hand-made bytes against our server or client ---- */

/* Writes everything, running the loop while the socket is full so the
 * side under test can drain it. */
static int write_all(struct loop *loop, int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                loop_run_once(loop, 10);
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void raw_frame(uint8_t *hdr, uint32_t len, uint32_t id, uint8_t type)
{
    struct ttrpc_frame_header h = {.length = len, .stream_id = id, .type = type};
    ttrpc_frame_header_encode(&h, hdr);
}

/* Reads one response frame from a blocking fd while running the loop. */
static int raw_read_response(struct loop *loop, int fd, uint32_t *ret_id, int *ret_code,
                             char *msg, size_t msg_size)
{
    struct ttrpc_frame_reader rd;
    ttrpc_frame_reader_init(&rd);
    for (int i = 0; i < 500; i++) {
        loop_run_once(loop, 10);
        int n = ttrpc_frame_reader_fill(&rd, fd);
        if (n == 0)
            break;
        struct ttrpc_frame f;
        if (ttrpc_frame_reader_next(&rd, &f) == TTRPC_FRAME_READY) {
            Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f.header.length, f.data);
            *ret_id = f.header.stream_id;
            *ret_code = resp && resp->status ? resp->status->code : 0;
            snprintf(msg, msg_size, "%s", resp && resp->status ? resp->status->message : "");
            ttrpc__response__free_unpacked(resp, NULL);
            ttrpc_frame_reader_done(&rd);
            return 0;
        }
    }
    ttrpc_frame_reader_done(&rd);
    return -ETIMEDOUT;
}

struct raw_server_rig {
    struct loop *loop;
    struct ttrpc_server *server;
    struct echo_service *echo;
    int peer;
};

static int raw_server_setup(struct raw_server_rig *r)
{
    int sv[2];
    memset(r, 0, sizeof(*r));
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    r->peer = sv[1];
    if (loop_new(&r->loop) < 0 || ttrpc_server_new(r->loop, NULL, &r->server) < 0 ||
        echo_service_new(r->loop, r->server, &r->echo) < 0 ||
        ttrpc_server_add_connection(r->server, sv[0]) < 0)
        return -EIO;
    return 0;
}

static void raw_server_teardown(struct raw_server_rig *r)
{
    close(r->peer);
    r->echo = echo_service_free(r->echo);
    r->server = ttrpc_server_free(r->server);
    loop_run_once(r->loop, 0);
    r->loop = loop_free(r->loop);
}

/* Packs a valid Echo request for stream id into buf; returns the frame size. */
static size_t make_echo_frame(uint8_t *buf, size_t cap, uint32_t id)
{
    Google__Protobuf__BytesValue payload = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;
    uint8_t pbuf[16];
    size_t plen = protobuf_c_message_pack(&payload.base, pbuf);
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)SVC;
    req.method = (char *)"Echo";
    req.payload.data = pbuf;
    req.payload.len = plen;
    size_t len = protobuf_c_message_get_packed_size(&req.base);
    if (len + TTRPC_HEADER_SIZE > cap)
        return 0;
    raw_frame(buf, (uint32_t)len, id, TTRPC_TYPE_REQUEST);
    protobuf_c_message_pack(&req.base, buf + TTRPC_HEADER_SIZE);
    return len + TTRPC_HEADER_SIZE;
}

TEST(server_oversized_frame_then_connection_still_serves)
{
    struct raw_server_rig r;
    ASSERT_OK(raw_server_setup(&r));
    uint8_t hdr[TTRPC_HEADER_SIZE];
    uint32_t big = TTRPC_MAX_MESSAGE + 100;
    raw_frame(hdr, big, 7, TTRPC_TYPE_REQUEST);
    ASSERT_OK(write_all(r.loop, r.peer, hdr, sizeof(hdr)));
    uint32_t id = 0;
    int code = 0;
    char msg[256];
    ASSERT_OK(raw_read_response(r.loop, r.peer, &id, &code, msg, sizeof(msg)));
    ASSERT_EQ(id, 7);
    ASSERT_EQ(code, TTRPC_RESOURCE_EXHAUSTED);
    ASSERT_TRUE(strstr(msg, "exceeds maximum message size") != NULL);
    /* The body is discarded as it arrives; then the stream is in sync again. */
    static uint8_t junk[65536];
    for (uint32_t left = big; left;) {
        uint32_t n = left < sizeof(junk) ? left : (uint32_t)sizeof(junk);
        ssize_t w = write(r.peer, junk, n);
        if (w < 0) {
            loop_run_once(r.loop, 10);
            continue;
        }
        left -= (uint32_t)w;
    }
    uint8_t frame[256];
    size_t flen = make_echo_frame(frame, sizeof(frame), 9);
    ASSERT_OK(write_all(r.loop, r.peer, frame, flen));
    ASSERT_OK(raw_read_response(r.loop, r.peer, &id, &code, msg, sizeof(msg)));
    ASSERT_EQ(id, 9);
    ASSERT_EQ(code, TTRPC_OK);
    raw_server_teardown(&r);
    return 0;
}

TEST(server_rejects_even_stream_and_malformed_envelope)
{
    struct raw_server_rig r;
    ASSERT_OK(raw_server_setup(&r));
    uint8_t frame[256];
    size_t flen = make_echo_frame(frame, sizeof(frame), 4);
    ASSERT_OK(write_all(r.loop, r.peer, frame, flen));
    uint32_t id = 0;
    int code = 0;
    char msg[256];
    ASSERT_OK(raw_read_response(r.loop, r.peer, &id, &code, msg, sizeof(msg)));
    ASSERT_EQ(id, 4);
    ASSERT_EQ(code, TTRPC_INVALID_ARGUMENT);
    ASSERT_STREQ(msg, "stream id 4 must be odd");

    /* A field header announcing more bytes than the frame holds. */
    uint8_t bad[TTRPC_HEADER_SIZE + 3] = {0};
    raw_frame(bad, 3, 11, TTRPC_TYPE_REQUEST);
    bad[10] = 0x0a; /* field 1, length-delimited */
    bad[11] = 0x7f; /* ...of 127 bytes */
    bad[12] = 'x';
    ASSERT_OK(write_all(r.loop, r.peer, bad, sizeof(bad)));
    ASSERT_OK(raw_read_response(r.loop, r.peer, &id, &code, msg, sizeof(msg)));
    ASSERT_EQ(id, 11);
    ASSERT_EQ(code, TTRPC_INVALID_ARGUMENT);
    ASSERT_STREQ(msg, "malformed ttrpc request");
    raw_server_teardown(&r);
    return 0;
}

TEST(server_peer_hangup_mid_frame_cancels_held_calls)
{
    struct raw_server_rig r;
    ASSERT_OK(raw_server_setup(&r));
    /* A Sleep call held by the service, then half a frame, then hang-up. */
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 60000;
    uint8_t pbuf[16];
    size_t plen = protobuf_c_message_pack(&sleep.base, pbuf);
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)SVC;
    req.method = (char *)"Sleep";
    req.payload.data = pbuf;
    req.payload.len = plen;
    uint8_t frame[256];
    size_t len = protobuf_c_message_pack(&req.base, frame + TTRPC_HEADER_SIZE);
    raw_frame(frame, (uint32_t)len, 1, TTRPC_TYPE_REQUEST);
    ASSERT_OK(write_all(r.loop, r.peer, frame, len + TTRPC_HEADER_SIZE));
    for (int i = 0; i < 100 && echo_service_pending_sleeps(r.echo) == 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 1);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 1);
    ASSERT_OK(write_all(r.loop, r.peer, frame, 6));
    close(r.peer);
    r.peer = -1;
    for (int i = 0; i < 100 && ttrpc_server_connection_count(r.server) > 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 0);
    raw_server_teardown(&r);
    return 0;
}

/* The deadline's DEADLINE_EXCEEDED cannot be written (the peer shut its
 * reading side): the failed write closes the connection, the service finishes
 * and frees the held call from its cancel callback, and the deadline handler
 * must not touch the call afterwards (a use after free under ASan). */
TEST(server_deadline_reply_to_a_peer_that_stopped_reading)
{
    struct raw_server_rig r;
    ASSERT_OK(raw_server_setup(&r));
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 60000;
    uint8_t pbuf[16];
    size_t plen = protobuf_c_message_pack(&sleep.base, pbuf);
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)SVC;
    req.method = (char *)"Sleep";
    req.payload.data = pbuf;
    req.payload.len = plen;
    req.timeout_nano = 50 * 1000000ll;
    uint8_t frame[256];
    size_t len = protobuf_c_message_pack(&req.base, frame + TTRPC_HEADER_SIZE);
    raw_frame(frame, (uint32_t)len, 1, TTRPC_TYPE_REQUEST);
    ASSERT_OK(write_all(r.loop, r.peer, frame, len + TTRPC_HEADER_SIZE));
    for (int i = 0; i < 100 && echo_service_pending_sleeps(r.echo) == 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 1);
    ASSERT_OK(shutdown(r.peer, SHUT_RD));
    for (int i = 0; i < 100 && ttrpc_server_connection_count(r.server) > 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 0);
    raw_server_teardown(&r);
    return 0;
}

/* The same for a reply the service sends on its own: the write fails, the
 * connection closes, and the call being finished must not be handed to its
 * cancel callback (which would finish it a second time). */
TEST(server_reply_to_a_peer_that_stopped_reading)
{
    struct raw_server_rig r;
    ASSERT_OK(raw_server_setup(&r));
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 50;
    uint8_t pbuf[16];
    size_t plen = protobuf_c_message_pack(&sleep.base, pbuf);
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)SVC;
    req.method = (char *)"Sleep";
    req.payload.data = pbuf;
    req.payload.len = plen;
    uint8_t frame[256];
    size_t len = protobuf_c_message_pack(&req.base, frame + TTRPC_HEADER_SIZE);
    raw_frame(frame, (uint32_t)len, 1, TTRPC_TYPE_REQUEST);
    ASSERT_OK(write_all(r.loop, r.peer, frame, len + TTRPC_HEADER_SIZE));
    for (int i = 0; i < 100 && echo_service_pending_sleeps(r.echo) == 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 1);
    ASSERT_OK(shutdown(r.peer, SHUT_RD));
    for (int i = 0; i < 100 && ttrpc_server_connection_count(r.server) > 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    ASSERT_EQ(echo_service_pending_sleeps(r.echo), 0);
    raw_server_teardown(&r);
    return 0;
}

struct closed_state {
    int closed_cb, unavailable;
};

static void closed_cb(struct ttrpc_client *c, void *ud)
{
    (void)c;
    ((struct closed_state *)ud)->closed_cb++;
}

static void expect_unavailable(const struct ttrpc_status *st, const ProtobufCMessage *resp,
                               void *ud)
{
    (void)resp;
    if (st->code == TTRPC_UNAVAILABLE)
        ((struct closed_state *)ud)->unavailable++;
}

TEST(client_truncated_reply_and_hangup_fail_pending_calls)
{
    struct loop *loop = NULL;
    ASSERT_OK(loop_new(&loop));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    struct ttrpc_client *c = NULL;
    ASSERT_OK(ttrpc_client_new(loop, sv[0], NULL, &c));
    struct closed_state cs = {0, 0};
    ttrpc_client_on_closed(c, closed_cb, &cs);
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    for (int i = 0; i < 3; i++)
        ASSERT_OK(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                    &google__protobuf__bytes_value__descriptor, NULL,
                                    expect_unavailable, &cs));
    loop_run_once(loop, 10);
    /* Half a response header, then the peer goes away. */
    uint8_t hdr[TTRPC_HEADER_SIZE];
    raw_frame(hdr, 100, 1, TTRPC_TYPE_RESPONSE);
    ASSERT_OK(write_all(loop, sv[1], hdr, 5));
    close(sv[1]);
    for (int i = 0; i < 100 && cs.unavailable < 3; i++)
        loop_run_once(loop, 10);
    ASSERT_EQ(cs.unavailable, 3);
    ASSERT_EQ(cs.closed_cb, 1);
    ASSERT_TRUE(ttrpc_client_is_closed(c));
    ASSERT_EQ(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL,
                                expect_unavailable, &cs),
              -EPIPE);
    ttrpc_client_free(c);
    loop_run_once(loop, 0);
    loop_free(loop);
    return 0;
}

struct reply_state {
    int code;
    int done;
};

static void record_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    (void)resp;
    struct reply_state *s = ud;
    s->code = st->code;
    s->done++;
}

TEST(client_rejects_oversized_and_malformed_replies)
{
    struct loop *loop = NULL;
    ASSERT_OK(loop_new(&loop));
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv));
    struct ttrpc_client *c = NULL;
    ASSERT_OK(ttrpc_client_new(loop, sv[0], NULL, &c));
    Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
    struct reply_state a = {-1, 0}, b = {-1, 0}, d = {-1, 0};
    ASSERT_OK(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL, record_reply, &a));
    ASSERT_OK(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL, record_reply, &b));
    ASSERT_OK(ttrpc_client_call(c, SVC, "Echo", &req.base,
                                &google__protobuf__bytes_value__descriptor, NULL, record_reply, &d));
    loop_run_once(loop, 10);

    /* Stream 1: an oversized reply, announced and never buffered. */
    uint8_t hdr[TTRPC_HEADER_SIZE];
    raw_frame(hdr, TTRPC_MAX_MESSAGE + 1, 1, TTRPC_TYPE_RESPONSE);
    ASSERT_OK(write_all(loop, sv[1], hdr, sizeof(hdr)));
    for (int i = 0; i < 100 && !a.done; i++)
        loop_run_once(loop, 10);
    ASSERT_EQ(a.code, TTRPC_RESOURCE_EXHAUSTED);
    static uint8_t zeros[65536];
    for (size_t left = TTRPC_MAX_MESSAGE + 1; left;) {
        size_t n = left < sizeof(zeros) ? left : sizeof(zeros);
        ssize_t w = write(sv[1], zeros, n);
        if (w < 0) {
            loop_run_once(loop, 10);
            continue;
        }
        left -= (size_t)w;
    }
    /* A reply for a stream nobody asked for is dropped. */
    uint8_t stray[TTRPC_HEADER_SIZE];
    raw_frame(stray, 0, 99, TTRPC_TYPE_RESPONSE);
    ASSERT_OK(write_all(loop, sv[1], stray, sizeof(stray)));
    /* Stream 3: a payload that is not a BytesValue (field 1 as a varint). */
    uint8_t bad[TTRPC_HEADER_SIZE + 4];
    raw_frame(bad, 4, 3, TTRPC_TYPE_RESPONSE);
    bad[10] = 0x12; /* Response.payload */
    bad[11] = 0x02;
    bad[12] = 0x08; /* BytesValue.value with the varint wire type */
    bad[13] = 0x01;
    ASSERT_OK(write_all(loop, sv[1], bad, sizeof(bad)));
    /* Stream 5: a status code outside gRPC's range. */
    uint8_t odd[TTRPC_HEADER_SIZE + 4];
    raw_frame(odd, 4, 5, TTRPC_TYPE_RESPONSE);
    odd[10] = 0x0a;
    odd[11] = 0x02;
    odd[12] = 0x08;
    odd[13] = 0x63; /* code 99 */
    ASSERT_OK(write_all(loop, sv[1], odd, sizeof(odd)));
    for (int i = 0; i < 200 && (!b.done || !d.done); i++)
        loop_run_once(loop, 10);
    ASSERT_EQ(b.code, TTRPC_INTERNAL);
    ASSERT_EQ(d.code, TTRPC_UNKNOWN);
    ASSERT_TRUE(!ttrpc_client_is_closed(c));
    ttrpc_client_free(c);
    close(sv[1]);
    loop_run_once(loop, 0);
    loop_free(loop);
    return 0;
}

static void shutdown_done(struct ttrpc_server *s, void *ud)
{
    (void)s;
    (*(int *)ud)++;
}

TEST(server_shutdown_drains_in_flight_calls)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    struct reply_state held = {-1, 0}, late = {-1, 0};
    Google__Protobuf__Int64Value sleep = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    sleep.value = 200;
    ASSERT_OK(ttrpc_client_call(r.client, SVC, "Sleep", &sleep.base,
                                &google__protobuf__empty__descriptor, NULL, record_reply, &held));
    for (int i = 0; i < 100 && echo_service_pending_sleeps(r.echo) == 0; i++)
        loop_run_once(r.loop, 10);
    int done = 0;
    ttrpc_server_shutdown(r.server, 5000 * 1000000ull, shutdown_done, &done);
    ASSERT_OK(ttrpc_client_call(r.client, SVC, "Sleep", &sleep.base,
                                &google__protobuf__empty__descriptor, NULL, record_reply, &late));
    for (int i = 0; i < 300 && (!done || !late.done); i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(done, 1);
    ASSERT_EQ(held.code, TTRPC_OK);
    /* The server stopped reading: the late call dies with the connection. */
    ASSERT_EQ(late.code, TTRPC_UNAVAILABLE);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    rig_teardown(&r);
    return 0;
}

TEST(errno_code_mapping)
{
    ASSERT_EQ(ttrpc_code_from_errno(-ENOENT), TTRPC_NOT_FOUND);
    ASSERT_EQ(ttrpc_code_from_errno(-EEXIST), TTRPC_ALREADY_EXISTS);
    ASSERT_EQ(ttrpc_code_from_errno(-EINVAL), TTRPC_INVALID_ARGUMENT);
    ASSERT_EQ(ttrpc_code_from_errno(-ENOTSUP), TTRPC_UNIMPLEMENTED);
    ASSERT_EQ(ttrpc_code_from_errno(-ETIMEDOUT), TTRPC_DEADLINE_EXCEEDED);
    ASSERT_EQ(ttrpc_code_from_errno(-ECANCELED), TTRPC_CANCELLED);
    ASSERT_EQ(ttrpc_code_from_errno(-EPERM), TTRPC_PERMISSION_DENIED);
    ASSERT_EQ(ttrpc_code_from_errno(-EBUSY), TTRPC_FAILED_PRECONDITION);
    ASSERT_EQ(ttrpc_code_from_errno(-ENOBUFS), TTRPC_RESOURCE_EXHAUSTED);
    ASSERT_EQ(ttrpc_code_from_errno(-EIO), TTRPC_INTERNAL);
    for (int code = 1; code <= TTRPC_UNAUTHENTICATED; code++)
        ASSERT_LT(ttrpc_errno_from_code(code), 0);
    ASSERT_STREQ(ttrpc_code_name(TTRPC_NOT_FOUND), "NOT_FOUND");
    ASSERT_STREQ(ttrpc_code_name(99), "UNKNOWN");
    return 0;
}

static void count_closed(struct ttrpc_server *server, void *userdata)
{
    (void)server;
    (*(int *)userdata)++;
}

/* The agent's serial channel re-arms its watch on the port when its one
 * session ends: the server must say so once per closed connection, and
 * not while it is being freed. */
TEST(server_reports_each_closed_connection_once)
{
    struct rig r;
    ASSERT_OK(rig_setup(&r, NULL));
    int closed = 0;
    ttrpc_server_on_connection_closed(r.server, count_closed, &closed);
    char *out = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(call_echo(r.client, "hello", &out, &e));
    free(out);
    ASSERT_EQ(closed, 0);
    r.client = ttrpc_client_free(r.client);
    for (int i = 0; i < 100 && ttrpc_server_connection_count(r.server) > 0; i++)
        loop_run_once(r.loop, 10);
    ASSERT_EQ(ttrpc_server_connection_count(r.server), 0);
    ASSERT_EQ(closed, 1);
    /* A second connection, still open when the server is freed. */
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0 ? -errno
                                                                                          : 0);
    ASSERT_OK(ttrpc_server_add_connection(r.server, sv[0]));
    close(sv[1]);
    r.echo = echo_service_free(r.echo);
    r.server = ttrpc_server_free(r.server);
    ASSERT_EQ(closed, 1);
    rig_teardown(&r);
    return 0;
}
