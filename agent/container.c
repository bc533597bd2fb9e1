/* Container lifecycle in the agent (see agent/container.h). */
#include <errno.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/caps.h"
#include "agent/cgroups.h"
#include "agent/container.h"
#include "agent/init_proto.h"
#include "agent/oci_spec.h"
#include "agent/process.h"
#include "agent/mounts.h"
#include "agent/process_setup.h"
#include "agent/seccomp_filter.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

#define MS (1000ULL * 1000)
#define RMDIR_RETRIES 200
/* An exited exec whose output nobody reads (or a grandchild keeps open) is
 * dropped after this long without a read. */
#define EXEC_GRACE_NS (30000 * MS)

enum state { ST_CREATING, ST_CREATED, ST_RUNNING, ST_STOPPED };

struct container {
    struct list_node node;
    struct agent *agent;
    char *id;
    enum state state;
    bool paused, removing;
    struct oci_spec *spec;
    void *blob;
    size_t blob_size;
    struct cgroup *cg;
    struct process *init;
    struct list_node execs;
    unsigned n_execs;
    uint32_t ns_flags;
    int oom_fd;
    struct loop_source *oom_src;
    unsigned jobs; /* pause/resume on the pool */
    container_done_fn done;
    void *done_ud;
    struct loop_source *remove_timer, *retry_timer;
    unsigned rmdir_tries;
};

static int validate_id(const char *id, struct err *e)
{
    /* Kata's check: ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
    size_t n = strlen(id);
    if (n < 2 || n > 128 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                                     id[0]) || id[0] == '\0')
        return err_set(e, -EINVAL, "container_id: \"%s\" is not a valid id", id);
    for (size_t i = 1; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", id[i]))
            return err_set(e, -EINVAL, "container_id: \"%s\" is not a valid id", id);
    return 0;
}

static void container_free(struct container *c)
{
    struct list_node *n;
    while ((n = list_pop(&c->execs)))
        process_free(process_from_node(n));
    c->init = process_free(c->init);
    c->oom_src = loop_source_free(c->oom_src);
    c->oom_fd = fd_close(c->oom_fd);
    c->remove_timer = loop_source_free(c->remove_timer);
    c->retry_timer = loop_source_free(c->retry_timer);
    if (c->cg && cgroup_remove(c->cg) < 0)
        log_warn("container %s: could not remove every cgroup directory", c->id);
    c->cg = NULL;
    list_unlink(&c->node);
    c->agent->n_containers--;
    oci_spec_free(c->spec);
    free(c->blob);
    free(c->id);
    free(c);
}

static bool all_exited(struct container *c)
{
    if (c->init && !process_exited(c->init) && process_pid(c->init))
        return false;
    struct list_node *n, *t;
    list_for_each_safe(n, t, &c->execs) if (!process_exited(process_from_node(n)) &&
                                            process_pid(process_from_node(n))) return false;
    return c->jobs == 0;
}

static void finish(struct container *c, int r, const struct err *e)
{
    container_done_fn fn = c->done;
    c->done = NULL;
    if (fn)
        fn(c->done_ud, r, e);
}

static void check_removed(struct container *c);

static void retry_rmdir(struct loop_source *s, void *userdata)
{
    (void)s;
    check_removed(userdata);
}

/* Once every process is gone: remove the cgroup (retrying briefly while
 * the kernel finishes tearing the processes down), then the container. */
static void check_removed(struct container *c)
{
    if (!c->removing || !all_exited(c))
        return;
    if (c->cg && !cgroup_is_empty(c->cg)) {
        cgroup_kill_all(c->cg);
        if (++c->rmdir_tries < RMDIR_RETRIES) {
            if (!c->retry_timer)
                loop_add_timer(c->agent->loop, loop_now() + 10 * MS, retry_rmdir, c,
                               &c->retry_timer);
            else
                loop_timer_set(c->retry_timer, loop_now() + 10 * MS);
            return;
        }
    }
    container_done_fn fn = c->done;
    void *ud = c->done_ud;
    c->done = NULL;
    container_free(c);
    if (fn)
        fn(ud, 0, NULL);
}

static void process_gone(struct process *p, void *userdata)
{
    struct container *c = userdata;
    if (p == c->init)
        c->state = ST_STOPPED;
    check_removed(c);
}

static void oom_readable(struct loop_source *s, int fd, uint32_t revents, void *userdata)
{
    struct container *c = userdata;
    (void)s, (void)revents;
    if (!c->removing && c->cg && cgroup_oom_check(c->cg, fd)) {
        log_info("container %s: OOM kill", c->id);
        agent_oom_event(c->agent, c->id);
    }
}

static void arm_oom(struct container *c)
{
    c->oom_fd = cgroup_oom_fd(c->cg);
    if (c->oom_fd < 0 ||
        loop_add_io(c->agent->loop, c->oom_fd, EPOLLIN, oom_readable, c, &c->oom_src) < 0) {
        log_warn("container %s: no OOM notifications", c->id);
        c->oom_fd = fd_close(c->oom_fd);
    }
}

/* Which namespaces of the init differ from ours: what an exec joins. */
static uint32_t ns_flags_of(pid_t pid)
{
    static const struct {
        const char *name;
        int flag;
    } ns[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"pid", CLONE_NEWPID},
              {"net", CLONE_NEWNET},   {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
              {"cgroup", CLONE_NEWCGROUP}};
    uint32_t flags = 0;
    for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
        char a[64], b[64];
        struct stat sa, sb;
        snprintf(a, sizeof(a), "/proc/self/ns/%s", ns[i].name);
        snprintf(b, sizeof(b), "/proc/%d/ns/%s", (int)pid, ns[i].name);
        if (stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_ino != sb.st_ino)
            flags |= (uint32_t)ns[i].flag;
    }
    return flags;
}

static void create_ready(void *userdata, int r, const struct err *e)
{
    struct container *c = userdata;
    if (r < 0) {
        /* Leave nothing behind: kill, wait for the exit, remove the cgroup,
         * then answer (check_removed). */
        struct err copy = *e;
        container_done_fn fn = c->done;
        void *ud = c->done_ud;
        c->done = NULL;
        c->removing = true;
        if (c->init)
            process_signal(c->init, SIGKILL);
        if (c->cg)
            cgroup_kill_all(c->cg);
        /* Answer now with the error; cleanup completes in the background
         * (the id stays taken until then). */
        if (fn)
            fn(ud, r, &copy);
        check_removed(c);
        return;
    }
    c->state = ST_CREATED;
    c->ns_flags = ns_flags_of(process_pid(c->init));
    arm_oom(c);
    finish(c, 0, NULL);
}

/* The pod's UTS namespace is the agent's own (CreateSandbox named it), and
 * every container of the pod shares it, the sandbox (pause) container
 * included, so that `hostname` agrees across the pod: as Kata's agent
 * points every UTS entry at its sandbox namespace. A path (CRI's, a host
 * path meaningless in the guest) always means the pod's; an entry without
 * one means it once a sandbox exists, and a namespace of the container's
 * own, named by oci.Hostname, only for a container outside any sandbox. */
static uint32_t pod_namespaces(const struct agent *a, const struct oci_spec *s)
{
    const struct oci_namespace *uts = oci_spec_namespace(s, CLONE_NEWUTS);
    return uts && (uts->path || a->sandbox_created) ? CLONE_NEWUTS : 0;
}

static int validate_spec(const struct oci_spec *s, struct err *e)
{
    int r;
    if (!oci_spec_namespace(s, CLONE_NEWNS))
        return err_set(e, -EINVAL, "oci.Linux.Namespaces: a mount namespace is required");
    if (s->root_path[0] != '/')
        return err_set(e, -EINVAL, "oci.Root.Path: \"%s\" is not an absolute path", s->root_path);
    struct stat st;
    if (stat(s->root_path, &st) < 0 || !S_ISDIR(st.st_mode))
        return err_set(e, -EINVAL, "oci.Root.Path: \"%s\" is not a directory", s->root_path);
    const struct oci_namespace *u = oci_spec_namespace(s, CLONE_NEWUSER);
    if (u && !u->path && (s->n_uid_map == 0 || s->n_gid_map == 0))
        return err_set(e, -EINVAL, "oci.Linux.UIDMappings: a new user namespace needs id mappings");
    for (size_t i = 0; i < s->n_mounts; i++)
        if (!mounts_type_known(s->mounts[i].type))
            return err_set(e, -EINVAL, "oci.Mounts[%zu].type: unknown type \"%s\"", i,
                           s->mounts[i].type);
    if ((r = process_setup_validate(&s->process, e)) < 0)
        return r;
    if (s->seccomp && (r = seccomp_filter_validate(s->seccomp, e)) < 0)
        return r;
    return 0;
}

int container_create(struct agent *a, const char *id, const char *exec_id, struct oci_spec *spec,
                     void *blob, size_t blob_size, container_done_fn done, void *userdata,
                     struct err *e)
{
    _cleanup_free_ void *blob_owned = blob;
    _cleanup_oci_spec_ struct oci_spec *spec_owned = spec;
    int r;

    if ((r = validate_id(id, e)) < 0)
        return r;
    if (agent_container(a, id))
        return err_set(e, -EEXIST, "container_id: container %s already exists", id);
    if (a->n_containers >= AGENT_MAX_CONTAINERS)
        return err_set(e, -ENOBUFS, "too many containers (%d)", AGENT_MAX_CONTAINERS);
    if ((r = validate_spec(spec, e)) < 0)
        return r;

    struct container *c = xnew(struct container, 1);
    c->agent = a;
    c->id = xstrdup(id);
    c->oom_fd = -1;
    list_init(&c->execs);
    list_append(&a->containers, &c->node);
    a->n_containers++;
    c->spec = TAKE_PTR(spec_owned);
    c->blob = TAKE_PTR(blob_owned);
    c->blob_size = blob_size;

    char path[300];
    if (c->spec->cgroups_path)
        snprintf(path, sizeof(path), "%s", c->spec->cgroups_path);
    else
        snprintf(path, sizeof(path), "/kata_agent/%s", id);
    r = cgroup_create(path, c->spec->has_resources ? &c->spec->resources : NULL, &c->cg, e);
    if (r < 0)
        goto fail;

    struct process_spawn_opts o = {
        .mode = INIT_MODE_CREATE,
        .spec_blob = c->blob,
        .spec_size = c->blob_size,
        .spec = c->spec,
        .cgroup = c->cg,
        .join_pidfd = -1,
        .pod_flags = pod_namespaces(a, c->spec),
        .tty = c->spec->process.terminal,
        .rows = c->spec->process.rows,
        .cols = c->spec->process.cols,
    };
    r = process_spawn(a, exec_id && *exec_id ? exec_id : id, &o, create_ready, c, &c->init, e);
    if (r < 0)
        goto fail;
    process_on_exit(c->init, process_gone, c);
    c->done = done;
    c->done_ud = userdata;
    return 0;
fail:
    container_free(c);
    return r;
}

static void start_done(void *userdata, int r, const struct err *e)
{
    struct container *c = userdata;
    if (r == 0)
        c->state = ST_RUNNING;
    finish(c, r, e);
}

int container_start(struct container *c, container_done_fn done, void *userdata, struct err *e)
{
    if (c->state != ST_CREATED || c->removing || c->done)
        return err_set(e, -EBUSY, "container %s is not in the created state", c->id);
    int r = process_start(c->init, start_done, c);
    if (r < 0)
        return err_set(e, r, "container %s: cannot start the init process", c->id);
    c->done = done;
    c->done_ud = userdata;
    return 0;
}

struct process *container_process(struct container *c, const char *exec_id)
{
    if (!exec_id || !*exec_id || strcmp(exec_id, process_exec_id(c->init)) == 0 ||
        strcmp(exec_id, c->id) == 0)
        return c->init;
    struct list_node *n, *t;
    list_for_each_safe(n, t, &c->execs)
    {
        struct process *p = process_from_node(n);
        if (strcmp(process_exec_id(p), exec_id) == 0)
            return p;
    }
    return NULL;
}

struct exec_req {
    struct container *c;
    struct process *p;
    container_done_fn done;
    void *userdata;
};

static void exec_ready(void *userdata, int r, const struct err *e)
{
    struct exec_req *x = userdata;
    if (r < 0) {
        /* A failed exec leaves nothing: the helper was killed. */
        x->c->n_execs--;
        process_free(x->p);
    }
    x->done(x->userdata, r, e);
    free(x);
}

static void exec_gone(struct process *p, void *userdata)
{
    struct container *c = userdata;
    /* Last thing the process does with itself: it may go now. */
    if (process_waited(p) && !c->removing)
        container_reap_exec(c, p);
    check_removed(c);
}

int container_exec(struct container *c, const char *exec_id, void *blob, size_t blob_size,
                   bool tty, unsigned rows, unsigned cols, container_done_fn done,
                   void *userdata, struct err *e)
{
    _cleanup_free_ _unused_ void *owned = blob; /* copied into the helper config */
    if (!exec_id || !*exec_id)
        return err_set(e, -EINVAL, "exec_id: missing");
    struct process *old = container_process(c, exec_id);
    if (old && old != c->init && process_exited(old) && process_waited(old)) {
        /* Kept only for output nobody read to the end: a new exec under
         * the same id says its client has moved on. */
        c->n_execs--;
        process_free(old);
        old = NULL;
    }
    if (old)
        return err_set(e, -EEXIST, "exec_id: process %s already exists in container %s",
                       exec_id, c->id);
    if (c->state != ST_RUNNING || c->removing || process_exited(c->init))
        return err_set(e, -EBUSY, "container %s is not running", c->id);
    if (c->n_execs >= CONTAINER_MAX_EXECS)
        return err_set(e, -ENOBUFS, "container %s: too many exec processes", c->id);
    struct process_spawn_opts o = {
        .mode = INIT_MODE_EXEC,
        .spec_blob = blob,
        .spec_size = blob_size,
        .cgroup = c->cg,
        .join_pidfd = process_pidfd(c->init),
        .join_flags = c->ns_flags,
        .tty = tty,
        .rows = rows,
        .cols = cols,
    };
    struct exec_req *x = xnew(struct exec_req, 1);
    int r = process_spawn(c->agent, exec_id, &o, exec_ready, x, &x->p, e);
    if (r < 0) {
        free(x);
        return r;
    }
    x->c = c;
    x->done = done;
    x->userdata = userdata;
    list_append(&c->execs, process_node(x->p));
    c->n_execs++;
    process_on_exit(x->p, exec_gone, c);
    return 0;
}

static void exec_release(struct process *p, void *userdata)
{
    struct container *c = userdata;
    c->n_execs--;
    process_free(p);
}

void container_reap_exec(struct container *c, struct process *p)
{
    if (p == c->init || !process_exited(p) || !process_waited(p))
        return;
    /* Its exit was reported, but a ReadStdout/ReadStderr may still be on
     * its way: the process (and its pipes) stay until its output was read
     * to EOF, so no tail of the output is lost. */
    process_release(p, EXEC_GRACE_NS, exec_release, c);
}

int container_signal(struct container *c, const char *exec_id, int signo, struct err *e)
{
    struct process *p = container_process(c, exec_id);
    if (!p)
        return err_set(e, -ENOENT, "exec_id: no process %s in container %s", exec_id, c->id);
    if (signo <= 0 || signo >= 65)
        return err_set(e, -EINVAL, "signal: %d is not a signal", signo);
    /* SIGKILL with no exec id: every process of the container (Kata). */
    if (p == c->init && (!exec_id || !*exec_id) && signo == SIGKILL && c->cg)
        cgroup_kill_all(c->cg);
    if (c->paused && (signo == SIGKILL || signo == SIGTERM))
        log_debug("container %s is paused: the signal is delivered on resume", c->id);
    int r = process_signal(p, signo);
    if (r == -ESRCH && process_exited(p))
        return 0; /* already gone: nothing to do, as runc kill --all */
    if (r < 0)
        return err_set(e, r, "cannot signal process %s", exec_id);
    return 0;
}

static void remove_timeout(struct loop_source *s, void *userdata)
{
    struct container *c = userdata;
    (void)s;
    struct err e = ERR_INIT;
    err_set(&e, -ETIMEDOUT, "container %s: processes still running after the timeout", c->id);
    finish(c, e.code, &e);
}

int container_remove(struct container *c, unsigned timeout_s, container_done_fn done,
                     void *userdata, struct err *e)
{
    if (c->done)
        return err_set(e, -EBUSY, "container %s: another operation is in progress", c->id);
    c->removing = true;
    c->oom_src = loop_source_free(c->oom_src);
    c->oom_fd = fd_close(c->oom_fd);
    if (c->paused && c->cg) {
        /* Frozen tasks cannot die: thaw first (a plain write). */
        cgroup_freeze(c->cg, false);
        c->paused = false;
    }
    if (c->init)
        process_signal(c->init, SIGKILL);
    struct list_node *n, *t;
    list_for_each_safe(n, t, &c->execs) process_signal(process_from_node(n), SIGKILL);
    if (c->cg)
        cgroup_kill_all(c->cg);
    c->done = done;
    c->done_ud = userdata;
    if (timeout_s) {
        c->remove_timer = loop_source_free(c->remove_timer);
        loop_add_timer(c->agent->loop, loop_now() + (uint64_t)timeout_s * 1000 * MS,
                       remove_timeout, c, &c->remove_timer);
    }
    /* Answer from a later iteration even when nothing is left to wait for:
     * the reaper or the retry timer calls check_removed(). */
    if (!c->retry_timer)
        loop_add_timer(c->agent->loop, loop_now() + 1, retry_rmdir, c, &c->retry_timer);
    return 0;
}

struct pause_job {
    struct container *c;
    bool pause;
    int r;
    container_done_fn done;
    void *userdata;
};

static void pause_work(void *userdata)
{
    struct pause_job *j = userdata;
    j->r = cgroup_freeze(j->c->cg, j->pause);
}

static void pause_done(void *userdata)
{
    struct pause_job *j = userdata;
    struct container *c = j->c;
    struct err e = ERR_INIT;
    c->jobs--;
    if (j->r == 0)
        c->paused = j->pause;
    else
        err_set(&e, j->r, "container %s: cannot %s the freezer", c->id,
                j->pause ? "engage" : "release");
    j->done(j->userdata, j->r, &e);
    free(j);
    check_removed(c);
}

int container_pause(struct container *c, bool pause, container_done_fn done, void *userdata,
                    struct err *e)
{
    if (c->removing || c->state != ST_RUNNING)
        return err_set(e, -EBUSY, "container %s is not running", c->id);
    if (c->paused == pause)
        return err_set(e, -EBUSY, "container %s is %s paused", c->id, pause ? "already" : "not");
    struct pause_job *j = xnew(struct pause_job, 1);
    *j = (struct pause_job){c, pause, 0, done, userdata};
    int r = workpool_submit(c->agent->pool, pause_work, pause_done, j);
    if (r < 0) {
        free(j);
        return err_set(e, r, "cannot queue the freezer work");
    }
    c->jobs++;
    return 0;
}

int container_update(struct container *c, const struct oci_resources *res, struct err *e)
{
    if (c->removing || c->state == ST_STOPPED)
        return err_set(e, -EBUSY, "container %s is not running", c->id);
    return cgroup_update(c->cg, res, e);
}

int container_stats(struct container *c, struct cgroup_stats *ret, struct err *e)
{
    int r = cgroup_stats(c->cg, ret);
    return r < 0 ? err_set(e, r, "container %s: cannot read the cgroup", c->id) : 0;
}

void container_destroy_now(struct container *c)
{
    if (c->paused && c->cg)
        cgroup_freeze(c->cg, false);
    /* The processes die asynchronously after SIGKILL and a cgroup with
     * members cannot be removed: give them a bounded moment (this runs
     * only at DestroySandbox and agent exit) so no cgroup is left behind. */
    if (c->cg && cgroup_kill_all(c->cg) > 0)
        for (int i = 0; i < 400 && !cgroup_is_empty(c->cg); i++)
            usleep(5000);
    c->done = NULL;
    container_free(c);
}

const char *container_id(const struct container *c)
{
    return c->id;
}

const void *container_spec_blob(const struct container *c, size_t *ret_size)
{
    *ret_size = c->blob_size;
    return c->blob;
}

struct container *container_from_node(struct list_node *n)
{
    return list_entry(n, struct container, node);
}
