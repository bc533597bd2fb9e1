/* Fuzz target: the frame reader. Input bytes arrive in chunks whose sizes
 * come from the input itself, so headers split across reads, oversized
 * announcements and skipped bodies are all explored. */
#include <assert.h>
#include <string.h>

#include "lib/ttrpc/frame.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ttrpc_frame_reader r;
    ttrpc_frame_reader_init(&r);
    size_t pos = 0;
    while (pos < size) {
        size_t chunk = 1 + data[pos] % 64u;
        pos++;
        if (chunk > size - pos)
            chunk = size - pos;
        ttrpc_frame_reader_push(&r, data + pos, chunk);
        pos += chunk;
        struct ttrpc_frame f;
        enum ttrpc_frame_result res;
        while ((res = ttrpc_frame_reader_next(&r, &f)) != TTRPC_FRAME_NEED_MORE) {
            if (res == TTRPC_FRAME_READY) {
                assert(f.header.length <= TTRPC_MAX_MESSAGE);
                /* Touch every byte so ASan checks the frame lies in the buffer. */
                volatile uint8_t sum = 0;
                for (uint32_t i = 0; i < f.header.length; i++)
                    sum = (uint8_t)(sum + f.data[i]);
                (void)sum;
            } else {
                assert(f.header.length > TTRPC_MAX_MESSAGE);
            }
        }
        /* Nothing the peer announces makes the buffer exceed one frame plus a read. */
        assert(r.cap <= 2u * (TTRPC_MAX_MESSAGE + TTRPC_HEADER_SIZE) + 65536u);
    }
    ttrpc_frame_reader_done(&r);
    return 0;
}
