/* OCI JSON to the agent's messages, rewritten for the guest; see
 * agent_spec.h. Glue: the only shim file besides agent_client.c that
 * touches grpc.Spec. */
#include "shim/agent_spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/oci_spec_json.h"
#include "lib/xalloc.h"
#include "shim/agent_spec-internal.h"

static void set_string(char **field, const char *value)
{
    if (*field && *field != protobuf_c_empty_string)
        free(*field);
    *field = xstrdup(value);
}

static void drop_message(void *field)
{
    ProtobufCMessage **m = field;

    if (*m)
        protobuf_c_message_free_unpacked(*m, NULL);
    *m = NULL;
}

static bool ns_removed(const char *type)
{
    return strcmp(type, "network") == 0 || strcmp(type, "cgroup") == 0 ||
           strcmp(type, "time") == 0;
}

/* Namespaces: the guest has its own network, cgroup and time namespaces;
 * host paths mean nothing there; a PID namespace path means "share the
 * sandbox's" (sandbox_pidns). A UTS namespace path (CRI's: the pod's) means
 * the pod's hostname, which is the guest's: CreateSandbox sets it, and the
 * agent puts every container of the pod in that namespace, the sandbox
 * container's UTS entry without a path included, so that a hostname change
 * is seen by the whole pod, as in Kata. */
static void constrain_namespaces(Grpc__Linux *l, bool *sandbox_pidns)
{
    size_t k = 0;

    for (size_t i = 0; i < l->n_namespaces; i++) {
        Grpc__LinuxNamespace *ns = l->namespaces[i];
        bool joins = ns->path && *ns->path;
        bool drop = ns_removed(ns->type);
        if (strcmp(ns->type, "pid") == 0 && joins) {
            *sandbox_pidns = true;
            drop = true;
        }
        if (strcmp(ns->type, "uts") == 0 && joins)
            drop = true;
        if (drop) {
            protobuf_c_message_free_unpacked(&ns->base, NULL);
            continue;
        }
        if (joins)
            set_string(&ns->path, "");
        l->namespaces[k++] = ns;
    }
    l->n_namespaces = k;
}

static void constrain_resources(Grpc__LinuxResources *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->n_devices; i++)
        protobuf_c_message_free_unpacked(&res->devices[i]->base, NULL);
    free(res->devices);
    res->devices = NULL;
    res->n_devices = 0;
    drop_message(&res->pids);
    drop_message(&res->blockio);
    drop_message(&res->network);
    if (res->cpu) {
        set_string(&res->cpu->cpus, "");
        set_string(&res->cpu->mems, "");
    }
}

static void constrain(struct agent_spec *s, const char *cid, const char *guest_root)
{
    Grpc__Spec *spec = s->spec;
    Grpc__Linux *l = spec->linux_;

    drop_message(&spec->hooks);
    if (!spec->root) {
        spec->root = xnew(Grpc__Root, 1);
        grpc__root__init(spec->root);
    }
    set_string(&spec->root->path, guest_root);
    if (!l)
        return;
    /* Out of the spec unless disable_guest_seccomp = false asks for it. */
    s->seccomp = l->seccomp;
    l->seccomp = NULL;
    constrain_resources(l->resources);
    constrain_namespaces(l, &s->sandbox_pidns);
    /* A systemd slice means nothing to the agent's cgroupfs driver. */
    if (l->cgroupspath && strchr(l->cgroupspath, ':')) {
        char path[512];
        snprintf(path, sizeof(path), "/kata/%s", cid);
        set_string(&l->cgroupspath, path);
    }
}

static int finish(Grpc__Spec *spec, const char *cid, const char *guest_root,
                  struct agent_spec **ret, struct err *e)
{
    struct agent_spec *s;

    if (!spec->process) {
        oci_spec_json_free(spec);
        return err_set(e, -EINVAL, "OCI spec of %s has no process", cid);
    }
    s = xnew(struct agent_spec, 1);
    s->spec = spec;
    constrain(s, cid, guest_root);
    *ret = s;
    return 0;
}

int agent_spec_load(const char *config_path, const char *cid, const char *guest_root,
                    struct agent_spec **ret_spec, struct err *e)
{
    Grpc__Spec *spec = NULL;
    int r = oci_spec_json_load(config_path, &spec, e);

    if (r < 0)
        return r;
    return finish(spec, cid, guest_root, ret_spec, e);
}

int agent_spec_parse(const char *json, size_t len, const char *cid, const char *guest_root,
                     struct agent_spec **ret_spec, struct err *e)
{
    Grpc__Spec *spec = NULL;
    int r = oci_spec_json_parse(json, len, &spec, e);

    if (r < 0)
        return r;
    return finish(spec, cid, guest_root, ret_spec, e);
}

static bool has_option(const Grpc__Mount *m, const char *opt)
{
    for (size_t i = 0; i < m->n_options; i++)
        if (m->options[i] && strcmp(m->options[i], opt) == 0)
            return true;
    return false;
}

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

int agent_spec_share_binds(struct agent_spec *s, agent_spec_bind_fn fn, void *ud)
{
    Grpc__Spec *spec = s->spec;
    size_t k = 0;
    int n = 0;

    for (size_t i = 0; i < spec->n_mounts; i++) {
        Grpc__Mount *m = spec->mounts[i];
        bool bind = (m->type && strcmp(m->type, "bind") == 0) || has_option(m, "bind") ||
                    has_option(m, "rbind");
        char guest[4096];
        int r = 1;

        if (bind && m->source && m->source[0] == '/' && !under(m->source, "/proc") &&
            !under(m->source, "/sys") && !under(m->source, "/dev")) {
            r = fn(m->source, m->destination ? m->destination : "", has_option(m, "ro"), guest,
                   sizeof(guest), ud);
            if (r < 0) {
                /* Keep the spec whole so that it can be freed. */
                for (size_t j = i; j < spec->n_mounts; j++)
                    spec->mounts[k++] = spec->mounts[j];
                spec->n_mounts = k;
                return r;
            }
            if (r > 0) {
                set_string(&m->source, guest);
                n++;
            }
        }
        if (r == 0)
            protobuf_c_message_free_unpacked(&m->base, NULL);
        else
            spec->mounts[k++] = m;
    }
    spec->n_mounts = k;
    return n;
}

int agent_spec_hostname(const struct agent_spec *s, char *buf, size_t size, struct err *e)
{
    const char *h = s->spec->hostname ? s->spec->hostname : "";

    if (strlen(h) > 64 || strlen(h) >= size)
        return err_set(e, -EINVAL, "hostname: longer than 64 characters");
    snprintf(buf, size, "%s", h);
    return 0;
}

static bool dns_line_wanted(const char *l)
{
    static const char *const keywords[] = {"nameserver", "search", "domain", "options",
                                           "sortlist"};
    for (size_t k = 0; k < ELEMENTSOF(keywords); k++) {
        size_t kl = strlen(keywords[k]);
        if (strncmp(l, keywords[k], kl) != 0 || (l[kl] != ' ' && l[kl] != '\t'))
            continue;
        if (k != 0)
            return true;
        /* The agent refuses an address it cannot parse, and with it the
         * whole sandbox: a zone index (fe80::1%eth0) is such an address. */
        const char *ip = l + kl + strspn(l + kl, " \t");
        char addr[INET6_ADDRSTRLEN];
        size_t n = strcspn(ip, " \t");
        if (n == 0 || n >= sizeof(addr))
            return false;
        memcpy(addr, ip, n);
        addr[n] = '\0';
        unsigned char bin[16];
        return inet_pton(AF_INET, addr, bin) == 1 || inet_pton(AF_INET6, addr, bin) == 1;
    }
    return false;
}

int agent_spec_dns(const struct agent_spec *s, char ***ret_lines, size_t *ret_n, struct err *e)
{
    const char *src = NULL;
    *ret_lines = NULL;
    *ret_n = 0;
    for (size_t i = 0; i < s->spec->n_mounts; i++) {
        const Grpc__Mount *m = s->spec->mounts[i];
        if (m && m->destination && m->source && strcmp(m->destination, "/etc/resolv.conf") == 0)
            src = m->source;
    }
    if (!src)
        return 0;
    _cleanup_fclose_ FILE *f = fopen(src, "re");
    if (!f)
        return err_set(e, -errno, "mounts: /etc/resolv.conf source %s: %s", src, strerror(errno));
    char **lines = xnew(char *, AGENT_SPEC_MAX_DNS_LINES);
    size_t n = 0;
    char buf[1024];
    while (n < AGENT_SPEC_MAX_DNS_LINES && fgets(buf, sizeof(buf), f)) {
        bool whole = strchr(buf, '\n') != NULL || feof(f);
        buf[strcspn(buf, "\r\n")] = '\0';
        if (!whole) { /* longer than any sane line: skip the rest of it */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        if (dns_line_wanted(buf))
            lines[n++] = xstrdup(buf);
    }
    *ret_lines = lines;
    *ret_n = n;
    return 0;
}

void agent_spec_dns_free(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

void agent_spec_guest_seccomp(struct agent_spec *s, bool apply)
{
    if (apply && s->seccomp && s->spec->linux_ && !s->spec->linux_->seccomp) {
        s->spec->linux_->seccomp = s->seccomp;
        s->seccomp = NULL;
    }
}

bool agent_spec_has_seccomp(const struct agent_spec *s)
{
    return s->spec->linux_ && s->spec->linux_->seccomp;
}

struct agent_spec *agent_spec_free(struct agent_spec *s)
{
    if (s) {
        drop_message(&s->seccomp);
        oci_spec_json_free(s->spec);
        free(s);
    }
    return NULL;
}

/* Wraps a fragment into a whole spec ({"process": ...} or
 * {"linux": {"resources": ...}}) so the one converter reads it. */
static int convert_fragment(const void *json, size_t len, bool resources, struct agent_json **ret,
                            struct err *e)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *frag, *root, *linux_;
    Grpc__Spec *spec = NULL;
    int r;

    if (len > 1024 * 1024 || len > (size_t)INT32_MAX) {
        json_tokener_free(tok);
        return err_set(e, -E2BIG, "%s: JSON too large", resources ? "resources" : "process");
    }
    frag = json_tokener_parse_ex(tok, json, (int)len);
    if (!frag || json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(frag, json_type_object)) {
        json_tokener_free(tok);
        json_object_put(frag);
        return err_set(e, -EINVAL, "%s: not a JSON object", resources ? "resources" : "process");
    }
    json_tokener_free(tok);
    root = json_object_new_object();
    if (resources) {
        linux_ = json_object_new_object();
        json_object_object_add(linux_, "resources", frag);
        json_object_object_add(root, "linux", linux_);
    } else {
        json_object_object_add(root, "process", frag);
    }
    r = oci_spec_json_from_json(root, &spec, e);
    json_object_put(root);
    if (r < 0)
        return r;
    struct agent_json *j = xnew(struct agent_json, 1);
    j->holder = spec;
    if (resources) {
        if (!spec->linux_ || !spec->linux_->resources) {
            agent_json_free(j);
            return err_set(e, -EINVAL, "resources: empty");
        }
        j->resources = spec->linux_->resources;
        constrain_resources(j->resources);
    } else {
        if (!spec->process || spec->process->n_args == 0) {
            agent_json_free(j);
            return err_set(e, -EINVAL, "process: no args");
        }
        j->process = spec->process;
    }
    *ret = j;
    return 0;
}

int agent_json_process(const void *json, size_t len, struct agent_json **ret, struct err *e)
{
    return convert_fragment(json, len, false, ret, e);
}

int agent_json_resources(const void *json, size_t len, struct agent_json **ret, struct err *e)
{
    return convert_fragment(json, len, true, ret, e);
}

struct agent_json *agent_json_free(struct agent_json *j)
{
    if (j) {
        oci_spec_json_free(j->holder);
        free(j);
    }
    return NULL;
}
