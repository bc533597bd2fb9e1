/* The sandbox's side of pod networking, kept out of sandbox.c: which
 * namespace the pod's spec names, the interfaces set up in it
 * (shim/network.h) before the VM boots, their taps hotplugged into the VM
 * (hypervisor/hv.h) once it runs, and their removal at the end, also by
 * `delete` after a crash (through a record under NETWORK_STATE_DIR).
 *
 * Everything here blocks: call from the shim's workpool (or the exit and
 * `delete` paths). Errors: negative errno, message in struct err naming
 * the interface, namespace or device at fault. */
#pragma once

struct err;
struct hv_config;
struct hv_vm;
struct network;
struct runtime_config;

/* Before hv_vm_new(): *ret is NULL when the pod has no network to carry
 * (disable_new_netns, no namespace path in the spec, no interface);
 * otherwise the interfaces are set up, recorded for `delete`, and hv gets
 * one more PCIe root port per interface for their hotplug. */
int sandbox_net_prepare(const char *sandbox_id, const struct runtime_config *cfg,
                        const char *config_json, struct hv_config *hv, struct network **ret,
                        struct err *e);
/* After hv_vm_start(): one virtio-net device per interface, the guest's
 * PCI path noted in each endpoint; then the shim's tap fds are closed. */
int sandbox_net_hotplug(struct hv_vm *vm, struct network *n, struct err *e);
/* After the VM stopped: removes taps and tc rules and the record; frees n.
 * NULL-safe. Problems are logged. */
void sandbox_net_teardown(const char *sandbox_id, struct network *n);
/* `delete` after the shim died: the same from the record. */
void sandbox_net_cleanup(const char *sandbox_id);
