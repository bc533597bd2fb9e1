/* ttRPC client on the event loop, see ttrpc.h.
 *
 * Pending calls live in a hash table keyed by stream id. Client stream ids
 * are consecutive odd numbers, so (id >> 1) masked by the table size spreads
 * them perfectly. Replies are untrusted: a frame for an unknown stream is
 * dropped, an oversized one fails its call without being buffered, and a
 * body that does not decode as the expected type fails the call. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/ttrpc/envelope.h"
#include "lib/ttrpc/frame.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/ttrpc/wbuf.h"
#include "lib/xalloc.h"
#include "ttrpc/request.pb-c.h"

#define DEFAULT_MAX_INFLIGHT 1024u
#define DEFAULT_MAX_QUEUED (16u << 20)

struct pending {
    struct ttrpc_client *client;
    uint32_t stream_id;
    const ProtobufCMessageDescriptor *response_type;
    ttrpc_reply_fn fn;
    void *userdata;
    struct loop_source *timer;
    ProtobufCMessage **take; /* set: the decoded reply is handed over here */
    struct pending *next;    /* hash chain */
};

struct ttrpc_client {
    struct loop *loop;
    int fd;
    struct loop_source *io;
    struct ttrpc_frame_reader reader;
    struct ttrpc_wbuf out;
    struct ttrpc_limits limits;
    uint32_t next_id;
    struct pending **table;
    size_t table_size; /* power of two */
    size_t n_pending;
    bool closed;
    unsigned busy;       /* dispatch depth: free waits for it to unwind */
    bool free_requested;
    ttrpc_closed_fn closed_fn;
    void *closed_userdata;
};

static void client_close(struct ttrpc_client *c, int code, const char *why);

/* ---- pending table ---- */

static size_t slot_of(const struct ttrpc_client *c, uint32_t id)
{
    return (id >> 1) & (c->table_size - 1);
}

static void table_insert(struct ttrpc_client *c, struct pending *p)
{
    if (c->n_pending >= c->table_size) {
        size_t old_size = c->table_size;
        struct pending **old = c->table;
        c->table_size = old_size * 2;
        c->table = xnew(struct pending *, c->table_size);
        for (size_t i = 0; i < old_size; i++)
            for (struct pending *q = old[i], *next; q; q = next) {
                next = q->next;
                size_t slot = slot_of(c, q->stream_id);
                q->next = c->table[slot];
                c->table[slot] = q;
            }
        free(old);
    }
    size_t slot = slot_of(c, p->stream_id);
    p->next = c->table[slot];
    c->table[slot] = p;
    c->n_pending++;
}

/* Removes and returns the pending call for id, or NULL. */
static struct pending *table_take(struct ttrpc_client *c, uint32_t id)
{
    for (struct pending **pp = &c->table[slot_of(c, id)]; *pp; pp = &(*pp)->next)
        if ((*pp)->stream_id == id) {
            struct pending *p = *pp;
            *pp = p->next;
            c->n_pending--;
            return p;
        }
    return NULL;
}

static struct pending *table_find(const struct ttrpc_client *c, uint32_t id)
{
    for (struct pending *p = c->table[slot_of(c, id)]; p; p = p->next)
        if (p->stream_id == id)
            return p;
    return NULL;
}

static struct pending *table_take_any(struct ttrpc_client *c)
{
    for (size_t i = 0; i < c->table_size && c->n_pending; i++)
        if (c->table[i])
            return table_take(c, c->table[i]->stream_id);
    return NULL;
}

/* ---- completion ---- */

static void pending_complete(struct pending *p, int code, const char *message,
                             const ProtobufCMessage *response)
{
    struct ttrpc_status st = {.code = code, .message = message ? message : ""};
    loop_source_free(p->timer);
    p->fn(&st, code == TTRPC_OK ? response : NULL, p->userdata);
    free(p);
}

static void pending_failf(struct pending *p, int code, const char *fmt, ...) _printf_(3, 4);
static void pending_failf(struct pending *p, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pending_complete(p, code, msg, NULL);
}

static void pending_deadline(struct loop_source *s, void *userdata)
{
    (void)s;
    struct pending *p = userdata;
    struct ttrpc_client *c = p->client;
    table_take(c, p->stream_id);
    c->busy++;
    pending_failf(p, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded");
    c->busy--;
    if (c->free_requested && !c->busy)
        ttrpc_client_free(c);
}

/* Decodes one response frame for p. The guest or peer is untrusted: the
 * status code must be a known gRPC code and the payload must decode as the
 * method's output type. */
static void complete_from_frame(struct pending *p, const struct ttrpc_frame *f)
{
    Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f->header.length, f->data);
    if (!resp) {
        pending_failf(p, TTRPC_INTERNAL, "malformed ttrpc response");
        return;
    }
    if (resp->status && resp->status->code != TTRPC_OK) {
        int code = resp->status->code;
        if (code < 0 || code > TTRPC_UNAUTHENTICATED)
            pending_failf(p, TTRPC_UNKNOWN, "peer sent unknown status code %d: %.200s", code,
                          resp->status->message);
        else
            pending_complete(p, code, resp->status->message, NULL);
        ttrpc__response__free_unpacked(resp, NULL);
        return;
    }
    ProtobufCMessage *msg =
        protobuf_c_message_unpack(p->response_type, NULL, resp->payload.len, resp->payload.data);
    ttrpc__response__free_unpacked(resp, NULL);
    if (!msg) {
        pending_failf(p, TTRPC_INTERNAL, "malformed %s response", p->response_type->name);
        return;
    }
    ProtobufCMessage **take = p->take;
    pending_complete(p, TTRPC_OK, "", msg);
    if (take)
        *take = msg;
    else
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- io ---- */

static void client_update_events(struct ttrpc_client *c)
{
    if (c->closed)
        return;
    uint32_t events = EPOLLIN;
    if (ttrpc_wbuf_len(&c->out))
        events |= EPOLLOUT;
    loop_io_set_events(c->io, events);
}

static void client_flush(struct ttrpc_client *c)
{
    if (c->closed)
        return;
    int r = ttrpc_wbuf_flush(&c->out, c->fd);
    if (r < 0 && r != -EAGAIN) {
        client_close(c, TTRPC_UNAVAILABLE, "ttrpc: connection closed (write failed)");
        return;
    }
    client_update_events(c);
}

static void client_handle_frame(struct ttrpc_client *c, enum ttrpc_frame_result r,
                                const struct ttrpc_frame *f)
{
    if (f->header.type != TTRPC_TYPE_RESPONSE) {
        log_debug("ttrpc client: ignoring frame of type %u", f->header.type);
        return;
    }
    struct pending *p = table_take(c, f->header.stream_id);
    if (!p) {
        /* A reply after its deadline, or a confused peer. */
        log_debug("ttrpc client: reply for unknown stream %u dropped", f->header.stream_id);
        return;
    }
    if (r == TTRPC_FRAME_TOO_LARGE)
        pending_failf(p, TTRPC_RESOURCE_EXHAUSTED,
                      "response length %u exceeds maximum message size of %u", f->header.length,
                      TTRPC_MAX_MESSAGE);
    else
        complete_from_frame(p, f);
}

static void client_read(struct ttrpc_client *c)
{
    int n = ttrpc_frame_reader_fill(&c->reader, c->fd);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        bool partial = ttrpc_frame_reader_partial(&c->reader);
        client_close(c, TTRPC_UNAVAILABLE,
                     n == 0 ? (partial ? "ttrpc: connection closed in the middle of a frame"
                                       : "ttrpc: connection closed")
                            : "ttrpc: read failed");
        return;
    }
    while (!c->closed) {
        struct ttrpc_frame f;
        enum ttrpc_frame_result r = ttrpc_frame_reader_next(&c->reader, &f);
        if (r == TTRPC_FRAME_NEED_MORE)
            break;
        client_handle_frame(c, r, &f);
    }
}

static void client_io(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    (void)s;
    (void)fd;
    struct ttrpc_client *c = userdata;
    c->busy++;
    if (revents & EPOLLOUT)
        client_flush(c);
    if (!c->closed && (revents & EPOLLIN))
        client_read(c);
    else if (!c->closed && (revents & (EPOLLHUP | EPOLLERR)))
        client_close(c, TTRPC_UNAVAILABLE, "ttrpc: connection closed");
    /* Calls issued from reply callbacks were queued; send them together. */
    client_flush(c);
    c->busy--;
    if (c->free_requested && !c->busy)
        ttrpc_client_free(c);
}

static void client_close(struct ttrpc_client *c, int code, const char *why)
{
    if (c->closed)
        return;
    c->closed = true;
    c->io = loop_source_free(c->io);
    c->fd = fd_close(c->fd);
    c->busy++;
    struct pending *p;
    while ((p = table_take_any(c)))
        pending_complete(p, code, why, NULL);
    if (c->closed_fn && !c->free_requested)
        c->closed_fn(c, c->closed_userdata);
    c->busy--;
}

/* ---- public ---- */

int ttrpc_client_new(struct loop *loop, int fd, const struct ttrpc_limits *limits,
                     struct ttrpc_client **ret_client)
{
    struct ttrpc_client *c = xzalloc(sizeof(*c));
    c->loop = loop;
    c->fd = fd;
    c->next_id = 1;
    if (limits)
        c->limits = *limits;
    if (!c->limits.max_inflight)
        c->limits.max_inflight = DEFAULT_MAX_INFLIGHT;
    if (!c->limits.max_queued_bytes)
        c->limits.max_queued_bytes = DEFAULT_MAX_QUEUED;
    c->table_size = 64;
    c->table = xnew(struct pending *, c->table_size);
    ttrpc_frame_reader_init(&c->reader);
    int r = loop_add_io(loop, fd, EPOLLIN, client_io, c, &c->io);
    if (r < 0) {
        fd_close(fd);
        free(c->table);
        free(c);
        return r;
    }
    *ret_client = c;
    return 0;
}

struct ttrpc_client *ttrpc_client_free(struct ttrpc_client *c)
{
    if (!c)
        return NULL;
    c->free_requested = true;
    client_close(c, TTRPC_CANCELLED, "ttrpc: client closed");
    if (c->busy)
        return NULL; /* finished when the dispatch in progress unwinds */
    ttrpc_frame_reader_done(&c->reader);
    ttrpc_wbuf_done(&c->out);
    free(c->table);
    free(c);
    return NULL;
}

void ttrpc_client_on_closed(struct ttrpc_client *c, ttrpc_closed_fn fn, void *userdata)
{
    c->closed_fn = fn;
    c->closed_userdata = userdata;
}

bool ttrpc_client_is_closed(const struct ttrpc_client *c)
{
    return c->closed;
}

size_t ttrpc_client_pending(const struct ttrpc_client *c)
{
    return c->n_pending;
}

static int client_call(struct ttrpc_client *c, const char *service, const char *method,
                       const ProtobufCMessage *request,
                       const ProtobufCMessageDescriptor *response_type,
                       const struct ttrpc_call_opts *opts, ttrpc_reply_fn fn, void *userdata,
                       ProtobufCMessage **take)
{
    if (c->closed)
        return -EPIPE;
    if (c->n_pending >= c->limits.max_inflight ||
        ttrpc_wbuf_len(&c->out) > c->limits.max_queued_bytes)
        return -ENOBUFS;

    struct ttrpc_request_fields f = {
        .service = service,
        .method = method,
        .payload = request,
        .payload_size = request ? protobuf_c_message_get_packed_size(request) : 0,
    };
    if (opts) {
        f.timeout_nano = opts->timeout_ns > INT64_MAX ? INT64_MAX : (int64_t)opts->timeout_ns;
        f.metadata = opts->metadata;
        f.n_metadata = opts->n_metadata;
    }
    size_t len = ttrpc_envelope_request_size(&f);
    if (len > TTRPC_MAX_MESSAGE)
        return -EMSGSIZE;

    /* Odd ids only; after 2^31 calls wrap to 1, skipping ids still pending. */
    uint32_t id;
    do {
        id = c->next_id;
        c->next_id = id >= UINT32_MAX - 2 ? 1 : id + 2;
    } while (table_find(c, id));

    uint8_t *p = ttrpc_wbuf_reserve(&c->out, TTRPC_HEADER_SIZE + len);
    struct ttrpc_frame_header h = {
        .length = (uint32_t)len, .stream_id = id, .type = TTRPC_TYPE_REQUEST};
    ttrpc_frame_header_encode(&h, p);
    ttrpc_envelope_request_encode(&f, p + TTRPC_HEADER_SIZE);
    ttrpc_wbuf_commit(&c->out, TTRPC_HEADER_SIZE + len);

    struct pending *pc = xzalloc(sizeof(*pc));
    pc->client = c;
    pc->stream_id = id;
    pc->response_type = response_type;
    pc->fn = fn;
    pc->userdata = userdata;
    pc->take = take;
    if (f.timeout_nano > 0)
        loop_add_timer(c->loop, loop_now() + (uint64_t)f.timeout_nano, pending_deadline, pc,
                       &pc->timer);
    table_insert(c, pc);

    /* Inside a dispatch the flush happens once at its end. Otherwise write
     * now; a failure is left for the loop to find (the socket reports it
     * again), so callbacks never run from inside this function. */
    if (!c->busy) {
        int r = ttrpc_wbuf_flush(&c->out, c->fd);
        if (r < 0 && r != -EAGAIN)
            loop_io_set_events(c->io, EPOLLIN | EPOLLOUT);
        else
            client_update_events(c);
    }
    return 0;
}

int ttrpc_client_call(struct ttrpc_client *c, const char *service, const char *method,
                      const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_type,
                      const struct ttrpc_call_opts *opts, ttrpc_reply_fn fn, void *userdata)
{
    return client_call(c, service, method, request, response_type, opts, fn, userdata, NULL);
}

/* ---- synchronous helper ---- */

struct sync_state {
    bool done;
    int code;
    char message[ERR_MSG_MAX];
    ProtobufCMessage *response;
};

static void sync_reply(const struct ttrpc_status *st, const ProtobufCMessage *response,
                       void *userdata)
{
    struct sync_state *s = userdata;
    s->done = true;
    s->code = st->code;
    snprintf(s->message, sizeof(s->message), "%s", st->message);
    (void)response; /* handed over through the pending call's `take` slot */
}

int ttrpc_client_call_sync(struct ttrpc_client *c, const char *service, const char *method,
                           const ProtobufCMessage *request,
                           const ProtobufCMessageDescriptor *response_type,
                           const struct ttrpc_call_opts *opts, ProtobufCMessage **ret_response,
                           int *ret_code, struct err *e)
{
    struct sync_state s = {.done = false};
    int r = client_call(c, service, method, request, response_type, opts, sync_reply, &s,
                        &s.response);
    if (r < 0) {
        if (ret_code)
            *ret_code = ttrpc_code_from_errno(r);
        return err_set(e, r, "%s.%s: %s", service, method,
                       r == -EMSGSIZE ? "request exceeds the 4 MiB message limit"
                       : r == -EPIPE  ? "connection closed"
                                      : "too many calls in flight");
    }
    while (!s.done) {
        r = loop_run_once(c->loop, -1);
        if (r < 0)
            return err_set(e, r, "%s.%s: event loop failed", service, method);
    }
    if (ret_code)
        *ret_code = s.code;
    if (s.code != TTRPC_OK)
        return err_set(e, ttrpc_errno_from_code(s.code), "%s: %s", ttrpc_code_name(s.code),
                       s.message);
    *ret_response = s.response;
    return 0;
}
