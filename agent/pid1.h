/* PID-1 duties of the agent when it is the initrd's /init: the pseudo file
 * systems, the console, cgroups, the kernel modules of the initrd and of
 * agent.kernel_modules, the choice of the channel the agent serves, and
 * powering the VM off.
 *
 * Called from agent/main.c on the main thread before anything else (the
 * kernel command line is only readable once /proc is mounted), except the
 * module loaders, which agent/kmod.c runs on the worker pool. Functions
 * return 0 or more on success, a negative errno on failure, with a message
 * in e where one is taken; pid1_setup() does nothing when the process is
 * not PID 1. No logging here (tests/e2e/e2e_init.c links this file alone);
 * the caller logs. No state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/compiler.h"

struct err;

/* Where the initrd lists its modules, written by
 * packaging/guest/build-initrd.sh: one line per module file (relative to
 * the folder), dependencies first, "NAME.ko WHEN [DEP.ko ...]" with WHEN
 * "load" (loaded at every boot) or "on-demand" (only when asked for), then
 * the files the module needs, in the order to load them. */
#define PID1_MODULES_DIR "/lib/modules"
#define PID1_MODULES_ORDER "/lib/modules/load-order"
/* The virtio-serial port the host driver attaches (hypervisor/qemu.c). */
#define PID1_SERIAL_PORT_NAME "agent.channel.0"

/* As PID 1: mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /dev/shm, /run
 * (cgroups come later, from pid1_mount_cgroups(), once the command line
 * has been read),
 * makes sure fds 0-2 are open on the console, sets PATH, and loads with
 * finit_module() only the modules the agent's channel needs: the virtio
 * transport (virtio_pci when a virtio PCI device exists, virtio_mmio on a
 * machine without one or with virtio-mmio devices announced), then
 * virtio_console and/or the virtio vsock transport for the devices present
 * (each with its dependencies; one built into the kernel is skipped). When
 * neither device is there it loads every "load" module instead. Carries on
 * past a failing module and reports the first failure in e. Returns the
 * number of modules loaded. */
int pid1_setup(struct err *e);

/* Loads every "load" module of PID1_MODULES_ORDER not loaded yet, in
 * order; blocks for as long as that takes (~80 ms for ten modules under
 * TCG). May run on any thread: module loading is kernel-global. Carries on
 * past a failing module and reports the first failure in e. Returns the
 * number of modules loaded by this call; 0 without a module list. */
int pid1_load_remaining_modules(struct err *e);

/* The address to serve when none was configured: "vsock://-1:1024" when a
 * virtio-vsock device exists, else "serial:///dev/vportNpM" for the
 * virtio-serial port named agent.channel.0. The devices may appear a moment
 * after /init starts, so this waits for one of them for up to 5 s.
 * -ENOENT when neither shows up; -ENOSPC when buf is too small. */
int pid1_agent_address(char *buf, size_t size);

/* Mounts the cgroup hierarchy on /sys/fs/cgroup, as the Kata agent does:
 * cgroup2 when unified (the command line has
 * systemd.unified_cgroup_hierarchy=1 or cgroup_no_v1=all), else v1: a
 * tmpfs with one hierarchy per enabled controller of /proc/cgroups
 * ("cpu,cpuacct" and "net_cls,net_prio" shared, with the usual links).
 * A kernel built without the v1 memory controller (CONFIG_MEMCG_V1, off in
 * Debian's 6.12 kernels) cannot limit container memory on v1: then the v1
 * mounts are undone, cgroup2 is mounted and *ret_fell_back is set. Returns
 * the version mounted (1 or 2). */
int pid1_mount_cgroups(bool unified, bool *ret_fell_back, struct err *e);

/* Loads PID1_MODULES_DIR/<name>.ko (agent.kernel_modules) after the
 * modules its PID1_MODULES_ORDER line names, with - and _ taken as the
 * same, as the kernel does; a module already loaded is fine. -ENOENT when
 * the initrd does not carry it. Any thread. */
int pid1_load_module(const char *name);

/* Loads the module name from dir (a folder laid out as PID1_MODULES_DIR,
 * with its load-order) with the parameter string params ("p=v q=w", NULL
 * or "" for none; the dependencies take none), as CreateSandbox's
 * kernel_modules ask. 1 when loaded now; 0 when it was loaded already or
 * is not in dir but the kernel has it (built in), and params changed
 * nothing then; -ENOENT when neither; -EINVAL for a name with a '/';
 * finit_module()'s -errno otherwise. Any thread. */
int pid1_load_module_from(const char *dir, const char *name, const char *params);

/* True when the VM has a virtio-vsock device (af_vsock alone accepts a
 * listening socket even without one, which no host could ever reach). */
bool pid1_vsock_present(void);

/* Flushes the file systems and powers the VM off (reboot(RB_POWER_OFF)):
 * PID 1 must never exit, since the kernel panics when it does. When the
 * call fails (not PID 1, or no permission) the process exits with 1. */
_noreturn_ void pid1_poweroff(void);
