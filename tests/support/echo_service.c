/* kata.testing.Echo on our ttRPC server; see echo_service.h. */
#include "tests/support/echo_service.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "lib/compiler.h"
#include "lib/loop.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "testing/echo.pb-c.h"

/* One Sleep call held until its timer fires. */
struct echo_sleep {
    struct echo_service *service;
    struct ttrpc_call *call;
    struct loop_source *timer;
    /* The client's deadline comes before the requested wake-up: the timer
     * then answers DEADLINE_EXCEEDED, as a Go handler watching ctx.Done()
     * would, whether or not the library cancels the call first. */
    bool deadline_first;
    struct echo_sleep *prev, *next;
};

struct echo_service {
    struct loop *loop;
    struct echo_sleep *sleeps;
    unsigned n_sleeps;
};

static void sleep_unlink_free(struct echo_sleep *s)
{
    struct echo_service *svc = s->service;

    if (s->prev)
        s->prev->next = s->next;
    else
        svc->sleeps = s->next;
    if (s->next)
        s->next->prev = s->prev;
    svc->n_sleeps--;
    loop_source_free(s->timer);
    free(s);
}

static void handle_echo(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata)
{
    const Google__Protobuf__BytesValue *req = (const Google__Protobuf__BytesValue *)request;
    Google__Protobuf__BytesValue resp = GOOGLE__PROTOBUF__BYTES_VALUE__INIT;

    (void)userdata;
    resp.value = req->value;
    ttrpc_call_reply(call, &resp.base);
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void handle_metadata(struct ttrpc_call *call, const ProtobufCMessage *request,
                            void *userdata)
{
    Google__Protobuf__StringValue resp = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
    const struct ttrpc_kv *kv = NULL;
    size_t n = ttrpc_call_metadata(call, &kv);
    _cleanup_free_ char **lines = xnew(char *, n ? n : 1);
    _cleanup_free_ char *text = NULL;
    size_t len = 0;

    (void)request;
    (void)userdata;
    /* "key=value\n" per entry, sorted: the same text the Go peer builds. */
    for (size_t i = 0; i < n; i++) {
        size_t kl = strlen(kv[i].key), vl = strlen(kv[i].value);
        lines[i] = xmalloc(kl + vl + 2);
        memcpy(lines[i], kv[i].key, kl);
        lines[i][kl] = '=';
        memcpy(lines[i] + kl + 1, kv[i].value, vl + 1);
        len += kl + vl + 2;
    }
    qsort(lines, n, sizeof(*lines), strcmp_ptr);
    text = xmalloc(len + 1);
    text[0] = '\0';
    len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(lines[i]);
        memcpy(text + len, lines[i], l);
        text[len + l] = '\n';
        len += l + 1;
        free(lines[i]);
    }
    text[len] = '\0';
    resp.value = text;
    ttrpc_call_reply(call, &resp.base);
}

static void sleep_timer_fired(struct loop_source *timer, void *userdata)
{
    struct echo_sleep *s = userdata;
    Google__Protobuf__Empty resp = GOOGLE__PROTOBUF__EMPTY__INIT;

    (void)timer;
    if (s->deadline_first)
        ttrpc_call_fail(s->call, TTRPC_DEADLINE_EXCEEDED, "sleep: deadline exceeded");
    else
        ttrpc_call_reply(s->call, &resp.base);
    sleep_unlink_free(s);
}

static void sleep_cancelled(struct ttrpc_call *call, void *userdata)
{
    struct echo_sleep *s = userdata;

    /* The library already answered the peer (or the peer is gone);
     * finishing the call now only frees it. */
    ttrpc_call_fail(call, TTRPC_CANCELLED, "sleep cancelled");
    sleep_unlink_free(s);
}

static void handle_sleep(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata)
{
    const Google__Protobuf__Int64Value *req = (const Google__Protobuf__Int64Value *)request;
    struct echo_service *svc = userdata;
    uint64_t now = loop_now(), deadline = ttrpc_call_deadline(call), wake;
    struct echo_sleep *s;
    int r;

    /* At most a day, so the nanosecond arithmetic cannot overflow. */
    if (req->value < 0 || req->value > 86400000) {
        ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "sleep: %" PRId64 " ms out of range",
                        req->value);
        return;
    }
    wake = now + (uint64_t)req->value * 1000000u;

    s = xnew(struct echo_sleep, 1);
    s->service = svc;
    s->call = call;
    if (deadline && deadline < wake) {
        wake = deadline;
        s->deadline_first = true;
    }
    r = loop_add_timer(svc->loop, wake, sleep_timer_fired, s, &s->timer);
    if (r < 0) {
        free(s);
        ttrpc_call_fail_errno(call, r, "sleep: cannot arm a timer");
        return;
    }
    s->next = svc->sleeps;
    if (svc->sleeps)
        svc->sleeps->prev = s;
    svc->sleeps = s;
    svc->n_sleeps++;
    ttrpc_call_on_cancel(call, sleep_cancelled, s);
}

static void handle_fail(struct ttrpc_call *call, const ProtobufCMessage *request, void *userdata)
{
    const Google__Protobuf__Int32Value *req = (const Google__Protobuf__Int32Value *)request;
    Google__Protobuf__Empty resp = GOOGLE__PROTOBUF__EMPTY__INIT;

    (void)userdata;
    /* Code 0 is success, as status.Errorf(codes.OK, ...) is nil in Go. */
    if (req->value == TTRPC_OK) {
        ttrpc_call_reply(call, &resp.base);
        return;
    }
    ttrpc_call_fail(call, req->value, "failing with code %d", req->value);
}

int echo_service_new(struct loop *loop, struct ttrpc_server *server,
                     struct echo_service **ret_service)
{
    const ProtobufCServiceDescriptor *desc = &kata__testing__echo__descriptor;
    static const struct {
        const char *name;
        ttrpc_handler_fn fn;
    } table[] = {
        {"Echo", handle_echo},
        {"Metadata", handle_metadata},
        {"Sleep", handle_sleep},
        {"Fail", handle_fail},
        /* "Unserved" stays NULL: the server must answer UNIMPLEMENTED. */
    };
    _cleanup_free_ ttrpc_handler_fn *handlers = xnew(ttrpc_handler_fn, desc->n_methods);
    struct echo_service *svc;
    int r;

    /* Matched by name, so the table does not depend on declaration order. */
    for (unsigned i = 0; i < desc->n_methods; i++)
        for (size_t j = 0; j < ELEMENTSOF(table); j++)
            if (strcmp(desc->methods[i].name, table[j].name) == 0)
                handlers[i] = table[j].fn;

    svc = xnew(struct echo_service, 1);
    svc->loop = loop;
    r = ttrpc_server_register(server, desc, handlers, svc);
    if (r < 0) {
        free(svc);
        return r;
    }
    *ret_service = svc;
    return 0;
}

struct echo_service *echo_service_free(struct echo_service *service)
{
    if (!service)
        return NULL;
    while (service->sleeps) {
        struct echo_sleep *s = service->sleeps;
        ttrpc_call_fail(s->call, TTRPC_UNAVAILABLE, "echo service stopped");
        sleep_unlink_free(s);
    }
    free(service);
    return NULL;
}

unsigned echo_service_pending_sleeps(const struct echo_service *service)
{
    return service->n_sleeps;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path))
        return -ENAMETOOLONG;
    strcpy(sa->sun_path, path);
    return 0;
}

int echo_service_listen_unix(const char *path, int *ret_fd)
{
    struct sockaddr_un sa;
    _cleanup_close_ int fd = -1;
    int r = unix_addr(path, &sa);

    if (r < 0)
        return r;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    if (listen(fd, 128) < 0)
        return -errno;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int echo_service_connect_unix(const char *path, int *ret_fd)
{
    struct sockaddr_un sa;
    _cleanup_close_ int fd = -1;
    int r = unix_addr(path, &sa);

    if (r < 0)
        return r;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* A blocking connect: a unix connect either completes or fails at once. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    r = fcntl(fd, F_GETFL);
    if (r < 0 || fcntl(fd, F_SETFL, r | O_NONBLOCK) < 0)
        return -errno;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

struct echo_service_thread {
    struct loop *loop;
    struct ttrpc_server *server;
    struct echo_service *service;
    pthread_t thread;
    char *path;
};

static void *thread_main(void *userdata)
{
    struct echo_service_thread *t = userdata;

    loop_run(t->loop);
    /* Torn down on the loop's own thread, which is the only one allowed
     * to touch the server. */
    t->service = echo_service_free(t->service);
    t->server = ttrpc_server_free(t->server);
    return NULL;
}

static void thread_quit(void *userdata)
{
    struct echo_service_thread *t = userdata;
    loop_quit(t->loop, 0);
}

static void thread_free_parts(struct echo_service_thread *t)
{
    echo_service_free(t->service);
    ttrpc_server_free(t->server);
    loop_free(t->loop);
    free(t->path);
    free(t);
}

int echo_service_thread_start(const char *path, struct echo_service_thread **ret_thread)
{
    struct echo_service_thread *t = xnew(struct echo_service_thread, 1);
    _cleanup_close_ int fd = -1;
    int r;

    t->path = xstrdup(path);
    r = loop_new(&t->loop);
    if (r < 0)
        goto fail;
    r = ttrpc_server_new(t->loop, NULL, &t->server);
    if (r < 0)
        goto fail;
    r = echo_service_new(t->loop, t->server, &t->service);
    if (r < 0)
        goto fail;
    r = echo_service_listen_unix(path, &fd);
    if (r < 0)
        goto fail;
    r = ttrpc_server_listen_fd(t->server, TAKE_FD(fd));
    if (r < 0)
        goto fail;
    r = -pthread_create(&t->thread, NULL, thread_main, t);
    if (r < 0)
        goto fail;
    *ret_thread = t;
    return 0;
fail:
    thread_free_parts(t);
    return r;
}

struct echo_service_thread *echo_service_thread_stop(struct echo_service_thread *t)
{
    if (!t)
        return NULL;
    /* loop_post wakes the loop even when it sleeps in epoll_wait. */
    loop_post(t->loop, thread_quit, t);
    pthread_join(t->thread, NULL);
    unlink(t->path);
    thread_free_parts(t);
    return NULL;
}
