/* Where a shim listens and how containerd finds it (containerd's shim
 * library conventions, docs/facts containerd-shim-v2.md §3):
 *   unix:///run/containerd/s/<hex sha256(Join(grpc address, ns, group id))>
 * and the bundle's `address` file, written atomically without a newline.
 * Pure functions and small file helpers; errors are negative errno. */
#pragma once

#include <stddef.h>

#define ADDRESS_SOCKET_DIR "/run/containerd/s"
#define ADDRESS_MAX 128

/* Lower-case hex sha256 of data (65 bytes with the NUL). */
void address_sha256_hex(const void *data, size_t len, char ret_hex[65]);

/* Go's filepath.Join(grpc_address, ns, id), cleaned: duplicate slashes
 * and "." elements removed. Returns the length or -ENAMETOOLONG. */
int address_join(const char *grpc_address, const char *ns, const char *id, char *buf,
                 size_t size);

/* "unix:///run/containerd/s/<sha256>" for this group id. */
int address_for(const char *grpc_address, const char *ns, const char *group_id, char *buf,
                size_t size);

/* The filesystem path inside a "unix://" address, or NULL. */
const char *address_socket_path(const char *uri);

/* <dir>/address via <dir>/.address + rename, no trailing newline. */
int address_write_file(const char *dir, const char *uri);
/* Reads <dir>/address (whitespace trimmed). -ENOENT when absent. */
int address_read_file(const char *dir, char *buf, size_t size);
