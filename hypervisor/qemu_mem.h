/* Giving back host memory a running VMM holds but no longer needs.
 *
 * QEMU keeps its -kernel file mapped for the whole life of the VM, only to
 * copy the kernel into guest RAM again on a reset; once the VM runs, those
 * file pages (~50 MB for Debian's cloud kernel) are the largest item of a
 * lone VM's PSS. qemu_mem_page_out_file() asks the kernel to reclaim one
 * process's mappings of one file (process_madvise(MADV_PAGEOUT), Linux 5.10,
 * CAP_SYS_NICE); the mapping stays valid and refaults from the file if it is
 * ever read again. Pages another process maps too are left alone by the
 * kernel. No logging: results are 0 or more / negative errno, the caller
 * decides what to say. qemu_mem_file_ranges() is the pure parsing half. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct qemu_mem_range {
    uintptr_t start;
    size_t len;
};

/* The mappings of the file (dev, ino) in a /proc/PID/maps text: stores up
 * to max of them in ret and returns how many there are (which may be more
 * than max), or -EINVAL when a line is malformed. */
int qemu_mem_file_ranges(const char *maps, dev_t dev, ino_t ino, struct qemu_mem_range *ret,
                         size_t max);

/* Pages out the mappings of path in process pid (pidfd: the same process,
 * which keeps a reused pid from being touched). Returns the bytes of
 * mappings advised (0 when the file is not mapped); -ENOSYS on kernels
 * without process_madvise (before 5.10; MADV_PAGEOUT came in 5.4), -EPERM
 * without CAP_SYS_NICE, -ESRCH when the process is gone. */
long qemu_mem_page_out_file(int pidfd, pid_t pid, const char *path);
