/* Hypervisor drivers: one small interface, backends chosen by kind.
 *
 * A `struct hv_vm` is one sandbox VM. hv_vm_new() prepares it (checks the
 * configuration, computes the command line, creates its state folder);
 * hv_vm_start() launches the VMM (and virtiofsd) and returns once the VMM
 * runs; the guest agent is reached at hv_vm_agent_address().
 *
 * Threading: every operation may block (up to the timeout it is given), so
 * callers run them on a lib/workpool.h worker, never on a loop thread, and
 * issue one operation at a time per VM. The VMM's death is observed by the
 * caller's loop through hv_vm_pidfd(). Errors: negative errno plus a
 * message in struct err naming the file, key or device at fault. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

enum hv_kind { HV_KIND_QEMU, HV_KIND_CLH, HV_KIND_MOCK };
enum hv_accel { HV_ACCEL_AUTO, HV_ACCEL_KVM, HV_ACCEL_TCG };
enum hv_transport {
    HV_TRANSPORT_AUTO,           /* vsock where /dev/vhost-vsock works, else virtio-serial */
    HV_TRANSPORT_VSOCK,
    HV_TRANSPORT_VIRTIO_SERIAL,  /* port named agent.channel.0 */
    HV_TRANSPORT_HYBRID_VSOCK,   /* Cloud Hypervisor */
};
enum hv_shared_fs { HV_SHARED_FS_VIRTIO_FS, HV_SHARED_FS_VIRTIO_9P, HV_SHARED_FS_NONE };

/* Kata's debug console port ([agent.kata] debug_console_enabled). */
#define HV_DEBUG_CONSOLE_VPORT 1026

/* Plain values; the shim fills this from the loaded configuration. Strings
 * are borrowed for the lifetime of the VM; NULL means "not set". */
struct hv_config {
    enum hv_kind kind;
    const char *path;          /* VMM binary (for mock: the kata-agent binary) */
    const char *kernel;
    const char *initrd;
    const char *image;
    const char *firmware;
    const char *machine_type;  /* "q35" (default), "pc", "microvm" */
    const char *cpu_model;     /* default "host" with KVM, "max" with TCG */
    const char *kernel_params; /* appended after the driver's own parameters */
    enum hv_accel accel;
    unsigned vcpus;
    unsigned max_vcpus;
    unsigned memory_mib;
    unsigned memory_slots;
    unsigned max_memory_mib;   /* 0: no memory hotplug */
    unsigned pcie_root_ports;  /* hotplug slots */
    enum hv_transport transport;
    enum hv_shared_fs shared_fs;
    const char *shared_dir;    /* host folder shared with the guest */
    const char *virtiofsd_path;
    const char *virtiofsd_cache;              /* "auto", "always", "never" */
    const char *const *virtiofsd_extra_args;  /* NULL-terminated, may be NULL */
    unsigned msize_9p;
    unsigned tcg_tb_size_mib;  /* TCG translation cache; 0: the driver's default */
    const char *entropy_source; /* virtio-rng's host file; NULL: the VMM's default */
    bool mem_prealloc;         /* allocate all guest RAM when the VM starts */
    bool hugepages;            /* guest RAM from huge pages (QEMU; implies mem_prealloc) */
    bool free_page_reporting;  /* virtio-balloon returning freed guest pages */
    bool release_kernel_pages; /* QEMU: page out its kernel file mapping once running */
    bool debug;                /* console log at debug, agent.log=debug */
    bool debug_console;        /* agent.debug_console on vsock port HV_DEBUG_CONSOLE_VPORT */
    unsigned container_pipe_size; /* agent.container_pipe_size; 0: not passed */
};

/* What a driver, on this host, can do. */
struct hv_caps {
    bool block_hotplug;
    bool net_hotplug;
    bool pause;
    bool vsock;       /* the agent channel chosen is vsock */
    bool kvm;         /* the accelerator chosen is KVM */
};

enum hv_device_kind { HV_DEVICE_BLOCK, HV_DEVICE_NET_TAP };

struct hv_device {
    enum hv_device_kind kind;
    char id[64];              /* caller's id, unique per VM */
    /* block */
    const char *path;         /* file or block device on the host */
    bool readonly;
    /* net */
    const int *tap_fds;       /* queue fds, owned by the caller */
    size_t n_tap_fds;
    char mac[18];             /* "aa:bb:cc:dd:ee:ff" */
    unsigned mtu;
    /* out: where the guest finds it, "bb/dd" PCI path (agent's devicePath) */
    char guest_pci_path[32];
};

struct hv_vm;

/* Prepares a VM whose state (sockets, logs, pid file) lives in
 * state_dir/<sandbox_id>. Nothing is started. */
int hv_vm_new(const struct hv_config *cfg, const char *state_dir, const char *sandbox_id,
              struct hv_vm **ret_vm, struct err *e);
/* Stops whatever still runs (as hv_vm_stop with a short timeout) and frees. */
struct hv_vm *hv_vm_free(struct hv_vm *vm);

int hv_vm_start(struct hv_vm *vm, uint64_t timeout_ns, struct err *e);
/* Graceful shutdown, then SIGKILL after timeout_ns; the VMM and its helpers
 * are always reaped and their sockets removed. */
int hv_vm_stop(struct hv_vm *vm, uint64_t timeout_ns, struct err *e);
int hv_vm_pause(struct hv_vm *vm, struct err *e);
int hv_vm_resume(struct hv_vm *vm, struct err *e);
/* Fills dev->guest_pci_path on success. */
int hv_vm_hotplug_add(struct hv_vm *vm, struct hv_device *dev, struct err *e);
int hv_vm_hotplug_remove(struct hv_vm *vm, const char *device_id, uint64_t timeout_ns,
                         struct err *e);

/* URI the ttRPC client dials (lib/transport.h): vsock://CID:1024,
 * vserial:///…/agent.sock (virtio-serial host side,
 * with the session sync of lib/vport_sync.h), hvsock:///…:1024. */
int hv_vm_agent_address(const struct hv_vm *vm, char *buf, size_t size);
/* pidfd of the VMM (owned by the VM), or -1 before start / after stop. */
int hv_vm_pidfd(const struct hv_vm *vm);
int hv_vm_pid(const struct hv_vm *vm);
void hv_vm_caps(const struct hv_vm *vm, struct hv_caps *ret_caps);

/* After a crash of the process that owned the VM: kills a VMM still
 * recorded in state_dir/<sandbox_id> (checking the pid really is that VMM)
 * and removes the folder. Idempotent: nothing there is success. */
int hv_cleanup(enum hv_kind kind, const char *state_dir, const char *sandbox_id, struct err *e);

const char *hv_kind_name(enum hv_kind kind);
int hv_kind_from_name(const char *name, enum hv_kind *ret_kind);
