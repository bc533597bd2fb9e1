/* hypervisor/qmp.c replayed against transcripts recorded from QEMU 7.2
 * (tests/unit/qmp-transcripts/NAME.txt, made by record.py there) and against
 * hostile input. A fake QMP peer thread plays QEMU's side on a socketpair:
 *   <- JSON     sent as QEMU would (the client's last id is put into replies)
 *   -> JSON     must equal what the client sends (its "id" removed)
 *   <<raw TEXT  sent as is, after C escapes (\r \n \\ \xNN)
 * A difference fails the test. */
#include "hypervisor/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "tests/harness/harness.h"

#define TRANSCRIPTS "tests/unit/qmp-transcripts"
#define T_NS (5ull * 1000000000ull)

struct peer {
    int fd;
    FILE *script;
    char last_id[64];
    char failure[512];
    int received_fd; /* an fd that came with SCM_RIGHTS, or -1 */
    pthread_t thread;
};

static int peer_read_line(struct peer *p, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        char c;
        union {
            char b[CMSG_SPACE(sizeof(int))];
            struct cmsghdr a;
        } u;
        struct iovec iov = {&c, 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                            .msg_controllen = sizeof(u.b)};
        ssize_t r = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
        if (r <= 0)
            return -1;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        if (cm && cm->cmsg_type == SCM_RIGHTS)
            memcpy(&p->received_fd, CMSG_DATA(cm), sizeof(int));
        if (c == '\n')
            break;
        buf[n++] = c;
    }
    buf[n] = '\0';
    return (int)n;
}

static size_t unescape(const char *s, char *out)
{
    size_t n = 0;
    while (*s) {
        if (s[0] == '\\' && s[1]) {
            s++;
            if (*s == 'n')
                out[n++] = '\n';
            else if (*s == 'r')
                out[n++] = '\r';
            else if (*s == 'x' && s[1] && s[2]) {
                char hex[3] = {s[1], s[2], 0};
                out[n++] = (char)strtol(hex, NULL, 16);
                s += 2;
            } else
                out[n++] = *s;
            s++;
        } else {
            out[n++] = *s++;
        }
    }
    return n;
}

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    static char line[1 << 20];
    char got[1 << 16];
    while (fgets(line, sizeof(line), p->script)) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "<- ", 3) == 0) {
            struct json_object *o = json_tokener_parse(line + 3);
            struct json_object *v;
            if (json_object_object_get_ex(o, "return", &v) ||
                json_object_object_get_ex(o, "error", &v))
                json_object_object_add(o, "id", json_object_new_string(p->last_id));
            const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
            dprintf(p->fd, "%s\r\n", s);
            json_object_put(o);
        } else if (strncmp(line, "-> ", 3) == 0) {
            if (peer_read_line(p, got, sizeof(got)) < 0) {
                snprintf(p->failure, sizeof(p->failure), "client closed; expected %.200s", line + 3);
                break;
            }
            struct json_object *want = json_tokener_parse(line + 3);
            struct json_object *have = json_tokener_parse(got), *id;
            if (have && json_object_object_get_ex(have, "id", &id)) {
                snprintf(p->last_id, sizeof(p->last_id), "%s", json_object_get_string(id));
                json_object_object_del(have, "id");
            }
            bool same = want && have && json_object_equal(want, have);
            json_object_put(want);
            json_object_put(have);
            if (!same) {
                snprintf(p->failure, sizeof(p->failure), "expected %.200s got %.200s", line + 3,
                         got);
                break;
            }
        } else if (strncmp(line, "<<raw ", 6) == 0) {
            char *raw = malloc(strlen(line));
            size_t n = unescape(line + 6, raw);
            (void)!write(p->fd, raw, n);
            free(raw);
        }
    }
    shutdown(p->fd, SHUT_WR);
    return NULL;
}

static int peer_start(struct peer *p, const char *name, int *ret_client)
{
    char path[256];
    snprintf(path, sizeof(path), TRANSCRIPTS "/%s", name);
    memset(p, 0, sizeof(*p));
    p->received_fd = -1;
    p->script = fopen(path, "re");
    if (!p->script) {
        printf("#   cannot open %s\n", path);
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    p->fd = sv[0];
    *ret_client = sv[1];
    pthread_create(&p->thread, NULL, peer_main, p);
    return 0;
}

/* Joins the peer; returns 0 when it saw every expected line. */
static int peer_finish(struct peer *p)
{
    shutdown(p->fd, SHUT_RDWR);
    pthread_join(p->thread, NULL);
    close(p->fd);
    fclose(p->script);
    if (p->received_fd >= 0)
        close(p->received_fd);
    if (p->failure[0]) {
        printf("#   peer: %s\n", p->failure);
        return 1;
    }
    return 0;
}

static int connect_to(const char *name, struct peer *p, struct qmp **q)
{
    int fd;
    if (peer_start(p, name, &fd) < 0)
        return -1;
    struct err e = ERR_INIT;
    int r = qmp_connect_fd(fd, T_NS, q, &e);
    if (r < 0)
        printf("#   connect: %s\n", err_msg(&e));
    return r;
}

TEST(greeting_and_capabilities)
{
    struct peer p;
    struct qmp *q = NULL;
    ASSERT_OK(connect_to("greeting.txt", &p, &q));
    int a, b, c;
    qmp_version(q, &a, &b, &c);
    ASSERT_EQ(a, 7);
    ASSERT_EQ(b, 2);
    ASSERT_EQ(c, 22);
    qmp_free(q);
    return peer_finish(&p);
}

TEST(stop_cont_status_and_events)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("stop-cont.txt", &p, &q));
    char status[32];
    bool running = false;
    ASSERT_OK(qmp_query_status(q, T_NS, status, sizeof(status), &running, &e));
    ASSERT_STREQ(status, "running");
    ASSERT_TRUE(running);
    ASSERT_OK(qmp_stop(q, T_NS, &e));
    ASSERT_OK(qmp_query_status(q, T_NS, status, sizeof(status), &running, &e));
    ASSERT_STREQ(status, "paused");
    ASSERT_TRUE(!running);
    ASSERT_OK(qmp_cont(q, T_NS, &e));
    struct qmp_event ev;
    ASSERT_OK(qmp_next_event(q, T_NS, &ev, &e));
    ASSERT_STREQ(ev.name, "STOP");
    ASSERT_GT(ev.seconds, 0);
    qmp_event_done(&ev);
    ASSERT_OK(qmp_next_event(q, T_NS, &ev, &e));
    ASSERT_STREQ(ev.name, "RESUME");
    qmp_event_done(&ev);
    qmp_free(q);
    return peer_finish(&p);
}

TEST(block_hotplug_waits_for_the_device_event)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("block-hotplug.txt", &p, &q));
    ASSERT_OK(qmp_blockdev_add(q, "hp0", "/tmp/disk.img", false, false, T_NS, &e));
    const char *props[] = {"drive", "hp0", "bus", "rp1", NULL};
    ASSERT_OK(qmp_device_add(q, "virtio-blk-pci", "hpdisk0", props, T_NS, &e));
    ASSERT_OK(qmp_device_del(q, "hpdisk0", T_NS, &e));
    ASSERT_OK(qmp_blockdev_del(q, "hp0", T_NS, &e));
    /* The backend's DEVICE_DELETED (no "device") stays queued. */
    struct qmp_event ev;
    ASSERT_OK(qmp_next_event(q, T_NS, &ev, &e));
    ASSERT_STREQ(ev.name, "DEVICE_DELETED");
    struct json_object *v;
    ASSERT_TRUE(!json_object_object_get_ex(ev.data, "device", &v));
    qmp_event_done(&ev);
    qmp_free(q);
    return peer_finish(&p);
}

TEST(error_replies_carry_class_and_desc)
{
    struct peer p;
    struct qmp *q = NULL;
    ASSERT_OK(connect_to("errors.txt", &p, &q));
    struct err e = ERR_INIT;
    ASSERT_EQ(qmp_device_add(q, "no-such-device", "x", NULL, T_NS, &e), -EIO);
    ASSERT_TRUE(strstr(e.msg, "device_add: GenericError: 'no-such-device'") != NULL);
    err_clear(&e);
    ASSERT_EQ(qmp_blockdev_del(q, "nothing", T_NS, &e), -EIO);
    ASSERT_TRUE(strstr(e.msg, "nothing") != NULL);
    qmp_free(q);
    return peer_finish(&p);
}

TEST(cpu_hotplug_uses_the_free_slot)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("cpus.txt", &p, &q));
    ASSERT_OK(qmp_cpu_add(q, "cpu1", T_NS, &e));
    qmp_free(q);
    return peer_finish(&p);
}

TEST(memory_hotplug)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("memory.txt", &p, &q));
    ASSERT_OK(qmp_memory_add(q, "m1", 128, false, T_NS, &e));
    qmp_free(q);
    return peer_finish(&p);
}

TEST(getfd_passes_the_fd_and_netdev_errors)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("getfd-netdev.txt", &p, &q));
    int pp[2];
    ASSERT_OK(pipe2(pp, O_CLOEXEC));
    ASSERT_OK(qmp_getfd(q, pp[0], "fd0", T_NS, &e));
    const char *names[] = {"fd0"};
    ASSERT_EQ(qmp_netdev_add_tap(q, "net0", names, 1, true, T_NS, &e), -EIO);
    ASSERT_TRUE(strstr(e.msg, "TUNGETIFF") != NULL);
    err_clear(&e);
    ASSERT_EQ(qmp_closefd(q, "fd0", T_NS, &e), -EIO);
    qmp_free(q);
    close(pp[0]);
    close(pp[1]);
    bool got_fd = p.received_fd >= 0;
    ASSERT_EQ(peer_finish(&p), 0);
    ASSERT_TRUE(got_fd); /* the pipe end arrived with getfd (SCM_RIGHTS) */
    return 0;
}

TEST(quit_then_eof)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("quit.txt", &p, &q));
    ASSERT_OK(qmp_quit(q, T_NS, &e));
    struct qmp_event ev;
    ASSERT_OK(qmp_wait_event(q, "SHUTDOWN", "reason", "host-qmp-quit", T_NS, &ev, &e));
    qmp_event_done(&ev);
    ASSERT_EQ(qmp_next_event(q, T_NS, &ev, &e), -ECONNRESET);
    qmp_free(q);
    return peer_finish(&p);
}

TEST(hostile_peer_is_contained)
{
    struct peer p;
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(connect_to("hostile.txt", &p, &q));
    /* A reply for someone else is dropped, a blank line skipped, an event
     * queued; then the real reply has a badly typed field. */
    ASSERT_EQ(qmp_query_status(q, T_NS, NULL, 0, NULL, &e), -EPROTO);
    err_clear(&e);
    struct qmp_event ev;
    ASSERT_OK(qmp_next_event(q, T_NS, &ev, &e));
    ASSERT_STREQ(ev.name, "GUEST_PANICKED");
    qmp_event_done(&ev);
    /* Trailing bytes after the JSON poison the connection. */
    ASSERT_EQ(qmp_stop(q, T_NS, &e), -EPROTO);
    err_clear(&e);
    ASSERT_EQ(qmp_cont(q, T_NS, &e), -EPROTO);
    qmp_free(q);
    return peer_finish(&p);
}

/* Raw byte sequences, each sent after the greeting; the client must answer
 * query-status with the given error, never crash or hang. */
static int raw_case(const char *bytes, size_t n, int want)
{
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    const char greet[] = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, "
                         "\"major\": 7}}, \"capabilities\": []}}\r\n"
                         "{\"return\": {}, \"id\": \"hv-1\"}\r\n";
    ASSERT_EQ(write(sv[0], greet, strlen(greet)), (ssize_t)strlen(greet));
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(qmp_connect_fd(sv[1], T_NS, &q, &e));
    size_t off = 0;
    while (off < n) { /* the socket buffer is smaller than a long line */
        ssize_t w = send(sv[0], bytes + off, n - off, MSG_DONTWAIT);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    if (off == n)
        shutdown(sv[0], SHUT_WR);
    int r = qmp_query_status(q, 200000000ull, NULL, 0, NULL, &e);
    qmp_free(q);
    close(sv[0]);
    if (r != want)
        printf("#   got %d (%s), want %d\n", r, e.msg, want);
    ASSERT_EQ(r, want);
    return 0;
}

TEST(hostile_bytes)
{
    ASSERT_EQ(raw_case("{\"return\": {}, \"id\": \"hv-2\"", 28, -ECONNRESET), 0); /* no newline, EOF */
    ASSERT_EQ(raw_case("not json\n", 9, -EPROTO), 0);
    ASSERT_EQ(raw_case("[1,2]\n", 6, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"a\":1}\0{\"b\":2}\n", 16, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"return\": 5, \"id\": \"hv-2\"}\n", 29, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"error\": \"x\", \"id\": \"hv-2\"}\n", 29, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"id\": \"hv-2\"}\n", 15, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"event\": 7}\n", 13, -EPROTO), 0);
    ASSERT_EQ(raw_case("{\"event\": \"X\", \"data\": []}\n", 27, -EPROTO), 0);
    ASSERT_EQ(raw_case("", 0, -ECONNRESET), 0);
    /* Deep nesting beyond the tokenizer's depth. */
    static char deep[400];
    for (int i = 0; i < 100; i++)
        deep[i] = '[';
    deep[100] = '\n';
    ASSERT_EQ(raw_case(deep, 101, -EPROTO), 0);
    /* A line longer than QMP_LINE_MAX, never terminated: refused, not buffered forever. */
    size_t big = QMP_LINE_MAX + 4096;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    const char greet[] = "{\"QMP\": {}}\n{\"return\": {}, \"id\": \"hv-1\"}\n";
    ASSERT_EQ(write(sv[0], greet, strlen(greet)), (ssize_t)strlen(greet));
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(qmp_connect_fd(sv[1], T_NS, &q, &e));
    /* Writing from this thread in slices between reads keeps the test single-threaded. */
    size_t off = 0;
    int r = 0;
    for (int round = 0; round < 1000 && off < big; round++) {
        ssize_t n = send(sv[0], huge + off, big - off, MSG_DONTWAIT);
        if (n > 0)
            off += (size_t)n;
        r = qmp_next_event(q, 1000000ull, &(struct qmp_event){0}, &e);
        if (r == -EPROTO)
            break;
        err_clear(&e);
    }
    ASSERT_EQ(r, -EPROTO);
    ASSERT_TRUE(strstr(e.msg, "line longer") != NULL);
    free(huge);
    qmp_free(q);
    close(sv[0]);
    return 0;
}

TEST(timeout_then_late_reply_is_dropped)
{
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    const char greet[] = "{\"QMP\": {}}\n{\"return\": {}, \"id\": \"hv-1\"}\n";
    ASSERT_EQ(write(sv[0], greet, strlen(greet)), (ssize_t)strlen(greet));
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(qmp_connect_fd(sv[1], T_NS, &q, &e));
    ASSERT_EQ(qmp_stop(q, 50000000ull, &e), -ETIMEDOUT);
    ASSERT_TRUE(strstr(e.msg, "stop") != NULL);
    err_clear(&e);
    const char late[] = "{\"return\": {}, \"id\": \"hv-2\"}\n{\"return\": {}, \"id\": \"hv-3\"}\n";
    ASSERT_EQ(write(sv[0], late, strlen(late)), (ssize_t)strlen(late));
    ASSERT_OK(qmp_cont(q, T_NS, &e)); /* hv-3; hv-2 was dropped */
    qmp_free(q);
    close(sv[0]);
    return 0;
}

TEST(event_queue_is_bounded)
{
    int sv[2];
    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
    const char greet[] = "{\"QMP\": {}}\n{\"return\": {}, \"id\": \"hv-1\"}\n";
    ASSERT_EQ(write(sv[0], greet, strlen(greet)), (ssize_t)strlen(greet));
    struct qmp *q = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(qmp_connect_fd(sv[1], T_NS, &q, &e));
    for (unsigned i = 0; i < QMP_EVENT_QUEUE_MAX + 10; i++)
        dprintf(sv[0], "{\"event\": \"E%u\"}\n", i);
    dprintf(sv[0], "{\"return\": {}, \"id\": \"hv-2\"}\n");
    ASSERT_OK(qmp_stop(q, T_NS, &e));
    ASSERT_EQ(qmp_events_dropped(q), 10);
    struct qmp_event ev;
    ASSERT_OK(qmp_next_event(q, T_NS, &ev, &e));
    ASSERT_STREQ(ev.name, "E10");
    qmp_event_done(&ev);
    qmp_free(q);
    close(sv[0]);
    return 0;
}
