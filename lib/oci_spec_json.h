/* OCI runtime-spec config.json (1.0/1.1 field names) to and from the agent
 * API's grpc.Spec (protos/kata/oci.proto), as Kata's runtime and agent-ctl
 * convert bundles for CreateContainer.
 *
 * Glue, not mechanism: this is the one lib/ file that includes a generated
 * header ("kata/oci.pb-c.h") for its message types, because both the shim and
 * kata-agent-ctl turn a bundle into a Spec and must do it the same way.
 *
 * Rules: keys the Spec has no field for (process.umask, linux.personality,
 * windows, ...) are ignored, as the runtime spec asks of readers; a wrong
 * type is an error naming the JSON path ("process.rlimits[2].hard: expected
 * unsigned integer"); null counts as absent; numbers must be JSON integers.
 * Absent optional numbers become 0, as in Kata (a device-cgroup rule
 * without major/minor is the 0 "any" wildcard); a syscall's errnoRet keeps
 * its presence (oneof). root.path is copied as written: resolving it
 * against the bundle is the caller's business. Writing back emits the
 * fields the runtime spec marks REQUIRED even when zero, others only when
 * set, so runc's default spec survives a round trip unchanged.
 *
 * Specs returned here are freed with oci_spec_json_free(). Errors are
 * negative errno values with the message in *e. No state, any thread. */
#pragma once

#include <stddef.h>

#include "kata/oci.pb-c.h"
#include "lib/compiler.h"

struct err;
struct json_object;

int oci_spec_json_parse(const char *text, size_t len, Grpc__Spec **ret_spec, struct err *e);
int oci_spec_json_from_json(const struct json_object *obj, Grpc__Spec **ret_spec, struct err *e);
/* Reads a config.json; messages start with the path. */
int oci_spec_json_load(const char *path, Grpc__Spec **ret_spec, struct err *e);

/* The spec as OCI JSON (a new reference), or NULL for a NULL spec. */
struct json_object *oci_spec_json_to_json(const Grpc__Spec *spec);
/* The spec as malloc'ed OCI JSON text; json_c_flags are JSON_C_TO_STRING_*. */
char *oci_spec_json_format(const Grpc__Spec *spec, int json_c_flags);

/* NULL-safe, returns NULL. */
Grpc__Spec *oci_spec_json_free(Grpc__Spec *spec);
DEFINE_CLEANUP_FUNC(Grpc__Spec *, oci_spec_json_free)
#define _cleanup_oci_spec_ _cleanup_(oci_spec_json_freep)
