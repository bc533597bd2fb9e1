/* Descriptor-driven protobuf-c <-> JSON; see pbjson.h. This file holds
 * field storage (what protobuf-c's structs look like in memory) and JSON to
 * message. Message to JSON is pbjson_write.c; values typed as text
 * (pbjson_set(), map keys, numbers in strings) and base64 are pbjson_text.c. */
#include "lib/pbjson.h"
#include "lib/pbjson-internal.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/fd.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define MEMBER(msg, off) ((void *)((char *)(msg) + (off)))
#define CMEMBER(msg, off) ((const void *)((const char *)(msg) + (off)))

/* ---- field storage ---- */

size_t pbjson_type_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT:
        return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
        return sizeof(int); /* PROTOBUF_C__FORCE_ENUM_TO_BE_INT_SIZE */
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    return 0;
}

static bool is_oneof(const ProtobufCFieldDescriptor *f)
{
    return pbjson_is_oneof(f);
}

/* proto2 optional scalars and bytes carry a has_ flag at quantifier_offset. */
static bool has_flag(const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_OPTIONAL && !is_oneof(f) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

static uint32_t *oneof_case(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    return MEMBER(msg, f->quantifier_offset);
}

size_t pbjson_repeated_count(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    return *(const size_t *)CMEMBER(msg, f->quantifier_offset);
}

void *pbjson_repeated_array(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    return *(void *const *)CMEMBER(msg, f->offset);
}

/* protoc-c names a map's entry message "<CamelCaseField>Entry" with fields
 * key = 1 and value = 2; the descriptor carries no map_entry option. */
bool pbjson_field_is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    if (ed->n_fields != 2 || ed->fields[0].id != 1 || ed->fields[1].id != 2 ||
        strcmp(ed->fields[0].name, "key") != 0 || strcmp(ed->fields[1].name, "value") != 0 ||
        ed->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
        ed->fields[1].label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    const char *n = ed->short_name;
    bool upper = true;
    for (const char *p = f->name; *p; p++) {
        if (*p == '_') {
            upper = true;
            continue;
        }
        char want = upper && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        if (*n++ != want)
            return false;
        upper = false;
    }
    return strcmp(n, "Entry") == 0;
}

static void free_elements(const ProtobufCFieldDescriptor *f, void *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f->type == PROTOBUF_C_TYPE_STRING)
            free(((char **)arr)[i]);
        else if (f->type == PROTOBUF_C_TYPE_BYTES)
            free(((ProtobufCBinaryData *)arr)[i].data);
        else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
            protobuf_c_message_free_unpacked(((ProtobufCMessage **)arr)[i], NULL);
    }
}

void pbjson_value_free(const ProtobufCFieldDescriptor *f, union pbjson_scalar *v)
{
    free_elements(f, v, 1);
}

void pbjson_field_clear(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    void *slot = MEMBER(msg, f->offset);
    size_t size = pbjson_type_size(f->type);

    if (is_oneof(f)) {
        uint32_t *c = oneof_case(msg, f);
        if (*c != f->id)
            return; /* the storage belongs to another member */
        free_elements(f, slot, 1);
        memset(slot, 0, size);
        *c = 0;
        return;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t *n = MEMBER(msg, f->quantifier_offset);
        void **arr = slot;
        free_elements(f, *arr, *n);
        free(*arr);
        *arr = NULL;
        *n = 0;
        return;
    }
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        char **s = slot;
        if (*s && *s != f->default_value)
            free(*s);
        *s = (char *)f->default_value;
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *b = slot;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (!def || def->data != b->data))
            free(b->data);
        if (def)
            *b = *def;
        else
            memset(b, 0, sizeof(*b));
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        protobuf_c_message_free_unpacked(*(ProtobufCMessage **)slot, NULL);
        *(ProtobufCMessage **)slot = NULL;
        break;
    default:
        if (f->default_value)
            memcpy(slot, f->default_value, size);
        else
            memset(slot, 0, size);
        break;
    }
    if (has_flag(f))
        *(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset) = 0;
}

/* Makes f's storage free for a new value: clears it and, for a oneof,
 * whichever other member was selected. */
static void field_prepare(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    if (is_oneof(f)) {
        uint32_t *c = oneof_case(msg, f);
        if (*c != 0 && *c != f->id) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field(msg->descriptor, *c);
            if (other)
                pbjson_field_clear(msg, other);
            else
                *c = 0;
        }
    }
    pbjson_field_clear(msg, f);
}

static void field_mark_present(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    if (is_oneof(f))
        *oneof_case(msg, f) = f->id;
    else if (has_flag(f))
        *(protobuf_c_boolean *)MEMBER(msg, f->quantifier_offset) = 1;
}

void pbjson_store(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                  const union pbjson_scalar *v)
{
    field_prepare(msg, f);
    memcpy(MEMBER(msg, f->offset), v, pbjson_type_size(f->type));
    field_mark_present(msg, f);
}

ProtobufCMessage *pbjson_submessage(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    ProtobufCMessage **slot = MEMBER(msg, f->offset);
    if (is_oneof(f) && *oneof_case(msg, f) != f->id)
        field_prepare(msg, f);
    if (!*slot) {
        *slot = pbjson_message_new(f->descriptor);
        field_mark_present(msg, f);
    }
    return *slot;
}

void *pbjson_repeated_append(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    size_t *n = MEMBER(msg, f->quantifier_offset);
    void **arr = MEMBER(msg, f->offset);
    size_t size = pbjson_type_size(f->type);
    *arr = xrealloc(*arr, (*n + 1) * size);
    void *slot = (char *)*arr + *n * size;
    memset(slot, 0, size);
    (*n)++;
    return slot;
}

void pbjson_repeated_replace(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f, void *arr,
                             size_t n)
{
    pbjson_field_clear(msg, f);
    *(void **)MEMBER(msg, f->offset) = arr;
    *(size_t *)MEMBER(msg, f->quantifier_offset) = n;
}

ProtobufCMessage *pbjson_message_new(const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *m = xzalloc(desc->sizeof_message);
    protobuf_c_message_init(desc, m);
    return m;
}

bool pbjson_field_is_set(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const void *slot = CMEMBER(msg, f->offset);

    if (is_oneof(f))
        return *(const uint32_t *)CMEMBER(msg, f->quantifier_offset) == f->id;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return pbjson_repeated_count(msg, f) > 0;
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return true;
    if (has_flag(f))
        return *(const protobuf_c_boolean *)CMEMBER(msg, f->quantifier_offset) != 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)slot != NULL;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)slot;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
            return s && s != f->default_value;
        return s && *s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)slot)->len > 0;
    default: {
        static const uint8_t zero[sizeof(uint64_t)];
        return memcmp(slot, zero, pbjson_type_size(f->type)) != 0;
    }
    }
}

/* ---- names ---- */

/* protoc's ToJsonName: drop '_' and upper-case the letter after it. */
static bool json_name_equals(const char *field, const char *key)
{
    bool upper = false;
    for (; *field; field++) {
        if (*field == '_') {
            upper = true;
            continue;
        }
        char c = upper && *field >= 'a' && *field <= 'z' ? (char)(*field - 'a' + 'A') : *field;
        if (*key++ != c)
            return false;
        upper = false;
    }
    return *key == '\0';
}

const ProtobufCFieldDescriptor *pbjson_find_field(const ProtobufCMessageDescriptor *desc,
                                                  const char *name)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, name);
    if (f)
        return f;
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (json_name_equals(desc->fields[i].name, name))
            return &desc->fields[i];
    return NULL;
}

const struct pbjson_rename *pbjson_schema_lookup(const struct pbjson_opts *o,
                                                const ProtobufCMessageDescriptor *desc)
{
    if (!o || !o->schema)
        return NULL;
    for (size_t i = 0; i < o->schema->n_messages; i++)
        if (o->schema->messages[i].message == desc)
            return &o->schema->messages[i];
    return NULL;
}

static const ProtobufCFieldDescriptor *
lookup_key(const struct pbjson_opts *o, const ProtobufCMessageDescriptor *desc, const char *key)
{
    const struct pbjson_rename *rn = pbjson_schema_lookup(o, desc);
    if (!rn)
        return pbjson_find_field(desc, key);
    for (size_t i = 0; i < rn->n_names; i++)
        if (strcmp(rn->names[i].json, key) == 0)
            return protobuf_c_message_descriptor_get_field_by_name(desc, rn->names[i].field);
    return NULL;
}

/* ---- error paths ---- */

size_t pbjson_path_push(struct pbjson_path *p, const char *fmt, ...)
{
    size_t mark = p->len;
    if (p->len < sizeof(p->buf) - 1) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
        va_end(ap);
        if (n > 0)
            p->len = MIN(p->len + (size_t)n, sizeof(p->buf) - 1);
    }
    return mark;
}

size_t pbjson_path_push_key(struct pbjson_path *p, const char *key)
{
    return pbjson_path_push(p, p->len ? ".%s" : "%s", key);
}

void pbjson_path_pop(struct pbjson_path *p, size_t mark)
{
    p->len = mark;
    p->buf[mark] = '\0';
}

int pbjson_fail(struct pbjson_dec *d, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set(d->e, -EINVAL, "%s%s%s", d->path.buf, d->path.len ? ": " : "", msg);
}

/* ---- JSON -> message ---- */

static int merge_object(struct pbjson_dec *d, ProtobufCMessage *msg, const struct json_object *obj);

bool pbjson_type_is_unsigned(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
           t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
}

static const char *type_word(const ProtobufCFieldDescriptor *f)
{
    if (pbjson_type_is_unsigned(f->type))
        return "unsigned integer";
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return "number";
    case PROTOBUF_C_TYPE_BOOL:
        return "boolean";
    case PROTOBUF_C_TYPE_ENUM:
        return "enum name or number";
    case PROTOBUF_C_TYPE_STRING:
        return "string";
    case PROTOBUF_C_TYPE_BYTES:
        return "base64 string";
    case PROTOBUF_C_TYPE_MESSAGE:
        return "object";
    default:
        return "integer";
    }
}

/* A JSON integer, read without json-c's silent clamping where we can tell. */
static int int_from_json(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
                         const struct json_object *v, union pbjson_scalar *out)
{
    bool strict = d->opts->flags & PBJSON_STRICT_TYPES;
    enum json_type t = json_object_get_type(v);
    bool is_unsigned = pbjson_type_is_unsigned(f->type);

    if (t == json_type_string && !strict) {
        const char *problem =
            pbjson_scalar_from_text(f, json_object_get_string((struct json_object *)v), out);
        return problem ? pbjson_fail(d, "%s", problem) : 0;
    }
    int64_t i;
    uint64_t u;
    if (t == json_type_int) {
        i = json_object_get_int64(v);
        u = json_object_get_uint64(v);
        if (is_unsigned && i < 0)
            return pbjson_fail(d, "expected %s, got a negative number", type_word(f));
        if (!is_unsigned && i == INT64_MAX && u > (uint64_t)INT64_MAX)
            return pbjson_fail(d, "value out of range for a signed 64-bit integer");
    } else if (t == json_type_double && !strict) {
        double x = json_object_get_double(v);
        if (!isfinite(x) || (is_unsigned ? (x <= -1.0 || x >= 18446744073709551616.0)
                                         : (x < -9223372036854775808.0 ||
                                            x >= 9223372036854775808.0)))
            return pbjson_fail(d, "value out of range");
        /* In range, so the conversions are defined; a fraction does not
         * survive the round trip (no libm needed). */
        i = is_unsigned ? 0 : (int64_t)x;
        u = is_unsigned ? (uint64_t)x : 0;
        if ((is_unsigned ? (double)u : (double)i) != x)
            return pbjson_fail(d, "expected %s, got a fraction", type_word(f));
    } else {
        return pbjson_fail(d, "expected %s", type_word(f));
    }
    const char *problem = pbjson_store_int(f, i, u, out);
    return problem ? pbjson_fail(d, "%s", problem) : 0;
}

static int float_from_json(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
                           const struct json_object *v, union pbjson_scalar *out)
{
    enum json_type t = json_object_get_type(v);
    double x;

    if (t == json_type_string) {
        const char *s = json_object_get_string((struct json_object *)v);
        bool special = !strcmp(s, "NaN") || !strcmp(s, "Infinity") || !strcmp(s, "-Infinity");
        if (!special && (d->opts->flags & PBJSON_STRICT_TYPES))
            return pbjson_fail(d, "expected number");
        const char *problem = pbjson_scalar_from_text(f, s, out);
        return problem ? pbjson_fail(d, "%s", problem) : 0;
    }
    if (t == json_type_int)
        x = json_object_get_int64(v) < 0 ? (double)json_object_get_int64(v)
                                         : (double)json_object_get_uint64(v);
    else if (t == json_type_double)
        x = json_object_get_double(v);
    else
        return pbjson_fail(d, "expected number");
    if (f->type == PROTOBUF_C_TYPE_FLOAT) {
        if (isfinite(x) && fabs(x) > 3.4028234663852886e38)
            return pbjson_fail(d, "value out of range for float");
        out->f = (float)x;
    } else {
        out->d = x;
    }
    return 0;
}

static int scalar_from_json(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
                            const struct json_object *v, union pbjson_scalar *out)
{
    enum json_type t = json_object_get_type(v);

    memset(out, 0, sizeof(*out));
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return float_from_json(d, f, v, out);
    case PROTOBUF_C_TYPE_BOOL:
        if (t != json_type_boolean)
            return pbjson_fail(d, "expected boolean");
        out->b = json_object_get_boolean(v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM:
        if (t == json_type_string) {
            const char *s = json_object_get_string((struct json_object *)v);
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, s);
            if (!ev)
                return pbjson_fail(d, "unknown value \"%.64s\" of enum %s", s,
                                   ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
            out->en = ev->value;
            return 0;
        }
        if (t != json_type_int)
            return pbjson_fail(d, "expected enum name or number");
        int64_t i = json_object_get_int64(v);
        if (i < INT32_MIN || i > INT32_MAX)
            return pbjson_fail(d, "enum number out of range");
        out->en = (int)i;
        return 0;
    case PROTOBUF_C_TYPE_STRING: {
        if (t != json_type_string)
            return pbjson_fail(d, "expected string");
        const char *s = json_object_get_string((struct json_object *)v);
        int len = json_object_get_string_len(v);
        if (len < 0 || strlen(s) != (size_t)len)
            return pbjson_fail(d, "string contains a NUL byte");
        out->s = xstrdup(s);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        if (t != json_type_string)
            return pbjson_fail(d, "expected base64 string");
        const char *s = json_object_get_string((struct json_object *)v);
        int len = json_object_get_string_len(v);
        if (len < 0 || pbjson_base64_decode(s, (size_t)len, &out->bytes) < 0)
            return pbjson_fail(d, "invalid base64");
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return pbjson_fail(d, "expected object");
    default:
        return int_from_json(d, f, v, out);
    }
}

/* One element of a repeated field (or a map value) into *slot. */
static int element_from_json(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
                             const struct json_object *v, void *slot)
{
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (!json_object_is_type(v, json_type_object))
            return pbjson_fail(d, "expected object");
        ProtobufCMessage *m = pbjson_message_new(f->descriptor);
        int r = merge_object(d, m, v);
        if (r < 0) {
            protobuf_c_message_free_unpacked(m, NULL);
            return r;
        }
        *(ProtobufCMessage **)slot = m;
        return 0;
    }
    union pbjson_scalar s;
    int r = scalar_from_json(d, f, v, &s);
    if (r < 0)
        return r;
    memcpy(slot, &s, pbjson_type_size(f->type));
    return 0;
}

int pbjson_map_entry_new(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f, const char *key,
                         ProtobufCMessage **ret_entry)
{
    ProtobufCMessage *entry = pbjson_message_new(f->descriptor);
    const ProtobufCFieldDescriptor *kf = &pbjson_entry_desc(f)->fields[0];
    union pbjson_scalar k;
    const char *problem = pbjson_scalar_from_text(kf, key, &k);
    if (problem) {
        protobuf_c_message_free_unpacked(entry, NULL);
        return pbjson_fail(d, "bad map key: %s", problem);
    }
    pbjson_store(entry, kf, &k);
    *ret_entry = entry;
    return 0;
}

static int map_from_json(struct pbjson_dec *d, ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *f, const struct json_object *v)
{
    if (!json_object_is_type(v, json_type_object))
        return pbjson_fail(d, "expected object");
    const ProtobufCFieldDescriptor *vf = &pbjson_entry_desc(f)->fields[1];
    size_t n = (size_t)json_object_object_length(v), done = 0;
    ProtobufCMessage **arr = n ? xnew(ProtobufCMessage *, n) : NULL;
    int r = 0;

    json_object_object_foreach((struct json_object *)v, key, val)
    {
        size_t mark = pbjson_path_push_key(&d->path, key);
        ProtobufCMessage *entry = NULL;
        r = pbjson_map_entry_new(d, f, key, &entry);
        if (r >= 0) {
            arr[done++] = entry;
            r = pbjson_set_json(d, entry, vf, val);
        }
        pbjson_path_pop(&d->path, mark);
        if (r < 0)
            break;
    }
    if (r < 0) {
        free_elements(f, arr, done);
        free(arr);
        return r;
    }
    pbjson_repeated_replace(msg, f, arr, done);
    return 0;
}

static int repeated_from_json(struct pbjson_dec *d, ProtobufCMessage *msg,
                              const ProtobufCFieldDescriptor *f, const struct json_object *v)
{
    if (pbjson_field_is_map(f))
        return map_from_json(d, msg, f, v);
    if (!json_object_is_type(v, json_type_array))
        return pbjson_fail(d, "expected array");
    size_t n = json_object_array_length(v), size = pbjson_type_size(f->type);
    void *arr = n ? xcalloc(n, size) : NULL;

    for (size_t i = 0; i < n; i++) {
        size_t mark = pbjson_path_push(&d->path, "[%zu]", i);
        int r = element_from_json(d, f, json_object_array_get_idx(v, i), (char *)arr + i * size);
        pbjson_path_pop(&d->path, mark);
        if (r < 0) {
            free_elements(f, arr, i);
            free(arr);
            return r;
        }
    }
    pbjson_repeated_replace(msg, f, arr, n);
    return 0;
}

int pbjson_set_json(struct pbjson_dec *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                    const struct json_object *v)
{
    if (!v) { /* JSON null */
        pbjson_field_clear(msg, f);
        return 0;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return repeated_from_json(d, msg, f, v);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (!json_object_is_type(v, json_type_object))
            return pbjson_fail(d, "expected object");
        return merge_object(d, pbjson_submessage(msg, f), v);
    }
    union pbjson_scalar s;
    int r = scalar_from_json(d, f, v, &s);
    if (r < 0)
        return r;
    pbjson_store(msg, f, &s);
    return 0;
}

static int merge_object(struct pbjson_dec *d, ProtobufCMessage *msg, const struct json_object *obj)
{
    if (!json_object_is_type(obj, json_type_object))
        return pbjson_fail(d, "expected object");
    if (d->depth >= PBJSON_MAX_DEPTH)
        return pbjson_fail(d, "nested too deeply");
    d->depth++;
    json_object_object_foreach((struct json_object *)obj, key, val)
    {
        const ProtobufCFieldDescriptor *f = lookup_key(d->opts, msg->descriptor, key);
        size_t mark = pbjson_path_push_key(&d->path, key);
        int r = 0;
        if (f)
            r = pbjson_set_json(d, msg, f, val);
        else if (d->opts->flags & PBJSON_IGNORE_UNKNOWN)
            log_debug("ignoring unknown JSON field %s", d->path.buf);
        else
            r = pbjson_fail(d, "unknown field (%s has no such field)", msg->descriptor->name);
        pbjson_path_pop(&d->path, mark);
        if (r < 0)
            return r;
    }
    d->depth--;
    return 0;
}

int pbjson_merge(ProtobufCMessage *msg, const struct json_object *obj,
                 const struct pbjson_opts *opts, struct err *e)
{
    static const struct pbjson_opts defaults;
    struct pbjson_dec d = {.opts = opts ? opts : &defaults, .e = e};
    return merge_object(&d, msg, obj);
}

int pbjson_parse(const char *text, size_t len, struct json_object **ret_obj, struct err *e)
{
    if (len > PBJSON_MAX_TEXT)
        return err_set(e, -E2BIG, "JSON text of %zu bytes is over the %u byte limit", len,
                       PBJSON_MAX_TEXT);
    struct json_tokener *tok = json_tokener_new_ex(PBJSON_MAX_DEPTH);
    if (!tok)
        return err_set(e, -ENOMEM, "out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* json-c needs the terminating NUL to finish a top-level number. */
    char *copy = xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = '\0';
    struct json_object *obj = json_tokener_parse_ex(tok, copy, (int)(len + 1));
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    free(copy);
    if (je != json_tokener_success) {
        json_object_put(obj);
        if (je == json_tokener_continue)
            return err_set(e, -EINVAL, "JSON: unexpected end of text");
        return err_set(e, -EINVAL, "JSON syntax error at offset %zu: %s", end,
                       json_tokener_error_desc(je));
    }
    /* A NUL inside the text stops json-c early; anything after it is junk. */
    if (end < len) {
        json_object_put(obj);
        return err_set(e, -EINVAL, "JSON syntax error at offset %zu: unexpected NUL byte", end);
    }
    *ret_obj = obj;
    return 0;
}

int pbjson_parse_file(const char *path, struct json_object **ret_obj, struct err *e)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set(e, -errno, "cannot open %s: %s", path, strerror(errno));
    /* Read one byte past the limit to tell "too big" from "exactly full";
     * a pipe or /dev/stdin works too, so no fstat size is trusted. */
    size_t cap = 65536, len = 0;
    _cleanup_free_ char *buf = xmalloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap > PBJSON_MAX_TEXT)
                return err_set(e, -E2BIG, "%s: over the %u byte limit", path, PBJSON_MAX_TEXT);
            cap = MIN(cap * 2, (size_t)PBJSON_MAX_TEXT + 1);
            buf = xrealloc(buf, cap);
        }
        ssize_t n = fd_read_full(fd, buf + len, cap - len);
        if (n < 0)
            return err_set(e, (int)n, "cannot read %s: %s", path, strerror((int)-n));
        if (n == 0)
            break;
        len += (size_t)n;
    }
    struct err pe = ERR_INIT;
    int r = pbjson_parse(buf, len, ret_obj, &pe);
    if (r < 0)
        return err_set(e, r, "%s: %s", path, err_msg(&pe));
    return 0;
}

int pbjson_from_string(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                       const struct pbjson_opts *opts, ProtobufCMessage **ret_msg, struct err *e)
{
    struct json_object *obj = NULL;
    int r = pbjson_parse(text, len, &obj, e);
    if (r < 0)
        return r;
    ProtobufCMessage *m = pbjson_message_new(desc);
    r = pbjson_merge(m, obj, opts, e);
    json_object_put(obj);
    if (r < 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        return r;
    }
    *ret_msg = m;
    return 0;
}
