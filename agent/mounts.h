/* The container's filesystem view, built by the init helper inside the new
 * mount namespace: rootfs bind + every spec mount (targets resolved inside
 * the rootfs with openat2 RESOLVE_IN_ROOT, so a symlink cannot point a
 * mount outside it), default and spec devices, pivot_root, masked and
 * read-only paths, read-only root. Errors: negative errno + a message
 * naming the mount. */
#pragma once

#include <stdbool.h>

struct err;
struct oci_spec;

bool mounts_type_known(const char *type);
int mounts_setup(const struct oci_spec *s, struct err *e);
