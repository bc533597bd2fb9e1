/* pbjson: values typed as text (command-line "key=value", map keys, numbers
 * written as JSON strings), base64, and the field paths of pbjson_set(). */
#include "lib/pbjson-internal.h"
#include "lib/pbjson.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/hex.h"
#include "lib/xalloc.h"

/* ---- numbers, booleans, enums ---- */

const char *pbjson_store_int(const ProtobufCFieldDescriptor *f, int64_t i, uint64_t u,
                             union pbjson_scalar *out)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (i < INT32_MIN || i > INT32_MAX)
            return "value out of range for a 32-bit integer";
        out->i32 = (int32_t)i;
        return NULL;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (u > UINT32_MAX)
            return "value out of range for an unsigned 32-bit integer";
        out->u32 = (uint32_t)u;
        return NULL;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        out->i64 = i;
        return NULL;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        out->u64 = u;
        return NULL;
    case PROTOBUF_C_TYPE_ENUM:
        if (i < INT32_MIN || i > INT32_MAX)
            return "enum number out of range";
        out->en = (int)i;
        return NULL;
    default:
        return "expected integer";
    }
}

static bool all_digits(const char *p, int base)
{
    if (!*p)
        return false;
    for (; *p; p++) {
        bool ok = (*p >= '0' && *p <= '9') ||
                  (base == 16 && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')));
        if (!ok)
            return false;
    }
    return true;
}

/* Decimal or 0x hex, with a '-' for signed types only. */
static const char *int_from_text(const ProtobufCFieldDescriptor *f, const char *text,
                                 union pbjson_scalar *out)
{
    bool is_unsigned = pbjson_type_is_unsigned(f->type);
    const char *want = is_unsigned ? "expected unsigned integer" : "expected integer";
    bool neg = text[0] == '-';
    const char *p = text + (neg ? 1 : 0);
    int base = 10;

    if (neg && is_unsigned)
        return want;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (!all_digits(p, base))
        return want;
    errno = 0;
    unsigned long long mag = strtoull(p, NULL, base);
    if (errno == ERANGE)
        return "value out of range";
    int64_t i = 0;
    if (neg) {
        if (mag > (uint64_t)INT64_MAX + 1)
            return "value out of range";
        i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    } else if (!is_unsigned) {
        if (mag > (uint64_t)INT64_MAX)
            return "value out of range";
        i = (int64_t)mag;
    }
    return pbjson_store_int(f, i, (uint64_t)mag, out);
}

static const char *float_from_text(const ProtobufCFieldDescriptor *f, const char *text,
                                   union pbjson_scalar *out)
{
    double x;
    if (!strcmp(text, "NaN")) {
        x = NAN;
    } else if (!strcmp(text, "Infinity")) {
        x = INFINITY;
    } else if (!strcmp(text, "-Infinity")) {
        x = -INFINITY;
    } else {
        /* strtod also takes "inf", "nan" and hex floats: allow only the
         * characters of a JSON number. */
        if (!*text || strspn(text, "0123456789+-.eE") != strlen(text))
            return "expected number";
        char *end = NULL;
        errno = 0;
        x = strtod(text, &end);
        if (*end)
            return "expected number";
        if (errno == ERANGE && isinf(x))
            return "value out of range";
    }
    if (f->type == PROTOBUF_C_TYPE_FLOAT) {
        if (isfinite(x) && fabs(x) > 3.4028234663852886e38)
            return "value out of range for float";
        out->f = (float)x;
    } else {
        out->d = x;
    }
    return NULL;
}

static const char *bytes_from_text(const char *text, ProtobufCBinaryData *out)
{
    size_t len = strlen(text);
    if (!strncmp(text, "base64:", 7))
        return pbjson_base64_decode(text + 7, len - 7, out) < 0 ? "invalid base64" : NULL;
    if (!strncmp(text, "hex:", 4)) {
        text += 4;
        len -= 4;
        if (len % 2)
            return "odd number of hex digits";
        uint8_t *data = len ? xmalloc(len / 2) : NULL;
        for (size_t i = 0; i < len / 2; i++) {
            int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                free(data);
                return "invalid hex digit";
            }
            data[i] = (uint8_t)(hi << 4 | lo);
        }
        out->data = data;
        out->len = len / 2;
        return NULL;
    }
    out->data = len ? xmemdup(text, len) : NULL;
    out->len = len;
    return NULL;
}

const char *pbjson_scalar_from_text(const ProtobufCFieldDescriptor *f, const char *text,
                                    union pbjson_scalar *out)
{
    memset(out, 0, sizeof(*out));
    switch (f->type) {
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        return float_from_text(f, text, out);
    case PROTOBUF_C_TYPE_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            out->b = 1;
        else if (strcmp(text, "false") != 0 && strcmp(text, "0") != 0)
            return "expected true or false";
        return NULL;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, text);
        if (ev) {
            out->en = ev->value;
            return NULL;
        }
        return int_from_text(f, text, out) ? "unknown enum value" : NULL;
    }
    case PROTOBUF_C_TYPE_STRING:
        out->s = xstrdup(text);
        return NULL;
    case PROTOBUF_C_TYPE_BYTES:
        return bytes_from_text(text, &out->bytes);
    case PROTOBUF_C_TYPE_MESSAGE:
        return "expected a JSON object";
    default:
        return int_from_text(f, text, out);
    }
}

/* ---- base64 ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pbjson_base64_encode(const uint8_t *data, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = b64_alphabet[(v >> 6) & 63];
        *o++ = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0);
        *o++ = b64_alphabet[v >> 18];
        *o++ = b64_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int pbjson_base64_decode(const char *text, size_t len, ProtobufCBinaryData *ret)
{
    if (len % 4 == 0 && len >= 2 && text[len - 1] == '=')
        len -= text[len - 2] == '=' ? 2 : 1;
    if (len % 4 == 1)
        return -EINVAL;
    uint8_t *out = xmalloc(len / 4 * 3 + 3);
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(text[i]);
        if (v < 0) {
            free(out);
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (n == 0) {
        free(out);
        out = NULL;
    }
    ret->data = out;
    ret->len = n;
    return 0;
}

/* ---- pbjson_set ---- */

/* A field from JSON text, which must parse. */
static int set_from_json_text(struct pbjson_dec *d, ProtobufCMessage *msg,
                              const ProtobufCFieldDescriptor *f, const char *text)
{
    struct err pe = ERR_INIT;
    struct json_object *v = NULL;
    if (pbjson_parse(text, strlen(text), &v, &pe) < 0)
        return pbjson_fail(d, "%s", err_msg(&pe));
    int r = pbjson_set_json(d, msg, f, v);
    json_object_put(v);
    return r;
}

/* One element of a repeated field from text into a zeroed slot. */
static int element_from_text(struct pbjson_dec *d, const ProtobufCFieldDescriptor *f,
                             const char *text, union pbjson_scalar *out)
{
    memset(out, 0, sizeof(*out));
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        /* Parse into a scratch message so the field is untouched on error. */
        out->m = pbjson_message_new(f->descriptor);
        struct err pe = ERR_INIT;
        struct json_object *v = NULL;
        int r = pbjson_parse(text, strlen(text), &v, &pe);
        if (r < 0) {
            pbjson_value_free(f, out);
            return pbjson_fail(d, "%s", err_msg(&pe));
        }
        r = pbjson_merge(out->m, v, d->opts, d->e);
        json_object_put(v);
        if (r < 0)
            pbjson_value_free(f, out);
        return r;
    }
    const char *problem = pbjson_scalar_from_text(f, text, out);
    return problem ? pbjson_fail(d, "%s (got \"%.64s\")", problem, text) : 0;
}

static int set_from_text(struct pbjson_dec *d, ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *f, const char *text)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (pbjson_field_is_map(f) || text[0] == '[')
            return set_from_json_text(d, msg, f, text);
        union pbjson_scalar v;
        int r = element_from_text(d, f, text, &v);
        if (r < 0)
            return r;
        memcpy(pbjson_repeated_append(msg, f), &v, pbjson_type_size(f->type));
        return 0;
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return set_from_json_text(d, msg, f, text);
    union pbjson_scalar v;
    const char *problem = pbjson_scalar_from_text(f, text, &v);
    if (problem)
        return pbjson_fail(d, "%s (got \"%.64s\")", problem, text);
    pbjson_store(msg, f, &v);
    return 0;
}

/* The entry of map field f whose key is key; added when missing. */
static int map_entry(struct pbjson_dec *d, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     const char *key, ProtobufCMessage **ret_entry)
{
    const ProtobufCFieldDescriptor *kf = &pbjson_entry_desc(f)->fields[0];
    ProtobufCMessage *probe = NULL;
    int r = pbjson_map_entry_new(d, f, key, &probe);
    if (r < 0)
        return r;
    size_t n = pbjson_repeated_count(msg, f), size = pbjson_type_size(kf->type);
    ProtobufCMessage **arr = pbjson_repeated_array(msg, f);
    const void *pk = (const char *)probe + kf->offset;
    for (size_t i = 0; i < n; i++) {
        const void *ek = (const char *)arr[i] + kf->offset;
        bool same = kf->type == PROTOBUF_C_TYPE_STRING
                        ? strcmp(*(char *const *)ek, *(char *const *)pk) == 0
                        : memcmp(ek, pk, size) == 0;
        if (same) {
            protobuf_c_message_free_unpacked(probe, NULL);
            *ret_entry = arr[i];
            return 0;
        }
    }
    *(ProtobufCMessage **)pbjson_repeated_append(msg, f) = probe;
    *ret_entry = probe;
    return 0;
}

/* The element "[sub]" of f selects: a map entry's value or a repeated
 * field's element (index == length appends). When last, sets it from text;
 * otherwise returns the message to descend into through *ret_next. */
static int set_element(struct pbjson_dec *d, ProtobufCMessage *msg,
                       const ProtobufCFieldDescriptor *f, const char *sub, bool last,
                       const char *text, ProtobufCMessage **ret_next)
{
    if (pbjson_field_is_map(f)) {
        ProtobufCMessage *entry = NULL;
        int r = map_entry(d, msg, f, sub, &entry);
        if (r < 0)
            return r;
        const ProtobufCFieldDescriptor *vf = &pbjson_entry_desc(f)->fields[1];
        if (last)
            return set_from_text(d, entry, vf, text);
        if (vf->type != PROTOBUF_C_TYPE_MESSAGE)
            return pbjson_fail(d, "map values of \"%s\" have no fields", f->name);
        *ret_next = pbjson_submessage(entry, vf);
        return 0;
    }
    if (f->label != PROTOBUF_C_LABEL_REPEATED)
        return pbjson_fail(d, "\"%s\" is neither a list nor a map", f->name);
    size_t n = pbjson_repeated_count(msg, f), size = pbjson_type_size(f->type);
    if (!all_digits(sub, 10) || strlen(sub) > 9 || strtoul(sub, NULL, 10) > n)
        return pbjson_fail(d, "bad index [%s] for \"%s\" (length %zu)", sub, f->name, n);
    size_t idx = strtoul(sub, NULL, 10);
    if (!last && f->type != PROTOBUF_C_TYPE_MESSAGE)
        return pbjson_fail(d, "elements of \"%s\" have no fields", f->name);
    union pbjson_scalar v = {0};
    if (last) {
        int r = element_from_text(d, f, text, &v);
        if (r < 0)
            return r;
    } else if (idx == n) {
        v.m = pbjson_message_new(f->descriptor);
    }
    if (idx == n) {
        memcpy(pbjson_repeated_append(msg, f), &v, size);
    } else if (last) {
        char *slot = (char *)pbjson_repeated_array(msg, f) + idx * size;
        union pbjson_scalar old;
        memcpy(&old, slot, size);
        pbjson_value_free(f, &old);
        memcpy(slot, &v, size);
    }
    if (!last)
        *ret_next = ((ProtobufCMessage **)pbjson_repeated_array(msg, f))[idx];
    return 0;
}

/* The "]" closing a "[...]" that starts at p: the first one followed by
 * '.', '[' or the end, so map keys may hold dots and brackets. */
static char *find_close(char *p)
{
    for (char *q = strchr(p, ']'); q; q = strchr(q + 1, ']'))
        if (q[1] == '\0' || q[1] == '.' || q[1] == '[')
            return q;
    return NULL;
}

int pbjson_set(ProtobufCMessage *msg, const char *path, const char *text, struct err *e)
{
    static const struct pbjson_opts defaults;
    struct pbjson_dec d = {.opts = &defaults, .e = e};
    _cleanup_free_ char *buf = xstrdup(path);
    char *p = buf;

    pbjson_path_push(&d.path, "%s", path);
    for (;;) {
        char *name = p;
        size_t nlen = strcspn(p, ".[");
        char sep = p[nlen];
        char *sub = NULL;
        p[nlen] = '\0';
        p += nlen + (sep ? 1 : 0);
        if (!*name)
            return pbjson_fail(&d, "empty field name");
        const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, name);
        if (!f)
            return pbjson_fail(&d, "unknown field \"%s\" (%s has no such field)", name,
                               msg->descriptor->name);
        if (sep == '[') {
            char *close = find_close(p);
            if (!close)
                return pbjson_fail(&d, "missing ']'");
            *close = '\0';
            sub = p;
            sep = close[1];
            p = close + (sep ? 2 : 1);
            if (sep == '[')
                return pbjson_fail(&d, "one [...] per field only");
        }
        bool last = sep == '\0';
        if (last && !sub)
            return set_from_text(&d, msg, f, text);
        if (sub) {
            ProtobufCMessage *next = NULL;
            int r = set_element(&d, msg, f, sub, last, text, &next);
            if (r < 0 || last)
                return r;
            msg = next;
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED)
            return pbjson_fail(&d, "\"%s\" has no fields%s", name,
                               f->label == PROTOBUF_C_LABEL_REPEATED ? " (index it: [N])" : "");
        msg = pbjson_submessage(msg, f);
    }
}
