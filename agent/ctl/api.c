/* kata-agent-ctl: every method of grpc.AgentService and grpc.Health as a
 * command, driven by the protobuf-c service descriptors. A request is built
 * from the command's arguments (json://, file://, key=value), completed with
 * automatic values unless -n, sent, and the reply printed as JSON. */
#include "agent/ctl/ctl.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "kata/agent.pb-c.h"
#include "kata/health.pb-c.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/oci_spec_json.h"
#include "lib/pbjson.h"
#include "lib/ttrpc/ttrpc.h"
#include "lib/xalloc.h"

/* What ReadStdout/ReadStderr ask for when no len is given (as the Go shim). */
#define CTL_READ_LEN "32768"

static const ProtobufCServiceDescriptor *const services[] = {
    &grpc__agent_service__descriptor,
    &grpc__health__descriptor,
};

/* Upstream agent-ctl's spellings of two RPC names. */
static const struct {
    const char *alias, *name;
} method_aliases[] = {{"GetIptables", "GetIPTables"}, {"SetIptables", "SetIPTables"}};

struct api_method {
    const ProtobufCServiceDescriptor *service;
    const ProtobufCMethodDescriptor *method;
};

static bool find_method(const char *name, struct api_method *ret)
{
    for (size_t i = 0; i < ELEMENTSOF(method_aliases); i++)
        if (strcmp(name, method_aliases[i].alias) == 0)
            name = method_aliases[i].name;
    for (size_t i = 0; i < ELEMENTSOF(services); i++)
        for (unsigned j = 0; j < services[i]->n_methods; j++)
            if (strcmp(services[i]->methods[j].name, name) == 0) {
                ret->service = services[i];
                ret->method = &services[i]->methods[j];
                return true;
            }
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void ctl_api_list(FILE *f)
{
    size_t n = 0;
    for (size_t i = 0; i < ELEMENTSOF(services); i++)
        n += services[i]->n_methods;
    _cleanup_free_ const char **lines = xnew(const char *, n);
    n = 0;
    for (size_t i = 0; i < ELEMENTSOF(services); i++)
        for (unsigned j = 0; j < services[i]->n_methods; j++)
            lines[n++] = services[i]->methods[j].name;
    qsort(lines, n, sizeof(*lines), cmp_str);
    fprintf(f, "Agent API commands:\n\n");
    for (size_t i = 0; i < n; i++) {
        struct api_method m;
        find_method(lines[i], &m);
        fprintf(f, "  %s (%s service)\n", lines[i],
                m.service == &grpc__health__descriptor ? "health" : "agent");
    }
    fprintf(f, "\n");
}

/* ---- values ---- */

static const char *field_string(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, name);
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    const char *s = *(char *const *)(const void *)((const char *)msg + f->offset);
    return s && *s ? s : NULL;
}

static bool field_unset(const ProtobufCMessage *msg, const char *name)
{
    const ProtobufCFieldDescriptor *f = pbjson_find_field(msg->descriptor, name);
    return f && !pbjson_field_is_set(msg, f);
}

/* A deep copy, through the wire format. */
static void *message_copy(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    return protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
}

/* A relative root.path is relative to the bundle (or the config file's
 * folder); the agent needs it absolute. */
static int spec_fix_root(Grpc__Spec *spec, const char *base, struct err *e)
{
    if (!spec->root || !spec->root->path || !*spec->root->path || spec->root->path[0] == '/')
        return 0;
    _cleanup_free_ char *abs = realpath(base, NULL);
    if (!abs)
        return err_set(e, -errno, "%s: %s", base, strerror(errno));
    char *path = xmalloc(strlen(abs) + strlen(spec->root->path) + 2);
    sprintf(path, "%s/%s", abs, spec->root->path);
    free(spec->root->path);
    spec->root->path = path;
    return 0;
}

static int bundle_spec(struct ctl_session *s, const Grpc__Spec **ret, struct err *e)
{
    if (!s->bundle_spec) {
        const char *dir = s->opts->bundle_dir;
        if (!dir)
            return err_set(e, -EINVAL,
                           "no OCI spec: give --bundle-dir DIR, "
                           "spec=file:///path/config.json or OCI={...}, or use -n");
        _cleanup_free_ char *path = xmalloc(strlen(dir) + sizeof("/config.json"));
        sprintf(path, "%s/config.json", dir);
        _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
        int r = oci_spec_json_load(path, &spec, e);
        if (r < 0)
            return r;
        r = spec_fix_root(spec, dir, e);
        if (r < 0)
            return r;
        s->bundle_spec = TAKE_PTR(spec);
    }
    *ret = s->bundle_spec;
    return 0;
}

/* spec=file:///config.json | spec=json://{...} | spec={...}: an OCI
 * config.json for CreateContainer (the OCI field) or ExecProcess (its
 * process). */
static int set_spec(struct ctl_session *s, ProtobufCMessage *req, const char *value, struct err *e)
{
    _cleanup_oci_spec_ Grpc__Spec *spec = NULL;
    int r;
    if (strncmp(value, "file://", 7) == 0) {
        r = oci_spec_json_load(value + 7, &spec, e);
        if (r >= 0) {
            _cleanup_free_ char *dir = xstrdup(value + 7);
            char *slash = strrchr(dir, '/');
            if (slash)
                *slash = '\0';
            const char *base = s->opts->bundle_dir ? s->opts->bundle_dir : slash ? dir : ".";
            r = spec_fix_root(spec, *base ? base : "/", e);
        }
    } else {
        const char *text = strncmp(value, "json://", 7) == 0 ? value + 7 : value;
        r = oci_spec_json_parse(text, strlen(text), &spec, e);
    }
    if (r < 0)
        return err_prefix(e, "spec");
    if (req->descriptor == &grpc__create_container_request__descriptor) {
        Grpc__CreateContainerRequest *cc = (Grpc__CreateContainerRequest *)req;
        oci_spec_json_free(cc->oci);
        cc->oci = TAKE_PTR(spec);
    } else if (req->descriptor == &grpc__exec_process_request__descriptor) {
        Grpc__ExecProcessRequest *ep = (Grpc__ExecProcessRequest *)req;
        if (!spec->process)
            return err_set(e, -EINVAL, "spec: the spec has no process");
        protobuf_c_message_free_unpacked(&ep->process->base, NULL);
        ep->process = TAKE_PTR(spec->process);
    } else {
        return err_set(e, -EINVAL, "spec=: only CreateContainer and ExecProcess take a spec");
    }
    return 0;
}

static int apply_json(ProtobufCMessage *req, const struct json_object *obj, const char *what,
                      struct err *e)
{
    struct err je = ERR_INIT;
    int r = pbjson_merge(req, obj, NULL, &je);
    if (r < 0)
        return err_set(e, r, "%s: %s", what, err_msg(&je));
    return 0;
}

static int apply_arg(struct ctl_session *s, ProtobufCMessage *req, const char *arg, struct err *e)
{
    const ProtobufCMessageDescriptor *desc = req->descriptor;
    struct json_object *obj = NULL;
    int r;

    if (strncmp(arg, "json://", 7) == 0 || strncmp(arg, "file://", 7) == 0) {
        if (arg[0] == 'j')
            r = pbjson_parse(arg + 7, strlen(arg + 7), &obj, e);
        else
            r = pbjson_parse_file(arg + 7, &obj, e);
        if (r < 0)
            return r;
        r = apply_json(req, obj, arg[0] == 'j' ? "json" : arg + 7, e);
        json_object_put(obj);
        return r;
    }
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return err_set(e, -EINVAL,
                       "bad argument \"%.64s\": expected key=value, json://{...} or file:///path",
                       arg);
    _cleanup_free_ char *key = xstrndup(arg, (size_t)(eq - arg));
    const char *value = eq + 1;
    const char *field = key;
    char num[16];

    /* Upstream's short names. */
    if (!strcmp(key, "cid") && pbjson_find_field(desc, "container_id"))
        field = "container_id";
    else if (!strcmp(key, "sid") && pbjson_find_field(desc, "sandbox_id"))
        field = "sandbox_id";
    else if (!strcmp(key, "spec"))
        return set_spec(s, req, value, e);
    if (!strcmp(field, "signal") && desc == &grpc__signal_process_request__descriptor &&
        !(value[0] >= '0' && value[0] <= '9')) {
        uint32_t signo;
        if (ctl_text_signal(value, &signo) < 0)
            return err_set(e, -EINVAL, "signal: unknown signal \"%.32s\"", value);
        snprintf(num, sizeof(num), "%u", signo);
        value = num;
    }
    return pbjson_set(req, field, value, e);
}

/* Returns *slot, first storing a new random id there if it is empty. */
static int remembered_id(char **slot, const char **ret, struct err *e)
{
    if (!*slot) {
        char id[CTL_ID_LEN + 1];
        int r = ctl_text_random_id(id);
        if (r < 0)
            return err_set(e, r, "cannot generate an id: %s", strerror(-r));
        *slot = xstrdup(id);
    }
    *ret = *slot;
    return 0;
}

static int set_if_unset(ProtobufCMessage *req, const char *field, const char *value, struct err *e)
{
    if (!field_unset(req, field))
        return 0;
    return pbjson_set(req, field, value, e);
}

static int auto_ids(struct ctl_session *s, const char *method, ProtobufCMessage *req, struct err *e)
{
    const char *id = NULL;
    int r;

    if (field_unset(req, "sandbox_id")) {
        if ((r = remembered_id(&s->sandbox_id, &id, e)) < 0 ||
            (r = pbjson_set(req, "sandbox_id", id, e)) < 0)
            return r;
    }
    if (field_unset(req, "container_id")) {
        if ((r = remembered_id(&s->container_id, &id, e)) < 0 ||
            (r = pbjson_set(req, "container_id", id, e)) < 0)
            return r;
    }
    if (!field_unset(req, "exec_id"))
        return 0;
    /* Kata's init process has exec_id = container_id; an exec gets a new
     * id; other calls address the last process created. */
    char fresh[CTL_ID_LEN + 1];
    if (!strcmp(method, "CreateContainer")) {
        id = field_string(req, "container_id");
    } else if (!strcmp(method, "ExecProcess")) {
        if ((r = ctl_text_random_id(fresh)) < 0)
            return err_set(e, r, "cannot generate an id: %s", strerror(-r));
        id = fresh;
    } else {
        id = s->exec_id ? s->exec_id : field_string(req, "container_id");
    }
    return id ? pbjson_set(req, "exec_id", id, e) : 0;
}

static int auto_values(struct ctl_session *s, const char *method, ProtobufCMessage *req,
                       struct err *e)
{
    const Grpc__Spec *spec = NULL;
    int r = auto_ids(s, method, req, e);
    if (r < 0)
        return r;
    if (!strcmp(method, "CreateContainer") && field_unset(req, "OCI")) {
        if ((r = bundle_spec(s, &spec, e)) < 0)
            return r;
        ((Grpc__CreateContainerRequest *)req)->oci = message_copy(&spec->base);
    } else if (!strcmp(method, "ExecProcess") && field_unset(req, "process")) {
        if ((r = bundle_spec(s, &spec, e)) < 0)
            return r;
        if (!spec->process)
            return err_set(e, -EINVAL, "the bundle's config.json has no process");
        ((Grpc__ExecProcessRequest *)req)->process = message_copy(&spec->process->base);
    } else if (!strcmp(method, "SignalProcess")) {
        r = set_if_unset(req, "signal", "9", e); /* upstream's default, SIGKILL */
    } else if (!strcmp(method, "GetGuestDetails")) {
        if ((r = set_if_unset(req, "mem_block_size", "true", e)) >= 0)
            r = set_if_unset(req, "mem_hotplug_probe", "true", e);
    } else if (!strcmp(method, "ReadStdout") || !strcmp(method, "ReadStderr")) {
        r = set_if_unset(req, "len", CTL_READ_LEN, e);
    }
    return r;
}

static void remember(char **slot, const char *value)
{
    if (value && (!*slot || strcmp(*slot, value) != 0)) {
        free(*slot);
        *slot = xstrdup(value);
    }
}

/* ---- the call ---- */

static int call_and_print(struct ctl_session *s, const struct api_method *m,
                          const ProtobufCMessage *req, struct err *e)
{
    struct ttrpc_call_opts co = {.timeout_ns = s->opts->timeout_ns};
    ProtobufCMessage *resp = NULL;
    struct err ce = ERR_INIT;
    int code = TTRPC_OK;

    if (log_enabled(LOG_DEBUG)) {
        _cleanup_free_ char *text = pbjson_to_string(req, NULL, JSON_C_TO_STRING_PLAIN);
        log_debug("sending %s %s", m->method->name, text);
    }
    int r = ttrpc_client_call_sync(s->client, m->service->name, m->method->name, req,
                                   m->method->output, &co, &resp, &code, &ce);
    if (r < 0) {
        /* Remote failures read "<CODE>: <message>"; give local ones a code too. */
        const char *name = ttrpc_code_name(code);
        if (code == TTRPC_OK || strncmp(err_msg(&ce), name, strlen(name)) == 0)
            return err_set(e, r, "%s", err_msg(&ce));
        return err_set(e, r, "%s: %s", name, err_msg(&ce));
    }
    static const struct pbjson_opts out = {.flags = PBJSON_EMIT_DEFAULTS};
    _cleanup_free_ char *text = pbjson_to_string(resp, &out,
                                                 JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
    protobuf_c_message_free_unpacked(resp, NULL);
    printf("%s\n", text);
    fflush(stdout);
    return 0;
}

int ctl_api_run(struct ctl_session *s, const char *name, char *const *args, size_t n_args,
                struct err *e)
{
    struct api_method m;
    if (!find_method(name, &m))
        return err_set(e, -ENOENT, "unknown command \"%s\" (\"list\" shows them)", name);
    const char *method = m.method->name;
    ProtobufCMessage *req = pbjson_message_new(m.method->input);
    int r = 0;

    for (size_t i = 0; i < n_args && r >= 0; i++)
        r = apply_arg(s, req, args[i], e);
    if (r >= 0 && !s->opts->no_auto_values)
        r = auto_values(s, method, req, e);
    if (r >= 0) {
        if (!strcmp(method, "CreateSandbox"))
            remember(&s->sandbox_id, field_string(req, "sandbox_id"));
        remember(&s->container_id, field_string(req, "container_id"));
        if (!strcmp(method, "CreateContainer") || !strcmp(method, "ExecProcess"))
            remember(&s->exec_id, field_string(req, "exec_id"));
        r = call_and_print(s, &m, req, e);
    }
    protobuf_c_message_free_unpacked(req, NULL);
    return r;
}
