/* Session start on a virtio-serial agent port.
 *
 * A virtio-serial port outlives the host's connections to it: bytes one
 * host session left in either direction are delivered to the next one. So
 * each session begins with a sync record: the host writes MAGIC + a random
 * nonce, the guest discards everything before it and echoes the record, and
 * the host discards everything before the echo of its own nonce. After that
 * both directions are aligned and carry ttRPC frames.
 *
 * vport_sync_host() is the host's blocking half (dial time, worker threads).
 * struct vport_sync_scanner is the guest's incremental half, fed from its
 * event loop. No state beyond the structs; errors are negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

#define VPORT_SYNC_MAGIC "\0kata-vport-sync" /* 16 bytes, with the leading NUL */
#define VPORT_SYNC_MAGIC_LEN 16
#define VPORT_SYNC_NONCE_LEN 16
#define VPORT_SYNC_RECORD_LEN (VPORT_SYNC_MAGIC_LEN + VPORT_SYNC_NONCE_LEN)

/* Writes a fresh sync record on a connected fd and waits (poll, until the
 * absolute CLOCK_MONOTONIC deadline_ns; UINT64_MAX = none) for its echo,
 * discarding stale bytes. -ETIMEDOUT, -ECONNRESET (peer closed) or -EPROTO
 * (more than max_stale bytes of garbage) with a message in e. */
int vport_sync_host(int fd, uint64_t deadline_ns, size_t max_stale, struct err *e);

struct vport_sync_scanner {
    uint8_t buf[VPORT_SYNC_RECORD_LEN];
    size_t len;        /* bytes of a possible record kept in buf */
    uint64_t discarded;
};

void vport_sync_scanner_init(struct vport_sync_scanner *s);
/* Consumes bytes until a whole record is seen; returns how many bytes of
 * data were consumed. *ret_found is set when s->buf holds the record, which
 * the guest then writes back unchanged. */
size_t vport_sync_scanner_feed(struct vport_sync_scanner *s, const uint8_t *data, size_t len,
                               bool *ret_found);
