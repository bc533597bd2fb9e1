/* Shared by cgroups.c and its two backends. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cgroups.h"

#define CG_MAX_DIRS 12

struct cgroup_ops;

struct cgroup {
    const struct cgroup_ops *ops;
    char *path;
    char *dirs[CG_MAX_DIRS]; /* v1: one per controller; v2: dirs[0] */
    char *ctrl[CG_MAX_DIRS]; /* v1: the controller name of dirs[i] */
    size_t n_dirs;
    uint64_t oom_kills; /* v2: last oom_kill count seen */
};

struct cgroup_ops {
    int (*create)(struct cgroup *cg, struct err *e);
    int (*apply)(struct cgroup *cg, const struct oci_resources *res, struct err *e);
    int (*freeze)(struct cgroup *cg, bool frozen);
    bool (*frozen)(const struct cgroup *cg);
    int (*stats)(const struct cgroup *cg, struct cgroup_stats *ret);
    int (*oom_fd)(struct cgroup *cg);
    bool (*oom_check)(struct cgroup *cg, int fd);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* Small file helpers (dir may be NULL when file is absolute). */
int cg_write(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cg_read(const char *dir, const char *file, char *buf, size_t size);
int cg_read_u64(const char *dir, const char *file, uint64_t *ret);
/* Fills st's key/value stats from a memory.stat text; cache_key names the
 * page-cache line ("cache" in v1, "file" in v2). */
void cg_parse_memory_stat(const char *buf, const char *cache_key, struct cgroup_stats *st);
/* Creates dir and its missing parents; calls made(parent-or-self) for each
 * directory created, in order, so a backend can initialise it. */
int cg_mkdir_p(const char *dir, void (*made)(const char *dir));
const char *cg_dir(const struct cgroup *cg, const char *ctrl);
