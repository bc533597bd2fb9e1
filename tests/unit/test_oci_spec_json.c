/* lib/oci_spec_json: OCI config.json <-> grpc.Spec. The sample specs are the
 * seed corpus of the fuzz target (tests/fuzz/corpus/oci_spec_json/): runc's
 * default spec and one that sets every field the Spec carries. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/oci_spec_json.h"
#include "lib/pbjson.h"
#include "tests/harness/harness.h"

#ifndef OCI_CORPUS_DIR
#define OCI_CORPUS_DIR "tests/fuzz/corpus/oci_spec_json"
#endif

#define ASSERT_PREFIX(s, prefix)                                                                   \
    do {                                                                                           \
        const char *_s = (s), *_p = (prefix);                                                      \
        if (strncmp(_s, _p, strlen(_p)) != 0) {                                                    \
            test_fail_at(__FILE__, __LINE__, "\"%s\" does not start with \"%s\"", _s, _p);         \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static struct json_object *load_json(const char *path)
{
    struct json_object *o = NULL;
    struct err e = ERR_INIT;
    if (pbjson_parse_file(path, &o, &e) < 0) {
        printf("# %s\n", err_msg(&e));
        return NULL;
    }
    return o;
}

/* spec -> JSON equals want; prints both when not. */
static bool json_matches(const Grpc__Spec *spec, struct json_object *want)
{
    struct json_object *got = oci_spec_json_to_json(spec);
    bool eq = json_object_equal(got, want);
    if (!eq)
        printf("#   want %s\n#   got  %s\n", json_object_to_json_string(want),
               json_object_to_json_string(got));
    json_object_put(got);
    return eq;
}

static const char *parse_error(const char *text)
{
    static struct err e;
    Grpc__Spec *spec = NULL;
    err_clear(&e);
    if (oci_spec_json_parse(text, strlen(text), &spec, &e) >= 0) {
        oci_spec_json_free(spec);
        return "";
    }
    return err_msg(&e);
}

TEST(runc_default_spec_roundtrips)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(oci_spec_json_load(OCI_CORPUS_DIR "/runc_default.json", &spec, &e));
    ASSERT_STREQ(spec->version, "1.0.2-dev");
    ASSERT_TRUE(spec->process->terminal);
    ASSERT_EQ(spec->process->user->uid, 0);
    ASSERT_EQ(spec->process->n_args, 1);
    ASSERT_STREQ(spec->process->args[0], "sh");
    ASSERT_STREQ(spec->process->cwd, "/");
    ASSERT_EQ(spec->process->capabilities->n_bounding, 3);
    ASSERT_EQ(spec->process->capabilities->n_inheritable, 0);
    ASSERT_STREQ(spec->process->rlimits[0]->type, "RLIMIT_NOFILE");
    ASSERT_EQ(spec->process->rlimits[0]->hard, 1024);
    ASSERT_TRUE(spec->process->nonewprivileges);
    ASSERT_STREQ(spec->root->path, "rootfs");
    ASSERT_TRUE(spec->root->readonly);
    ASSERT_STREQ(spec->hostname, "runc");
    ASSERT_EQ(spec->n_mounts, 7);
    ASSERT_STREQ(spec->mounts[2]->destination, "/dev/pts");
    ASSERT_STREQ(spec->mounts[2]->type, "devpts");
    ASSERT_STREQ(spec->mounts[2]->options[5], "gid=5");
    ASSERT_EQ(spec->linux_->resources->n_devices, 1);
    ASSERT_TRUE(!spec->linux_->resources->devices[0]->allow);
    ASSERT_STREQ(spec->linux_->resources->devices[0]->access, "rwm");
    ASSERT_EQ(spec->linux_->n_namespaces, 5);
    ASSERT_STREQ(spec->linux_->namespaces[1]->type, "network");
    ASSERT_EQ(spec->linux_->n_maskedpaths, 10);
    ASSERT_EQ(spec->linux_->n_readonlypaths, 5);

    struct json_object *want = load_json(OCI_CORPUS_DIR "/runc_default.json");
    ASSERT_TRUE(want != NULL);
    bool eq = json_matches(spec, want);
    json_object_put(want);
    ASSERT_TRUE(eq);
    return 0;
}

TEST(runc_spec_of_this_host_roundtrips)
{
    if (system("command -v runc >/dev/null 2>&1") != 0)
        return test_skip("runc is not installed");
    char cmd[256], path[256];
    snprintf(cmd, sizeof(cmd), "cd '%s' && rm -f config.json && runc spec", test_tmpdir());
    ASSERT_EQ(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/config.json", test_tmpdir());
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    ASSERT_OK(oci_spec_json_load(path, &spec, &e));
    struct json_object *want = load_json(path);
    ASSERT_TRUE(want != NULL);
    bool eq = json_matches(spec, want);
    json_object_put(want);
    ASSERT_TRUE(eq);
    return 0;
}

TEST(every_field_converts_and_roundtrips)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    int r = oci_spec_json_load(OCI_CORPUS_DIR "/full.json", &spec, &e);
    if (r < 0)
        printf("# %s\n", err_msg(&e));
    ASSERT_OK(r);
    Grpc__Process *p = spec->process;
    ASSERT_EQ(p->consolesize->height, 25);
    ASSERT_EQ(p->user->uid, 1000);
    ASSERT_EQ(p->user->n_additionalgids, 2);
    ASSERT_STREQ(p->user->username, "app");
    ASSERT_EQ(p->capabilities->n_ambient, 1);
    ASSERT_TRUE(p->rlimits[1]->hard == UINT64_MAX);
    ASSERT_EQ(p->oomscoreadj, -500);
    ASSERT_STREQ(p->apparmorprofile, "docker-default");
    ASSERT_EQ(spec->hooks->n_prestart, 1);
    ASSERT_EQ(spec->hooks->prestart[0]->timeout, 5);
    ASSERT_STREQ(spec->hooks->createruntime[0]->path, "/bin/cr");
    ASSERT_EQ(spec->n_annotations, 2);
    Grpc__Linux *l = spec->linux_;
    ASSERT_EQ(l->uidmappings[0]->hostid, 100000);
    ASSERT_EQ(l->n_sysctl, 2);
    ASSERT_STREQ(l->sysctl[1]->value, "4294967295");
    ASSERT_EQ(l->resources->memory->swap, -1);
    ASSERT_TRUE(l->resources->memory->disableoomkiller);
    ASSERT_STREQ(l->resources->cpu->cpus, "0-3");
    ASSERT_EQ(l->resources->blockio->throttlereadbpsdevice[0]->rate, 104857600);
    ASSERT_STREQ(l->resources->hugepagelimits[0]->pagesize, "2MB");
    ASSERT_EQ(l->resources->network->priorities[0]->priority, 500);
    /* A device rule without major/minor is Kata's 0 wildcard. */
    ASSERT_EQ(l->resources->devices[0]->major, 0);
    ASSERT_EQ(l->resources->devices[1]->minor, 3);
    ASSERT_STREQ(l->namespaces[1]->path, "/var/run/netns/cni-1");
    ASSERT_EQ(l->devices[0]->filemode, 438);
    ASSERT_STREQ(l->seccomp->defaultaction, "SCMP_ACT_ERRNO");
    ASSERT_EQ(l->seccomp->syscalls[0]->errno_ret_case, GRPC__LINUX_SYSCALL__ERRNO_RET__NOT_SET);
    ASSERT_EQ(l->seccomp->syscalls[1]->errno_ret_case, GRPC__LINUX_SYSCALL__ERRNO_RET_ERRNORET);
    ASSERT_EQ(l->seccomp->syscalls[1]->errnoret, 0);
    ASSERT_EQ(l->seccomp->syscalls[2]->errnoret, 1);
    ASSERT_EQ(l->seccomp->syscalls[2]->args[1]->valuetwo, 8);
    ASSERT_STREQ(l->seccomp->syscalls[2]->args[1]->op, "SCMP_CMP_MASKED_EQ");
    ASSERT_STREQ(l->intelrdt->l3cacheschema, "L3:0=ff");
    ASSERT_STREQ(l->rootfspropagation, "rslave");

    /* Back to JSON: the input minus what grpc.Spec has no field for, and
     * minus zeros of OPTIONAL fields, which read as absent. */
    struct json_object *want = load_json(OCI_CORPUS_DIR "/full.json"), *o = NULL;
    ASSERT_TRUE(want != NULL);
    json_object_object_del(want, "vm");
    json_object_object_del(want, "domainname");
    json_object_object_get_ex(want, "process", &o);
    json_object_object_get_ex(o, "user", &o);
    json_object_object_del(o, "umask");
    json_object_object_get_ex(want, "linux", &o);
    json_object_object_del(o, "personality");
    struct json_object *rdt = NULL, *devs = NULL;
    json_object_object_get_ex(o, "intelRdt", &rdt);
    json_object_object_del(rdt, "closID");
    json_object_object_get_ex(o, "devices", &devs);
    json_object_object_del(json_object_array_get_idx(devs, 0), "uid");
    json_object_object_del(json_object_array_get_idx(devs, 0), "gid");
    bool eq = json_matches(spec, want);
    json_object_put(want);
    ASSERT_TRUE(eq);

    /* And the text form reads back to the same message. */
    char *text = oci_spec_json_format(spec, JSON_C_TO_STRING_PRETTY);
    _cleanup_oci_spec_ Grpc__Spec *again = NULL;
    ASSERT_OK(oci_spec_json_parse(text, strlen(text), &again, &e));
    free(text);
    size_t la = protobuf_c_message_get_packed_size(&spec->base);
    size_t lb = protobuf_c_message_get_packed_size(&again->base);
    ASSERT_EQ(la, lb);
    uint8_t *pa = malloc(la), *pb = malloc(lb);
    protobuf_c_message_pack(&spec->base, pa);
    protobuf_c_message_pack(&again->base, pb);
    int diff = memcmp(pa, pb, la);
    free(pa);
    free(pb);
    ASSERT_EQ(diff, 0);
    return 0;
}

TEST(unknown_fields_and_null_are_ignored)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    const char *t = "{\"ociVersion\": \"1.1.0\", \"hostname\": null, \"windows\": {\"x\": 1},"
                    " \"process\": {\"cwd\": \"/\", \"ioPriority\": {\"class\": 1},"
                    " \"scheduler\": {}, \"args\": null}, \"linux\": {\"timeOffsets\": {}}}";
    ASSERT_OK(oci_spec_json_parse(t, strlen(t), &spec, &e));
    ASSERT_STREQ(spec->hostname, "");
    ASSERT_EQ(spec->process->n_args, 0);
    ASSERT_TRUE(spec->linux_ != NULL);
    ASSERT_TRUE(spec->windows == NULL);
    char *out = oci_spec_json_format(spec, JSON_C_TO_STRING_PLAIN);
    ASSERT_STREQ(out, "{\"ociVersion\":\"1.1.0\",\"process\":{\"cwd\":\"/\"},\"linux\":{}}");
    free(out);
    return 0;
}

TEST(bad_types_name_the_json_path)
{
    ASSERT_PREFIX(parse_error("{\"process\": {\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\"}, {},"
                              " {\"hard\": \"1024\"}]}}"),
                  "process.rlimits[2].hard: expected unsigned integer");
    ASSERT_PREFIX(parse_error("{\"process\": {\"rlimits\": [{}, {}, {\"hard\": -1}]}}"),
                  "process.rlimits[2].hard: expected unsigned integer");
    ASSERT_PREFIX(parse_error("{\"process\": {\"terminal\": \"yes\"}}"),
                  "process.terminal: expected boolean");
    ASSERT_PREFIX(parse_error("{\"process\": {\"user\": {\"uid\": 4294967296}}}"),
                  "process.user.uid: value out of range for an unsigned 32-bit integer");
    ASSERT_PREFIX(parse_error("{\"process\": {\"args\": \"sh\"}}"), "process.args: expected array");
    ASSERT_PREFIX(parse_error("{\"process\": {\"env\": [\"A=1\", 2]}}"),
                  "process.env[1]: expected string");
    ASSERT_PREFIX(parse_error("{\"mounts\": [{}, {\"destination\": \"/x\", \"options\": \"ro\"}]}"),
                  "mounts[1].options: expected array");
    ASSERT_PREFIX(parse_error("{\"linux\": {\"resources\": {\"memory\": {\"limit\": 1.5}}}}"),
                  "linux.resources.memory.limit: expected integer");
    ASSERT_PREFIX(parse_error("{\"linux\": {\"resources\": {\"memory\": {\"limit\": \"100\"}}}}"),
                  "linux.resources.memory.limit: expected integer");
    ASSERT_PREFIX(parse_error("{\"linux\": {\"namespaces\": [\"pid\"]}}"),
                  "linux.namespaces[0]: expected object");
    ASSERT_PREFIX(parse_error("{\"linux\": {\"seccomp\": {\"syscalls\": [{\"names\": [\"x\"],"
                              " \"errnoRet\": -1}]}}}"),
                  "linux.seccomp.syscalls[0].errnoRet: expected unsigned integer");
    ASSERT_PREFIX(parse_error("{\"annotations\": {\"a\": 1}}"), "annotations.a: expected string");
    ASSERT_PREFIX(parse_error("{\"linux\": {\"sysctl\": []}}"), "linux.sysctl: expected object");
    ASSERT_PREFIX(parse_error("{\"hostname\": 5}"), "hostname: expected string");
    ASSERT_PREFIX(parse_error("{\"root\": []}"), "root: expected object");
    ASSERT_PREFIX(parse_error("[]"), "OCI spec: expected a JSON object");
    ASSERT_PREFIX(parse_error("{\"process\": {"), "JSON syntax error at offset 13");
    return 0;
}

TEST(load_errors_name_the_file)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    struct err e = ERR_INIT;
    ASSERT_EQ(oci_spec_json_load("/nonexistent/config.json", &spec, &e), -ENOENT);
    ASSERT_PREFIX(err_msg(&e), "cannot open /nonexistent/config.json: No such file");
    char path[256];
    snprintf(path, sizeof(path), "%s/bad.json", test_tmpdir());
    FILE *f = fopen(path, "w");
    ASSERT_TRUE(f != NULL);
    fputs("{\"process\": {\"cwd\": 7}}", f);
    fclose(f);
    err_clear(&e);
    ASSERT_EQ(oci_spec_json_load(path, &spec, &e), -EINVAL);
    char want[300];
    snprintf(want, sizeof(want), "%s: process.cwd: expected string", path);
    ASSERT_STREQ(err_msg(&e), want);
    ASSERT_TRUE(oci_spec_json_to_json(NULL) == NULL);
    char *null_text = oci_spec_json_format(NULL, 0);
    ASSERT_STREQ(null_text, "null");
    free(null_text);
    return 0;
}
