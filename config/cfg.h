/* The Kata configuration: one schema table (config/cfg-schema.c) of
 * sections, keys, types and defaults, loaded from TOML into plain C.
 *
 * A `struct cfg` is owned by whoever created it (cfg_load(), cfg_defaults(),
 * cfg_dup()) and released with cfg_free(). Every string is owned by the
 * struct and never NULL ("" when unset); every list is a NULL-terminated
 * array, never NULL. No TOML type appears here. Loading is pure apart from
 * reading the file: no host probing, no existence checks on paths (that is
 * kata-runtime check's and the drivers' job); the one exception is a
 * warning when shared_fs = "virtio-9p" and the guest's file-system manifest
 * (config/guestcheck.h) lacks 9p. Unknown sections and keys
 * are logged with log_warn() as FILE:LINE and ignored, and so are keys
 * this runtime accepts but does not implement when they are set to a
 * non-default value (cfg_unimplemented()); wrong types and bad
 * values fail with -EINVAL and "FILE:LINE: [section] key: message" in
 * struct err. Functions are reentrant; there is no global state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/compiler.h"

struct err;

/* CFG_HV_MOCK is [hypervisor.mock], for tests: no VM, path is the kata-agent
 * binary, which the mock driver runs as a host process. */
enum cfg_hv_kind { CFG_HV_QEMU, CFG_HV_CLH, CFG_HV_MOCK, _CFG_HV_MAX };
enum cfg_accel { CFG_ACCEL_AUTO, CFG_ACCEL_KVM, CFG_ACCEL_TCG };
enum cfg_machine { CFG_MACHINE_Q35, CFG_MACHINE_PC, CFG_MACHINE_MICROVM };
enum cfg_rootfs_type { CFG_ROOTFS_EXT4, CFG_ROOTFS_XFS, CFG_ROOTFS_EROFS };
enum cfg_shared_fs {
    CFG_SHARED_FS_VIRTIO_FS,
    CFG_SHARED_FS_VIRTIO_FS_NYDUS,
    CFG_SHARED_FS_VIRTIO_9P,
    CFG_SHARED_FS_NONE,
};
enum cfg_virtio_fs_cache {
    CFG_VIRTIO_FS_CACHE_NEVER,
    CFG_VIRTIO_FS_CACHE_METADATA,
    CFG_VIRTIO_FS_CACHE_AUTO,
    CFG_VIRTIO_FS_CACHE_ALWAYS,
};
enum cfg_block_driver { CFG_BLOCK_VIRTIO_SCSI, CFG_BLOCK_VIRTIO_BLK, CFG_BLOCK_NVDIMM };
enum cfg_block_aio { CFG_AIO_THREADS, CFG_AIO_NATIVE, CFG_AIO_IO_URING };
enum cfg_vfio_port {
    CFG_VFIO_NO_PORT,
    CFG_VFIO_BRIDGE_PORT,
    CFG_VFIO_ROOT_PORT,
    CFG_VFIO_SWITCH_PORT,
};
enum cfg_transport { CFG_TRANSPORT_AUTO, CFG_TRANSPORT_VSOCK, CFG_TRANSPORT_VIRTIO_SERIAL };
enum cfg_netmodel { CFG_NET_TCFILTER, CFG_NET_MACVTAP, CFG_NET_NONE };
enum cfg_vfio_mode { CFG_VFIO_MODE_GUEST_KERNEL, CFG_VFIO_MODE_VFIO };
enum cfg_emptydir_mode {
    CFG_EMPTYDIR_SHARED_FS,
    CFG_EMPTYDIR_BLOCK_ENCRYPTED,
    CFG_EMPTYDIR_BLOCK_PLAIN,
};

/* [hypervisor.qemu], [hypervisor.clh] or [hypervisor.mock]. Sizes in MiB. */
struct cfg_hypervisor {
    enum cfg_hv_kind kind;
    char *path;
    char *kernel;
    char *initrd;
    char *image;
    char *firmware;
    char *firmware_volume;
    enum cfg_machine machine_type;
    enum cfg_rootfs_type rootfs_type;
    enum cfg_accel accel;               /* ours: auto probes KVM, else TCG */
    int tcg_tb_size;                    /* ours: TCG translation cache, MiB */
    bool reclaim_guest_freed_memory;    /* virtio-balloon free page reporting */
    bool release_kernel_file_pages;     /* ours: page out QEMU's kernel copy after start */
    char *kernel_params;
    char *machine_accelerators;
    char *cpu_features;
    int default_vcpus;                  /* negative: every host CPU (as upstream) */
    int default_maxvcpus;               /* 0: host CPUs */
    int default_memory;
    int memory_slots;
    int default_maxmemory;              /* 0: host RAM */
    int memory_offset;
    int default_bridges;
    bool enable_virtio_mem;
    bool disable_block_device_use;
    enum cfg_shared_fs shared_fs;
    char *virtio_fs_daemon;
    char **virtio_fs_extra_args;
    enum cfg_virtio_fs_cache virtio_fs_cache;
    int virtio_fs_cache_size;
    int virtio_fs_queue_size;
    int msize_9p;
    enum cfg_block_driver block_device_driver;
    enum cfg_block_aio block_device_aio;
    bool block_device_cache_set;
    bool block_device_cache_direct;
    bool block_device_cache_noflush;
    bool enable_iothreads;
    int indep_iothreads;
    bool enable_mem_prealloc;
    bool enable_hugepages;
    bool enable_iommu;
    bool enable_iommu_platform;
    bool disable_image_nvdimm;
    enum cfg_vfio_port hot_plug_vfio;
    enum cfg_vfio_port cold_plug_vfio;
    int pcie_root_port;
    bool disable_vhost_net;
    char *entropy_source;
    bool enable_debug;
    char *guest_hook_path;
    bool disable_guest_selinux;
    bool use_legacy_serial;
    char **enable_annotations;          /* regexes over the annotation suffix */
    char **valid_hypervisor_paths;      /* fnmatch(3) patterns */
    char **valid_virtio_fs_daemon_paths;
    char **valid_entropy_sources;
};

/* [agent.kata] */
struct cfg_agent {
    bool enable_debug;
    bool enable_tracing;
    bool debug_console_enabled;
    char **kernel_modules;              /* "name param=value ..." */
    int container_pipe_size;            /* bytes; 0: the guest kernel's default */
    int dial_timeout;                   /* seconds */
    int cdh_api_timeout;                /* seconds */
    enum cfg_transport transport;       /* ours */
};

/* [runtime] */
struct cfg_runtime {
    bool enable_debug;
    bool enable_tracing;
    enum cfg_netmodel internetworking_model;
    bool disable_guest_seccomp;
    bool disable_new_netns;
    bool sandbox_cgroup_only;
    bool static_sandbox_resource_mgmt;
    bool enable_vcpus_pinning;
    char **sandbox_bind_mounts;
    enum cfg_vfio_mode vfio_mode;
    bool disable_guest_empty_dir;
    enum cfg_emptydir_mode emptydir_mode;
    char **experimental;
    bool enable_pprof;
    int create_container_timeout;       /* seconds */
    char *dan_conf;
};

/* [factory] */
struct cfg_factory {
    bool enable_template;
    char *template_path;
    int vm_cache_number;
    char *vm_cache_endpoint;
};

struct cfg {
    char *file;                         /* the file loaded, "" for built-in defaults */
    char **dropins;                     /* drop-ins merged over file, in order (cfg_load) */
    /* cfg_load(): one message per key set to a value this runtime does not
     * act on (see cfg_unimplemented()), already logged as a warning. */
    char **unimplemented;
    struct cfg_hypervisor hv;
    struct cfg_agent agent;
    struct cfg_runtime runtime;
    struct cfg_factory factory;
};

/* Built-in defaults for one hypervisor: what the shipped files hold. The
 * mock's defaults are QEMU's with no path, no allow-list for it, no kernel,
 * initrd or shared filesystem. */
int cfg_defaults(enum cfg_hv_kind kind, struct cfg **ret_cfg);
/* Reads, parses and validates a configuration file, then merges the
 * drop-ins of the config.d directory beside it (see config/cfg-dropin.h). */
int cfg_load(const char *path, struct cfg **ret_cfg, struct err *e);
/* The same from memory; name is used in messages. */
int cfg_load_string(const char *text, size_t len, const char *name, struct cfg **ret_cfg,
                    struct err *e);
int cfg_dup(const struct cfg *c, struct cfg **ret_cfg);
struct cfg *cfg_free(struct cfg *c);
DEFINE_CLEANUP_FUNC(struct cfg *, cfg_free)
#define _cleanup_cfg_ _cleanup_(cfg_freep)

/* Checks rules that span keys (image vs initrd, netns vs network model,
 * paths against the valid_* lists, ...). cfg_load() runs it; callers that
 * change a cfg (annotations) run it again. Messages name the keys. */
int cfg_validate(const struct cfg *c, struct err *e);

/* Keys this runtime accepts, as upstream Kata files carry them, but does
 * not implement (the schema marks them, per hypervisor). For each one that
 * c holds with a value other than the built-in default for c->hv.kind,
 * one message "[section] key = VALUE is not implemented by this runtime and
 * has no effect", prefixed with "FILE: " (cfg_load() keeps the same list,
 * with FILE:LINE, in c->unimplemented). Never an error: existing Kata files
 * keep loading. *ret_msgs is NULL-terminated (empty when there is nothing
 * to say); free it with cfg_unimplemented_free(). Returns the count. */
int cfg_unimplemented(const struct cfg *c, char ***ret_msgs);
char **cfg_unimplemented_free(char **msgs);
/* The same for the keys whose value differs between base and c (c being
 * base with overrides applied, e.g. pod annotations): each is logged with
 * log_warn(), prefixed with origin. Returns the count. */
int cfg_warn_unimplemented(const struct cfg *base, const struct cfg *c, const char *origin);

/* Field-by-field comparison over the schema: 0 when equal, otherwise 1 with
 * "[section] key" of the first difference in ret_key (may be NULL). */
int cfg_compare(const struct cfg *a, const struct cfg *b, char *ret_key, size_t key_len);

/* Writes a complete, commented configuration file holding c's values, for
 * the keys the schema shows for c->hv.kind. Used to generate the shipped
 * configuration-qemu.toml and configuration-clh.toml. */
int cfg_write_toml(const struct cfg *c, FILE *f);

/* Name <-> value of the enums, as written in TOML ("q35", "virtio-fs", ...).
 * cfg_enum_name() returns "?" for an out-of-range value. */
enum cfg_enum_kind {
    CFG_ENUM_HV_KIND,
    CFG_ENUM_ACCEL,
    CFG_ENUM_MACHINE,
    CFG_ENUM_ROOTFS,
    CFG_ENUM_SHARED_FS,
    CFG_ENUM_VIRTIO_FS_CACHE,
    CFG_ENUM_BLOCK_DRIVER,
    CFG_ENUM_BLOCK_AIO,
    CFG_ENUM_VFIO_PORT,
    CFG_ENUM_TRANSPORT,
    CFG_ENUM_NETMODEL,
    CFG_ENUM_VFIO_MODE,
    CFG_ENUM_EMPTYDIR_MODE,
    _CFG_ENUM_MAX,
};
const char *cfg_enum_name(enum cfg_enum_kind kind, int value);
int cfg_enum_value(enum cfg_enum_kind kind, const char *name, int *ret_value);

/* Configuration discovery (DESIGN.md decision 7), first hit wins:
 *   1. config_path (containerd's ConfigPath runtime option, or --config);
 *   2. $KATA_CONF_FILE;
 *   3. search->etc_path        (/etc/kata-containers/configuration.toml);
 *   4. search->defaults_path   (/usr/share/defaults/kata-containers/configuration.toml).
 * An explicit path (1 or 2) that does not exist is an error, not a reason to
 * fall through. -ENOENT lists everything tried. search may be NULL for the
 * system paths; tests pass their own. ret_path is malloc'd. */
struct cfg_search {
    const char *etc_path;
    const char *defaults_path;
};
#define CFG_ETC_PATH "/etc/kata-containers/configuration.toml"
#define CFG_DEFAULTS_DIR "/usr/share/defaults/kata-containers"
#define CFG_DEFAULTS_PATH CFG_DEFAULTS_DIR "/configuration.toml"
int cfg_find(const char *config_path, const struct cfg_search *search, char **ret_path,
             struct err *e);
