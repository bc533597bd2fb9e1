/* The guest assets against the configuration: which file systems the
 * configured guest can mount, read from the manifest the guest build writes
 * beside its kernel (<kernel>.filesystems, one name per line, from
 * packaging/guest/build-initrd.sh: built into the kernel or a module in the
 * initrd). It lets `kata-runtime check` and configuration loading say that
 * shared_fs = "virtio-9p" cannot work with a guest kernel lacking 9p (Debian's
 * cloud flavour) before a pod fails in CreateSandbox. The kernel path is
 * followed through symlinks (vmlinux.container -> vmlinuz.container).
 * Reads files only: no state, no logging. */
#pragma once

#include <stddef.h>

struct cfg_hypervisor;

#define GUESTCHECK_DETAIL 512
#define GUESTCHECK_SUFFIX ".filesystems"

enum guestcheck_result {
    GUESTCHECK_OK,      /* supported, or nothing to check */
    GUESTCHECK_UNKNOWN, /* no (readable) manifest beside the kernel */
    GUESTCHECK_MISSING, /* the manifest does not list it */
};

/* Whether the guest booted from kernel can mount fs ("9p", "virtiofs").
 * detail gets a one-line reason naming the manifest. */
enum guestcheck_result guestcheck_fs(const char *kernel, const char *fs, char *detail,
                                     size_t size);

/* The shared-folder file system hv->shared_fs needs: "9p" for virtio-9p,
 * "virtiofs" for virtio-fs; GUESTCHECK_OK for none and the mock driver. */
enum guestcheck_result guestcheck_shared_fs(const struct cfg_hypervisor *hv, char *detail,
                                            size_t size);
