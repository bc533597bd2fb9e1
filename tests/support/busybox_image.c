/* Offline busybox OCI image; see busybox_image.h. */
#include "tests/support/busybox_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "tests/support/containerd_harness.h"

#ifndef BUSYBOX_IMAGE_SH
#define BUSYBOX_IMAGE_SH "tests/support/busybox_image.sh"
#endif

int busybox_image_build(const char *dir, char **ret_path)
{
    _cleanup_free_ char *bb = ch_find_in_path("busybox");
    char *argv[] = {(char *)"/bin/sh", (char *)BUSYBOX_IMAGE_SH, (char *)dir, NULL};
    struct ch_result res;
    char *path = NULL;
    int r;

    if (!bb)
        return -ENOENT;
    r = ch_run(argv, NULL, NULL, NULL, 0, 60000, &res);
    if (r >= 0 && res.exit_code != 0) {
        printf("#   busybox_image.sh failed: %s\n", res.output);
        r = -EIO;
    }
    ch_result_done(&res);
    if (r < 0)
        return r;
    if (asprintf(&path, "%s/busybox-oci.tar", dir) < 0)
        abort();
    *ret_path = path;
    return 0;
}
