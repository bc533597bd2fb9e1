/* Containers: Create (configuration and bundle read on the workpool, the
 * sandbox joined, the rootfs mounted into the shared folder, the spec
 * rewritten for the guest, CreateContainer), Delete, Exec, Pause/Resume,
 * Update and Stats. See container.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/agent_spec.h"
#include "shim/bundle.h"
#include "shim/container-internal.h"
#include "shim/events.h"
#include "shim/hooks.h"
#include "shim/sandbox.h"
#include "shim/shim.h"

void container_publish(struct shim *shim, int kind, const struct events_task *t)
{
    if (shim->events)
        events_publish(shim->events, (enum events_kind)kind, t);
}

static bool valid_id(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n < 256 && !strchr(id, '/') && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* containerd's identifier rule (its tasks service applies it to exec ids
 * too): runs of letters and digits joined by single '.', '_' or '-', at
 * most 76 bytes. Exec ids reach log lines and events, so the shim checks
 * again rather than trusting every client of its socket. */
#define EXEC_ID_MAX 76

static const char *exec_id_problem(const char *id)
{
    size_t n = strlen(id);
    bool sep_ok = false;

    if (n == 0)
        return "empty";
    if (n > EXEC_ID_MAX)
        return "longer than 76 bytes";
    for (const char *q = id; *q; q++) {
        bool alnum = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                     (*q >= '0' && *q <= '9');
        if (alnum) {
            sep_ok = true;
        } else if ((*q == '.' || *q == '_' || *q == '-') && sep_ok && q[1]) {
            sep_ok = false;
        } else {
            return "only letters and digits, joined by single '.', '_' or '-', are allowed";
        }
    }
    return NULL;
}

/* A version 4 UUID, the form Kata's runtime gives the agent. */
static int random_uuid(char buf[37])
{
    uint8_t b[16];

    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        return -EIO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(buf, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return 0;
}

static void list_remove(struct container **head, struct container *c)
{
    for (struct container **pp = head; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->next = NULL;
            return;
        }
}

static void container_free(struct container *c)
{
    if (!c)
        return;
    process_free(c->init);
    while (c->execs) {
        struct process *p = c->execs;
        c->execs = p->next;
        process_free(p);
    }
    for (size_t i = 0; i < c->n_rootfs; i++) {
        free((char *)c->rootfs[i].type);
        free((char *)c->rootfs[i].source);
        for (const char *const *o = c->rootfs[i].options; o && *o; o++)
            free((char *)*o);
        free((void *)c->rootfs[i].options);
    }
    free(c->rootfs);
    free(c->pending_cfg);
    hooks_unref(c->hooks);
    free(c);
}

void container_destroy(struct container *c)
{
    container_free(c);
}

struct container *container_find(struct shim *shim, const char *id)
{
    for (struct container *c = shim->pending; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    for (struct container *c = shim->sandbox ? shim->sandbox->containers : NULL; c; c = c->next)
        if (strcmp(c->id, id) == 0)
            return c;
    return NULL;
}

unsigned container_count(const struct shim *shim)
{
    unsigned n = 0;

    for (struct container *c = shim->pending; c; c = c->next)
        n++;
    for (struct container *c = shim->sandbox ? shim->sandbox->containers : NULL; c; c = c->next)
        n++;
    return n;
}

struct process *container_process(struct container *c, const char *exec_id)
{
    if (!exec_id || !*exec_id)
        return c->state == CTR_CREATING ? NULL : c->init;
    for (struct process *p = c->execs; p; p = p->next)
        if (strcmp(p->exec_id, exec_id) == 0)
            return p;
    return NULL;
}

/* ---- create ---- */

struct cjob {
    struct container *c;
    struct shim *shim;
    char config_path[PATH_MAX];
    struct bundle_info info;
    struct runtime_config *cfg;
    char sandbox_id[256];
    bool guest_sees_host;
    bool mounted;
    struct agent_spec *spec;
    struct hooks *hooks;
    struct err e;
    int r;
};

static void cjob_free(struct cjob *j)
{
    free(j->cfg);
    hooks_unref(j->hooks);
    agent_spec_free(j->spec);
    free(j);
}

/* Finishes a failed Create: undo the rootfs, then the poststop hooks when
 * the create hooks ran (c->hooks is set once they did), as runc does. */
static void umount_work(void *ud)
{
    struct cjob *j = ud;
    struct err e = ERR_INIT;

    if (j->c->rootfs_mounted &&
        share_umount_rootfs(j->sandbox_id, j->c->id, j->c->bundle, &e) < 0)
        log_warn("container %s: %s", j->c->id, err_msg(&e));
    hooks_run_poststop(j->c->hooks);
}

/* Create is answered only once the container is gone, so that the Delete
 * and Shutdown containerd sends next find nothing left and the shim exits. */
static void fail_done(void *ud)
{
    struct cjob *j = ud;
    struct container *c = j->c;
    container_created_fn fn = c->created_fn;
    void *fn_ud = c->created_ud;

    if (c->sb)
        sandbox_detach(c->sb, c);
    container_free(c);
    fn(fn_ud, j->r, err_msg(&j->e), 0);
    cjob_free(j);
}

static void container_fail(struct container *c, int code, const char *msg)
{
    struct cjob *j = xnew(struct cjob, 1);
    struct shim *shim = c->sb ? c->sb->shim : NULL;

    log_error("create %s: %s", c->id, msg);
    j->r = code;
    err_set(&j->e, code, "%s", msg);
    j->c = c;
    if (c->sb)
        snprintf(j->sandbox_id, sizeof(j->sandbox_id), "%s", c->sb->id);
    if ((c->rootfs_mounted || c->hooks) && shim &&
        workpool_submit(shim->pool, umount_work, fail_done, j) >= 0)
        return;
    if (c->rootfs_mounted || c->hooks)
        umount_work(j); /* the pool is gone: the exit path blocks anyway */
    fail_done(j);
}

void container_sandbox_failed(struct container *c, int code, const char *msg)
{
    container_fail(c, code, msg);
}

static void create_done(const struct agent_reply *r, void *ud)
{
    struct container *c = ud;
    struct events_task ev = {0};

    if (r->code < 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "CreateContainer: %s", r->msg);
        container_fail(c, r->code, msg);
        return;
    }
    c->state = CTR_READY;
    process_started(c->init);
    ev.container_id = c->id;
    ev.bundle = c->bundle;
    ev.stdin_path = c->init->stdin_path;
    ev.stdout_path = c->init->stdout_path;
    ev.stderr_path = c->init->stderr_path;
    ev.terminal = c->init->terminal;
    ev.pid = process_pid(c->init);
    container_publish(c->sb->shim, EVENTS_TASK_CREATE, &ev);
    log_info("container %s created in sandbox %s", c->id, c->sb->id);
    c->created_fn(c->created_ud, 0, "", ev.pid);
}

/* agent_spec_share_binds() callback, on the worker. */
static int share_bind(const char *source, const char *destination, bool readonly, char *guest,
                      size_t size, void *ud)
{
    struct cjob *j = ud;
    struct err e = ERR_INIT;
    int r = share_bind_volume(j->sandbox_id, j->c->id, source, destination, readonly, guest,
                              size, &e);

    if (r == -ENOENT || r == -EINVAL) {
        log_warn("container %s: mount %s dropped: %s", j->c->id, destination, err_msg(&e));
        return 0;
    }
    if (r < 0) {
        j->e = e;
        return r;
    }
    return 1;
}

static void mount_work(void *ud)
{
    struct cjob *j = ud;
    struct container *c = j->c;
    char guest_root[PATH_MAX];

    j->r = share_mount_rootfs(j->sandbox_id, c->id, c->bundle, c->rootfs, c->n_rootfs, &j->e);
    if (j->r < 0)
        return;
    j->mounted = true;
    j->r = share_guest_rootfs(j->sandbox_id, c->id, j->guest_sees_host, guest_root,
                              sizeof(guest_root));
    if (j->r < 0) {
        err_set(&j->e, j->r, "guest rootfs path too long");
        return;
    }
    j->r = agent_spec_load(c->config_json, c->id, guest_root, &j->spec, &j->e);
    if (j->r < 0 || j->guest_sees_host)
        return;
    /* Host binds (CRI's /etc/hosts, resolv.conf, volumes) cross virtio-fs. */
    j->r = agent_spec_share_binds(j->spec, share_bind, j);
    if (j->r > 0)
        log_info("container %s: %d bind mount(s) shared with the guest", c->id, j->r);
}

static void mount_done(void *ud)
{
    struct cjob *j = ud;
    struct container *c = j->c;
    int r;

    c->rootfs_mounted = j->mounted;
    if (j->r < 0) {
        container_fail(c, j->r, err_msg(&j->e));
        cjob_free(j);
        return;
    }
    agent_spec_guest_seccomp(j->spec, c->sb->cfg.guest_seccomp);
    if (c->sb->ac)
        agent_client_set_create_timeout(c->sb->ac, c->sb->cfg.create_container_timeout_ns);
    r = agent_create_container(c->sb->ac, c->id, TAKE_PTR(j->spec), create_done, c, NULL);
    cjob_free(j);
    if (r < 0)
        container_fail(c, r, "CreateContainer: the agent is not connected");
}

void container_sandbox_ready(struct container *c)
{
    struct cjob *j = xnew(struct cjob, 1);
    int r;

    j->c = c;
    snprintf(j->sandbox_id, sizeof(j->sandbox_id), "%s", c->sb->id);
    j->guest_sees_host = sandbox_guest_sees_host(c->sb);
    r = workpool_submit(c->sb->shim->pool, mount_work, mount_done, j);
    if (r < 0) {
        cjob_free(j);
        container_fail(c, r, "cannot queue the rootfs mount");
    }
}

static void prep_work(void *ud)
{
    struct cjob *j = ud;
    struct container *c = j->c;

    j->r = bundle_classify(c->bundle, c->id, &j->info, &j->e);
    if (j->r < 0)
        return;
    j->cfg = xnew(struct runtime_config, 1);
    j->r = runtime_config_load(j->config_path, c->config_json, j->cfg, &j->e);
    /* Host hooks run before the guest sees the container, as in Kata. */
    if (j->r >= 0)
        j->r = hooks_load(c->config_json, c->id, c->bundle, &j->hooks, &j->e);
    if (j->r >= 0)
        j->r = hooks_run_create(j->hooks, &j->e);
}

static void prep_done(void *ud)
{
    struct cjob *j = ud;
    struct container *c = j->c;
    char msg[256];
    int r;

    list_remove(&j->shim->pending, c);
    if (j->r < 0) {
        container_fail(c, j->r, err_msg(&j->e));
        cjob_free(j);
        return;
    }
    c->hooks = TAKE_PTR(j->hooks);
    r = sandbox_attach(j->shim, c, j->info.sandbox_id, TAKE_PTR(j->cfg), msg, sizeof(msg));
    cjob_free(j);
    if (r < 0)
        container_fail(c, r, msg);
}

static void copy_rootfs(struct container *c, const struct share_mount *m, size_t n)
{
    c->rootfs = xnew(struct share_mount, n ? n : 1);
    c->n_rootfs = n;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (m[i].options && m[i].options[k])
            k++;
        const char **opts = xnew(const char *, k + 1);
        for (size_t o = 0; o < k; o++)
            opts[o] = xstrdup(m[i].options[o]);
        c->rootfs[i].type = xstrdup(m[i].type ? m[i].type : "");
        c->rootfs[i].source = xstrdup(m[i].source ? m[i].source : "");
        c->rootfs[i].options = opts;
    }
}

int container_create(struct shim *shim, const struct container_params *p,
                     container_created_fn fn, void *ud, struct err *e)
{
    struct container *c;
    struct cjob *j;
    int r;

    if (!valid_id(p->id))
        return err_set(e, -EINVAL, "invalid container id \"%s\"", p->id);
    if (!p->bundle || p->bundle[0] != '/')
        return err_set(e, -EINVAL, "create %s: the bundle must be an absolute path", p->id);
    if (container_find(shim, p->id))
        return err_set(e, -EEXIST, "container %s already exists", p->id);
    if (shim->exiting)
        return err_set(e, -ESHUTDOWN, "create %s: the shim is shutting down", p->id);
    c = xnew(struct container, 1);
    snprintf(c->id, sizeof(c->id), "%s", p->id);
    snprintf(c->bundle, sizeof(c->bundle), "%s", p->bundle);
    if (snprintf(c->config_json, sizeof(c->config_json), "%s/config.json", p->bundle) >=
        (int)sizeof(c->config_json)) {
        free(c);
        return err_set(e, -ENAMETOOLONG, "create %s: bundle path too long", p->id);
    }
    copy_rootfs(c, p->rootfs, p->n_rootfs);
    c->init = process_new(c, "", p->stdin_path, p->stdout_path, p->stderr_path, p->terminal);
    c->created_fn = fn;
    c->created_ud = ud;
    j = xnew(struct cjob, 1);
    j->c = c;
    j->shim = shim;
    snprintf(j->config_path, sizeof(j->config_path), "%s", p->config_path ? p->config_path : "");
    r = workpool_submit(shim->pool, prep_work, prep_done, j);
    if (r < 0) {
        free(j);
        container_free(c);
        return err_set(e, r, "create %s: %s", p->id, strerror(-r));
    }
    c->next = shim->pending;
    shim->pending = c;
    return 0;
}

/* ---- delete ---- */

struct djob {
    struct container *c;
    container_deleted_fn fn;
    void *ud;
    char sandbox_id[256];
    struct err e;
};

static void delete_umount_work(void *ud)
{
    struct djob *j = ud;

    if (j->c->rootfs_mounted &&
        share_umount_rootfs(j->sandbox_id, j->c->id, j->c->bundle, &j->e) < 0)
        log_warn("delete %s: %s", j->c->id, err_msg(&j->e));
    struct err he = ERR_INIT;
    if (hooks_run(j->c->hooks, HOOKS_POSTSTOP, &he) < 0)
        log_warn("delete %s: %s (ignored)", j->c->id, err_msg(&he));
}

/* The pod's sandbox container was deleted while other containers remain
 * (CRI deletes it last; another client may not): the pod is over, and the
 * VM stops now, as Kata stops it with the sandbox container. Killing the
 * VMM and dropping the agent connection runs the sandbox's VM-death path:
 * every remaining process ends with 255 and a TaskExit; their Deletes then
 * only clean the host, and the last one removes the VM's state. */
static void stop_pod_vm(struct sandbox *sb)
{
    log_info("sandbox %s: its sandbox container is deleted: stopping the VM", sb->id);
    if (sb->vmm_pidfd >= 0 && syscall(SYS_pidfd_send_signal, sb->vmm_pidfd, SIGKILL, NULL, 0) < 0)
        log_warn("sandbox %s: kill the VMM: %s", sb->id, strerror(errno));
    agent_client_disconnect(sb->ac);
}

static void delete_finish(void *ud)
{
    struct djob *j = ud;
    struct container *c = j->c;
    struct process_info info;
    struct events_task ev = {0};
    struct sandbox *sb = c->sb;
    bool pod_over = strcmp(c->id, sb->id) == 0 && (sb->containers != c || c->next);

    process_info(c->init, &info);
    if (info.exited_at.tv_sec == 0) {
        /* Never ran: reported as killed, now (runc and Kata do the same). */
        info.exit_status = 128 + 9;
        clock_gettime(CLOCK_REALTIME, &info.exited_at);
    }
    ev.container_id = c->id;
    ev.pid = info.pid;
    ev.exit_status = info.exit_status;
    ev.at = info.exited_at;
    container_publish(sb->shim, EVENTS_TASK_DELETE, &ev);
    log_info("container %s deleted", c->id);
    j->fn(j->ud, 0, "", &info);
    sandbox_detach(sb, c);
    container_free(c);
    free(j);
    if (pod_over)
        stop_pod_vm(sb);
}

static void remove_done(const struct agent_reply *r, void *ud)
{
    struct djob *j = ud;

    if (r->code < 0)
        log_warn("delete %s: RemoveContainer: %s", j->c->id, r->msg);
    if (workpool_submit(j->c->sb->shim->pool, delete_umount_work, delete_finish, j) < 0) {
        delete_umount_work(j);
        delete_finish(j);
    }
}

int container_delete(struct container *c, container_deleted_fn fn, void *ud, struct err *e)
{
    struct process *init = c->init;
    struct djob *j;

    if (c->state == CTR_CREATING)
        return err_set(e, -EBUSY, "delete %s: still being created", c->id);
    if (c->state == CTR_DELETING)
        return err_set(e, -EBUSY, "delete %s: already being deleted", c->id);
    if (init->state == PROC_RUNNING || init->state == PROC_STARTING)
        return err_set(e, -EBUSY, "delete %s: the task is running", c->id);
    for (struct process *p = c->execs; p; p = p->next)
        process_force_exit(p, 128 + 9);
    if (init->state != PROC_STOPPED) {
        agent_op_cancel(init->wait_op);
        init->wait_op = NULL;
    }
    c->state = CTR_DELETING;
    j = xnew(struct djob, 1);
    *j = (struct djob){.c = c, .fn = fn, .ud = ud};
    snprintf(j->sandbox_id, sizeof(j->sandbox_id), "%s", c->sb->id);
    if (agent_remove_container(c->sb->ac, c->id, remove_done, j, NULL) < 0) {
        struct agent_reply r = {.code = -ENOTCONN, .msg = "the agent is not connected"};
        remove_done(&r, j);
    }
    return 0;
}

/* ---- exec ---- */

int container_exec(struct container *c, const char *exec_id, bool terminal,
                   const char *stdin_path, const char *stdout_path, const char *stderr_path,
                   struct agent_json *spec, struct err *e)
{
    struct process *p;
    struct events_task ev = {0};
    const char *bad = exec_id ? exec_id_problem(exec_id) : "missing";
    char agent_id[37];

    if (bad) {
        agent_json_free(spec);
        /* Not echoed: it may hold anything, newlines included. */
        return err_set(e, -EINVAL, "exec in %s: exec_id: %s", c->id, bad);
    }
    if (c->state != CTR_READY || c->init->state != PROC_RUNNING) {
        agent_json_free(spec);
        return err_set(e, -EBUSY, "exec %s in %s: the container is not running", exec_id, c->id);
    }
    if (container_process(c, exec_id)) {
        agent_json_free(spec);
        return err_set(e, -EEXIST, "exec %s already exists in %s", exec_id, c->id);
    }
    if (random_uuid(agent_id) < 0) {
        agent_json_free(spec);
        return err_set(e, -EIO, "exec %s in %s: no random bytes for its agent id", exec_id,
                       c->id);
    }
    p = process_new(c, exec_id, stdin_path, stdout_path, stderr_path, terminal);
    snprintf(p->agent_exec_id, sizeof(p->agent_exec_id), "%s", agent_id);
    log_debug("container %s: exec %s is %s in the agent", c->id, exec_id, agent_id);
    p->exec_spec = spec;
    p->next = c->execs;
    c->execs = p;
    ev.container_id = c->id;
    ev.exec_id = exec_id;
    container_publish(c->sb->shim, EVENTS_TASK_EXEC_ADDED, &ev);
    return 0;
}

int container_delete_exec(struct container *c, const char *exec_id, struct process_info *ret,
                          struct err *e)
{
    for (struct process **pp = &c->execs; *pp; pp = &(*pp)->next) {
        struct process *p = *pp;
        if (strcmp(p->exec_id, exec_id) != 0)
            continue;
        if (p->state == PROC_RUNNING || p->state == PROC_STARTING)
            return err_set(e, -EBUSY, "delete exec %s: still running", exec_id);
        process_info(p, ret);
        ret->exec_id = ""; /* p is freed below */
        ret->bundle = c->bundle;
        ret->stdin_path = ret->stdout_path = ret->stderr_path = "";
        *pp = p->next;
        process_free(p);
        return 0;
    }
    return err_set(e, -ENOENT, "exec %s not found in %s", exec_id, c->id);
}

/* ---- pause, update, stats ---- */

struct creq {
    struct container *c;
    bool pause;
    container_done_fn fn;
    void *ud;
};

static void pause_done(const struct agent_reply *r, void *ud)
{
    struct creq *q = ud;
    struct events_task ev = {.container_id = q->c->id};

    if (r->code == 0) {
        q->c->paused = q->pause;
        container_publish(q->c->sb->shim, q->pause ? EVENTS_TASK_PAUSED : EVENTS_TASK_RESUMED,
                          &ev);
    }
    q->fn(q->ud, r->code, r->msg);
    free(q);
}

static void plain_done(const struct agent_reply *r, void *ud)
{
    struct creq *q = ud;

    q->fn(q->ud, r->code, r->msg);
    free(q);
}

static int ready_or_fail(const struct container *c, const char *what, struct err *e)
{
    if (c->state != CTR_READY)
        return err_set(e, -EBUSY, "%s %s: the container is not ready", what, c->id);
    if (!agent_client_connected(c->sb->ac))
        return err_set(e, -ENOTCONN, "%s %s: the sandbox agent is not connected", what, c->id);
    return 0;
}

int container_pause(struct container *c, bool pause, container_done_fn fn, void *ud,
                    struct err *e)
{
    struct creq *q;
    int r = ready_or_fail(c, pause ? "pause" : "resume", e);

    if (r < 0)
        return r;
    q = xnew(struct creq, 1);
    *q = (struct creq){c, pause, fn, ud};
    r = agent_pause_container(c->sb->ac, c->id, pause, pause_done, q, NULL);
    if (r < 0) {
        free(q);
        return err_set(e, r, "pause %s: %s", c->id, strerror(-r));
    }
    return 0;
}

int container_update(struct container *c, struct agent_json *resources, container_done_fn fn,
                     void *ud, struct err *e)
{
    struct creq *q;
    int r = ready_or_fail(c, "update", e);

    if (r < 0) {
        agent_json_free(resources);
        return r;
    }
    q = xnew(struct creq, 1);
    *q = (struct creq){c, false, fn, ud};
    r = agent_update_container(c->sb->ac, c->id, resources, plain_done, q, NULL);
    if (r < 0) {
        free(q);
        return err_set(e, r, "update %s: %s", c->id, strerror(-r));
    }
    return 0;
}

int container_stats(struct container *c, void (*fn)(const struct agent_reply *r, void *ud),
                    void *ud, struct err *e)
{
    int r = ready_or_fail(c, "stats", e);

    if (r < 0)
        return r;
    r = agent_stats_container(c->sb->ac, c->id, fn, ud, NULL);
    if (r < 0)
        return err_set(e, r, "stats %s: %s", c->id, strerror(-r));
    return 0;
}
