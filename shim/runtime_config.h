/* The shim's per-sandbox configuration: config/cfg.h loaded through Kata's
 * discovery (the Create options' ConfigPath, then KATA_CONF_FILE, then
 * /etc/kata-containers/configuration.toml, then
 * /usr/share/defaults/kata-containers/configuration.toml), the pod's
 * io.katacontainers.config.* annotations applied through
 * config/annotations.h (gated by enable_annotations), and turned into the
 * driver's struct hv_config by hypervisor/hv-config.h, the mapping
 * kata-agent-ctl uses too.
 *
 * The result is self-contained (fixed arrays, no pointers), because the
 * sandbox keeps a by-value copy of it; runtime_config_to_hv() points a
 * struct hv_config into the copy it is given. Blocking file reads: call
 * from a worker thread. Errors are negative errno with a message naming
 * the file and line (from cfg_load), the key or the annotation. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "hypervisor/hv.h"
#include "shim/network.h"

struct err;

#define RUNTIME_CONFIG_STR_MAX 1024
#define RUNTIME_CONFIG_PARAMS_MAX 4096
#define RUNTIME_CONFIG_ARGS_MAX 16
/* [agent.kata] kernel_modules: more items than any pod needs; one item
 * longer than this is refused. MODULE_NAME_LEN (64) less the kernel's
 * unsigned long is the longest module name. */
#define RUNTIME_CONFIG_MODULES_MAX 64
#define RUNTIME_CONFIG_MODULE_MAX 512
#define RUNTIME_CONFIG_MODULE_NAME_MAX 55

struct runtime_config {
    char file[PATH_MAX]; /* the file loaded */
    enum hv_kind kind;
    enum hv_shared_fs shared_fs;
    uint64_t dial_timeout_ns;
    enum network_model net_model; /* [runtime] internetworking_model */
    bool disable_new_netns;       /* [runtime]: no pod network at all */
    bool guest_seccomp;           /* [runtime] disable_guest_seccomp = false */
    uint64_t create_container_timeout_ns; /* [runtime] create_container_timeout */
    /* hv_config_from_cfg()'s result; its string fields are NULL here and
     * live in the arrays below (empty = NULL). */
    struct hv_config hv;
    char path[RUNTIME_CONFIG_STR_MAX];
    char kernel[RUNTIME_CONFIG_STR_MAX];
    char initrd[RUNTIME_CONFIG_STR_MAX];
    char image[RUNTIME_CONFIG_STR_MAX];
    char firmware[RUNTIME_CONFIG_STR_MAX];
    char machine_type[64];
    char cpu_model[128];
    char kernel_params[RUNTIME_CONFIG_PARAMS_MAX];
    char virtiofsd_path[RUNTIME_CONFIG_STR_MAX];
    char virtiofsd_cache[32];
    char entropy_source[RUNTIME_CONFIG_STR_MAX];
    char extra_args[RUNTIME_CONFIG_ARGS_MAX][256];
    size_t n_extra_args;
    const char *extra_ptrs[RUNTIME_CONFIG_ARGS_MAX + 1]; /* set by runtime_config_to_hv */
    /* [agent.kata] kernel_modules after the annotations, for CreateSandbox:
     * each "name param=value ...", blanks trimmed and runs of them made one
     * space; the name checked (runtime_config_check_module()). */
    char kernel_modules[RUNTIME_CONFIG_MODULES_MAX][RUNTIME_CONFIG_MODULE_MAX];
    size_t n_kernel_modules;
};

/* config_path: ConfigPath from the Create options, or NULL/"".
 * config_json: the bundle's OCI config.json, whose annotations apply (NULL:
 * none). */
int runtime_config_load(const char *config_path, const char *config_json,
                        struct runtime_config *ret, struct err *e);
/* Checks one kernel_modules item and writes it normalised (see
 * kernel_modules above) to buf: -EINVAL for an item without a name or a
 * name that is not [A-Za-z0-9_-]{1,55}, -ENAMETOOLONG when it does not fit,
 * with a message naming the key. */
int runtime_config_check_module(const char *item, char *buf, size_t size, struct err *e);
/* Fills hv with strings borrowed from c (and shared_dir). */
void runtime_config_to_hv(struct runtime_config *c, const char *shared_dir,
                          struct hv_config *ret_hv);
