/* Output byte queue for a ttRPC connection (internal to lib/ttrpc). Frames
 * are encoded straight into it and written with as few write(2) calls as
 * possible. The owner bounds its size; the queue itself only grows. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ttrpc_wbuf {
    uint8_t *data;
    size_t cap;
    size_t start, end; /* unsent bytes are data[start, end) */
};

void ttrpc_wbuf_done(struct ttrpc_wbuf *b);
static inline size_t ttrpc_wbuf_len(const struct ttrpc_wbuf *b)
{
    return b->end - b->start;
}
/* Room for n more bytes at the returned pointer; ttrpc_wbuf_commit() them. */
uint8_t *ttrpc_wbuf_reserve(struct ttrpc_wbuf *b, size_t n);
void ttrpc_wbuf_commit(struct ttrpc_wbuf *b, size_t n);
/* Writes what the fd takes: 0 when the queue is empty, -EAGAIN when bytes
 * remain, -errno on failure (-EPIPE when the peer is gone). */
int ttrpc_wbuf_flush(struct ttrpc_wbuf *b, int fd);
