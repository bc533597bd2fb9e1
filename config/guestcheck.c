/* Guest file-system manifest; see config/guestcheck.h. */
#include "config/guestcheck.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfg.h"

#define MAX_LINES 256

enum guestcheck_result guestcheck_fs(const char *kernel, const char *fs, char *detail, size_t size)
{
    char real[PATH_MAX], manifest[PATH_MAX + sizeof(GUESTCHECK_SUFFIX)], line[128];

    if (!kernel || !*kernel) {
        snprintf(detail, size, "no guest kernel configured");
        return GUESTCHECK_UNKNOWN;
    }
    if (!realpath(kernel, real))
        snprintf(real, sizeof(real), "%s", kernel);
    snprintf(manifest, sizeof(manifest), "%s" GUESTCHECK_SUFFIX, real);
    FILE *f = fopen(manifest, "re");
    if (!f) {
        snprintf(detail, size, "cannot tell whether the guest kernel has %s: no %s (%s)", fs,
                 manifest, strerror(errno));
        return GUESTCHECK_UNKNOWN;
    }
    bool found = false;
    for (unsigned n = 0; !found && n < MAX_LINES && fgets(line, sizeof(line), f); n++) {
        line[strcspn(line, "\r\n")] = '\0';
        found = line[0] != '#' && strcmp(line, fs) == 0;
    }
    fclose(f);
    if (found) {
        snprintf(detail, size, "the guest can mount %s (%s)", fs, manifest);
        return GUESTCHECK_OK;
    }
    snprintf(detail, size, "the guest kernel %s cannot mount %s (not listed in %s)", real, fs,
             manifest);
    return GUESTCHECK_MISSING;
}

enum guestcheck_result guestcheck_shared_fs(const struct cfg_hypervisor *hv, char *detail,
                                            size_t size)
{
    const char *fs = NULL;
    if (hv->kind != CFG_HV_MOCK && hv->shared_fs == CFG_SHARED_FS_VIRTIO_9P)
        fs = "9p";
    else if (hv->kind != CFG_HV_MOCK && (hv->shared_fs == CFG_SHARED_FS_VIRTIO_FS ||
                                         hv->shared_fs == CFG_SHARED_FS_VIRTIO_FS_NYDUS))
        fs = "virtiofs";
    if (!fs) {
        snprintf(detail, size, "no shared folder file system to check");
        return GUESTCHECK_OK;
    }
    return guestcheck_fs(hv->kernel, fs, detail, size);
}
