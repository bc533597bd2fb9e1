/* Storages (grpc.Storage of CreateSandbox and CreateContainer): what the
 * agent mounts in the guest before a container can use it, by driver, as
 * the Kata agent names them:
 *   virtio-fs   mount -t virtiofs <source tag> <mount point> (kataShared at
 *               /run/kata-containers/shared/containers)
 *   ephemeral   tmpfs (sandbox shm, memory-backed emptyDir)
 *   local       a directory with mode=/fsgid= options (disk emptyDir)
 *   bind        a bind of a guest path (fstype "bind" does the same for
 *               any driver, as the Kata agent's mount_storage does)
 *   9p          mount -t 9p <tag> with trans=virtio and version=9p2000.L
 *               added when the options lack them (msize= etc. as given);
 *               a guest kernel without 9p fails with a message saying so
 *   blk, virtio-blk  the disk at the PCI path in source (agent/devices.h),
 *               mounted with the given fstype and options. The caller
 *               waits for the disk first (devices_wait_blk) and passes it in
 *               `device`; without it the disk must be present already
 *               (-ENODEV otherwise: nothing waits on the loop)
 *   watchable-bind, scsi, nvdimm, mmioblk, ccw, ...
 *               -ENOSYS (UNIMPLEMENTED) naming the driver
 * anything else is -EINVAL naming the driver.
 * Storages are reference-counted by mount point: each owner (the sandbox,
 * or a container id) holds at most one reference to each; the storage is
 * unmounted and its mount point removed when the last reference goes.
 * storage_release_all() (DestroySandbox, agent exit) unmounts everything.
 * Blocking syscalls (mount): quick in the guest, done on the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct agent;
struct err;

#define STORAGE_OWNER_SANDBOX "" /* the sandbox's own storages */

struct storage_req {
    const char *driver, *source, *fstype, *mount_point;
    char *const *options;
    size_t n_options;
    const char *device; /* blk/virtio-blk: the disk found for source ("/dev/vda"), or NULL */
};

/* True for the drivers whose source is a PCI path to wait for. */
bool storage_driver_is_blk(const char *driver);

/* Mounts (or takes a new reference to) each storage for owner. All or
 * nothing: on error the references taken by this call are dropped again. */
int storage_add(struct agent *a, const char *owner, const struct storage_req *reqs, size_t n,
                struct err *e);
/* Drops every reference owner holds; returns the number of storages that
 * were unmounted (no error: failures are logged). */
int storage_release(struct agent *a, const char *owner);
/* Unmounts every storage. */
void storage_release_all(struct agent *a);
/* References held on the storage at mount_point (0: not mounted). */
unsigned storage_refs(const struct agent *a, const char *mount_point);
