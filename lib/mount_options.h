/* fstab-style mount options ("ro", "nosuid", "rbind", "rslave", "size=64m",
 * ...) split into what mount(2) takes: MS_* flags, a propagation change, and
 * the filesystem's own data string. One table for every caller (OCI spec
 * mounts in the agent, agent storages, the shim's shared-folder mounts).
 * Pure code; errors are negative errno. */
#pragma once

#include <stddef.h>

struct mount_options {
    unsigned long flags;       /* MS_* to set, including MS_BIND and MS_REC for (r)bind */
    unsigned long cleared;     /* MS_* an option turned off explicitly ("rw", "suid", ...) */
    unsigned long propagation; /* MS_SHARED, MS_SLAVE, ... | MS_REC; 0 when none given */
};

/* Parses opts[0..n) (NULL or empty entries are skipped; n may be SIZE_MAX for
 * a NULL-terminated array). Unknown options are joined with ',' into data
 * (data_size bytes, always NUL-terminated); -E2BIG when they do not fit. */
int mount_options_parse(const char *const *opts, size_t n, struct mount_options *ret,
                        char *data, size_t data_size);
