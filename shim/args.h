/* The command line containerd gives a shim v2 binary, parsed the way Go's
 * `flag` package does (one or two dashes, `-f value` or `-f=value`, the
 * action word after the flags). Unknown flags are tolerated: containerd
 * versions add flags, and a shim that refuses one fails every container.
 * Pure functions, no state; strings point into argv. */
#pragma once

#include <stdbool.h>

enum shim_action { SHIM_ACTION_SERVE, SHIM_ACTION_START, SHIM_ACTION_DELETE, SHIM_ACTION_VERSION };

struct shim_args {
    const char *namespace_;     /* -namespace (required for start/delete/serve) */
    const char *address;        /* -address: containerd's gRPC socket path */
    const char *publish_binary; /* -publish-binary: containerd, for `publish` */
    const char *id;             /* -id */
    const char *bundle;         /* -bundle (delete); default: the working directory */
    const char *socket;         /* -socket: accepted and ignored */
    bool debug;
    enum shim_action action;
};

/* Fills *ret (untouched on failure). -EINVAL with a message in *e (which
 * names the flag) for a missing flag value or an unknown action word. */
struct err;
int args_parse(int argc, const char *const argv[], struct shim_args *ret, struct err *e);
