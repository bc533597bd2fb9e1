/* ttRPC frame codec and incremental reader, see frame.h. */
#include "lib/ttrpc/frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/xalloc.h"

/* Enough for many small frames per read(2); large frames grow the buffer to
 * their own size and it shrinks back once they are consumed. */
#define READER_DEFAULT_CAP (64u * 1024u)

void ttrpc_frame_header_encode(const struct ttrpc_frame_header *h, uint8_t out[TTRPC_HEADER_SIZE])
{
    out[0] = (uint8_t)(h->length >> 24);
    out[1] = (uint8_t)(h->length >> 16);
    out[2] = (uint8_t)(h->length >> 8);
    out[3] = (uint8_t)h->length;
    out[4] = (uint8_t)(h->stream_id >> 24);
    out[5] = (uint8_t)(h->stream_id >> 16);
    out[6] = (uint8_t)(h->stream_id >> 8);
    out[7] = (uint8_t)h->stream_id;
    out[8] = h->type;
    out[9] = h->flags;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void ttrpc_frame_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame_header *h)
{
    h->length = be32(in);
    h->stream_id = be32(in + 4);
    h->type = in[8];
    h->flags = in[9];
}

void ttrpc_frame_reader_init(struct ttrpc_frame_reader *r)
{
    memset(r, 0, sizeof(*r));
}

void ttrpc_frame_reader_done(struct ttrpc_frame_reader *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* Makes room for `want` more bytes after r->end, compacting first. */
static void reserve(struct ttrpc_frame_reader *r, size_t want)
{
    if (r->start == r->end) {
        r->start = r->end = 0;
        /* Drop a buffer grown for one big frame once it is consumed. */
        if (r->cap > READER_DEFAULT_CAP && want <= READER_DEFAULT_CAP) {
            free(r->buf);
            r->buf = NULL;
            r->cap = 0;
        }
    }
    if (r->cap - r->end >= want)
        return;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        if (r->cap - r->end >= want)
            return;
    }
    size_t cap = r->cap ? r->cap : READER_DEFAULT_CAP;
    while (cap - r->end < want)
        cap *= 2;
    r->buf = xrealloc(r->buf, cap);
    r->cap = cap;
}

/* Bytes the next frame needs in the buffer: its header, then its body. */
static size_t bytes_wanted(const struct ttrpc_frame_reader *r)
{
    size_t have = r->end - r->start;
    if (have < TTRPC_HEADER_SIZE)
        return TTRPC_HEADER_SIZE - have;
    uint32_t len = be32(r->buf + r->start);
    if (len > TTRPC_MAX_MESSAGE)
        return 0;
    size_t total = TTRPC_HEADER_SIZE + (size_t)len;
    return total > have ? total - have : 0;
}

int ttrpc_frame_reader_fill(struct ttrpc_frame_reader *r, int fd)
{
    /* While an oversized body is being skipped the buffer holds only its
     * bytes, which next() drops; a plain chunk is enough then. */
    size_t want = r->discard ? 0 : bytes_wanted(r);
    reserve(r, want > READER_DEFAULT_CAP / 2 ? want : READER_DEFAULT_CAP / 2);
    size_t room = r->cap - r->end;
    ssize_t n;
    do
        n = read(fd, r->buf + r->end, room);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    r->end += (size_t)n;
    return n > INT32_MAX ? INT32_MAX : (int)n;
}

void ttrpc_frame_reader_push(struct ttrpc_frame_reader *r, const uint8_t *data, size_t len)
{
    if (len == 0)
        return;
    reserve(r, len);
    memcpy(r->buf + r->end, data, len);
    r->end += len;
}

enum ttrpc_frame_result ttrpc_frame_reader_next(struct ttrpc_frame_reader *r,
                                                struct ttrpc_frame *ret_frame)
{
    if (r->discard) {
        size_t have = r->end - r->start;
        size_t skip = r->discard < have ? (size_t)r->discard : have;
        r->start += skip;
        r->discard -= skip;
        if (r->discard)
            return TTRPC_FRAME_NEED_MORE;
    }
    size_t have = r->end - r->start;
    if (have < TTRPC_HEADER_SIZE)
        return TTRPC_FRAME_NEED_MORE;

    struct ttrpc_frame_header h;
    ttrpc_frame_header_decode(r->buf + r->start, &h);
    if (h.length > TTRPC_MAX_MESSAGE) {
        r->start += TTRPC_HEADER_SIZE;
        r->discard = h.length;
        ret_frame->header = h;
        ret_frame->data = NULL;
        return TTRPC_FRAME_TOO_LARGE;
    }
    if (have - TTRPC_HEADER_SIZE < h.length)
        return TTRPC_FRAME_NEED_MORE;
    ret_frame->header = h;
    ret_frame->data = r->buf + r->start + TTRPC_HEADER_SIZE;
    r->start += TTRPC_HEADER_SIZE + h.length;
    return TTRPC_FRAME_READY;
}

bool ttrpc_frame_reader_partial(const struct ttrpc_frame_reader *r)
{
    return r->discard > 0 || r->end > r->start;
}
