/* Paging out a VMM's mappings of one file; see qemu_mem.h. */
#include "hypervisor/qemu_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/compiler.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

/* QEMU maps the kernel as a handful of segments; more than this many
 * mappings of one file means something else is going on: leave it. */
#define MAX_RANGES 64
/* /proc/PID/maps of a QEMU is ~20 KB; a bound keeps a runaway read short. */
#define MAPS_MAX (4u << 20)

int qemu_mem_file_ranges(const char *maps, dev_t dev, ino_t ino, struct qemu_mem_range *ret,
                         size_t max)
{
    size_t n = 0;
    for (const char *p = maps; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[256];
        /* Only the leading fields matter; a long path is cut, not misread. */
        size_t keep = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
        memcpy(line, p, keep);
        line[keep] = '\0';
        p += len + (eol ? 1 : 0);
        if (!keep)
            continue;
        uintmax_t lo, hi, inode;
        unsigned maj, min;
        /* "lo-hi perms offset MAJ:MIN inode [path]" (proc(5)). */
        if (sscanf(line, "%jx-%jx %*s %*s %x:%x %ju", &lo, &hi, &maj, &min, &inode) != 5 ||
            hi <= lo)
            return -EINVAL;
        if (inode != (uintmax_t)ino || maj != major(dev) || min != minor(dev))
            continue;
        if (n < max)
            ret[n] = (struct qemu_mem_range){.start = (uintptr_t)lo, .len = (size_t)(hi - lo)};
        n++;
    }
    return n > INT32_MAX ? -E2BIG : (int)n;
}

static ssize_t read_maps(pid_t pid, char **ret)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (cap - n < 4096) {
            char *nb = cap >= MAPS_MAX ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return -E2BIG;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = -errno;
            free(buf);
            return err;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *ret = buf;
    return (ssize_t)n;
}

long qemu_mem_page_out_file(int pidfd, pid_t pid, const char *path)
{
    struct stat st;
    if (pidfd < 0 || pid <= 0 || !path)
        return -EINVAL;
    if (stat(path, &st) < 0)
        return -errno;
    _cleanup_free_ char *maps = NULL;
    ssize_t r = read_maps(pid, &maps);
    if (r < 0)
        return r == -ENOENT ? -ESRCH : (long)r;
    struct qemu_mem_range rg[MAX_RANGES];
    int n = qemu_mem_file_ranges(maps, st.st_dev, st.st_ino, rg, MAX_RANGES);
    if (n < 0)
        return n;
    if (n == 0)
        return 0;
    if (n > MAX_RANGES)
        return -E2BIG;
    struct iovec iov[MAX_RANGES];
    for (int i = 0; i < n; i++)
        iov[i] = (struct iovec){.iov_base = (void *)rg[i].start, .iov_len = rg[i].len};
    /* The pidfd names the process /proc/PID/maps was read from as long as
     * that process lives; if it died meanwhile this is -ESRCH. */
    long done = syscall(SYS_process_madvise, pidfd, iov, (size_t)n, MADV_PAGEOUT, 0u);
    return done < 0 ? -errno : done;
}
