/* Guest-wide resources, see guest.h. */
#include "agent/guest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"

/* ---- small sysfs helpers ---- */

static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = read(fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    int r = n < 0 ? -errno : (int)n;
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return r;
}

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = write(fd, s, strlen(s));
    while (n < 0 && errno == EINTR);
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* True for "<prefix><digits>". */
static bool numbered(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n])
        return false;
    for (const char *p = name + n; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return true;
}

/* Onlines every offline "<prefix>N" under dir; returns how many came
 * online (read back as 1), or the first write error when none did and
 * one failed. Entries without an online file (cpu0 on x86) are skipped. */
static int online_all(const char *dir, const char *prefix, int *ret_failed, char *failed_name,
                      size_t failed_size)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int onlined = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!numbered(de->d_name, prefix))
            continue;
        char path[512], val[16];
        snprintf(path, sizeof(path), "%s/%s/online", dir, de->d_name);
        if (read_small(path, val, sizeof(val)) < 0 || val[0] != '0')
            continue;
        int r = write_str(path, "1");
        if (r == 0 && read_small(path, val, sizeof(val)) >= 0 && val[0] == '1') {
            onlined++;
            continue;
        }
        if (!*ret_failed) {
            *ret_failed = r < 0 ? r : -EIO;
            snprintf(failed_name, failed_size, "%.60s", de->d_name);
        }
    }
    return onlined;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int guest_online(const char *sysfs, const struct guest_online_req *req, struct err *e)
{
    char cpus[256], mem[256], failed[64] = "";
    snprintf(cpus, sizeof(cpus), "%s/devices/system/cpu", sysfs);
    snprintf(mem, sizeof(mem), "%s/devices/system/memory", sysfs);
    uint64_t deadline = loop_now() + (uint64_t)req->timeout_ms * 1000000ull;
    int onlined = 0, fail = 0;
    for (;;) {
        int r = online_all(cpus, "cpu", &fail, failed, sizeof(failed));
        if (r < 0)
            return err_set(e, r, "cannot list %s: %s", cpus, strerror(-r));
        onlined += r;
        if (req->nb_cpus == 0 || (uint32_t)onlined >= req->nb_cpus)
            break;
        if (loop_now() >= deadline) {
            if (fail)
                return err_set(e, fail, "nb_cpus: %u requested, %d onlined; %s: %s", req->nb_cpus,
                               onlined, failed, strerror(-fail));
            return err_set(e, -ETIMEDOUT,
                           "nb_cpus: %u requested, only %d offline CPUs appeared and came online "
                           "within %u ms",
                           req->nb_cpus, onlined, req->timeout_ms);
        }
        if (req->stop && atomic_load(req->stop))
            return err_set(e, -ECANCELED,
                           "nb_cpus: %u requested, %d onlined when the agent stopped",
                           req->nb_cpus, onlined);
        sleep_ms(GUEST_ONLINE_STEP_MS);
    }
    if (req->cpu_only)
        return onlined;
    fail = 0;
    int r = online_all(mem, "memory", &fail, failed, sizeof(failed));
    /* A guest without memory hotplug has no such folder: nothing to do. */
    if (r < 0 && r != -ENOENT)
        return err_set(e, r, "cannot list %s: %s", mem, strerror(-r));
    if (fail)
        return err_set(e, fail, "memory block %s would not come online: %s", failed,
                       strerror(-fail));
    return onlined;
}

int guest_cpus_online(const char *sysfs)
{
    char path[256], buf[4096];
    snprintf(path, sizeof(path), "%s/devices/system/cpu/online", sysfs);
    int r = read_small(path, buf, sizeof(buf));
    if (r < 0)
        return r;
    int n = 0;
    for (char *p = buf; *p && *p != '\n';) {
        char *end;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (end == p)
            return -EINVAL;
        if (*end == '-') {
            p = end + 1;
            b = strtoul(p, &end, 10);
            if (end == p || b < a)
                return -EINVAL;
        }
        n += (int)(b - a + 1);
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

uint64_t guest_mem_block_size(const char *sysfs)
{
    char path[256], buf[64];
    snprintf(path, sizeof(path), "%s/devices/system/memory/block_size_bytes", sysfs);
    if (read_small(path, buf, sizeof(buf)) < 0)
        return 0;
    return strtoull(buf, NULL, 16);
}

bool guest_mem_probe_supported(const char *sysfs)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/devices/system/memory/probe", sysfs);
    return access(path, W_OK) == 0;
}

int guest_mem_probe(const char *sysfs, const uint64_t *addrs, size_t n, struct err *e)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/devices/system/memory/probe", sysfs);
    if (n > GUEST_PROBE_MAX)
        return err_set(e, -EINVAL, "memHotplugProbeAddr: %zu addresses, at most %d", n,
                       GUEST_PROBE_MAX);
    if (access(path, F_OK) < 0)
        return err_set(e, -ENOTSUP,
                       "memHotplugProbeAddr: this guest kernel has no memory probe interface "
                       "(%s is absent: CONFIG_ARCH_MEMORY_PROBE)",
                       path);
    for (size_t i = 0; i < n; i++) {
        char val[32];
        snprintf(val, sizeof(val), "0x%llx", (unsigned long long)addrs[i]);
        int r = write_str(path, val);
        if (r < 0)
            return err_set(e, r, "memHotplugProbeAddr[%zu]: probing %s failed: %s", i, val,
                           strerror(-r));
    }
    return 0;
}

int guest_reseed(const void *data, size_t size, struct err *e)
{
    if (size == 0)
        return err_set(e, -EINVAL, "data: empty");
    if (size > GUEST_RESEED_MAX)
        return err_set(e, -EINVAL, "data: %zu bytes, at most %d", size, GUEST_RESEED_MAX);
    _cleanup_free_ struct rand_pool_info *info = malloc(sizeof(*info) + size);
    if (!info)
        return err_set(e, -ENOMEM, "data: out of memory");
    info->entropy_count = (int)(size * 8);
    info->buf_size = (int)size;
    memcpy(info->buf, data, size);
    _cleanup_close_ int fd = open("/dev/random", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "cannot open /dev/random: %s", strerror(errno));
    if (ioctl(fd, RNDADDENTROPY, info) < 0)
        return err_set(e, -errno, "RNDADDENTROPY on /dev/random: %s", strerror(errno));
    /* Kernels before 4.17 lack RNDRESEEDCRNG; their CRNG reseeds itself. */
    if (ioctl(fd, RNDRESEEDCRNG) < 0 && errno != EINVAL && errno != ENOTTY)
        log_warn("RNDRESEEDCRNG on /dev/random: %s", strerror(errno));
    return 0;
}

int guest_set_time(int64_t sec, int64_t usec, struct err *e)
{
    if (usec < 0 || usec >= 1000000)
        return err_set(e, -EINVAL, "Usec: %lld is out of range (0-999999)", (long long)usec);
    if (sec < 0)
        return err_set(e, -EINVAL, "Sec: %lld is before 1970", (long long)sec);
    struct timeval tv = {.tv_sec = (time_t)sec, .tv_usec = (suseconds_t)usec};
    if (settimeofday(&tv, NULL) < 0)
        return err_set(e, -errno, "settimeofday: %s", strerror(errno));
    return 0;
}

/* ---- metrics ---- */

static void family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static long count_fds(void)
{
    _cleanup_closedir_ DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    return n - 1; /* the directory's own fd */
}

/* /proc/self/stat fields after the command: utime (14), stime (15),
 * num_threads (20), vsize (23), rss pages (24). */
static void agent_process(FILE *f)
{
    char buf[1024];
    if (read_small("/proc/self/stat", buf, sizeof(buf)) < 0)
        return;
    char *p = strrchr(buf, ')');
    if (!p)
        return;
    unsigned long long v[24] = {0};
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p + 2, " ", &save); tok && n < 24; tok = strtok_r(NULL, " ", &save))
        v[n++] = strtoull(tok, NULL, 10);
    if (n < 22)
        return;
    /* v[0] is field 3 (state, parsed as 0). */
    double hz = (double)sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    struct rlimit rl = {0, 0};
    getrlimit(RLIMIT_NOFILE, &rl);
    family(f, "kata_agent_process_cpu_seconds_total", "counter",
           "Total user and system CPU time spent in seconds.");
    fprintf(f, "kata_agent_process_cpu_seconds_total %.2f\n", (double)(v[11] + v[12]) / hz);
    family(f, "kata_agent_process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
    fprintf(f, "kata_agent_process_resident_memory_bytes %llu\n", v[21] * (unsigned long long)page);
    family(f, "kata_agent_process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
    fprintf(f, "kata_agent_process_virtual_memory_bytes %llu\n", v[20]);
    family(f, "kata_agent_process_open_fds", "gauge", "Number of open file descriptors.");
    fprintf(f, "kata_agent_process_open_fds %ld\n", count_fds());
    family(f, "kata_agent_process_max_fds", "gauge", "Maximum number of open file descriptors.");
    fprintf(f, "kata_agent_process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    family(f, "kata_agent_threads", "gauge", "Agent process threads.");
    fprintf(f, "kata_agent_threads %llu\n", v[17]);
}

/* /proc/meminfo keys to upstream's item names where the plain rule
 * (CamelCase to snake_case, "(x)" to "_x") gives another spelling. */
static const struct {
    const char *key, *item;
} meminfo_names[] = {
    {"SReclaimable", "s_reclaimable"},
    {"SUnreclaim", "s_unreclaim"},
    {"KReclaimable", "k_reclaimable"},
    {"AnonHugePages", "anon_hugepages"},
    {"ShmemHugePages", "shmem_hugepages"},
    {"ShmemPmdMapped", "shmem_pmd_mapped"},
    {"FileHugePages", "file_hugepages"},
    {"FilePmdMapped", "file_pmd_mapped"},
    {"Percpu", "per_cpu"},
    {"Hugepagesize", "hugepagesize"},
    {"DirectMap4k", "direct_map_4k"},
    {"DirectMap2M", "direct_map_2M"},
    {"DirectMap4M", "direct_map_4M"},
    {"DirectMap1G", "direct_map_1G"},
};

static void meminfo_item(const char *key, char *out, size_t size)
{
    for (size_t i = 0; i < ELEMENTSOF(meminfo_names); i++)
        if (strcmp(key, meminfo_names[i].key) == 0) {
            snprintf(out, size, "%s", meminfo_names[i].item);
            return;
        }
    if (strncmp(key, "HugePages_", 10) == 0) {
        snprintf(out, size, "hugepages_%s", key + 10);
        for (char *p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        return;
    }
    size_t o = 0;
    for (const char *p = key; *p && o + 2 < size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '(' || c == '_') {
            if (o && out[o - 1] != '_')
                out[o++] = '_';
        } else if (isupper(c)) {
            if (o && p > key && (islower((unsigned char)p[-1]) || isdigit((unsigned char)p[-1])))
                out[o++] = '_';
            out[o++] = (char)tolower(c);
        } else if (isalnum(c)) {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

static void guest_meminfo(FILE *f)
{
    _cleanup_fclose_ FILE *in = fopen("/proc/meminfo", "re");
    if (!in)
        return;
    family(f, "kata_guest_meminfo", "gauge",
           "Statistics about memory usage on the system (kB as /proc/meminfo).");
    char line[256];
    while (fgets(line, sizeof(line), in)) {
        char key[64], item[96];
        unsigned long long v;
        if (sscanf(line, "%63[^:]: %llu", key, &v) != 2)
            continue;
        meminfo_item(key, item, sizeof(item));
        if (*item)
            fprintf(f, "kata_guest_meminfo{item=\"%s\"} %llu\n", item, v);
    }
}

static void guest_load(FILE *f)
{
    char buf[256];
    double l1, l5, l15;
    unsigned long cur, max;
    if (read_small("/proc/loadavg", buf, sizeof(buf)) < 0 ||
        sscanf(buf, "%lf %lf %lf %lu/%lu", &l1, &l5, &l15, &cur, &max) != 5)
        return;
    family(f, "kata_guest_load", "gauge", "Guest system load.");
    fprintf(f, "kata_guest_load{item=\"load1\"} %.2f\n", l1);
    fprintf(f, "kata_guest_load{item=\"load5\"} %.2f\n", l5);
    fprintf(f, "kata_guest_load{item=\"load15\"} %.2f\n", l15);
    family(f, "kata_guest_tasks", "gauge", "Guest tasks: runnable (cur) and existing (max).");
    fprintf(f, "kata_guest_tasks{item=\"cur\"} %lu\n", cur);
    fprintf(f, "kata_guest_tasks{item=\"max\"} %lu\n", max);
}

static void guest_cpu_time(FILE *f)
{
    static const char *const items[] = {"user", "nice",    "system", "idle",  "iowait",
                                        "irq",  "softirq", "steal",  "guest", "guest_nice"};
    _cleanup_fclose_ FILE *in = fopen("/proc/stat", "re");
    if (!in)
        return;
    family(f, "kata_guest_cpu_time", "gauge", "Guest CPU time, in USER_HZ ticks (/proc/stat).");
    char line[512];
    while (fgets(line, sizeof(line), in)) {
        if (strncmp(line, "cpu", 3) != 0)
            break;
        char cpu[16];
        unsigned long long v[10] = {0};
        int n = sscanf(line, "%15s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", cpu, &v[0],
                       &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
        if (n < 5)
            continue;
        const char *label = strcmp(cpu, "cpu") == 0 ? "total" : cpu + 3;
        for (int i = 0; i < n - 1; i++)
            fprintf(f, "kata_guest_cpu_time{cpu=\"%s\",item=\"%s\"} %llu\n", label, items[i], v[i]);
    }
}

char *guest_metrics(struct agent *a, const char *sysfs)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        abort();
    agent_process(f);
    family(f, "kata_agent_containers", "gauge", "Containers managed by the agent.");
    fprintf(f, "kata_agent_containers %u\n", a->n_containers);
    family(f, "kata_agent_uptime_seconds", "gauge", "Seconds since the agent started.");
    fprintf(f, "kata_agent_uptime_seconds %.3f\n", (double)(loop_now() - a->started_ns) / 1e9);
    guest_meminfo(f);
    guest_load(f);
    guest_cpu_time(f);
    int n = guest_cpus_online(sysfs);
    if (n >= 0) {
        family(f, "kata_guest_cpus_online", "gauge",
               "Online CPUs (/sys/devices/system/cpu/online).");
        fprintf(f, "kata_guest_cpus_online %d\n", n);
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    family(f, "kata_guest_time_seconds", "gauge",
           "The guest's realtime clock, seconds since 1970.");
    fprintf(f, "kata_guest_time_seconds %lld.%03ld\n", (long long)now.tv_sec,
            now.tv_nsec / 1000000L);
    if (fclose(f) != 0)
        abort();
    return s;
}
