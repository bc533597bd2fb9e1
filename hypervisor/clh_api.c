/* Cloud Hypervisor REST client: request bodies and the transport (libcurl on
 * the API socket, loaded on first use; a raw connection for vm.add-net,
 * whose tap fds travel as SCM_RIGHTS). What comes back is judged by
 * clh_api_parse.c. See clh_api.h.
 *
 * Body-less actions (vm.boot, vm.pause, ...) are refused by CLH with 400
 * when a body is sent, so they go out with Content-Length: 0 and no
 * Content-Type; "Expect: 100-continue" is suppressed because CLH's
 * micro_http does not answer it. */
#include "hypervisor/clh_api.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "lib/err.h"
#include "lib/fd.h"
#include "lib/xalloc.h"

#define CLH_API_ROOT "/api/v1"
#define CLH_RAW_REPLY_MAX (CLH_HTTP_HEAD_MAX + 65536u)
#define CLH_NET_FDS_MAX 16

/* ---- request bodies ---- */

static void add_str(json_object *o, const char *key, const char *v)
{
    if (v)
        json_object_object_add(o, key, json_object_new_string(v));
}

static void add_int(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

static void add_bool(json_object *o, const char *key, bool v)
{
    json_object_object_add(o, key, json_object_new_boolean(v));
}

static int finish(json_object *o, char **ret_json)
{
    *ret_json = xstrdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return 0;
}

static json_object *mode_object(const char *mode, const char *file)
{
    json_object *o = json_object_new_object();
    add_str(o, "mode", mode);
    add_str(o, "file", file);
    return o;
}

int clh_api_build_vm_config(const struct clh_vm_config *c, char **ret_json, struct err *e)
{
    if (!c->kernel && !c->firmware)
        return err_set(e, -EINVAL, "VmConfig: neither kernel nor firmware");
    if (c->boot_vcpus < 1 || c->max_vcpus < c->boot_vcpus)
        return err_set(e, -EINVAL, "VmConfig: bad vCPU counts %u/%u", c->boot_vcpus,
                       c->max_vcpus);
    if (c->memory_bytes == 0 || c->memory_bytes > INT64_MAX || c->memory_hotplug_bytes > INT64_MAX)
        return err_set(e, -EINVAL, "VmConfig: bad memory size");
    if (c->vsock_socket && c->vsock_cid < 3)
        return err_set(e, -EINVAL, "VmConfig: vsock cid %u below 3", c->vsock_cid);
    if ((c->fs_socket == NULL) != (c->fs_tag == NULL))
        return err_set(e, -EINVAL, "VmConfig: fs needs both tag and socket");

    json_object *o = json_object_new_object();
    json_object *cpus = json_object_new_object();
    add_int(cpus, "boot_vcpus", c->boot_vcpus);
    add_int(cpus, "max_vcpus", c->max_vcpus);
    json_object_object_add(o, "cpus", cpus);

    json_object *mem = json_object_new_object();
    add_int(mem, "size", c->memory_bytes);
    if (c->memory_hotplug_bytes)
        add_int(mem, "hotplug_size", c->memory_hotplug_bytes);
    add_bool(mem, "shared", c->memory_shared);
    json_object_object_add(o, "memory", mem);

    json_object *payload = json_object_new_object();
    add_str(payload, "firmware", c->firmware);
    add_str(payload, "kernel", c->kernel);
    add_str(payload, "initramfs", c->initramfs);
    add_str(payload, "cmdline", c->cmdline);
    json_object_object_add(o, "payload", payload);

    if (c->image) {
        json_object *disks = json_object_new_array();
        json_object *d = json_object_new_object();
        add_str(d, "path", c->image);
        add_bool(d, "readonly", true);
        add_str(d, "image_type", "Raw");
        json_object_array_add(disks, d);
        json_object_object_add(o, "disks", disks);
    }
    if (c->rng_src) {
        json_object *rng = json_object_new_object();
        add_str(rng, "src", c->rng_src);
        json_object_object_add(o, "rng", rng);
    }
    if (c->fs_socket) {
        json_object *fsa = json_object_new_array();
        json_object *fs = json_object_new_object();
        add_str(fs, "tag", c->fs_tag);
        add_str(fs, "socket", c->fs_socket);
        add_int(fs, "num_queues", c->fs_num_queues ? c->fs_num_queues : 1);
        add_int(fs, "queue_size", c->fs_queue_size ? c->fs_queue_size : 1024);
        json_object_array_add(fsa, fs);
        json_object_object_add(o, "fs", fsa);
    }
    if (c->vsock_socket) {
        json_object *vs = json_object_new_object();
        add_int(vs, "cid", c->vsock_cid);
        add_str(vs, "socket", c->vsock_socket);
        json_object_object_add(o, "vsock", vs);
    }
    json_object_object_add(o, "serial", c->serial_file ? mode_object("File", c->serial_file)
                                                       : mode_object("Off", NULL));
    json_object_object_add(o, "console", mode_object("Off", NULL));
    return finish(o, ret_json);
}

int clh_api_build_disk(const struct clh_disk *d, char **ret_json, struct err *e)
{
    if (!d->path || !d->id || !*d->id)
        return err_set(e, -EINVAL, "DiskConfig: path and id are required");
    json_object *o = json_object_new_object();
    add_str(o, "path", d->path);
    add_bool(o, "readonly", d->readonly);
    add_str(o, "id", d->id);
    return finish(o, ret_json);
}

int clh_api_build_net(const struct clh_net *n, char **ret_json, struct err *e)
{
    if (!n->id || !*n->id || n->num_queues < 2 || n->num_queues % 2)
        return err_set(e, -EINVAL, "NetConfig: id and an even queue count are required");
    json_object *o = json_object_new_object();
    add_str(o, "id", n->id);
    add_str(o, "mac", n->mac);
    if (n->mtu)
        add_int(o, "mtu", n->mtu);
    add_int(o, "num_queues", n->num_queues);
    return finish(o, ret_json);
}

int clh_api_build_fs(const struct clh_fs *f, char **ret_json, struct err *e)
{
    if (!f->tag || !f->socket)
        return err_set(e, -EINVAL, "FsConfig: tag and socket are required");
    json_object *o = json_object_new_object();
    add_str(o, "tag", f->tag);
    add_str(o, "socket", f->socket);
    add_int(o, "num_queues", f->num_queues ? f->num_queues : 1);
    add_int(o, "queue_size", f->queue_size ? f->queue_size : 1024);
    add_str(o, "id", f->id);
    return finish(o, ret_json);
}

int clh_api_build_remove_device(const char *id, char **ret_json, struct err *e)
{
    if (!id || !*id)
        return err_set(e, -EINVAL, "VmRemoveDevice: id is required");
    json_object *o = json_object_new_object();
    add_str(o, "id", id);
    return finish(o, ret_json);
}

/* ---- the client ---- */

struct clh_api {
    char *socket_path;
    CURL *curl;
    unsigned timeout_ms;
    char curl_err[CURL_ERROR_SIZE];
};

/* What one libcurl transfer collected. */
struct xfer {
    char head[CLH_HTTP_HEAD_MAX];
    size_t head_len;
    bool head_overflow;
    char *body;
    size_t body_len, body_cap;
    bool body_overflow;
};

/* libcurl is opened on the first Cloud Hypervisor VM, not linked: with
 * its TLS, Kerberos and LDAP libraries it added ~5.5 MB of RSS to every
 * process linking libhv, the shim of each QEMU pod included, which never
 * uses it (docs/performance.md, "Shim"). Only these entry points are used. */
static struct {
    CURLcode (*global_init)(long flags);
    const char *(*easy_strerror)(CURLcode code);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
    void (*slist_free_all)(struct curl_slist *list);
} cl;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[256]; /* "" once libcurl is usable */

static bool curl_sym(void *lib, const char *name, void *fnp, size_t size)
{
    void *sym = dlsym(lib, name);

    if (!sym || size != sizeof(sym)) {
        snprintf(curl_load_error, sizeof(curl_load_error), "libcurl.so.4 has no %s", name);
        return false;
    }
    memcpy(fnp, &sym, sizeof(sym)); /* POSIX: data and function pointers convert */
    return true;
}

#define CURL_SYM(lib, field, name) curl_sym(lib, name, &cl.field, sizeof(cl.field))

static void curl_init_once(void)
{
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    CURLcode rc;

    if (!lib) {
        snprintf(curl_load_error, sizeof(curl_load_error),
                 "Cloud Hypervisor needs libcurl (apt-get install libcurl4): %s", dlerror());
        return;
    }
    /* Kept open for the life of the process, as a linked library would be. */
    if (!CURL_SYM(lib, global_init, "curl_global_init") ||
        !CURL_SYM(lib, easy_strerror, "curl_easy_strerror") ||
        !CURL_SYM(lib, easy_init, "curl_easy_init") ||
        !CURL_SYM(lib, easy_cleanup, "curl_easy_cleanup") ||
        !CURL_SYM(lib, easy_setopt, "curl_easy_setopt") ||
        !CURL_SYM(lib, easy_perform, "curl_easy_perform") ||
        !CURL_SYM(lib, slist_append, "curl_slist_append") ||
        !CURL_SYM(lib, slist_free_all, "curl_slist_free_all"))
        return;
    rc = cl.global_init(CURL_GLOBAL_NOTHING);
    if (rc != CURLE_OK)
        snprintf(curl_load_error, sizeof(curl_load_error), "curl_global_init: %s",
                 cl.easy_strerror(rc));
}

int clh_api_new(const char *socket_path, struct clh_api **ret_api, struct err *e)
{
    struct sockaddr_un sa;
    if (strlen(socket_path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "API socket path \"%s\" is too long", socket_path);
    pthread_once(&curl_once, curl_init_once);
    if (curl_load_error[0])
        return err_set(e, -ENOTSUP, "%s", curl_load_error);
    CURL *curl = cl.easy_init();
    if (!curl)
        return err_set(e, -ENOMEM, "curl_easy_init failed");
    struct clh_api *api = xnew(struct clh_api, 1);
    api->socket_path = xstrdup(socket_path);
    api->curl = curl;
    api->timeout_ms = 5000;
    *ret_api = api;
    return 0;
}

struct clh_api *clh_api_free(struct clh_api *api)
{
    if (!api)
        return NULL;
    cl.easy_cleanup(api->curl);
    free(api->socket_path);
    free(api);
    return NULL;
}

void clh_api_set_timeout(struct clh_api *api, unsigned timeout_ms)
{
    api->timeout_ms = timeout_ms ? timeout_ms : 1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
    struct xfer *x = userdata;
    size_t len = size * n;
    /* A new status line starts a new head: an interim 1xx reply is dropped. */
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        x->head_len = 0;
    if (len > sizeof(x->head) - x->head_len) {
        x->head_overflow = true;
        return 0;
    }
    memcpy(x->head + x->head_len, buf, len);
    x->head_len += len;
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *userdata)
{
    struct xfer *x = userdata;
    size_t len = size * n;
    if (len > CLH_HTTP_BODY_MAX - x->body_len) {
        x->body_overflow = true;
        return 0;
    }
    if (x->body_len + len > x->body_cap) {
        x->body_cap = MAX(x->body_cap * 2, x->body_len + len);
        x->body_cap = MIN(x->body_cap, (size_t)CLH_HTTP_BODY_MAX);
        x->body = xrealloc(x->body, x->body_cap);
    }
    memcpy(x->body + x->body_len, buf, len);
    x->body_len += len;
    return len;
}

static int curl_errno(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        return -ECONNRESET;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EPROTO;
    }
}

/* One request through libcurl; on success *r describes the checked reply,
 * its body pointing into x->body. */
static int perform(struct clh_api *api, enum clh_endpoint ep, const char *json, struct xfer *x,
                   struct clh_http_response *r, struct err *e)
{
    const char *path = clh_endpoint_path(ep);
    char url[128];
    snprintf(url, sizeof(url), "http://localhost" CLH_API_ROOT "%s", path);
    bool get = strcmp(clh_endpoint_method(ep), "GET") == 0;

    struct curl_slist *hdrs = NULL;
    hdrs = cl.slist_append(hdrs, "Accept: application/json");
    hdrs = cl.slist_append(hdrs, "Expect:");
    hdrs = cl.slist_append(hdrs, json ? "Content-Type: application/json" : "Content-Type:");
    if (!hdrs)
        return err_set(e, -ENOMEM, "curl_slist_append");

    CURL *c = api->curl;
    api->curl_err[0] = '\0';
    cl.easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, api->socket_path);
    cl.easy_setopt(c, CURLOPT_URL, url);
    cl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    cl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* we run on worker threads */
    cl.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)api->timeout_ms);
    cl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)api->timeout_ms);
    cl.easy_setopt(c, CURLOPT_ERRORBUFFER, api->curl_err);
    cl.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    cl.easy_setopt(c, CURLOPT_HEADERDATA, x);
    cl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    cl.easy_setopt(c, CURLOPT_WRITEDATA, x);
    if (get) {
        cl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
        cl.easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        cl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        cl.easy_setopt(c, CURLOPT_POSTFIELDS, json ? json : "");
        cl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(json ? strlen(json) : 0));
    }
    CURLcode rc = cl.easy_perform(c);
    cl.easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    cl.slist_free_all(hdrs);

    const char *what = path + 1;
    if (x->head_overflow)
        return err_set(e, -EMSGSIZE, "%s: response head over %u bytes", what, CLH_HTTP_HEAD_MAX);
    if (x->body_overflow)
        return err_set(e, -EMSGSIZE, "%s: response body over %u bytes", what, CLH_HTTP_BODY_MAX);
    if (rc != CURLE_OK)
        return err_set(e, curl_errno(rc), "%s: %s", what,
                       api->curl_err[0] ? api->curl_err : cl.easy_strerror(rc));
    int ret = clh_http_parse_head(x->head, x->head_len, x->body, x->body_len, r, e);
    if (ret < 0)
        return (err_prefix(e, "%s", what), ret);
    return clh_api_check_response(ep, r, e);
}

static int request(struct clh_api *api, enum clh_endpoint ep, const char *json,
                   struct xfer **ret_x, struct clh_http_response *r, struct err *e)
{
    struct xfer *x = xnew(struct xfer, 1);
    int ret = perform(api, ep, json, x, r, e);
    if (ret < 0 || !ret_x) {
        free(x->body);
        free(x);
        return ret;
    }
    *ret_x = x;
    return 0;
}

static void xfer_free(struct xfer *x)
{
    if (x) {
        free(x->body);
        free(x);
    }
}

int clh_api_ping(struct clh_api *api, char *ret_version, size_t size, struct err *e)
{
    struct xfer *x = NULL;
    struct clh_http_response r;
    int ret = request(api, CLH_VMM_PING, NULL, &x, &r, e);
    if (ret < 0)
        return ret;
    ret = clh_api_parse_ping(r.body, r.body_len, ret_version, size, e);
    xfer_free(x);
    return ret;
}

int clh_api_vm_create(struct clh_api *api, const struct clh_vm_config *c, struct err *e)
{
    _cleanup_free_ char *json = NULL;
    struct clh_http_response r;
    int ret = clh_api_build_vm_config(c, &json, e);
    if (ret < 0)
        return ret;
    return request(api, CLH_VM_CREATE, json, NULL, &r, e);
}

int clh_api_vm_info(struct clh_api *api, enum clh_vm_state *ret_state, struct err *e)
{
    struct xfer *x = NULL;
    struct clh_http_response r;
    int ret = request(api, CLH_VM_INFO, NULL, &x, &r, e);
    if (ret < 0)
        return ret;
    ret = clh_api_parse_info(r.body, r.body_len, ret_state, e);
    xfer_free(x);
    return ret;
}

int clh_api_action(struct clh_api *api, enum clh_endpoint ep, struct err *e)
{
    struct clh_http_response r;
    if (ep != CLH_VM_BOOT && ep != CLH_VM_PAUSE && ep != CLH_VM_RESUME && ep != CLH_VM_SHUTDOWN &&
        ep != CLH_VMM_SHUTDOWN)
        return err_set(e, -EINVAL, "%s is not a body-less action", clh_endpoint_path(ep));
    return request(api, ep, NULL, NULL, &r, e);
}

int clh_api_vm_add_disk(struct clh_api *api, const struct clh_disk *d, struct clh_pci_info *ret,
                        struct err *e)
{
    _cleanup_free_ char *json = NULL;
    struct xfer *x = NULL;
    struct clh_http_response r;
    int rc = clh_api_build_disk(d, &json, e);
    if (rc < 0 || (rc = request(api, CLH_VM_ADD_DISK, json, &x, &r, e)) < 0)
        return rc;
    rc = clh_api_parse_pci_reply(CLH_VM_ADD_DISK, &r, d->id, ret, e);
    xfer_free(x);
    return rc;
}

int clh_api_vm_add_fs(struct clh_api *api, const struct clh_fs *f, struct clh_pci_info *ret,
                      struct err *e)
{
    _cleanup_free_ char *json = NULL;
    struct xfer *x = NULL;
    struct clh_http_response r;
    if (!f->id || !*f->id)
        return err_set(e, -EINVAL, "FsConfig: id is required");
    int rc = clh_api_build_fs(f, &json, e);
    if (rc < 0 || (rc = request(api, CLH_VM_ADD_FS, json, &x, &r, e)) < 0)
        return rc;
    rc = clh_api_parse_pci_reply(CLH_VM_ADD_FS, &r, f->id, ret, e);
    xfer_free(x);
    return rc;
}

int clh_api_vm_remove_device(struct clh_api *api, const char *id, struct err *e)
{
    _cleanup_free_ char *json = NULL;
    struct clh_http_response r;
    int rc = clh_api_build_remove_device(id, &json, e);
    if (rc < 0)
        return rc;
    return request(api, CLH_VM_REMOVE_DEVICE, json, NULL, &r, e);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int ms_left(uint64_t deadline)
{
    uint64_t now = now_ms();
    return now >= deadline ? 0 : (int)MIN(deadline - now, (uint64_t)INT32_MAX);
}

/* Sends the request with the fds attached to its first byte, then the
 * rest. fd is non-blocking. */
static int raw_send(int fd, const char *req, size_t len, const int *fds, size_t n_fds,
                    uint64_t deadline)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * CLH_NET_FDS_MAX)];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    size_t sent = 0;
    while (sent < len) {
        struct iovec iov = {.iov_base = (void *)(req + sent), .iov_len = len - sent};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (sent == 0) {
            mh.msg_control = u.buf;
            mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_SOCKET;
            cm->cmsg_type = SCM_RIGHTS;
            cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
            memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -errno;
        int r = fd_wait(fd, POLLOUT, ms_left(deadline));
        if (r < 0)
            return r;
    }
    return 0;
}

static int raw_connect(const char *path, struct err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    /* A unix connect does not wait for accept(): EAGAIN only means the
     * backlog is full, which a VMM we just started cannot be. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return err_set(e, -errno, "connecting to %s: %s", path, strerror(errno));
    return TAKE_FD(fd);
}

int clh_api_vm_add_net(struct clh_api *api, const struct clh_net *n, const int *fds,
                       size_t n_fds, struct clh_pci_info *ret, struct err *e)
{
    _cleanup_free_ char *json = NULL, *req = NULL, *buf = NULL;
    const char *what = "vm.add-net";
    if (n_fds < 1 || n_fds > CLH_NET_FDS_MAX)
        return err_set(e, -EINVAL, "%s: %zu tap fds (1 to %d)", what, n_fds, CLH_NET_FDS_MAX);
    int rc = clh_api_build_net(n, &json, e);
    if (rc < 0)
        return rc;
    size_t jlen = strlen(json);
    rc = asprintf(&req,
                  "PUT " CLH_API_ROOT "/vm.add-net HTTP/1.1\r\nHost: localhost\r\n"
                  "Accept: application/json\r\nContent-Type: application/json\r\n"
                  "Content-Length: %zu\r\n\r\n%s",
                  jlen, json);
    if (rc < 0)
        return err_set(e, -ENOMEM, "%s: asprintf", what);

    uint64_t deadline = now_ms() + api->timeout_ms;
    _cleanup_close_ int fd = raw_connect(api->socket_path, e);
    if (fd < 0)
        return (err_prefix(e, "%s", what), fd);
    rc = raw_send(fd, req, (size_t)rc, fds, n_fds, deadline);
    if (rc < 0)
        return err_set(e, rc == -EPIPE ? -ECONNRESET : rc, "%s: sending: %s", what,
                       rc == -ETIMEDOUT ? "timed out" : strerror(-rc));

    buf = xmalloc(CLH_RAW_REPLY_MAX);
    size_t len = 0;
    struct clh_http_response r;
    for (;;) {
        rc = clh_http_parse_response(buf, len, &r, e);
        if (rc >= 0)
            break;
        if (rc != -EAGAIN)
            return (err_prefix(e, "%s", what), rc);
        if (len == CLH_RAW_REPLY_MAX)
            return err_set(e, -EMSGSIZE, "%s: reply over %u bytes", what, CLH_RAW_REPLY_MAX);
        ssize_t got = read(fd, buf + len, CLH_RAW_REPLY_MAX - len);
        if (got > 0) {
            len += (size_t)got;
            continue;
        }
        if (got == 0)
            return err_set(e, -ECONNRESET, "%s: connection closed after %zu reply bytes", what,
                           len);
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return err_set(e, -errno, "%s: reading: %s", what, strerror(errno));
        int w = fd_wait(fd, POLLIN, ms_left(deadline));
        if (w == -ETIMEDOUT)
            return err_set(e, -ETIMEDOUT, "%s: timed out waiting for the reply", what);
        if (w < 0)
            return err_set(e, w, "%s: poll: %s", what, strerror(-w));
    }
    if ((size_t)rc != len)
        return err_set(e, -EPROTO, "%s: %zu bytes after the reply", what, len - (size_t)rc);
    rc = clh_api_check_response(CLH_VM_ADD_NET, &r, e);
    if (rc < 0)
        return rc;
    return clh_api_parse_pci_reply(CLH_VM_ADD_NET, &r, n->id, ret, e);
}
