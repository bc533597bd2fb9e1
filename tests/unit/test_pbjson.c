/* lib/pbjson: protobuf-c messages <-> JSON for every agent API message, and
 * each class of bad input named by its JSON path. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/err.h"
#include "lib/pbjson.h"
#include "tests/harness/harness.h"

static const struct pbjson_opts emit_defaults = {.flags = PBJSON_EMIT_DEFAULTS};

static ProtobufCMessage *parse_msg(const ProtobufCMessageDescriptor *d, const char *text,
                                   struct err *e)
{
    ProtobufCMessage *m = NULL;
    if (pbjson_from_string(d, text, strlen(text), NULL, &m, e) < 0)
        return NULL;
    return m;
}

/* The error message parsing text gives, or "" when it parses. Static. */
static const char *parse_error(const ProtobufCMessageDescriptor *d, const char *text)
{
    static struct err e;
    err_clear(&e);
    ProtobufCMessage *m = parse_msg(d, text, &e);
    if (m) {
        protobuf_c_message_free_unpacked(m, NULL);
        return "";
    }
    return err_msg(&e);
}

#define ASSERT_PREFIX(s, prefix)                                                                   \
    do {                                                                                           \
        const char *_s = (s), *_p = (prefix);                                                      \
        if (strncmp(_s, _p, strlen(_p)) != 0) {                                                    \
            test_fail_at(__FILE__, __LINE__, "\"%s\" does not start with \"%s\"", _s, _p);         \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static bool packed_equal(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = protobuf_c_message_get_packed_size(a), lb = protobuf_c_message_get_packed_size(b);
    if (la != lb)
        return false;
    uint8_t *pa = malloc(la + 1), *pb = malloc(lb + 1);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    bool eq = memcmp(pa, pb, la) == 0;
    free(pa);
    free(pb);
    return eq;
}

/* ---- a generated value for every field of every agent message ---- */

static struct json_object *gen_message(const ProtobufCMessageDescriptor *d, unsigned depth);

static struct json_object *gen_value(const ProtobufCFieldDescriptor *f, unsigned depth, int v)
{
    static const uint8_t raw[] = {0, 1, 0xfe, 0xff, 'x'};
    char buf[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_object_new_int64(-2000000000 + v);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_object_new_int64(4000000000LL + v);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return json_object_new_int64(-9000000000000000000LL + v);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return json_object_new_uint64(18000000000000000000ULL + (uint64_t)v);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_object_new_double(1.5 + v);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_object_new_double(0.1 + v);
    case PROTOBUF_C_TYPE_BOOL:
        return json_object_new_boolean(1);
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        return json_object_new_string(ed->values[ed->n_values - 1].name);
    }
    case PROTOBUF_C_TYPE_STRING:
        snprintf(buf, sizeof(buf), "%s-\xc3\xbc-\"%d\"", f->name, v);
        return json_object_new_string(buf);
    case PROTOBUF_C_TYPE_BYTES:
        /* base64 of raw[0..4+v%2] */
        return json_object_new_string(v % 2 ? "AAH+/3g=" : "AAH+/w==");
    case PROTOBUF_C_TYPE_MESSAGE:
        return gen_message(f->descriptor, depth + 1);
    }
    (void)raw;
    return NULL;
}

static bool is_map(const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return false;
    const ProtobufCMessageDescriptor *d = f->descriptor;
    size_t l = strlen(d->name);
    return d->n_fields == 2 && l > 5 && !strcmp(d->name + l - 5, "Entry");
}

static struct json_object *gen_message(const ProtobufCMessageDescriptor *d, unsigned depth)
{
    struct json_object *o = json_object_new_object();
    unsigned oneofs_seen[16];
    size_t n_oneofs = 0;

    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char name[64];
        snprintf(name, sizeof(name), "%s", f->name);
        size_t len = strlen(name);
        if (len > 1 && name[len - 1] == '_')
            name[len - 1] = '\0';
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth >= 6)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            bool seen = false;
            for (size_t k = 0; k < n_oneofs; k++)
                seen = seen || oneofs_seen[k] == f->quantifier_offset;
            if (seen)
                continue;
            oneofs_seen[n_oneofs++] = f->quantifier_offset;
        }
        struct json_object *v;
        if (is_map(f)) {
            const ProtobufCMessageDescriptor *ed = f->descriptor;
            v = json_object_new_object();
            for (int k = 0; k < 2; k++) {
                char key[16];
                if (ed->fields[0].type == PROTOBUF_C_TYPE_STRING)
                    snprintf(key, sizeof(key), "k.%d", k);
                else if (ed->fields[0].type == PROTOBUF_C_TYPE_BOOL)
                    snprintf(key, sizeof(key), "%s", k ? "true" : "false");
                else
                    snprintf(key, sizeof(key), "%d", k + 7);
                json_object_object_add(v, key, gen_value(&ed->fields[1], depth, k));
            }
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            v = json_object_new_array();
            json_object_array_add(v, gen_value(f, depth, 0));
            json_object_array_add(v, gen_value(f, depth, 1));
        } else {
            v = gen_value(f, depth, 0);
        }
        json_object_object_add(o, name, v);
    }
    return o;
}

/* JSON -> message -> wire -> message -> JSON gives the JSON back. */
static int roundtrip_descriptor(const ProtobufCMessageDescriptor *d)
{
    struct json_object *j = gen_message(d, 0);
    ProtobufCMessage *m = pbjson_message_new(d);
    struct err e = ERR_INIT;
    int r = pbjson_merge(m, j, NULL, &e);
    if (r < 0) {
        test_fail_at(__FILE__, __LINE__, "%s: %s", d->name, err_msg(&e));
        return 1;
    }
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(m, buf);
    ProtobufCMessage *m2 = protobuf_c_message_unpack(d, NULL, len, buf);
    free(buf);
    ASSERT_TRUE(m2 != NULL);
    struct json_object *j2 = pbjson_to_json(m2, NULL);
    bool eq = json_object_equal(j, j2);
    if (!eq)
        test_fail_at(__FILE__, __LINE__, "%s:\n  in:  %s\n  out: %s", d->name,
                     json_object_to_json_string(j), json_object_to_json_string(j2));
    json_object_put(j);
    json_object_put(j2);
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(m2, NULL);
    return eq ? 0 : 1;
}

TEST(every_agent_message_roundtrips)
{
    const ProtobufCServiceDescriptor *services[] = {&grpc__agent_service__descriptor,
                                                    &grpc__health__descriptor};
    unsigned n = 0;
    for (size_t s = 0; s < 2; s++)
        for (unsigned i = 0; i < services[s]->n_methods; i++) {
            ASSERT_EQ(roundtrip_descriptor(services[s]->methods[i].input), 0);
            ASSERT_EQ(roundtrip_descriptor(services[s]->methods[i].output), 0);
            n++;
        }
    ASSERT_EQ(n, 44);
    return 0;
}

TEST(create_container_request_text_roundtrip)
{
    const char *text =
        "{\"container_id\": \"c1\", \"exec_id\": \"c1\","
        " \"string_user\": {\"uid\": \"0\", \"additionalGids\": [\"1\", \"2\"]},"
        " \"storages\": [{\"driver\": \"virtio-fs\", \"options\": [\"ro\"],"
        "   \"fs_group\": {\"group_id\": 5, \"group_change_policy\": \"OnRootMismatch\"}}],"
        " \"OCI\": {\"Version\": \"1.0.2\", \"Process\": {\"Args\": [\"sh\"],"
        "   \"Rlimits\": [{\"Type\": \"RLIMIT_NOFILE\", \"Hard\": 18446744073709551615}]},"
        "   \"Annotations\": {\"io.kata.x\": \"1\", \"b\": \"\"},"
        "   \"Linux\": {\"Resources\": {\"Memory\": {\"Limit\": -1}},"
        "     \"Seccomp\": {\"Syscalls\": [{\"Names\": [\"mkdir\"], \"errnoret\": 0}]}}},"
        " \"sandbox_pidns\": true, \"stdin_port\": 4294967295}";
    struct err e = ERR_INIT;
    Grpc__CreateContainerRequest *r = (Grpc__CreateContainerRequest *)parse_msg(
        &grpc__create_container_request__descriptor, text, &e);
    if (!r)
        test_fail_at(__FILE__, __LINE__, "%s", err_msg(&e));
    ASSERT_TRUE(r != NULL);
    ASSERT_STREQ(r->container_id, "c1");
    ASSERT_EQ(r->string_user->n_additionalgids, 2);
    ASSERT_EQ(r->storages[0]->fs_group->group_change_policy,
              TYPES__FSGROUP_CHANGE_POLICY__OnRootMismatch);
    ASSERT_TRUE(r->oci->process->rlimits[0]->hard == UINT64_MAX);
    ASSERT_EQ(r->oci->n_annotations, 2);
    ASSERT_EQ(r->oci->linux_->resources->memory->limit, -1);
    /* An explicit errno of 0 keeps its presence. */
    ASSERT_EQ(r->oci->linux_->seccomp->syscalls[0]->errno_ret_case,
              GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET);
    ASSERT_EQ(r->stdin_port, UINT32_MAX);
    ASSERT_TRUE(r->sandbox_pidns);

    char *out = pbjson_to_string(&r->base, NULL, JSON_C_TO_STRING_PLAIN);
    /* Output uses .proto names, with protoc-c's "Linux_" shown as "Linux". */
    ASSERT_TRUE(strstr(out, "\"Linux\":{") != NULL);
    ASSERT_TRUE(strstr(out, "\"group_change_policy\":\"OnRootMismatch\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"Hard\":18446744073709551615") != NULL);
    ASSERT_TRUE(strstr(out, "\"errnoret\":0") != NULL);
    ProtobufCMessage *back = parse_msg(&grpc__create_container_request__descriptor, out, &e);
    ASSERT_TRUE(back != NULL);
    ASSERT_TRUE(packed_equal(&r->base, back));
    free(out);
    protobuf_c_message_free_unpacked(back, NULL);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return 0;
}

TEST(maps_with_message_and_integer_values)
{
    const char *text = "{\"cgroup_stats\": {\"memory_stats\": {\"stats\": {\"rss\": "
                       "18446744073709551615, \"cache\": \"7\"}},"
                       " \"hugetlb_stats\": {\"2MB\": {\"usage\": 3}, \"1GB\": {}}}}";
    struct err e = ERR_INIT;
    Grpc__StatsContainerResponse *r = (Grpc__StatsContainerResponse *)parse_msg(
        &grpc__stats_container_response__descriptor, text, &e);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ(r->cgroup_stats->memory_stats->n_stats, 2);
    ASSERT_STREQ(r->cgroup_stats->memory_stats->stats[1]->key, "cache");
    ASSERT_EQ(r->cgroup_stats->memory_stats->stats[1]->value, 7);
    ASSERT_EQ(r->cgroup_stats->n_hugetlb_stats, 2);
    ASSERT_EQ(r->cgroup_stats->hugetlb_stats[0]->value->usage, 3);
    char *out = pbjson_to_string(&r->base, NULL, JSON_C_TO_STRING_PLAIN);
    ASSERT_TRUE(strstr(out, "\"hugetlb_stats\":{\"2MB\":{\"usage\":3},\"1GB\":{}}") != NULL);
    ASSERT_TRUE(strstr(out, "\"stats\":{\"rss\":18446744073709551615,\"cache\":7}") != NULL);
    free(out);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    ASSERT_PREFIX(parse_error(&grpc__stats_container_response__descriptor,
                              "{\"cgroup_stats\": {\"memory_stats\": {\"stats\": []}}}"),
                  "cgroup_stats.memory_stats.stats: expected object");
    ASSERT_PREFIX(parse_error(&grpc__stats_container_response__descriptor,
                              "{\"cgroup_stats\": {\"memory_stats\": {\"stats\": {\"a\": -1}}}}"),
                  "cgroup_stats.memory_stats.stats.a: expected unsigned integer");
    return 0;
}

TEST(bytes_are_base64)
{
    const uint8_t raw[] = {0, 'h', 'i', 0xff, 0xfe};
    Grpc__WriteStreamRequest w = GRPC__WRITE_STREAM_REQUEST__INIT;
    w.data.data = (uint8_t *)raw;
    w.data.len = sizeof(raw);
    char *out = pbjson_to_string(&w.base, NULL, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"data\":\"AGhp//4=\"}");
    struct err e = ERR_INIT;
    Grpc__WriteStreamRequest *back =
        (Grpc__WriteStreamRequest *)parse_msg(&grpc__write_stream_request__descriptor, out, &e);
    ASSERT_TRUE(back != NULL);
    ASSERT_EQ(back->data.len, sizeof(raw));
    ASSERT_MEMEQ(back->data.data, raw, sizeof(raw));
    protobuf_c_message_free_unpacked(&back->base, NULL);
    free(out);
    /* URL-safe alphabet and missing padding are accepted too. */
    back = (Grpc__WriteStreamRequest *)parse_msg(&grpc__write_stream_request__descriptor,
                                                 "{\"data\": \"AGhp__4\"}", &e);
    ASSERT_TRUE(back != NULL);
    ASSERT_MEMEQ(back->data.data, raw, sizeof(raw));
    protobuf_c_message_free_unpacked(&back->base, NULL);
    back = (Grpc__WriteStreamRequest *)parse_msg(&grpc__write_stream_request__descriptor,
                                                 "{\"data\": \"\"}", &e);
    ASSERT_TRUE(back != NULL && back->data.len == 0 && back->data.data == NULL);
    protobuf_c_message_free_unpacked(&back->base, NULL);
    ASSERT_PREFIX(parse_error(&grpc__write_stream_request__descriptor, "{\"data\": \"a*b=\"}"),
                  "data: invalid base64");
    ASSERT_PREFIX(parse_error(&grpc__write_stream_request__descriptor, "{\"data\": \"abcde\"}"),
                  "data: invalid base64");
    ASSERT_PREFIX(parse_error(&grpc__write_stream_request__descriptor, "{\"data\": [1]}"),
                  "data: expected base64 string");
    return 0;
}

TEST(enums_by_name_and_number)
{
    struct err e = ERR_INIT;
    Grpc__HealthCheckResponse *h = (Grpc__HealthCheckResponse *)parse_msg(
        &grpc__health_check_response__descriptor, "{\"status\": \"NOT_SERVING\"}", &e);
    ASSERT_TRUE(h != NULL);
    ASSERT_EQ(h->status, GRPC__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    h = (Grpc__HealthCheckResponse *)parse_msg(&grpc__health_check_response__descriptor,
                                               "{\"status\": 1}", &e);
    ASSERT_TRUE(h != NULL);
    char *out = pbjson_to_string(&h->base, NULL, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"status\":\"SERVING\"}");
    free(out);
    /* An enum number the peer knows and we do not stays a number. */
    h->status = 7;
    out = pbjson_to_string(&h->base, NULL, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"status\":7}");
    free(out);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    ASSERT_PREFIX(parse_error(&grpc__health_check_response__descriptor, "{\"status\": \"UP\"}"),
                  "status: unknown value \"UP\" of enum grpc.HealthCheckResponse.ServingStatus");
    ASSERT_PREFIX(parse_error(&grpc__health_check_response__descriptor, "{\"status\": true}"),
                  "status: expected enum name or number");
    ASSERT_PREFIX(parse_error(&grpc__health_check_response__descriptor, "{\"status\": 4294967296}"),
                  "status: enum number out of range");
    return 0;
}

TEST(json_names_and_proto_names)
{
    struct err e = ERR_INIT;
    Grpc__CreateContainerRequest *r = (Grpc__CreateContainerRequest *)parse_msg(
        &grpc__create_container_request__descriptor,
        "{\"containerId\": \"a\", \"exec_id\": \"b\", \"sandboxPidns\": true,"
        " \"OCI\": {\"Linux_\": {\"CgroupsPath\": \"/x\"}, \"Process\": {\"OOMScoreAdj\": -5}}}",
        &e);
    ASSERT_TRUE(r != NULL);
    ASSERT_STREQ(r->container_id, "a");
    ASSERT_STREQ(r->exec_id, "b");
    ASSERT_TRUE(r->sandbox_pidns);
    ASSERT_STREQ(r->oci->linux_->cgroupspath, "/x");
    ASSERT_EQ(r->oci->process->oomscoreadj, -5);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    const ProtobufCMessageDescriptor *spec = &grpc__spec__descriptor;
    ASSERT_TRUE(pbjson_find_field(spec, "Linux") == pbjson_find_field(spec, "Linux_"));
    ASSERT_TRUE(pbjson_find_field(&grpc__copy_file_request__descriptor, "fileSize") != NULL);
    ASSERT_TRUE(pbjson_find_field(&grpc__copy_file_request__descriptor, "filesize") == NULL);
    return 0;
}

TEST(integers_numbers_and_strings)
{
    struct err e = ERR_INIT;
    Grpc__CopyFileRequest *c = (Grpc__CopyFileRequest *)parse_msg(
        &grpc__copy_file_request__descriptor,
        "{\"file_size\": \"-9223372036854775808\", \"offset\": 1e3, \"file_mode\": \"420\","
        " \"uid\": -2147483648, \"gid\": \"0x10\"}",
        &e);
    if (!c)
        test_fail_at(__FILE__, __LINE__, "%s", err_msg(&e));
    ASSERT_TRUE(c != NULL);
    ASSERT_TRUE(c->file_size == INT64_MIN);
    ASSERT_EQ(c->offset, 1000);
    ASSERT_EQ(c->file_mode, 420);
    ASSERT_EQ(c->uid, INT32_MIN);
    ASSERT_EQ(c->gid, 16);
    protobuf_c_message_free_unpacked(&c->base, NULL);

    const ProtobufCMessageDescriptor *d = &grpc__copy_file_request__descriptor;
    ASSERT_PREFIX(parse_error(d, "{\"file_mode\": -1}"), "file_mode: expected unsigned integer");
    ASSERT_PREFIX(parse_error(d, "{\"file_mode\": 4294967296}"),
                  "file_mode: value out of range for an unsigned 32-bit integer");
    ASSERT_PREFIX(parse_error(d, "{\"uid\": 2147483648}"),
                  "uid: value out of range for a 32-bit integer");
    ASSERT_PREFIX(parse_error(d, "{\"offset\": 9223372036854775808}"),
                  "offset: value out of range");
    ASSERT_PREFIX(parse_error(d, "{\"offset\": 1.5}"), "offset: expected integer, got a fraction");
    ASSERT_PREFIX(parse_error(d, "{\"offset\": \"12x\"}"), "offset: expected integer");
    ASSERT_PREFIX(parse_error(d, "{\"offset\": true}"), "offset: expected integer");
    ASSERT_PREFIX(parse_error(d, "{\"file_mode\": \"-3\"}"),
                  "file_mode: expected unsigned integer");
    ASSERT_PREFIX(parse_error(d, "{\"path\": 3}"), "path: expected string");
    ASSERT_PREFIX(parse_error(d, "{\"path\": \"a\\u0000b\"}"), "path: string contains a NUL byte");
    return 0;
}

TEST(unknown_keys_name_their_path)
{
    const ProtobufCMessageDescriptor *d = &grpc__create_container_request__descriptor;
    ASSERT_PREFIX(parse_error(d, "{\"OCI\": {\"Process\": {\"Foo\": 1}}}"),
                  "OCI.Process.Foo: unknown field (grpc.Process has no such field)");
    ASSERT_PREFIX(parse_error(d, "{\"storages\": [{}, {\"options\": [\"a\", 1]}]}"),
                  "storages[1].options[1]: expected string");
    ASSERT_PREFIX(parse_error(d, "{\"storages\": {}}"), "storages: expected array");
    ASSERT_PREFIX(parse_error(d, "{\"storages\": [3]}"), "storages[0]: expected object");
    ASSERT_PREFIX(parse_error(d, "{\"OCI\": []}"), "OCI: expected object");
    ASSERT_PREFIX(parse_error(d, "{\"sandbox_pidns\": 1}"), "sandbox_pidns: expected boolean");
    ASSERT_PREFIX(parse_error(d, "[]"), "expected object");

    /* With PBJSON_IGNORE_UNKNOWN the key is skipped. */
    struct pbjson_opts ignore = {.flags = PBJSON_IGNORE_UNKNOWN};
    ProtobufCMessage *m = NULL;
    struct err e = ERR_INIT;
    const char *t = "{\"bogus\": [1, {}], \"container_id\": \"x\"}";
    ASSERT_OK(pbjson_from_string(d, t, strlen(t), &ignore, &m, &e));
    ASSERT_STREQ(((Grpc__CreateContainerRequest *)m)->container_id, "x");
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

TEST(strict_types)
{
    struct pbjson_opts strict = {.flags = PBJSON_STRICT_TYPES};
    const ProtobufCMessageDescriptor *d = &grpc__copy_file_request__descriptor;
    ProtobufCMessage *m = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(pbjson_from_string(d, "{\"offset\": \"5\"}", 15, &strict, &m, &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "offset: expected integer");
    err_clear(&e);
    ASSERT_EQ(pbjson_from_string(d, "{\"offset\": 5.0}", 15, &strict, &m, &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "offset: expected integer");
    return 0;
}

TEST(null_and_merge_semantics)
{
    struct err e = ERR_INIT;
    const ProtobufCMessageDescriptor *d = &grpc__create_sandbox_request__descriptor;
    Grpc__CreateSandboxRequest *s = (Grpc__CreateSandboxRequest *)parse_msg(
        d, "{\"hostname\": \"h\", \"dns\": [\"a\", \"b\"], \"storages\": [{\"driver\": \"x\"}]}",
        &e);
    ASSERT_TRUE(s != NULL);
    struct json_object *patch = NULL;
    const char *t =
        "{\"hostname\": null, \"dns\": [\"c\"], \"storages\": null, \"sandbox_id\": \"s\"}";
    ASSERT_OK(pbjson_parse(t, strlen(t), &patch, &e));
    ASSERT_OK(pbjson_merge(&s->base, patch, NULL, &e));
    json_object_put(patch);
    ASSERT_STREQ(s->hostname, "");
    ASSERT_EQ(s->n_dns, 1);
    ASSERT_STREQ(s->dns[0], "c");
    ASSERT_EQ(s->n_storages, 0);
    ASSERT_STREQ(s->sandbox_id, "s");
    protobuf_c_message_free_unpacked(&s->base, NULL);

    /* A failed merge leaves a message that still frees cleanly. */
    s = (Grpc__CreateSandboxRequest *)pbjson_message_new(d);
    t = "{\"dns\": [\"x\"], \"kernel_modules\": [{\"name\": \"a\"}, {\"name\": 1}]}";
    ASSERT_OK(pbjson_parse(t, strlen(t), &patch, &e));
    ASSERT_EQ(pbjson_merge(&s->base, patch, NULL, &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "kernel_modules[1].name: expected string");
    json_object_put(patch);
    ASSERT_EQ(s->n_dns, 1);
    ASSERT_EQ(s->n_kernel_modules, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    return 0;
}

TEST(emit_defaults_and_oneof_presence)
{
    Grpc__WaitProcessResponse w = GRPC__WAIT_PROCESS_RESPONSE__INIT;
    char *out = pbjson_to_string(&w.base, NULL, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{}");
    free(out);
    out = pbjson_to_string(&w.base, &emit_defaults, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"status\":0}");
    free(out);

    /* Unset sub-messages and oneof members stay out even with defaults. */
    Grpc__GuestDetailsResponse g = GRPC__GUEST_DETAILS_RESPONSE__INIT;
    out = pbjson_to_string(&g.base, &emit_defaults, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"mem_block_size_bytes\":0,\"support_mem_hotplug_probe\":false}");
    free(out);
    struct err e = ERR_INIT;
    Grpc__MemAgentMemcgConfig *mc =
        (Grpc__MemAgentMemcgConfig *)parse_msg(&grpc__mem_agent_memcg_config__descriptor,
                                               "{\"disabled\": false, \"swappiness_max\": 0}", &e);
    ASSERT_TRUE(mc != NULL);
    out = pbjson_to_string(&mc->base, &emit_defaults, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"disabled\":false,\"swappiness_max\":0}");
    free(out);
    /* Presence survives the wire. */
    size_t len = protobuf_c_message_get_packed_size(&mc->base);
    ASSERT_EQ(len, 4);
    protobuf_c_message_free_unpacked(&mc->base, NULL);
    return 0;
}

TEST(parse_errors)
{
    struct json_object *o = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(pbjson_parse("{\"a\": }", 7, &o, &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "JSON syntax error at offset 6");
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("{\"a\": 1", 7, &o, &e), -EINVAL);
    ASSERT_STREQ(err_msg(&e), "JSON syntax error at offset 7: unexpected end of data");
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("{} x", 4, &o, &e), -EINVAL);
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("{}\0{}", 5, &o, &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "JSON syntax error at offset 2: unexpected NUL byte");
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("\"\xff\"", 3, &o, &e), -EINVAL);
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("[1,]", 4, &o, &e), -EINVAL);
    err_clear(&e);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ASSERT_EQ(pbjson_parse(deep, sizeof(deep), &o, &e), -EINVAL);
    err_clear(&e);
    ASSERT_EQ(pbjson_parse("{}", (size_t)PBJSON_MAX_TEXT + 1, &o, &e), -E2BIG);
    err_clear(&e);
    ASSERT_OK(pbjson_parse(" {\"a\": [1, 2.5, null]} \n", 24, &o, &e));
    json_object_put(o);
    ASSERT_EQ(pbjson_parse_file("/nonexistent/x.json", &o, &e), -ENOENT);
    ASSERT_PREFIX(err_msg(&e), "cannot open /nonexistent/x.json");
    return 0;
}

TEST(set_by_path)
{
    Grpc__CreateContainerRequest *r = (Grpc__CreateContainerRequest *)pbjson_message_new(
        &grpc__create_container_request__descriptor);
    ProtobufCMessage *m = &r->base;
    struct err e = ERR_INIT;

    ASSERT_OK(pbjson_set(m, "container_id", "c 1", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Process.Terminal", "true", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Process.Args[0]", "sh", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Process.Args", "-c", &e)); /* appends */
    ASSERT_OK(pbjson_set(m, "OCI.Process.Args[0]", "bash", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Annotations[io.k8s.cri.x]", "y", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Annotations[io.k8s.cri.x]", "z", &e)); /* same key */
    ASSERT_OK(pbjson_set(m, "OCI.Linux.Resources.Memory.Limit", "-1", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Linux.Resources.Memory.Swappiness", "0x10", &e));
    ASSERT_OK(pbjson_set(m, "storages[0].driver", "virtio-fs", &e));
    ASSERT_OK(pbjson_set(m, "storages[0].options", "ro", &e));
    ASSERT_OK(pbjson_set(m, "storages[0].fs_group.group_change_policy", "OnRootMismatch", &e));
    ASSERT_OK(pbjson_set(m, "storages[1]", "{\"driver\": \"local\"}", &e));
    ASSERT_OK(pbjson_set(m, "devices", "[{\"id\": \"d\"}]", &e));
    ASSERT_OK(pbjson_set(m, "OCI.Hooks", "{\"Prestart\": [{\"Path\": \"/bin/true\"}]}", &e));
    ASSERT_OK(pbjson_set(m, "stdin_port", "7", &e));

    ASSERT_STREQ(r->container_id, "c 1");
    ASSERT_TRUE(r->oci->process->terminal);
    ASSERT_EQ(r->oci->process->n_args, 2);
    ASSERT_STREQ(r->oci->process->args[0], "bash");
    ASSERT_STREQ(r->oci->process->args[1], "-c");
    ASSERT_EQ(r->oci->n_annotations, 1);
    ASSERT_STREQ(r->oci->annotations[0]->value, "z");
    ASSERT_EQ(r->oci->linux_->resources->memory->limit, -1);
    ASSERT_EQ(r->oci->linux_->resources->memory->swappiness, 16);
    ASSERT_EQ(r->n_storages, 2);
    ASSERT_STREQ(r->storages[0]->options[0], "ro");
    ASSERT_STREQ(r->storages[1]->driver, "local");
    ASSERT_EQ(r->storages[0]->fs_group->group_change_policy, 1);
    ASSERT_STREQ(r->devices[0]->id, "d");
    ASSERT_STREQ(r->oci->hooks->prestart[0]->path, "/bin/true");
    ASSERT_EQ(r->stdin_port, 7);

#define SET_FAILS(path, value, prefix)                                                             \
    do {                                                                                           \
        struct err _e = ERR_INIT;                                                                  \
        ASSERT_EQ(pbjson_set(m, path, value, &_e), -EINVAL);                                       \
        ASSERT_PREFIX(err_msg(&_e), prefix);                                                       \
    } while (0)
    SET_FAILS("bogus", "1", "bogus: unknown field \"bogus\" (grpc.CreateContainerRequest");
    SET_FAILS("OCI.Process.Nope", "1", "OCI.Process.Nope: unknown field \"Nope\" (grpc.Process");
    SET_FAILS("stdin_port", "abc", "stdin_port: expected unsigned integer (got \"abc\")");
    SET_FAILS("stdin_port", "-1", "stdin_port: expected unsigned integer");
    SET_FAILS("stdin_port", "4294967296", "stdin_port: value out of range");
    SET_FAILS("sandbox_pidns", "yes", "sandbox_pidns: expected true or false");
    SET_FAILS("storages[5].driver", "x", "storages[5].driver: bad index [5]");
    SET_FAILS("storages[0", "x", "storages[0: missing ']'");
    SET_FAILS("container_id.x", "x", "container_id.x: \"container_id\" has no fields");
    SET_FAILS("storages.driver", "x", "storages.driver: \"storages\" has no fields (index it");
    SET_FAILS("container_id[0]", "x", "container_id[0]: \"container_id\" is neither");
    SET_FAILS("OCI", "{\"Version\": 3}", "OCI.Version: expected string");
    SET_FAILS("OCI", "{bad", "OCI: JSON syntax error");
    SET_FAILS("storages[0].fs_group.group_change_policy", "Sometimes",
              "storages[0].fs_group.group_change_policy: unknown enum value");
    SET_FAILS("", "x", "empty field name");
    SET_FAILS("a..b", "x", "a..b: unknown field \"a\"");
    protobuf_c_message_free_unpacked(m, NULL);
    return 0;
}

TEST(set_bytes_and_floats)
{
    Grpc__WriteStreamRequest *w =
        (Grpc__WriteStreamRequest *)pbjson_message_new(&grpc__write_stream_request__descriptor);
    struct err e = ERR_INIT;
    ASSERT_OK(pbjson_set(&w->base, "data", "hello", &e));
    ASSERT_EQ(w->data.len, 5);
    ASSERT_OK(pbjson_set(&w->base, "data", "hex:00ff41", &e));
    ASSERT_EQ(w->data.len, 3);
    ASSERT_EQ(w->data.data[1], 0xff);
    ASSERT_OK(pbjson_set(&w->base, "data", "base64:aGk=", &e));
    ASSERT_MEMEQ(w->data.data, "hi", 2);
    ASSERT_EQ(pbjson_set(&w->base, "data", "hex:0g", &e), -EINVAL);
    ASSERT_PREFIX(err_msg(&e), "data: invalid hex digit");
    protobuf_c_message_free_unpacked(&w->base, NULL);

    Grpc__MemHotplugByProbeRequest *p = (Grpc__MemHotplugByProbeRequest *)pbjson_message_new(
        &grpc__mem_hotplug_by_probe_request__descriptor);
    err_clear(&e);
    ASSERT_OK(pbjson_set(&p->base, "memHotplugProbeAddr", "[1, 2, 18446744073709551615]", &e));
    ASSERT_EQ(p->n_memhotplugprobeaddr, 3);
    ASSERT_TRUE(p->memhotplugprobeaddr[2] == UINT64_MAX);
    ASSERT_OK(pbjson_set(&p->base, "memHotplugProbeAddr[1]", "5", &e));
    ASSERT_EQ(p->memhotplugprobeaddr[1], 5);
    protobuf_c_message_free_unpacked(&p->base, NULL);
    return 0;
}
