/* An offline busybox OCI image for containerd tests, named
 * docker.io/library/bb:latest (docs/facts containerd-recipes.md §3), built
 * by tests/support/busybox_image.sh from the host's busybox-static. */
#pragma once

#define BUSYBOX_IMAGE_REF "docker.io/library/bb:latest"

/* Writes <dir>/busybox-oci.tar; returns 0, -ENOENT when busybox is not
 * installed, or another negative errno. *ret_path is the caller's. */
int busybox_image_build(const char *dir, char **ret_path);
