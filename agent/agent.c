/* The agent object: lifetime, child reaping, the OOM event queue and the
 * sealed copy of our own binary used by the init helper. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/container.h"
#include "agent/kmod.h"
#include "agent/storage.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

#define AGENT_POOL_THREADS 4
#define AGENT_POOL_QUEUE 256

int agent_self_memfd(void)
{
    _cleanup_close_ int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0)
        return -errno;
    _cleanup_close_ int fd = memfd_create("kata-agent", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(src, &st) < 0)
        return -errno;
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
    }
    /* The container can see the binary through /proc/<pid>/exe of a
     * helper: sealed, nobody can change it (DESIGN decision 4). */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
        return -errno;
    return TAKE_FD(fd);
}

int agent_new(struct loop *loop, const struct agent_options *opts, struct agent **ret_agent,
              struct err *e)
{
    struct agent *a = xnew(struct agent, 1);
    int r;

    a->loop = loop;
    list_init(&a->containers);
    list_init(&a->children);
    list_init(&a->oom_reqs);
    a->started_ns = loop_now();
    a->shared_dir = xstrdup(opts && opts->shared_dir ? opts->shared_dir
                                                     : "/run/kata-containers/shared/containers");
    a->run_dir = xstrdup(opts && opts->run_dir ? opts->run_dir : "/run/kata-containers");
    a->hotplug_timeout_ms = opts && opts->hotplug_timeout_ms ? opts->hotplug_timeout_ms
                                                             : AGENT_DEFAULT_HOTPLUG_TIMEOUT_MS;
    a->container_pipe_size = opts ? opts->container_pipe_size : 0;
    a->modules_dir = opts && opts->modules_dir ? xstrdup(opts->modules_dir) : NULL;
    a->self_fd = agent_self_memfd();
    if (a->self_fd < 0) {
        r = err_set(e, a->self_fd, "cannot make a sealed copy of /proc/self/exe: %s",
                    strerror(-a->self_fd));
        a->self_fd = -1;
        agent_free(a);
        return r;
    }
    r = workpool_new(loop, AGENT_POOL_THREADS, AGENT_POOL_QUEUE, &a->pool);
    if (r < 0) {
        agent_free(a);
        return err_set(e, r, "cannot create the work pool");
    }
    *ret_agent = a;
    return 0;
}

struct agent *agent_free(struct agent *a)
{
    if (!a)
        return NULL;
    /* workpool_free() below waits for running work: a hotplug wait must
     * not hold the exit for its whole timeout. */
    atomic_store(&a->stopping, true);
    struct list_node *n, *t;
    list_for_each_safe(n, t, &a->containers) container_destroy_now(container_from_node(n));
    storage_release_all(a);
    a->pool = workpool_free(a->pool);
    /* After the pool: a module load still running ends in its done(). */
    a->kmod = kmod_free(a->kmod);
    list_for_each_safe(n, t, &a->oom_reqs)
    {
        struct agent_oom_req *req = list_entry(n, struct agent_oom_req, node);
        list_unlink(n);
        req->done(req, NULL);
    }
    for (unsigned i = 0; i < a->n_oom_events; i++)
        free(a->oom_events[i]);
    /* Children still tracked here belong to nobody any more. */
    list_for_each_safe(n, t, &a->children)
    {
        struct agent_child *c = list_entry(n, struct agent_child, node);
        list_unlink(n);
        c->pidfd = fd_close(c->pidfd);
    }
    fd_close(a->self_fd);
    free(a->shared_dir);
    free(a->run_dir);
    free(a->modules_dir);
    free(a->sandbox_id);
    free(a->hostname);
    free(a);
    return NULL;
}

void agent_child_track(struct agent *a, struct agent_child *c)
{
    list_append(&a->children, &c->node);
}

void agent_child_untrack(struct agent_child *c)
{
    list_unlink(&c->node);
}

void agent_reap(struct agent *a)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
            return;
        /* Kata's exit status: the code, or 128 + the signal. */
        int status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        struct list_node *n, *t;
        list_for_each_safe(n, t, &a->children)
        {
            struct agent_child *c = list_entry(n, struct agent_child, node);
            if (c->pid != si.si_pid)
                continue;
            list_unlink(n);
            c->exited(c, status);
            break;
        }
    }
}

struct container *agent_container(struct agent *a, const char *id)
{
    struct list_node *n, *t;
    list_for_each_safe(n, t, &a->containers)
    {
        struct container *c = container_from_node(n);
        if (strcmp(container_id(c), id) == 0)
            return c;
    }
    return NULL;
}

void agent_oom_event(struct agent *a, const char *container_id)
{
    struct list_node *n = list_pop(&a->oom_reqs);
    if (n) {
        struct agent_oom_req *req = list_entry(n, struct agent_oom_req, node);
        req->done(req, container_id);
        return;
    }
    if (a->n_oom_events == AGENT_MAX_OOM_EVENTS) {
        log_warn("dropping the oldest queued OOM event (queue full)");
        free(a->oom_events[0]);
        memmove(a->oom_events, a->oom_events + 1, sizeof(char *) * (AGENT_MAX_OOM_EVENTS - 1));
        a->n_oom_events--;
    }
    a->oom_events[a->n_oom_events++] = xstrdup(container_id);
}

void agent_oom_wait(struct agent *a, struct agent_oom_req *req)
{
    list_init(&req->node);
    if (a->n_oom_events > 0) {
        char *id = a->oom_events[0];
        memmove(a->oom_events, a->oom_events + 1, sizeof(char *) * (a->n_oom_events - 1));
        a->n_oom_events--;
        req->done(req, id);
        free(id);
        return;
    }
    list_append(&a->oom_reqs, &req->node);
}

void agent_oom_cancel(struct agent_oom_req *req)
{
    list_unlink(&req->node);
}
