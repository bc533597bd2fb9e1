/* Host probes for `kata-runtime check`/`env` and for the runtime's
 * automatic choices (accel = "auto", agent transport = "auto").
 *
 * Each probe reads /proc, /sys or /dev and fills a caller-owned struct; none
 * keeps state or logs. hostcheck_kvm_probe() boots a tiny 64-bit guest in a
 * forked child (the child makes only system calls, so callers may have
 * threads) and SIGKILLs it when it overruns its budget: a /dev/kvm that
 * hangs costs at most timeout_ms, never the caller. Results carry a one-line
 * human reason in `detail`. Functions return 0 or a negative errno when the
 * probe itself could not run (fork failed, ...). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config/cfg.h"

#define HOSTCHECK_DETAIL 256
#define HOSTCHECK_KVM_TIMEOUT_MS 2000

struct hostcheck_cpu {
    char vendor[64];
    char model[128];
    int cpus;
    bool vmx, svm, lm, sse4_1, hypervisor;
};
/* cpuinfo: NULL for /proc/cpuinfo. */
int hostcheck_cpu(const char *cpuinfo, struct hostcheck_cpu *ret);

enum hostcheck_kvm_state {
    HOSTCHECK_KVM_USABLE,     /* the test guest ran every stage at native speed */
    HOSTCHECK_KVM_ABSENT,     /* no device node */
    HOSTCHECK_KVM_NO_ACCESS,  /* open() refused */
    HOSTCHECK_KVM_FAILED,     /* an ioctl failed, the guest faulted or hung */
    HOSTCHECK_KVM_TOO_SLOW,   /* the guest runs, but far below native speed */
};

struct hostcheck_kvm {
    enum hostcheck_kvm_state state;
    char stages[16];          /* stages passed, in order, from "LHPTK" */
    unsigned elapsed_ms;      /* whole probe */
    char detail[HOSTCHECK_DETAIL];
};

/* dev: NULL for /dev/kvm; timeout_ms: 0 for HOSTCHECK_KVM_TIMEOUT_MS. */
int hostcheck_kvm_probe(const char *dev, unsigned timeout_ms, struct hostcheck_kvm *ret);
const char *hostcheck_kvm_state_name(enum hostcheck_kvm_state s);
/* hostcheck_kvm_probe() on /dev/kvm with the default budget, where a probe
 * that could not run counts as HOSTCHECK_KVM_FAILED: the fact the runtime's
 * choices use. */
void hostcheck_kvm(struct hostcheck_kvm *ret);
/* The probe's guest: a multiboot image (qemu -kernel runs it too) that
 * writes its stage letters to I/O port 0xe9. */
void hostcheck_kvm_guest(const void **ret_image, size_t *ret_size);

/* Opens path read-write and closes it again. */
int hostcheck_device(const char *path, char *detail, size_t len);
/* A regular file that this process can read. */
int hostcheck_file(const char *path, char *detail, size_t len);

enum hostcheck_module {
    HOSTCHECK_MODULE_MISSING,
    HOSTCHECK_MODULE_LOADED,
    HOSTCHECK_MODULE_BUILTIN,
    HOSTCHECK_MODULE_AVAILABLE, /* present under /lib/modules, not loaded */
};
enum hostcheck_module hostcheck_module(const char *name);
const char *hostcheck_module_name(enum hostcheck_module m);
/* name is listed in /proc/filesystems. */
bool hostcheck_filesystem(const char *name);
/* 2 for a cgroup2 /sys/fs/cgroup, 1 for v1 (or hybrid), 0 for none. */
int hostcheck_cgroup(char *detail, size_t len);
/* First line of `path --version`, waiting at most timeout_ms. */
int hostcheck_binary_version(const char *path, unsigned timeout_ms, char *ret, size_t len);
/* Looks name up in $PATH. */
int hostcheck_find_in_path(const char *name, char *ret, size_t len);

/* The runtime's choices for this host: the one place they are made, used
 * by kata-runtime check/env and by the hypervisor drivers alike, so the
 * report and the VM never disagree. The pick/choose functions return
 * -ENODEV when the configuration forces something the host cannot do (why
 * says what), 0 otherwise. The choose_* forms take the configured values
 * instead of a whole struct cfg (the drivers hold a struct hv_config). */
enum hostcheck_channel {
    HOSTCHECK_CHANNEL_VSOCK,
    HOSTCHECK_CHANNEL_HYBRID_VSOCK,
    HOSTCHECK_CHANNEL_VIRTIO_SERIAL,
    HOSTCHECK_CHANNEL_UNIX, /* the mock driver: the agent is a host process */
};
const char *hostcheck_channel_name(enum hostcheck_channel c);
int hostcheck_pick_accel(const struct cfg_hypervisor *hv, const struct hostcheck_kvm *kvm,
                         enum cfg_accel *ret, char *why, size_t len);
int hostcheck_pick_channel(const struct cfg *c, bool vhost_vsock, enum hostcheck_channel *ret,
                           char *why, size_t len);
int hostcheck_choose_accel(enum cfg_hv_kind kind, enum cfg_accel accel,
                           const struct hostcheck_kvm *kvm, enum cfg_accel *ret, char *why,
                           size_t len);
int hostcheck_choose_channel(enum cfg_hv_kind kind, enum cfg_transport transport, bool vhost_vsock,
                             enum hostcheck_channel *ret, char *why, size_t len);
/* The vhost-vsock fact both choices rest on: /dev/vhost-vsock opens
 * read-write (hostcheck_device()); detail says why not. */
#define HOSTCHECK_VHOST_VSOCK_DEV "/dev/vhost-vsock"
bool hostcheck_vhost_vsock(char *detail, size_t len);
