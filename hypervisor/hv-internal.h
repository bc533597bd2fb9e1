/* What hypervisor backends share with hv.c (not for callers of hv.h).
 *
 * hv.c owns struct hv_vm: it allocates it, fills the common part below,
 * picks the backend's `struct hv_ops` by kind and calls it. A backend keeps
 * its own state behind vm->priv (allocated in ->prepare, released in
 * ->destroy) and fills the common fields it is responsible for:
 * agent_address (by the end of ->prepare or ->start), pidfd/pid while the
 * VMM runs (-1 otherwise), caps (by the end of ->prepare; refined by
 * ->start). Threading follows hv.h: one blocking operation at a time per
 * VM, on a worker thread; hv.c reads pidfd/pid atomically for the loop
 * thread. Every op returns 0 or a negative errno and, on failure, sets the
 * struct err it is given (never logs the same error as well). */
#pragma once

#include "hypervisor/hv.h"

#include <stdint.h>
#include <sys/types.h>

#define HV_AGENT_ADDRESS_MAX 160
/* The virtio-serial port the agent serves (DESIGN.md decision 5). */
#define HV_AGENT_SERIAL_NAME "agent.channel.0"
#define HV_AGENT_VSOCK_PORT 1024
/* Guest tag of the shared folder (kata.md §3). */
#define HV_SHARED_TAG "kataShared"

struct hv_vm {
    const struct hv_ops *ops;
    struct hv_config cfg;    /* copy; its strings stay borrowed from the caller */
    char *sandbox_id;        /* owned */
    char *dir;               /* owned: state_dir/sandbox_id, created by hv_vm_new() */
    char agent_address[HV_AGENT_ADDRESS_MAX];
    int pidfd;               /* VMM pidfd, owned; -1 when not running (atomic access) */
    pid_t pid;               /* VMM pid, 0 when not running (atomic access) */
    struct hv_caps caps;
    bool started;
    void *priv;              /* backend state */
};

/* One function per hv.h operation. ->prepare, ->destroy and ->cleanup are
 * required; a NULL ->pause/->resume/->hotplug_* means -ENOTSUP; a NULL
 * ->agent_address/->pidfd/->pid/->caps means "read the common field". */
struct hv_ops {
    const char *name;
    /* hv_vm_new(): validate vm->cfg, compute what start needs (no process
     * started). vm->dir exists. On failure hv.c calls ->destroy. */
    int (*prepare)(struct hv_vm *vm, struct err *e);
    /* hv_vm_free(): stop what runs (short timeout), free vm->priv. Must cope
     * with a half-prepared VM. Does not remove vm->dir (hv.c does). */
    void (*destroy)(struct hv_vm *vm);
    int (*start)(struct hv_vm *vm, uint64_t timeout_ns, struct err *e);
    int (*stop)(struct hv_vm *vm, uint64_t timeout_ns, struct err *e);
    int (*pause)(struct hv_vm *vm, struct err *e);
    int (*resume)(struct hv_vm *vm, struct err *e);
    int (*hotplug_add)(struct hv_vm *vm, struct hv_device *dev, struct err *e);
    int (*hotplug_remove)(struct hv_vm *vm, const char *device_id, uint64_t timeout_ns,
                               struct err *e);
    int (*agent_address)(const struct hv_vm *vm, char *buf, size_t size);
    int (*pidfd)(const struct hv_vm *vm);
    int (*pid)(const struct hv_vm *vm);
    void (*caps)(const struct hv_vm *vm, struct hv_caps *ret_caps);
    /* hv_cleanup(): kill a VMM recorded in dir (checking it is that VMM).
     * hv.c removes dir afterwards. dir may not exist. */
    int (*cleanup)(const char *dir, struct err *e);
};

extern const struct hv_ops hv_qemu_ops;
extern const struct hv_ops hv_mock_ops;
/* hv_clh_ops is declared by hypervisor/clh*.c's own internal header. */

/* Helpers for backends (hv.c). */

/* Publishes / clears the running VMM (atomic stores; pidfd ownership moves
 * into vm, an older pidfd is closed). */
void hv_vm_set_running(struct hv_vm *vm, int pidfd, pid_t pid);
void hv_vm_clear_running(struct hv_vm *vm);
/* Joins vm->dir and name into buf; -ENAMETOOLONG when it does not fit. */
int hv_vm_path(const struct hv_vm *vm, const char *name, char *buf, size_t size);
/* Writes "<pid>\n" to dir/<name> atomically, or reads it back (-ENOENT). */
int hv_pidfile_write(const char *dir, const char *name, pid_t pid);
int hv_pidfile_read(const char *dir, const char *name, pid_t *ret_pid);
/* Kills the process recorded in dir/<pidfile> if /proc/<pid>/exe's basename
 * starts with exe_prefix (so a reused pid is never killed), waiting up to
 * timeout_ns for it to go. 0 when nothing ran. */
int hv_kill_recorded(const char *dir, const char *pidfile, const char *exe_prefix,
                     uint64_t timeout_ns);
/* Removes dir and what it holds (one level of files; sockets, logs). */
int hv_remove_dir(const char *dir);
/* hv-host.c: the host choices for a VMM, made by config/hostcheck.h (the same
 * functions `kata-runtime check` reports with, so the two never disagree):
 * cfg->accel / cfg->transport when forced, otherwise what this host can
 * do. Blocking: an "auto" or "kvm" accel runs the KVM probe (up to
 * HOSTCHECK_KVM_TIMEOUT_MS). -ENODEV with the reason when the
 * configuration forces what the host lacks. */
/* The KVM probe (config/hostcheck.h) with its verdict remembered in
 * cache_path for this host boot (a bad verdict for ten minutes only), so
 * VM starts after the first skip the probe's test guest. NULL: no cache. */
#define HV_KVM_CACHE_PATH "/run/kata-containers/kvm-probe"
struct hostcheck_kvm;
void hv_host_kvm(const char *cache_path, struct hostcheck_kvm *ret);

int hv_host_choose_accel(const struct hv_config *cfg, enum hv_accel *ret_accel, struct err *e);
int hv_host_choose_transport(const struct hv_config *cfg, enum hv_transport *ret_transport,
                             struct err *e);
/* Opens /dev/vhost-vsock and claims a free guest CID with
 * VHOST_VSOCK_SET_GUEST_CID (random start, probing upward on EADDRINUSE, as
 * Kata does). The fd (close-on-exec) goes to the VMM as its vhostfd. */
int hv_host_claim_vsock_cid(int *ret_fd, uint32_t *ret_cid, struct err *e);
/* Checks that path names a readable regular file: -ENOENT/-EACCES/-EINVAL
 * with "<what> <path>: reason" in e. */
int hv_check_file(const char *what, const char *path, bool executable, struct err *e);
