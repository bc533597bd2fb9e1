/* Sandbox-level operations that need no container: CopyFile below the
 * shared directory, CreateSandbox and DestroySandbox (guest details, the
 * clock and metrics are in agent/guest.h).
 * sandbox_copy_file() may block (it writes a file) and is meant for a
 * worker thread; the rest are quick. Errors: negative errno + struct err
 * (-EPERM for a path outside the shared directory, -EINVAL for "..").
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct agent;
struct err;

struct sandbox_copy_file {
    const char *path;
    int64_t file_size, offset;
    uint32_t file_mode, dir_mode;
    int32_t uid, gid;
    const void *data;
    size_t size;
};

/* Checks the path (no I/O beyond lstat of nothing): call on the loop. */
int sandbox_copy_file_check(const char *base, const char *path, struct err *e);
int sandbox_copy_file(const char *base, const struct sandbox_copy_file *req, struct err *e);

struct storage_req;

/* Also mounts the sandbox's storages (agent/storage.h); all or nothing. */
int sandbox_create(struct agent *a, const char *sandbox_id, const char *hostname,
                   char *const *dns, size_t n_dns, const struct storage_req *storages,
                   size_t n_storages, struct err *e);
/* Destroys every container and unmounts every storage. */
int sandbox_destroy(struct agent *a, struct err *e);

