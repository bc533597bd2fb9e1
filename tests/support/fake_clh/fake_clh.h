/* A stand-in for Cloud Hypervisor's API server, for tests (Cloud Hypervisor
 * is not packaged in Debian 12).
 *
 * It listens on a unix socket and speaks enough HTTP/1.1 (keep-alive,
 * Content-Length, PUT/GET, SCM_RIGHTS fds on vm.add-net) to serve
 * /api/v1/vmm.ping, vmm.shutdown, vm.create, vm.boot, vm.info, vm.pause,
 * vm.resume, vm.shutdown, vm.add-disk, vm.add-net, vm.add-fs and
 * vm.remove-device. Every request is checked against Cloud Hypervisor's
 * OpenAPI spec and HTTP handlers (method, body or no body, required fields
 * and their JSON types, semantic checks done at boot) and answered with the
 * status and body shape CLH uses, including wrong-state errors. A request
 * real CLH would refuse is also counted as a violation. With a VmConfig that
 * has a vsock, it serves hybrid vsock on that socket: "CONNECT <port>\n" is
 * answered "OK <n>\n" and proxied to a unix socket the test names.
 *
 * One server thread (plus one per vsock proxy); the API is called from the
 * test's thread. Errors are negative errno values. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct fake_clh;

struct fake_clh_opts {
    const char *api_socket; /* path to listen on; or */
    int api_fd;             /* an already listening socket (--api-socket fd=N); -1: none */
    /* "PORT=PATH[,PORT=PATH]": where guest vsock ports lead; NULL: nowhere */
    const char *vsock_targets;
    /* Fault injection "ENDPOINT:MODE", e.g. "vm.boot:die", "vmm.ping:bad-json".
     * Modes: die, hang, close, bad-status, bad-json, wrong-shape, huge-body,
     * huge-head, length-mismatch, no-content-type, chunked, error-500,
     * body-on-204, not-found. NULL: none. */
    const char *fault;
    /* Appends one JSON line per request ({method, path, body, fds}) here. */
    const char *record_path;
};

/* Starts the server on its own thread. */
int fake_clh_start(const struct fake_clh_opts *o, struct fake_clh **ret);
/* Stops the server (if vmm.shutdown did not already), joins, frees. NULL-safe. */
struct fake_clh *fake_clh_stop(struct fake_clh *f);
/* Runs the server on the calling thread until vmm.shutdown; for the fake
 * binary. Returns the process exit code. */
int fake_clh_run(const struct fake_clh_opts *o);
/* Requests that broke CLH's documented API so far. */
unsigned fake_clh_violations(const struct fake_clh *f);

static inline void fake_clh_stopp(struct fake_clh **f)
{
    *f = fake_clh_stop(*f);
}
#define _cleanup_fake_clh_ __attribute__((cleanup(fake_clh_stopp)))
