/* Shared by lib/pbjson.c (storage, JSON in), lib/pbjson_write.c (JSON out)
 * and lib/pbjson_text.c (text values, base64, pbjson_set). Not for use
 * outside pbjson. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

struct err;
struct json_object;
struct pbjson_opts;
struct pbjson_rename;

/* One value of any field type. Strings and bytes own malloc'ed memory. Every
 * member starts at offset 0, so the first pbjson_type_size() bytes are the
 * value as protobuf-c stores it. */
union pbjson_scalar {
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float f;
    double d;
    protobuf_c_boolean b;
    int en;
    char *s;
    ProtobufCBinaryData bytes;
    ProtobufCMessage *m;
};

/* The JSON path being decoded, for error messages ("a.b[2].c"). */
struct pbjson_path {
    char buf[160];
    size_t len;
};

struct pbjson_dec {
    const struct pbjson_opts *opts;
    struct pbjson_path path;
    struct err *e;
    unsigned depth;
};

/* The message type of a message field (a map field's entry type). */
static inline const ProtobufCMessageDescriptor *pbjson_entry_desc(const ProtobufCFieldDescriptor *f)
{
    return f->descriptor;
}

static inline bool pbjson_is_oneof(const ProtobufCFieldDescriptor *f)
{
    return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
}

/* The rename entry of desc in the options' schema, or NULL. */
const struct pbjson_rename *pbjson_schema_lookup(const struct pbjson_opts *o,
                                                const ProtobufCMessageDescriptor *desc);

size_t pbjson_type_size(ProtobufCType t);
bool pbjson_type_is_unsigned(ProtobufCType t);
bool pbjson_field_is_map(const ProtobufCFieldDescriptor *f);
size_t pbjson_repeated_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
void *pbjson_repeated_array(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);

/* Frees what one value of f's type owns. */
void pbjson_value_free(const ProtobufCFieldDescriptor *f, union pbjson_scalar *v);
/* Replaces a singular field's value (ownership moves into msg). */
void pbjson_store(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                  const union pbjson_scalar *v);
/* The singular message field, created (and its oneof selected) if unset. */
ProtobufCMessage *pbjson_submessage(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
/* A new zeroed element at the end of a repeated field. */
void *pbjson_repeated_append(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f);
/* Frees the field's elements and installs arr[n] (taking ownership). */
void pbjson_repeated_replace(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, void *arr,
                             size_t n);

size_t pbjson_path_push(struct pbjson_path *p, const char *fmt, ...) _printf_(2, 3);
size_t pbjson_path_push_key(struct pbjson_path *p, const char *key);
void pbjson_path_pop(struct pbjson_path *p, size_t mark);
/* Sets -EINVAL in d->e as "<path>: <message>" and returns it. */
int pbjson_fail(struct pbjson_dec *d, const char *fmt, ...) _printf_(2, 3);

/* Sets field f of msg from a JSON value (NULL = JSON null resets it). */
int pbjson_set_json(struct pbjson_dec *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                    const struct json_object *v);
/* A new entry of map field f with its key parsed from text. */
int pbjson_map_entry_new(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f, const char *key,
                         ProtobufCMessage **ret_entry);

/* A scalar (not message) value of f's type from text; returns NULL or what
 * is wrong ("expected unsigned integer", ...). */
const char *pbjson_scalar_from_text(const ProtobufCFieldDescriptor *f, const char *text,
                                    union pbjson_scalar *out);
/* Range-checks an integer for f's type and stores it; i is used for signed
 * types, u for unsigned ones. Returns NULL or the problem. */
const char *pbjson_store_int(const ProtobufCFieldDescriptor *f, int64_t i, uint64_t u,
                             union pbjson_scalar *out);

/* Standard base64 with padding, malloc'ed and NUL-terminated. */
char *pbjson_base64_encode(const uint8_t *data, size_t len);
/* Standard or URL-safe alphabet, padding optional; -EINVAL if malformed. */
int pbjson_base64_decode(const char *text, size_t len, ProtobufCBinaryData *ret);
