/* The `delete` action containerd runs whenever its connection to a shim
 * closes (after every normal task end, too), after a failed Create and when
 * a shim cannot be reconnected. It prints a marshalled DeleteResponse
 * (exit status 137, exited_at now) and cleans up what this container left
 * behind if its shim died: rootfs mounts and, when no live shim serves the
 * sandbox any more, the VM and the shared folder. Idempotent and fast; a
 * pod VM whose shim still answers is never touched. */
#pragma once

struct shim_args;
struct err;

int cleanup_run(const struct shim_args *args, struct err *e);
