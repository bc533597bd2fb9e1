/* ttRPC server on the event loop, see ttrpc.h.
 *
 * A connection is reference-counted: one reference while it is open and one
 * per call a handler still holds, so a handler may finish a call long after
 * its peer went away. Requests read in one batch are dispatched in order and
 * their immediate replies are written with one flush at the end of the
 * batch. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/loop.h"
#include "lib/ttrpc/envelope.h"
#include "lib/ttrpc/frame.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/ttrpc/wbuf.h"
#include "lib/xalloc.h"
#include "ttrpc/request.pb-c.h"

#define DEFAULT_MAX_CONNECTIONS 128u
#define DEFAULT_MAX_INFLIGHT 1024u
#define DEFAULT_MAX_QUEUED (16u << 20)
/* Accepts per wake-up, so a connection storm cannot starve established peers. */
#define ACCEPT_BATCH 16

struct service_entry {
    const ProtobufCServiceDescriptor *desc;
    ttrpc_handler_fn *handlers;
    void *userdata;
};

struct listener {
    struct ttrpc_server *server;
    int fd;
    struct loop_source *source;
    struct listener *next;
};

struct conn {
    struct ttrpc_server *server; /* NULL once closed */
    int fd;
    struct loop_source *io;
    struct ttrpc_frame_reader reader;
    struct ttrpc_wbuf out;
    unsigned refs;
    bool closed;
    bool processing; /* inside a read batch: replies wait for its flush */
    bool read_paused;
    bool have_cred;
    struct ucred cred;
    unsigned n_inflight;
    struct ttrpc_call *calls;
    struct conn *next, *prev;
};

struct ttrpc_call {
    struct conn *conn;
    uint32_t stream_id;
    bool answered;  /* nothing more goes on the wire for this call */
    bool cancelled; /* answered by someone other than the handler */
    bool notified;  /* cancel callback has run */
    Ttrpc__Request *request;
    ProtobufCMessage *message;
    const ProtobufCMethodDescriptor *method;
    struct ttrpc_kv *kv;
    uint64_t deadline;
    struct loop_source *timer;
    ttrpc_cancel_fn cancel_fn;
    void *cancel_userdata;
    struct ttrpc_call *next, *prev;
};

struct ttrpc_server {
    struct loop *loop;
    struct ttrpc_limits limits;
    struct service_entry *services;
    size_t n_services;
    struct listener *listeners;
    struct conn *conns;
    unsigned n_conns;
    bool shutting_down;
    struct loop_source *shutdown_timer;
    struct loop_source *done_defer;
    ttrpc_server_done_fn done_fn;
    void *done_userdata;
    ttrpc_server_conn_closed_fn conn_closed_fn;
    void *conn_closed_userdata;
};

static void conn_close(struct conn *c, const char *why);
static void conn_flush(struct conn *c);
static void server_check_shutdown(struct ttrpc_server *s);

static void limits_apply(struct ttrpc_limits *dst, const struct ttrpc_limits *src)
{
    if (src)
        *dst = *src;
    if (!dst->max_connections)
        dst->max_connections = DEFAULT_MAX_CONNECTIONS;
    if (!dst->max_inflight)
        dst->max_inflight = DEFAULT_MAX_INFLIGHT;
    if (!dst->max_queued_bytes)
        dst->max_queued_bytes = DEFAULT_MAX_QUEUED;
}

int ttrpc_server_new(struct loop *loop, const struct ttrpc_limits *limits,
                     struct ttrpc_server **ret_server)
{
    struct ttrpc_server *s = xzalloc(sizeof(*s));
    s->loop = loop;
    limits_apply(&s->limits, limits);
    *ret_server = s;
    return 0;
}

int ttrpc_server_register(struct ttrpc_server *s, const ProtobufCServiceDescriptor *service,
                          const ttrpc_handler_fn *handlers, void *userdata)
{
    for (size_t i = 0; i < s->n_services; i++)
        if (strcmp(s->services[i].desc->name, service->name) == 0)
            return -EEXIST;
    s->services = xrealloc(s->services, (s->n_services + 1) * sizeof(*s->services));
    struct service_entry *e = &s->services[s->n_services++];
    e->desc = service;
    e->handlers = xmemdup(handlers, service->n_methods * sizeof(*handlers));
    e->userdata = userdata;
    return 0;
}

static const struct service_entry *find_service(const struct ttrpc_server *s, const char *name)
{
    for (size_t i = 0; i < s->n_services; i++)
        if (strcmp(s->services[i].desc->name, name) == 0)
            return &s->services[i];
    return NULL;
}

/* ---- connections ---- */

static void conn_unref(struct conn *c)
{
    if (--c->refs > 0)
        return;
    ttrpc_frame_reader_done(&c->reader);
    ttrpc_wbuf_done(&c->out);
    free(c);
}

static void conn_update_events(struct conn *c)
{
    if (c->closed)
        return;
    size_t queued = ttrpc_wbuf_len(&c->out);
    size_t max = c->server->limits.max_queued_bytes;
    /* Backpressure: a peer that does not read its replies stops being read. */
    if (queued > max)
        c->read_paused = true;
    else if (queued <= max / 2)
        c->read_paused = false;
    uint32_t events = 0;
    if (!c->read_paused && !c->server->shutting_down)
        events |= EPOLLIN;
    if (queued)
        events |= EPOLLOUT;
    loop_io_set_events(c->io, events);
}

static void conn_maybe_finish_shutdown(struct conn *c)
{
    if (!c->closed && c->server->shutting_down && c->n_inflight == 0 &&
        ttrpc_wbuf_len(&c->out) == 0)
        conn_close(c, "server shutting down");
}

static void conn_flush(struct conn *c)
{
    if (c->closed)
        return;
    int r = ttrpc_wbuf_flush(&c->out, c->fd);
    if (r < 0 && r != -EAGAIN) {
        log_errno(LOG_DEBUG, r, "ttrpc server: write failed");
        conn_close(c, "write failed");
        return;
    }
    conn_update_events(c);
    conn_maybe_finish_shutdown(c);
}

/* Queues one response frame. Replies bigger than a message may be become
 * RESOURCE_EXHAUSTED, as the peer could not accept them anyway. */
static void conn_send(struct conn *c, uint32_t stream_id, int code, const char *message,
                      const ProtobufCMessage *payload)
{
    if (c->closed)
        return;
    char too_big[128];
    size_t payload_size = payload ? protobuf_c_message_get_packed_size(payload) : 0;
    if (payload_size > TTRPC_MAX_MESSAGE - 16) {
        snprintf(too_big, sizeof(too_big), "response of %zu bytes exceeds the %u byte limit",
                 payload_size, TTRPC_MAX_MESSAGE);
        code = TTRPC_RESOURCE_EXHAUSTED;
        message = too_big;
        payload = NULL;
        payload_size = 0;
    }
    size_t len = ttrpc_envelope_response_size(code, message, payload_size);
    uint8_t *p = ttrpc_wbuf_reserve(&c->out, TTRPC_HEADER_SIZE + len);
    struct ttrpc_frame_header h = {
        .length = (uint32_t)len, .stream_id = stream_id, .type = TTRPC_TYPE_RESPONSE};
    ttrpc_frame_header_encode(&h, p);
    ttrpc_envelope_response_encode(code, message, payload, payload_size, p + TTRPC_HEADER_SIZE);
    ttrpc_wbuf_commit(&c->out, TTRPC_HEADER_SIZE + len);
    if (!c->processing)
        conn_flush(c);
}

static void conn_sendf(struct conn *c, uint32_t stream_id, int code, const char *fmt, ...)
    _printf_(4, 5);
static void conn_sendf(struct conn *c, uint32_t stream_id, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    conn_send(c, stream_id, code, msg, NULL);
}

/* ---- calls ---- */

static void call_notify_cancel(struct ttrpc_call *call)
{
    if (call->notified)
        return;
    call->notified = true;
    if (call->cancel_fn)
        call->cancel_fn(call, call->cancel_userdata);
}

static void call_deadline(struct loop_source *s, void *userdata)
{
    (void)s;
    struct ttrpc_call *call = userdata;
    if (call->answered)
        return;
    call->answered = call->cancelled = true;
    /* A failed send closes the connection, which runs the cancel callback
     * of every call not yet notified, and that callback may finish (free)
     * the call. Mark this one first so that its callback runs below, once,
     * after the last use of the call. */
    bool notify = !call->notified;
    call->notified = true;
    conn_send(call->conn, call->stream_id, TTRPC_DEADLINE_EXCEEDED, "deadline exceeded", NULL);
    if (notify && call->cancel_fn)
        call->cancel_fn(call, call->cancel_userdata);
}

static void call_free(struct ttrpc_call *call)
{
    struct conn *c = call->conn;
    if (call->prev)
        call->prev->next = call->next;
    else
        c->calls = call->next;
    if (call->next)
        call->next->prev = call->prev;
    c->n_inflight--;
    loop_source_free(call->timer);
    if (call->message)
        protobuf_c_message_free_unpacked(call->message, NULL);
    ttrpc__request__free_unpacked(call->request, NULL);
    free(call->kv);
    free(call);
    if (!c->closed)
        conn_maybe_finish_shutdown(c);
    conn_unref(c);
}

static void call_finish(struct ttrpc_call *call, int code, const char *message,
                        const ProtobufCMessage *response)
{
    /* The handler is finishing the call: a connection closed by this very
     * send must not hand the call back to its cancel callback. */
    call->notified = true;
    if (!call->answered) {
        call->answered = true;
        conn_send(call->conn, call->stream_id, code, message, response);
    }
    call_free(call);
}

void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *response)
{
    /* A reply of the wrong type would decode as garbage on the other side. */
    if (response && !call->answered && response->descriptor != call->method->output) {
        log_error("ttrpc: %s replied with %s, expected %s", call->method->name,
                  response->descriptor->name, call->method->output->name);
        call_finish(call, TTRPC_INTERNAL, "server replied with the wrong message type", NULL);
        return;
    }
    call_finish(call, TTRPC_OK, "", response);
}

static void call_failv(struct ttrpc_call *call, int code, const char *fmt, va_list ap)
    _printf_(3, 0);
static void call_failv(struct ttrpc_call *call, int code, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (code == TTRPC_OK)
        code = TTRPC_UNKNOWN;
    call_finish(call, code, msg, NULL);
}

void ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_failv(call, code, fmt, ap);
    va_end(ap);
}

void ttrpc_call_fail_errno(struct ttrpc_call *call, int negative_errno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    call_failv(call, ttrpc_code_from_errno(negative_errno), fmt, ap);
    va_end(ap);
}

const char *ttrpc_call_service(const struct ttrpc_call *call)
{
    return call->request->service;
}

const char *ttrpc_call_method(const struct ttrpc_call *call)
{
    return call->request->method;
}

uint64_t ttrpc_call_deadline(const struct ttrpc_call *call)
{
    return call->deadline;
}

size_t ttrpc_call_metadata(const struct ttrpc_call *call, const struct ttrpc_kv **ret_kv)
{
    *ret_kv = call->kv;
    return call->request->n_metadata;
}

const char *ttrpc_call_metadata_get(const struct ttrpc_call *call, const char *key)
{
    for (size_t i = 0; i < call->request->n_metadata; i++)
        if (strcmp(call->kv[i].key, key) == 0)
            return call->kv[i].value;
    return NULL;
}

bool ttrpc_call_cancelled(const struct ttrpc_call *call)
{
    return call->cancelled;
}

int ttrpc_call_peer_cred(const struct ttrpc_call *call, uint32_t *ret_uid, uint32_t *ret_gid,
                         int32_t *ret_pid)
{
    const struct conn *c = call->conn;
    if (!c->have_cred)
        return -ENOTSUP;
    *ret_uid = c->cred.uid;
    *ret_gid = c->cred.gid;
    *ret_pid = c->cred.pid;
    return 0;
}

void ttrpc_call_on_cancel(struct ttrpc_call *call, ttrpc_cancel_fn fn, void *userdata)
{
    call->cancel_fn = fn;
    call->cancel_userdata = userdata;
}

/* ---- request dispatch ---- */

static struct ttrpc_call *call_new(struct conn *c, uint32_t stream_id, Ttrpc__Request *req,
                                   const ProtobufCMethodDescriptor *method, ProtobufCMessage *msg)
{
    struct ttrpc_call *call = xzalloc(sizeof(*call));
    call->conn = c;
    call->stream_id = stream_id;
    call->request = req;
    call->method = method;
    call->message = msg;
    call->kv = xnew(struct ttrpc_kv, req->n_metadata);
    for (size_t i = 0; i < req->n_metadata; i++) {
        call->kv[i].key = req->metadata[i]->key;
        call->kv[i].value = req->metadata[i]->value;
    }
    call->next = c->calls;
    if (c->calls)
        c->calls->prev = call;
    c->calls = call;
    c->n_inflight++;
    c->refs++;
    if (req->timeout_nano > 0) {
        call->deadline = loop_now() + (uint64_t)req->timeout_nano;
        loop_add_timer(c->server->loop, call->deadline, call_deadline, call, &call->timer);
    }
    return call;
}

static void handle_request(struct conn *c, const struct ttrpc_frame *f)
{
    uint32_t id = f->header.stream_id;
    struct ttrpc_server *s = c->server;

    /* Frames of other types (streaming data) are ignored, as Go's server does. */
    if (f->header.type != TTRPC_TYPE_REQUEST)
        return;
    if ((id & 1) == 0) {
        conn_sendf(c, id, TTRPC_INVALID_ARGUMENT, "stream id %u must be odd", id);
        return;
    }
    if (s->shutting_down) {
        conn_sendf(c, id, TTRPC_UNAVAILABLE, "server is shutting down");
        return;
    }
    if (c->n_inflight >= s->limits.max_inflight) {
        conn_sendf(c, id, TTRPC_RESOURCE_EXHAUSTED,
                   "too many requests in flight on this connection (limit %u)",
                   s->limits.max_inflight);
        return;
    }

    Ttrpc__Request *req = ttrpc__request__unpack(NULL, f->header.length, f->data);
    if (!req) {
        conn_sendf(c, id, TTRPC_INVALID_ARGUMENT, "malformed ttrpc request");
        return;
    }

    const struct service_entry *svc = find_service(s, req->service);
    const ProtobufCMethodDescriptor *method =
        svc ? protobuf_c_service_descriptor_get_method_by_name(svc->desc, req->method) : NULL;
    ttrpc_handler_fn handler = method ? svc->handlers[method - svc->desc->methods] : NULL;
    if (!svc)
        conn_sendf(c, id, TTRPC_UNIMPLEMENTED, "service %.200s", req->service);
    else if (!method)
        conn_sendf(c, id, TTRPC_UNIMPLEMENTED, "method %.200s", req->method);
    else if (!handler)
        conn_sendf(c, id, TTRPC_UNIMPLEMENTED, "%s.%s is not implemented", svc->desc->name,
                   method->name);
    if (!handler) {
        ttrpc__request__free_unpacked(req, NULL);
        return;
    }

    ProtobufCMessage *msg =
        protobuf_c_message_unpack(method->input, NULL, req->payload.len, req->payload.data);
    if (!msg) {
        conn_sendf(c, id, TTRPC_INVALID_ARGUMENT, "malformed %s payload for %s",
                   method->input->name, method->name);
        ttrpc__request__free_unpacked(req, NULL);
        return;
    }
    struct ttrpc_call *call = call_new(c, id, req, method, msg);
    handler(call, msg, svc->userdata);
}

static void conn_read(struct conn *c)
{
    int n = ttrpc_frame_reader_fill(&c->reader, c->fd);
    if (n == -EAGAIN)
        return;
    if (n <= 0) {
        if (n == 0 && ttrpc_frame_reader_partial(&c->reader))
            log_debug("ttrpc server: peer closed in the middle of a frame");
        conn_close(c, n == 0 ? "peer closed" : "read failed");
        return;
    }
    c->processing = true;
    while (!c->closed) {
        struct ttrpc_frame f;
        enum ttrpc_frame_result r = ttrpc_frame_reader_next(&c->reader, &f);
        if (r == TTRPC_FRAME_NEED_MORE)
            break;
        if (r == TTRPC_FRAME_TOO_LARGE)
            conn_sendf(c, f.header.stream_id, TTRPC_RESOURCE_EXHAUSTED,
                       "message length %u exceeds maximum message size of %u", f.header.length,
                       TTRPC_MAX_MESSAGE);
        else
            handle_request(c, &f);
    }
    c->processing = false;
    conn_flush(c);
}

static void conn_io(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    (void)s;
    (void)fd;
    struct conn *c = userdata;
    c->refs++;
    if (revents & EPOLLOUT)
        conn_flush(c);
    if (!c->closed && (revents & EPOLLIN))
        conn_read(c);
    else if (!c->closed && (revents & (EPOLLHUP | EPOLLERR)))
        conn_close(c, "hang-up");
    conn_unref(c);
}

static void conn_close(struct conn *c, const char *why)
{
    if (c->closed)
        return;
    struct ttrpc_server *s = c->server;
    log_debug("ttrpc server: closing connection: %s", why);
    c->closed = true;
    c->io = loop_source_free(c->io);
    c->fd = fd_close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    c->server = NULL;

    /* Nobody can receive the replies now; tell the holders. Callbacks may
     * finish any call, so rescan from the head after each one. */
    c->refs++;
    for (;;) {
        struct ttrpc_call *call = c->calls;
        while (call && call->notified)
            call = call->next;
        if (!call)
            break;
        call->answered = call->cancelled = true;
        call_notify_cancel(call);
    }
    c->refs--; /* the scan's; the open connection's reference is still held */
    conn_unref(c); /* the open connection's reference */
    if (s->conn_closed_fn)
        s->conn_closed_fn(s, s->conn_closed_userdata);
    server_check_shutdown(s);
}

int ttrpc_server_add_connection(struct ttrpc_server *s, int fd)
{
    if (s->shutting_down) {
        fd_close(fd);
        return -ESHUTDOWN;
    }
    if (s->n_conns >= s->limits.max_connections) {
        fd_close(fd);
        return -EMFILE;
    }
    struct conn *c = xzalloc(sizeof(*c));
    c->server = s;
    c->fd = fd;
    c->refs = 1;
    ttrpc_frame_reader_init(&c->reader);
    socklen_t len = sizeof(c->cred);
    c->have_cred = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &len) == 0 &&
                   len == sizeof(c->cred);
    int r = loop_add_io(s->loop, fd, EPOLLIN, conn_io, c, &c->io);
    if (r < 0) {
        fd_close(fd);
        free(c);
        return r;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    return 0;
}

/* ---- listeners ---- */

static void listener_io(struct loop_source *src, int fd, uint32_t revents, void *userdata)
{
    (void)src;
    (void)revents;
    struct listener *l = userdata;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_errno(LOG_DEBUG, -errno, "ttrpc server: accept failed");
            return;
        }
        int r = ttrpc_server_add_connection(l->server, cfd);
        if (r < 0)
            log_errno(LOG_DEBUG, r, "ttrpc server: connection refused");
    }
}

int ttrpc_server_listen_fd(struct ttrpc_server *s, int listen_fd)
{
    struct listener *l = xzalloc(sizeof(*l));
    l->server = s;
    l->fd = listen_fd;
    int r = loop_add_io(s->loop, listen_fd, EPOLLIN, listener_io, l, &l->source);
    if (r < 0) {
        fd_close(listen_fd);
        free(l);
        return r;
    }
    l->next = s->listeners;
    s->listeners = l;
    return 0;
}

static void close_listeners(struct ttrpc_server *s)
{
    while (s->listeners) {
        struct listener *l = s->listeners;
        s->listeners = l->next;
        loop_source_free(l->source);
        fd_close(l->fd);
        free(l);
    }
}

/* ---- shutdown ---- */

static void shutdown_done(struct loop_source *src, void *userdata)
{
    struct ttrpc_server *s = userdata;
    (void)src;
    s->done_defer = loop_source_free(s->done_defer);
    if (s->done_fn)
        s->done_fn(s, s->done_userdata);
}

static void server_check_shutdown(struct ttrpc_server *s)
{
    if (!s->shutting_down || s->n_conns > 0 || s->done_defer)
        return;
    s->shutdown_timer = loop_source_free(s->shutdown_timer);
    /* From the loop, not from inside whatever closed the last connection. */
    loop_add_defer(s->loop, shutdown_done, s, &s->done_defer);
}

static void shutdown_timeout(struct loop_source *src, void *userdata)
{
    (void)src;
    struct ttrpc_server *s = userdata;
    while (s->conns)
        conn_close(s->conns, "shutdown timeout");
}

void ttrpc_server_shutdown(struct ttrpc_server *s, uint64_t timeout_ns, ttrpc_server_done_fn done,
                           void *userdata)
{
    if (s->shutting_down)
        return;
    s->shutting_down = true;
    s->done_fn = done;
    s->done_userdata = userdata;
    close_listeners(s);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_update_events(c);
        conn_maybe_finish_shutdown(c);
    }
    if (s->conns && timeout_ns)
        loop_add_timer(s->loop, loop_now() + timeout_ns, shutdown_timeout, s, &s->shutdown_timer);
    server_check_shutdown(s);
}

unsigned ttrpc_server_connection_count(const struct ttrpc_server *s)
{
    return s->n_conns;
}

void ttrpc_server_on_connection_closed(struct ttrpc_server *s, ttrpc_server_conn_closed_fn fn,
                                       void *userdata)
{
    s->conn_closed_fn = fn;
    s->conn_closed_userdata = userdata;
}

struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *s)
{
    if (!s)
        return NULL;
    close_listeners(s);
    s->shutting_down = true;
    s->done_fn = NULL;
    s->conn_closed_fn = NULL;
    while (s->conns)
        conn_close(s->conns, "server freed");
    loop_source_free(s->shutdown_timer);
    loop_source_free(s->done_defer);
    for (size_t i = 0; i < s->n_services; i++)
        free(s->services[i].handlers);
    free(s->services);
    free(s);
    return NULL;
}
