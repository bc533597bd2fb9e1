/* Fuzz target: a /proc/PID/maps text as qemu_mem_file_ranges() reads it
 * (hypervisor/qemu_mem.h). The kernel writes that text, but the process it
 * describes (QEMU) chooses its mappings and their file names. Whatever is
 * accepted must describe non-empty ranges that do not wrap, and the count
 * must not depend on how much room the caller gave. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "hypervisor/qemu_mem.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct qemu_mem_range r[4];
    /* fe:01 inode 1234, the device and inode of the seed corpus's kernel. */
    int n = qemu_mem_file_ranges(text, makedev(0xfe, 0x01), 1234, r, 4);
    int again = qemu_mem_file_ranges(text, makedev(0xfe, 0x01), 1234, NULL, 0);
    assert(n == again);
    for (int i = 0; i < n && i < 4; i++)
        assert(r[i].len > 0 && r[i].start + r[i].len > r[i].start);
    free(text);
    return 0;
}
