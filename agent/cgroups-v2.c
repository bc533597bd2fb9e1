/* cgroup v2 backend: one unified directory. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cgroups-internal.h"
#include "agent/oci_spec.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define V2_ROOT "/sys/fs/cgroup"

/* Every new level delegates the controllers to its children. */
static void enable_controllers(const char *dir)
{
    char parent[512], buf[256];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (!slash)
        return;
    *slash = '\0';
    if (cg_read(parent, "cgroup.controllers", buf, sizeof(buf)) <= 0)
        return;
    static const char *const want[] = {"cpu", "cpuset", "memory", "pids", "io"};
    for (size_t i = 0; i < ELEMENTSOF(want); i++)
        if (strstr(buf, want[i]))
            cg_write(parent, "cgroup.subtree_control", "+%s", want[i]);
}

static int v2_create(struct cgroup *cg, struct err *e)
{
    char *dir = NULL;
    struct stat st;
    if (asprintf(&dir, V2_ROOT "%s", cg->path) < 0)
        abort();
    if (stat(dir, &st) == 0) {
        free(dir);
        return err_set(e, -EEXIST, "oci.Linux.CgroupsPath: %s already exists", cg->path);
    }
    int r = cg_mkdir_p(dir, enable_controllers);
    if (r < 0) {
        free(dir);
        return err_set(e, r, "cgroup: cannot create " V2_ROOT "%s", cg->path);
    }
    cg->dirs[0] = dir;
    cg->n_dirs = 1;
    return 0;
}

static int v2_apply(struct cgroup *cg, const struct oci_resources *res, struct err *e)
{
    const char *d = cg->dirs[0];
    int r;
    if (res->mem_limit &&
        (r = res->mem_limit > 0 ? cg_write(d, "memory.max", "%lld", (long long)res->mem_limit)
                                : cg_write(d, "memory.max", "max")) < 0)
        return err_set(e, r, "oci.Linux.Resources.Memory.Limit: cannot write memory.max");
    if (res->mem_swap && res->mem_limit > 0) {
        if (res->mem_swap > 0)
            r = cg_write(d, "memory.swap.max", "%lld",
                         (long long)(res->mem_swap - res->mem_limit));
        else
            r = cg_write(d, "memory.swap.max", "max");
        if (r < 0 && r != -ENOENT)
            return err_set(e, r, "oci.Linux.Resources.Memory.Swap: cannot write memory.swap.max");
    }
    if (res->mem_reservation)
        cg_write(d, "memory.low", "%lld", (long long)res->mem_reservation);
    if (res->cpu_shares) {
        /* runc's conversion from v1 shares [2, 262144] to weight [1, 10000]. */
        uint64_t w = 1 + ((res->cpu_shares - 2) * 9999) / 262142;
        if ((r = cg_write(d, "cpu.weight", "%llu", (unsigned long long)w)) < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Shares: cannot write cpu.weight");
    }
    if (res->cpu_quota || res->cpu_period) {
        uint64_t period = res->cpu_period ? res->cpu_period : 100000;
        if (res->cpu_quota > 0)
            r = cg_write(d, "cpu.max", "%lld %llu", (long long)res->cpu_quota,
                         (unsigned long long)period);
        else
            r = cg_write(d, "cpu.max", "max %llu", (unsigned long long)period);
        if (r < 0)
            return err_set(e, r, "oci.Linux.Resources.CPU.Quota: cannot write cpu.max");
    }
    if (res->cpus && (r = cg_write(d, "cpuset.cpus", "%s", res->cpus)) < 0)
        return err_set(e, r, "oci.Linux.Resources.CPU.Cpus: cannot set \"%s\"", res->cpus);
    if (res->mems && (r = cg_write(d, "cpuset.mems", "%s", res->mems)) < 0)
        return err_set(e, r, "oci.Linux.Resources.CPU.Mems: cannot set \"%s\"", res->mems);
    if (res->pids_limit &&
        (r = res->pids_limit > 0 ? cg_write(d, "pids.max", "%lld", (long long)res->pids_limit)
                                 : cg_write(d, "pids.max", "max")) < 0)
        return err_set(e, r, "oci.Linux.Resources.Pids.Limit: cannot write pids.max");
    if (res->blkio_weight) {
        r = cg_write(d, "io.bfq.weight", "%u", res->blkio_weight);
        if (r < 0)
            cg_write(d, "io.weight", "default %u", res->blkio_weight);
    }
    if (res->n_dev_rules) {
        struct cg_dev_rules rules;
        if ((r = cg_dev_rules_build(res->dev_rules, res->n_dev_rules, &rules, e)) < 0)
            return r;
        r = cg_devices_bpf_apply(cg, &rules, e);
        cg_dev_rules_done(&rules);
        if (r < 0)
            return r;
    }
    return 0;
}

static bool v2_frozen(const struct cgroup *cg)
{
    char buf[512];
    return cg_read(cg->dirs[0], "cgroup.events", buf, sizeof(buf)) > 0 &&
           strstr(buf, "frozen 1") != NULL;
}

static int v2_freeze(struct cgroup *cg, bool frozen)
{
    char path[512];
    int r = cg_write(cg->dirs[0], "cgroup.freeze", "%d", frozen ? 1 : 0);
    if (r < 0)
        return r;
    /* cgroup.events is pollable: POLLPRI on every change. */
    snprintf(path, sizeof(path), "%s/cgroup.events", cg->dirs[0]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (int i = 0; i < 20 && v2_frozen(cg) != frozen; i++) {
        struct pollfd p = {.fd = fd, .events = POLLPRI};
        poll(&p, 1, 100);
    }
    close(fd);
    return v2_frozen(cg) == frozen ? 0 : -ETIMEDOUT;
}

static int v2_stats(const struct cgroup *cg, struct cgroup_stats *st)
{
    const char *d = cg->dirs[0];
    char buf[4096];
    const char *p;
    if (cg_read(d, "cpu.stat", buf, sizeof(buf)) > 0) {
        if ((p = strstr(buf, "usage_usec ")))
            st->cpu_total = strtoull(p + 11, NULL, 10) * 1000;
        if ((p = strstr(buf, "user_usec ")))
            st->cpu_user = strtoull(p + 10, NULL, 10) * 1000;
        if ((p = strstr(buf, "system_usec ")))
            st->cpu_kernel = strtoull(p + 12, NULL, 10) * 1000;
        if ((p = strstr(buf, "nr_periods ")))
            st->thr_periods = strtoull(p + 11, NULL, 10);
        if ((p = strstr(buf, "nr_throttled ")))
            st->thr_throttled = strtoull(p + 13, NULL, 10);
        if ((p = strstr(buf, "throttled_usec ")))
            st->thr_time = strtoull(p + 15, NULL, 10) * 1000;
    }
    cg_read_u64(d, "memory.current", &st->mem_usage);
    cg_read_u64(d, "memory.peak", &st->mem_max_usage);
    cg_read_u64(d, "memory.max", &st->mem_limit);
    cg_read_u64(d, "memory.swap.current", &st->swap_usage);
    cg_read_u64(d, "memory.swap.max", &st->swap_limit);
    st->use_hierarchy = true;
    if (cg_read(d, "memory.events", buf, sizeof(buf)) > 0 && (p = strstr(buf, "max ")))
        st->mem_failcnt = strtoull(p + 4, NULL, 10);
    if (cg_read(d, "memory.stat", buf, sizeof(buf)) > 0) {
        cg_parse_memory_stat(buf, "file", st);
    }
    cg_read_u64(d, "pids.current", &st->pids_current);
    cg_read_u64(d, "pids.max", &st->pids_limit);
    return 0;
}

static uint64_t oom_kills(const struct cgroup *cg)
{
    char buf[512];
    const char *p;
    if (cg_read(cg->dirs[0], "memory.events", buf, sizeof(buf)) > 0 &&
        (p = strstr(buf, "oom_kill ")))
        return strtoull(p + 9, NULL, 10);
    return 0;
}

/* memory.events changes are reported to inotify as IN_MODIFY. */
static int v2_oom_fd(struct cgroup *cg)
{
    char path[512];
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0)
        return -errno;
    snprintf(path, sizeof(path), "%s/memory.events", cg->dirs[0]);
    if (inotify_add_watch(fd, path, IN_MODIFY) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    cg->oom_kills = oom_kills(cg);
    return fd;
}

static bool v2_oom_check(struct cgroup *cg, int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    uint64_t n = oom_kills(cg);
    bool hit = n > cg->oom_kills;
    cg->oom_kills = n;
    return hit;
}

const struct cgroup_ops cgroup_v2_ops = {
    .create = v2_create,
    .apply = v2_apply,
    .freeze = v2_freeze,
    .frozen = v2_frozen,
    .stats = v2_stats,
    .oom_fd = v2_oom_fd,
    .oom_check = v2_oom_check,
};
