/* The test service kata.testing.Echo (protos/testing/echo.proto) served by
 * our C ttRPC server, shared by the interop tests and the benchmark; the Go
 * peer (tests/interop/go/ttrpcpeer) implements the same behaviour.
 *
 * An echo_service lives on one loop thread, like the ttrpc_server it is
 * registered on. Sleep calls are held as deferred replies on loop timers;
 * freeing the service fails the ones still pending with UNAVAILABLE, and a
 * call cancelled by the server (peer gone, deadline) is finished and freed
 * at once, so the service and the server may be freed in either order.
 * echo_service_thread runs a complete server on its own thread and loop for
 * tests whose client is another process. Errors are negative errno values. */
#pragma once

struct loop;
struct ttrpc_server;
struct echo_service;
struct echo_service_thread;

/* Registers kata.testing.Echo on server: every method but Unserved. */
int echo_service_new(struct loop *loop, struct ttrpc_server *server,
                     struct echo_service **ret_service);
/* NULL-safe, returns NULL. */
struct echo_service *echo_service_free(struct echo_service *service);
/* Sleep calls currently held. */
unsigned echo_service_pending_sleeps(const struct echo_service *service);

/* A listening, non-blocking, close-on-exec unix socket at path (an existing
 * file there is replaced). */
int echo_service_listen_unix(const char *path, int *ret_fd);
/* A connected, non-blocking, close-on-exec unix socket. */
int echo_service_connect_unix(const char *path, int *ret_fd);

/* Starts a thread running a loop with an Echo server listening at path.
 * The socket accepts connections when this returns. */
int echo_service_thread_start(const char *path, struct echo_service_thread **ret_thread);
/* Stops the loop, joins the thread, frees everything and unlinks the
 * socket. NULL-safe, returns NULL. */
struct echo_service_thread *echo_service_thread_stop(struct echo_service_thread *t);

static inline void echo_service_thread_stopp(struct echo_service_thread **t)
{
    *t = echo_service_thread_stop(*t);
}
#define _cleanup_echo_service_thread_ __attribute__((cleanup(echo_service_thread_stopp)))
