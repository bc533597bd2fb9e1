/* Any protobuf-c message to and from JSON (json-c), driven only by the
 * message descriptors, so every request and reply of a service can be
 * typed in and printed without per-message code.
 *
 * Names: by default a field is written under its .proto name ("container_id",
 * "OCI"; a trailing '_' that our .proto files add to dodge C macros, as in
 * "Linux_", is dropped) and read under that name, the name with the '_'
 * dropped, or its proto3 JSON name ("containerId"). A struct pbjson_schema
 * renames the fields of chosen messages instead (lib/oci_spec_json.c uses
 * one for the OCI config.json names); a renamed message knows only the
 * names in its table.
 * Values: enums as their names (numbers accepted on input), bytes as
 * base64, 64-bit integers as JSON numbers (decimal strings accepted on input
 * unless PBJSON_STRICT_TYPES), maps as JSON objects, oneof members only when
 * selected. Integers beyond 64 bits saturate inside json-c before we see them.
 *
 * Ownership: messages made here are malloc'ed like protobuf-c's unpacker
 * makes them, so protobuf_c_message_free_unpacked(msg, NULL) frees them; a
 * merge that fails leaves the message valid (partly updated) and freeable.
 * json_object results are new references (json_object_put). No state, no
 * threads. Errors are negative errno values (-EINVAL for bad input) with a
 * message in *e that starts with the JSON path at fault, e.g.
 * "OCI.Process.Rlimits[2].Hard: expected unsigned integer". */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

struct err;
struct json_object;

/* Largest JSON text pbjson_parse() accepts, and deepest nesting. */
#define PBJSON_MAX_TEXT (16u << 20)
#define PBJSON_MAX_DEPTH 64

enum {
    /* Output: also fields equal to their default (0, "", false, [], {}).
     * Unset sub-messages and unselected oneof members are still left out. */
    PBJSON_EMIT_DEFAULTS = 1u << 0,
    /* Input: skip keys that name no field (logged at debug). */
    PBJSON_IGNORE_UNKNOWN = 1u << 1,
    /* Input: numbers only as JSON integers (no "12", no 12.0). */
    PBJSON_STRICT_TYPES = 1u << 2,
};

/* Field flag for a schema entry: written even when it holds the default. */
#define PBJSON_FIELD_ALWAYS 1u

struct pbjson_name {
    const char *json;  /* key in JSON */
    const char *field; /* protobuf field name */
    unsigned flags;    /* PBJSON_FIELD_* */
};

struct pbjson_rename {
    const ProtobufCMessageDescriptor *message;
    const struct pbjson_name *names;
    size_t n_names;
};

struct pbjson_schema {
    const struct pbjson_rename *messages;
    size_t n_messages;
};

struct pbjson_opts {
    unsigned flags;                     /* PBJSON_EMIT_DEFAULTS, ... */
    const struct pbjson_schema *schema; /* NULL: .proto names */
};

/* A new message of type desc with every field at its default. */
ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc);

/* Parses JSON text strictly (RFC 8259, UTF-8 checked, at most
 * PBJSON_MAX_TEXT bytes and PBJSON_MAX_DEPTH levels). */
int pbjson_parse(const char *text, size_t len, struct json_object **ret_obj, struct err *e);

/* Reads and parses a JSON file (at most PBJSON_MAX_TEXT bytes); error
 * messages start with the path. */
int pbjson_parse_file(const char *path, struct json_object **ret_obj, struct err *e);

/* Merges a JSON object into msg: scalars are replaced, sub-messages merged,
 * repeated fields and maps replaced, null resets a field to its default. */
int pbjson_merge(ProtobufCMessage *msg, const struct json_object *obj,
                 const struct pbjson_opts *opts, struct err *e);

/* pbjson_parse() + a new message + pbjson_merge(). */
int pbjson_from_string(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                       const struct pbjson_opts *opts, ProtobufCMessage **ret_msg, struct err *e);

/* The message as a JSON object. NULL only when msg is NULL. */
struct json_object *pbjson_to_json(const ProtobufCMessage *msg, const struct pbjson_opts *opts);

/* The message as malloc'ed JSON text; json_c_flags are JSON_C_TO_STRING_*
 * ('/' is never escaped). */
char *pbjson_to_string(const ProtobufCMessage *msg, const struct pbjson_opts *opts,
                       int json_c_flags);

/* Sets one field from text, as in "key=value" on a command line. path is a
 * dotted field path from msg ("OCI.Process.Terminal"); "[N]" picks element
 * N of a repeated field (N = its length appends), "[key]" a map entry
 * ("OCI.Annotations[io.katacontainers.x]"). Text converts by the field's
 * type: numbers in decimal (or 0x hex), bools true/false/1/0, enums by name
 * or number, bytes as raw text or "hex:..."/"base64:...". A message, map or
 * repeated field takes JSON text ("{...}", "[...]"); other text given to a
 * repeated field appends one element. Names resolve as in pbjson_merge(). */
int pbjson_set(ProtobufCMessage *msg, const char *path, const char *text, struct err *e);

/* The field called name (a .proto name, it without a trailing '_', or its
 * JSON name), or NULL. */
const ProtobufCFieldDescriptor *pbjson_find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *name);

/* Whether the field holds anything but its default (proto3 presence). */
bool pbjson_field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field);

/* Resets the field to its default, freeing what it held. */
void pbjson_field_clear(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *field);
