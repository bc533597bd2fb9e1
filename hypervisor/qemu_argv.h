/* The QEMU command line, as a pure function: a struct hv_config plus the
 * choices the driver resolved on this host (accelerator, agent channel, guest
 * CID, fds and socket paths) in, a NULL-terminated argv out. No I/O, no
 * globals, so golden-file tests pin every argument (tests/unit/golden/qemu).
 *
 * Configuration mistakes (unknown machine type, a vCPU or memory count out
 * of range, a feature the machine cannot offer) are -EINVAL with a message
 * naming the configuration key. The argv is owned by the caller and released
 * with qemu_argv_free(). Values placed in QEMU's "key=value,..." options have
 * their commas doubled, so any path is passed through intact. */
#pragma once

#include <stdint.h>

#include "hypervisor/hv.h"

struct err;

struct qemu_argv_choices {
    enum hv_accel accel;         /* resolved: HV_ACCEL_KVM or HV_ACCEL_TCG */
    enum hv_transport transport; /* resolved: HV_TRANSPORT_VSOCK or HV_TRANSPORT_VIRTIO_SERIAL */
    uint32_t guest_cid;          /* vsock: the guest's CID (>= 3) */
    int vhost_fd;                /* vsock: /dev/vhost-vsock fd in the child, -1: QEMU opens it */
    const char *name;            /* -name sandbox-<name> */
    int qmp_fd;                  /* listening QMP socket passed to QEMU, or -1 to use qmp_path */
    const char *qmp_path;
    int agent_fd;                /* virtio-serial: listening socket fd, or -1 to use agent_path */
    const char *agent_path;
    const char *console_path;    /* guest serial console log file */
    const char *virtiofs_path;   /* virtiofsd's vhost-user socket (shared_fs = virtio-fs) */
    unsigned tsc_khz;            /* TCG: tsc_early_khz= (required on microvm); 0 omits it */
};

/* Builds argv (argv[0] = cfg->path). */
int qemu_argv_build(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                    char ***ret_argv, struct err *e);
/* NULL-safe; returns NULL. */
char **qemu_argv_free(char **argv);

/* The guest kernel command line alone (also part of argv, after -append). */
int qemu_argv_kernel_params(const struct hv_config *cfg, const struct qemu_argv_choices *ch,
                            char **ret_params, struct err *e);
