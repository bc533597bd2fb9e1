/* The host side of what a sandbox shares with its guest, in Kata's layout
 * (docs/facts kata.md §3) under SHIM_SHARED_ROOT/<sandbox id>/:
 *   mounts/          everything the shim mounts (a shared-propagation bind)
 *   mounts/<cid>/rootfs   the container's rootfs
 *   shared/          read-only, slave bind of mounts/: what the guest sees
 * and the one translation from host paths to the paths the guest (agent)
 * uses. Blocking syscalls: call from a workpool thread or the CLI actions.
 * Errors are negative errno with a message in struct err. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct err;

struct share_mount {
    const char *type;
    const char *source;
    const char *const *options; /* NULL-terminated; may be NULL */
};

/* SHIM_SHARED_ROOT/<sid>[/suffix] into buf. */
int share_path(const char *sid, const char *suffix, char *buf, size_t size);

/* Creates mounts/ and shared/ with the propagation described above. */
int share_setup(const char *sid, struct err *e);
/* Unmounts everything below the sandbox folder and removes it. Idempotent. */
int share_teardown(const char *sid, struct err *e);

/* Mounts the rootfs layers of a container on <bundle>/rootfs (as the runc
 * shim does), then binds that on mounts/<cid>/rootfs. */
int share_mount_rootfs(const char *sid, const char *cid, const char *bundle,
                       const struct share_mount *mounts, size_t n, struct err *e);
/* Undoes share_mount_rootfs and share_bind_volume; idempotent. */
int share_umount_rootfs(const char *sid, const char *cid, const char *bundle, struct err *e);

/* Shares a host bind-mount source with the guest, as Kata does for
 * volumes: binds it (read-only when asked) on
 * mounts/<cid>-<16 random hex>-<basename(destination)> and writes the
 * guest path of that into guest. -ENOENT: the source is missing; -EINVAL:
 * not a directory or regular file (sockets, fifos, devices cannot cross
 * virtio-fs). share_umount_rootfs() removes them again. */
int share_bind_volume(const char *sid, const char *cid, const char *source,
                      const char *destination, bool readonly, char *guest, size_t size,
                      struct err *e);

/* Where the agent finds the container rootfs. guest_sees_host: the mock
 * hypervisor, whose "guest" is the host (the path under shared/); otherwise
 * the virtio-fs mount point in the guest. */
int share_guest_rootfs(const char *sid, const char *cid, bool guest_sees_host, char *buf,
                       size_t size);

/* Unmounts every mount stacked on path (lazily); idempotent. */
int share_umount_all(const char *path);
