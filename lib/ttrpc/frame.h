/* ttRPC framing: a 10-byte header (u32 big-endian length, u32 big-endian
 * stream id, u8 type, u8 flags) before each message of at most 4 MiB.
 *
 * struct ttrpc_frame_reader turns a byte stream into frames without trusting
 * it: a header announcing more than TTRPC_MAX_MESSAGE is reported (so the
 * peer can be told RESOURCE_EXHAUSTED) and its body is skipped as it
 * arrives, never allocated. Buffers grow only to the size of the largest
 * frame actually being received. Pure code: no fds except in
 * ttrpc_frame_reader_fill(), no logging, errors are negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TTRPC_HEADER_SIZE 10
#define TTRPC_MAX_MESSAGE (4u << 20)

enum ttrpc_frame_type {
    TTRPC_TYPE_REQUEST = 1,
    TTRPC_TYPE_RESPONSE = 2,
    TTRPC_TYPE_DATA = 3,
};

struct ttrpc_frame_header {
    uint32_t length;
    uint32_t stream_id;
    uint8_t type;
    uint8_t flags;
};

void ttrpc_frame_header_encode(const struct ttrpc_frame_header *h, uint8_t out[TTRPC_HEADER_SIZE]);
void ttrpc_frame_header_decode(const uint8_t in[TTRPC_HEADER_SIZE], struct ttrpc_frame_header *h);

struct ttrpc_frame {
    struct ttrpc_frame_header header;
    const uint8_t *data; /* header.length bytes, valid until the reader changes */
};

struct ttrpc_frame_reader {
    uint8_t *buf;
    size_t cap;
    size_t start, end; /* unparsed bytes are buf[start, end) */
    uint64_t discard;  /* bytes of an oversized frame still to skip */
};

enum ttrpc_frame_result {
    TTRPC_FRAME_NEED_MORE = 0, /* no complete frame buffered */
    TTRPC_FRAME_READY = 1,     /* *ret_frame holds a frame */
    TTRPC_FRAME_TOO_LARGE = 2, /* ret_frame->header only; the body will be skipped */
};

void ttrpc_frame_reader_init(struct ttrpc_frame_reader *r);
void ttrpc_frame_reader_done(struct ttrpc_frame_reader *r);

/* Reads what the socket has (one read(2)) into the buffer. Returns the byte
 * count, 0 at end of stream, -EAGAIN when nothing is ready, or -errno. */
int ttrpc_frame_reader_fill(struct ttrpc_frame_reader *r, int fd);
/* Appends bytes as if they had been read (tests and fuzzing). */
void ttrpc_frame_reader_push(struct ttrpc_frame_reader *r, const uint8_t *data, size_t len);
/* Next frame from the buffer; see enum ttrpc_frame_result. */
enum ttrpc_frame_result ttrpc_frame_reader_next(struct ttrpc_frame_reader *r,
                                                struct ttrpc_frame *ret_frame);
/* True when bytes of an unfinished frame are buffered or being skipped: an
 * end of stream now means a truncated frame. */
bool ttrpc_frame_reader_partial(const struct ttrpc_frame_reader *r);
