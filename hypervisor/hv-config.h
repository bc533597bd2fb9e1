/* The one mapping from a loaded Kata configuration (config/cfg.h) to the
 * plain values a driver takes (struct hv_config), shared by the shim and
 * kata-agent-ctl's `connect --vm`, so both boot the same VM from the same
 * file.
 *
 * hv_config_from_cfg() borrows: the strings in *ret point into c (and at
 * shared_dir), so c must outlive every use of *ret. It does no I/O beyond
 * asking for the host's CPU count; the drivers check paths and make the
 * host choices (accel, channel) at hv_vm_new(). Errors: -EINVAL with the
 * configuration key in struct err. */
#pragma once

#include "hypervisor/hv.h"

struct cfg;

int hv_config_from_cfg(const struct cfg *c, const char *shared_dir, struct hv_config *ret,
                       struct err *e);
