/* Hand-written protobuf encoding of the two ttRPC envelopes, see envelope.h.
 * Field numbers: Request{service 1, method 2, payload 3, timeout_nano 4,
 * metadata 5 (KeyValue{key 1, value 2})}, Response{status 1
 * (google.rpc.Status{code 1, message 2}), payload 2}. */
#include "lib/ttrpc/envelope.h"

#include <string.h>

#define WIRE_VARINT 0u
#define WIRE_LEN 2u

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *put_tag(uint8_t *p, uint32_t field, uint32_t wire)
{
    return put_varint(p, (uint64_t)(field << 3 | wire));
}

/* Size of a length-delimited field of `len` bytes (fields 1-15: one tag byte). */
static size_t len_field_size(size_t len)
{
    return 1 + varint_size(len) + len;
}

static uint8_t *put_bytes_field(uint8_t *p, uint32_t field, const void *data, size_t len)
{
    p = put_tag(p, field, WIRE_LEN);
    p = put_varint(p, len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

static size_t kv_size(const struct ttrpc_kv *kv)
{
    return len_field_size(strlen(kv->key)) + len_field_size(strlen(kv->value));
}

size_t ttrpc_envelope_request_size(const struct ttrpc_request_fields *f)
{
    size_t n = len_field_size(strlen(f->service)) + len_field_size(strlen(f->method));
    if (f->payload_size)
        n += len_field_size(f->payload_size);
    if (f->timeout_nano)
        n += 1 + varint_size((uint64_t)f->timeout_nano);
    for (size_t i = 0; i < f->n_metadata; i++)
        n += len_field_size(kv_size(&f->metadata[i]));
    return n;
}

void ttrpc_envelope_request_encode(const struct ttrpc_request_fields *f, uint8_t *out)
{
    uint8_t *p = out;
    p = put_bytes_field(p, 1, f->service, strlen(f->service));
    p = put_bytes_field(p, 2, f->method, strlen(f->method));
    if (f->payload_size) {
        p = put_tag(p, 3, WIRE_LEN);
        p = put_varint(p, f->payload_size);
        p += protobuf_c_message_pack(f->payload, p);
    }
    if (f->timeout_nano) {
        p = put_tag(p, 4, WIRE_VARINT);
        p = put_varint(p, (uint64_t)f->timeout_nano);
    }
    for (size_t i = 0; i < f->n_metadata; i++) {
        const struct ttrpc_kv *kv = &f->metadata[i];
        p = put_tag(p, 5, WIRE_LEN);
        p = put_varint(p, kv_size(kv));
        p = put_bytes_field(p, 1, kv->key, strlen(kv->key));
        p = put_bytes_field(p, 2, kv->value, strlen(kv->value));
    }
}

/* google.rpc.Status{code, message}; int32 codes are sign-extended varints. */
static size_t status_size(int code, const char *message)
{
    size_t n = 0;
    if (code)
        n += 1 + varint_size((uint64_t)(int64_t)code);
    size_t mlen = strlen(message);
    if (mlen)
        n += len_field_size(mlen);
    return n;
}

size_t ttrpc_envelope_response_size(int code, const char *message, size_t payload_size)
{
    size_t n = 0;
    if (code != TTRPC_OK)
        n += len_field_size(status_size(code, message));
    if (payload_size)
        n += len_field_size(payload_size);
    return n;
}

void ttrpc_envelope_response_encode(int code, const char *message,
                                    const ProtobufCMessage *payload, size_t payload_size,
                                    uint8_t *out)
{
    uint8_t *p = out;
    if (code != TTRPC_OK) {
        p = put_tag(p, 1, WIRE_LEN);
        p = put_varint(p, status_size(code, message));
        p = put_tag(p, 1, WIRE_VARINT);
        p = put_varint(p, (uint64_t)(int64_t)code);
        size_t mlen = strlen(message);
        if (mlen)
            p = put_bytes_field(p, 2, message, mlen);
    }
    if (payload_size) {
        p = put_tag(p, 2, WIRE_LEN);
        p = put_varint(p, payload_size);
        protobuf_c_message_pack(payload, p);
    }
}
