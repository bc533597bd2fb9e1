/* Fuzz target: the session-sync scanner on arbitrary port bytes, fed in
 * chunks whose sizes come from the input. A record it reports must really
 * start with the magic, and it never keeps more than one record. */
#include <assert.h>
#include <string.h>

#include "lib/vport_sync.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vport_sync_scanner s;
    vport_sync_scanner_init(&s);
    size_t pos = 0;
    while (pos < size) {
        size_t chunk = 1 + data[pos] % 40u;
        pos++;
        if (chunk > size - pos)
            chunk = size - pos;
        bool found = false;
        size_t used = vport_sync_scanner_feed(&s, data + pos, chunk, &found);
        assert(used <= chunk);
        assert(s.len <= VPORT_SYNC_RECORD_LEN);
        if (found) {
            assert(memcmp(s.buf, VPORT_SYNC_MAGIC, VPORT_SYNC_MAGIC_LEN) == 0);
            vport_sync_scanner_init(&s);
        }
        pos += used ? used : chunk;
    }
    return 0;
}
