/* Hotplugged block devices in the guest, found by PCI path.
 *
 * A PCI path (Kata's pci::Path) names a device by the slot (and function) of
 * every bridge on the way from the root bus, then its own: "02/00" is
 * device 00 behind the bridge in root-bus slot 02; each piece is "SS" or
 * "SS.F" in hex (slot <= 1f, function <= 7). In sysfs that device is
 * /sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0, and its virtio disk
 * .../virtio<N>/block/vdX. Bus numbers are not in the path: the directory
 * nesting already says which bridge a device sits behind, so matching
 * compares slot and function only.
 *
 * devices_wait_blk() waits for the disks of several PCI paths at once on the
 * agent's worker pool: it subscribes to kernel uevents first and then looks
 * in sysfs, so a disk that appeared before the call is found and one that
 * appears during it is not missed. done() runs on the loop thread, never
 * inside the call. Errors: negative errno with a message naming the PCI
 * path: -EINVAL a malformed path, -ETIMEDOUT the disk did not appear in
 * time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct err;
struct uevent;

#define DEVICES_PCI_MAX_DEPTH 8

struct devices_pci_path {
    unsigned n;
    uint8_t slot[DEVICES_PCI_MAX_DEPTH], fn[DEVICES_PCI_MAX_DEPTH];
};

int devices_pci_path_parse(const char *s, struct devices_pci_path *ret, struct err *e);

/* The device's directory, sysfs_root + "/devices/pci0000:00/.../0000:BB:SS.F",
 * when every piece of the path exists now; -ENOENT otherwise. */
int devices_pci_sysfs_path(const char *sysfs_root, const struct devices_pci_path *p, char *buf,
                           size_t size);

/* True when devpath (a uevent DEVPATH, relative to /sys) is the whole-disk
 * block device of the virtio device at p; *ret_name then points at its
 * name inside devpath. Partitions and other devices do not match. */
bool devices_blk_devpath_match(const struct devices_pci_path *p, const char *devpath,
                               const char **ret_name);
/* The same for a uevent: an "add" of SUBSYSTEM=block whose DEVNAME is that name. */
bool devices_blk_uevent_match(const struct devices_pci_path *p, const struct uevent *u);

/* The disk of the virtio device at p if it is present now: its name ("vda").
 * -ENOENT when it is not (yet). */
int devices_blk_find(const char *sysfs_root, const struct devices_pci_path *p, char *name,
                     size_t size);

/* major:minor of a block device, from sysfs_root/class/block/<name>/dev. */
int devices_blk_devno(const char *sysfs_root, const char *name, unsigned *ret_major,
                      unsigned *ret_minor);

struct devices_blk {
    const char *pci_path; /* in (borrowed until done) */
    char name[64];        /* out: "vda" */
    char dev_path[80];    /* out: "/dev/vda" */
    unsigned major, minor; /* out */
};

typedef void (*devices_done_fn)(void *userdata, int r, const struct err *e);

/* Waits up to a->hotplug_timeout_ms for every v[i].pci_path's disk and fills
 * the outputs. A malformed path fails at once (-EINVAL, no callback);
 * -ENOBUFS when the pool is full. v must stay valid until done runs; done
 * gets 0 or the first error (e valid during the callback only). */
int devices_wait_blk(struct agent *a, struct devices_blk *v, size_t n, devices_done_fn done,
                     void *userdata, struct err *e);
