/* Cloud Hypervisor REST client: HTTP/1.1 on the VMM's API unix socket.
 *
 * A `struct clh_api` belongs to one VM driver. Calls block for at most the
 * timeout they are given (libcurl's easy interface on one reused handle, so
 * keep-alive works), which is allowed because hypervisor/hv.h operations run
 * on worker threads, one at a time per VM; a clh_api is therefore not
 * thread-safe. vm.add-net goes over its own raw connection because the tap
 * fds travel as SCM_RIGHTS with the request, which libcurl cannot send.
 *
 * The VMM is not trusted: every response is checked (status line, headers,
 * Content-Type, Content-Length against the body, sizes bounded by
 * CLH_HTTP_HEAD_MAX / CLH_HTTP_BODY_MAX, JSON shape and types) before any
 * value is used. Errors are a negative errno plus a message in struct err;
 * CLH's own error text (a JSON array of strings) is quoted, sanitised. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct clh_api;

#define CLH_HTTP_HEAD_MAX 8192u
#define CLH_HTTP_BODY_MAX (1024u * 1024u)

enum clh_endpoint {
    CLH_VMM_PING,
    CLH_VMM_SHUTDOWN,
    CLH_VM_CREATE,
    CLH_VM_BOOT,
    CLH_VM_INFO,
    CLH_VM_PAUSE,
    CLH_VM_RESUME,
    CLH_VM_SHUTDOWN,
    CLH_VM_ADD_DISK,
    CLH_VM_ADD_NET,
    CLH_VM_ADD_FS,
    CLH_VM_REMOVE_DEVICE,
    CLH_ENDPOINT_COUNT,
};

/* "/vm.boot" etc. (below /api/v1) and "GET" or "PUT". */
const char *clh_endpoint_path(enum clh_endpoint ep);
const char *clh_endpoint_method(enum clh_endpoint ep);

/* VmState values, as in vm.info. */
enum clh_vm_state {
    CLH_STATE_CREATED,
    CLH_STATE_RUNNING,
    CLH_STATE_SHUTDOWN,
    CLH_STATE_PAUSED,
    CLH_STATE_BREAKPOINT,
};
const char *clh_vm_state_name(enum clh_vm_state s);

/* What the driver puts in vm.create. Strings are borrowed; NULL leaves the
 * field out. */
struct clh_vm_config {
    unsigned boot_vcpus, max_vcpus;
    uint64_t memory_bytes;
    uint64_t memory_hotplug_bytes; /* 0: none */
    bool memory_shared;            /* required by virtio-fs (vhost-user) */
    const char *kernel, *initramfs, *cmdline, *firmware;
    const char *image; /* read-only root disk */
    uint32_t vsock_cid;
    const char *vsock_socket; /* hybrid vsock unix socket */
    const char *fs_tag, *fs_socket;
    unsigned fs_num_queues, fs_queue_size;
    const char *serial_file; /* serial to a file; NULL: serial Off */
    const char *rng_src;
};

struct clh_disk {
    const char *id, *path;
    bool readonly;
};

struct clh_net {
    const char *id, *mac; /* mac may be NULL */
    unsigned mtu;         /* 0: leave out */
    unsigned num_queues;  /* 2 per tap fd (rx + tx) */
};

struct clh_fs {
    const char *id, *tag, *socket;
    unsigned num_queues, queue_size;
};

/* PciDeviceInfo; `cold` when CLH answered 204 (VM not booted: no address). */
struct clh_pci_info {
    char id[64];
    char bdf[16]; /* "0000:00:05.0" */
    bool cold;
};

/* ---- pure parts (tested and fuzzed on their own) ---- */

/* A parsed response; body points into the buffer that was parsed. */
struct clh_http_response {
    int status;
    char reason[64];
    bool has_content_length;
    size_t content_length;
    bool json; /* Content-Type: application/json */
    bool keep_alive;
    const char *body;
    size_t body_len;
};

/* Parses a status line plus headers ending in an empty line (head_len bytes
 * at head) and checks the body length against Content-Length. Returns 0, or
 * -EPROTO/-EMSGSIZE with a message. body may be NULL when body_len is 0. */
int clh_http_parse_head(const char *head, size_t head_len, const char *body, size_t body_len,
                        struct clh_http_response *ret, struct err *e);
/* Parses one complete response from buf: returns the bytes it used, -EAGAIN
 * when more are needed, or another negative errno. */
int clh_http_parse_response(const char *buf, size_t len, struct clh_http_response *ret,
                            struct err *e);

/* Checks status and body against what CLH documents for ep: 2xx codes it
 * can send, a JSON body where one is due, none where none is. An error
 * status becomes ENOENT (404), EINVAL (400), EEXIST (409), EBUSY (405),
 * EAGAIN (429), EIO (500) or EPROTO (anything undocumented), with CLH's own
 * message quoted. */
int clh_api_check_response(enum clh_endpoint ep, const struct clh_http_response *r,
                           struct err *e);

/* JSON bodies. version/bdf buffers are filled only on success. */
int clh_api_parse_ping(const char *body, size_t len, char *ret_version, size_t size,
                       struct err *e);
int clh_api_parse_info(const char *body, size_t len, enum clh_vm_state *ret_state,
                       struct err *e);
int clh_api_parse_pci_info(const char *body, size_t len, struct clh_pci_info *ret,
                           struct err *e);
/* The reply of vm.add-*: 200 with a PciDeviceInfo naming device id, or 204
 * (cold plug: ret->cold). r was already accepted by clh_api_check_response. */
int clh_api_parse_pci_reply(enum clh_endpoint ep, const struct clh_http_response *r,
                            const char *id, struct clh_pci_info *ret, struct err *e);
/* "0000:00:05.0" -> "05", the path Kata's agent expects for a device on the
 * root bus of segment 0; anything else is -EPROTO. */
int clh_api_bdf_to_pci_path(const char *bdf, char *buf, size_t size, struct err *e);

/* Request bodies (JSON text, malloc'ed). -EINVAL for missing required values. */
int clh_api_build_vm_config(const struct clh_vm_config *c, char **ret_json, struct err *e);
int clh_api_build_disk(const struct clh_disk *d, char **ret_json, struct err *e);
int clh_api_build_net(const struct clh_net *n, char **ret_json, struct err *e);
int clh_api_build_fs(const struct clh_fs *f, char **ret_json, struct err *e);
int clh_api_build_remove_device(const char *id, char **ret_json, struct err *e);

/* ---- the client ---- */

int clh_api_new(const char *socket_path, struct clh_api **ret_api, struct err *e);
struct clh_api *clh_api_free(struct clh_api *api);
/* Per-call timeout in milliseconds (default 5000). */
void clh_api_set_timeout(struct clh_api *api, unsigned timeout_ms);

int clh_api_ping(struct clh_api *api, char *ret_version, size_t size, struct err *e);
int clh_api_vm_create(struct clh_api *api, const struct clh_vm_config *c, struct err *e);
int clh_api_vm_info(struct clh_api *api, enum clh_vm_state *ret_state, struct err *e);
/* Body-less PUTs: CLH_VM_BOOT, _PAUSE, _RESUME, _SHUTDOWN, CLH_VMM_SHUTDOWN. */
int clh_api_action(struct clh_api *api, enum clh_endpoint ep, struct err *e);
int clh_api_vm_add_disk(struct clh_api *api, const struct clh_disk *d, struct clh_pci_info *ret,
                        struct err *e);
int clh_api_vm_add_fs(struct clh_api *api, const struct clh_fs *f, struct clh_pci_info *ret,
                      struct err *e);
/* fds (n_fds >= 1) are sent with the request as SCM_RIGHTS; still the caller's. */
int clh_api_vm_add_net(struct clh_api *api, const struct clh_net *n, const int *fds,
                       size_t n_fds, struct clh_pci_info *ret, struct err *e);
int clh_api_vm_remove_device(struct clh_api *api, const char *id, struct err *e);

static inline void clh_api_freep(struct clh_api **p)
{
    *p = clh_api_free(*p);
}
#define _cleanup_clh_api_ __attribute__((cleanup(clh_api_freep)))
