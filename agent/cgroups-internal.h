/* Shared by cgroups.c and its two backends. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/cgroups.h"

#define CG_MAX_DIRS 12

struct cgroup_ops;
struct oci_dev_rule;

struct cgroup {
    const struct cgroup_ops *ops;
    char *path;
    char *dirs[CG_MAX_DIRS]; /* v1: one per controller; v2: dirs[0] */
    char *ctrl[CG_MAX_DIRS]; /* v1: the controller name of dirs[i] */
    size_t n_dirs;
    uint64_t oom_kills; /* v2: last oom_kill count seen */
    int dev_prog_fd;    /* v2: the device program attached by us, or -1 */
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

/* The device rules of a spec, checked and ready to apply. A type 'a' rule
 * resets everything before it (as a write of "a" to devices.allow or
 * devices.deny does in v1), so only the last one matters: it sets the
 * default (reset true), and the rules after it follow in the spec's order,
 * a later rule winning over an earlier one. Without an 'a' rule the
 * default is what the cgroup inherits (allow all in our guests). When the
 * default is deny, the rules runc always adds for mknod and the terminal
 * devices come last (see cg_dev_rules_build()). */
struct cg_dev_rules {
    bool reset, default_allow;
    struct oci_dev_rule *v; /* owned */
    size_t n;
};

#define CG_MAX_DEV_RULES 1024

/* -EINVAL naming oci.Linux.Resources.Devices[i] when a rule is malformed. */
int cg_dev_rules_build(const struct oci_dev_rule *spec, size_t n, struct cg_dev_rules *ret,
                       struct err *e);
void cg_dev_rules_done(struct cg_dev_rules *r);
/* Whether the rules take anything away: allow rules alone, on the default
 * allow, need neither a devices controller nor a program. */
bool cg_dev_rules_restrict(const struct cg_dev_rules *r);
/* "c 1:3 rw", "b *:* m" (v1 file syntax). */
void cg_dev_rule_format(const struct oci_dev_rule *r, char *buf, size_t size);

/* v2 (cgroups-devices-bpf.c): builds the BPF_PROG_TYPE_CGROUP_DEVICE
 * program for r, attaches it to the cgroup directory and detaches the one
 * attached before (cg->dev_prog_fd), so the rules never lapse. */
int cg_devices_bpf_apply(struct cgroup *cg, const struct cg_dev_rules *r, struct err *e);
void cg_devices_bpf_release(struct cgroup *cg);
/* The program itself, for tests: fills insns (room for max), returns the
 * count or -E2BIG. */
struct bpf_insn;
int cg_devices_bpf_build(const struct cg_dev_rules *r, struct bpf_insn *insns, size_t max);
