/* Glue: an oci.proto Spec rewritten for devices the guest found, the way the
 * Kata agent's update_spec_devices() does. For each update, the
 * linux.devices entry whose path is the container path takes the guest's
 * major:minor; every linux.resources.devices rule of the same type that
 * named the entry's old (host) major:minor is moved to the guest's; and a
 * rule allowing "rwm" on the guest device is appended. Growing the message
 * uses malloc, the allocator protobuf-c decoded it with, so
 * protobuf_c_message_free_unpacked() still frees everything. Errors: -EINVAL
 * with a message naming devices[index].container_path when the spec has no
 * such entry, or no Linux section at all. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "kata/oci.pb-c.h"

struct err;

struct oci_devices_update {
    size_t index;               /* in CreateContainerRequest.devices, for messages */
    const char *container_path;
    uint32_t major, minor;      /* the guest's */
};

int oci_devices_rewrite(Grpc__Spec *spec, const struct oci_devices_update *u, size_t n,
                        struct err *e);
