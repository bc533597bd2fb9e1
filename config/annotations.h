/* Pod annotations io.katacontainers.config.* over a configuration.
 *
 * annotations_apply() never changes the base configuration: it returns a
 * new struct cfg (the caller frees it) with the overrides applied and the
 * cross-key rules checked again. As upstream, hypervisor annotations
 * (io.katacontainers.config.hypervisor.<name>) are allowed only when one
 * regular expression of base->hv.enable_annotations matches all of <name>,
 * and the path-valued ones (path, virtio_fs_daemon, entropy_source) must
 * also match their valid_* glob list, where an empty list refuses them.
 * Values replace the configured ones, except kernel_params, which is
 * appended (so the guest kernel sees both, the annotation's last).
 * Runtime and agent annotations are not gated. A refused annotation fails
 * with -EPERM, a malformed value with -EINVAL; the message names the
 * annotation. Other annotations are ignored (unknown names under the
 * config prefix are logged as warnings). Pure; no global state. */
#pragma once

#include <stddef.h>

struct cfg;
struct err;

#define ANNOTATIONS_PREFIX "io.katacontainers.config."
#define ANNOTATIONS_HYPERVISOR ANNOTATIONS_PREFIX "hypervisor."
#define ANNOTATIONS_RUNTIME ANNOTATIONS_PREFIX "runtime."
#define ANNOTATIONS_AGENT ANNOTATIONS_PREFIX "agent."

struct annotation {
    const char *key;
    const char *value;
};

int annotations_apply(const struct cfg *base, const struct annotation *list, size_t n,
                      struct cfg **ret_cfg, struct err *e);

/* Whether <name> (the part after io.katacontainers.config.hypervisor.) is
 * enabled by the regexes in patterns (NULL-terminated). */
int annotations_enabled(char *const *patterns, const char *name);
