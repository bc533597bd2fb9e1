/* Container cgroups on either hierarchy: v1 (one directory per controller,
 * as on hybrid hosts) or v2 (one unified directory). The backend is chosen
 * once from the filesystem type of /sys/fs/cgroup. Functions that wait on
 * the kernel (freeze) block and belong on a worker thread; the rest only
 * read and write small files. Errors are negative errno values with a
 * message naming the file. Not thread-safe per object. Device rules
 * (linux.resources.devices) go to devices.allow/devices.deny in v1 and
 * become a BPF device program attached to the directory in v2; no rules
 * leave the devices the cgroup inherits (all, in our guests). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

struct err;
struct oci_resources;
struct cgroup;

#define CGROUP_MAX_CPUS 256
#define CGROUP_MAX_STATS 64

struct cgroup_stats {
    uint64_t cpu_total, cpu_user, cpu_kernel; /* ns */
    uint64_t percpu[CGROUP_MAX_CPUS];
    size_t n_percpu;
    uint64_t thr_periods, thr_throttled, thr_time;
    uint64_t mem_usage, mem_max_usage, mem_failcnt, mem_limit, mem_cache;
    uint64_t swap_usage, swap_limit;
    bool use_hierarchy;
    char stat_keys[CGROUP_MAX_STATS][32];
    uint64_t stat_values[CGROUP_MAX_STATS];
    size_t n_stats;
    uint64_t pids_current, pids_limit;
};

/* Creates the cgroup at `path` (relative to every hierarchy's root; a
 * systemd-style "slice:prefix:name" is turned into a path) and applies res
 * (NULL: none). On failure nothing is left behind. */
int cgroup_create(const char *path, const struct oci_resources *res, struct cgroup **ret,
                  struct err *e);
/* Removes the directories (processes must be gone); frees the object. */
int cgroup_remove(struct cgroup *cg);
struct cgroup *cgroup_free(struct cgroup *cg);

int cgroup_update(struct cgroup *cg, const struct oci_resources *res, struct err *e);
/* The cgroup.procs files an init helper writes itself into. */
size_t cgroup_procs_files(const struct cgroup *cg, char (*files)[256], size_t max);
/* Blocks until the freezer reports the new state (at most ~2 s). */
int cgroup_freeze(struct cgroup *cg, bool frozen);
bool cgroup_frozen(const struct cgroup *cg);
int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *ret);
/* SIGKILLs every process listed in the cgroup; returns how many. */
int cgroup_kill_all(const struct cgroup *cg);
bool cgroup_is_empty(const struct cgroup *cg);
/* A non-blocking fd that turns readable on OOM activity, or -errno. */
int cgroup_oom_fd(struct cgroup *cg);
/* Drains the fd and tells whether an OOM kill happened since last time. */
bool cgroup_oom_check(struct cgroup *cg, int fd);
const char *cgroup_path(const struct cgroup *cg);

DEFINE_CLEANUP_FUNC(struct cgroup *, cgroup_free)
#define _cleanup_cgroup_ _cleanup_(cgroup_freep)
