/* Boot benchmark (tests/bench/boot runs it; figures in docs/performance.md).
 *
 * ready: hv_vm_start() through the QEMU driver (virtio-fs, the default)
 *        with the real guest initrd until kata-agent, as PID 1, answers
 *        Health.Check over the channel the driver chose;
 * bare:  the same kernel, same driver and accel, an initrd whose /init
 *        prints a marker and powers off (no modules loaded, no channel).
 * Rounds are interleaved so host noise hits both alike; each prints its
 * phases and QEMU's CPU time. Then QEMU's and virtiofsd's RSS/PSS after
 * boot: one 256 MiB guest, two 256 MiB guests up at once (what a host with
 * many pods sees: shared file pages split between them), one 2 GiB guest.
 * Environment knobs (profiling and one-by-one memory options) are read in
 * main(); usage: O=build tests/bench/boot [ROUNDS [bare]]. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
/* Resolved paths, as /proc/PID/smaps names them. */
static char kernel_real[PATH_MAX], initrd_real[PATH_MAX];
/* Profiling knobs (docs/performance.md, "Boot"): extra kernel parameters,
 * a folder that keeps each boot's console log, and per-phase times. */
static const char *extra_params, *keep_console;
static bool debug_guest;
/* Memory knobs, to measure them one by one: BOOT_BENCH_TB_SIZE (MiB, the
 * driver's default when unset), BOOT_BENCH_RECLAIM=1 (free page
 * reporting), BOOT_BENCH_SETTLE (seconds before reading memory, 2). */
static unsigned tb_size_mib, settle_s = 2;
static int n_vms = 2; /* BOOT_BENCH_VMS: how many 256 MiB VMs share the host */
static bool reclaim;
/* BOOT_BENCH_KEEP_KERNEL=1: QEMU keeps its kernel file mapping (the
 * configuration's release_kernel_file_pages = false). */
static bool keep_kernel;

struct phases {
    double started; /* hv_vm_start() returned: QEMU runs, QMP answered */
    double dialed;  /* agent channel connected and session-synced */
    double cpu;     /* QEMU's user+system CPU seconds at the ready point:
                     * steadier than wall time on a loaded host */
};

static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields after "(comm)": state is field 3, utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

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
    long pss_anon_kb, pss_file_kb, pss_shmem_kb; /* PSS split (smaps_rollup) */
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
        else if (sscanf(line, "Pss_Anon: %ld kB", &v) == 1)
            m.pss_anon_kb = v;
        else if (sscanf(line, "Pss_File: %ld kB", &v) == 1)
            m.pss_file_kb = v;
        else if (sscanf(line, "Pss_Shmem: %ld kB", &v) == 1)
            m.pss_shmem_kb = v;
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

/* Where a VMM's memory is, by mapping (/proc/PID/smaps): the classes
 * docs/performance.md ("Memory per VM") reports. The TCG translation cache
 * is the one anonymous mapping that is writable and executable. */
enum mem_class {
    MC_GUEST_RAM, MC_KERNEL, MC_INITRD, MC_BINARY, MC_LIBS, MC_TCG, MC_HEAP, MC_ANON,
    MC_OTHER, MC__N
};
static const char *const mem_class_name[MC__N] = {
    "guest RAM (memfd)", "guest kernel file", "initrd file", "VMM binary",
    "shared libraries", "TCG translation cache", "[heap]", "other anonymous", "other"};

struct mem_split {
    long rss_kb[MC__N], pss_kb[MC__N];
    long top_anon_kb[3]; /* the largest other anonymous mappings (RSS) */
};

static enum mem_class classify(const char *perms, const char *path, const char *exe)
{
    if (strncmp(path, "/memfd:", 7) == 0)
        return MC_GUEST_RAM;
    if (strcmp(path, kernel_real) == 0)
        return MC_KERNEL;
    if (strcmp(path, initrd_real) == 0)
        return MC_INITRD;
    if (strcmp(path, exe) == 0)
        return MC_BINARY;
    if (strstr(path, ".so"))
        return MC_LIBS;
    if (strcmp(path, "[heap]") == 0)
        return MC_HEAP;
    if (!*path)
        return strcmp(perms, "rwxp") == 0 ? MC_TCG : MC_ANON;
    return MC_OTHER;
}

static void proc_split(int pid, struct mem_split *ret)
{
    char path[64], line[PATH_MAX + 128], exe[PATH_MAX] = "";
    memset(ret, 0, sizeof(*ret));
    snprintf(path, sizeof(path), "/proc/%d/exe", pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
    FILE *f = fopen(path, "re");
    enum mem_class c = MC_OTHER;
    long rss = 0;
    while (f && fgets(line, sizeof(line), f)) {
        char perms[8], name[PATH_MAX] = "";
        unsigned long lo, hi;
        long v;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095[^\n]", &lo, &hi, perms, name) >= 3) {
            c = classify(perms, name, exe);
        } else if (sscanf(line, "Rss: %ld kB", &v) == 1) {
            ret->rss_kb[c] += v;
            rss = v;
        } else if (sscanf(line, "Pss: %ld kB", &v) == 1) {
            ret->pss_kb[c] += v;
            for (int i = 0; c == MC_ANON && i < 3; i++)
                if (rss > ret->top_anon_kb[i]) {
                    memmove(&ret->top_anon_kb[i + 1], &ret->top_anon_kb[i],
                            (size_t)(2 - i) * sizeof(long));
                    ret->top_anon_kb[i] = rss;
                    break;
                }
        }
    }
    if (f)
        fclose(f);
}

/* Which guest-physical MiB of the guest RAM memfd are backed on the host:
 * mincore() on the memfd itself (reached through /proc/PID/fd), one count
 * per 8 MiB. Below 4 GiB guest-physical = memfd offset on q35. */
static void print_guest_ram_map(int pid)
{
    char dir[64], p[PATH_MAX], target[PATH_MAX];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
    for (int fd = 0; fd < 256; fd++) {
        snprintf(p, sizeof(p), "%s/%d", dir, fd);
        ssize_t n = readlink(p, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, "/memfd:", 7) != 0)
            continue;
        int mfd = open(p, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (mfd < 0 || fstat(mfd, &st) < 0 || st.st_size <= 0) {
            if (mfd >= 0)
                close(mfd);
            continue;
        }
        size_t len = (size_t)st.st_size, pages = len / 4096;
        void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, mfd, 0);
        close(mfd);
        unsigned char *vec = malloc(pages);
        if (m == MAP_FAILED || !vec || mincore(m, len, vec) < 0) {
            free(vec);
            if (m != MAP_FAILED)
                munmap(m, len);
            continue;
        }
        printf("guest RAM %s backed, MiB per 8 MiB from 0:", target);
        size_t total = 0;
        for (size_t i = 0; i < pages; i += 2048) {
            size_t k = 0;
            for (size_t j = i; j < i + 2048 && j < pages; j++)
                k += vec[j] & 1;
            total += k;
            printf(" %.1f", (double)k / 256.0);
        }
        printf(" (total %.1f MiB)\n", (double)total / 256.0);
        free(vec);
        munmap(m, len);
    }
}

static void print_split(const char *what, int pid)
{
    struct mem_split s;
    proc_split(pid, &s);
    printf("%s, by mapping (RSS / PSS kB):\n", what);
    for (int c = 0; c < MC__N; c++)
        if (s.rss_kb[c])
            printf("  %-24s %8ld %8ld\n", mem_class_name[c], s.rss_kb[c], s.pss_kb[c]);
    printf("  largest other anonymous mappings: %ld, %ld, %ld kB\n", s.top_anon_kb[0],
           s.top_anon_kb[1], s.top_anon_kb[2]);
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
static int agent_check(struct hv_vm *vm, uint64_t timeout_ns, double t0, struct phases *ph)
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
    ph->dialed = now_s() - t0;
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

static void save_console(const char *dir, const char *id)
{
    if (!keep_console)
        return;
    char src[600], dst[PATH_MAX + 64], buf[8192];
    snprintf(src, sizeof(src), "%s/console.log", dir);
    snprintf(dst, sizeof(dst), "%s/%s-console.log", keep_console, id);
    FILE *in = fopen(src, "re"), *out = fopen(dst, "we");
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}

/* One VM being measured. */
struct run {
    struct hv_vm *vm;
    char id[32], dir[512];
};

/* Starts a VM and waits until it is ready: the marker on the console, or
 * (marker NULL) the agent answering Check. Returns the seconds from
 * driver start, < 0 on failure (the VM is then gone). */
static double run_up(struct run *rn, const char *initrd, const char *marker, unsigned mem_mib,
                     struct phases *ph)
{
    static int n;
    snprintf(rn->id, sizeof(rn->id), "b%d", n++);
    struct hv_config cfg = {
        .kind = HV_KIND_QEMU, .path = "/usr/bin/qemu-system-x86_64", .kernel = kernel,
        .initrd = initrd, .machine_type = "q35", .accel = HV_ACCEL_AUTO, .vcpus = 1,
        .max_vcpus = 1, .memory_mib = mem_mib, .pcie_root_ports = 2,
        .transport = HV_TRANSPORT_AUTO, .shared_fs = HV_SHARED_FS_VIRTIO_FS,
        .shared_dir = share, .kernel_params = extra_params, .debug = debug_guest,
        .tcg_tb_size_mib = tb_size_mib, .free_page_reporting = reclaim,
        .release_kernel_pages = !keep_kernel};
    struct phases unused;
    if (!ph)
        ph = &unused;
    struct err e = ERR_INIT;
    rn->vm = NULL;
    if (hv_vm_new(&cfg, state, rn->id, &rn->vm, &e) < 0) {
        fprintf(stderr, "hv_vm_new: %s\n", e.msg);
        return -1;
    }
    snprintf(rn->dir, sizeof(rn->dir), "%s/%s", state, rn->id);
    double t0 = now_s();
    if (hv_vm_start(rn->vm, 60 * SEC, &e) < 0) {
        fprintf(stderr, "hv_vm_start: %s\n", e.msg);
        rn->vm = hv_vm_free(rn->vm);
        return -1;
    }
    ph->started = now_s() - t0;
    int r = marker ? wait_marker(rn->dir, hv_vm_pidfd(rn->vm), marker, 120)
                   : agent_check(rn->vm, 120 * SEC, t0, ph);
    double t = now_s() - t0;
    ph->cpu = proc_cpu_s(hv_vm_pid(rn->vm));
    if (r < 0) {
        hv_vm_stop(rn->vm, 5 * SEC, NULL);
        rn->vm = hv_vm_free(rn->vm);
        return -1;
    }
    return t;
}

static void run_mem(struct run *rn, struct mem *ret_qemu, struct mem *ret_vfsd)
{
    *ret_qemu = proc_mem(hv_vm_pid(rn->vm));
    int vp = find_virtiofsd(rn->dir);
    *ret_vfsd = vp ? proc_mem(vp) : (struct mem){0};
}

static void run_down(struct run *rn)
{
    if (!rn->vm)
        return;
    hv_vm_stop(rn->vm, 5 * SEC, NULL);
    save_console(rn->dir, rn->id);
    rn->vm = hv_vm_free(rn->vm);
}

/* One boot, for the timing rounds. */
static double boot(const char *initrd, const char *marker, struct phases *ph)
{
    struct run rn;
    double t = run_up(&rn, initrd, marker, 2048, ph);
    run_down(&rn);
    return t;
}

static const char *env_or(const char *name, const char *dflt);

#define MAX_VMS 8

/* n VMs of mem_mib up at once (n <= MAX_VMS); after the settle time, the
 * memory of the first (PSS splits the pages they share between them). */
static int measure(unsigned mem_mib, int n, bool split, struct mem *ret_qemu,
                   struct mem *ret_vfsd)
{
    struct run rn[MAX_VMS];
    int up = 0, r = 0;
    for (; up < n; up++)
        if (run_up(&rn[up], initrd_ready, NULL, mem_mib, NULL) < 0) {
            r = -1;
            break;
        }
    if (r == 0) {
        sleep(settle_s); /* settle, as Kata's density test does */
        run_mem(&rn[0], ret_qemu, ret_vfsd);
        if (split) {
            char what[64];
            snprintf(what, sizeof(what), "qemu, %u MiB guest, %d VM%s up", mem_mib, n,
                     n > 1 ? "s" : "");
            print_split(what, hv_vm_pid(rn[0].vm));
            print_guest_ram_map(hv_vm_pid(rn[0].vm));
            unsigned hold = (unsigned)atoi(env_or("BOOT_BENCH_HOLD", "0"));
            if (hold) {
                printf("holding QEMU pid %d for %u s (BOOT_BENCH_HOLD)\n", hv_vm_pid(rn[0].vm),
                       hold);
                fflush(stdout);
                sleep(hold);
            }
        }
    }
    while (up-- > 0)
        run_down(&rn[up]);
    return r;
}

static void print_mem(const char *what, const struct mem *m)
{
    printf("%-30s %8ld %8ld %8ld %8ld %8ld %9ld %9ld %9ld\n", what, m->rss_kb, m->pss_kb,
           m->anon_kb, m->file_kb, m->shmem_kb, m->pss_anon_kb, m->pss_file_kb, m->pss_shmem_kb);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

int main(int argc, char **argv)
{
    const char *o = env_or("O", "build");
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    /* "bare": bare boots only (tests/bench/shim compares ctr run with them). */
    bool bare_only = argc > 2 && strcmp(argv[2], "bare") == 0;
    if (rounds < 0 || rounds > 50)
        rounds = 5; /* 0: memory figures only */
    snprintf(kernel, sizeof(kernel), "%s/guest/vmlinuz.container", o);
    snprintf(initrd_ready, sizeof(initrd_ready), "%s/guest/kata-containers-initrd.img", o);
    snprintf(initrd_bare, sizeof(initrd_bare), "%s/tests/bench/bare-initrd.img", o);
    if (access(kernel, R_OK) || access(initrd_ready, R_OK) || access(initrd_bare, R_OK)) {
        printf("boot bench: guest assets missing under %s (make guest)\n", o);
        return 77;
    }
    if (!realpath(kernel, kernel_real) || !realpath(initrd_ready, initrd_real))
        return 1;
    /* The configuration's default kernel_params (config/cfg-schema.c), as
     * the shim passes them: without them the agent first tries cgroup v1. */
    extra_params = env_or("BOOT_BENCH_PARAMS", "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1");
    keep_console = getenv("BOOT_BENCH_CONSOLE");
    debug_guest = strcmp(env_or("BOOT_BENCH_DEBUG", "0"), "1") == 0;
    bool nomem = strcmp(env_or("BOOT_BENCH_NOMEM", "0"), "1") == 0;
    tb_size_mib = (unsigned)atoi(env_or("BOOT_BENCH_TB_SIZE", "0"));
    reclaim = strcmp(env_or("BOOT_BENCH_RECLAIM", "0"), "1") == 0;
    settle_s = (unsigned)atoi(env_or("BOOT_BENCH_SETTLE", "2"));
    keep_kernel = strcmp(env_or("BOOT_BENCH_KEEP_KERNEL", "0"), "1") == 0;
    n_vms = atoi(env_or("BOOT_BENCH_VMS", "2"));
    if (n_vms < 2 || n_vms > MAX_VMS)
        n_vms = 2;
    snprintf(state, sizeof(state), "/tmp/kata-boot-bench-%d", (int)getpid());
    mkdir(state, 0700);
    snprintf(share, sizeof(share), "%s/share", state);
    mkdir(share, 0755);

    /* Wall time is what a user waits for; QEMU's CPU time to the same point
     * is printed too because on a loaded host (steal, other VMs) it moves
     * far less than wall time, so its ratio shows the guest's own work. */
    double ready[50], bare[50], ready_cpu[50], bare_cpu[50], mr = 0, mb = 1, mrc = 0, mbc = 1;
    for (int i = 0; i < rounds; i++) {
        struct phases pr = {0}, pb = {0};
        ready[i] = bare_only ? 0 : boot(initrd_ready, NULL, &pr);
        bare[i] = boot(initrd_bare, "KATA-BENCH-BARE-INIT", &pb);
        ready_cpu[i] = pr.cpu;
        bare_cpu[i] = pb.cpu;
        printf("round %d: ready %.3f s (QEMU up %.3f, channel synced %.3f, QEMU CPU %.2f s), "
               "bare %.3f s (QEMU up %.3f, QEMU CPU %.2f s)\n",
               i + 1, ready[i], pr.started, pr.dialed, pr.cpu, bare[i], pb.started, pb.cpu);
        if (ready[i] < 0 || bare[i] < 0)
            return 1;
    }
    if (rounds) {
        mr = median(ready, rounds);
        mb = median(bare, rounds);
        mrc = median(ready_cpu, rounds);
        mbc = median(bare_cpu, rounds);
        printf("median: driver start -> agent answers Check %.3f s (QEMU CPU %.2f s); bare boot "
               "%.3f s (QEMU CPU %.2f s)\n",
               mr, mrc, mb, mbc);
    }
    /* BOOT_BENCH_NOMEM=1: boot times only (interleaving variants by hand). */
    if (bare_only || nomem) {
        printf("BENCH boot_bare_s %.3f s\n", mb);
        if (!bare_only && rounds) {
            printf("BENCH boot_ready_over_bare %.2f x\n", mr / mb);
            printf("BENCH boot_ready_over_bare_cpu %.2f x\n", mrc / mbc);
        }
        rmdir(share);
        rmdir(state);
        return 0;
    }

    struct mem q256, v256, q256b, v256b, q2g, v2g;
    if (measure(256, 1, true, &q256, &v256) < 0 ||
        measure(256, n_vms, false, &q256b, &v256b) < 0 ||
        measure(2048, 1, false, &q2g, &v2g) < 0)
        return 1;
    printf("memory %u s after the agent answered (tcg tb-size %s, free page reporting %s, "
           "kernel file pages %s):\n",
           settle_s, tb_size_mib ? env_or("BOOT_BENCH_TB_SIZE", "") : "driver default",
           reclaim ? "on" : "off", keep_kernel ? "kept" : "released");
    printf("%-30s %8s %8s %8s %8s %8s %9s %9s %9s\n", "process", "RSS kB", "PSS kB", "anon",
           "file", "shmem", "PSS anon", "PSS file", "PSS shmem");
    print_mem("qemu, 256 MiB guest", &q256);
    print_mem("virtiofsd, 256 MiB guest", &v256);
    char what[64];
    snprintf(what, sizeof(what), "qemu, 256 MiB, %d VMs up", n_vms);
    print_mem(what, &q256b);
    snprintf(what, sizeof(what), "virtiofsd, 256 MiB, %d VMs up", n_vms);
    print_mem(what, &v256b);
    print_mem("qemu, 2 GiB guest", &q2g);
    print_mem("virtiofsd, 2 GiB guest", &v2g);
    if (rounds) {
        printf("BENCH boot_ready_s %.3f s\n", mr);
        printf("BENCH boot_bare_s %.3f s\n", mb);
        printf("BENCH boot_ready_over_bare %.2f x\n", mr / mb);
        printf("BENCH boot_ready_over_bare_cpu %.2f x\n", mrc / mbc);
    }
    printf("BENCH vmm_pss_256m_kb %ld kB\n", q256.pss_kb + v256.pss_kb);
    printf("BENCH vmm_pss_256m_%dvms_kb %ld kB\n", n_vms, q256b.pss_kb + v256b.pss_kb);
    printf("BENCH vmm_private_256m_kb %ld kB\n",
           q256.pss_anon_kb + q256.pss_shmem_kb + v256.pss_anon_kb + v256.pss_shmem_kb);
    printf("BENCH vmm_pss_2g_kb %ld kB\n", q2g.pss_kb + v2g.pss_kb);
    /* The upper bound of PSS for a VM alone on a host without other QEMUs:
     * every page it maps counted in full. */
    printf("BENCH vmm_rss_256m_kb %ld kB\n", q256.rss_kb + v256.rss_kb);
    rmdir(share);
    rmdir(state);
    return 0;
}
