/* Addresses of ttRPC peers, as URIs:
 *   unix:///abs/path   unix://@name       filesystem or abstract AF_UNIX socket
 *   vsock://CID:PORT                      AF_VSOCK; CID -1 is VMADDR_CID_ANY (listen)
 *   hvsock:///abs/path:PORT               hybrid vsock (Firecracker, Cloud Hypervisor)
 *   serial:///dev/vportNpM                a character device, e.g. a virtio-serial port
 *   vserial:///abs/path                   the host end of a virtio-serial port (QEMU's
 *                                         chardev socket): unix, plus lib/vport_sync.h's
 *                                         session sync at dial time
 * Parsing is strict: anything malformed is -EINVAL (-ENAMETOOLONG for a path
 * over 107 bytes) with a message naming the part at fault. Returned fds belong
 * to the caller and are non-blocking and close-on-exec. dial/listen block the
 * calling thread (dial for at most timeout_ns; 0 means no limit), so call them
 * from a worker or during start-up, not from a loop callback. No state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

enum transport_kind {
    TRANSPORT_UNIX,
    TRANSPORT_VSOCK,
    TRANSPORT_HVSOCK,
    TRANSPORT_SERIAL,
    TRANSPORT_VSERIAL,
};

#define TRANSPORT_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path): 107 bytes + NUL */

struct transport_addr {
    enum transport_kind kind;
    char path[TRANSPORT_PATH_MAX]; /* unix, hvsock, serial, vserial; abstract name without '@' */
    bool abstract;                 /* unix only */
    uint32_t cid;                  /* vsock only; VMADDR_CID_ANY for -1 */
    uint32_t port;                 /* vsock, hvsock */
};

/* Fills *ret_addr from uri; *ret_addr is untouched on failure. */
int transport_parse(const char *uri, struct transport_addr *ret_addr, struct err *e);

/* Writes the URI of a back into buf; returns its length, or -ENOSPC when
 * buf is too small, or -EINVAL for an unknown kind. */
int transport_format(const struct transport_addr *a, char *buf, size_t size);

/* Connects, and for hvsock performs the "CONNECT <port>\n" / "OK <n>\n"
 * handshake, all within timeout_ns (-ETIMEDOUT when it runs out). A serial
 * "dial" opens the device. Returns the fd or a negative errno. */
int transport_dial(const char *uri, uint64_t timeout_ns, struct err *e);

/* Returns a listening socket. A filesystem unix socket left behind by a dead
 * process is replaced; one with a live listener gives -EADDRINUSE (that
 * listener sees the liveness probe as one empty connection). For
 * hvsock the socket is PATH_PORT, where the VMM forwards guest connections to
 * PORT. serial is -EOPNOTSUPP. */
int transport_listen(const char *uri, struct err *e);
