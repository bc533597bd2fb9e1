/* What agent_spec.c hands to agent_client.c (both glue): the converted
 * protobuf messages behind the opaque handles of agent_spec.h. */
#pragma once

#include <stdbool.h>

#include "kata/agent.pb-c.h"
#include "kata/oci.pb-c.h"

struct agent_spec {
    Grpc__Spec *spec;   /* owned (oci_spec_json_free) */
    bool sandbox_pidns; /* the spec named a PID namespace path */
};

/* A converted OCI fragment: an owned whole Spec of which one part is used. */
struct agent_json {
    Grpc__Spec *holder;
    Grpc__Process *process;          /* borrowed from holder */
    Grpc__LinuxResources *resources; /* borrowed from holder */
};
