/* What a shim needs to know from an OCI bundle before any VM exists: is this
 * container a pod sandbox, a container joining a pod, or a single container
 * (ctr, docker), and which sandbox it belongs to. Read from the annotations
 * in <bundle>/config.json with the keys Kata recognises (containerd CRI,
 * CRI-O, dockershim), in Kata's order. No state; errors are negative errno
 * with a message in struct err. */
#pragma once

#include <stddef.h>

struct err;

enum bundle_kind {
    BUNDLE_SINGLE,    /* no pod annotations: its own sandbox, keyed by its id */
    BUNDLE_SANDBOX,   /* a pod's sandbox (pause) container */
    BUNDLE_CONTAINER, /* joins the sandbox named by sandbox_id */
};

#define BUNDLE_ID_MAX 256

struct bundle_info {
    enum bundle_kind kind;
    char sandbox_id[BUNDLE_ID_MAX]; /* for SINGLE and SANDBOX: the container's own id */
};

/* Classifies from a config.json text. id is the container's id. */
int bundle_classify_json(const char *json, size_t len, const char *id, struct bundle_info *ret,
                         struct err *e);
/* Same, reading <bundle_dir>/config.json; -ENOENT when it is missing. */
int bundle_classify(const char *bundle_dir, const char *id, struct bundle_info *ret,
                    struct err *e);

/* Reads a whole file of at most max bytes into a NUL-terminated buffer. */
int bundle_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);
