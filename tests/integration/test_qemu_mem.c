/* hypervisor/qemu_mem.c against the real kernel, without QEMU: a child
 * process maps a file from disk and reads all of it, as QEMU does with its
 * -kernel ELF; qemu_mem_page_out_file() through the child's pidfd must take
 * those pages out of the child's RSS, leave pages another process also maps
 * alone, and answer -ESRCH once the child is gone. Skips where the kernel
 * lacks process_madvise/MADV_PAGEOUT, without CAP_SYS_NICE, or when the
 * scratch folder is not on a disk (shmem pages would need swap). */
#include "hypervisor/qemu_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define FILE_SIZE (8u << 20)

static char data_path[600];

/* A file on disk with FILE_SIZE bytes, written back so its pages are clean
 * (reclaim never writes dirty file pages from madvise). */
static int make_file(void)
{
    struct statfs fs;
    if (statfs(test_tmpdir(), &fs) < 0)
        return -errno;
    if (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)
        return -EXDEV;
    snprintf(data_path, sizeof(data_path), "%s/kernel.img", test_tmpdir());
    int fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    char buf[65536];
    int r = 0;
    for (unsigned off = 0; off < FILE_SIZE && r == 0; off += sizeof(buf)) {
        memset(buf, (int)(off >> 16) | 1, sizeof(buf));
        if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
            r = -EIO;
    }
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    return r;
}

/* Maps the file read-only, private (as QEMU's g_mapped_file does), reads
 * every page, reports on `ready` and waits to be killed. */
static void child_map_and_wait(int ready)
{
    int fd = open(data_path, O_RDONLY | O_CLOEXEC);
    volatile unsigned char *p =
        fd < 0 ? MAP_FAILED : mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    unsigned sum = 0;
    if (p != MAP_FAILED)
        for (size_t i = 0; i < FILE_SIZE; i += 4096)
            sum += p[i];
    char ok = p != MAP_FAILED && sum ? 'y' : 'n';
    if (write(ready, &ok, 1) != 1)
        _exit(1);
    for (;;)
        pause();
}

struct kid {
    pid_t pid;
    int pidfd;
};

static int start_kid(struct kid *k)
{
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0)
        return -errno;
    k->pid = fork();
    if (k->pid < 0)
        return -errno;
    if (k->pid == 0) {
        close(pp[0]);
        child_map_and_wait(pp[1]);
    }
    close(pp[1]);
    char ok = 0;
    ssize_t n = read(pp[0], &ok, 1);
    close(pp[0]);
    k->pidfd = (int)syscall(SYS_pidfd_open, k->pid, 0);
    return n == 1 && ok == 'y' && k->pidfd >= 0 ? 0 : -EIO;
}

static void stop_kid(struct kid *k)
{
    if (k->pid > 0) {
        kill(k->pid, SIGKILL);
        waitpid(k->pid, NULL, 0);
        k->pid = 0;
    }
    if (k->pidfd >= 0)
        close(k->pidfd);
    k->pidfd = -1;
}

/* The child's resident kB in mappings of data_path (/proc/PID/smaps). */
static long mapped_rss_kb(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long total = 0;
    bool in = false;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        long v;
        /* A mapping's header line, "lo-hi perms ...", then its fields. */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = strstr(line, data_path) != NULL;
        else if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
            total += v;
    }
    fclose(f);
    return total;
}

/* Runs the page-out once to tell "cannot here" (skip) from a failure. */
static int usable(struct kid *k, long *ret)
{
    *ret = qemu_mem_page_out_file(k->pidfd, k->pid, data_path);
    if (*ret == -ENOSYS)
        return test_skip("kernel without process_madvise (Linux 5.10)");
    if (*ret == -EPERM)
        return test_skip("process_madvise needs CAP_SYS_NICE");
    return 0;
}

TEST(pages_out_a_file_mapping)
{
    int r = make_file();
    if (r == -EXDEV)
        return test_skip("scratch folder %s is in memory (tmpfs)", test_tmpdir());
    ASSERT_OK(r);
    struct kid k = {0, -1};
    ASSERT_OK(start_kid(&k));
    long before = mapped_rss_kb(k.pid);
    long done;
    r = usable(&k, &done);
    if (r) {
        stop_kid(&k);
        return r;
    }
    long after = mapped_rss_kb(k.pid);
    printf("#   mapped RSS %ld kB -> %ld kB (advised %ld bytes)\n", before, after, done);
    stop_kid(&k);
    ASSERT_EQ(done, FILE_SIZE);
    ASSERT_GE(before, FILE_SIZE / 1024 * 9 / 10);
    /* All of it clean and mapped once: nothing is left resident. */
    ASSERT_LT(after, before / 4);
    return 0;
}

TEST(pages_shared_with_another_process_stay)
{
    int r = make_file();
    if (r == -EXDEV)
        return test_skip("scratch folder %s is in memory (tmpfs)", test_tmpdir());
    ASSERT_OK(r);
    struct kid a = {0, -1}, b = {0, -1};
    ASSERT_OK(start_kid(&a));
    if (start_kid(&b) < 0) {
        stop_kid(&a);
        ASSERT_TRUE(!"second child");
    }
    long before = mapped_rss_kb(a.pid), done;
    r = usable(&a, &done);
    long after = mapped_rss_kb(a.pid);
    stop_kid(&b);
    stop_kid(&a);
    if (r)
        return r;
    printf("#   shared: mapped RSS %ld kB -> %ld kB\n", before, after);
    ASSERT_EQ(done, FILE_SIZE);
    /* Another VM still reads these pages: the kernel keeps them. */
    ASSERT_GE(after, before * 9 / 10);
    return 0;
}

TEST(unmapped_file_and_dead_process)
{
    int r = make_file();
    if (r == -EXDEV)
        return test_skip("scratch folder %s is in memory (tmpfs)", test_tmpdir());
    ASSERT_OK(r);
    struct kid k = {0, -1};
    ASSERT_OK(start_kid(&k));
    /* A file the process does not map: nothing to do. */
    ASSERT_EQ(qemu_mem_page_out_file(k.pidfd, k.pid, "/etc/hostname"), 0);
    ASSERT_EQ(qemu_mem_page_out_file(k.pidfd, k.pid, "/nonexistent/kernel"), -ENOENT);
    int pidfd = k.pidfd;
    pid_t pid = k.pid;
    k.pidfd = -1;
    stop_kid(&k);
    /* Gone and reaped: its /proc entry is gone, the pidfd says so. */
    long got = qemu_mem_page_out_file(pidfd, pid, data_path);
    close(pidfd);
    ASSERT_EQ(got, -ESRCH);
    return 0;
}
