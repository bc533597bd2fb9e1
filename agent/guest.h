/* Guest-wide resources behind the resource RPCs (agent_service_resource.c):
 * onlining hotplugged CPUs and memory blocks, the memory probe interface,
 * the kernel's entropy pool, the clock, and the guest's metrics in
 * Prometheus text.
 *
 * sysfs paths start at a root given by the caller (GUEST_SYSFS in the
 * agent, a fake tree in tests), so the logic runs without a VM.
 * guest_online() writes sysfs files that block while a CPU comes up and
 * sleeps between scans while hotplugged CPUs appear: call it on the worker
 * pool, never on the loop. Everything else is quick. Errors: negative
 * errno, with a message naming the request field in the struct err. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct err;

#define GUEST_SYSFS "/sys"
/* Bytes ReseedRandomDev accepts in one call (upstream sends a few dozen). */
#define GUEST_RESEED_MAX 65536
/* Addresses MemHotplugByProbe accepts in one call. */
#define GUEST_PROBE_MAX 4096
/* Pause between two scans while waiting for hotplugged CPUs to appear:
 * sysfs has no readiness notification short of uevents, and the wait is
 * bounded by the hotplug timeout. */
#define GUEST_ONLINE_STEP_MS 50

struct guest_online_req {
    uint32_t nb_cpus;    /* CPUs to online; 0: whatever is offline now, no count check */
    bool cpu_only;       /* leave memory blocks alone */
    uint32_t timeout_ms; /* how long to wait for nb_cpus CPUs to show up */
    const atomic_bool *stop; /* NULL, or true once the wait must end early */
};

/* Writes 1 to the online file of every offline CPU (and memory block
 * unless cpu_only) under sysfs/devices/system, reads it back, and for
 * nb_cpus keeps scanning until that many CPUs came online. Returns the
 * number of CPUs onlined; -ETIMEDOUT when fewer than nb_cpus could be,
 * -ECANCELED when *stop became true first. */
int guest_online(const char *sysfs, const struct guest_online_req *req, struct err *e);

/* CPUs listed in sysfs/devices/system/cpu/online ("0-1,3" is 3), or a
 * negative errno. */
int guest_cpus_online(const char *sysfs);

/* sysfs/devices/system/memory/block_size_bytes (hex), 0 when absent. */
uint64_t guest_mem_block_size(const char *sysfs);
/* True when sysfs/devices/system/memory/probe exists and is writable. */
bool guest_mem_probe_supported(const char *sysfs);
/* Writes each address to the probe file, in order; stops at the first
 * failure. -ENOTSUP when the kernel has no probe interface. */
int guest_mem_probe(const char *sysfs, const uint64_t *addrs, size_t n, struct err *e);

/* Adds data to /dev/random's pool, credited as entropy (RNDADDENTROPY), and
 * asks the kernel to reseed its CRNG from it. */
int guest_reseed(const void *data, size_t size, struct err *e);

/* Sets the realtime clock (SetGuestDateTime). */
int guest_set_time(int64_t sec, int64_t usec, struct err *e);

/* The agent's and the guest's metrics, Prometheus text format 0.0.4, with
 * upstream's metric names where they exist (kata_agent_*, kata_guest_*):
 * heap string. */
char *guest_metrics(struct agent *a, const char *sysfs);
