/* The sandbox: one VM (hypervisor/hv.h) and its agent connection, serving
 * every container of a pod. Domain code: plain C types, no protobuf. Lives
 * on the shim's loop; hypervisor operations run on the shim's workpool,
 * one at a time. The sandbox is created by the first Create (container.c
 * calls sandbox_attach(), see container-internal.h) and torn down when its
 * last container is deleted (DestroySandbox, VM stop, shared folder
 * removed) or when the shim stops. The VMM's death (its pidfd) or the loss
 * of the agent connection ends every process with status 255: TaskExit
 * for each, every Wait answered. */
#pragma once

#include <stdbool.h>

struct shim;
struct sandbox;

/* Containers currently known (created and not deleted). */
unsigned sandbox_container_count(const struct sandbox *sb);

/* The VMM's pid, 0 when no VM runs. */
int sandbox_vmm_pid(const struct sandbox *sb);

/* Blocking teardown for the exit path (after loop_run() returned and the
 * workpool was drained): stops the VM and removes the shared folder and
 * mounts. */
void sandbox_shutdown(struct sandbox *sb);

/* NULL-safe, returns NULL. */
struct sandbox *sandbox_free(struct sandbox *sb);
