/* Events from our ttRPC client into a real containerd 1.6, the way a shim
 * publishes them: containerd.services.events.ttrpc.v1.Events/Forward on
 * containerd's TTRPC address (docs/facts containerd-shim-v2.md §8).
 *
 * Each test starts a private containerd with tests/support/containerd_harness
 * (own root, state and sockets under the test's scratch directory, CRI and
 * other unneeded plugins disabled, as in containerd-recipes.md §2) and stops
 * it, and `ctr events` where used, on every path, then removes its
 * directory. The tests skip when containerd or ctr is not installed. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "tests/harness/harness.h"
#include "tests/interop/child.h"
#include "tests/support/containerd_harness.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define MS UINT64_C(1000000)

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static bool file_contains(const char *path, const char *needle, char **ret_line)
{
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;

    if (!f)
        return false;
    while (getline(&line, &cap, f) >= 0) {
        if (strstr(line, needle)) {
            if (ret_line)
                *ret_line = TAKE_PTR(line);
            return true;
        }
    }
    return false;
}

/* Waits until a line of the file at path contains needle, watching the file
 * with inotify rather than polling it. -ECHILD when `watch` exits first. */
static int wait_for_text(const char *path, const char *needle, int timeout_ms,
                         const struct child *watch)
{
    _cleanup_close_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    uint64_t end = loop_now() + (uint64_t)timeout_ms * MS;

    if (ifd < 0)
        return -errno;
    if (inotify_add_watch(ifd, path, IN_MODIFY) < 0)
        return -errno;
    for (;;) {
        struct pollfd p[2] = {{.fd = ifd, .events = POLLIN},
                              {.fd = watch->pidfd, .events = POLLIN}};
        uint64_t now = loop_now();
        char buf[4096];
        int r;

        /* Checked after the watch exists, so no write can slip between. */
        if (file_contains(path, needle, NULL))
            return 0;
        if (now >= end)
            return -ETIMEDOUT;
        r = poll(p, 2, (int)((end - now) / MS) + 1);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (p[1].revents)
            return file_contains(path, needle, NULL) ? 0 : -ECHILD;
        while (read(ifd, buf, sizeof(buf)) > 0)
            ;
    }
}

/* A private containerd, `ctr events` on it, and our ttRPC client. */
struct ctd {
    struct ch_containerd c;
    char *events;
    struct child ctr;
    struct loop *loop;
    struct ttrpc_client *client;
};

#define CTD_INIT                                                                                   \
    {                                                                                              \
        {.pidfd = -1}, NULL, CHILD_INIT, NULL, NULL                                                \
    }

static void ctd_stop(struct ctd *d)
{
    d->client = ttrpc_client_free(d->client);
    d->loop = loop_free(d->loop);
    child_stop(&d->ctr, 5000);
    /* Stops containerd (SIGTERM, then SIGKILL) and removes its directory. */
    ch_containerd_free(&d->c);
    free(d->events);
    *d = (struct ctd)CTD_INIT;
}
#define _cleanup_ctd_ _cleanup_(ctd_stop)

/* Starts containerd (ch_containerd_start waits for "successfully booted"
 * in its log, which it writes once its gRPC and ttRPC sockets listen); then
 * connects our client to the ttRPC socket. -ENOENT: containerd or ctr is
 * not installed. */
static int ctd_start(struct ctd *d, const char *name)
{
    struct err e = ERR_INIT;
    char uri[PATH_MAX];
    int r, fd;

    r = ch_containerd_start(&d->c, test_tmpdir(), name);
    if (r < 0)
        return r;
    d->events = path_join(d->c.dir, "events.txt");

    r = loop_new(&d->loop);
    if (r < 0)
        return r;
    snprintf(uri, sizeof(uri), "unix://%s", d->c.ttrpc_sock);
    fd = transport_dial(uri, 5000 * MS, &e);
    if (fd < 0) {
        printf("#   dial %s: %s\n", uri, err_msg(&e));
        return fd;
    }
    return ttrpc_client_new(d->loop, fd, NULL, &d->client);
}

static int ctd_start_events(struct ctd *d)
{
    _cleanup_close_ int out = open(d->events, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (out < 0)
        return -errno;
    char *argv[] = {d->c.ctr_bin, (char *)"-a", d->c.sock, (char *)"events", NULL};
    return child_spawn(argv, out, -1, &d->ctr);
}

/* Forwards one event; returns TTRPC_OK or the gRPC code containerd sent
 * (message in *e), or a negative errno for a local failure. */
static int ctd_forward(struct ctd *d, const char *ns, const char *topic, const char *type_url,
                       const ProtobufCMessage *event, struct err *e)
{
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    Containerd__Services__Events__Ttrpc__V1__Envelope env =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = 5000 * MS};
    _cleanup_free_ uint8_t *packed = xmalloc(protobuf_c_message_get_packed_size(event) + 1);
    ProtobufCMessage *resp = NULL;
    struct timespec now;
    int code = -1, r;

    clock_gettime(CLOCK_REALTIME, &now);
    ts.seconds = now.tv_sec;
    ts.nanos = (int32_t)now.tv_nsec;
    any.type_url = (char *)type_url;
    any.value.len = protobuf_c_message_pack(event, packed);
    any.value.data = packed;
    env.timestamp = &ts;
    env.namespace_ = (char *)ns;
    env.topic = (char *)topic;
    env.event = &any;
    req.envelope = &env;

    r = ttrpc_client_call_sync(d->client, EVENTS_SERVICE, "Forward", &req.base,
                               &google__protobuf__empty__descriptor, &opts, &resp, &code, e);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    if (r >= 0)
        return TTRPC_OK;
    return code >= 0 ? code : r;
}

static int forward_oom(struct ctd *d, const char *ns, const char *topic, const char *id,
                       struct err *e)
{
    Containerd__Events__TaskOOM oom = CONTAINERD__EVENTS__TASK_OOM__INIT;

    oom.container_id = (char *)id;
    return ctd_forward(d, ns, topic, "containerd.events.TaskOOM", &oom.base, e);
}

/* `ctr events` prints nothing until its subscription is live, and an event
 * published before that is simply not shown. So publish a marker event
 * until ctr shows one (each wait is bounded; at most ~20 s in total). */
static int ctd_wait_subscribed(struct ctd *d)
{
    char id[32], marker[64];

    snprintf(id, sizeof(id), "subscribed-%d", (int)getpid());
    snprintf(marker, sizeof(marker), "\"container_id\":\"%s\"", id);
    for (int i = 0; i < 40; i++) {
        struct err e = ERR_INIT;
        int r = forward_oom(d, "default", "/tasks/oom", id, &e);
        if (r != TTRPC_OK) {
            printf("#   marker event refused: %d %s\n", r, err_msg(&e));
            return -EPROTO;
        }
        r = wait_for_text(d->events, marker, 500, &d->ctr);
        if (r != -ETIMEDOUT)
            return r;
    }
    return -ETIMEDOUT;
}

/* The tests skip without containerd or ctr in $PATH. */
static bool ctd_available(void)
{
    _cleanup_free_ char *containerd = ch_find_in_path("containerd"), *ctr = ch_find_in_path("ctr");

    return containerd && ctr;
}

TEST(containerd_forward_task_exit)
{
    _cleanup_ctd_ struct ctd d = CTD_INIT;
    Containerd__Events__TaskExit ex = CONTAINERD__EVENTS__TASK_EXIT__INIT;
    Google__Protobuf__Timestamp exited = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    _cleanup_free_ char *line = NULL;
    struct err e = ERR_INIT;
    char id[64], needle[96];

    if (!ctd_available())
        return test_skip("containerd or ctr is not installed");
    ASSERT_OK(ctd_start(&d, "ctd-exit"));
    ASSERT_OK(ctd_start_events(&d));
    ASSERT_OK(ctd_wait_subscribed(&d));

    snprintf(id, sizeof(id), "c-ttrpc-%d", (int)getpid());
    exited.seconds = time(NULL);
    ex.container_id = id;
    ex.id = id;
    ex.pid = 4242;
    ex.exit_status = 7;
    ex.exited_at = &exited;
    ASSERT_EQ(ctd_forward(&d, "default", "/tasks/exit", "containerd.events.TaskExit", &ex.base, &e),
              TTRPC_OK);

    snprintf(needle, sizeof(needle), "\"container_id\":\"%s\"", id);
    ASSERT_OK(wait_for_text(d.events, needle, 10000, &d.ctr));
    ASSERT_TRUE(file_contains(d.events, needle, &line));
    printf("#   ctr events: %s", line);
    /* "<time> default /tasks/exit {"container_id":...,"exit_status":7,...}" */
    ASSERT_TRUE(strstr(line, " default /tasks/exit ") != NULL);
    ASSERT_TRUE(strstr(line, "\"exit_status\":7") != NULL);
    ASSERT_TRUE(strstr(line, "\"pid\":4242") != NULL);
    snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
    ASSERT_TRUE(strstr(line, needle) != NULL);
    return 0;
}

TEST(containerd_rejects_empty_namespace)
{
    _cleanup_ctd_ struct ctd d = CTD_INIT;
    struct err e = ERR_INIT;

    if (!ctd_available())
        return test_skip("containerd or ctr is not installed");
    ASSERT_OK(ctd_start(&d, "ctd-ns"));
    ASSERT_EQ(forward_oom(&d, "", "/tasks/oom", "c-empty-ns", &e), TTRPC_INVALID_ARGUMENT);
    printf("#   empty namespace: %s\n", err_msg(&e));
    ASSERT_TRUE(strstr(e.msg, "namespace") != NULL);
    /* The same connection still publishes a valid event. */
    err_clear(&e);
    ASSERT_EQ(forward_oom(&d, "default", "/tasks/oom", "c-valid", &e), TTRPC_OK);
    return 0;
}

TEST(containerd_rejects_bad_topic)
{
    _cleanup_ctd_ struct ctd d = CTD_INIT;
    struct err e = ERR_INIT;

    if (!ctd_available())
        return test_skip("containerd or ctr is not installed");
    ASSERT_OK(ctd_start(&d, "ctd-topic"));
    ASSERT_EQ(forward_oom(&d, "default", "tasks/oom", "c-bad-topic", &e), TTRPC_INVALID_ARGUMENT);
    printf("#   topic without '/': %s\n", err_msg(&e));
    ASSERT_TRUE(strstr(e.msg, "must start with '/'") != NULL);
    return 0;
}
