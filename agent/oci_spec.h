/* The container configuration as plain C, converted from the protobuf OCI
 * Spec by the glue (agent/oci_glue.c) both in the agent, which validates it
 * before anything is created, and in the re-executed init, which applies it.
 * Strings and arrays are owned by the struct and freed by oci_spec_free().
 * Capability names, seccomp actions and rlimit types stay as text here;
 * agent/caps.c, agent/seccomp.c and agent/rlimits.c check and apply them.
 * String vectors (char **) are NULL-terminated. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

struct oci_mount {
    char *destination, *source, *type;
    char **options;
};

struct oci_rlimit {
    char *type; /* "RLIMIT_NOFILE" */
    uint64_t hard, soft;
};

struct oci_namespace {
    int flag;   /* CLONE_NEW* */
    char *path; /* join this one; NULL: create a new one */
};

struct oci_device {
    char *path;
    char type; /* 'c', 'b', 'u', 'p' */
    int64_t major, minor;
    uint32_t mode, uid, gid;
};

struct oci_idmap {
    uint32_t host, container, size;
};

struct oci_seccomp_arg {
    unsigned index;
    uint64_t value, value2;
    char *op;
};

struct oci_syscall {
    char **names;
    char *action;
    bool has_errno;
    uint32_t errno_ret;
    struct oci_seccomp_arg *args;
    size_t n_args;
};

struct oci_seccomp {
    char *default_action;
    char **arches;
    char **flags;
    struct oci_syscall *syscalls;
    size_t n_syscalls;
};

struct oci_caps {
    char **bounding, **effective, **inheritable, **permitted, **ambient;
};

/* One linux.resources.devices rule, as given (agent/cgroups.c checks it):
 * type 'a', 'b' or 'c' ('a' when empty, '?' when not one character);
 * major/minor -1 for any; access a subset of "rwm" ("rwm" when empty,
 * "?" when longer than three characters). */
struct oci_dev_rule {
    bool allow;
    char type;
    int64_t major, minor;
    char access[4];
};

/* Resource limits; a zero means "not set" (proto3 carries no presence). */
struct oci_resources {
    int64_t mem_limit, mem_reservation, mem_swap;
    uint64_t mem_swappiness;
    bool mem_swappiness_set;
    uint64_t cpu_shares, cpu_period;
    int64_t cpu_quota;
    char *cpus, *mems;
    int64_t pids_limit;
    uint32_t blkio_weight;
    struct oci_dev_rule *dev_rules; /* in the spec's order; none: devices untouched */
    size_t n_dev_rules;
};

struct oci_process {
    bool terminal;
    uint32_t rows, cols;
    uint32_t uid, gid;
    uint32_t *gids;
    size_t n_gids;
    char **args, **env;
    char *cwd;
    bool has_caps;
    struct oci_caps caps;
    struct oci_rlimit *rlimits;
    size_t n_rlimits;
    bool no_new_privs;
    int64_t oom_score_adj;
};

struct oci_spec {
    struct oci_process process;
    char *root_path;
    bool root_readonly;
    char *hostname;
    struct oci_mount *mounts;
    size_t n_mounts;
    struct oci_namespace *namespaces;
    size_t n_namespaces;
    char **sysctl_keys, **sysctl_values;
    struct oci_device *devices;
    size_t n_devices;
    struct oci_idmap *uid_map, *gid_map;
    size_t n_uid_map, n_gid_map;
    struct oci_seccomp *seccomp; /* NULL: none */
    char *rootfs_propagation;
    char **masked_paths, **readonly_paths;
    char *cgroups_path;
    bool has_resources;
    struct oci_resources resources;
};

struct oci_spec *oci_spec_free(struct oci_spec *s);
void oci_process_done(struct oci_process *p);
void oci_resources_done(struct oci_resources *r);
/* The namespace entry of type flag (CLONE_NEWPID, ...), or NULL. */
const struct oci_namespace *oci_spec_namespace(const struct oci_spec *s, int flag);

size_t strv_length(char *const *v);
char **strv_free(char **v);

DEFINE_CLEANUP_FUNC(struct oci_spec *, oci_spec_free)
#define _cleanup_oci_spec_ _cleanup_(oci_spec_freep)
