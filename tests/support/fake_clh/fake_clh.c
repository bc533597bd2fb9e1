/* Fake Cloud Hypervisor API server; see fake_clh.h.
 *
 * Faithfulness notes (cloud-hypervisor vmm/src/api/http/{mod,http_endpoint}.rs
 * and vmm/src/lib.rs): unknown paths are 404, a method the endpoint does not
 * serve is 400, body-less actions with a body are 400, bad JSON or a
 * missing/mistyped field is 400, "VM not created" is 404, other state errors
 * (VmNotRunning, VmAlreadyCreated, bad pause/resume transitions) are 500,
 * config validation (done at vm.boot) is 400, duplicate device ids 409.
 * Every reply has Content-Type application/json; error bodies are a JSON
 * array of strings. vm.shutdown drops the VM but keeps its config, so
 * vm.info then reports "Created" again, as CLH does. */
#include "tests/support/fake_clh/fake_clh.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CONNS 8
#define MAX_PROXIES 8
#define MAX_DEVICES 32
#define MAX_FDS 16
#define REQ_MAX (4u << 20) /* CLH's HTTP_PAYLOAD_MAX_SIZE */
#define HEAD_MAX 8192u

enum vm_state { VM_NONE, VM_CREATED, VM_RUNNING, VM_PAUSED };

struct conn {
    int fd;
    char *buf;
    size_t len;
    int fds[MAX_FDS];
    size_t n_fds;
};

struct proxy {
    pthread_t thread;
    int a, b; /* client, target */
    bool used;
    struct fake_clh *f;
};

struct fake_clh {
    int api_fd, vsock_fd, wake[2];
    char api_path[108], vsock_path[108];
    char *vsock_targets, *fault_ep, *fault_mode, *record_path;
    bool binary, quit;
    pthread_t thread;
    bool threaded;
    struct conn conns[MAX_CONNS];
    struct proxy proxies[MAX_PROXIES];
    enum vm_state state;
    json_object *config;
    struct {
        char id[64];
        unsigned slot;
    } devices[MAX_DEVICES];
    unsigned n_devices, next_slot;
    unsigned violations; /* atomic */
};

struct reply {
    int status;
    char *body; /* malloc'ed JSON or NULL */
};

/* ---- replies ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 500: return "Internal Server Error";
    default: return "Unknown";
    }
}

__attribute__((format(printf, 2, 3))) static void violation(struct fake_clh *f,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fake-clh: API violation: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    __atomic_add_fetch(&f->violations, 1, __ATOMIC_RELAXED);
}

/* An error reply as CLH writes it: the error chain as a JSON array. */
__attribute__((format(printf, 3, 4))) static struct reply fail(int status, const char *top,
                                                               const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(top));
    if (detail[0])
        json_object_array_add(a, json_object_new_string(detail));
    struct reply r = {status, strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN))};
    json_object_put(a);
    return r;
}

__attribute__((format(printf, 2, 3))) static struct reply bad_request(struct fake_clh *f,
                                                                      const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    violation(f, "%s", detail);
    return fail(400, "Failed to deserialize JSON", "%s", detail);
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd pfd = {fd, POLLOUT, 0};
            poll(&pfd, 1, 1000);
            continue;
        }
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_str(int fd, const char *s)
{
    return send_all(fd, s, strlen(s));
}

static int send_reply(int fd, int status, const char *ctype, const char *body, size_t blen,
                      const char *extra)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nServer: Cloud Hypervisor API\r\nConnection: keep-alive\r\n"
                     "%s%s%sContent-Length: %zu\r\n",
                     status, reason(status), ctype ? "Content-Type: " : "", ctype ? ctype : "",
                     ctype ? "\r\n" : "", blen);
    if (send_all(fd, head, (size_t)n) < 0 || (extra && send_str(fd, extra) < 0) ||
        send_str(fd, "\r\n") < 0)
        return -1;
    return blen ? send_all(fd, body, blen) : 0;
}

/* ---- request checks (types per cloud-hypervisor.yaml) ---- */

/* Checks o[key] has type t; absent is fine unless required. Returns NULL or
 * the member. *bad gets a message on failure. */
static json_object *member(json_object *o, const char *key, json_type t, bool required,
                           const char *where, char *bad, size_t size)
{
    json_object *v = NULL;
    if (bad[0])
        return NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v) {
        if (required)
            snprintf(bad, size, "%s: missing field `%s`", where, key);
        return NULL;
    }
    bool ok = json_object_is_type(v, t);
    if (t == json_type_int && ok && json_object_get_int64(v) < 0)
        ok = false; /* every integer CLH reads here is unsigned */
    if (!ok)
        snprintf(bad, size, "%s: invalid type for `%s`", where, key);
    return ok ? v : NULL;
}

static void check_mode(json_object *o, const char *where, char *bad, size_t size)
{
    static const char *const modes[] = {"Off", "Pty", "Tty", "File", "Socket", "Null"};
    json_object *m = member(o, "mode", json_type_string, true, where, bad, size);
    member(o, "file", json_type_string, false, where, bad, size);
    member(o, "socket", json_type_string, false, where, bad, size);
    if (!m)
        return;
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(json_object_get_string(m), modes[i]) == 0)
            return;
    snprintf(bad, size, "%s: unknown variant `%s`", where, json_object_get_string(m));
}

static void check_disk(json_object *d, char *bad, size_t size)
{
    static const char *const types[] = {"FixedVhd", "Qcow2", "Raw", "Vhdx", "Unknown"};
    if (!json_object_is_type(d, json_type_object)) {
        snprintf(bad, size, "DiskConfig: not an object");
        return;
    }
    member(d, "path", json_type_string, false, "DiskConfig", bad, size);
    member(d, "readonly", json_type_boolean, false, "DiskConfig", bad, size);
    member(d, "direct", json_type_boolean, false, "DiskConfig", bad, size);
    member(d, "num_queues", json_type_int, false, "DiskConfig", bad, size);
    member(d, "queue_size", json_type_int, false, "DiskConfig", bad, size);
    member(d, "id", json_type_string, false, "DiskConfig", bad, size);
    json_object *t = member(d, "image_type", json_type_string, false, "DiskConfig", bad, size);
    for (size_t i = 0; t && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(json_object_get_string(t), types[i]) == 0)
            t = NULL;
    if (t)
        snprintf(bad, size, "DiskConfig: unknown image_type");
}

static void check_fs(json_object *fs, char *bad, size_t size)
{
    if (!json_object_is_type(fs, json_type_object)) {
        snprintf(bad, size, "FsConfig: not an object");
        return;
    }
    member(fs, "tag", json_type_string, true, "FsConfig", bad, size);
    member(fs, "socket", json_type_string, true, "FsConfig", bad, size);
    member(fs, "num_queues", json_type_int, true, "FsConfig", bad, size);
    member(fs, "queue_size", json_type_int, true, "FsConfig", bad, size);
    member(fs, "id", json_type_string, false, "FsConfig", bad, size);
}

static void check_net(json_object *n, char *bad, size_t size)
{
    if (!json_object_is_type(n, json_type_object)) {
        snprintf(bad, size, "NetConfig: not an object");
        return;
    }
    member(n, "tap", json_type_string, false, "NetConfig", bad, size);
    member(n, "id", json_type_string, false, "NetConfig", bad, size);
    member(n, "mtu", json_type_int, false, "NetConfig", bad, size);
    member(n, "num_queues", json_type_int, false, "NetConfig", bad, size);
    member(n, "queue_size", json_type_int, false, "NetConfig", bad, size);
    json_object *mac = member(n, "mac", json_type_string, false, "NetConfig", bad, size);
    unsigned b[6];
    char tail;
    if (mac && sscanf(json_object_get_string(mac), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1],
                      &b[2], &b[3], &b[4], &b[5], &tail) != 6)
        snprintf(bad, size, "NetConfig: invalid MAC address");
}

/* Types and required fields of a VmConfig (serde's job in CLH: 400). */
static void check_vm_config(json_object *c, char *bad, size_t size)
{
    json_object *v;
    if (!json_object_is_type(c, json_type_object)) {
        snprintf(bad, size, "VmConfig: not an object");
        return;
    }
    if ((v = member(c, "cpus", json_type_object, false, "VmConfig", bad, size))) {
        member(v, "boot_vcpus", json_type_int, true, "CpusConfig", bad, size);
        member(v, "max_vcpus", json_type_int, true, "CpusConfig", bad, size);
    }
    if ((v = member(c, "memory", json_type_object, false, "VmConfig", bad, size))) {
        member(v, "size", json_type_int, true, "MemoryConfig", bad, size);
        member(v, "hotplug_size", json_type_int, false, "MemoryConfig", bad, size);
        member(v, "shared", json_type_boolean, false, "MemoryConfig", bad, size);
        member(v, "hugepages", json_type_boolean, false, "MemoryConfig", bad, size);
    }
    if ((v = member(c, "payload", json_type_object, true, "VmConfig", bad, size))) {
        member(v, "kernel", json_type_string, false, "PayloadConfig", bad, size);
        member(v, "initramfs", json_type_string, false, "PayloadConfig", bad, size);
        member(v, "cmdline", json_type_string, false, "PayloadConfig", bad, size);
        member(v, "firmware", json_type_string, false, "PayloadConfig", bad, size);
    }
    if ((v = member(c, "disks", json_type_array, false, "VmConfig", bad, size)))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            check_disk(json_object_array_get_idx(v, i), bad, size);
    if ((v = member(c, "net", json_type_array, false, "VmConfig", bad, size)))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            check_net(json_object_array_get_idx(v, i), bad, size);
    if ((v = member(c, "fs", json_type_array, false, "VmConfig", bad, size)))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            check_fs(json_object_array_get_idx(v, i), bad, size);
    if ((v = member(c, "rng", json_type_object, false, "VmConfig", bad, size)))
        member(v, "src", json_type_string, true, "RngConfig", bad, size);
    if ((v = member(c, "vsock", json_type_object, false, "VmConfig", bad, size))) {
        json_object *cid = member(v, "cid", json_type_int, true, "VsockConfig", bad, size);
        member(v, "socket", json_type_string, true, "VsockConfig", bad, size);
        if (cid && json_object_get_int64(cid) < 3 && !bad[0])
            snprintf(bad, size, "VsockConfig: cid below the minimum of 3");
    }
    if ((v = member(c, "serial", json_type_object, false, "VmConfig", bad, size)))
        check_mode(v, "SerialConfig", bad, size);
    if ((v = member(c, "console", json_type_object, false, "VmConfig", bad, size)))
        check_mode(v, "ConsoleConfig", bad, size);
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b && !json_object_object_get_ex(v, b, &v))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t int_at(json_object *o, const char *a, const char *b, int64_t def)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
        return def;
    return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : def;
}

static bool bool_at(json_object *o, const char *a, const char *b)
{
    json_object *v;
    if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
        return false;
    return json_object_get_boolean(v);
}

/* The semantic checks CLH's VmConfig::validate() makes at boot (400). */
static int validate_config(json_object *c, char *bad, size_t size)
{
    int64_t boot = int_at(c, "cpus", "boot_vcpus", 1), max = int_at(c, "cpus", "max_vcpus", 1);
    json_object *fses = NULL;
    if (max < boot)
        snprintf(bad, size, "Max vCPUs lower than boot vCPUs");
    else if (boot < 1)
        snprintf(bad, size, "boot_vcpus below 1");
    else if (!str_at(c, "payload", "kernel") && !str_at(c, "payload", "firmware"))
        snprintf(bad, size, "No kernel or firmware in the payload");
    else if (json_object_object_get_ex(c, "fs", &fses) && json_object_array_length(fses) > 0 &&
             !bool_at(c, "memory", "shared") && !bool_at(c, "memory", "hugepages"))
        snprintf(bad, size, "Using vhost-user requires using shared memory or huge pages");
    for (size_t i = 0; !bad[0] && fses && i < json_object_array_length(fses); i++)
        if (int_at(json_object_array_get_idx(fses, i), "num_queues", NULL, 1) > boot)
            snprintf(bad, size, "Number of queues to virtio_fs greater than number of vCPUs");
    const char *mode = str_at(c, "serial", "mode");
    if (!bad[0] && mode && strcmp(mode, "File") == 0 && !str_at(c, "serial", "file"))
        snprintf(bad, size, "Path missing when using file console mode");
    return bad[0] ? -1 : 0;
}

/* ---- hybrid vsock ---- */

static int unix_connect_path(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int unix_listen_path(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static const char *vsock_target(const struct fake_clh *f, unsigned port, char *buf, size_t size)
{
    for (const char *p = f->vsock_targets; p && *p;) {
        char *end;
        unsigned long v = strtoul(p, &end, 10);
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (*end == '=' && v == port && (size_t)(end + 1 - p) < len) {
            snprintf(buf, size, "%.*s", (int)(len - (size_t)(end + 1 - p)), end + 1);
            return buf;
        }
        p = comma ? comma + 1 : p + len;
    }
    return NULL;
}

static void pump(int a, int b)
{
    char buf[16384];
    struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 2; i++) {
            if (!p[i].revents)
                continue;
            ssize_t n = read(p[i].fd, buf, sizeof(buf));
            if (n <= 0 || send_all(p[1 - i].fd, buf, (size_t)n) < 0)
                return;
        }
    }
}

/* Hybrid vsock as CLH does it: read "CONNECT <port>\n", connect to the
 * guest's listener (here: the test's unix socket), answer "OK <n>\n",
 * then copy both ways. No listener: hang up without a reply. */
static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    char line[64];
    size_t len = 0;
    while (len < sizeof(line) - 1) {
        ssize_t n = read(p->a, line + len, 1);
        if (n <= 0)
            goto out;
        if (line[len++] == '\n')
            break;
    }
    line[len] = '\0';
    unsigned port;
    char tail;
    char path[108];
    if (sscanf(line, "CONNECT %u%c", &port, &tail) != 2 || tail != '\n') {
        violation(p->f, "hybrid vsock: bad handshake line");
        goto out;
    }
    if (!vsock_target(p->f, port, path, sizeof(path)) || (p->b = unix_connect_path(path)) < 0)
        goto out;
    char ok[32];
    int n = snprintf(ok, sizeof(ok), "OK %u\n", 1073741824u + port);
    if (send_all(p->a, ok, (size_t)n) == 0)
        pump(p->a, p->b);
out:
    shutdown(p->a, SHUT_RDWR);
    return NULL;
}

static void proxy_accept(struct fake_clh *f)
{
    int fd = accept4(f->vsock_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    for (size_t i = 0; i < MAX_PROXIES; i++) {
        struct proxy *p = &f->proxies[i];
        if (p->used && pthread_tryjoin_np(p->thread, NULL) == 0) {
            close(p->a);
            if (p->b >= 0)
                close(p->b);
            p->used = false;
        }
        if (!p->used) {
            *p = (struct proxy){.a = fd, .b = -1, .used = true, .f = f};
            if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
                p->used = false;
                break;
            }
            return;
        }
    }
    close(fd);
}

static void proxies_stop(struct fake_clh *f)
{
    for (size_t i = 0; i < MAX_PROXIES; i++) {
        struct proxy *p = &f->proxies[i];
        if (!p->used)
            continue;
        shutdown(p->a, SHUT_RDWR);
        if (p->b >= 0)
            shutdown(p->b, SHUT_RDWR);
        pthread_join(p->thread, NULL);
        close(p->a);
        if (p->b >= 0)
            close(p->b);
        p->used = false;
    }
}

/* ---- endpoints ---- */

static struct reply ok_json(json_object *o)
{
    struct reply r = {200, strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN))};
    json_object_put(o);
    return r;
}

static struct reply pci_reply(struct fake_clh *f, const char *id)
{
    if (f->state == VM_CREATED)
        return (struct reply){204, NULL}; /* cold-plugged into the config */
    json_object *o = json_object_new_object();
    char bdf[16];
    snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", f->devices[f->n_devices - 1].slot);
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "bdf", json_object_new_string(bdf));
    return ok_json(o);
}

static struct reply add_device(struct fake_clh *f, const char *id, const char *prefix)
{
    char gen[64];
    if (f->state == VM_NONE)
        return fail(404, "Error from API", "The VM is not created");
    if (!id) {
        snprintf(gen, sizeof(gen), "_%s%u", prefix, f->n_devices);
        id = gen;
    }
    for (unsigned i = 0; i < f->n_devices; i++)
        if (strcmp(f->devices[i].id, id) == 0)
            return fail(409, "Error from API", "Identifier %s is not unique", id);
    if (f->n_devices == MAX_DEVICES || strlen(id) >= sizeof(f->devices[0].id))
        return fail(500, "Error from API", "Too many devices");
    snprintf(f->devices[f->n_devices].id, sizeof(f->devices[0].id), "%s", id);
    f->devices[f->n_devices++].slot = f->next_slot++;
    return pci_reply(f, id);
}

static struct reply do_boot(struct fake_clh *f)
{
    char bad[256] = "";
    if (f->state == VM_NONE)
        return fail(404, "Error from API", "The VM could not boot: VM is not created");
    if (f->state != VM_CREATED)
        return fail(500, "Error from API", "The VM could not boot: VM is already created");
    if (validate_config(f->config, bad, sizeof(bad)) < 0) {
        violation(f, "vm.boot: %s", bad);
        return fail(400, "Error from API", "Invalid configuration: %s", bad);
    }
    const char *kernel = str_at(f->config, "payload", "kernel");
    const char *initrd = str_at(f->config, "payload", "initramfs");
    if (kernel && access(kernel, R_OK) < 0)
        return fail(500, "Error from API", "Cannot open kernel %s", kernel);
    if (initrd && access(initrd, R_OK) < 0)
        return fail(500, "Error from API", "Cannot open initramfs %s", initrd);
    json_object *fses;
    if (json_object_object_get_ex(f->config, "fs", &fses))
        for (size_t i = 0; i < json_object_array_length(fses); i++) {
            const char *s = str_at(json_object_array_get_idx(fses, i), "socket", NULL);
            int fd = unix_connect_path(s);
            if (fd < 0)
                return fail(500, "Error from API", "vhost-user-fs: cannot connect to %s", s);
            close(fd);
        }
    const char *vs = str_at(f->config, "vsock", "socket");
    if (vs) {
        f->vsock_fd = unix_listen_path(vs);
        if (f->vsock_fd < 0)
            return fail(500, "Error from API", "vsock: cannot bind %s: %s", vs, strerror(errno));
        snprintf(f->vsock_path, sizeof(f->vsock_path), "%s", vs);
    }
    const char *serial = str_at(f->config, "serial", "file");
    if (serial) {
        FILE *s = fopen(serial, "a");
        if (s) {
            fprintf(s, "fake-cloud-hypervisor: booting %s\n", kernel ? kernel : "firmware");
            fclose(s);
        }
    }
    f->state = VM_RUNNING;
    return (struct reply){204, NULL};
}

static struct reply do_shutdown(struct fake_clh *f)
{
    if (f->state != VM_RUNNING && f->state != VM_PAUSED)
        return fail(500, "Error from API", "The VM could not shut down: VM is not running");
    proxies_stop(f);
    if (f->vsock_fd >= 0) {
        close(f->vsock_fd);
        unlink(f->vsock_path);
        f->vsock_fd = -1;
    }
    f->state = VM_CREATED; /* CLH keeps the config */
    return (struct reply){204, NULL};
}

static struct reply do_info(struct fake_clh *f)
{
    static const char *const names[] = {"", "Created", "Running", "Paused"};
    if (f->state == VM_NONE)
        return fail(404, "Error from API", "The VM is not created");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "config", json_object_get(f->config));
    json_object_object_add(o, "state", json_object_new_string(names[f->state]));
    json_object_object_add(o, "memory_actual_size",
                           json_object_new_int64(int_at(f->config, "memory", "size", 0)));
    return ok_json(o);
}

static struct reply dispatch(struct fake_clh *f, const char *ep, json_object *body,
                             const int *fds, size_t n_fds)
{
    char bad[256] = "";
    if (strcmp(ep, "vmm.ping") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "build_version", json_object_new_string("fake"));
        json_object_object_add(o, "version", json_object_new_string("v51.1.0-fake"));
        json_object_object_add(o, "pid", json_object_new_int64(getpid()));
        json_object_object_add(o, "features", json_object_new_array());
        return ok_json(o);
    }
    if (strcmp(ep, "vmm.shutdown") == 0) {
        if (f->state == VM_RUNNING || f->state == VM_PAUSED) {
            struct reply r = do_shutdown(f);
            free(r.body);
        }
        f->quit = true;
        return (struct reply){200, NULL}; /* CLH's code says 200, its spec 204 */
    }
    if (strcmp(ep, "vm.create") == 0) {
        check_vm_config(body, bad, sizeof(bad));
        if (bad[0])
            return bad_request(f, "%s", bad);
        if (f->state != VM_NONE)
            return fail(500, "Error from API", "The VM could not be created: VM is already created");
        f->config = json_object_get(body);
        f->state = VM_CREATED;
        const char *serial = str_at(body, "serial", "file");
        if (serial) /* CLH opens console files at create (pre_create_console_devices) */
            close(open(serial, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        return (struct reply){204, NULL};
    }
    if (strcmp(ep, "vm.boot") == 0)
        return do_boot(f);
    if (strcmp(ep, "vm.info") == 0)
        return do_info(f);
    if (strcmp(ep, "vm.pause") == 0 || strcmp(ep, "vm.resume") == 0) {
        bool pause = ep[3] == 'p';
        if (f->state != (pause ? VM_RUNNING : VM_PAUSED))
            return fail(500, "Error from API",
                        f->state < VM_RUNNING ? "VM is not running" : "Invalid state transition");
        f->state = pause ? VM_PAUSED : VM_RUNNING;
        return (struct reply){204, NULL};
    }
    if (strcmp(ep, "vm.shutdown") == 0)
        return do_shutdown(f);
    if (strcmp(ep, "vm.add-disk") == 0) {
        check_disk(body, bad, sizeof(bad));
        if (bad[0])
            return bad_request(f, "%s", bad);
        const char *path = str_at(body, "path", NULL);
        if (f->state != VM_NONE && (!path || access(path, R_OK) < 0))
            return fail(500, "Error from API", "Cannot open disk %s", path ? path : "(none)");
        return add_device(f, str_at(body, "id", NULL), "disk");
    }
    if (strcmp(ep, "vm.add-fs") == 0) {
        check_fs(body, bad, sizeof(bad));
        if (bad[0])
            return bad_request(f, "%s", bad);
        return add_device(f, str_at(body, "id", NULL), "fs");
    }
    if (strcmp(ep, "vm.add-net") == 0) {
        check_net(body, bad, sizeof(bad));
        if (bad[0])
            return bad_request(f, "%s", bad);
        int64_t q = int_at(body, "num_queues", NULL, 2);
        if (q < 2 || (n_fds && (int64_t)n_fds * 2 != q)) {
            violation(f, "vm.add-net: %zu fds for %lld queues", n_fds, (long long)q);
            return fail(400, "Error from API", "Number of queues does not match the fds");
        }
        for (size_t i = 0; i < n_fds; i++) {
            struct stat st;
            if (fstat(fds[i], &st) < 0)
                return fail(500, "Error from API", "Bad tap fd");
        }
        if (!n_fds && !str_at(body, "tap", NULL)) {
            violation(f, "vm.add-net without tap fds or tap name");
            return fail(500, "Error from API", "Cannot open tap: no fds and no name");
        }
        return add_device(f, str_at(body, "id", NULL), "net");
    }
    if (strcmp(ep, "vm.remove-device") == 0) {
        const char *id = str_at(body, "id", NULL);
        member(body, "id", json_type_string, false, "VmRemoveDevice", bad, sizeof(bad));
        if (bad[0])
            return bad_request(f, "%s", bad);
        if (f->state == VM_NONE)
            return fail(404, "Error from API", "The VM is not created");
        for (unsigned i = 0; id && i < f->n_devices; i++)
            if (strcmp(f->devices[i].id, id) == 0) {
                f->devices[i] = f->devices[--f->n_devices];
                return (struct reply){204, NULL};
            }
        return fail(404, "Error from API", "No device with id %s to remove", id ? id : "");
    }
    return fail(404, "Not Found", "%s", "");
}

/* Endpoints and whether they take GET or PUT, and a body. */
static const struct {
    const char *name;
    bool get;
    int body; /* 0: none allowed, 1: required */
} routes[] = {
    {"vmm.ping", true, 0},     {"vmm.shutdown", false, 0}, {"vm.create", false, 1},
    {"vm.boot", false, 0},     {"vm.info", true, 0},       {"vm.pause", false, 0},
    {"vm.resume", false, 0},   {"vm.shutdown", false, 0},  {"vm.add-disk", false, 1},
    {"vm.add-net", false, 1},  {"vm.add-fs", false, 1},    {"vm.remove-device", false, 1},
};

/* ---- faults ---- */

/* Returns true when the fault took over the reply. */
static bool inject(struct fake_clh *f, int fd, const char *ep)
{
    if (!f->fault_ep || strcmp(f->fault_ep, ep) != 0)
        return false;
    const char *m = f->fault_mode;
    if (strcmp(m, "die") == 0) {
        if (f->binary)
            _exit(3);
        f->quit = true;
        shutdown(fd, SHUT_RDWR);
    } else if (strcmp(m, "hang") == 0) {
        /* never answer */
    } else if (strcmp(m, "close") == 0) {
        shutdown(fd, SHUT_RDWR);
    } else if (strcmp(m, "bad-status") == 0) {
        send_str(fd, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(m, "bad-json") == 0) {
        send_reply(fd, 200, "application/json", "{\"version\": ", 12, NULL);
    } else if (strcmp(m, "wrong-shape") == 0) {
        const char *b = strcmp(ep, "vm.info") == 0 ? "{\"state\":\"Dancing\",\"config\":{}}"
                        : strncmp(ep, "vm.add-", 7) == 0 ? "{\"id\":\"x\",\"bdf\":\"zz\"}"
                                                         : "{\"version\":5}";
        send_reply(fd, 200, "application/json", b, strlen(b), NULL);
    } else if (strcmp(m, "huge-body") == 0) {
        size_t n = 2u << 20;
        char *b = malloc(n);
        memset(b, ' ', n);
        b[0] = '{';
        b[n - 1] = '}';
        send_reply(fd, 200, "application/json", b, n, NULL);
        free(b);
    } else if (strcmp(m, "huge-head") == 0) {
        char *h = malloc(HEAD_MAX * 2);
        memset(h, 'a', HEAD_MAX * 2);
        memcpy(h, "X-Junk: ", 8);
        memcpy(h + HEAD_MAX * 2 - 3, "\r\n", 3);
        send_reply(fd, 204, "application/json", NULL, 0, h);
        free(h);
    } else if (strcmp(m, "length-mismatch") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{}");
        shutdown(fd, SHUT_RDWR);
    } else if (strcmp(m, "no-content-type") == 0) {
        send_reply(fd, 200, "text/plain", "{\"version\":\"1\"}", 15, NULL);
    } else if (strcmp(m, "chunked") == 0) {
        send_str(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: "
                     "application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
    } else if (strcmp(m, "error-500") == 0) {
        const char *b = "[\"Error from API\",\"boom\\u001b[31m\\ninjected\"]";
        send_reply(fd, 500, "application/json", b, strlen(b), NULL);
    } else if (strcmp(m, "body-on-204") == 0) {
        send_reply(fd, 204, "application/json", "{}", 2, NULL);
    } else if (strcmp(m, "not-found") == 0) {
        send_reply(fd, 404, "application/json", "[\"Not Found\"]", 13, NULL);
    } else {
        return false;
    }
    return true;
}

/* ---- HTTP ---- */

static void record(struct fake_clh *f, const char *method, const char *ep, json_object *body,
                   size_t n_fds)
{
    if (!f->record_path)
        return;
    FILE *out = fopen(f->record_path, "ae");
    if (!out)
        return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "path", json_object_new_string(ep));
    json_object_object_add(o, "body", body ? json_object_get(body) : NULL);
    json_object_object_add(o, "fds", json_object_new_int64((int64_t)n_fds));
    fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    fclose(out);
}

/* Handles one complete request of head_len + body_len bytes. Returns -1
 * when the connection must be closed. */
static int handle(struct fake_clh *f, struct conn *c, size_t head_len, size_t body_len,
                  bool close_after)
{
    char method[8], target[128], version[16];
    const char *prefix = "/api/v1/";
    if (sscanf(c->buf, "%7s %127s %15s", method, target, version) != 3 ||
        strcmp(version, "HTTP/1.1") != 0) {
        violation(f, "malformed request line");
        send_reply(c->fd, 400, "application/json", NULL, 0, NULL);
        return -1;
    }
    if (strncmp(target, prefix, strlen(prefix)) != 0) {
        violation(f, "%s %s: not below /api/v1", method, target);
        struct reply r = fail(404, "Not Found", "%s", "");
        send_reply(c->fd, r.status, "application/json", r.body, strlen(r.body), NULL);
        free(r.body);
        return 0;
    }
    const char *ep = target + strlen(prefix);
    const char *body = c->buf + head_len;
    json_object *jbody = NULL;
    struct reply r = {0, NULL};
    size_t route = 0;
    while (route < sizeof(routes) / sizeof(routes[0]) && strcmp(routes[route].name, ep) != 0)
        route++;

    if (route == sizeof(routes) / sizeof(routes[0])) {
        violation(f, "%s %s: unknown endpoint", method, ep);
        r = fail(404, "Not Found", "%s", "");
    } else if (strcmp(method, routes[route].get ? "GET" : "PUT") != 0) {
        violation(f, "%s %s: wrong method", method, ep);
        r = fail(400, "Bad Request", "%s", "");
    } else if (routes[route].body == 0 && body_len) {
        violation(f, "%s %s: body on a body-less endpoint", method, ep);
        r = fail(400, "Bad Request", "%s", "");
    } else if (routes[route].body == 1 && !body_len) {
        violation(f, "%s %s: body missing", method, ep);
        r = fail(400, "Bad Request", "%s", "");
    } else if (body_len) {
        json_tokener *tok = json_tokener_new();
        jbody = json_tokener_parse_ex(tok, body, (int)body_len);
        if (!jbody || json_tokener_get_parse_end(tok) != body_len)
            r = bad_request(f, "%s: body is not one JSON value", ep);
        json_tokener_free(tok);
    }
    record(f, method, ep, jbody, c->n_fds);
    if (!r.status && inject(f, c->fd, ep)) {
        json_object_put(jbody);
        return strcmp(f->fault_mode, "hang") == 0 ? 0 : -1;
    }
    if (!r.status)
        r = dispatch(f, ep, jbody, c->fds, c->n_fds);
    json_object_put(jbody);
    for (size_t i = 0; i < c->n_fds; i++)
        close(c->fds[i]);
    c->n_fds = 0;
    int ret = send_reply(c->fd, r.status, "application/json", r.body, r.body ? strlen(r.body) : 0,
                         NULL);
    free(r.body);
    return ret < 0 || close_after ? -1 : 0;
}

/* Parses the head of the request at c->buf: -1 bad, 0 incomplete, 1 done. */
static int parse_request(struct fake_clh *f, struct conn *c)
{
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!end)
        return c->len > HEAD_MAX ? -1 : 0;
    size_t head_len = (size_t)(end - c->buf) + 4;
    size_t clen = 0;
    bool has_host = false, close_after = false, has_json_ct = false;
    for (char *l = strstr(c->buf, "\r\n") + 2; l < end; l = strstr(l, "\r\n") + 2) {
        if (strncasecmp(l, "Content-Length:", 15) == 0)
            clen = strtoul(l + 15, NULL, 10);
        else if (strncasecmp(l, "Host:", 5) == 0)
            has_host = true;
        else if (strncasecmp(l, "Connection: close", 17) == 0)
            close_after = true;
        else if (strncasecmp(l, "Content-Type: application/json", 30) == 0)
            has_json_ct = true;
        else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0) {
            violation(f, "chunked request body");
            return -1;
        } else if (strncasecmp(l, "Expect:", 7) == 0) {
            violation(f, "Expect header (micro_http does not answer 100-continue)");
        }
    }
    if (clen > REQ_MAX)
        return -1;
    if (c->len < head_len + clen)
        return 0;
    if (!has_host)
        violation(f, "request without Host header");
    if (clen && !has_json_ct)
        violation(f, "request body without Content-Type: application/json");
    c->buf[head_len - 2] = '\0'; /* lets sscanf stop at the head */
    int r = handle(f, c, head_len, clen, close_after);
    if (r < 0)
        return -1;
    memmove(c->buf, c->buf + head_len + clen, c->len - head_len - clen);
    c->len -= head_len + clen;
    return 1;
}

static void conn_close(struct conn *c)
{
    for (size_t i = 0; i < c->n_fds; i++)
        close(c->fds[i]);
    c->n_fds = 0;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->len = 0;
}

static void conn_read(struct fake_clh *f, struct conn *c)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
        struct cmsghdr align;
    } u;
    if (!c->buf)
        c->buf = malloc(REQ_MAX + HEAD_MAX + 1);
    struct iovec iov = {c->buf + c->len, REQ_MAX + HEAD_MAX - c->len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                        .msg_controllen = sizeof(u.buf)};
    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n <= 0 || iov.iov_len == 0) {
        conn_close(c);
        return;
    }
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int fds[MAX_FDS];
        k = k > MAX_FDS ? MAX_FDS : k;
        memcpy(fds, CMSG_DATA(cm), k * sizeof(int));
        for (size_t i = 0; i < k; i++) {
            if (c->n_fds < MAX_FDS)
                c->fds[c->n_fds++] = fds[i];
            else
                close(fds[i]);
        }
    }
    c->len += (size_t)n;
    c->buf[c->len] = '\0';
    int r;
    while ((r = parse_request(f, c)) > 0 && !f->quit)
        ;
    if (r < 0)
        conn_close(c);
}

static void serve(struct fake_clh *f)
{
    while (!f->quit) {
        struct pollfd p[3 + MAX_CONNS];
        size_t n = 0;
        p[n++] = (struct pollfd){f->wake[0], POLLIN, 0};
        p[n++] = (struct pollfd){f->api_fd, POLLIN, 0};
        p[n++] = (struct pollfd){f->vsock_fd, POLLIN, 0};
        for (size_t i = 0; i < MAX_CONNS; i++)
            p[n++] = (struct pollfd){f->conns[i].fd, POLLIN, 0};
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (p[0].revents)
            return;
        if (p[1].revents) {
            int fd = accept4(f->api_fd, NULL, NULL, SOCK_CLOEXEC);
            size_t i = 0;
            while (fd >= 0 && i < MAX_CONNS && f->conns[i].fd >= 0)
                i++;
            if (fd >= 0 && i < MAX_CONNS)
                f->conns[i].fd = fd;
            else if (fd >= 0)
                close(fd);
        }
        if (p[2].revents && f->vsock_fd >= 0)
            proxy_accept(f);
        for (size_t i = 0; i < MAX_CONNS && !f->quit; i++)
            if (p[3 + i].revents && f->conns[i].fd >= 0)
                conn_read(f, &f->conns[i]);
    }
}

static int fake_new(const struct fake_clh_opts *o, struct fake_clh **ret)
{
    struct fake_clh *f = calloc(1, sizeof(*f));
    f->vsock_fd = -1;
    f->api_fd = o->api_fd;
    for (size_t i = 0; i < MAX_CONNS; i++)
        f->conns[i].fd = -1;
    if (pipe2(f->wake, O_CLOEXEC) < 0) {
        free(f);
        return -errno;
    }
    if (f->api_fd < 0 && o->api_socket) {
        snprintf(f->api_path, sizeof(f->api_path), "%s", o->api_socket);
        f->api_fd = unix_listen_path(o->api_socket);
    }
    if (f->api_fd < 0) {
        int r = -errno;
        close(f->wake[0]);
        close(f->wake[1]);
        free(f);
        return r ? r : -EINVAL;
    }
    f->vsock_targets = o->vsock_targets ? strdup(o->vsock_targets) : NULL;
    f->record_path = o->record_path ? strdup(o->record_path) : NULL;
    if (o->fault && strchr(o->fault, ':')) {
        f->fault_ep = strdup(o->fault);
        *strchr(f->fault_ep, ':') = '\0';
        f->fault_mode = f->fault_ep + strlen(f->fault_ep) + 1;
    }
    *ret = f;
    return 0;
}

static void fake_free(struct fake_clh *f)
{
    proxies_stop(f);
    for (size_t i = 0; i < MAX_CONNS; i++)
        conn_close(&f->conns[i]);
    if (f->vsock_fd >= 0) {
        close(f->vsock_fd);
        unlink(f->vsock_path);
    }
    close(f->api_fd);
    if (f->api_path[0])
        unlink(f->api_path);
    close(f->wake[0]);
    close(f->wake[1]);
    json_object_put(f->config);
    free(f->vsock_targets);
    free(f->record_path);
    free(f->fault_ep);
    free(f);
}

static void *thread_main(void *arg)
{
    serve(arg);
    return NULL;
}

int fake_clh_start(const struct fake_clh_opts *o, struct fake_clh **ret)
{
    struct fake_clh *f;
    int r = fake_new(o, &f);
    if (r < 0)
        return r;
    r = -pthread_create(&f->thread, NULL, thread_main, f);
    if (r < 0) {
        fake_free(f);
        return r;
    }
    f->threaded = true;
    *ret = f;
    return 0;
}

struct fake_clh *fake_clh_stop(struct fake_clh *f)
{
    if (!f)
        return NULL;
    if (f->threaded) {
        (void)!write(f->wake[1], "x", 1);
        pthread_join(f->thread, NULL);
    }
    fake_free(f);
    return NULL;
}

unsigned fake_clh_violations(const struct fake_clh *f)
{
    return __atomic_load_n(&f->violations, __ATOMIC_RELAXED);
}

int fake_clh_run(const struct fake_clh_opts *o)
{
    struct fake_clh *f;
    int r = fake_new(o, &f);
    if (r < 0) {
        fprintf(stderr, "fake-cloud-hypervisor: cannot listen on the API socket: %s\n",
                strerror(-r));
        return 1;
    }
    f->binary = true;
    serve(f);
    unsigned v = f->violations;
    fake_free(f);
    if (v)
        fprintf(stderr, "fake-cloud-hypervisor: %u API violations\n", v);
    return 0;
}
