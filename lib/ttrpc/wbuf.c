/* Output queue, see wbuf.h. */
#include "lib/ttrpc/wbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/xalloc.h"

/* Buffers above this size are released once drained, so one burst of large
 * replies does not pin memory for the connection's lifetime. */
#define WBUF_KEEP (256u * 1024u)

void ttrpc_wbuf_done(struct ttrpc_wbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

uint8_t *ttrpc_wbuf_reserve(struct ttrpc_wbuf *b, size_t n)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->cap - b->end >= n)
        return b->data + b->end;
    if (b->start > 0) {
        memmove(b->data, b->data + b->start, b->end - b->start);
        b->end -= b->start;
        b->start = 0;
        if (b->cap - b->end >= n)
            return b->data + b->end;
    }
    size_t cap = b->cap ? b->cap : 16384;
    while (cap - b->end < n)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return b->data + b->end;
}

void ttrpc_wbuf_commit(struct ttrpc_wbuf *b, size_t n)
{
    b->end += n;
}

int ttrpc_wbuf_flush(struct ttrpc_wbuf *b, int fd)
{
    while (b->start < b->end) {
        ssize_t n = send(fd, b->data + b->start, b->end - b->start, MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK)
            /* virtio-serial ports and pipes are not sockets. */
            n = write(fd, b->data + b->start, b->end - b->start);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return -EAGAIN;
            return -errno;
        }
        /* A virtio-serial port answers 0 when its ring had no room after
         * all; retrying at once would spin until the host drains it. Wait
         * for EPOLLOUT instead, as for EAGAIN. */
        if (n == 0)
            return -EAGAIN;
        b->start += (size_t)n;
    }
    b->start = b->end = 0;
    if (b->cap > WBUF_KEEP) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
    return 0;
}
