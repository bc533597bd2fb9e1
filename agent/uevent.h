/* Kernel uevents (NETLINK_KOBJECT_UEVENT): the agent learns of hotplugged
 * devices from them. uevent_parse() turns one datagram into a struct uevent;
 * its bytes come from the socket and are checked, never trusted: every field
 * is bounded, a datagram without the "action@devpath" header or with an
 * over-long field is -EINVAL. uevent_open()/uevent_recv() are plain blocking
 * or non-blocking fd calls for whichever thread waits (the worker pool in
 * agent/devices.c); only messages sent by the kernel (netlink pid 0) are
 * returned, so a process re-broadcasting fake events is ignored.
 * Errors are negative errno values. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define UEVENT_BUF_SIZE 8192 /* the kernel's UEVENT_BUFFER_SIZE is 2048 */

struct uevent {
    char action[16];   /* "add", "remove", "change", "bind", ... */
    char devpath[512]; /* relative to /sys: "/devices/pci0000:00/..." */
    char subsystem[32];
    char devtype[32];
    char devname[64];  /* relative to /dev: "vda" */
    uint64_t seqnum;
};

/* Parses one datagram ("add@/devices/...\0ACTION=add\0KEY=VALUE\0..."). The
 * KEY=VALUE fields win over the header; unknown keys are skipped. */
int uevent_parse(const void *buf, size_t size, struct uevent *ret);

/* A NETLINK_KOBJECT_UEVENT socket bound to the kernel's multicast group,
 * close-on-exec and non-blocking, with a large receive buffer so a burst of
 * events at boot is not dropped. Returns the fd. */
int uevent_open(void);

/* Receives and parses one kernel uevent. -EAGAIN when none is queued;
 * -EINVAL for a datagram that is malformed or not from the kernel (the
 * caller reads on); -ENOBUFS when the kernel dropped events (the caller
 * should rescan what it waits for). */
int uevent_recv(int fd, struct uevent *ret);
