/* The serving daemon; see daemon.h. */
#include "shim/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/workpool.h"
#include "shim/args.h"
#include "shim/container.h"
#include "shim/events.h"
#include "shim/sandbox.h"
#include "shim/shim.h"
#include "shim/task_service.h"

#define LISTEN_FD 3
#define POOL_THREADS 4
#define POOL_QUEUE 256
#define FLUSH_TIMEOUT_NS (2ull * 1000000000ull)

static void server_done(struct ttrpc_server *server, void *userdata)
{
    struct shim *shim = userdata;

    (void)server;
    loop_quit(shim->loop, shim->exit_code);
}

void shim_request_exit(struct shim *shim, int code)
{
    if (shim->exiting)
        return;
    shim->exiting = true;
    shim->exit_code = code;
    log_info("shim exiting");
    ttrpc_server_shutdown(shim->server, FLUSH_TIMEOUT_NS, server_done, shim);
}

unsigned shim_container_count(const struct shim *shim)
{
    return container_count(shim);
}

uint32_t shim_task_pid(const struct shim *shim)
{
    return shim->sandbox ? (uint32_t)sandbox_vmm_pid(shim->sandbox) : 0;
}

static void on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata)
{
    struct shim *shim = userdata;

    (void)s;
    log_info("signal %u: stopping", si->ssi_signo);
    shim_request_exit(shim, 0); /* daemon_run() tears the sandbox down */
}

/* The bundle's `log` FIFO (containerd holds it open read-write); writes are
 * non-blocking so a stalled reader drops lines instead of freezing the loop. */
static void setup_logging(const struct shim_args *a)
{
    int fd = open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);

    log_set_source("shim");
    log_set_level(a->debug ? LOG_DEBUG : LOG_INFO);
    if (fd >= 0)
        log_set_fd(fd);
}

/* The socket on fd 3 must be a listening unix socket; its path is removed
 * on exit, as the Go shim library does. */
static int check_listener(struct shim *shim, struct err *e)
{
    int v = 0;
    socklen_t len = sizeof(v);
    struct sockaddr_un sa;
    socklen_t salen = sizeof(sa);

    if (getsockopt(LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
        return err_set(e, -EBADF, "no listening socket on fd 3 (run with the `start` action)");
    if (getsockname(LISTEN_FD, (struct sockaddr *)&sa, &salen) == 0 && sa.sun_path[0] == '/')
        snprintf(shim->socket_path, sizeof(shim->socket_path), "%s", sa.sun_path);
    fcntl(LISTEN_FD, F_SETFD, FD_CLOEXEC);
    return 0;
}

static int shim_init(struct shim *shim, const struct shim_args *a, struct err *e)
{
    static char ttrpc_default[PATH_MAX];
    const char *tt = getenv("TTRPC_ADDRESS");
    int r;

    shim->namespace_ = a->namespace_;
    shim->id = a->id;
    shim->grpc_address = a->address;
    shim->publish_binary = a->publish_binary;
    if ((!tt || !*tt) && a->address) {
        snprintf(ttrpc_default, sizeof(ttrpc_default), "%s.ttrpc", a->address);
        tt = ttrpc_default;
    }
    shim->ttrpc_address = tt;
    if (!getcwd(shim->bundle, sizeof(shim->bundle)))
        return err_set(e, -errno, "getcwd: %s", strerror(errno));
    if ((r = loop_new(&shim->loop)) < 0)
        return err_set(e, r, "loop: %s", strerror(-r));
    if ((r = workpool_new(shim->loop, POOL_THREADS, POOL_QUEUE, &shim->pool)) < 0)
        return err_set(e, r, "workpool: %s", strerror(-r));
    if ((r = events_new(shim, &shim->events)) < 0)
        return err_set(e, r, "events: %s", strerror(-r));
    if ((r = ttrpc_server_new(shim->loop, NULL, &shim->server)) < 0)
        return err_set(e, r, "ttrpc server: %s", strerror(-r));
    if ((r = task_service_register(shim)) < 0)
        return err_set(e, r, "register task service: %s", strerror(-r));
    return 0;
}

static void shim_done(struct shim *shim)
{
    /* Pool first: a teardown job queued meanwhile (events_flush() turns the
     * loop) points at the sandbox and its done() frees it, so the sandbox
     * must outlive the pool's pending completions. */
    shim->pool = workpool_free(shim->pool);
    shim->sandbox = sandbox_free(shim->sandbox);
    shim->server = ttrpc_server_free(shim->server);
    shim->events = events_free(shim->events);
    shim->loop = loop_free(shim->loop);
    if (shim->socket_path[0])
        unlink(shim->socket_path);
}

int daemon_run(const struct shim_args *a, struct err *e)
{
    struct shim shim = {0};
    struct loop_source *sigterm = NULL, *sigint = NULL;
    int r;

    if (!a->namespace_ || !a->id)
        return err_set(e, -EINVAL, "-namespace and -id are required");
    setup_logging(a);
    r = check_listener(&shim, e);
    if (r >= 0)
        r = shim_init(&shim, a, e);
    if (r >= 0 && ((r = loop_add_signal(shim.loop, SIGTERM, on_signal, &shim, &sigterm)) < 0 ||
                   (r = loop_add_signal(shim.loop, SIGINT, on_signal, &shim, &sigint)) < 0))
        err_set(e, r, "signals: %s", strerror(-r));
    if (r >= 0 && (r = ttrpc_server_listen_fd(shim.server, LISTEN_FD)) < 0)
        err_set(e, r, "serve fd 3: %s", strerror(-r));
    if (r >= 0) {
        log_info("serving sandbox %s, namespace %s, events to %s", a->id, a->namespace_,
                 shim.ttrpc_address ? shim.ttrpc_address : "(none)");
        r = loop_run(shim.loop);
        /* Finish hypervisor work in flight (its completions may free the
         * sandbox) before the blocking teardown of what is left. */
        shim.pool = workpool_free(shim.pool);
        if (shim.sandbox)
            sandbox_shutdown(shim.sandbox);
        /* A fresh pool for the event sender's dials while flushing. */
        if (workpool_new(shim.loop, 1, POOL_QUEUE, &shim.pool) < 0)
            shim.pool = NULL;
        events_flush(shim.events, FLUSH_TIMEOUT_NS);
    } else {
        log_error("%s", err_msg(e));
    }
    loop_source_free(sigterm);
    loop_source_free(sigint);
    shim_done(&shim);
    return r;
}
