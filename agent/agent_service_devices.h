/* Glue: the devices and block storages of CreateContainer (loop thread).
 * agent_service_devices_prepare() checks req->devices, waits on the worker
 * pool for every block disk the request names by PCI path (blk devices and
 * blk/virtio-blk storages), then rewrites req->oci for the guest, as the
 * Kata agent does: each linux.devices entry at a device's container_path
 * gets the guest disk's major:minor, linux.resources.devices rules for the
 * host's major:minor are moved to the guest's, and an allow rule for the
 * guest disk is added. Then it calls ready() with the disk found for each
 * storage. The request belongs to the call and stays valid until the call is
 * finished. On any error the call is failed (INVALID_ARGUMENT for a bad
 * device or PCI path, UNIMPLEMENTED for a device type we do not handle,
 * DEADLINE_EXCEEDED naming the PCI path whose disk never came) and ready()
 * is not called. ready() may run inside the call when nothing must wait. */
#pragma once

#include "kata/agent.pb-c.h"

struct agent;
struct ttrpc_call;

/* storage_devices[i]: "/dev/vdX" for a blk storage req->storages[i], else
 * NULL; NULL itself when no storage needed a disk. Valid during the call. */
typedef void (*agent_service_ready_fn)(struct ttrpc_call *call, struct agent *a,
                                       const Grpc__CreateContainerRequest *req,
                                       const char *const *storage_devices);

void agent_service_devices_prepare(struct ttrpc_call *call, struct agent *a,
                                   const Grpc__CreateContainerRequest *req,
                                   agent_service_ready_fn ready);

/* The same wait for CreateSandbox, which has block storages but no devices
 * or spec: ready() gets userdata and the disk found for each storage (NULL
 * when none needed one). On an error the call is failed and ready() is not
 * called. */
typedef void (*agent_service_storages_ready_fn)(struct ttrpc_call *call, struct agent *a,
                                                void *userdata, const char *const *storage_devices);
void agent_service_devices_prepare_storages(struct ttrpc_call *call, struct agent *a,
                                            Grpc__Storage **storages, size_t n_storages,
                                            agent_service_storages_ready_fn ready, void *userdata);
