/* ttrpc.Request / ttrpc.Response envelopes (internal to lib/ttrpc).
 *
 * Encoding is written by hand so a payload message is packed once, straight
 * into the output buffer, instead of being packed and then copied into an
 * envelope. Decoding of untrusted bytes goes through protobuf-c's generated
 * unpackers. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ttrpc/ttrpc.h"

struct ttrpc_request_fields {
    const char *service;
    const char *method;
    const ProtobufCMessage *payload; /* may be NULL: empty payload */
    size_t payload_size;             /* protobuf_c_message_get_packed_size(payload) */
    int64_t timeout_nano;
    const struct ttrpc_kv *metadata;
    size_t n_metadata;
};

size_t ttrpc_envelope_request_size(const struct ttrpc_request_fields *f);
/* Writes exactly ttrpc_envelope_request_size(f) bytes at out. */
void ttrpc_envelope_request_encode(const struct ttrpc_request_fields *f, uint8_t *out);

/* A response carries either a payload (status OK) or a status. */
size_t ttrpc_envelope_response_size(int code, const char *message, size_t payload_size);
void ttrpc_envelope_response_encode(int code, const char *message,
                                    const ProtobufCMessage *payload, size_t payload_size,
                                    uint8_t *out);
