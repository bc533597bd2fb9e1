/* Fuzz target: OCI config.json bytes -> grpc.Spec (lib/oci_spec_json.c), and
 * the same bytes as a CreateContainerRequest in pbjson's own naming. Whatever
 * parses must print, and the printed JSON must parse back to the same
 * message (compared on the wire). */
#include <assert.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "kata/agent.pb-c.h"
#include "lib/err.h"
#include "lib/oci_spec_json.h"
#include "lib/pbjson.h"
#include "tests/fuzz/fuzz.h"

static void assert_same_wire(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = protobuf_c_message_get_packed_size(a);
    size_t lb = protobuf_c_message_get_packed_size(b);
    assert(la == lb);
    uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);
    assert(pa && pb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    assert(memcmp(pa, pb, la) == 0);
    free(pa);
    free(pb);
}

static void fuzz_oci(const char *text, size_t size)
{
    Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    if (oci_spec_json_parse(text, size, &spec, &e) < 0) {
        assert(e.code < 0 && e.msg[0]);
        return;
    }
    char *out = oci_spec_json_format(spec, JSON_C_TO_STRING_PLAIN);
    Grpc__Spec *again = NULL;
    int r = oci_spec_json_parse(out, strlen(out), &again, &e);
    assert(r == 0);
    assert_same_wire(&spec->base, &again->base);
    free(out);
    oci_spec_json_free(again);
    oci_spec_json_free(spec);
}

static void fuzz_request(const char *text, size_t size)
{
    const ProtobufCMessageDescriptor *d = &grpc__create_container_request__descriptor;
    ProtobufCMessage *m = NULL, *again = NULL;
    struct err e = ERR_INIT;
    if (pbjson_from_string(d, text, size, NULL, &m, &e) < 0)
        return;
    char *out = pbjson_to_string(m, NULL, JSON_C_TO_STRING_PLAIN);
    int r = pbjson_from_string(d, out, strlen(out), NULL, &again, &e);
    assert(r == 0);
    assert_same_wire(m, again);
    free(out);
    protobuf_c_message_free_unpacked(again, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_oci((const char *)data, size);
    fuzz_request((const char *)data, size);
    return 0;
}
