/* Glue: grpc.Health and the sandbox/guest RPCs of grpc.AgentService, plus
 * registration (see agent/agent_service.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/agent_service-internal.h"
#include "agent/agent_service.h"
#include "agent/agent_service_devices.h"
#include "agent/kmod.h"
#include "agent/pid1.h"
#include "agent/sandbox.h"
#include "agent/storage.h"
#include "google/protobuf/empty.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

bool agent_policy_allow(const struct ttrpc_call *call)
{
    (void)call;
    return true;
}

void agent_service_fail(struct ttrpc_call *call, const struct err *e)
{
    int code = e && e->code ? e->code : -EIO;
    ttrpc_call_fail(call, ttrpc_code_from_errno(code), "%s", err_msg(e));
}

struct storage_req *agent_service_storages(Grpc__Storage *const *v, size_t n)
{
    struct storage_req *r = xnew(struct storage_req, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        r[i] = (struct storage_req){.driver = v[i]->driver,
                                    .source = v[i]->source,
                                    .fstype = v[i]->fstype,
                                    .mount_point = v[i]->mount_point,
                                    .options = v[i]->options,
                                    .n_options = v[i]->n_options};
    return r;
}

void agent_service_reply_empty(struct ttrpc_call *call)
{
    Google__Protobuf__Empty out = GOOGLE__PROTOBUF__EMPTY__INIT;
    ttrpc_call_reply(call, &out.base);
}

static void health_check(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    Grpc__HealthCheckResponse out = GRPC__HEALTH_CHECK_RESPONSE__INIT;
    (void)msg, (void)userdata;
    out.status = GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    ttrpc_call_reply(call, &out.base);
}

static void health_version(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    Grpc__VersionCheckResponse out = GRPC__VERSION_CHECK_RESPONSE__INIT;
    (void)msg, (void)userdata;
    out.grpc_version = (char *)"";
    out.agent_version = (char *)AGENT_SERVICE_VERSION;
    ttrpc_call_reply(call, &out.base);
}

/* Runs once every block storage's disk is there (at once when there is
 * none): nothing of the sandbox exists before, so a disk that never comes
 * leaves nothing to undo. The request belongs to the call. */
static void create_sandbox_ready(struct ttrpc_call *call, struct agent *a, void *userdata,
                                 const char *const *storage_devices)
{
    const Grpc__CreateSandboxRequest *req = userdata;
    struct err e = ERR_INIT;
    if (ttrpc_call_cancelled(call))
        return (void)ttrpc_call_fail(call, TTRPC_CANCELLED, "CreateSandbox cancelled");
    _cleanup_free_ struct storage_req *st = agent_service_storages(req->storages, req->n_storages);
    for (size_t i = 0; storage_devices && i < req->n_storages; i++)
        st[i].device = storage_devices[i];
    if (sandbox_create(a, req->sandbox_id, req->hostname, req->dns, req->n_dns, st,
                       req->n_storages, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

/* CreateSandbox's kernel_modules, as Kata's agent modprobes them: each with
 * its parameters, before the storages (a storage may need one's driver).
 * finit_module() blocks, so they load on the pool. */
#define MODULES_MAX 64
#define MODULE_NAME_MAX 55   /* MODULE_NAME_LEN less an unsigned long */
#define MODULE_PARAMS_MAX 4096

struct modules_job {
    struct ttrpc_call *call;
    struct agent *a;
    const Grpc__CreateSandboxRequest *req; /* belongs to the call */
    struct err e;
    int r;
    size_t loaded;
};

static bool module_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > MODULE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-'))
            return false;
    return true;
}

/* The parameters joined with spaces, as modprobe hands them to the kernel. */
static int module_params(const Grpc__KernelModule *m, char *buf, size_t size, struct err *e)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->n_parameters; i++) {
        const char *p = m->parameters[i];
        size_t len = strlen(p);
        if (len == 0)
            return err_set(e, -EINVAL, "kernel_modules: %s: parameter %zu is empty", m->name, i);
        for (size_t j = 0; j < len; j++)
            if ((unsigned char)p[j] < 0x20 || p[j] == 0x7f)
                return err_set(e, -EINVAL,
                               "kernel_modules: %s: parameter %zu has a control character",
                               m->name, i);
        if (n + (n ? 1 : 0) + len >= size)
            return err_set(e, -EINVAL, "kernel_modules: %s: parameters longer than %zu bytes",
                           m->name, size - 1);
        if (n)
            buf[n++] = ' ';
        memcpy(buf + n, p, len + 1);
        n += len;
    }
    return 0;
}

static int check_modules(const struct agent *a, const Grpc__CreateSandboxRequest *req,
                         struct err *e)
{
    char params[MODULE_PARAMS_MAX + 1];
    if (req->n_kernel_modules > MODULES_MAX)
        return err_set(e, -EINVAL, "kernel_modules: more than %d modules", MODULES_MAX);
    for (size_t i = 0; i < req->n_kernel_modules; i++) {
        const Grpc__KernelModule *m = req->kernel_modules[i];
        if (!module_name_ok(m->name))
            return err_set(e, -EINVAL,
                           "kernel_modules[%zu]: \"%.64s\" is not a module name (1 to %d "
                           "letters, digits, '-' or '_')",
                           i, m->name, MODULE_NAME_MAX);
        int r = module_params(m, params, sizeof(params), e);
        if (r < 0)
            return r;
    }
    if (req->n_kernel_modules && !a->modules_dir)
        return err_set(e, -ENOTSUP,
                       "kernel_modules: cannot load %s: this agent is not the guest's init and "
                       "loads no module into the kernel it runs on",
                       req->kernel_modules[0]->name);
    return 0;
}

static void modules_work(void *userdata)
{
    struct modules_job *j = userdata;
    char params[MODULE_PARAMS_MAX + 1];
    for (size_t i = 0; i < j->req->n_kernel_modules; i++) {
        const Grpc__KernelModule *m = j->req->kernel_modules[i];
        if ((j->r = module_params(m, params, sizeof(params), &j->e)) < 0)
            return;
        j->r = pid1_load_module_from(j->a->modules_dir, m->name, params);
        if (j->r == -ENOENT) {
            err_set(&j->e, j->r, "kernel_modules: cannot load %s: not in %s and not built into "
                    "the kernel", m->name, j->a->modules_dir);
            return;
        }
        if (j->r < 0) {
            err_set(&j->e, j->r, "kernel_modules: cannot load %s%s%s: %s", m->name,
                    params[0] ? " " : "", params, strerror(-j->r));
            return;
        }
        j->loaded += (size_t)j->r;
    }
    j->r = 0;
}

static void modules_done(void *userdata)
{
    _cleanup_free_ struct modules_job *j = userdata;
    if (ttrpc_call_cancelled(j->call))
        return (void)ttrpc_call_fail(j->call, TTRPC_CANCELLED, "CreateSandbox cancelled");
    if (j->r < 0) {
        log_warn("CreateSandbox: %s", err_msg(&j->e)); /* the message names the errno */
        return agent_service_fail(j->call, &j->e);
    }
    log_info("CreateSandbox: %zu of %zu kernel_modules loaded now, the others were there",
             j->loaded, j->req->n_kernel_modules);
    agent_service_devices_prepare_storages(j->call, j->a, j->req->storages, j->req->n_storages,
                                           create_sandbox_ready, (void *)j->req);
}

static void create_sandbox(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__CreateSandboxRequest *req = (const Grpc__CreateSandboxRequest *)msg;
    struct agent *a = userdata;
    struct err e = ERR_INIT;
    POLICY(call);
    /* Fail before waiting for disks a second sandbox could not use. */
    if (a->sandbox_created)
        return (void)ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS,
                                     "sandbox_id: a sandbox (%s) already exists", a->sandbox_id);
    if (check_modules(a, req, &e) < 0)
        return agent_service_fail(call, &e);
    if (req->n_kernel_modules == 0)
        return agent_service_devices_prepare_storages(call, a, req->storages, req->n_storages,
                                                      create_sandbox_ready, (void *)req);
    struct modules_job *j = xnew(struct modules_job, 1);
    *j = (struct modules_job){.call = call, .a = a, .req = req};
    int r = workpool_submit(a->pool, modules_work, modules_done, j);
    if (r < 0) {
        free(j);
        ttrpc_call_fail_errno(call, r, "CreateSandbox: cannot queue the kernel_modules load");
    }
}

static void destroy_sandbox(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    struct err e = ERR_INIT;
    (void)msg;
    POLICY(call);
    if (sandbox_destroy(userdata, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

/* CopyFile writes on the pool: a 1 MiB chunk to slow storage must not
 * stall the loop. The request stays valid until the call is finished. */
struct copy_job {
    struct ttrpc_call *call;
    const char *base;
    struct sandbox_copy_file req;
    struct err e;
    int r;
};

static void copy_work(void *userdata)
{
    struct copy_job *j = userdata;
    j->r = sandbox_copy_file(j->base, &j->req, &j->e);
}

static void copy_done(void *userdata)
{
    struct copy_job *j = userdata;
    if (j->r < 0)
        agent_service_fail(j->call, &j->e);
    else
        agent_service_reply_empty(j->call);
    free(j);
}

static void copy_file(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__CopyFileRequest *req = (const Grpc__CopyFileRequest *)msg;
    struct agent *a = userdata;
    struct err e = ERR_INIT;
    POLICY(call);
    if (sandbox_copy_file_check(a->shared_dir, req->path, &e) < 0)
        return agent_service_fail(call, &e);
    if (req->offset < 0 || req->file_size < 0)
        return ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "offset: must not be negative");
    struct copy_job *j = xnew(struct copy_job, 1);
    j->call = call;
    j->base = a->shared_dir;
    j->req = (struct sandbox_copy_file){req->path,     req->file_size, req->offset,
                                        req->file_mode, req->dir_mode,  req->uid,
                                        req->gid,       req->data.data, req->data.len};
    int r = workpool_submit(a->pool, copy_work, copy_done, j);
    if (r < 0) {
        free(j);
        ttrpc_call_fail_errno(call, r, "CopyFile: cannot queue the write");
    }
}

static void get_oom_done(struct agent_oom_req *req, const char *container_id);

struct oom_ctx {
    struct agent_oom_req req;
    struct ttrpc_call *call;
};

static void get_oom_done(struct agent_oom_req *req, const char *container_id)
{
    struct oom_ctx *x = list_entry(req, struct oom_ctx, req);
    if (!container_id) {
        ttrpc_call_fail(x->call, TTRPC_UNAVAILABLE, "the agent is shutting down");
    } else {
        Grpc__OOMEvent out = GRPC__OOMEVENT__INIT;
        out.container_id = (char *)container_id;
        ttrpc_call_reply(x->call, &out.base);
    }
    free(x);
}

static void get_oom_cancel(struct ttrpc_call *call, void *userdata)
{
    struct oom_ctx *x = userdata;
    agent_oom_cancel(&x->req);
    ttrpc_call_fail(call, TTRPC_CANCELLED, "GetOOMEvent cancelled");
    free(x);
}

static void get_oom_event(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    (void)msg;
    POLICY(call);
    struct oom_ctx *x = xnew(struct oom_ctx, 1);
    x->call = call;
    x->req.done = get_oom_done;
    ttrpc_call_on_cancel(call, get_oom_cancel, x);
    agent_oom_wait(userdata, &x->req);
}

static const struct agent_handler sandbox_handlers[] = {
    {"CreateSandbox", create_sandbox},
    {"DestroySandbox", destroy_sandbox},
    {"CopyFile", copy_file},
    {"GetOOMEvent", get_oom_event},
    {NULL, NULL},
};

static int set_handlers(const ProtobufCServiceDescriptor *svc, ttrpc_handler_fn *fns,
                        const struct agent_handler *table)
{
    for (; table->method; table++) {
        const ProtobufCMethodDescriptor *m =
            protobuf_c_service_descriptor_get_method_by_name(svc, table->method);
        if (!m)
            return -ENOENT;
        fns[m - svc->methods] = table->fn;
    }
    return 0;
}

int agent_service_register(struct agent *a, struct ttrpc_server *server)
{
    const ProtobufCServiceDescriptor *svc = &grpc__agent_service__descriptor;
    const ProtobufCServiceDescriptor *health = &grpc__health__descriptor;
    _cleanup_free_ ttrpc_handler_fn *fns = xnew(ttrpc_handler_fn, svc->n_methods);
    _cleanup_free_ ttrpc_handler_fn *hfns = xnew(ttrpc_handler_fn, health->n_methods);
    int r;

    if ((r = set_handlers(svc, fns, sandbox_handlers)) < 0 ||
        (r = set_handlers(svc, fns, agent_service_network_handlers)) < 0 ||
        (r = set_handlers(svc, fns, agent_service_container_handlers)) < 0 ||
        (r = set_handlers(svc, fns, agent_service_resource_handlers)) < 0)
        return r;
    static const struct agent_handler health_handlers[] = {
        {"Check", health_check}, {"Version", health_version}, {NULL, NULL}};
    if ((r = set_handlers(health, hfns, health_handlers)) < 0)
        return r;
    /* AgentService calls wait while kernel modules load after serving
     * (agent/kmod.h); grpc.Health answers at once. */
    kmod_gate_handlers(a, svc, fns);
    if ((r = ttrpc_server_register(server, svc, fns, a)) < 0)
        return r;
    return ttrpc_server_register(server, health, hfns, a);
}
