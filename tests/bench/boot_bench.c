/* Boot benchmark (tests/bench/boot runs it; figures in docs/performance.md).
 *
 * ready: hv_vm_new + hv_vm_start through the QEMU driver (virtio-fs, the
 *        default) with the real guest initrd until kata-agent, as PID 1,
 *        answers Health.Check over the channel the driver chose;
 * bare:  the same kernel, same driver and accel, an initrd whose /init
 *        prints a marker and powers off (no modules loaded, no channel).
 * Rounds are interleaved so host noise hits both alike. Then QEMU's and
 * virtiofsd's RSS/PSS after boot for 256 MiB and 2 GiB guests. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hypervisor/hv.h"
#include "lib/err.h"
#include "kata/health.pb-c.h"
#include "lib/fd.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"

#define SEC 1000000000ull

static char kernel[PATH_MAX], initrd_ready[PATH_MAX], initrd_bare[PATH_MAX], share[PATH_MAX];
static char state[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int wait_marker(const char *dir, int pidfd, const char *marker, double timeout_s)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/console.log", dir);
    double end = now_s() + timeout_s;
    while (now_s() < end) {
        FILE *f = fopen(path, "re");
        char line[1024];
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f))
            found = strstr(line, marker) != NULL;
        if (f)
            fclose(f);
        if (found)
            return 0;
        /* 2 ms steps: fine enough for boot times of a second or more. */
        if (fd_wait(pidfd, POLLIN, 2) > 0 && !found) {
            /* The bare init powers off right after its marker: re-read once. */
            f = fopen(path, "re");
            while (f && !found && fgets(line, sizeof(line), f))
                found = strstr(line, marker) != NULL;
            if (f)
                fclose(f);
            return found ? 0 : -ECHILD;
        }
    }
    return -ETIMEDOUT;
}

struct mem {
    long rss_kb, pss_kb, anon_kb, file_kb, shmem_kb;
};

static struct mem proc_mem(int pid)
{
    struct mem m = {0};
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f)) {
        long v;
        if (sscanf(line, "Rss: %ld kB", &v) == 1)
            m.rss_kb = v;
        else if (sscanf(line, "Pss: %ld kB", &v) == 1)
            m.pss_kb = v;
        else if (sscanf(line, "Anonymous: %ld kB", &v) == 1)
            m.anon_kb = v;
    }
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f)) {
        long v;
        if (sscanf(line, "RssFile: %ld kB", &v) == 1)
            m.file_kb = v;
        else if (sscanf(line, "RssShmem: %ld kB", &v) == 1)
            m.shmem_kb = v;
    }
    if (f)
        fclose(f);
    return m;
}

static int find_virtiofsd(const char *dir)
{
    char p[600];
    snprintf(p, sizeof(p), "%s/virtiofsd.pid", dir);
    FILE *f = fopen(p, "re");
    int pid = 0;
    if (f) {
        if (fscanf(f, "%d", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Dials the agent (the virtio-serial dial waits for the agent's session
 * sync, so it returns once the agent serves) and asks Health.Check. */
static int agent_check(struct hv_vm *vm, uint64_t timeout_ns)
{
    char uri[PATH_MAX];
    struct err e = ERR_INIT;
    if (hv_vm_agent_address(vm, uri, sizeof(uri)) < 0)
        return -EINVAL;
    int fd = transport_dial(uri, timeout_ns, &e);
    if (fd < 0) {
        fprintf(stderr, "dial %s: %s\n", uri, e.msg);
        return fd;
    }
    struct loop *loop = NULL;
    struct ttrpc_client *c = NULL;
    if (loop_new(&loop) < 0 || ttrpc_client_new(loop, fd, NULL, &c) < 0) {
        loop_free(loop);
        return -ENOMEM;
    }
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = timeout_ns};
    ProtobufCMessage *resp = NULL;
    int r = ttrpc_client_call_sync(c, "grpc.Health", "Check", &req.base,
                                   &grpc__health_check_response__descriptor, &opts, &resp, NULL, &e);
    if (r == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    else
        fprintf(stderr, "Check: %s\n", e.msg);
    ttrpc_client_free(c);
    loop_run_once(loop, 0);
    loop_free(loop);
    return r;
}

/* One boot; returns seconds from driver start to the marker, or to the
 * agent answering Check when marker is NULL (or < 0 on failure). */
static double boot(const char *initrd, const char *marker, unsigned mem_mib, bool vfs,
                   struct mem *ret_qemu, struct mem *ret_vfsd)
{
    static int n;
    char id[32];
    snprintf(id, sizeof(id), "b%d", n++);
    struct hv_config cfg = {
        .kind = HV_KIND_QEMU, .path = "/usr/bin/qemu-system-x86_64", .kernel = kernel,
        .initrd = initrd, .machine_type = "q35", .accel = HV_ACCEL_AUTO, .vcpus = 1,
        .max_vcpus = 1, .memory_mib = mem_mib, .pcie_root_ports = 2,
        .transport = HV_TRANSPORT_AUTO,
        .shared_fs = vfs ? HV_SHARED_FS_VIRTIO_FS : HV_SHARED_FS_NONE, .shared_dir = share};
    struct hv_vm *vm = NULL;
    struct err e = ERR_INIT;
    if (hv_vm_new(&cfg, state, id, &vm, &e) < 0) {
        fprintf(stderr, "hv_vm_new: %s\n", e.msg);
        return -1;
    }
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", state, id);
    double t0 = now_s();
    if (hv_vm_start(vm, 60 * SEC, &e) < 0) {
        fprintf(stderr, "hv_vm_start: %s\n", e.msg);
        hv_vm_free(vm);
        return -1;
    }
    int r = marker ? wait_marker(dir, hv_vm_pidfd(vm), marker, 120) : agent_check(vm, 120 * SEC);
    double t = now_s() - t0;
    if (r == 0 && ret_qemu) {
        sleep(2); /* settle, as Kata's density test does */
        *ret_qemu = proc_mem(hv_vm_pid(vm));
        int vp = find_virtiofsd(dir);
        *ret_vfsd = vp ? proc_mem(vp) : (struct mem){0};
    }
    hv_vm_stop(vm, 5 * SEC, NULL);
    hv_vm_free(vm);
    return r == 0 ? t : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *o = getenv("O") ? getenv("O") : "build";
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    if (rounds < 0 || rounds > 50)
        rounds = 5; /* 0: memory figures only */
    snprintf(kernel, sizeof(kernel), "%s/guest/vmlinuz.container", o);
    snprintf(initrd_ready, sizeof(initrd_ready), "%s/guest/kata-containers-initrd.img", o);
    snprintf(initrd_bare, sizeof(initrd_bare), "%s/tests/bench/bare-initrd.img", o);
    if (access(kernel, R_OK) || access(initrd_ready, R_OK) || access(initrd_bare, R_OK)) {
        printf("boot bench: guest assets missing under %s (make guest)\n", o);
        return 77;
    }
    snprintf(state, sizeof(state), "/tmp/kata-boot-bench-%d", (int)getpid());
    mkdir(state, 0700);
    snprintf(share, sizeof(share), "%s/share", state);
    mkdir(share, 0755);

    double ready[50], bare[50], mr = 0, mb = 1;
    for (int i = 0; i < rounds; i++) {
        ready[i] = boot(initrd_ready, NULL, 2048, true, NULL, NULL);
        bare[i] = boot(initrd_bare, "KATA-BENCH-BARE-INIT", 2048, true, NULL, NULL);
        printf("round %d: ready %.3f s, bare %.3f s\n", i + 1, ready[i], bare[i]);
        if (ready[i] < 0 || bare[i] < 0)
            return 1;
    }
    if (rounds) {
        qsort(ready, (size_t)rounds, sizeof(double), cmp_double);
        qsort(bare, (size_t)rounds, sizeof(double), cmp_double);
        mr = ready[rounds / 2];
        mb = bare[rounds / 2];
        printf("median: driver start -> agent answers Check %.3f s; bare boot %.3f s\n", mr, mb);
    }

    struct mem q256, v256, q2g, v2g;
    if (boot(initrd_ready, NULL, 256, true, &q256, &v256) < 0 ||
        boot(initrd_ready, NULL, 2048, true, &q2g, &v2g) < 0)
        return 1;
    printf("%-28s %10s %10s %10s %10s %10s\n", "process (after boot + 2 s)", "RSS kB", "PSS kB",
           "anon kB", "file kB", "shmem kB");
    printf("%-28s %10ld %10ld %10ld %10ld %10ld\n", "qemu, 256 MiB guest", q256.rss_kb, q256.pss_kb,
           q256.anon_kb, q256.file_kb, q256.shmem_kb);
    printf("%-28s %10ld %10ld %10ld %10ld %10ld\n", "virtiofsd, 256 MiB guest", v256.rss_kb, v256.pss_kb,
           v256.anon_kb, v256.file_kb, v256.shmem_kb);
    printf("%-28s %10ld %10ld %10ld %10ld %10ld\n", "qemu, 2 GiB guest", q2g.rss_kb, q2g.pss_kb,
           q2g.anon_kb, q2g.file_kb, q2g.shmem_kb);
    printf("%-28s %10ld %10ld %10ld %10ld %10ld\n", "virtiofsd, 2 GiB guest", v2g.rss_kb, v2g.pss_kb,
           v2g.anon_kb, v2g.file_kb, v2g.shmem_kb);
    if (rounds) {
        printf("BENCH boot_ready_s %.3f s\n", mr);
        printf("BENCH boot_bare_s %.3f s\n", mb);
        printf("BENCH boot_ready_over_bare %.2f x\n", mr / mb);
    }
    printf("BENCH vmm_pss_256m_kb %ld kB\n", q256.pss_kb + v256.pss_kb);
    printf("BENCH vmm_pss_2g_kb %ld kB\n", q2g.pss_kb + v2g.pss_kb);
    rmdir(share);
    rmdir(state);
    return 0;
}
