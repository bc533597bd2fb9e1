/* containerd.task.v2.Task (and the identical containerd.task.v3.Task) on
 * the shim's ttRPC server: the glue between containerd's protobuf messages
 * and the domain (sandbox.c, container.c). Handlers run on the shim's loop
 * and never block; long operations keep their call and answer later.
 * Unsupported operations answer UNIMPLEMENTED, unknown ids NOT_FOUND. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct shim;

int task_service_register(struct shim *shim);

/* Marshals DeleteResponse{pid, exit_status, exited_at} into buf (for the
 * `delete` action); returns the length or -ENOSPC. */
int task_service_pack_delete_response(uint32_t pid, uint32_t exit_status,
                                      const struct timespec *exited_at, uint8_t *buf,
                                      size_t size);
