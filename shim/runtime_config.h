/* The part of Kata's configuration.toml the shim uses to start a sandbox,
 * until config/cfg.h (the full schema) is available: discovery (the Create
 * options' ConfigPath, then KATA_CONF_FILE, then
 * /etc/kata-containers/configuration.toml and
 * /usr/share/defaults/kata-containers/configuration.toml), the first
 * [hypervisor.<qemu|clh|mock>] table with Kata's key names, [agent.kata]
 * dial_timeout, and the io.katacontainers.config.hypervisor.* annotations
 * the hypervisor table lists in enable_annotations. The mock driver (a
 * test configuration: [hypervisor.mock] path = <kata-agent>) runs the agent
 * on the host. Blocking file reads: call from a worker thread. Errors are
 * negative errno with a message naming the file and key. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "hypervisor/hv.h"

struct err;

#define RUNTIME_CONFIG_STR_MAX 1024

struct runtime_config {
    char file[PATH_MAX]; /* the file read, "" for built-in defaults */
    enum hv_kind kind;
    char path[RUNTIME_CONFIG_STR_MAX];
    char kernel[RUNTIME_CONFIG_STR_MAX];
    char initrd[RUNTIME_CONFIG_STR_MAX];
    char image[RUNTIME_CONFIG_STR_MAX];
    char firmware[RUNTIME_CONFIG_STR_MAX];
    char machine_type[64];
    char kernel_params[RUNTIME_CONFIG_STR_MAX];
    char virtiofsd[RUNTIME_CONFIG_STR_MAX];
    char virtiofsd_cache[32];
    enum hv_shared_fs shared_fs;
    unsigned vcpus, memory_mib;
    uint64_t dial_timeout_ns;
    bool debug;
    char enable_annotations[RUNTIME_CONFIG_STR_MAX]; /* ",key,key," */
};

/* config_path: ConfigPath from the Create options, or NULL/"". */
int runtime_config_load(const char *config_path, struct runtime_config *ret,
                        struct err *e);
/* Applies permitted annotations from an OCI config.json's annotations. */
int runtime_config_annotations(struct runtime_config *c, const char *config_json_path,
                               struct err *e);
/* Fills hv (strings borrowed from c). */
void runtime_config_to_hv(const struct runtime_config *c, const char *shared_dir,
                          struct hv_config *ret_hv);
