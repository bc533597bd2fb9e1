/* Glue: the guest resource RPCs of grpc.AgentService (OnlineCPUMem,
 * MemHotplugByProbe, ReseedRandomDev, SetGuestDateTime, GetGuestDetails,
 * GetMetrics) on top of agent/guest.h. Loop thread; OnlineCPUMem's scan
 * runs on the agent's worker pool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_service-internal.h"
#include "agent/guest.h"
#include "lib/compiler.h"
#include "lib/log.h"
#include "lib/workpool.h"
#include "lib/xalloc.h"

/* What GetGuestDetails announces; the runtime picks drivers from these, so
 * they list what agent/storage.c and agent/agent_service_devices.c really
 * handle (keep in step with them). */
static const char *const storage_handlers[] = {"virtio-fs", "9p",  "local",     "ephemeral",
                                               "bind",      "blk", "virtio-blk"};
static const char *const device_handlers[] = {"blk", "virtio-blk"};

/* ---- OnlineCPUMem ---- */

struct online_job {
    struct ttrpc_call *call; /* NULL when the host did not ask to wait */
    struct guest_online_req req;
    struct err e;
    int r;
};

static void online_work(void *userdata)
{
    struct online_job *j = userdata;
    j->r = guest_online(GUEST_SYSFS, &j->req, &j->e);
}

static void online_done(void *userdata)
{
    struct online_job *j = userdata;
    if (j->r < 0)
        log_errno(LOG_WARN, j->r, "OnlineCPUMem: %s", err_msg(&j->e));
    else
        log_info("OnlineCPUMem: %d CPUs onlined%s", j->r,
                 j->req.cpu_only ? "" : ", offline memory blocks onlined");
    if (j->call) {
        if (j->r < 0)
            agent_service_fail(j->call, &j->e);
        else
            agent_service_reply_empty(j->call);
    }
    free(j);
}

static void online_cpu_mem(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__OnlineCPUMemRequest *req = (const Grpc__OnlineCPUMemRequest *)msg;
    struct agent *a = userdata;
    POLICY(call);
    struct online_job *j = xnew(struct online_job, 1);
    j->call = req->wait ? call : NULL;
    j->req.nb_cpus = req->nb_cpus;
    j->req.cpu_only = req->cpu_only;
    j->req.timeout_ms = a->hotplug_timeout_ms;
    j->req.stop = &a->stopping;
    int r = workpool_submit(a->pool, online_work, online_done, j);
    if (r < 0) {
        free(j);
        return ttrpc_call_fail_errno(call, r == -ENOBUFS ? -ENOBUFS : r,
                                     "OnlineCPUMem: cannot queue the work");
    }
    /* Without wait the host only asked for the resources to come online
     * eventually (upstream's semantics); the outcome is logged. */
    if (!req->wait)
        agent_service_reply_empty(call);
}

/* ---- MemHotplugByProbe, ReseedRandomDev, SetGuestDateTime ---- */

static void mem_hotplug_by_probe(struct ttrpc_call *call, const ProtobufCMessage *msg,
                                 void *userdata)
{
    const Grpc__MemHotplugByProbeRequest *req = (const Grpc__MemHotplugByProbeRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    if (guest_mem_probe(GUEST_SYSFS, req->memhotplugprobeaddr, req->n_memhotplugprobeaddr, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

static void reseed_random_dev(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__ReseedRandomDevRequest *req = (const Grpc__ReseedRandomDevRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    if (guest_reseed(req->data.data, req->data.len, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

static void set_guest_date_time(struct ttrpc_call *call, const ProtobufCMessage *msg,
                                void *userdata)
{
    const Grpc__SetGuestDateTimeRequest *req = (const Grpc__SetGuestDateTimeRequest *)msg;
    struct err e = ERR_INIT;
    (void)userdata;
    POLICY(call);
    if (guest_set_time(req->sec, req->usec, &e) < 0)
        return agent_service_fail(call, &e);
    agent_service_reply_empty(call);
}

/* ---- GetGuestDetails, GetMetrics ---- */

static void get_guest_details(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    const Grpc__GuestDetailsRequest *req = (const Grpc__GuestDetailsRequest *)msg;
    Grpc__GuestDetailsResponse out = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    Grpc__AgentDetails details = GRPC__AGENT_DETAILS__INIT;
    (void)userdata;
    POLICY(call);
    if (req->mem_block_size)
        out.mem_block_size_bytes = guest_mem_block_size(GUEST_SYSFS);
    if (req->mem_hotplug_probe)
        out.support_mem_hotplug_probe = guest_mem_probe_supported(GUEST_SYSFS);
    details.version = (char *)AGENT_SERVICE_VERSION;
    details.init_daemon = getpid() == 1;
    details.supports_seccomp = true;
    details.storage_handlers = (char **)storage_handlers;
    details.n_storage_handlers = ELEMENTSOF(storage_handlers);
    details.device_handlers = (char **)device_handlers;
    details.n_device_handlers = ELEMENTSOF(device_handlers);
    out.agent_details = &details;
    ttrpc_call_reply(call, &out.base);
}

static void get_metrics(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
    Grpc__Metrics out = GRPC__METRICS__INIT;
    (void)msg;
    POLICY(call);
    out.metrics = guest_metrics(userdata, GUEST_SYSFS);
    ttrpc_call_reply(call, &out.base);
    free(out.metrics);
}

const struct agent_handler agent_service_resource_handlers[] = {
    {"OnlineCPUMem", online_cpu_mem},
    {"MemHotplugByProbe", mem_hotplug_by_probe},
    {"ReseedRandomDev", reseed_random_dev},
    {"SetGuestDateTime", set_guest_date_time},
    {"GetGuestDetails", get_guest_details},
    {"GetMetrics", get_metrics},
    {NULL, NULL},
};
