/* What agent_spec.c hands to agent_client.c (both glue): the converted
 * protobuf messages behind the opaque handles of agent_spec.h. */
#pragma once

#include <stdbool.h>

#include "kata/agent.pb-c.h"
#include "kata/oci.pb-c.h"

struct agent_spec {
    Grpc__Spec *spec;   /* owned (oci_spec_json_free) */
    bool sandbox_pidns; /* the spec named a PID namespace path */
    /* The container's seccomp profile, taken out of spec->linux_ until
     * agent_spec_guest_seccomp() puts it back or it is freed with s. */
    Grpc__LinuxSeccomp *seccomp;
};

/* A converted OCI fragment: an owned whole Spec of which one part is used. */
struct agent_json {
    Grpc__Spec *holder;
    Grpc__Process *process;          /* borrowed from holder */
    Grpc__LinuxResources *resources; /* borrowed from holder */
};
