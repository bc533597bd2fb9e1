/* Glue: the protobuf OCI Spec (oci.proto) <-> struct oci_spec. Used by the
 * agent service, which validates a CreateContainer spec before creating
 * anything, and by the re-executed init, which receives the packed Spec.
 * Errors are -EINVAL with a message naming the field ("oci.Process.Args:
 * ..."). Only glue files include this header's generated types. */
#pragma once

#include <stddef.h>

struct err;
struct oci_spec;
struct oci_process;
struct oci_resources;
struct Grpc__Spec;
struct Grpc__Process;
struct Grpc__LinuxResources;

int oci_glue_spec(const struct Grpc__Spec *pb, struct oci_spec **ret_spec, struct err *e);
int oci_glue_process(const struct Grpc__Process *pb, struct oci_process *ret_proc, struct err *e);
void oci_glue_resources(const struct Grpc__LinuxResources *pb, struct oci_resources *ret_res);

/* Unpacks a packed Spec and converts it. */
int oci_glue_unpack(const void *blob, size_t size, struct oci_spec **ret_spec, struct err *e);

/* Packs the Spec an exec helper receives: the container's packed spec with
 * its Process replaced by `proc` (heap buffer in *ret_blob). */
int oci_glue_pack_exec(const void *spec_blob, size_t spec_size, const struct Grpc__Process *proc,
                       void **ret_blob, size_t *ret_size);
