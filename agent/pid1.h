/* PID-1 duties of the agent when it is the initrd's /init: the pseudo file
 * systems, the console, the kernel modules of the initrd, and the choice of
 * the channel the agent serves.
 *
 * Called from agent/main.c on the main thread before anything else (the
 * kernel command line is only readable once /proc is mounted). Both
 * functions return 0 or more on success, a negative errno on failure;
 * pid1_setup() does nothing when the process is not PID 1. No state. */
#pragma once

#include <stddef.h>

struct err;

/* Where the initrd lists its modules (one file name per line, relative to
 * the folder, dependencies first); written by packaging/guest/build-initrd.sh. */
#define PID1_MODULES_DIR "/lib/modules"
#define PID1_MODULES_ORDER "/lib/modules/load-order"
/* The virtio-serial port the host driver attaches (hypervisor/qemu.c). */
#define PID1_SERIAL_PORT_NAME "agent.channel.0"

/* As PID 1: mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run,
 * makes sure fds 0-2 are open on the console, sets PATH, and loads the
 * modules in PID1_MODULES_ORDER with finit_module() (a module already
 * present is fine). Carries on past a failing module and reports the first
 * failure in e. Returns the number of modules loaded. */
int pid1_setup(struct err *e);

/* The address to serve when none was configured: "vsock://-1:1024" when a
 * virtio-vsock device exists, else "serial:///dev/vportNpM" for the
 * virtio-serial port named agent.channel.0. The devices may appear a moment
 * after /init starts, so this waits for one of them for up to 5 s.
 * -ENOENT when neither shows up; -ENOSPC when buf is too small. */
int pid1_agent_address(char *buf, size_t size);
