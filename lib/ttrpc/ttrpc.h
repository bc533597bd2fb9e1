/* ttRPC client and server on protobuf-c, over any connected stream fd
 * (unix, vsock, hybrid vsock, virtio-serial).
 *
 * Wire: 10-byte big-endian frame header, 4 MiB per message, odd client
 * stream ids, ttrpc.Request/Response envelopes with gRPC status codes
 * (lib/ttrpc/frame.h holds the framing).
 *
 * Threading: everything runs on one lib/loop.h loop and no function may be
 * called from another thread. The server never blocks: a handler answers at
 * once or keeps its `struct ttrpc_call *` and answers later (long polls, or
 * after blocking work done on a lib/workpool.h pool), so one slow request
 * never stalls another. Every queue is bounded (struct ttrpc_limits); work
 * beyond a bound is refused with RESOURCE_EXHAUSTED.
 *
 * Ownership: a handler must finish each call exactly once, with
 * ttrpc_call_reply() or ttrpc_call_fail(), even after it was cancelled
 * (peer gone, deadline passed, server shut down); finishing a cancelled call
 * only frees it. A client callback runs exactly once per accepted call and
 * never from inside ttrpc_client_call(). Errors are negative errno values;
 * remote failures arrive as gRPC codes in struct ttrpc_status. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

struct loop;
struct err;

/* gRPC status codes, as google.rpc.Status carries them. */
enum ttrpc_code {
    TTRPC_OK = 0,
    TTRPC_CANCELLED = 1,
    TTRPC_UNKNOWN = 2,
    TTRPC_INVALID_ARGUMENT = 3,
    TTRPC_DEADLINE_EXCEEDED = 4,
    TTRPC_NOT_FOUND = 5,
    TTRPC_ALREADY_EXISTS = 6,
    TTRPC_PERMISSION_DENIED = 7,
    TTRPC_RESOURCE_EXHAUSTED = 8,
    TTRPC_FAILED_PRECONDITION = 9,
    TTRPC_ABORTED = 10,
    TTRPC_OUT_OF_RANGE = 11,
    TTRPC_UNIMPLEMENTED = 12,
    TTRPC_INTERNAL = 13,
    TTRPC_UNAVAILABLE = 14,
    TTRPC_DATA_LOSS = 15,
    TTRPC_UNAUTHENTICATED = 16,
};

/* "NOT_FOUND", ...; "CODE_<n>" style text for unknown values is not needed
 * by callers, so unknown codes give "UNKNOWN". */
const char *ttrpc_code_name(int code);
/* The project's one errno <-> gRPC mapping (STYLE.md, Errors). */
int ttrpc_code_from_errno(int negative_errno);
int ttrpc_errno_from_code(int code);

struct ttrpc_status {
    int code;            /* enum ttrpc_code; TTRPC_OK on success */
    const char *message; /* never NULL; "" on success */
};

/* One metadata entry; a key may repeat (one entry per value, as on the wire). */
struct ttrpc_kv {
    const char *key;
    const char *value;
};

/* Bounds for one server or client. Zero fields take the defaults below. */
struct ttrpc_limits {
    unsigned max_connections;     /* server: accepted connections (default 128) */
    unsigned max_inflight;        /* calls in flight per connection (default 1024) */
    size_t max_queued_bytes;      /* unsent output per connection before reads pause (16 MiB) */
};

/* ---- server ---- */

struct ttrpc_server;
struct ttrpc_call;

/* Called on the loop thread with the decoded request (owned by the call,
 * valid until the call is finished). */
typedef void (*ttrpc_handler_fn)(struct ttrpc_call *call, const ProtobufCMessage *request,
                                 void *userdata);
/* Called once if the call is cancelled before it was finished. */
typedef void (*ttrpc_cancel_fn)(struct ttrpc_call *call, void *userdata);
typedef void (*ttrpc_server_done_fn)(struct ttrpc_server *server, void *userdata);

int ttrpc_server_new(struct loop *loop, const struct ttrpc_limits *limits,
                     struct ttrpc_server **ret_server);
/* Closes every connection at once; calls still held by handlers are
 * cancelled (their cancel callbacks run) and must still be finished, which
 * then only frees them. NULL-safe, returns NULL. */
struct ttrpc_server *ttrpc_server_free(struct ttrpc_server *server);

/* Serves every method of `service` (a protoc-c service descriptor, whose
 * full name is the wire service string). handlers[i] serves
 * service->methods[i]; a NULL entry answers UNIMPLEMENTED naming the method.
 * The array is copied. -EEXIST if the service is already registered. */
int ttrpc_server_register(struct ttrpc_server *server, const ProtobufCServiceDescriptor *service,
                          const ttrpc_handler_fn *handlers, void *userdata);

/* Accepts connections on a listening socket; the server owns listen_fd. */
int ttrpc_server_listen_fd(struct ttrpc_server *server, int listen_fd);
/* Serves one already-connected stream fd; the server owns fd. */
int ttrpc_server_add_connection(struct ttrpc_server *server, int fd);

/* Graceful stop: stop accepting and reading new requests, let calls in
 * flight finish until timeout_ns (then cancel them), close the connections,
 * then call done (if given) from the loop. */
void ttrpc_server_shutdown(struct ttrpc_server *server, uint64_t timeout_ns,
                           ttrpc_server_done_fn done, void *userdata);

unsigned ttrpc_server_connection_count(const struct ttrpc_server *server);

/* Called each time a served connection is closed (peer hang-up, error,
 * shutdown), after its fd was closed; not while the server is being freed. */
typedef void (*ttrpc_server_conn_closed_fn)(struct ttrpc_server *server, void *userdata);
void ttrpc_server_on_connection_closed(struct ttrpc_server *server,
                                       ttrpc_server_conn_closed_fn fn, void *userdata);

/* Call accessors, valid until the call is finished. */
const char *ttrpc_call_service(const struct ttrpc_call *call);
const char *ttrpc_call_method(const struct ttrpc_call *call);
/* Absolute CLOCK_MONOTONIC deadline in ns, 0 when the client set none. */
uint64_t ttrpc_call_deadline(const struct ttrpc_call *call);
size_t ttrpc_call_metadata(const struct ttrpc_call *call, const struct ttrpc_kv **ret_kv);
/* First value for key, or NULL. */
const char *ttrpc_call_metadata_get(const struct ttrpc_call *call, const char *key);
bool ttrpc_call_cancelled(const struct ttrpc_call *call);
/* Peer credentials of a unix connection (uid, gid, pid); -ENOTSUP otherwise. */
int ttrpc_call_peer_cred(const struct ttrpc_call *call, uint32_t *ret_uid, uint32_t *ret_gid,
                         int32_t *ret_pid);
void ttrpc_call_on_cancel(struct ttrpc_call *call, ttrpc_cancel_fn fn, void *userdata);

/* Finishes the call with a response message of the method's output type. A
 * response that packs to more than 4 MiB is replaced by RESOURCE_EXHAUSTED. */
void ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *response);
/* Finishes the call with an error status (code != TTRPC_OK). */
void ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...) _printf_(3, 4);
/* Finishes the call with the gRPC code mapped from a negative errno. */
void ttrpc_call_fail_errno(struct ttrpc_call *call, int negative_errno, const char *fmt, ...)
    _printf_(3, 4);

/* ---- client ---- */

struct ttrpc_client;

/* status->code == TTRPC_OK: response is the decoded reply, borrowed for the
 * duration of the callback. Otherwise response is NULL. */
typedef void (*ttrpc_reply_fn)(const struct ttrpc_status *status, const ProtobufCMessage *response,
                               void *userdata);
/* The connection failed or the peer hung up; every pending call has already
 * failed with UNAVAILABLE. */
typedef void (*ttrpc_closed_fn)(struct ttrpc_client *client, void *userdata);

struct ttrpc_call_opts {
    uint64_t timeout_ns;             /* 0 = no deadline */
    const struct ttrpc_kv *metadata; /* sent in the request */
    size_t n_metadata;
};

/* Takes ownership of a connected stream fd. */
int ttrpc_client_new(struct loop *loop, int fd, const struct ttrpc_limits *limits,
                     struct ttrpc_client **ret_client);
/* Fails every pending call with CANCELLED (callbacks run), closes the fd.
 * NULL-safe, returns NULL. */
struct ttrpc_client *ttrpc_client_free(struct ttrpc_client *client);
void ttrpc_client_on_closed(struct ttrpc_client *client, ttrpc_closed_fn fn, void *userdata);
bool ttrpc_client_is_closed(const struct ttrpc_client *client);
size_t ttrpc_client_pending(const struct ttrpc_client *client);

/* Sends one unary call. The reply is decoded with response_type and checked
 * before the callback sees it. Local refusals return a negative errno and no
 * callback runs: -EPIPE (connection closed), -EMSGSIZE (request over 4 MiB),
 * -ENOBUFS (max_inflight reached). */
int ttrpc_client_call(struct ttrpc_client *client, const char *service, const char *method,
                      const ProtobufCMessage *request,
                      const ProtobufCMessageDescriptor *response_type,
                      const struct ttrpc_call_opts *opts, ttrpc_reply_fn fn, void *userdata);

/* Blocking convenience for single-threaded tools: sends the call and runs
 * the client's loop until it completes. Must not be called from a loop
 * callback. On success *ret_response is the caller's, freed with
 * protobuf_c_message_free_unpacked(). On a remote error returns the errno
 * mapped from the gRPC code, with the code and message in *e, formatted
 * "<CODE>: <message>"; ret_code (optional) receives the gRPC code. */
int ttrpc_client_call_sync(struct ttrpc_client *client, const char *service, const char *method,
                           const ProtobufCMessage *request,
                           const ProtobufCMessageDescriptor *response_type,
                           const struct ttrpc_call_opts *opts, ProtobufCMessage **ret_response,
                           int *ret_code, struct err *e);
