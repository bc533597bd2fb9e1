/* The real guest in real QEMU with the memory and entropy keys of
 * [hypervisor.qemu] (hv_config's mem_prealloc, hugepages, entropy_source):
 * the VM boots to a serving agent that answers Health.Check, QEMU got the
 * backend and rng file asked for, and the memory really is what was asked:
 * preallocated guest RAM is resident in QEMU before the guest could touch
 * it, and huge-page RAM is taken from the host's huge page pool (which the
 * test reserves for itself and gives back, or skips when it cannot). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "tests/harness/harness.h"
#include "tests/support/vm_agent.h"

#define MEMORY_MIB 256u
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

/* The VMM's pid, from the pidfd's fdinfo. */
static int vmm_pid(const struct vma_vm *v)
{
    char path[64], line[256];
    int pid = -1;
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", hv_vm_pidfd(v->hv));
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Pid: %d", &pid) == 1)
            break;
    fclose(f);
    return pid;
}

/* Does QEMU's command line hold this argument? */
static bool cmdline_has(int pid, const char *arg)
{
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    for (char *p = buf; p < buf + n; p += strlen(p) + 1)
        if (strcmp(p, arg) == 0)
            return true;
    printf("#   QEMU's command line lacks %s\n", arg);
    return false;
}

/* A "Key:  N kB" (or plain N) line of a /proc status-like file. */
static long proc_value(const char *path, const char *key)
{
    char line[256];
    long v = -1;
    size_t klen = strlen(key);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int health_check(struct vma_vm *v)
{
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    char msg[256];
    int code = vma_call(v, "Check", &req.base, &grpc__health_check_response__descriptor, &resp,
                        msg, sizeof(msg));
    if (code != 0)
        printf("#   Health.Check: %d %s\n", code, msg);
    ASSERT_EQ(code, 0);
    ASSERT_EQ(((Grpc__HealthCheckResponse *)resp)->status,
              GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

/* enable_mem_prealloc: every page of guest RAM is resident in QEMU as soon
 * as it runs (a 256 MiB guest booted to its agent touches far less without
 * it); entropy_source /dev/random is QEMU's rng file. */
TEST(prealloc_and_entropy_source_boot)
{
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", false);
    if (r)
        return r;
    _cleanup_(vma_done) struct vma_vm v = {0};
    struct vma_opts o = {.name = "prealloc", .guest = &g, .shared_fs = HV_SHARED_FS_NONE,
                         .memory_mib = MEMORY_MIB, .entropy_source = "/dev/random",
                         .mem_prealloc = true};
    ASSERT_EQ(vma_boot(&v, &o), 0);
    ASSERT_EQ(health_check(&v), 0);
    int pid = vmm_pid(&v);
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(cmdline_has(pid, "rng-random,id=rng0,filename=/dev/random"));
    char want[96];
    snprintf(want, sizeof(want), "memory-backend-ram,id=mem0,size=%uM,prealloc=on", MEMORY_MIB);
    ASSERT_TRUE(cmdline_has(pid, want));
    char status[64];
    snprintf(status, sizeof(status), "/proc/%d/status", pid);
    long rss_kib = proc_value(status, "VmRSS");
    printf("#   QEMU VmRSS %ld kB for %u MiB of preallocated guest RAM\n", rss_kib, MEMORY_MIB);
    ASSERT_GE(rss_kib, (long)MEMORY_MIB * 1024);
    ASSERT_EQ(vma_stop(&v), 0);
    return 0;
}

/* Restores vm.nr_hugepages to what it was before the test raised it. */
struct hugepool {
    long before; /* -1: untouched */
};

static int write_nr_hugepages(long n)
{
    FILE *f = fopen(NR_HUGEPAGES, "we");
    if (!f)
        return -errno;
    fprintf(f, "%ld\n", n);
    return fclose(f) == 0 ? 0 : -errno;
}

static void hugepool_restore(struct hugepool *p)
{
    if (p->before >= 0 && write_nr_hugepages(p->before) < 0)
        printf("#   could not restore %s to %ld\n", NR_HUGEPAGES, p->before);
}

/* enable_hugepages: guest RAM comes out of the host's pool of huge pages
 * (a hugetlb memfd, preallocated, shared with virtiofsd when virtio-fs is
 * used): while the VM runs, the pool has MEMORY_MIB fewer free MiB. */
TEST(hugepages_boot_from_the_pool)
{
    struct vma_guest g;
    int r = vma_guest_find(&g, "guest", true);
    if (r)
        return r;
    long page_kib = proc_value("/proc/meminfo", "Hugepagesize");
    if (page_kib <= 0)
        return test_skip("no huge page support in this kernel (Hugepagesize)");
    long need = (long)MEMORY_MIB * 1024 / page_kib;
    _cleanup_(hugepool_restore) struct hugepool pool = {-1};
    long total = proc_value("/proc/meminfo", "HugePages_Total");
    long free_pages = proc_value("/proc/meminfo", "HugePages_Free");
    if (free_pages < need) {
        if (geteuid() != 0)
            return test_skip("%ld free huge pages, %ld needed, and reserving more needs root",
                             free_pages, need);
        pool.before = total;
        if (write_nr_hugepages(total + need - free_pages) < 0)
            return test_skip("cannot write %s", NR_HUGEPAGES);
        free_pages = proc_value("/proc/meminfo", "HugePages_Free");
        if (free_pages < need)
            return test_skip("the host could only reserve %ld of %ld huge pages", free_pages,
                             need);
    }
    _cleanup_(vma_done) struct vma_vm v = {0};
    struct vma_opts o = {.name = "hugepages", .guest = &g, .shared_fs = HV_SHARED_FS_VIRTIO_FS,
                         .memory_mib = MEMORY_MIB, .hugepages = true};
    ASSERT_EQ(vma_boot(&v, &o), 0);
    ASSERT_EQ(health_check(&v), 0);
    int pid = vmm_pid(&v);
    ASSERT_GT(pid, 0);
    char want[128];
    snprintf(want, sizeof(want),
             "memory-backend-memfd,id=mem0,size=%uM,share=on,hugetlb=on,prealloc=on", MEMORY_MIB);
    ASSERT_TRUE(cmdline_has(pid, want));
    long in_use = free_pages - proc_value("/proc/meminfo", "HugePages_Free");
    printf("#   %ld huge pages of %ld kB taken by the VM\n", in_use, page_kib);
    ASSERT_GE(in_use, need);
    ASSERT_EQ(vma_stop(&v), 0);
    /* given back when QEMU is gone */
    ASSERT_GE(proc_value("/proc/meminfo", "HugePages_Free"), free_pages);
    return 0;
}
