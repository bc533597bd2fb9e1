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
/* Finishes the call with the gRPC code for e->code and e's message. */
void agent_service_fail(struct ttrpc_call *call, const struct err *e);
void agent_service_reply_empty(struct ttrpc_call *call);

struct agent_handler {
    const char *method;
    ttrpc_handler_fn fn;
};
extern const struct agent_handler agent_service_container_handlers[];
