/* pbjson: message -> JSON; see pbjson.h. */
#include "lib/pbjson.h"
#include "lib/pbjson-internal.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xalloc.h"

#define CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

struct enc {
    const struct pbjson_opts *opts;
    unsigned depth;
};

static struct json_object *message_to_json(struct enc *c, const ProtobufCMessage *msg);

static struct json_object *double_to_json(double x)
{
    char buf[32];
    if (isnan(x))
        return json_object_new_string("NaN");
    if (isinf(x))
        return json_object_new_string(x > 0 ? "Infinity" : "-Infinity");
    /* The shortest of %.15g/%.17g that reads back exactly. */
    snprintf(buf, sizeof(buf), "%.15g", x);
    if (strtod(buf, NULL) != x)
        snprintf(buf, sizeof(buf), "%.17g", x);
    return json_object_new_double_s(x, buf);
}

static struct json_object *element_to_json(struct enc *c, const ProtobufCFieldDescriptor *f,
                                           const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_object_new_int64(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_object_new_int64(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_object_new_int64(*(const int64_t *)p);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_object_new_uint64(*(const uint64_t *)p);
    case PROTOBUF_C_TYPE_FLOAT:
        return double_to_json(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return double_to_json(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean(*(const protobuf_c_boolean *)p != 0);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? json_object_new_string(ev->name) : json_object_new_int64(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        return json_object_new_string(s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        char *text = pbjson_base64_encode(b->data, b->len);
        struct json_object *o = json_object_new_string(text);
        free(text);
        return o;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return message_to_json(c, *(ProtobufCMessage *const *)p);
    }
    return NULL;
}

static struct json_object *map_to_json(struct enc *c, const ProtobufCMessage *msg,
                                       const ProtobufCFieldDescriptor *f)
{
    struct json_object *o = json_object_new_object();
    size_t n = pbjson_repeated_count(msg, f);
    ProtobufCMessage *const *entries = pbjson_repeated_array(msg, f);
    const ProtobufCMessageDescriptor *ed = f->descriptor;

    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessage *entry = entries[i];
        char key[32];
        const char *k = key;
        const void *kp = CMEMBER(entry, ed->fields[0].offset);
        switch (ed->fields[0].type) {
        case PROTOBUF_C_TYPE_STRING:
            k = *(const char *const *)kp ? *(const char *const *)kp : "";
            break;
        case PROTOBUF_C_TYPE_BOOL:
            k = *(const protobuf_c_boolean *)kp ? "true" : "false";
            break;
        default: {
            struct json_object *num = element_to_json(c, &ed->fields[0], kp);
            snprintf(key, sizeof(key), "%s", json_object_to_json_string(num));
            json_object_put(num);
            break;
        }
        }
        const ProtobufCFieldDescriptor *vf = &ed->fields[1];
        struct json_object *val = NULL;
        if (vf->type != PROTOBUF_C_TYPE_MESSAGE ||
            *(ProtobufCMessage *const *)CMEMBER(entry, vf->offset))
            val = element_to_json(c, vf, CMEMBER(entry, vf->offset));
        else
            val = json_object_new_object();
        json_object_object_add(o, k, val);
    }
    return o;
}

static struct json_object *field_to_json(struct enc *c, const ProtobufCMessage *msg,
                                         const ProtobufCFieldDescriptor *f)
{
    if (pbjson_field_is_map(f))
        return map_to_json(c, msg, f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        struct json_object *a = json_object_new_array();
        size_t n = pbjson_repeated_count(msg, f), size = pbjson_type_size(f->type);
        const char *arr = pbjson_repeated_array(msg, f);
        for (size_t i = 0; i < n; i++)
            json_object_array_add(a, element_to_json(c, f, arr + i * size));
        return a;
    }
    return element_to_json(c, f, CMEMBER(msg, f->offset));
}

/* Adds f under name if it is set, or if defaults are wanted. */
static void add_field(struct enc *c, struct json_object *o, const ProtobufCMessage *msg,
                      const ProtobufCFieldDescriptor *f, const char *name, unsigned flags)
{
    if (!pbjson_field_is_set(msg, f)) {
        bool want = (c->opts->flags & PBJSON_EMIT_DEFAULTS) || (flags & PBJSON_FIELD_ALWAYS);
        if (!want || pbjson_is_oneof(f) ||
            (f->type == PROTOBUF_C_TYPE_MESSAGE && f->label != PROTOBUF_C_LABEL_REPEATED))
            return;
    }
    json_object_object_add(o, name, field_to_json(c, msg, f));
}

static struct json_object *message_to_json(struct enc *c, const ProtobufCMessage *msg)
{
    if (!msg || c->depth >= 2 * PBJSON_MAX_DEPTH)
        return NULL;
    c->depth++;
    struct json_object *o = json_object_new_object();
    const ProtobufCMessageDescriptor *desc = msg->descriptor;
    const struct pbjson_rename *rn = pbjson_schema_lookup(c->opts, desc);

    if (rn) {
        for (size_t i = 0; i < rn->n_names; i++) {
            const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(desc, rn->names[i].field);
            if (f)
                add_field(c, o, msg, f, rn->names[i].json, rn->names[i].flags);
        }
    } else {
        for (unsigned i = 0; i < desc->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &desc->fields[i];
            char name[128];
            size_t len = strlen(f->name);
            snprintf(name, sizeof(name), "%s", f->name);
            if (len > 1 && len < sizeof(name) && name[len - 1] == '_')
                name[len - 1] = '\0';
            add_field(c, o, msg, f, name, 0);
        }
    }
    c->depth--;
    return o;
}

struct json_object *pbjson_to_json(const ProtobufCMessage *msg, const struct pbjson_opts *opts)
{
    static const struct pbjson_opts defaults;
    struct enc c = {.opts = opts ? opts : &defaults};
    return message_to_json(&c, msg);
}

char *pbjson_to_string(const ProtobufCMessage *msg, const struct pbjson_opts *opts,
                       int json_c_flags)
{
    struct json_object *o = pbjson_to_json(msg, opts);
    if (!o)
        return xstrdup("null");
    char *s =
        xstrdup(json_object_to_json_string_ext(o, json_c_flags | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}
