/* The agent client; see agent_client.h. Glue: protobuf-c in, plain C out. */
#include "shim/agent_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"
#include "shim/agent_spec-internal.h"
#include "shim/agent_spec.h"

#define AGENT_SERVICE "grpc.AgentService"
#define HEALTH_SERVICE "grpc.Health"
#define SEC UINT64_C(1000000000)
#define CALL_TIMEOUT_NS (60 * SEC)
#define DIAL_ATTEMPT_NS (1 * SEC)
#define DIAL_PAUSE_NS (20 * 1000 * 1000)
#define HEALTH_MIN_NS (100 * 1000 * 1000)
#define ID_MAX 256
/* Bounds on repeated fields of a StatsContainerResponse. */
#define STATS_MAX_ITEMS 4096

enum op_kind { OP_EMPTY, OP_WAIT, OP_READ, OP_WRITE, OP_STATS, OP_OOM, OP_HEALTH };

struct agent_op {
    struct agent_client *ac;
    enum op_kind kind;
    size_t asked; /* read: most bytes wanted; write: bytes sent */
    agent_reply_fn fn;
    void *ud;
};

struct dial_job {
    struct agent_client *ac; /* NULL once the client is gone */
    char uri[TRANSPORT_PATH_MAX + 32];
    uint64_t deadline;
    int fd;
    struct err e;
};

struct agent_client {
    struct loop *loop;
    struct workpool *pool;
    char uri[TRANSPORT_PATH_MAX + 32];
    uint64_t deadline; /* of dial + Health.Check */
    struct ttrpc_client *tc;
    struct dial_job *job;
    agent_ready_fn ready;
    agent_lost_fn lost;
    void *ud;
    bool is_ready, lost_reported, freeing;
    agent_oom_fn oom_fn;
    void *oom_ud;
    struct loop_source *oom_timer;
    uint64_t create_timeout_ns; /* CreateContainer's deadline; 0: CALL_TIMEOUT_NS */
};

static void report_lost(struct agent_client *ac)
{
    if (ac->lost_reported || ac->freeing)
        return;
    ac->lost_reported = true;
    if (ac->lost)
        ac->lost(ac, ac->ud);
}

static void report_ready(struct agent_client *ac, int code, const char *msg)
{
    agent_ready_fn fn = ac->ready;

    ac->ready = NULL;
    ac->is_ready = code == 0;
    if (fn)
        fn(ac, code, msg, ac->ud);
}

/* ---- replies ---- */

static bool valid_id(const char *s)
{
    size_t n = strnlen(s, ID_MAX + 1);

    if (n == 0 || n > ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static bool stats_valid(const Grpc__StatsContainerResponse *s)
{
    const Grpc__CgroupStats *c = s->cgroup_stats;

    if (s->n_network_stats > 256)
        return false;
    if (!c)
        return true;
    if (c->cpu_stats && c->cpu_stats->cpu_usage &&
        c->cpu_stats->cpu_usage->n_percpu_usage > STATS_MAX_ITEMS)
        return false;
    if (c->memory_stats && c->memory_stats->n_stats > STATS_MAX_ITEMS)
        return false;
    if (c->n_hugetlb_stats > 64)
        return false;
    if (c->blkio_stats) {
        const Grpc__BlkioStats *b = c->blkio_stats;
        size_t n = b->n_io_service_bytes_recursive + b->n_io_serviced_recursive +
                   b->n_io_queued_recursive + b->n_io_service_time_recursive +
                   b->n_io_wait_time_recursive + b->n_io_merged_recursive +
                   b->n_io_time_recursive + b->n_sectors_recursive;
        if (n > STATS_MAX_ITEMS)
            return false;
    }
    return true;
}

/* Checks what the guest sent against what was asked; fills r. */
static int validate(struct agent_op *op, const ProtobufCMessage *resp, struct agent_reply *r)
{
    switch (op->kind) {
    case OP_EMPTY:
        return 0;
    case OP_WAIT: {
        const Grpc__WaitProcessResponse *w = (const void *)resp;
        if (w->status < 0 || w->status > 255)
            return -EPROTO;
        r->exit_status = w->status;
        return 0;
    }
    case OP_READ: {
        const Grpc__ReadStreamResponse *rs = (const void *)resp;
        if (rs->data.len > op->asked)
            return -EPROTO;
        r->data = rs->data.data;
        r->len = rs->data.len;
        return 0;
    }
    case OP_WRITE: {
        const Grpc__WriteStreamResponse *w = (const void *)resp;
        if (w->len == 0 || w->len > op->asked)
            return -EPROTO;
        r->written = w->len;
        return 0;
    }
    case OP_STATS:
        if (!stats_valid((const void *)resp))
            return -EPROTO;
        r->stats = resp;
        return 0;
    case OP_OOM: {
        const Grpc__OOMEvent *o = (const void *)resp;
        if (!valid_id(o->container_id))
            return -EPROTO;
        r->msg = o->container_id; /* handed to the OOM loop only */
        return 0;
    }
    case OP_HEALTH: {
        const Grpc__HealthCheckResponse *h = (const void *)resp;
        if (h->status != GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
            return -EPROTO;
        return 0;
    }
    }
    return -EPROTO;
}

static int code_to_errno(const struct agent_client *ac, int code)
{
    if (ac->freeing)
        return -ECANCELED;
    if (code == TTRPC_UNAVAILABLE || (code == TTRPC_CANCELLED && !ac->tc))
        return -ECONNRESET;
    return ttrpc_errno_from_code(code);
}

static void on_reply(const struct ttrpc_status *st, const ProtobufCMessage *resp, void *userdata)
{
    struct agent_op *op = userdata;
    struct agent_reply r = {.msg = ""};
    char buf[160];

    if (!op->fn) {
        free(op);
        return;
    }
    if (st->code != TTRPC_OK) {
        r.code = code_to_errno(op->ac, st->code);
        r.msg = st->message;
        if (r.code == -ECONNRESET && !*r.msg)
            r.msg = "connection to the agent lost";
    } else if ((r.code = validate(op, resp, &r)) < 0) {
        snprintf(buf, sizeof(buf), "malformed reply from the agent (%s)",
                 resp->descriptor->short_name);
        r.msg = buf;
        log_warn("agent: %s", buf);
    }
    op->fn(&r, op->ud);
    free(op);
}

static int call(struct agent_client *ac, const char *service, const char *method,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_type,
                uint64_t timeout_ns, enum op_kind kind, size_t asked, agent_reply_fn fn,
                void *ud, struct agent_op **ret_op)
{
    struct ttrpc_call_opts opts = {.timeout_ns = timeout_ns};
    struct agent_op *op;
    int r;

    if (!ac->tc || ttrpc_client_is_closed(ac->tc))
        return -ENOTCONN;
    op = xnew(struct agent_op, 1);
    *op = (struct agent_op){.ac = ac, .kind = kind, .asked = asked, .fn = fn, .ud = ud};
    r = ttrpc_client_call(ac->tc, service, method, req, resp_type, &opts, on_reply, op);
    if (r < 0) {
        free(op);
        return r;
    }
    if (ret_op)
        *ret_op = op;
    return 0;
}

#define CALL_EMPTY(ac, method, req, fn, ud, ret_op)                                            \
    call(ac, AGENT_SERVICE, method, &(req).base, &google__protobuf__empty__descriptor,         \
         CALL_TIMEOUT_NS, OP_EMPTY, 0, fn, ud, ret_op)

void agent_client_set_create_timeout(struct agent_client *ac, uint64_t timeout_ns)
{
    ac->create_timeout_ns = timeout_ns;
}

void agent_op_cancel(struct agent_op *op)
{
    if (op)
        op->fn = NULL;
}

/* ---- connection ---- */

static void on_closed(struct ttrpc_client *tc, void *userdata)
{
    struct agent_client *ac = userdata;

    (void)tc;
    log_debug("agent connection closed");
    if (!ac->is_ready && ac->ready)
        report_ready(ac, -ECONNRESET, "the agent closed the connection");
    else
        report_lost(ac);
}

static void health_done(const struct agent_reply *r, void *ud)
{
    struct agent_client *ac = ud;
    char msg[320];

    if (r->code == 0) {
        report_ready(ac, 0, "");
        return;
    }
    if (r->code == -ETIMEDOUT)
        snprintf(msg, sizeof(msg), "agent at %s did not answer Health.Check within dial_timeout",
                 ac->uri);
    else
        snprintf(msg, sizeof(msg), "agent at %s: Health.Check: %s", ac->uri, r->msg);
    report_ready(ac, r->code, msg);
}

static void dial_work(void *userdata)
{
    struct dial_job *j = userdata;
    struct timespec pause = {0, DIAL_PAUSE_NS};

    for (;;) {
        uint64_t now = loop_now();
        if (now >= j->deadline) {
            if (!err_is_set(&j->e))
                err_set(&j->e, -ETIMEDOUT, "timed out");
            j->fd = -ETIMEDOUT;
            return;
        }
        err_clear(&j->e);
        j->fd = transport_dial(j->uri, MIN(j->deadline - now, DIAL_ATTEMPT_NS), &j->e);
        if (j->fd >= 0 || j->fd == -EINVAL || j->fd == -ENAMETOOLONG)
            return;
        nanosleep(&pause, NULL);
    }
}

static void dial_done(void *userdata)
{
    struct dial_job *j = userdata;
    struct agent_client *ac = j->ac;
    Grpc__CheckRequest req = GRPC__CHECK_REQUEST__INIT;
    char msg[400];
    int r;

    if (!ac) {
        fd_close(j->fd);
        free(j);
        return;
    }
    ac->job = NULL;
    if (j->fd < 0) {
        snprintf(msg, sizeof(msg), "cannot reach the agent at %s within dial_timeout: %s",
                 ac->uri, err_msg(&j->e));
        free(j);
        report_ready(ac, -ETIMEDOUT, msg);
        return;
    }
    r = ttrpc_client_new(ac->loop, TAKE_FD(j->fd), NULL, &ac->tc);
    free(j);
    if (r < 0) {
        report_ready(ac, r, "cannot create the agent ttRPC client");
        return;
    }
    ttrpc_client_on_closed(ac->tc, on_closed, ac);
    uint64_t now = loop_now();
    uint64_t left = ac->deadline > now ? ac->deadline - now : 0;
    r = call(ac, HEALTH_SERVICE, "Check", &req.base, &grpc__health_check_response__descriptor,
             MAX(left, HEALTH_MIN_NS), OP_HEALTH, 0, health_done, ac, NULL);
    if (r < 0)
        report_ready(ac, r, "cannot send Health.Check to the agent");
}

int agent_client_new(struct loop *loop, struct workpool *pool, const char *uri,
                     uint64_t dial_timeout_ns, agent_ready_fn ready, agent_lost_fn lost,
                     void *userdata, struct agent_client **ret_client)
{
    struct agent_client *ac;
    struct dial_job *j;
    int r;

    if (strlen(uri) >= sizeof(ac->uri))
        return -ENAMETOOLONG;
    ac = xnew(struct agent_client, 1);
    ac->loop = loop;
    ac->pool = pool;
    snprintf(ac->uri, sizeof(ac->uri), "%s", uri);
    ac->deadline = loop_now() + dial_timeout_ns;
    ac->ready = ready;
    ac->lost = lost;
    ac->ud = userdata;
    j = xnew(struct dial_job, 1);
    j->ac = ac;
    j->fd = -1;
    j->deadline = ac->deadline;
    snprintf(j->uri, sizeof(j->uri), "%s", uri);
    r = workpool_submit(pool, dial_work, dial_done, j);
    if (r < 0) {
        free(j);
        free(ac);
        return r;
    }
    ac->job = j;
    *ret_client = ac;
    return 0;
}

void agent_client_disconnect(struct agent_client *ac)
{
    struct ttrpc_client *tc;

    if (!ac)
        return;
    if (ac->job) {
        ac->job->ac = NULL;
        ac->job = NULL;
    }
    tc = TAKE_PTR(ac->tc);
    ac->oom_timer = loop_source_free(ac->oom_timer);
    ttrpc_client_free(tc); /* pending calls fail now; tc is already NULL */
    if (!ac->is_ready && ac->ready)
        report_ready(ac, -ECONNRESET, "the VM stopped before the agent answered");
    else
        report_lost(ac);
}

struct agent_client *agent_client_free(struct agent_client *ac)
{
    if (!ac)
        return NULL;
    ac->freeing = true;
    if (ac->job)
        ac->job->ac = NULL;
    ac->oom_timer = loop_source_free(ac->oom_timer);
    ttrpc_client_free(TAKE_PTR(ac->tc));
    free(ac);
    return NULL;
}

bool agent_client_connected(const struct agent_client *ac)
{
    return ac && ac->tc && ac->is_ready && !ttrpc_client_is_closed(ac->tc);
}

/* ---- OOM events ---- */

static void oom_next(struct agent_client *ac);

static void oom_timer_fired(struct loop_source *s, void *ud)
{
    (void)s;
    oom_next(ud);
}

static void oom_done(const struct agent_reply *r, void *ud)
{
    struct agent_client *ac = ud;

    if (r->code == 0) {
        ac->oom_fn(r->msg, ac->oom_ud);
        oom_next(ac);
        return;
    }
    if (r->code == -ECONNRESET || r->code == -ECANCELED || r->code == -ENOTSUP ||
        r->code == -ENOTCONN || !ac->tc)
        return;
    log_debug("GetOOMEvent: %s; retrying in 1 s", r->msg);
    if (!ac->oom_timer)
        loop_add_timer(ac->loop, 0, oom_timer_fired, ac, &ac->oom_timer);
    if (ac->oom_timer)
        loop_timer_set(ac->oom_timer, loop_now() + SEC);
}

static void oom_next(struct agent_client *ac)
{
    Grpc__GetOOMEventRequest req = GRPC__GET_OOMEVENT_REQUEST__INIT;

    call(ac, AGENT_SERVICE, "GetOOMEvent", &req.base, &grpc__oomevent__descriptor, 0, OP_OOM,
         0, oom_done, ac, NULL);
}

void agent_watch_oom(struct agent_client *ac, agent_oom_fn fn, void *ud)
{
    ac->oom_fn = fn;
    ac->oom_ud = ud;
    oom_next(ac);
}

/* ---- typed wrappers ---- */

int agent_call_unused_reply(struct agent_client *ac, const char *method,
                            const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_type,
                            agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    return call(ac, AGENT_SERVICE, method, req, resp_type, CALL_TIMEOUT_NS, OP_EMPTY, 0, fn, ud,
                ret_op);
}

/* KernelModule messages for items "name param=value ...": the words are
 * cut in place in one copy of the items, which the caller frees with the
 * returned array (words[0] and mods[0]) once the request is packed. */
struct modules_msg {
    Grpc__KernelModule *mods;
    Grpc__KernelModule **ptrs;
    char **words;
    char *text;
};

static void modules_msg_build(const char *const *items, size_t n, struct modules_msg *m)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(items[i]) + 1;
    m->mods = xnew(Grpc__KernelModule, n ? n : 1);
    m->ptrs = xnew(Grpc__KernelModule *, n ? n : 1);
    m->words = xnew(char *, total + 1); /* at most one word per byte */
    m->text = xmalloc(total + 1);
    char *t = m->text, **w = m->words;
    for (size_t i = 0; i < n; i++) {
        Grpc__KernelModule *k = &m->mods[i];
        grpc__kernel_module__init(k);
        m->ptrs[i] = k;
        size_t len = strlen(items[i]);
        memcpy(t, items[i], len + 1);
        char *save = NULL;
        char *name = strtok_r(t, " \t", &save);
        k->name = name ? name : t;
        k->parameters = w;
        for (char *p = strtok_r(NULL, " \t", &save); p; p = strtok_r(NULL, " \t", &save))
            w[k->n_parameters++] = p;
        w += k->n_parameters;
        t += len + 1;
    }
}

static void modules_msg_done(struct modules_msg *m)
{
    free(m->mods);
    free(m->ptrs);
    free(m->words);
    free(m->text);
}

int agent_create_sandbox(struct agent_client *ac, const char *sandbox_id, const char *hostname,
                         char *const *dns, size_t n_dns, enum agent_share share, unsigned msize_9p,
                         const char *const *modules, size_t n_modules, agent_reply_fn fn,
                         void *ud, struct agent_op **ret_op)
{
    Grpc__CreateSandboxRequest req = GRPC__CREATE_SANDBOX_REQUEST__INIT;
    Grpc__Storage st = GRPC__STORAGE__INIT;
    Grpc__Storage *sts[] = {&st};
    char msize[32];
    /* Kata's Go runtime sends exactly these three: cache=mmap because
     * shared writable mappings need the guest's page cache, nodev so the
     * host's device nodes stay inert in the guest. */
    char *opts_9p[] = {(char *)"trans=virtio,version=9p2000.L,cache=mmap", (char *)"nodev",
                       msize};

    req.sandbox_id = (char *)sandbox_id;
    req.hostname = (char *)hostname;
    req.dns = (char **)dns;
    req.n_dns = n_dns;
    /* The share's tag and guest folder are Kata's (kata.md §3). */
    st.source = (char *)"kataShared";
    st.mount_point = (char *)"/run/kata-containers/shared/containers";
    switch (share) {
    case AGENT_SHARE_VIRTIO_FS:
        st.driver = (char *)"virtio-fs";
        st.fstype = (char *)"virtiofs";
        break;
    case AGENT_SHARE_9P:
        snprintf(msize, sizeof(msize), "msize=%u", msize_9p ? msize_9p : AGENT_MSIZE_9P_DEFAULT);
        st.driver = (char *)"9p";
        st.fstype = (char *)"9p";
        st.options = opts_9p;
        st.n_options = ELEMENTSOF(opts_9p);
        break;
    case AGENT_SHARE_NONE:
        break;
    }
    if (share != AGENT_SHARE_NONE) {
        req.storages = sts;
        req.n_storages = 1;
    }
    struct modules_msg mods;
    modules_msg_build(modules, n_modules, &mods);
    req.kernel_modules = mods.ptrs;
    req.n_kernel_modules = n_modules;
    int r = CALL_EMPTY(ac, "CreateSandbox", req, fn, ud, ret_op);
    modules_msg_done(&mods);
    return r;
}

int agent_destroy_sandbox(struct agent_client *ac, agent_reply_fn fn, void *ud,
                          struct agent_op **ret_op)
{
    Grpc__DestroySandboxRequest req = GRPC__DESTROY_SANDBOX_REQUEST__INIT;
    return CALL_EMPTY(ac, "DestroySandbox", req, fn, ud, ret_op);
}

int agent_create_container(struct agent_client *ac, const char *cid, struct agent_spec *spec,
                           agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__CreateContainerRequest req = GRPC__CREATE_CONTAINER_REQUEST__INIT;
    int r;

    req.container_id = (char *)cid;
    req.exec_id = (char *)cid;
    req.oci = spec->spec;
    req.sandbox_pidns = spec->sandbox_pidns;
    r = call(ac, AGENT_SERVICE, "CreateContainer", &req.base, &google__protobuf__empty__descriptor,
             ac->create_timeout_ns ? ac->create_timeout_ns : CALL_TIMEOUT_NS, OP_EMPTY, 0, fn, ud,
             ret_op);
    agent_spec_free(spec);
    return r;
}

#define SIMPLE_CID_CALL(fname, Type, INIT, method)                                             \
    int fname(struct agent_client *ac, const char *cid, agent_reply_fn fn, void *ud,         \
              struct agent_op **ret_op)                                                      \
    {                                                                                        \
        Type req = INIT;                                                                     \
        req.container_id = (char *)cid;                                                      \
        return CALL_EMPTY(ac, method, req, fn, ud, ret_op);                                  \
    }

SIMPLE_CID_CALL(agent_start_container, Grpc__StartContainerRequest,
                GRPC__START_CONTAINER_REQUEST__INIT, "StartContainer")

int agent_remove_container(struct agent_client *ac, const char *cid, agent_reply_fn fn,
                           void *ud, struct agent_op **ret_op)
{
    Grpc__RemoveContainerRequest req = GRPC__REMOVE_CONTAINER_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.timeout = 0;
    return CALL_EMPTY(ac, "RemoveContainer", req, fn, ud, ret_op);
}

int agent_pause_container(struct agent_client *ac, const char *cid, bool pause,
                          agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    if (pause) {
        Grpc__PauseContainerRequest req = GRPC__PAUSE_CONTAINER_REQUEST__INIT;
        req.container_id = (char *)cid;
        return CALL_EMPTY(ac, "PauseContainer", req, fn, ud, ret_op);
    }
    Grpc__ResumeContainerRequest req = GRPC__RESUME_CONTAINER_REQUEST__INIT;
    req.container_id = (char *)cid;
    return CALL_EMPTY(ac, "ResumeContainer", req, fn, ud, ret_op);
}

int agent_update_container(struct agent_client *ac, const char *cid, struct agent_json *res,
                           agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__UpdateContainerRequest req = GRPC__UPDATE_CONTAINER_REQUEST__INIT;
    int r;

    req.container_id = (char *)cid;
    req.resources = res->resources;
    r = CALL_EMPTY(ac, "UpdateContainer", req, fn, ud, ret_op);
    agent_json_free(res);
    return r;
}

int agent_stats_container(struct agent_client *ac, const char *cid, agent_reply_fn fn, void *ud,
                          struct agent_op **ret_op)
{
    Grpc__StatsContainerRequest req = GRPC__STATS_CONTAINER_REQUEST__INIT;

    req.container_id = (char *)cid;
    return call(ac, AGENT_SERVICE, "StatsContainer", &req.base,
                &grpc__stats_container_response__descriptor, CALL_TIMEOUT_NS, OP_STATS, 0, fn,
                ud, ret_op);
}

int agent_exec_process(struct agent_client *ac, const char *cid, const char *exec_id,
                       struct agent_json *process, agent_reply_fn fn, void *ud,
                       struct agent_op **ret_op)
{
    Grpc__ExecProcessRequest req = GRPC__EXEC_PROCESS_REQUEST__INIT;
    int r;

    req.container_id = (char *)cid;
    req.exec_id = (char *)exec_id;
    req.process = process->process;
    r = CALL_EMPTY(ac, "ExecProcess", req, fn, ud, ret_op);
    agent_json_free(process);
    return r;
}

int agent_signal_process(struct agent_client *ac, const char *cid, const char *exec_id,
                         uint32_t signo, agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__SignalProcessRequest req = GRPC__SIGNAL_PROCESS_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.exec_id = (char *)exec_id;
    req.signal = signo;
    return CALL_EMPTY(ac, "SignalProcess", req, fn, ud, ret_op);
}

int agent_wait_process(struct agent_client *ac, const char *cid, const char *exec_id,
                       agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__WaitProcessRequest req = GRPC__WAIT_PROCESS_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.exec_id = (char *)(*exec_id ? exec_id : cid);
    return call(ac, AGENT_SERVICE, "WaitProcess", &req.base,
                &grpc__wait_process_response__descriptor, 0, OP_WAIT, 0, fn, ud, ret_op);
}

int agent_read_stream(struct agent_client *ac, const char *cid, const char *exec_id,
                      bool is_stderr, agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__ReadStreamRequest req = GRPC__READ_STREAM_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.exec_id = (char *)(*exec_id ? exec_id : cid);
    req.len = AGENT_READ_CHUNK;
    return call(ac, AGENT_SERVICE, is_stderr ? "ReadStderr" : "ReadStdout", &req.base,
                &grpc__read_stream_response__descriptor, 0, OP_READ, AGENT_READ_CHUNK, fn, ud,
                ret_op);
}

int agent_write_stdin(struct agent_client *ac, const char *cid, const char *exec_id,
                      const uint8_t *data, size_t len, agent_reply_fn fn, void *ud,
                      struct agent_op **ret_op)
{
    Grpc__WriteStreamRequest req = GRPC__WRITE_STREAM_REQUEST__INIT;

    if (len == 0)
        return -EINVAL; /* empty data means "close" to the agent */
    req.container_id = (char *)cid;
    req.exec_id = (char *)(*exec_id ? exec_id : cid);
    req.data.data = (uint8_t *)data;
    req.data.len = len;
    return call(ac, AGENT_SERVICE, "WriteStdin", &req.base,
                &grpc__write_stream_response__descriptor, CALL_TIMEOUT_NS, OP_WRITE, len, fn, ud,
                ret_op);
}

int agent_close_stdin(struct agent_client *ac, const char *cid, const char *exec_id,
                      agent_reply_fn fn, void *ud, struct agent_op **ret_op)
{
    Grpc__CloseStdinRequest req = GRPC__CLOSE_STDIN_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.exec_id = (char *)(*exec_id ? exec_id : cid);
    return CALL_EMPTY(ac, "CloseStdin", req, fn, ud, ret_op);
}

int agent_tty_resize(struct agent_client *ac, const char *cid, const char *exec_id,
                     uint32_t rows, uint32_t cols, agent_reply_fn fn, void *ud,
                     struct agent_op **ret_op)
{
    Grpc__TtyWinResizeRequest req = GRPC__TTY_WIN_RESIZE_REQUEST__INIT;

    req.container_id = (char *)cid;
    req.exec_id = (char *)(*exec_id ? exec_id : cid);
    req.row = rows;
    req.column = cols;
    return CALL_EMPTY(ac, "TtyWinResize", req, fn, ud, ret_op);
}
