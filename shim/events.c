/* Task events through Events.Forward; see events.h. */
#include "shim/events.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containerd/events/task.pb-c.h"
#include "containerd/services/events/ttrpc/v1/events.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "shim/shim.h"

#define EVENTS_SERVICE "containerd.services.events.ttrpc.v1.Events"
#define SEC UINT64_C(1000000000)
#define SEND_TIMEOUT_NS (5 * SEC)

struct event {
    struct event *next;
    enum events_kind kind;
    struct timespec ts;
    uint8_t *any_value; /* the packed event message */
    size_t any_len;
    unsigned attempts;
};

enum sender_state {
    SENDER_IDLE,
    SENDER_DIALING,
    SENDER_SENDING,
    SENDER_BACKOFF,
    SENDER_BINARY,         /* retries used up: next step is the publish binary */
    SENDER_BINARY_RUNNING,
};

struct events {
    struct shim *shim;
    struct event *head, *tail;
    unsigned n;
    enum sender_state state;
    struct ttrpc_client *client;
    struct loop_source *timer;
    /* Work handed to the pool; its done() may run after events_free(). */
    struct events_job *job;
};

/* A dial or a publish-binary run on the workpool. */
struct events_job {
    struct events *ev; /* NULL once the events object is gone */
    char uri[TRANSPORT_PATH_MAX + 16];
    int fd;
    int rc;
    /* publish binary */
    char *argv[10];
    char ns_buf[256], topic_buf[64];
    uint8_t *data;
    size_t len;
};

static const struct {
    const char *topic, *type_url;
} kinds[] = {
    [EVENTS_TASK_CREATE] = {"/tasks/create", "containerd.events.TaskCreate"},
    [EVENTS_TASK_START] = {"/tasks/start", "containerd.events.TaskStart"},
    [EVENTS_TASK_EXIT] = {"/tasks/exit", "containerd.events.TaskExit"},
    [EVENTS_TASK_DELETE] = {"/tasks/delete", "containerd.events.TaskDelete"},
    [EVENTS_TASK_EXEC_ADDED] = {"/tasks/exec-added", "containerd.events.TaskExecAdded"},
    [EVENTS_TASK_EXEC_STARTED] = {"/tasks/exec-started", "containerd.events.TaskExecStarted"},
    [EVENTS_TASK_PAUSED] = {"/tasks/paused", "containerd.events.TaskPaused"},
    [EVENTS_TASK_RESUMED] = {"/tasks/resumed", "containerd.events.TaskResumed"},
    [EVENTS_TASK_OOM] = {"/tasks/oom", "containerd.events.TaskOOM"},
};

const char *events_topic(enum events_kind kind)
{
    return (unsigned)kind < ELEMENTSOF(kinds) ? kinds[kind].topic : NULL;
}

static void pump(struct events *ev);

static char *str(const char *s)
{
    return (char *)(s ? s : "");
}

static Google__Protobuf__Timestamp timestamp(const struct timespec *t)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = t->tv_sec;
    ts.nanos = (int32_t)t->tv_nsec;
    return ts;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *ret_len)
{
    uint8_t *buf = xmalloc(protobuf_c_message_get_packed_size(m) + 1);
    *ret_len = protobuf_c_message_pack(m, buf);
    return buf;
}

static uint8_t *pack_lifecycle(enum events_kind kind, const struct events_task *t, size_t *len)
{
    Google__Protobuf__Timestamp at = timestamp(&t->at);

    if (kind == EVENTS_TASK_EXIT) {
        Containerd__Events__TaskExit m = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        m.container_id = str(t->container_id);
        m.id = t->exec_id && *t->exec_id ? (char *)t->exec_id : str(t->container_id);
        m.pid = t->pid;
        m.exit_status = t->exit_status;
        m.exited_at = &at;
        return pack(&m.base, len);
    }
    Containerd__Events__TaskDelete m = CONTAINERD__EVENTS__TASK_DELETE__INIT;
    m.container_id = str(t->container_id);
    m.id = str(t->exec_id);
    m.pid = t->pid;
    m.exit_status = t->exit_status;
    m.exited_at = &at;
    return pack(&m.base, len);
}

static uint8_t *pack_create(const struct events_task *t, size_t *len)
{
    Containerd__Events__TaskCreate m = CONTAINERD__EVENTS__TASK_CREATE__INIT;
    Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;

    m.container_id = str(t->container_id);
    m.bundle = str(t->bundle);
    m.pid = t->pid;
    io.stdin = str(t->stdin_path);
    io.stdout = str(t->stdout_path);
    io.stderr = str(t->stderr_path);
    io.terminal = t->terminal;
    m.io = &io;
    return pack(&m.base, len);
}

/* Messages made of container_id [, exec_id] [, pid]. */
static uint8_t *pack_simple(enum events_kind kind, const struct events_task *t, size_t *len)
{
    switch (kind) {
    case EVENTS_TASK_START: {
        Containerd__Events__TaskStart m = CONTAINERD__EVENTS__TASK_START__INIT;
        m.container_id = str(t->container_id);
        m.pid = t->pid;
        return pack(&m.base, len);
    }
    case EVENTS_TASK_EXEC_ADDED: {
        Containerd__Events__TaskExecAdded m = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
        m.container_id = str(t->container_id);
        m.exec_id = str(t->exec_id);
        return pack(&m.base, len);
    }
    case EVENTS_TASK_EXEC_STARTED: {
        Containerd__Events__TaskExecStarted m = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
        m.container_id = str(t->container_id);
        m.exec_id = str(t->exec_id);
        m.pid = t->pid;
        return pack(&m.base, len);
    }
    default: {
        /* TaskPaused, TaskResumed and TaskOOM share one layout. */
        Containerd__Events__TaskOOM m = CONTAINERD__EVENTS__TASK_OOM__INIT;
        m.container_id = str(t->container_id);
        return pack(&m.base, len);
    }
    }
}

int events_publish(struct events *ev, enum events_kind kind, const struct events_task *t)
{
    struct event *e;

    if ((unsigned)kind >= ELEMENTSOF(kinds))
        return -EINVAL;
    if (ev->n >= EVENTS_QUEUE_MAX) {
        log_error("event queue full: dropping %s for %s", kinds[kind].topic,
                  str(t->container_id));
        return -ENOBUFS;
    }
    e = xnew(struct event, 1);
    e->kind = kind;
    clock_gettime(CLOCK_REALTIME, &e->ts);
    if (kind == EVENTS_TASK_CREATE)
        e->any_value = pack_create(t, &e->any_len);
    else if (kind == EVENTS_TASK_EXIT || kind == EVENTS_TASK_DELETE)
        e->any_value = pack_lifecycle(kind, t, &e->any_len);
    else
        e->any_value = pack_simple(kind, t, &e->any_len);
    if (ev->tail)
        ev->tail->next = e;
    else
        ev->head = e;
    ev->tail = e;
    ev->n++;
    log_debug("event %s for %s queued", kinds[kind].topic, str(t->container_id));
    pump(ev);
    return 0;
}

static void event_pop(struct events *ev)
{
    struct event *e = ev->head;

    ev->head = e->next;
    if (!ev->head)
        ev->tail = NULL;
    ev->n--;
    free(e->any_value);
    free(e);
}

unsigned events_pending(const struct events *ev)
{
    return ev ? ev->n : 0;
}

/* ---- the sender: one event in flight, in order ---- */

static void job_free(struct events_job *j)
{
    fd_close(j->fd);
    free(j->data);
    free(j);
}

static void retry_later(struct events *ev, const char *why)
{
    struct event *e = ev->head;

    ev->client = ttrpc_client_free(ev->client);
    e->attempts++;
    log_warn("publish %s: %s (attempt %u)", kinds[e->kind].topic, why, e->attempts);
    if (e->attempts >= EVENTS_MAX_ATTEMPTS) {
        ev->state = SENDER_BINARY;
        return;
    }
    ev->state = SENDER_BACKOFF;
    loop_timer_set(ev->timer, loop_now() + e->attempts * SEC);
}

static void on_timer(struct loop_source *s, void *userdata)
{
    struct events *ev = userdata;

    (void)s;
    if (ev->state == SENDER_BACKOFF) {
        ev->state = SENDER_IDLE;
        pump(ev);
    }
}

static void dial_work(void *userdata)
{
    struct events_job *j = userdata;

    j->fd = transport_dial(j->uri, SEND_TIMEOUT_NS, NULL);
}

static void dial_done(void *userdata)
{
    struct events_job *j = userdata;
    struct events *ev = j->ev;
    int r;

    if (!ev) {
        job_free(j);
        return;
    }
    ev->job = NULL;
    ev->state = SENDER_IDLE;
    if (j->fd < 0) {
        retry_later(ev, strerror(-j->fd));
    } else if ((r = ttrpc_client_new(ev->shim->loop, TAKE_FD(j->fd), NULL, &ev->client)) < 0) {
        retry_later(ev, strerror(-r));
    }
    job_free(j);
    pump(ev);
}

static void forward_done(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *ud)
{
    struct events *ev = ud;

    (void)resp;
    ev->state = SENDER_IDLE;
    if (!ev->head)
        return;
    if (st->code == TTRPC_OK) {
        event_pop(ev);
    } else if (st->code == TTRPC_INVALID_ARGUMENT) {
        log_error("containerd refused %s: %s", kinds[ev->head->kind].topic, st->message);
        event_pop(ev);
    } else {
        retry_later(ev, st->message);
    }
    pump(ev);
}

static void send_head(struct events *ev)
{
    struct event *e = ev->head;
    Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
    Containerd__Services__Events__Ttrpc__V1__Envelope env =
        CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
    Google__Protobuf__Timestamp ts = timestamp(&e->ts);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    struct ttrpc_call_opts opts = {.timeout_ns = SEND_TIMEOUT_NS};
    int r;

    any.type_url = (char *)kinds[e->kind].type_url;
    any.value.data = e->any_value;
    any.value.len = e->any_len;
    env.timestamp = &ts;
    env.namespace_ = (char *)ev->shim->namespace_;
    env.topic = (char *)kinds[e->kind].topic;
    env.event = &any;
    req.envelope = &env;
    ev->state = SENDER_SENDING;
    r = ttrpc_client_call(ev->client, EVENTS_SERVICE, "Forward", &req.base,
                          &google__protobuf__empty__descriptor, &opts, forward_done, ev);
    if (r < 0) {
        ev->state = SENDER_IDLE;
        retry_later(ev, strerror(-r));
    }
}

static void start_dial(struct events *ev)
{
    struct events_job *j = xnew(struct events_job, 1);
    int r;

    j->ev = ev;
    j->fd = -1;
    snprintf(j->uri, sizeof(j->uri), "unix://%s", ev->shim->ttrpc_address);
    ev->state = SENDER_DIALING;
    ev->job = j;
    r = workpool_submit(ev->shim->pool, dial_work, dial_done, j);
    if (r < 0) {
        ev->job = NULL;
        job_free(j);
        ev->state = SENDER_IDLE;
        retry_later(ev, strerror(-r));
    }
}

/* ---- fallback: `containerd --address A publish --topic T --namespace N` ---- */

static void binary_work(void *userdata)
{
    struct events_job *j = userdata;
    posix_spawn_file_actions_t fa;
    int pipefd[2], status = 0;
    pid_t pid;

    j->rc = -EIO;
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid, j->argv[0], &fa, NULL, j->argv, NULL) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[0]);
        close(pipefd[1]);
        return;
    }
    posix_spawn_file_actions_destroy(&fa);
    close(pipefd[0]);
    fd_write_full(pipefd[1], j->data, j->len);
    close(pipefd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    j->rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static void binary_done(void *userdata)
{
    struct events_job *j = userdata;
    struct events *ev = j->ev;

    if (ev) {
        ev->job = NULL;
        ev->state = SENDER_IDLE;
        if (j->rc < 0)
            log_error("publish %s through %s failed: event lost", j->topic_buf, j->argv[0]);
        if (ev->head)
            event_pop(ev);
        pump(ev);
    }
    job_free(j);
}

static void start_binary(struct events *ev)
{
    struct event *e = ev->head;
    struct events_job *j;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    int r;

    if (!ev->shim->publish_binary || !ev->shim->grpc_address) {
        log_error("publish %s: containerd unreachable, event lost", kinds[e->kind].topic);
        event_pop(ev);
        ev->state = SENDER_IDLE;
        return;
    }
    j = xnew(struct events_job, 1);
    j->ev = ev;
    j->fd = -1;
    any.type_url = (char *)kinds[e->kind].type_url;
    any.value.data = e->any_value;
    any.value.len = e->any_len;
    j->data = pack(&any.base, &j->len);
    snprintf(j->ns_buf, sizeof(j->ns_buf), "%s", ev->shim->namespace_);
    snprintf(j->topic_buf, sizeof(j->topic_buf), "%s", kinds[e->kind].topic);
    j->argv[0] = (char *)ev->shim->publish_binary;
    j->argv[1] = (char *)"--address";
    j->argv[2] = (char *)ev->shim->grpc_address;
    j->argv[3] = (char *)"publish";
    j->argv[4] = (char *)"--topic";
    j->argv[5] = j->topic_buf;
    j->argv[6] = (char *)"--namespace";
    j->argv[7] = j->ns_buf;
    ev->job = j;
    r = workpool_submit(ev->shim->pool, binary_work, binary_done, j);
    if (r < 0) {
        ev->job = NULL;
        job_free(j);
        log_error("publish %s: %s, event lost", kinds[e->kind].topic, strerror(-r));
        event_pop(ev);
        ev->state = SENDER_IDLE;
    }
}

static void pump(struct events *ev)
{
    while (ev->head) {
        if (ev->state == SENDER_BINARY) {
            start_binary(ev);
            if (ev->state == SENDER_IDLE)
                continue;
            ev->state = SENDER_BINARY_RUNNING;
            return;
        }
        if (ev->state != SENDER_IDLE)
            return;
        if (!ev->shim->ttrpc_address) {
            ev->state = SENDER_BINARY;
            continue;
        }
        if (!ev->client || ttrpc_client_is_closed(ev->client)) {
            ev->client = ttrpc_client_free(ev->client);
            start_dial(ev);
        } else {
            send_head(ev);
        }
        return;
    }
}

int events_new(struct shim *shim, struct events **ret)
{
    struct events *ev = xnew(struct events, 1);
    int r;

    ev->shim = shim;
    r = loop_add_timer(shim->loop, 0, on_timer, ev, &ev->timer);
    if (r < 0) {
        free(ev);
        return r;
    }
    *ret = ev;
    return 0;
}

struct events *events_free(struct events *ev)
{
    if (!ev)
        return NULL;
    if (ev->job)
        ev->job->ev = NULL; /* its done() frees it */
    while (ev->head)
        event_pop(ev);
    ev->client = ttrpc_client_free(ev->client);
    loop_source_free(ev->timer);
    free(ev);
    return NULL;
}

void events_flush(struct events *ev, uint64_t timeout_ns)
{
    uint64_t end = loop_now() + timeout_ns;

    while (ev && ev->head && loop_now() < end)
        loop_run_once(ev->shim->loop, (int)((end - loop_now()) / 1000000) + 1);
}
