/* The Cloud Hypervisor backend of hypervisor/hv.h (HV_KIND_CLH).
 *
 * hv.c dispatches to hv_clh_ops; nothing else uses this header. The driver
 * runs on hv.h's worker threads, one operation at a time per VM, and talks
 * to the VMM through hypervisor/clh_api.h. Errors follow hv-internal.h. */
#pragma once

struct hv_ops;

extern const struct hv_ops hv_clh_ops;
