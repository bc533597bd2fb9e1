/* Glue: the container and process RPCs of grpc.AgentService. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/agent_service-internal.h"
#include "agent/agent_service_devices.h"
#include "agent/cgroups.h"
#include "agent/container.h"
#include "agent/oci_glue.h"
#include "agent/oci_spec.h"
#include "agent/process.h"
#include "agent/stdio.h"
#include "agent/storage.h"
#include "kata/oci.pb-c.h"
#include "lib/compiler.h"
#include "lib/xalloc.h"

/* Looks the container (and optionally the process) up, or fails the call. */
static struct container *find(struct ttrpc_call *call, struct agent *a, const char *id)
{
    struct container *c = id && *id ? agent_container(a, id) : NULL;
    if (!c)
        ttrpc_call_fail(call, TTRPC_NOT_FOUND, "container_id: container \"%s\" not found",
                        id ? id : "");
    return c;
}

static struct process *find_proc(struct ttrpc_call *call, struct agent *a, const char *cid,
                                 const char *eid, struct container **ret_c)
{
    struct container *c = find(call, a, cid);
    if (!c)
        return NULL;
    struct process *p = container_process(c, eid);
    if (!p)
        ttrpc_call_fail(call, TTRPC_NOT_FOUND, "exec_id: process \"%s\" not found in container %s",
                        eid ? eid : "", cid);
    if (ret_c)
        *ret_c = c;
    return p;
}

static void reply_done(void *userdata, int r, const struct err *e)
{
    struct ttrpc_call *call = userdata;
    if (r < 0)
        agent_service_fail(call, e);
    else
        agent_service_reply_empty(call);
}

/* A call whose storages follow the container: released when CreateContainer
 * fails or RemoveContainer succeeds. */
struct owned_call {
    struct ttrpc_call *call;
    struct agent *agent;
    bool removing;
    char id[];
};

static struct owned_call *owned_call_new(struct ttrpc_call *call, struct agent *a, const char *id,
                                         bool removing)
{
    struct owned_call *oc = xmalloc(sizeof(*oc) + strlen(id) + 1);
    oc->call = call;
    oc->agent = a;
    oc->removing = removing;
    strcpy(oc->id, id);
    return oc;
}

static void owned_done(void *userdata, int r, const struct err *e)
{
    struct owned_call *oc = userdata;
    if ((r < 0) != oc->removing)
        storage_release(oc->agent, oc->id);
    reply_done(oc->call, r, e);
    free(oc);
}

static void create_container_ready(struct ttrpc_call *call, struct agent *a,
                                   const Grpc__CreateContainerRequest *req,
                                   const char *const *storage_devices)
{
    struct err e = ERR_INIT;
    struct oci_spec *spec = NULL;
    /* Waiting for devices took time: the id may have been taken since. */
    if (agent_container(a, req->container_id))
        return (void)ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS,
                                     "container_id: container \"%s\" already exists",
                                     req->container_id);
    if (oci_glue_spec(req->oci, &spec, &e) < 0)
        return agent_service_fail(call, &e);
    /* The container's storages, held in its name until RemoveContainer. */
    _cleanup_free_ struct storage_req *st = agent_service_storages(req->storages, req->n_storages);
    for (size_t i = 0; storage_devices && i < req->n_storages; i++)
        st[i].device = storage_devices[i];
    if (storage_add(a, req->container_id, st, req->n_storages, &e) < 0) {
        oci_spec_free(spec);
        return agent_service_fail(call, &e);
    }
    size_t n = grpc__spec__get_packed_size(req->oci);
    void *blob = xmalloc(n ? n : 1);
    grpc__spec__pack(req->oci, blob);
    struct owned_call *oc = owned_call_new(call, a, req->container_id, false);
    if (container_create(a, req->container_id, req->exec_id, spec, blob, n, owned_done, oc, &e) <
        0) {
        owned_done(oc, e.code ? e.code : -EIO, &e);
    }
}

static void create_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__CreateContainerRequest *req = (const Grpc__CreateContainerRequest *)msg;
    POLICY(call);
    if (!req->container_id || !*req->container_id)
        return (void)ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "container_id: missing");
    if (agent_container(userdata, req->container_id))
        return (void)ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS,
                                     "container_id: container \"%s\" already exists",
                                     req->container_id);
    /* Hotplugged disks first (on the pool), then the rest on the loop. */
    agent_service_devices_prepare(call, userdata, req, create_container_ready);
}

static void start_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__StartContainerRequest *req = (const Grpc__StartContainerRequest *)msg;
    struct err e = ERR_INIT;
    POLICY(call);
    struct container *c = find(call, userdata, req->container_id);
    if (c && container_start(c, reply_done, call, &e) < 0)
        agent_service_fail(call, &e);
}

static void remove_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__RemoveContainerRequest *req = (const Grpc__RemoveContainerRequest *)msg;
    struct err e = ERR_INIT;
    POLICY(call);
    struct container *c = find(call, userdata, req->container_id);
    if (!c)
        return;
    struct owned_call *oc = owned_call_new(call, userdata, req->container_id, true);
    if (container_remove(c, req->timeout, owned_done, oc, &e) < 0) {
        free(oc);
        agent_service_fail(call, &e);
    }
}

static void exec_process(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__ExecProcessRequest *req = (const Grpc__ExecProcessRequest *)msg;
    struct err e = ERR_INIT;
    struct oci_process proc;
    POLICY(call);
    struct container *c = find(call, userdata, req->container_id);
    if (!c)
        return;
    if (oci_glue_process(req->process, &proc, &e) < 0) {
        oci_process_done(&proc);
        return agent_service_fail(call, &e);
    }
    bool tty = proc.terminal;
    unsigned rows = proc.rows, cols = proc.cols;
    oci_process_done(&proc);
    size_t spec_size, n;
    const void *spec = container_spec_blob(c, &spec_size);
    void *blob = NULL;
    int r = oci_glue_pack_exec(spec, spec_size, req->process, &blob, &n);
    if (r < 0)
        return (void)ttrpc_call_fail_errno(call, r, "ExecProcess: cannot build the exec spec");
    if (container_exec(c, req->exec_id, blob, n, tty, rows, cols, reply_done, call, &e) < 0)
        agent_service_fail(call, &e);
}

/* SIGTERM to a pid-namespace init without a handler would be ignored:
 * escalate to SIGKILL, as the Kata agent does. */
static bool handles_signal(pid_t pid, int signo)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    bool caught = true;
    if (!f)
        return caught;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "SigCgt:", 7) == 0) {
            unsigned long long mask = strtoull(line + 7, NULL, 16);
            caught = (mask >> (signo - 1)) & 1;
        }
    fclose(f);
    return caught;
}

static void signal_process(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__SignalProcessRequest *req = (const Grpc__SignalProcessRequest *)msg;
    struct err e = ERR_INIT;
    struct container *c;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, &c);
    if (!p)
        return;
    int signo = (int)req->signal;
    if (signo == SIGTERM && p == container_process(c, "") && process_pid(p) &&
        !process_exited(p) && !handles_signal(process_pid(p), SIGTERM))
        signo = SIGKILL;
    if (container_signal(c, req->exec_id, signo, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

struct wait_ctx {
    struct process_wait w;
    struct ttrpc_call *call;
};

static void wait_done(struct process_wait *w, int status)
{
    struct wait_ctx *x = list_entry(w, struct wait_ctx, w);
    Grpc__WaitProcessResponse out = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    out.status = status;
    ttrpc_call_reply(x->call, &out.base);
    free(x);
}

static void wait_cancel(struct ttrpc_call *call, void *userdata)
{
    struct wait_ctx *x = userdata;
    process_wait_cancel(&x->w);
    ttrpc_call_fail(call, TTRPC_CANCELLED, "WaitProcess cancelled");
    free(x);
}

static void wait_process(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__WaitProcessRequest *req = (const Grpc__WaitProcessRequest *)msg;
    struct container *c;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, &c);
    if (!p)
        return;
    struct wait_ctx *x = xnew(struct wait_ctx, 1);
    x->call = call;
    x->w.done = wait_done;
    ttrpc_call_on_cancel(call, wait_cancel, x);
    process_wait(p, &x->w);
    /* An exec process goes away once its exit was reported (Kata) and its
     * output was read to the end. */
    if (process_exited(p) && process_waited(p))
        container_reap_exec(c, p);
}

struct read_ctx {
    struct stdio_read r;
    struct ttrpc_call *call;
    /* Alive while the read is parked: its stdio is the process's. */
    struct process *p;
    bool err_stream;
};

static void read_done(struct stdio_read *req, int r, const void *data, size_t n)
{
    struct read_ctx *x = list_entry(req, struct read_ctx, r);
    (void)r;
    process_output_read(x->p, x->err_stream, n);
    Grpc__ReadStreamResponse out = GRPC__READ_STREAM_RESPONSE__INIT;
    out.data.data = (uint8_t *)data;
    out.data.len = n;
    ttrpc_call_reply(x->call, &out.base);
    free(x);
}

static void read_cancel(struct ttrpc_call *call, void *userdata)
{
    struct read_ctx *x = userdata;
    stdio_read_cancel(&x->r);
    ttrpc_call_fail(call, TTRPC_CANCELLED, "read cancelled");
    free(x);
}

static void read_stream(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata,
                        bool err_stream)
{
    const Grpc__ReadStreamRequest *req = (const Grpc__ReadStreamRequest *)msg;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, NULL);
    if (!p)
        return;
    struct read_ctx *x = xnew(struct read_ctx, 1);
    x->call = call;
    x->p = p;
    x->err_stream = err_stream;
    x->r.max = req->len ? req->len : 32768;
    x->r.done = read_done;
    ttrpc_call_on_cancel(call, read_cancel, x);
    int r = stdio_read(process_stdio(p), err_stream, &x->r);
    if (r < 0) {
        ttrpc_call_on_cancel(call, NULL, NULL);
        free(x);
        ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "too many reads in flight for %s",
                        req->exec_id);
    }
}

static void read_stdout(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    read_stream(call, msg, userdata, false);
}

static void read_stderr(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    read_stream(call, msg, userdata, true);
}

struct write_ctx {
    struct stdio_write w;
    struct ttrpc_call *call;
    struct stdio *stdio;
};

static void write_done(struct stdio_write *w, int r, size_t written)
{
    struct write_ctx *x = list_entry(w, struct write_ctx, w);
    if (r < 0 && written == 0) {
        ttrpc_call_fail_errno(x->call, r, "stdin is closed");
    } else {
        Grpc__WriteStreamResponse out = GRPC__WRITE_STREAM_RESPONSE__INIT;
        out.len = (uint32_t)written;
        ttrpc_call_reply(x->call, &out.base);
    }
    free(x);
}

static void write_cancel(struct ttrpc_call *call, void *userdata)
{
    struct write_ctx *x = userdata;
    stdio_write_cancel(x->stdio, &x->w);
    ttrpc_call_fail(call, TTRPC_CANCELLED, "write cancelled");
    free(x);
}

static void write_stdin(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__WriteStreamRequest *req = (const Grpc__WriteStreamRequest *)msg;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, NULL);
    if (!p)
        return;
    if (req->data.len == 0) {
        /* Empty data closes stdin (Kata). */
        stdio_close_stdin(process_stdio(p));
        Grpc__WriteStreamResponse out = GRPC__WRITE_STREAM_RESPONSE__INIT;
        ttrpc_call_reply(call, &out.base);
        return;
    }
    struct write_ctx *x = xnew(struct write_ctx, 1);
    x->call = call;
    x->stdio = process_stdio(p);
    x->w.data = req->data.data;
    x->w.size = req->data.len;
    x->w.done = write_done;
    ttrpc_call_on_cancel(call, write_cancel, x);
    int r = stdio_write(x->stdio, &x->w);
    if (r < 0) {
        ttrpc_call_on_cancel(call, NULL, NULL);
        free(x);
        ttrpc_call_fail(call, r == -EBUSY ? TTRPC_RESOURCE_EXHAUSTED : ttrpc_code_from_errno(r),
                        r == -EBUSY ? "another WriteStdin is in flight" : "stdin is closed");
    }
}

static void close_stdin(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__CloseStdinRequest *req = (const Grpc__CloseStdinRequest *)msg;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, NULL);
    if (!p)
        return;
    stdio_close_stdin(process_stdio(p));
    agent_service_reply_empty(call);
}

static void tty_win_resize(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__TtyWinResizeRequest *req = (const Grpc__TtyWinResizeRequest *)msg;
    POLICY(call);
    struct process *p = find_proc(call, userdata, req->container_id, req->exec_id, NULL);
    if (!p)
        return;
    int r = stdio_resize(process_stdio(p), req->row, req->column);
    if (r == -ENOTTY)
        return (void)ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION,
                                     "exec_id: process \"%s\" has no terminal", req->exec_id);
    if (r < 0)
        return (void)ttrpc_call_fail_errno(call, r, "TIOCSWINSZ failed");
    agent_service_reply_empty(call);
}

static void update_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__UpdateContainerRequest *req = (const Grpc__UpdateContainerRequest *)msg;
    struct err e = ERR_INIT;
    struct oci_resources res;
    POLICY(call);
    struct container *c = find(call, userdata, req->container_id);
    if (!c)
        return;
    if (!req->resources)
        return (void)ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "resources: missing");
    oci_glue_resources(req->resources, &res);
    int r = container_update(c, &res, &e);
    oci_resources_done(&res);
    if (r < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

static void stats_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__StatsContainerRequest *req = (const Grpc__StatsContainerRequest *)msg;
    struct err e = ERR_INIT;
    POLICY(call);
    struct container *c = find(call, userdata, req->container_id);
    if (!c)
        return;
    _cleanup_free_ struct cgroup_stats *st = xnew(struct cgroup_stats, 1);
    if (container_stats(c, st, &e) < 0)
        return agent_service_fail(call, &e);

    Grpc__StatsContainerResponse out = GRPC__STATS_CONTAINER_RESPONSE__INIT;
    Grpc__CgroupStats cg = GRPC__CGROUP_STATS__INIT;
    Grpc__CpuStats cpu = GRPC__CPU_STATS__INIT;
    Grpc__CpuUsage usage = GRPC__CPU_USAGE__INIT;
    Grpc__ThrottlingData thr = GRPC__THROTTLING_DATA__INIT;
    Grpc__MemoryStats mem = GRPC__MEMORY_STATS__INIT;
    Grpc__MemoryData mu = GRPC__MEMORY_DATA__INIT, sw = GRPC__MEMORY_DATA__INIT;
    Grpc__PidsStats pids = GRPC__PIDS_STATS__INIT;
    Grpc__MemoryStats__StatsEntry entries[CGROUP_MAX_STATS];
    Grpc__MemoryStats__StatsEntry *eptr[CGROUP_MAX_STATS];

    usage.total_usage = st->cpu_total;
    usage.usage_in_usermode = st->cpu_user;
    usage.usage_in_kernelmode = st->cpu_kernel;
    usage.n_percpu_usage = st->n_percpu;
    usage.percpu_usage = st->percpu;
    thr.periods = st->thr_periods;
    thr.throttled_periods = st->thr_throttled;
    thr.throttled_time = st->thr_time;
    cpu.cpu_usage = &usage;
    cpu.throttling_data = &thr;
    mu.usage = st->mem_usage;
    mu.max_usage = st->mem_max_usage;
    mu.failcnt = st->mem_failcnt;
    mu.limit = st->mem_limit;
    sw.usage = st->swap_usage;
    sw.limit = st->swap_limit;
    mem.cache = st->mem_cache;
    mem.usage = &mu;
    mem.swap_usage = &sw;
    mem.use_hierarchy = st->use_hierarchy;
    for (size_t i = 0; i < st->n_stats; i++) {
        grpc__memory_stats__stats_entry__init(&entries[i]);
        entries[i].key = st->stat_keys[i];
        entries[i].value = st->stat_values[i];
        eptr[i] = &entries[i];
    }
    mem.n_stats = st->n_stats;
    mem.stats = eptr;
    pids.current = st->pids_current;
    pids.limit = st->pids_limit;
    cg.cpu_stats = &cpu;
    cg.memory_stats = &mem;
    cg.pids_stats = &pids;
    out.cgroup_stats = &cg;
    ttrpc_call_reply(call, &out.base);
}

static void pause_resume(struct ttrpc_call *call, const char *id, void *userdata, bool pause)
{
    struct err e = ERR_INIT;
    POLICY(call);
    struct container *c = find(call, userdata, id);
    if (c && container_pause(c, pause, reply_done, call, &e) < 0)
        agent_service_fail(call, &e);
}

static void pause_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    pause_resume(call, ((const Grpc__PauseContainerRequest *)msg)->container_id, userdata, true);
}

static void resume_container(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    pause_resume(call, ((const Grpc__ResumeContainerRequest *)msg)->container_id, userdata, false);
}

const struct agent_handler agent_service_container_handlers[] = {
    {"CreateContainer", create_container},
    {"StartContainer", start_container},
    {"RemoveContainer", remove_container},
    {"ExecProcess", exec_process},
    {"SignalProcess", signal_process},
    {"WaitProcess", wait_process},
    {"WriteStdin", write_stdin},
    {"ReadStdout", read_stdout},
    {"ReadStderr", read_stderr},
    {"CloseStdin", close_stdin},
    {"TtyWinResize", tty_win_resize},
    {"UpdateContainer", update_container},
    {"StatsContainer", stats_container},
    {"PauseContainer", pause_container},
    {"ResumeContainer", resume_container},
    {NULL, NULL},
};
