/* Processes: the init process and execs of a container, their exit
 * (WaitProcess, then the output drained, then TaskExit and every waiter
 * answered; the status is kept) and their stdio. See container.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/agent_spec.h"
#include "shim/container-internal.h"
#include "shim/events.h"
#include "shim/hooks.h"
#include "shim/io.h"
#include "shim/shim.h"

#define SEC UINT64_C(1000000000)
/* After the exit, output that stops moving for this long is given up. */
#define DRAIN_STALL_NS (5 * SEC)
#define EXIT_VM_GONE 255

static struct shim *shim_of(const struct process *p)
{
    return p->c->sb->shim;
}

static struct agent_client *agent_of(const struct process *p)
{
    return p->c->sb->ac;
}

uint32_t process_pid(const struct process *p)
{
    return shim_task_pid(shim_of(p));
}

struct process *process_new(struct container *c, const char *exec_id, const char *stdin_path,
                            const char *stdout_path, const char *stderr_path, bool terminal)
{
    struct process *p = xnew(struct process, 1);

    p->c = c;
    snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id ? exec_id : "");
    snprintf(p->stdin_path, sizeof(p->stdin_path), "%s", stdin_path ? stdin_path : "");
    snprintf(p->stdout_path, sizeof(p->stdout_path), "%s", stdout_path ? stdout_path : "");
    snprintf(p->stderr_path, sizeof(p->stderr_path), "%s",
             stderr_path && !terminal ? stderr_path : "");
    p->terminal = terminal;
    p->state = PROC_CREATED;
    return p;
}

/* Waiters still queued (the shim is going away) get 255, now. */
void process_free(struct process *p)
{
    if (!p)
        return;
    if (p->waiters && p->state != PROC_STOPPED) {
        p->exit_status = EXIT_VM_GONE;
        clock_gettime(CLOCK_REALTIME, &p->exited_at);
    }
    agent_op_cancel(p->wait_op);
    p->io = io_free(p->io);
    p->check = loop_source_free(p->check);
    p->drain_timer = loop_source_free(p->drain_timer);
    agent_json_free(p->exec_spec);
    while (p->waiters) {
        struct waiter *w = p->waiters;
        p->waiters = w->next;
        w->fn(w->ud, (uint32_t)p->exit_status, &p->exited_at);
        free(w);
    }
    free(p);
}

static void finalize(struct process *p)
{
    struct events_task ev = {0};
    struct waiter *w;

    p->state = PROC_STOPPED;
    clock_gettime(CLOCK_REALTIME, &p->exited_at);
    p->io = io_free(p->io);
    p->drain_timer = loop_source_free(p->drain_timer);
    log_info("container %s process %s exited with status %d", p->c->id,
             p->exec_id[0] ? p->exec_id : "init", p->exit_status);
    ev.container_id = p->c->id;
    ev.exec_id = p->exec_id;
    ev.pid = process_pid(p);
    ev.exit_status = (uint32_t)p->exit_status;
    ev.at = p->exited_at;
    container_publish(shim_of(p), EVENTS_TASK_EXIT, &ev);
    while ((w = p->waiters)) {
        p->waiters = w->next;
        w->fn(w->ud, (uint32_t)p->exit_status, &p->exited_at);
        free(w);
    }
}

static void drain_timeout(struct loop_source *s, void *ud)
{
    struct process *p = ud;

    if (p->io && io_progress(p->io) != p->drain_progress) {
        p->drain_progress = io_progress(p->io);
        loop_timer_set(s, loop_now() + DRAIN_STALL_NS);
        return;
    }
    log_warn("container %s: output of %s stalled after exit; closing it", p->c->id,
             p->exec_id[0] ? p->exec_id : "init");
    finalize(p);
}

/* Exit is reported once WaitProcess answered, Start has finished and the
 * output is drained. */
static void exit_check(struct loop_source *s, void *ud)
{
    struct process *p = ud;

    (void)s;
    p->check = loop_source_free(p->check);
    if (!p->exit_known || p->state == PROC_STARTING || p->state == PROC_STOPPED)
        return;
    if (!p->io || io_drained(p->io)) {
        finalize(p);
        return;
    }
    if (!p->drain_timer) {
        p->drain_progress = io_progress(p->io);
        loop_add_timer(p->c->sb->shim->loop, loop_now() + DRAIN_STALL_NS, drain_timeout, p,
                       &p->drain_timer);
    }
}

static void schedule_check(struct process *p)
{
    if (!p->check)
        loop_add_defer(shim_of(p)->loop, exit_check, p, &p->check);
}

static void io_drained_cb(void *ud)
{
    schedule_check(ud);
}

static void wait_done(const struct agent_reply *r, void *ud)
{
    struct process *p = ud;

    p->wait_op = NULL;
    if (r->code < 0) {
        log_warn("container %s: WaitProcess %s: %s", p->c->id, p->exec_id, r->msg);
        p->exit_status = EXIT_VM_GONE;
    } else {
        p->exit_status = r->exit_status;
    }
    p->exit_known = true;
    schedule_check(p);
}

static void watch_exit(struct process *p)
{
    int r = agent_wait_process(agent_of(p), p->c->id, p->agent_exec_id, wait_done, p, &p->wait_op);

    if (r < 0) {
        p->exit_status = EXIT_VM_GONE;
        p->exit_known = true;
        schedule_check(p);
    }
}

void process_started(struct process *p)
{
    watch_exit(p);
}

void process_force_exit(struct process *p, int status)
{
    if (p->state == PROC_STOPPED)
        return;
    agent_op_cancel(p->wait_op);
    p->wait_op = NULL;
    if (!p->exit_known) {
        p->exit_known = true;
        p->exit_status = status;
    }
    finalize(p);
}

/* ---- start ---- */

struct start_req {
    struct process *p;
    container_created_fn fn;
    void *ud;
};

static void start_done(const struct agent_reply *r, void *ud)
{
    struct start_req *sr = ud;
    struct process *p = sr->p;
    struct events_task ev = {0};

    if (p->state == PROC_STOPPED) { /* the VM died meanwhile */
        sr->fn(sr->ud, r->code < 0 ? r->code : -ECONNRESET, "the sandbox VM stopped", 0);
        free(sr);
        return;
    }
    if (r->code < 0) {
        p->io = io_free(p->io);
        if (p->exec_id[0]) {
            /* An exec that could not start is over. */
            p->state = PROC_CREATED;
            p->exit_known = true;
            p->exit_status = EXIT_VM_GONE;
            finalize(p);
        } else {
            p->state = PROC_CREATED;
            schedule_check(p);
        }
        sr->fn(sr->ud, r->code, r->msg, 0);
        free(sr);
        return;
    }
    p->state = PROC_RUNNING;
    ev.container_id = p->c->id;
    ev.exec_id = p->exec_id;
    ev.pid = process_pid(p);
    container_publish(shim_of(p), p->exec_id[0] ? EVENTS_TASK_EXEC_STARTED : EVENTS_TASK_START,
                      &ev);
    sr->fn(sr->ud, 0, "", ev.pid);
    free(sr);
    if (!p->exec_id[0])
        hooks_run_async(shim_of(p)->pool, p->c->hooks, HOOKS_POSTSTART);
    if (p->io)
        io_start(p->io, agent_of(p));
    if (p->exec_id[0])
        watch_exit(p);
    schedule_check(p); /* WaitProcess of the init may have answered already */
}

int process_start(struct process *p, container_created_fn fn, void *ud, struct err *e)
{
    struct io_params iop = {
        .container_id = p->c->id,
        .logger_id = p->exec_id[0] ? p->exec_id : p->c->id,
        .namespace_ = shim_of(p)->namespace_,
        .exec_id = p->agent_exec_id,
        .stdin_path = p->stdin_path,
        .stdout_path = p->stdout_path,
        .stderr_path = p->stderr_path,
        .terminal = p->terminal,
    };
    struct start_req *sr;
    int r;

    if (p->state != PROC_CREATED || p->exit_known)
        return err_set(e, -EBUSY, "process %s of %s: already started", p->exec_id[0] ? p->exec_id : "init",
                       p->c->id);
    if (!agent_client_connected(agent_of(p)))
        return err_set(e, -ENOTCONN, "container %s: the sandbox agent is not connected", p->c->id);
    r = io_new(shim_of(p)->loop, &iop, io_drained_cb, p, &p->io, e);
    if (r < 0)
        return r;
    sr = xnew(struct start_req, 1);
    *sr = (struct start_req){p, fn, ud};
    if (p->exec_id[0])
        r = agent_exec_process(agent_of(p), p->c->id, p->agent_exec_id, TAKE_PTR(p->exec_spec),
                               start_done, sr, NULL);
    else
        r = agent_start_container(agent_of(p), p->c->id, start_done, sr, NULL);
    if (r < 0) {
        free(sr);
        p->io = io_free(p->io);
        return err_set(e, r, "start %s: %s", p->c->id, strerror(-r));
    }
    p->state = PROC_STARTING;
    return 0;
}

/* ---- queries and small requests ---- */

int process_wait(struct process *p, process_wait_fn fn, void *ud)
{
    struct waiter *w;

    if (p->state == PROC_STOPPED) {
        fn(ud, (uint32_t)p->exit_status, &p->exited_at);
        return 1;
    }
    w = xnew(struct waiter, 1);
    w->fn = fn;
    w->ud = ud;
    w->next = p->waiters;
    p->waiters = w;
    return 0;
}

void process_info(const struct process *p, struct process_info *ret)
{
    *ret = (struct process_info){
        .pid = process_pid(p),
        .exit_status = (uint32_t)p->exit_status,
        .exited_at = p->exited_at,
        .bundle = p->c->bundle,
        .exec_id = p->exec_id,
        .stdin_path = p->stdin_path,
        .stdout_path = p->stdout_path,
        .stderr_path = p->stderr_path,
        .terminal = p->terminal,
    };
    switch (p->state) {
    case PROC_CREATED:
        ret->status = PROCESS_CREATED;
        break;
    case PROC_STARTING:
    case PROC_RUNNING:
        ret->status = p->c->paused ? PROCESS_PAUSED : PROCESS_RUNNING;
        break;
    case PROC_STOPPED:
        ret->status = PROCESS_STOPPED;
        break;
    }
}

struct small_req {
    container_done_fn fn;
    void *ud;
};

static void small_done(const struct agent_reply *r, void *ud)
{
    struct small_req *sr = ud;

    sr->fn(sr->ud, r->code, r->msg);
    free(sr);
}

static int send_small(int r, struct small_req *sr, struct err *e, const char *what)
{
    if (r < 0) {
        free(sr);
        return err_set(e, r, "%s: %s", what, strerror(-r));
    }
    return 0;
}

int process_kill(struct process *p, uint32_t signo, bool all, container_done_fn fn, void *ud,
                 struct err *e)
{
    struct small_req *sr;

    if (signo == 0 || signo > 64)
        return err_set(e, -EINVAL, "kill: bad signal %u", signo);
    if (p->state == PROC_STOPPED) {
        /* Kata: SIGKILL/SIGTERM to a finished process is a no-op. */
        if (signo == SIGKILL || signo == SIGTERM)
            return 1;
        return err_set(e, -ENOENT, "process %s of %s: already finished",
                       p->exec_id[0] ? p->exec_id : "init", p->c->id);
    }
    if (p->exec_id[0] && p->state == PROC_CREATED)
        return 1; /* an exec that never started has nothing to signal */
    if (!agent_client_connected(agent_of(p)))
        return err_set(e, -ENOTCONN, "kill %s: the sandbox agent is not connected", p->c->id);
    sr = xnew(struct small_req, 1);
    *sr = (struct small_req){fn, ud};
    /* An empty exec id with SIGKILL makes the agent kill every process. */
    (void)all;
    return send_small(agent_signal_process(agent_of(p), p->c->id, p->agent_exec_id, signo,
                                           small_done, sr, NULL),
                      sr, e, "kill");
}

int process_resize(struct process *p, uint32_t width, uint32_t height, container_done_fn fn,
                   void *ud, struct err *e)
{
    struct small_req *sr;

    if (!p->terminal || p->state != PROC_RUNNING || !agent_client_connected(agent_of(p)))
        return 1;
    sr = xnew(struct small_req, 1);
    *sr = (struct small_req){fn, ud};
    return send_small(agent_tty_resize(agent_of(p), p->c->id, p->agent_exec_id, height, width,
                                       small_done, sr, NULL),
                      sr, e, "resize");
}

int process_close_stdin(struct process *p, struct err *e)
{
    (void)e;
    if (p->io)
        io_close_stdin(p->io);
    else
        p->stdin_path[0] = '\0'; /* not started yet: no stdin then */
    return 0;
}
