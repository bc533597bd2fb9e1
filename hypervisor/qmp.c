/* QMP client; see qmp.h. Built with -Wconversion -Wsign-conversion: it
 * parses bytes from a process we trust less than ourselves. */
#include "hypervisor/qmp.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/xalloc.h"

#define QMP_JSON_DEPTH 64
#define QMP_READ_CHUNK 65536u

struct qmp {
    int fd;
    bool poisoned;
    char *buf;           /* bytes read, not yet consumed */
    size_t len, cap;
    uint64_t next_id;
    int ver_major, ver_minor, ver_micro;
    struct qmp_event queue[QMP_EVENT_QUEUE_MAX];
    size_t q_head, q_len;
    unsigned dropped;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left until deadline for poll(), at least 1 while any is left. */
static int ms_left(uint64_t deadline)
{
    uint64_t n = now_ns();
    if (n >= deadline)
        return 0;
    uint64_t ms = (deadline - n + 999999u) / 1000000u;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static uint64_t deadline_of(uint64_t timeout_ns)
{
    return timeout_ns ? now_ns() + timeout_ns : UINT64_MAX;
}

void qmp_event_done(struct qmp_event *ev)
{
    if (ev && ev->data) {
        json_object_put(ev->data);
        ev->data = NULL;
    }
}

struct qmp *qmp_free(struct qmp *q)
{
    if (!q)
        return NULL;
    fd_close(q->fd);
    while (q->q_len) {
        qmp_event_done(&q->queue[q->q_head]);
        q->q_head = (q->q_head + 1) % QMP_EVENT_QUEUE_MAX;
        q->q_len--;
    }
    free(q->buf);
    free(q);
    return NULL;
}

void qmp_version(const struct qmp *q, int *major, int *minor, int *micro)
{
    *major = q->ver_major;
    *minor = q->ver_minor;
    *micro = q->ver_micro;
}

unsigned qmp_events_dropped(const struct qmp *q)
{
    return q->dropped;
}

static int poison(struct qmp *q, struct err *e, int code, const char *what)
{
    q->poisoned = true;
    return err_set(e, code, "QMP: %s", what);
}

/* Reads more bytes (waiting until deadline). 0 on progress. */
static int fill(struct qmp *q, uint64_t deadline, struct err *e)
{
    if (q->len == q->cap) {
        if (q->cap >= QMP_LINE_MAX)
            return poison(q, e, -EPROTO, "line longer than the limit");
        q->cap = q->cap ? MIN(q->cap * 2, (size_t)QMP_LINE_MAX) : QMP_READ_CHUNK;
        q->buf = xrealloc(q->buf, q->cap);
    }
    for (;;) {
        ssize_t n = recv(q->fd, q->buf + q->len, q->cap - q->len, MSG_DONTWAIT);
        if (n > 0) {
            q->len += (size_t)n;
            return 0;
        }
        if (n == 0)
            return poison(q, e, -ECONNRESET, "connection closed by QEMU");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return poison(q, e, -errno, "read failed");
        int left = ms_left(deadline);
        if (left == 0)
            return err_set(e, -ETIMEDOUT, "QMP: timed out waiting for QEMU");
        int r = fd_wait(q->fd, POLLIN, left);
        if (r == -ETIMEDOUT)
            return err_set(e, -ETIMEDOUT, "QMP: timed out waiting for QEMU");
        if (r < 0)
            return poison(q, e, r, "poll failed");
    }
}

/* Takes one complete line out of the buffer, parsed; NULL when no complete
 * line is buffered yet. Invalid JSON or a non-object poisons. */
static int take_line(struct qmp *q, struct json_object **ret, struct err *e)
{
    *ret = NULL;
    char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
    if (!nl)
        return 0;
    size_t n = (size_t)(nl - q->buf);
    size_t used = n + 1;
    if (n && q->buf[n - 1] == '\r')
        n--;
    struct json_object *obj = NULL;
    bool blank = true;
    for (size_t i = 0; i < n; i++)
        if (q->buf[i] != ' ' && q->buf[i] != '\t')
            blank = false;
    if (!blank) {
        if (memchr(q->buf, '\0', n))
            return poison(q, e, -EPROTO, "NUL byte in a line");
        struct json_tokener *tok = json_tokener_new_ex(QMP_JSON_DEPTH);
        if (!tok)
            abort();
        if (n > INT_MAX)
            return poison(q, e, -EPROTO, "line too long");
        obj = json_tokener_parse_ex(tok, q->buf, (int)n);
        bool ok = obj && json_tokener_get_error(tok) == json_tokener_success &&
                  json_tokener_get_parse_end(tok) == n;
        json_tokener_free(tok);
        if (!ok || !json_object_is_type(obj, json_type_object)) {
            json_object_put(obj);
            return poison(q, e, -EPROTO, "invalid JSON line");
        }
    }
    memmove(q->buf, q->buf + used, q->len - used);
    q->len -= used;
    *ret = obj;
    return obj ? 1 : 0;
}

/* Reads until one message (a JSON object line) is available. */
static int read_message(struct qmp *q, uint64_t deadline, struct json_object **ret,
                        struct err *e)
{
    if (q->poisoned)
        return err_set(e, -EPROTO, "QMP: connection unusable after an earlier error");
    for (;;) {
        int r = take_line(q, ret, e);
        if (r != 0)
            return r;
        /* A blank line was consumed, or no full line yet. */
        if (q->len && memchr(q->buf, '\n', q->len))
            continue;
        r = fill(q, deadline, e);
        if (r < 0)
            return r;
    }
}

static const char *get_string(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static bool get_int(struct json_object *o, const char *key, int64_t *ret)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return false;
    *ret = json_object_get_int64(v);
    return true;
}

/* An "event" message: validated and queued. */
static int queue_event(struct qmp *q, struct json_object *msg, struct err *e)
{
    const char *name = get_string(msg, "event");
    if (!name || !*name || strlen(name) >= sizeof(q->queue[0].name))
        return poison(q, e, -EPROTO, "event without a valid name");
    struct qmp_event ev = {0};
    snprintf(ev.name, sizeof(ev.name), "%s", name);
    struct json_object *v;
    if (json_object_object_get_ex(msg, "data", &v)) {
        if (!json_object_is_type(v, json_type_object))
            return poison(q, e, -EPROTO, "event data is not an object");
        ev.data = json_object_get(v);
    }
    if (json_object_object_get_ex(msg, "timestamp", &v) &&
        json_object_is_type(v, json_type_object)) {
        get_int(v, "seconds", &ev.seconds);
        get_int(v, "microseconds", &ev.microseconds);
    }
    if (q->q_len == QMP_EVENT_QUEUE_MAX) {
        qmp_event_done(&q->queue[q->q_head]);
        q->q_head = (q->q_head + 1) % QMP_EVENT_QUEUE_MAX;
        q->q_len--;
        q->dropped++;
    }
    q->queue[(q->q_head + q->q_len) % QMP_EVENT_QUEUE_MAX] = ev;
    q->q_len++;
    return 0;
}

static int send_all(struct qmp *q, const char *s, size_t n, int pass_fd, uint64_t deadline,
                    struct err *e)
{
    bool fd_sent = pass_fd < 0;
    while (n) {
        struct iovec iov = {.iov_base = (void *)s, .iov_len = n};
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } u;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (!fd_sent) {
            memset(&u, 0, sizeof(u));
            mh.msg_control = u.buf;
            mh.msg_controllen = sizeof(u.buf);
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
        }
        ssize_t w = sendmsg(q->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            fd_sent = true;
            s += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return poison(q, e, -errno, "write failed");
        int left = ms_left(deadline);
        if (left == 0 || fd_wait(q->fd, POLLOUT, left) == -ETIMEDOUT)
            return err_set(e, -ETIMEDOUT, "QMP: timed out sending");
    }
    return 0;
}

/* Reads messages until the reply with `id`; events are queued, replies to
 * other ids dropped. */
static int await_reply(struct qmp *q, const char *command, const char *id, uint64_t deadline,
                       struct json_object **ret_return, struct err *e)
{
    for (;;) {
        struct json_object *msg = NULL;
        int r = read_message(q, deadline, &msg, e);
        if (r < 0)
            return r == -ETIMEDOUT ? err_prefix(e, "%s", command) : r;
        struct json_object *v;
        if (json_object_object_get_ex(msg, "event", &v)) {
            r = queue_event(q, msg, e);
            json_object_put(msg);
            if (r < 0)
                return r;
            continue;
        }
        const char *got = get_string(msg, "id");
        if (!got || strcmp(got, id) != 0) {
            json_object_put(msg); /* late reply to a command that timed out */
            continue;
        }
        if (json_object_object_get_ex(msg, "return", &v)) {
            if (ret_return)
                *ret_return = json_object_get(v);
            json_object_put(msg);
            return 0;
        }
        if (json_object_object_get_ex(msg, "error", &v) &&
            json_object_is_type(v, json_type_object)) {
            const char *cls = get_string(v, "class");
            const char *desc = get_string(v, "desc");
            r = err_set(e, -EIO, "%s: %s: %s", command, cls ? cls : "?", desc ? desc : "?");
            json_object_put(msg);
            return r;
        }
        json_object_put(msg);
        return poison(q, e, -EPROTO, "reply without return or error");
    }
}

int qmp_execute(struct qmp *q, const char *command, struct json_object *args, int pass_fd,
                uint64_t timeout_ns, struct json_object **ret_return, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    char id[32];
    snprintf(id, sizeof(id), "hv-%llu", (unsigned long long)++q->next_id);
    struct json_object *msg = json_object_new_object();
    json_object_object_add(msg, "execute", json_object_new_string(command));
    if (args)
        json_object_object_add(msg, "arguments", args);
    json_object_object_add(msg, "id", json_object_new_string(id));
    const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(s);
    char *line = xmalloc(n + 2);
    memcpy(line, s, n);
    line[n] = '\n';
    line[n + 1] = '\0';
    json_object_put(msg);
    int r = q->poisoned ? err_set(e, -EPROTO, "QMP: connection unusable after an earlier error")
                        : send_all(q, line, n + 1, pass_fd, deadline, e);
    free(line);
    if (r < 0)
        return r;
    return await_reply(q, command, id, deadline, ret_return, e);
}

static int read_greeting(struct qmp *q, uint64_t deadline, struct err *e)
{
    struct json_object *msg = NULL;
    int r = read_message(q, deadline, &msg, e);
    if (r < 0)
        return r;
    struct json_object *g, *v, *qv;
    r = 0;
    if (!json_object_object_get_ex(msg, "QMP", &g) || !json_object_is_type(g, json_type_object))
        r = poison(q, e, -EPROTO, "first message is not a greeting");
    else if (json_object_object_get_ex(g, "version", &v) &&
             json_object_is_type(v, json_type_object) &&
             json_object_object_get_ex(v, "qemu", &qv) &&
             json_object_is_type(qv, json_type_object)) {
        int64_t a = 0, b = 0, c = 0;
        get_int(qv, "major", &a);
        get_int(qv, "minor", &b);
        get_int(qv, "micro", &c);
        q->ver_major = (int)MIN(MAX(a, 0), 1000);
        q->ver_minor = (int)MIN(MAX(b, 0), 1000);
        q->ver_micro = (int)MIN(MAX(c, 0), 1000);
    }
    json_object_put(msg);
    return r;
}

int qmp_connect_fd(int fd, uint64_t timeout_ns, struct qmp **ret_qmp, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    struct qmp *q = xzalloc(sizeof(*q));
    q->fd = fd;
    int r = read_greeting(q, deadline, e);
    if (r >= 0) {
        uint64_t left = deadline == UINT64_MAX ? 0 : deadline - MIN(deadline, now_ns());
        r = qmp_execute(q, "qmp_capabilities", NULL, -1, left ? left : 1, NULL, e);
    }
    if (r < 0) {
        qmp_free(q);
        return r;
    }
    *ret_qmp = q;
    return 0;
}

int qmp_connect_path(const char *path, uint64_t timeout_ns, struct qmp **ret_qmp, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "QMP socket %s: path too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    for (;;) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return err_set(e, -errno, "QMP socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return qmp_connect_fd(fd, deadline == UINT64_MAX ? 0 : deadline - MIN(deadline, now_ns()) + 1,
                                  ret_qmp, e);
        int r = -errno;
        close(fd);
        if ((r != -ENOENT && r != -ECONNREFUSED) || ms_left(deadline) == 0)
            return err_set(e, r, "QMP socket %s: %s", path, strerror(-r));
        /* QEMU creates the socket during start-up; retry as govmm does. */
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

int qmp_next_event(struct qmp *q, uint64_t timeout_ns, struct qmp_event *ret_ev, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    while (!q->q_len) {
        struct json_object *msg = NULL;
        int r = read_message(q, deadline, &msg, e);
        if (r < 0)
            return r;
        struct json_object *v;
        if (json_object_object_get_ex(msg, "event", &v))
            r = queue_event(q, msg, e);
        json_object_put(msg); /* a stray reply is dropped */
        if (r < 0)
            return r;
    }
    *ret_ev = q->queue[q->q_head];
    q->q_head = (q->q_head + 1) % QMP_EVENT_QUEUE_MAX;
    q->q_len--;
    return 0;
}

static bool event_matches(const struct qmp_event *ev, const char *name, const char *key,
                          const char *value)
{
    if (strcmp(ev->name, name) != 0)
        return false;
    if (!key)
        return true;
    const char *got = ev->data ? get_string(ev->data, key) : NULL;
    return got && strcmp(got, value) == 0;
}

int qmp_wait_event(struct qmp *q, const char *name, const char *key, const char *value,
                   uint64_t timeout_ns, struct qmp_event *ret_ev, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    /* Queued already? Take it out, keeping the others in order. */
    for (size_t i = 0; i < q->q_len; i++) {
        size_t at = (q->q_head + i) % QMP_EVENT_QUEUE_MAX;
        if (!event_matches(&q->queue[at], name, key, value))
            continue;
        struct qmp_event found = q->queue[at];
        for (size_t j = i; j + 1 < q->q_len; j++)
            q->queue[(q->q_head + j) % QMP_EVENT_QUEUE_MAX] =
                q->queue[(q->q_head + j + 1) % QMP_EVENT_QUEUE_MAX];
        q->q_len--;
        if (ret_ev)
            *ret_ev = found;
        else
            qmp_event_done(&found);
        return 0;
    }
    for (;;) {
        struct json_object *msg = NULL;
        int r = read_message(q, deadline, &msg, e);
        if (r < 0)
            return r == -ETIMEDOUT ? err_prefix(e, "waiting for %s", name) : r;
        struct json_object *v;
        if (!json_object_object_get_ex(msg, "event", &v)) {
            json_object_put(msg);
            continue;
        }
        r = queue_event(q, msg, e);
        json_object_put(msg);
        if (r < 0)
            return r;
        size_t last = (q->q_head + q->q_len - 1) % QMP_EVENT_QUEUE_MAX;
        if (event_matches(&q->queue[last], name, key, value)) {
            struct qmp_event found = q->queue[last];
            q->q_len--;
            if (ret_ev)
                *ret_ev = found;
            else
                qmp_event_done(&found);
            return 0;
        }
    }
}

/* ---- commands ---- */

static struct json_object *obj_str(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
    return o;
}

int qmp_query_status(struct qmp *q, uint64_t timeout_ns, char *status, size_t size,
                     bool *ret_running, struct err *e)
{
    struct json_object *ret = NULL;
    int r = qmp_execute(q, "query-status", NULL, -1, timeout_ns, &ret, e);
    if (r < 0)
        return r;
    struct json_object *v;
    const char *s = json_object_is_type(ret, json_type_object) ? get_string(ret, "status") : NULL;
    if (!s || !json_object_object_get_ex(ret, "running", &v) ||
        !json_object_is_type(v, json_type_boolean)) {
        json_object_put(ret);
        return err_set(e, -EPROTO, "query-status: malformed reply");
    }
    if (status)
        snprintf(status, size, "%s", s);
    if (ret_running)
        *ret_running = json_object_get_boolean(v);
    json_object_put(ret);
    return 0;
}

int qmp_stop(struct qmp *q, uint64_t timeout_ns, struct err *e)
{
    return qmp_execute(q, "stop", NULL, -1, timeout_ns, NULL, e);
}

int qmp_cont(struct qmp *q, uint64_t timeout_ns, struct err *e)
{
    return qmp_execute(q, "cont", NULL, -1, timeout_ns, NULL, e);
}

int qmp_quit(struct qmp *q, uint64_t timeout_ns, struct err *e)
{
    struct err local = ERR_INIT;
    int r = qmp_execute(q, "quit", NULL, -1, timeout_ns, NULL, &local);
    /* QEMU may exit before its answer reaches us. */
    if (r == -ECONNRESET || r == -EPIPE)
        return 0;
    if (r < 0)
        return err_set(e, r, "%s", local.msg);
    return 0;
}

int qmp_blockdev_add(struct qmp *q, const char *node_name, const char *path, bool readonly,
                     bool host_device, uint64_t timeout_ns, struct err *e)
{
    struct json_object *file = json_object_new_object();
    obj_str(file, "driver", host_device ? "host_device" : "file");
    obj_str(file, "filename", path);
    struct json_object *args = json_object_new_object();
    obj_str(args, "driver", "raw");
    obj_str(args, "node-name", node_name);
    json_object_object_add(args, "read-only", json_object_new_boolean(readonly));
    json_object_object_add(args, "file", file);
    return qmp_execute(q, "blockdev-add", args, -1, timeout_ns, NULL, e);
}

int qmp_blockdev_del(struct qmp *q, const char *node_name, uint64_t timeout_ns, struct err *e)
{
    return qmp_execute(q, "blockdev-del", obj_str(json_object_new_object(), "node-name", node_name),
                       -1, timeout_ns, NULL, e);
}

int qmp_device_add(struct qmp *q, const char *driver, const char *id,
                   const char *const *props, uint64_t timeout_ns, struct err *e)
{
    struct json_object *args = json_object_new_object();
    obj_str(args, "driver", driver);
    obj_str(args, "id", id);
    for (const char *const *p = props; p && p[0] && p[1]; p += 2)
        obj_str(args, p[0], p[1]);
    return qmp_execute(q, "device_add", args, -1, timeout_ns, NULL, e);
}

int qmp_device_del(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e)
{
    uint64_t deadline = deadline_of(timeout_ns);
    int r = qmp_execute(q, "device_del", obj_str(json_object_new_object(), "id", id), -1,
                        timeout_ns, NULL, e);
    if (r < 0)
        return r;
    uint64_t left = deadline == UINT64_MAX ? 0 : deadline - MIN(deadline, now_ns());
    if (deadline != UINT64_MAX && left == 0)
        left = 1;
    return qmp_wait_event(q, "DEVICE_DELETED", "device", id, left, NULL, e);
}

int qmp_getfd(struct qmp *q, int fd, const char *name, uint64_t timeout_ns, struct err *e)
{
    if (fd < 0)
        return err_set(e, -EBADF, "getfd %s: no fd", name);
    return qmp_execute(q, "getfd", obj_str(json_object_new_object(), "fdname", name), fd,
                       timeout_ns, NULL, e);
}

int qmp_closefd(struct qmp *q, const char *name, uint64_t timeout_ns, struct err *e)
{
    return qmp_execute(q, "closefd", obj_str(json_object_new_object(), "fdname", name), -1,
                       timeout_ns, NULL, e);
}

int qmp_netdev_add_tap(struct qmp *q, const char *id, const char *const *fd_names, size_t n,
                       bool vhost, uint64_t timeout_ns, struct err *e)
{
    if (n == 0 || n > 16)
        return err_set(e, -EINVAL, "netdev_add %s: %zu queue fds (1 to 16)", id, n);
    char fds[16 * 40] = "";
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(fds + off, sizeof(fds) - off, "%s%s", i ? ":" : "", fd_names[i]);
        if (w < 0 || (size_t)w >= sizeof(fds) - off)
            return err_set(e, -ENAMETOOLONG, "netdev_add %s: fd names too long", id);
        off += (size_t)w;
    }
    struct json_object *args = json_object_new_object();
    obj_str(args, "type", "tap");
    obj_str(args, "id", id);
    obj_str(args, n == 1 ? "fd" : "fds", fds);
    if (vhost)
        json_object_object_add(args, "vhost", json_object_new_boolean(true));
    return qmp_execute(q, "netdev_add", args, -1, timeout_ns, NULL, e);
}

int qmp_netdev_del(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e)
{
    return qmp_execute(q, "netdev_del", obj_str(json_object_new_object(), "id", id), -1,
                       timeout_ns, NULL, e);
}

int qmp_query_hotpluggable_cpus(struct qmp *q, uint64_t timeout_ns, struct json_object **ret,
                                struct err *e)
{
    struct json_object *r_obj = NULL;
    int r = qmp_execute(q, "query-hotpluggable-cpus", NULL, -1, timeout_ns, &r_obj, e);
    if (r < 0)
        return r;
    if (!json_object_is_type(r_obj, json_type_array)) {
        json_object_put(r_obj);
        return err_set(e, -EPROTO, "query-hotpluggable-cpus: not an array");
    }
    *ret = r_obj;
    return 0;
}

int qmp_cpu_add(struct qmp *q, const char *id, uint64_t timeout_ns, struct err *e)
{
    struct json_object *cpus = NULL;
    int r = qmp_query_hotpluggable_cpus(q, timeout_ns, &cpus, e);
    if (r < 0)
        return r;
    struct json_object *slot = NULL;
    size_t n = json_object_array_length(cpus);
    for (size_t i = 0; i < n && !slot; i++) {
        struct json_object *c = json_object_array_get_idx(cpus, i), *v;
        if (json_object_is_type(c, json_type_object) &&
            !json_object_object_get_ex(c, "qom-path", &v))
            slot = c;
    }
    const char *type = slot ? get_string(slot, "type") : NULL;
    struct json_object *props;
    if (!type || !json_object_object_get_ex(slot, "props", &props) ||
        !json_object_is_type(props, json_type_object)) {
        json_object_put(cpus);
        return err_set(e, -ENOSPC, "cpu hotplug %s: no free CPU slot", id);
    }
    struct json_object *args = json_object_new_object();
    obj_str(args, "driver", type);
    obj_str(args, "id", id);
    /* The topology ids only (node-id is implied by the socket). */
    static const char *const keys[] = {"socket-id", "die-id", "core-id", "thread-id"};
    for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
        int64_t v;
        if (get_int(props, keys[i], &v))
            json_object_object_add(args, keys[i], json_object_new_int64(v));
    }
    json_object_put(cpus);
    return qmp_execute(q, "device_add", args, -1, timeout_ns, NULL, e);
}

int qmp_memory_add(struct qmp *q, const char *id, uint64_t size_mib, bool shared,
                   uint64_t timeout_ns, struct err *e)
{
    if (size_mib == 0 || size_mib > (UINT64_C(1) << 30))
        return err_set(e, -EINVAL, "memory hotplug %s: size %llu MiB", id,
                       (unsigned long long)size_mib);
    char mem_id[96], dimm_id[96];
    snprintf(mem_id, sizeof(mem_id), "mem%s", id);
    snprintf(dimm_id, sizeof(dimm_id), "dimm%s", id);
    struct json_object *args = json_object_new_object();
    obj_str(args, "qom-type", shared ? "memory-backend-memfd" : "memory-backend-ram");
    obj_str(args, "id", mem_id);
    json_object_object_add(args, "size", json_object_new_int64((int64_t)(size_mib << 20)));
    if (shared)
        json_object_object_add(args, "share", json_object_new_boolean(true));
    int r = qmp_execute(q, "object-add", args, -1, timeout_ns, NULL, e);
    if (r < 0)
        return r;
    const char *props[] = {"memdev", mem_id, NULL};
    r = qmp_device_add(q, "pc-dimm", dimm_id, props, timeout_ns, e);
    if (r < 0) {
        struct json_object *del = obj_str(json_object_new_object(), "id", mem_id);
        qmp_execute(q, "object-del", del, -1, timeout_ns, NULL, NULL);
    }
    return r;
}
