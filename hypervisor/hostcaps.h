/* What this host can give a VM: a KVM that really runs 64-bit guests, and
 * vhost-vsock with a free guest CID (DESIGN.md decision 5).
 *
 * Stand-in until config/hostcheck.{h,c} provides the same probes (then the
 * drivers call those and this file goes). The KVM probe runs a 5-byte 64-bit
 * guest in a forked child and kills it after a timeout, because on nested
 * hosts /dev/kvm opens and KVM_CREATE_VM succeeds yet KVM_RUN never returns.
 * Blocking (up to the timeout): call from a worker thread. Results are
 * negative errno values with a reason in struct err. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct err;

#define HOSTCAPS_KVM_PROBE_TIMEOUT_NS (3ull * 1000000000ull)

/* 0 when KVM ran a long-mode guest to its HLT within timeout_ns. */
int hostcaps_kvm_usable(uint64_t timeout_ns, struct err *e);
/* 0 when /dev/vhost-vsock opens read-write. */
int hostcaps_vhost_vsock_usable(struct err *e);
/* Opens /dev/vhost-vsock and claims a free guest CID with
 * VHOST_VSOCK_SET_GUEST_CID (random start, probing upward on EADDRINUSE, as
 * Kata does). The fd (close-on-exec) goes to QEMU as vhostfd=. */
int hostcaps_claim_vsock_cid(int *ret_fd, uint32_t *ret_cid, struct err *e);
