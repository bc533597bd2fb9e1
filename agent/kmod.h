/* The kernel modules the agent loads after it starts serving, and the gate
 * that holds RPCs until they are in.
 *
 * As PID 1 the agent loads before serving only what its channel needs
 * (pid1_setup(), agent/pid1.h). kmod_start() then loads the initrd's other
 * modules and agent.kernel_modules on the worker pool, so the host's first
 * Health.Check does not wait for them. Every grpc.AgentService call that
 * arrives meanwhile is parked, never failed, and runs once the load is
 * done, in arrival order: a virtio-fs mount, a blk storage waiting for its
 * disk's uevent or UpdateInterface on a NIC would otherwise meet a device
 * without its driver (no driver, no uevent, no link). grpc.Health is not
 * gated. A parked call that is cancelled (deadline, host gone) is finished
 * as CANCELLED. Loop thread only; the state hangs off struct agent
 * (a->kmod, freed by agent_free()). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "lib/ttrpc/ttrpc.h"

struct agent;
struct kmod;

/* Puts the gate in front of every non-NULL handlers[i] (an array of
 * service->n_methods, about to be registered with the agent as userdata).
 * One service per agent. Until kmod_start() every call goes through at once. */
void kmod_gate_handlers(struct agent *a, const ProtobufCServiceDescriptor *service,
                        ttrpc_handler_fn *handlers);

/* Starts loading the remaining "load" modules, then names[0..n) (copied),
 * on a->pool; the gate holds calls until that is done. Results are logged.
 * -ENOBUFS (or another -errno) when the pool refuses the job: nothing is
 * held then, and the caller may load the modules itself. */
int kmod_start(struct agent *a, const char *const *names, size_t n);

/* For tests: holds the gate while work(userdata) runs on the pool, in
 * place of the module loads (nothing is logged). */
int kmod_start_work(struct agent *a, void (*work)(void *userdata), void *userdata);

/* True while kmod_start()'s load runs. */
bool kmod_loading(const struct agent *a);

struct kmod *kmod_free(struct kmod *k);
