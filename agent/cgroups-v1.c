/* cgroup v1 backend: one directory per controller (hybrid hosts, older
 * guests). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/cgroups-internal.h"
#include "agent/oci_spec.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define V1_ROOT "/sys/fs/cgroup"

static const char *const controllers[] = {"cpu",     "cpuacct", "cpuset", "memory",
                                          "pids",    "freezer", "blkio",  "devices"};

/* cpuset starts empty in a new v1 directory: copy the parent's. */
static void cpuset_init(const char *dir)
{
    char parent[512], buf[256];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash)
        return;
    *slash = '\0';
    if (cg_read(parent, "cpuset.cpus", buf, sizeof(buf)) > 0)
        cg_write(dir, "cpuset.cpus", "%s", buf);
    if (cg_read(parent, "cpuset.mems", buf, sizeof(buf)) > 0)
        cg_write(dir, "cpuset.mems", "%s", buf);
}

static int v1_create(struct cgroup *cg, struct err *e)
{
    for (size_t i = 0; i < ELEMENTSOF(controllers); i++) {
        char root[256], real[PATH_MAX];
        snprintf(root, sizeof(root), V1_ROOT "/%s", controllers[i]);
        if (!realpath(root, real))
            continue;
        /* cpu and cpuacct may be one hierarchy (cpu,cpuacct). */
        bool dup = false;
        for (size_t j = 0; j < cg->n_dirs; j++)
            if (strncmp(cg->dirs[j], real, strlen(real)) == 0 &&
                cg->dirs[j][strlen(real)] == '/')
                dup = true;
        if (dup)
            continue;
        char *dir = NULL;
        if (asprintf(&dir, "%s%s", real, cg->path) < 0)
            abort();
        struct stat st;
        bool existed = stat(dir, &st) == 0;
        int r = cg_mkdir_p(dir, strcmp(controllers[i], "cpuset") == 0 ? cpuset_init : NULL);
        if (r < 0) {
            free(dir);
            return err_set(e, r, "cgroup: cannot create %s%s", root, cg->path);
        }
        if (existed) {
            /* Someone else's cgroup: ours must be new, or remove would
             * take theirs. */
            free(dir);
            return err_set(e, -EEXIST, "oci.Linux.CgroupsPath: %s already exists", cg->path);
        }
        cg->dirs[cg->n_dirs] = dir;
        cg->ctrl[cg->n_dirs++] = xstrdup(controllers[i]);
    }
    if (cg->n_dirs == 0)
        return err_set(e, -ENOENT, "cgroup: no v1 controller is mounted under " V1_ROOT);
    return 0;
}

static int set_memory(const char *dir, const struct oci_resources *res, struct err *e)
{
    int r = 0;
    if (res->mem_limit) {
        r = cg_write(dir, "memory.limit_in_bytes", "%lld", (long long)res->mem_limit);
        /* Lowering memsw below the limit fails, and the limit above memsw:
         * when the first write is refused, do memsw first. */
        if (r == -EINVAL && res->mem_swap) {
            cg_write(dir, "memory.memsw.limit_in_bytes", "%lld", (long long)res->mem_swap);
            r = cg_write(dir, "memory.limit_in_bytes", "%lld", (long long)res->mem_limit);
        }
        if (r < 0)
            return err_set(e, r, "oci.Linux.Resources.Memory.Limit: cannot write %lld",
                           (long long)res->mem_limit);
    }
    if (res->mem_swap) {
        r = cg_write(dir, "memory.memsw.limit_in_bytes", "%lld", (long long)res->mem_swap);
        if (r < 0 && r != -ENOENT)
            return err_set(e, r, "oci.Linux.Resources.Memory.Swap: cannot write %lld",
                           (long long)res->mem_swap);
    }
    if (res->mem_reservation)
        cg_write(dir, "memory.soft_limit_in_bytes", "%lld", (long long)res->mem_reservation);
    if (res->mem_swappiness_set && res->mem_swappiness <= 100)
        cg_write(dir, "memory.swappiness", "%llu", (unsigned long long)res->mem_swappiness);
    return 0;
}

/* The kernel applies each line to the list it has: "a" in devices.deny
 * empties it and denies by default, "a" in devices.allow allows all (only
 * when the parent does); other lines add or take away one entry. Written in
 * the spec's order this is the rule list's meaning. */
static int set_devices(const char *dir, const struct oci_resources *res, struct err *e)
{
    struct cg_dev_rules rules;
    char line[64];
    int r = cg_dev_rules_build(res->dev_rules, res->n_dev_rules, &rules, e);
    if (r < 0)
        return r;
    if (!dir) {
        /* Without the controller nothing can be taken away, and nothing
         * needs to be given either. */
        r = cg_dev_rules_restrict(&rules) ? -ENOTSUP : 0;
        cg_dev_rules_done(&rules);
        if (r < 0)
            return err_set(e, r, "oci.Linux.Resources.Devices: no devices controller is "
                                 "mounted under " V1_ROOT);
        return 0;
    }
    if (rules.reset) {
        const char *file = rules.default_allow ? "devices.allow" : "devices.deny";
        if ((r = cg_write(dir, file, "a")) < 0) {
            cg_dev_rules_done(&rules);
            return err_set(e, r, "oci.Linux.Resources.Devices: cannot write \"a\" to %s", file);
        }
    }
    for (size_t i = 0; i < rules.n; i++) {
        const char *file = rules.v[i].allow ? "devices.allow" : "devices.deny";
        cg_dev_rule_format(&rules.v[i], line, sizeof(line));
        if ((r = cg_write(dir, file, "%s", line)) < 0) {
            err_set(e, r, "oci.Linux.Resources.Devices: cannot write \"%s\" to %s", line, file);
            break;
        }
    }
    cg_dev_rules_done(&rules);
    return r < 0 ? r : 0;
}

static int v1_apply(struct cgroup *cg, const struct oci_resources *res, struct err *e)
{
    const char *d;
    int r;
    if ((d = cg_dir(cg, "memory")) && (r = set_memory(d, res, e)) < 0)
        return r;
    if ((d = cg_dir(cg, "cpu"))) {
        if (res->cpu_shares && (r = cg_write(d, "cpu.shares", "%llu",
                                             (unsigned long long)res->cpu_shares)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Shares: cannot write");
        if (res->cpu_period && (r = cg_write(d, "cpu.cfs_period_us", "%llu",
                                             (unsigned long long)res->cpu_period)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Period: cannot write");
        if (res->cpu_quota && (r = cg_write(d, "cpu.cfs_quota_us", "%lld",
                                            (long long)res->cpu_quota)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Quota: cannot write");
    }
    if ((d = cg_dir(cg, "cpuset"))) {
        if (res->cpus && (r = cg_write(d, "cpuset.cpus", "%s", res->cpus)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Cpus: cannot set \"%s\"", res->cpus);
        if (res->mems && (r = cg_write(d, "cpuset.mems", "%s", res->mems)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Mems: cannot set \"%s\"", res->mems);
    }
    if ((d = cg_dir(cg, "pids")) && res->pids_limit) {
        r = res->pids_limit > 0 ? cg_write(d, "pids.max", "%lld", (long long)res->pids_limit)
                                : cg_write(d, "pids.max", "max");
        if (r < 0)
            return err_set(e, r, "oci.Linux.Resources.Pids.Limit: cannot write");
    }
    if ((d = cg_dir(cg, "blkio")) && res->blkio_weight) {
        r = cg_write(d, "blkio.weight", "%u", res->blkio_weight);
        if (r < 0)
            r = cg_write(d, "blkio.bfq.weight", "%u", res->blkio_weight);
        if (r < 0 && r != -ENOENT)
            return err_set(e, r, "oci.Linux.Resources.BlockIO.Weight: cannot write");
    }
    if (res->n_dev_rules && (r = set_devices(cg_dir(cg, "devices"), res, e)) < 0)
        return r;
    return 0;
}

static bool v1_frozen(const struct cgroup *cg)
{
    char buf[32];
    const char *d = cg_dir(cg, "freezer");
    return d && cg_read(d, "freezer.state", buf, sizeof(buf)) > 0 && strncmp(buf, "FROZEN", 6) == 0;
}

static int v1_freeze(struct cgroup *cg, bool frozen)
{
    const char *d = cg_dir(cg, "freezer");
    if (!d)
        return -ENOTSUP;
    const char *want = frozen ? "FROZEN" : "THAWED";
    int r = cg_write(d, "freezer.state", "%s", want);
    if (r < 0)
        return r;
    /* The v1 freezer has no notification: FREEZING turns into FROZEN
     * shortly; check on a short sleep, on a worker thread. */
    for (int i = 0; i < 2000; i++) {
        char buf[32];
        if (cg_read(d, "freezer.state", buf, sizeof(buf)) > 0 && strncmp(buf, want, 6) == 0)
            return 0;
        if (frozen && i % 100 == 99)
            cg_write(d, "freezer.state", "%s", want);
        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
    }
    return -ETIMEDOUT;
}

static int v1_stats(const struct cgroup *cg, struct cgroup_stats *st)
{
    const char *d;
    char buf[4096];
    if ((d = cg_dir(cg, "cpuacct"))) {
        cg_read_u64(d, "cpuacct.usage", &st->cpu_total);
        cg_read_u64(d, "cpuacct.usage_user", &st->cpu_user);
        cg_read_u64(d, "cpuacct.usage_sys", &st->cpu_kernel);
        if (cg_read(d, "cpuacct.usage_percpu", buf, sizeof(buf)) > 0) {
            char *p = buf, *end;
            while (st->n_percpu < CGROUP_MAX_CPUS) {
                unsigned long long v = strtoull(p, &end, 10);
                if (end == p)
                    break;
                st->percpu[st->n_percpu++] = v;
                p = end;
            }
        }
    }
    if ((d = cg_dir(cg, "cpu")) && cg_read(d, "cpu.stat", buf, sizeof(buf)) > 0) {
        const char *p;
        if ((p = strstr(buf, "nr_periods ")))
            st->thr_periods = strtoull(p + 11, NULL, 10);
        if ((p = strstr(buf, "nr_throttled ")))
            st->thr_throttled = strtoull(p + 13, NULL, 10);
        if ((p = strstr(buf, "throttled_time ")))
            st->thr_time = strtoull(p + 15, NULL, 10);
    }
    if ((d = cg_dir(cg, "memory"))) {
        uint64_t h = 0;
        cg_read_u64(d, "memory.usage_in_bytes", &st->mem_usage);
        cg_read_u64(d, "memory.max_usage_in_bytes", &st->mem_max_usage);
        cg_read_u64(d, "memory.failcnt", &st->mem_failcnt);
        cg_read_u64(d, "memory.limit_in_bytes", &st->mem_limit);
        cg_read_u64(d, "memory.memsw.usage_in_bytes", &st->swap_usage);
        cg_read_u64(d, "memory.memsw.limit_in_bytes", &st->swap_limit);
        cg_read_u64(d, "memory.use_hierarchy", &h);
        st->use_hierarchy = h != 0;
        if (cg_read(d, "memory.stat", buf, sizeof(buf)) > 0)
            cg_parse_memory_stat(buf, "cache", st);
    }
    if ((d = cg_dir(cg, "pids"))) {
        cg_read_u64(d, "pids.current", &st->pids_current);
        cg_read_u64(d, "pids.max", &st->pids_limit);
    }
    return 0;
}

/* memory.oom_control notifications through an eventfd registered in
 * cgroup.event_control. */
static int v1_oom_fd(struct cgroup *cg)
{
    const char *d = cg_dir(cg, "memory");
    if (!d)
        return -ENOTSUP;
    char path[512];
    snprintf(path, sizeof(path), "%s/memory.oom_control", d);
    int ctl = open(path, O_RDONLY | O_CLOEXEC);
    if (ctl < 0)
        return -errno;
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
        int r = -errno;
        close(ctl);
        return r;
    }
    int r = cg_write(d, "cgroup.event_control", "%d %d", efd, ctl);
    close(ctl);
    if (r < 0) {
        close(efd);
        return r;
    }
    return efd;
}

static bool v1_oom_check(struct cgroup *cg, int fd)
{
    uint64_t v;
    if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return false;
    /* The eventfd also fires when the cgroup is removed. */
    const char *d = cg_dir(cg, "memory");
    return d && access(d, F_OK) == 0;
}

const struct cgroup_ops cgroup_v1_ops = {
    .create = v1_create,
    .apply = v1_apply,
    .freeze = v1_freeze,
    .frozen = v1_frozen,
    .stats = v1_stats,
    .oom_fd = v1_oom_fd,
    .oom_check = v1_oom_check,
};
