/* The fake agent; see fake_agent.h. */
#include "tests/support/fake_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "google/protobuf/empty.pb-c.h"
#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/transport.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"

#define MAX_PROCS 64
#define MAX_METHODS 64

struct held {
    struct ttrpc_call *call;
    struct held *next;
};

struct fproc {
    char cid[256], eid[256];
    bool used, started, exited, output_sent;
    int status;
    struct held *waits, *reads, *eofs; /* WaitProcess, ReadStdout, ReadStderr held */
};

struct fake_agent {
    struct ttrpc_server *server;
    struct fake_agent_opts o;
    char path[108];
    struct fproc procs[MAX_PROCS];
    struct held *parked; /* silent mode, GetOOMEvent */
    const char *names[MAX_METHODS];
    unsigned counts[MAX_METHODS];
    size_t n_methods;
};

static void count(struct fake_agent *fa, struct ttrpc_call *call)
{
    for (size_t i = 0; i < fa->n_methods; i++)
        if (strcmp(fa->names[i], ttrpc_call_method(call)) == 0)
            fa->counts[i]++;
}

unsigned fake_agent_calls(const struct fake_agent *fa, const char *method)
{
    for (size_t i = 0; i < fa->n_methods; i++)
        if (strcmp(fa->names[i], method) == 0)
            return fa->counts[i];
    return 0;
}

static void hold(struct held **list, struct ttrpc_call *call)
{
    struct held *h = xnew(struct held, 1);

    h->call = call;
    h->next = *list;
    *list = h;
}

static void empty(struct ttrpc_call *call)
{
    Google__Protobuf__Empty e = GOOGLE__PROTOBUF__EMPTY__INIT;
    ttrpc_call_reply(call, &e.base);
}

static struct fproc *proc(struct fake_agent *fa, const char *cid, const char *eid, bool create)
{
    const char *e = eid && *eid ? eid : cid;
    struct fproc *free_slot = NULL;

    for (int i = 0; i < MAX_PROCS; i++) {
        struct fproc *p = &fa->procs[i];
        if (p->used && strcmp(p->cid, cid) == 0 && strcmp(p->eid, e) == 0)
            return p;
        if (!p->used && !free_slot)
            free_slot = p;
    }
    if (!create || !free_slot)
        return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = true;
    snprintf(free_slot->cid, sizeof(free_slot->cid), "%s", cid);
    snprintf(free_slot->eid, sizeof(free_slot->eid), "%s", e);
    return free_slot;
}

static void answer_read(struct fake_agent *fa, struct fproc *p, struct ttrpc_call *call)
{
    Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
    static uint8_t big[64 * 1024];

    if (fa->o.mode == FAKE_AGENT_BAD_READ) {
        resp.data.data = big; /* twice the 32 KiB asked for */
        resp.data.len = sizeof(big);
    } else if (!p->output_sent && fa->o.output) {
        p->output_sent = true;
        resp.data.data = (uint8_t *)fa->o.output;
        resp.data.len = strlen(fa->o.output);
    }
    ttrpc_call_reply(call, &resp.base);
}

static void answer_wait(struct fake_agent *fa, struct fproc *p, struct ttrpc_call *call)
{
    Grpc__WaitProcessResponse resp = GRPC__WAIT_PROCESS_RESPONSE__INIT;

    resp.status = fa->o.mode == FAKE_AGENT_BAD_WAIT ? 100000 : p->status;
    ttrpc_call_reply(call, &resp.base);
}

static void process_exit(struct fake_agent *fa, struct fproc *p, int status)
{
    struct held *h;

    if (p->exited)
        return;
    p->exited = true;
    p->status = status;
    while ((h = p->waits)) {
        p->waits = h->next;
        answer_wait(fa, p, h->call);
        free(h);
    }
    while ((h = p->reads)) {
        p->reads = h->next;
        answer_read(fa, p, h->call);
        free(h);
    }
    while ((h = p->eofs)) {
        Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
        p->eofs = h->next;
        ttrpc_call_reply(h->call, &resp.base);
        free(h);
    }
}

static void handle(struct ttrpc_call *call, const ProtobufCMessage *request, void *ud)
{
    struct fake_agent *fa = ud;
    const char *m = ttrpc_call_method(call);
    struct fproc *p;

    count(fa, call);
    if (fa->o.mode == FAKE_AGENT_SILENT || strcmp(m, "GetOOMEvent") == 0) {
        hold(&fa->parked, call);
        return;
    }
    if (strcmp(m, "Check") == 0) {
        Grpc__HealthCheckResponse resp = GRPC__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
        ttrpc_call_reply(call, &resp.base);
    } else if (strcmp(m, "CreateContainer") == 0) {
        const Grpc__CreateContainerRequest *r = (const void *)request;
        if (!r->oci || !r->oci->root || !r->oci->root->path[0]) {
            ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "no root path");
            return;
        }
        proc(fa, r->container_id, NULL, true);
        empty(call);
    } else if (strcmp(m, "StartContainer") == 0 || strcmp(m, "ExecProcess") == 0) {
        const Grpc__ExecProcessRequest *r = (const void *)request; /* same first fields */
        p = proc(fa, r->container_id, m[0] == 'E' ? r->exec_id : NULL, true);
        p->started = true;
        empty(call);
        if (fa->o.exit_at_start >= 0)
            process_exit(fa, p, fa->o.exit_at_start);
    } else if (strcmp(m, "SignalProcess") == 0) {
        const Grpc__SignalProcessRequest *r = (const void *)request;
        if (!(p = proc(fa, r->container_id, r->exec_id, false))) {
            ttrpc_call_fail(call, TTRPC_NOT_FOUND, "no process");
            return;
        }
        /* The reply frees the call and the request with it. */
        int status = 128 + (int)r->signal;
        empty(call);
        process_exit(fa, p, status);
    } else if (strcmp(m, "WaitProcess") == 0) {
        const Grpc__WaitProcessRequest *r = (const void *)request;
        if (!(p = proc(fa, r->container_id, r->exec_id, false))) {
            ttrpc_call_fail(call, TTRPC_NOT_FOUND, "no process");
            return;
        }
        if (p->exited)
            answer_wait(fa, p, call);
        else
            hold(&p->waits, call);
    } else if (strcmp(m, "ReadStdout") == 0 || strcmp(m, "ReadStderr") == 0) {
        const Grpc__ReadStreamRequest *r = (const void *)request;
        Grpc__ReadStreamResponse resp = GRPC__READ_STREAM_RESPONSE__INIT;
        bool out = strcmp(m, "ReadStdout") == 0;
        p = proc(fa, r->container_id, r->exec_id, false);
        if (!p)
            ttrpc_call_reply(call, &resp.base);
        else if (out && (fa->o.mode == FAKE_AGENT_BAD_READ || (fa->o.output && !p->output_sent)))
            answer_read(fa, p, call);
        else if (p->exited)
            ttrpc_call_reply(call, &resp.base);
        else
            hold(out ? &p->reads : &p->eofs, call);
    } else if (strcmp(m, "WriteStdin") == 0) {
        const Grpc__WriteStreamRequest *r = (const void *)request;
        Grpc__WriteStreamResponse resp = GRPC__WRITE_STREAM_RESPONSE__INIT;
        resp.len = (uint32_t)r->data.len;
        ttrpc_call_reply(call, &resp.base);
    } else if (strcmp(m, "StatsContainer") == 0) {
        Grpc__StatsContainerResponse resp = GRPC__STATS_CONTAINER_RESPONSE__INIT;
        ttrpc_call_reply(call, &resp.base);
    } else {
        empty(call); /* CreateSandbox, RemoveContainer, CloseStdin, ... */
    }
}

static int register_service(struct fake_agent *fa, const ProtobufCServiceDescriptor *d)
{
    ttrpc_handler_fn handlers[MAX_METHODS];

    for (unsigned i = 0; i < d->n_methods && i < MAX_METHODS; i++) {
        handlers[i] = handle;
        if (fa->n_methods < MAX_METHODS)
            fa->names[fa->n_methods++] = d->methods[i].name;
    }
    return ttrpc_server_register(fa->server, d, handlers, fa);
}

int fake_agent_new(struct loop *loop, const char *socket_path, const struct fake_agent_opts *o,
                   struct fake_agent **ret)
{
    struct fake_agent *fa = xnew(struct fake_agent, 1);
    char uri[160];
    int fd, r;

    fa->o = *o;
    snprintf(fa->path, sizeof(fa->path), "%s", socket_path);
    snprintf(uri, sizeof(uri), "unix://%s", socket_path);
    if ((r = ttrpc_server_new(loop, NULL, &fa->server)) < 0 ||
        (r = register_service(fa, &grpc__agent_service__descriptor)) < 0 ||
        (r = register_service(fa, &grpc__health__descriptor)) < 0 ||
        (fd = r = transport_listen(uri, NULL)) < 0 ||
        (r = ttrpc_server_listen_fd(fa->server, fd)) < 0) {
        fake_agent_free(fa);
        return r;
    }
    *ret = fa;
    return 0;
}

static void fail_all(struct held **list)
{
    struct held *h;

    while ((h = *list)) {
        *list = h->next;
        ttrpc_call_fail(h->call, TTRPC_UNAVAILABLE, "fake agent stopped");
        free(h);
    }
}

struct fake_agent *fake_agent_free(struct fake_agent *fa)
{
    if (!fa)
        return NULL;
    fail_all(&fa->parked);
    for (int i = 0; i < MAX_PROCS; i++) {
        fail_all(&fa->procs[i].waits);
        fail_all(&fa->procs[i].reads);
        fail_all(&fa->procs[i].eofs);
    }
    ttrpc_server_free(fa->server);
    unlink(fa->path);
    free(fa);
    return NULL;
}
