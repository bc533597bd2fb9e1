/* containerd.task.v2.Task glue; see task_service.h. */
#include "shim/task_service.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>
#include <stdlib.h>

#include "containerd/runtimeoptions/v1/api.pb-c.h"
#include "containerd/task/v2/shim.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"
#include "shim/agent_client.h"
#include "shim/agent_spec.h"
#include "shim/container.h"
#include "shim/io_uri.h"
#include "shim/share.h"
#include "shim/shim.h"
#include "shim/task_stats.h"

#define V3_SERVICE "containerd.task.v3.Task"


enum task_method {
    M_STATE, M_CREATE, M_START, M_DELETE, M_PIDS, M_PAUSE, M_RESUME, M_CHECKPOINT, M_KILL,
    M_EXEC, M_RESIZE_PTY, M_CLOSE_IO, M_UPDATE, M_WAIT, M_STATS, M_CONNECT, M_SHUTDOWN,
    M_COUNT,
};

int task_service_pack_delete_response(uint32_t pid, uint32_t exit_status,
                                      const struct timespec *exited_at, uint8_t *buf,
                                      size_t size)
{
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

    ts.seconds = exited_at->tv_sec;
    ts.nanos = (int32_t)exited_at->tv_nsec;
    resp.pid = pid;
    resp.exit_status = exit_status;
    resp.exited_at = &ts;
    if (protobuf_c_message_get_packed_size(&resp.base) > size)
        return -ENOSPC;
    return (int)protobuf_c_message_pack(&resp.base, buf);
}

static void reply_empty(struct ttrpc_call *call)
{
    Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
    ttrpc_call_reply(call, &empty.base);
}

static void handle_connect(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
    struct shim *shim = ud;

    (void)request;
    resp.shim_pid = (uint32_t)getpid();
    resp.task_pid = shim_task_pid(shim);
    resp.version = (char *)SHIM_VERSION;
    ttrpc_call_reply(call, &resp.base);
}

static void handle_shutdown(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    const Containerd__Task__V2__ShutdownRequest *req =
        (const Containerd__Task__V2__ShutdownRequest *)request;
    struct shim *shim = ud;

    /* Kata and runc: keep serving while any container remains. Decide
     * before replying: the reply frees the request. */
    bool exit_now = shim_container_count(shim) == 0 || req->now;

    if (!exit_now)
        log_debug("shutdown %s: %u containers remain", req->id, shim_container_count(shim));
    reply_empty(call);
    if (exit_now)
        shim_request_exit(shim, 0);
}

static void handle_checkpoint(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    (void)request;
    (void)ud;
    ttrpc_call_fail(call, TTRPC_UNIMPLEMENTED,
                    "checkpoint is not supported by containerd-shim-kata-v2 (VM sandboxes)");
}

/* ---- helpers ---- */

#define REQ(type, name) const type *name = (const type *)request

static void fail_err(struct ttrpc_call *call, const struct err *e)
{
    ttrpc_call_fail_errno(call, e->code, "%s", err_msg(e));
}

static void fail_code(struct ttrpc_call *call, int code, const char *msg)
{
    ttrpc_call_fail_errno(call, code, "%s", msg && *msg ? msg : strerror(-code));
}

static struct container *find_or_fail(struct ttrpc_call *call, struct shim *shim, const char *id)
{
    struct container *c = container_find(shim, id);

    if (!c)
        ttrpc_call_fail(call, TTRPC_NOT_FOUND, "container %s: not found", id);
    return c;
}

static struct process *process_or_fail(struct ttrpc_call *call, struct shim *shim,
                                       const char *id, const char *exec_id)
{
    struct container *c = find_or_fail(call, shim, id);
    struct process *p;

    if (!c)
        return NULL;
    p = container_process(c, exec_id);
    if (!p)
        ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process %s of container %s: not found",
                        exec_id && *exec_id ? exec_id : "init", id);
    return p;
}

static void done_empty(void *ud, int code, const char *msg)
{
    if (code < 0)
        fail_code(ud, code, msg);
    else
        reply_empty(ud);
}

/* Runs the result of a domain call: <0 refused, 1 done at once, 0 later. */
static void finish(struct ttrpc_call *call, int r, const struct err *e)
{
    if (r < 0)
        fail_err(call, e);
    else if (r == 1)
        reply_empty(call);
}

static const char *any_json(const Google__Protobuf__Any *any, size_t *ret_len)
{
    if (!any || !any->value.data) {
        *ret_len = 0;
        return NULL;
    }
    *ret_len = any->value.len;
    return (const char *)any->value.data;
}

/* ---- Create, Start, Delete ---- */

static void created(void *ud, int code, const char *msg, uint32_t pid)
{
    Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;

    if (code < 0) {
        fail_code(ud, code, msg);
        return;
    }
    resp.pid = pid;
    ttrpc_call_reply(ud, &resp.base);
}

/* ConfigPath from runtimeoptions.v1.Options (CRI's options table or ctr
 * --runtime-config-path); other option types are ignored. */
static void config_path_from_options(const Google__Protobuf__Any *any, char *buf, size_t size)
{
    const char *url;
    Runtimeoptions__V1__Options *o;

    buf[0] = '\0';
    if (!any || !any->type_url)
        return;
    url = strrchr(any->type_url, '/');
    url = url ? url + 1 : any->type_url;
    if (strcmp(url, "runtimeoptions.v1.Options") != 0)
        return;
    o = runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
    if (!o)
        return;
    snprintf(buf, size, "%s", o->config_path);
    runtimeoptions__v1__options__free_unpacked(o, NULL);
}

static void handle_create(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__CreateTaskRequest, req);
    struct shim *shim = ud;
    struct err e = ERR_INIT;
    char config_path[PATH_MAX];
    struct share_mount *mounts;
    struct container_params p;
    int r;

    if (req->checkpoint && *req->checkpoint) {
        ttrpc_call_fail(call, TTRPC_UNIMPLEMENTED, "create %s: restoring a checkpoint is not "
                                                   "supported by containerd-shim-kata-v2", req->id);
        return;
    }
    if (req->n_rootfs > 64) {
        ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "create %s: too many rootfs mounts", req->id);
        return;
    }
    if (io_uri_check_stdio(req->stdin, req->stdout, req->stderr, req->terminal, &e) < 0) {
        ttrpc_call_fail_errno(call, e.code, "create %s: %s", req->id, err_msg(&e));
        return;
    }
    config_path_from_options(req->options, config_path, sizeof(config_path));
    mounts = xnew(struct share_mount, req->n_rootfs ? req->n_rootfs : 1);
    for (size_t i = 0; i < req->n_rootfs; i++) {
        const Containerd__Types__Mount *m = req->rootfs[i];
        char **opts = xnew(char *, m->n_options + 1);
        if (m->n_options) /* protobuf-c leaves options NULL when there are none */
            memcpy(opts, m->options, m->n_options * sizeof(char *));
        mounts[i] = (struct share_mount){m->type, m->source, (const char *const *)opts};
    }
    p = (struct container_params){
        .id = req->id,
        .bundle = req->bundle,
        .rootfs = mounts,
        .n_rootfs = req->n_rootfs,
        .terminal = req->terminal,
        .stdin_path = req->stdin,
        .stdout_path = req->stdout,
        .stderr_path = req->stderr,
        .config_path = config_path,
    };
    /* container_create() may answer, and so free the request, before it
     * returns: only p.n_rootfs is read below. */
    r = container_create(shim, &p, created, call, &e);
    for (size_t i = 0; i < p.n_rootfs; i++)
        free((void *)mounts[i].options);
    free(mounts);
    if (r < 0)
        fail_err(call, &e);
}

static void started(void *ud, int code, const char *msg, uint32_t pid)
{
    Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;

    if (code < 0) {
        fail_code(ud, code, msg);
        return;
    }
    resp.pid = pid;
    ttrpc_call_reply(ud, &resp.base);
}

static void handle_start(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__StartRequest, req);
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);
    struct err e = ERR_INIT;

    if (p && process_start(p, started, call, &e) < 0)
        fail_err(call, &e);
}

static Google__Protobuf__Timestamp timestamp(const struct timespec *t)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

    ts.seconds = t->tv_sec;
    ts.nanos = (int32_t)t->tv_nsec;
    return ts;
}

static void reply_delete(struct ttrpc_call *call, const struct process_info *info)
{
    Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = timestamp(&info->exited_at);

    resp.pid = info->pid;
    resp.exit_status = info->exit_status;
    resp.exited_at = &ts;
    ttrpc_call_reply(call, &resp.base);
}

static void deleted(void *ud, int code, const char *msg, const struct process_info *info)
{
    if (code < 0)
        fail_code(ud, code, msg);
    else
        reply_delete(ud, info);
}

static void handle_delete(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__DeleteRequest, req);
    struct container *c = find_or_fail(call, ud, req->id);
    struct process_info info;
    struct err e = ERR_INIT;

    if (!c)
        return;
    if (req->exec_id && *req->exec_id) {
        if (container_delete_exec(c, req->exec_id, &info, &e) < 0)
            fail_err(call, &e);
        else
            reply_delete(call, &info);
        return;
    }
    if (container_delete(c, deleted, call, &e) < 0)
        fail_err(call, &e);
}

/* ---- State, Wait, Pids ---- */

static void handle_state(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__StateRequest, req);
    Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);
    struct process_info info;
    Google__Protobuf__Timestamp ts;
    static const Containerd__V1__Types__Status status[] = {
        [PROCESS_CREATED] = CONTAINERD__V1__TYPES__STATUS__CREATED,
        [PROCESS_RUNNING] = CONTAINERD__V1__TYPES__STATUS__RUNNING,
        [PROCESS_STOPPED] = CONTAINERD__V1__TYPES__STATUS__STOPPED,
        [PROCESS_PAUSED] = CONTAINERD__V1__TYPES__STATUS__PAUSED,
    };

    if (!p)
        return;
    process_info(p, &info);
    resp.id = req->id;
    resp.exec_id = req->exec_id;
    resp.bundle = (char *)info.bundle;
    resp.pid = info.pid;
    resp.status = status[info.status];
    resp.stdin = (char *)info.stdin_path;
    resp.stdout = (char *)info.stdout_path;
    resp.stderr = (char *)info.stderr_path;
    resp.terminal = info.terminal;
    if (info.status == PROCESS_STOPPED) {
        ts = timestamp(&info.exited_at);
        resp.exit_status = info.exit_status;
        resp.exited_at = &ts;
    }
    ttrpc_call_reply(call, &resp.base);
}

static void waited(void *ud, uint32_t exit_status, const struct timespec *at)
{
    Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
    Google__Protobuf__Timestamp ts = timestamp(at);

    resp.exit_status = exit_status;
    resp.exited_at = &ts;
    ttrpc_call_reply(ud, &resp.base);
}

static void handle_wait(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__WaitRequest, req);
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);

    if (p)
        process_wait(p, waited, call);
}

static void handle_pids(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__PidsRequest, req);
    Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
    Containerd__V1__Types__ProcessInfo pi = CONTAINERD__V1__TYPES__PROCESS_INFO__INIT;
    Containerd__V1__Types__ProcessInfo *list[] = {&pi};
    struct container *c = find_or_fail(call, ud, req->id);

    if (!c)
        return;
    /* Kata: guest pids are invisible; the VMM stands for the task. */
    pi.pid = shim_task_pid(ud);
    resp.processes = list;
    resp.n_processes = 1;
    ttrpc_call_reply(call, &resp.base);
}

/* ---- Kill, Exec, ResizePty, CloseIO ---- */

static void handle_kill(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__KillRequest, req);
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);
    struct err e = ERR_INIT;

    if (p)
        finish(call, process_kill(p, req->signal, req->all, done_empty, call, &e), &e);
}

static void handle_exec(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__ExecProcessRequest, req);
    struct container *c = find_or_fail(call, ud, req->id);
    struct agent_json *spec = NULL;
    struct err e = ERR_INIT;
    size_t len;
    const char *json = any_json(req->spec, &len);

    if (!c)
        return;
    if (!json) {
        ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "exec %s: no process spec", req->exec_id);
        return;
    }
    if (io_uri_check_stdio(req->stdin, req->stdout, req->stderr, req->terminal, &e) < 0) {
        ttrpc_call_fail_errno(call, e.code, "exec %s: %s", req->exec_id, err_msg(&e));
        return;
    }
    if (agent_json_process(json, len, &spec, &e) < 0 ||
        container_exec(c, req->exec_id, req->terminal, req->stdin, req->stdout, req->stderr, spec,
                       &e) < 0) {
        fail_err(call, &e);
        return;
    }
    reply_empty(call);
}

static void handle_resize_pty(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__ResizePtyRequest, req);
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);
    struct err e = ERR_INIT;

    if (p)
        finish(call, process_resize(p, req->width, req->height, done_empty, call, &e), &e);
}

static void handle_close_io(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__CloseIORequest, req);
    struct process *p = process_or_fail(call, ud, req->id, req->exec_id);
    struct err e = ERR_INIT;

    if (!p)
        return;
    if (req->stdin && process_close_stdin(p, &e) < 0)
        fail_err(call, &e);
    else
        reply_empty(call);
}

/* ---- Pause, Resume, Update, Stats ---- */

static void pause_resume(struct ttrpc_call *call, struct shim *shim, const char *id, bool pause)
{
    struct container *c = find_or_fail(call, shim, id);
    struct err e = ERR_INIT;

    if (c && container_pause(c, pause, done_empty, call, &e) < 0)
        fail_err(call, &e);
}

static void handle_pause(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    pause_resume(call, ud, ((const Containerd__Task__V2__PauseRequest *)request)->id, true);
}

static void handle_resume(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    pause_resume(call, ud, ((const Containerd__Task__V2__ResumeRequest *)request)->id, false);
}

static void handle_update(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__UpdateTaskRequest, req);
    struct container *c = find_or_fail(call, ud, req->id);
    struct agent_json *res = NULL;
    struct err e = ERR_INIT;
    size_t len;
    const char *json = any_json(req->resources, &len);

    if (!c)
        return;
    if (!json) {
        ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "update %s: no resources", req->id);
        return;
    }
    if (agent_json_resources(json, len, &res, &e) < 0 ||
        container_update(c, res, done_empty, call, &e) < 0)
        fail_err(call, &e);
}

static void stats_done(const struct agent_reply *r, void *ud)
{
    Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    const char *url;
    size_t len;
    uint8_t *buf;

    if (r->code < 0) {
        fail_code(ud, r->code, r->msg);
        return;
    }
    buf = task_stats_pack(r->stats, task_stats_host_is_v2(), &len, &url);
    any.type_url = (char *)url;
    any.value.data = buf;
    any.value.len = len;
    resp.stats = &any;
    ttrpc_call_reply(ud, &resp.base);
    free(buf);
}

static void handle_stats(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    REQ(Containerd__Task__V2__StatsRequest, req);
    struct container *c = find_or_fail(call, ud, req->id);
    struct err e = ERR_INIT;

    if (c && container_stats(c, stats_done, call, &e) < 0)
        fail_err(call, &e);
}

static ttrpc_handler_fn handlers[M_COUNT] = {
    [M_STATE] = handle_state,
    [M_CREATE] = handle_create,
    [M_START] = handle_start,
    [M_DELETE] = handle_delete,
    [M_PIDS] = handle_pids,
    [M_PAUSE] = handle_pause,
    [M_RESUME] = handle_resume,
    [M_KILL] = handle_kill,
    [M_EXEC] = handle_exec,
    [M_RESIZE_PTY] = handle_resize_pty,
    [M_CLOSE_IO] = handle_close_io,
    [M_UPDATE] = handle_update,
    [M_WAIT] = handle_wait,
    [M_STATS] = handle_stats,
    [M_CHECKPOINT] = handle_checkpoint,
    [M_CONNECT] = handle_connect,
    [M_SHUTDOWN] = handle_shutdown,
};

int task_service_register(struct shim *shim)
{
    static ProtobufCServiceDescriptor v3;
    const ProtobufCServiceDescriptor *v2 = &containerd__task__v2__task__descriptor;
    int r;

    _Static_assert(M_COUNT == 17, "17 Task RPCs");
    if (v2->n_methods != M_COUNT || strcmp(v2->methods[M_STATE].name, "State") != 0 ||
        strcmp(v2->methods[M_SHUTDOWN].name, "Shutdown") != 0)
        return -EPROTO;
    r = ttrpc_server_register(shim->server, v2, handlers, shim);
    if (r < 0)
        return r;
    /* containerd 2.x speaks task v3 (same messages) when asked to. */
    v3 = *v2;
    v3.name = V3_SERVICE;
    return ttrpc_server_register(shim->server, &v3, handlers, shim);
}
