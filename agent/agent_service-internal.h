/* Shared by the agent_service*.c glue files. */
#pragma once

#include <stdbool.h>

#include "kata/agent.pb-c.h"
#include "lib/err.h"
#include "lib/ttrpc/ttrpc.h"

struct agent;
struct storage_req;

/* The request's storages as agent/storage.h requests (pointers into the
 * message); caller frees the array. */
struct storage_req *agent_service_storages(Grpc__Storage *const *v, size_t n);

/* The policy hook (Kata's agent policy): allow everything for now. */
bool agent_policy_allow(const struct ttrpc_call *call);
/* First statement of every handler: refuse the call when the policy says no. */
#define POLICY(call)                                                                               \
    do {                                                                                           \
        if (!agent_policy_allow(call)) {                                                           \
            ttrpc_call_fail(call, TTRPC_PERMISSION_DENIED, "%s is blocked by policy",              \
                            ttrpc_call_method(call));                                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)
/* Finishes the call with the gRPC code for e->code and e's message. */
void agent_service_fail(struct ttrpc_call *call, const struct err *e);
void agent_service_reply_empty(struct ttrpc_call *call);

struct agent_handler {
    const char *method;
    ttrpc_handler_fn fn;
};
extern const struct agent_handler agent_service_container_handlers[];
extern const struct agent_handler agent_service_network_handlers[];
/* agent_service_resource.c: OnlineCPUMem, MemHotplugByProbe, ReseedRandomDev,
 * SetGuestDateTime, GetGuestDetails, GetMetrics. */
extern const struct agent_handler agent_service_resource_handlers[];

/* Health.Version's agent_version and GetGuestDetails' agent_details.version. */
#define AGENT_SERVICE_VERSION "0.1.0"
