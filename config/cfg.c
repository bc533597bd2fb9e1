/* struct cfg: defaults, copies, comparison, setters and the rules that span
 * keys. Every operation walks the schema table, so a key added there is
 * defaulted, copied, freed, compared and written without further code. */
#include "config/cfg-internal.h"

#include <assert.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

/* Enum fields are written through int pointers. */
_Static_assert(sizeof(enum cfg_machine) == sizeof(int), "enum size");
_Static_assert(sizeof(enum cfg_shared_fs) == sizeof(int), "enum size");

char **cfg_strv_free(char **v)
{
    if (v) {
        for (char **p = v; *p; p++)
            free(*p);
        free(v);
    }
    return NULL;
}

size_t cfg_strv_len(char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    return n;
}

static char **strv_copy(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **r = xnew(char *, n + 1);
    for (size_t i = 0; i < n; i++)
        r[i] = xstrdup(v[i]);
    return r;
}

static void set_default(struct cfg *c, const struct cfg_key *k)
{
    const union cfg_default *d = cfg_key_default(k, c->hv.kind);
    void *f = cfg_field(c, k);
    switch (k->type) {
    case CFG_T_BOOL:
        *(bool *)f = d->b;
        break;
    case CFG_T_INT:
    case CFG_T_ENUM:
        *(int *)f = (int)d->i;
        break;
    case CFG_T_STRING:
    case CFG_T_PATH:
        free(*(char **)f);
        *(char **)f = xstrdup(d->s);
        break;
    case CFG_T_STRV:
        cfg_strv_free(*(char ***)f);
        *(char ***)f = strv_copy(d->v);
        break;
    }
}

int cfg_defaults(enum cfg_hv_kind kind, struct cfg **ret_cfg)
{
    if ((unsigned)kind >= _CFG_HV_MAX)
        return -EINVAL;
    struct cfg *c = xzalloc(sizeof(*c));
    c->file = xstrdup("");
    c->dropins = strv_copy(NULL);
    c->unimplemented = strv_copy(NULL);
    c->hv.kind = kind;
    for (size_t i = 0; i < cfg_schema_size; i++)
        if (cfg_schema[i].offset != CFG_NO_FIELD)
            set_default(c, &cfg_schema[i]);
    if (kind == CFG_HV_MOCK) {
        c->hv.path[0] = c->hv.kernel[0] = c->hv.initrd[0] = '\0';
        cfg_strv_free(c->hv.valid_hypervisor_paths);
        c->hv.valid_hypervisor_paths = strv_copy(NULL);
        c->hv.shared_fs = CFG_SHARED_FS_NONE;
    }
    *ret_cfg = c;
    return 0;
}

struct cfg *cfg_free(struct cfg *c)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (k->offset == CFG_NO_FIELD)
            continue;
        if (k->type == CFG_T_STRING || k->type == CFG_T_PATH)
            free(*(char **)cfg_field(c, k));
        else if (k->type == CFG_T_STRV)
            cfg_strv_free(*(char ***)cfg_field(c, k));
    }
    free(c->file);
    cfg_strv_free(c->dropins);
    cfg_strv_free(c->unimplemented);
    free(c);
    return NULL;
}

int cfg_dup(const struct cfg *c, struct cfg **ret_cfg)
{
    struct cfg *d = xmemdup(c, sizeof(*c));
    d->file = xstrdup(c->file ? c->file : "");
    d->dropins = strv_copy((const char *const *)c->dropins);
    d->unimplemented = strv_copy((const char *const *)c->unimplemented);
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (k->offset == CFG_NO_FIELD)
            continue;
        void *f = cfg_field(d, k);
        if (k->type == CFG_T_STRING || k->type == CFG_T_PATH)
            *(char **)f = xstrdup(*(char **)f);
        else if (k->type == CFG_T_STRV)
            *(char ***)f = strv_copy((const char *const *)*(char ***)f);
    }
    *ret_cfg = d;
    return 0;
}

static bool strv_equal(char *const *a, char *const *b)
{
    size_t n = cfg_strv_len(a);
    if (n != cfg_strv_len(b))
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static bool field_equal(const struct cfg *a, const struct cfg *b, const struct cfg_key *k)
{
    const void *fa = cfg_field_const(a, k), *fb = cfg_field_const(b, k);
    switch (k->type) {
    case CFG_T_BOOL:
        return *(const bool *)fa == *(const bool *)fb;
    case CFG_T_INT:
    case CFG_T_ENUM:
        return *(const int *)fa == *(const int *)fb;
    case CFG_T_STRING:
    case CFG_T_PATH:
        return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
    case CFG_T_STRV:
        return strv_equal(*(char **const *)fa, *(char **const *)fb);
    }
    return false;
}

int cfg_compare(const struct cfg *a, const struct cfg *b, char *ret_key, size_t key_len)
{
    if (a->hv.kind != b->hv.kind) {
        if (ret_key)
            snprintf(ret_key, key_len, "[hypervisor.*] (qemu vs clh)");
        return 1;
    }
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (k->offset == CFG_NO_FIELD || field_equal(a, b, k))
            continue;
        if (ret_key)
            snprintf(ret_key, key_len, "[%s] %s", cfg_section_name(k->section, a->hv.kind),
                     k->name);
        return 1;
    }
    return 0;
}

int cfg_set_bool(struct cfg *c, const struct cfg_key *k, bool v)
{
    if (k->offset != CFG_NO_FIELD)
        *(bool *)cfg_field(c, k) = v;
    return 0;
}

int cfg_set_int(struct cfg *c, const struct cfg_key *k, int64_t v, char *msg, size_t len)
{
    if (v < k->min) {
        snprintf(msg, len, "must be at least %" PRId64 ", got %" PRId64, k->min, v);
        return -EINVAL;
    }
    if (v > k->max) {
        snprintf(msg, len, "must be at most %" PRId64 ", got %" PRId64, k->max, v);
        return -EINVAL;
    }
    if (k->offset != CFG_NO_FIELD)
        *(int *)cfg_field(c, k) = (int)v;
    return 0;
}

static void list_enum_names(enum cfg_enum_kind kind, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0;; i++) {
        const char *n = cfg_enum_name(kind, i);
        if (strcmp(n, "?") == 0)
            break;
        int w = snprintf(buf + pos, len - pos, "%s\"%s\"", i ? ", " : "", n);
        if (w < 0 || (size_t)w >= len - pos)
            break;
        pos += (size_t)w;
    }
}

int cfg_set_string(struct cfg *c, const struct cfg_key *k, const char *v, size_t vlen, char *msg,
                   size_t len)
{
    if (strlen(v) != vlen) {
        snprintf(msg, len, "must not contain a NUL character");
        return -EINVAL;
    }
    if (k->type == CFG_T_PATH && v[0] && v[0] != '/') {
        snprintf(msg, len, "\"%s\" is not an absolute path", v);
        return -EINVAL;
    }
    if (k->type == CFG_T_ENUM) {
        int value;
        if (cfg_enum_value(k->enum_kind, v, &value) < 0) {
            char names[160];
            list_enum_names(k->enum_kind, names, sizeof(names));
            snprintf(msg, len, "unknown value \"%s\" (expected %s)", v, names);
            return -EINVAL;
        }
        if (k->offset != CFG_NO_FIELD)
            *(int *)cfg_field(c, k) = value;
        return 0;
    }
    if (k->offset != CFG_NO_FIELD) {
        char **f = cfg_field(c, k);
        free(*f);
        *f = xstrdup(v);
    }
    return 0;
}

int cfg_set_strv(struct cfg *c, const struct cfg_key *k, char **v, char *msg, size_t len)
{
    (void)msg;
    (void)len;
    if (k->offset == CFG_NO_FIELD) {
        cfg_strv_free(v);
        return 0;
    }
    char ***f = cfg_field(c, k);
    cfg_strv_free(*f);
    *f = v;
    return 0;
}

/* Validation ------------------------------------------------------------ */

/* Where keys were defined, for messages; NULL when the cfg did not come
 * from a file (defaults, annotations). */
struct cfg_lines {
    const char *file;
    const char *const *files; /* by schema index, NULL = file (drop-ins) */
    const int *line; /* by schema index, 0 = not in the file */
};

static bool path_allowed(const char *path, char *const *patterns)
{
    for (char *const *p = patterns; p && *p; p++)
        if (fnmatch(*p, path, 0) == 0)
            return true;
    return false;
}

bool cfg_path_allowed(const char *path, char *const *patterns)
{
    return path_allowed(path, patterns);
}

static const struct cfg_key *key(enum cfg_section s, const char *name)
{
    const struct cfg_key *k = cfg_schema_find(s, name);
    assert(k);
    return k;
}

/* Formats "FILE:LINE: [section] key: " for k, or "[section] key: ". */
static void place(const struct cfg *c, const struct cfg_lines *where, const struct cfg_key *k,
                  char *buf, size_t len)
{
    int line = where && where->line ? where->line[cfg_schema_index(k)] : 0;
    const char *sec = cfg_section_name(k->section, c->hv.kind);
    const char *file = where && where->files && where->files[cfg_schema_index(k)]
                           ? where->files[cfg_schema_index(k)]
                           : where ? where->file : NULL;
    if (line > 0)
        snprintf(buf, len, "%s:%d: [%s] %s", file, line, sec, k->name);
    else if (c->file && c->file[0])
        snprintf(buf, len, "%s: [%s] %s", c->file, sec, k->name);
    else
        snprintf(buf, len, "[%s] %s", sec, k->name);
}

#define FAIL(k, ...)                                                                               \
    ({                                                                                             \
        char _where[160], _msg[ERR_MSG_MAX];                                                       \
        place(c, where, (k), _where, sizeof(_where));                                              \
        snprintf(_msg, sizeof(_msg), __VA_ARGS__);                                                 \
        err_set(e, -EINVAL, "%s: %s", _where, _msg);                                               \
    })

static int check_allowed(const struct cfg *c, const struct cfg_lines *where, const char *name,
                         const char *value, const char *list_name, char *const *list,
                         struct err *e)
{
    if (!list || !list[0] || path_allowed(value, list))
        return 0;
    return FAIL(key(CFG_SEC_HYPERVISOR, name), "\"%s\" does not match any pattern of %s", value,
                list_name);
}

static int validate_hypervisor(const struct cfg *c, const struct cfg_lines *where, struct err *e)
{
    const struct cfg_hypervisor *h = &c->hv;
    if (!h->path[0])
        return FAIL(key(CFG_SEC_HYPERVISOR, "path"), "must be set");
    if (h->kind == CFG_HV_MOCK) /* no VM: nothing else applies */
        return check_allowed(c, where, "path", h->path, "valid_hypervisor_paths",
                             h->valid_hypervisor_paths, e);
    if (!h->kernel[0])
        return FAIL(key(CFG_SEC_HYPERVISOR, "kernel"), "must be set");
    if (h->image[0] && h->initrd[0])
        return FAIL(key(CFG_SEC_HYPERVISOR, "image"), "set either image or initrd, not both");
    if (!h->image[0] && !h->initrd[0])
        return FAIL(key(CFG_SEC_HYPERVISOR, "initrd"), "set initrd or image");
    int r = check_allowed(c, where, "path", h->path, "valid_hypervisor_paths",
                          h->valid_hypervisor_paths, e);
    if (r < 0)
        return r;
    bool virtiofs =
        h->shared_fs == CFG_SHARED_FS_VIRTIO_FS || h->shared_fs == CFG_SHARED_FS_VIRTIO_FS_NYDUS;
    if (virtiofs && !h->virtio_fs_daemon[0])
        return FAIL(key(CFG_SEC_HYPERVISOR, "virtio_fs_daemon"), "must be set for shared_fs = \"%s\"",
                    cfg_enum_name(CFG_ENUM_SHARED_FS, (int)h->shared_fs));
    if (virtiofs) {
        r = check_allowed(c, where, "virtio_fs_daemon", h->virtio_fs_daemon,
                          "valid_virtio_fs_daemon_paths", h->valid_virtio_fs_daemon_paths, e);
        if (r < 0)
            return r;
    }
    r = check_allowed(c, where, "entropy_source", h->entropy_source, "valid_entropy_sources",
                      h->valid_entropy_sources, e);
    if (r < 0)
        return r;
    if (h->default_maxvcpus && h->default_maxvcpus < h->default_vcpus)
        return FAIL(key(CFG_SEC_HYPERVISOR, "default_maxvcpus"),
                    "%d is below default_vcpus (%d)", h->default_maxvcpus, h->default_vcpus);
    if (h->default_maxmemory && h->default_maxmemory < h->default_memory)
        return FAIL(key(CFG_SEC_HYPERVISOR, "default_maxmemory"),
                    "%d MiB is below default_memory (%d MiB)", h->default_maxmemory,
                    h->default_memory);
    for (char *const *p = h->enable_annotations; *p; p++) {
        regex_t re;
        int rc = regcomp(&re, *p, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[96];
            regerror(rc, &re, why, sizeof(why));
            return FAIL(key(CFG_SEC_HYPERVISOR, "enable_annotations"),
                        "\"%s\" is not a valid regular expression: %s", *p, why);
        }
        regfree(&re);
    }
    if (h->kind == CFG_HV_CLH) {
        if (h->shared_fs == CFG_SHARED_FS_VIRTIO_9P)
            return FAIL(key(CFG_SEC_HYPERVISOR, "shared_fs"), "Cloud Hypervisor has no virtio-9p");
        if (h->accel == CFG_ACCEL_TCG)
            return FAIL(key(CFG_SEC_HYPERVISOR, "accel"),
                        "Cloud Hypervisor needs KVM; \"tcg\" is QEMU only");
        if (h->block_device_driver != CFG_BLOCK_VIRTIO_BLK)
            return FAIL(key(CFG_SEC_HYPERVISOR, "block_device_driver"),
                        "Cloud Hypervisor supports only \"virtio-blk\"");
    }
    return 0;
}

static int validate_others(const struct cfg *c, const struct cfg_lines *where, struct err *e)
{
    if (c->hv.kind == CFG_HV_CLH && c->agent.transport == CFG_TRANSPORT_VIRTIO_SERIAL)
        return FAIL(key(CFG_SEC_AGENT, "transport"),
                    "Cloud Hypervisor has no virtio-serial port for the agent");
    for (char *const *m = c->agent.kernel_modules; *m; m++)
        if (!(*m)[0] || (*m)[0] == ' ')
            return FAIL(key(CFG_SEC_AGENT, "kernel_modules"),
                        "\"%s\": each item starts with a module name", *m);
    if (c->runtime.disable_new_netns && c->runtime.internetworking_model != CFG_NET_NONE)
        return FAIL(key(CFG_SEC_RUNTIME, "disable_new_netns"),
                    "needs internetworking_model = \"none\" (it is \"%s\")",
                    cfg_enum_name(CFG_ENUM_NETMODEL, (int)c->runtime.internetworking_model));
    if (c->factory.enable_template && c->hv.image[0])
        return FAIL(key(CFG_SEC_FACTORY, "enable_template"),
                    "VM templates need initrd, not image");
    return 0;
}

int cfg_validate_at(const struct cfg *c, const char *file, const int *lines, struct err *e)
{
    return cfg_validate_files(c, file, NULL, lines, e);
}

int cfg_validate_files(const struct cfg *c, const char *file, const char *const *files,
                       const int *lines, struct err *e)
{
    struct cfg_lines at = {file, files, lines};
    const struct cfg_lines *where = file && lines ? &at : NULL;
    int r = validate_hypervisor(c, where, e);
    return r < 0 ? r : validate_others(c, where, e);
}

int cfg_validate(const struct cfg *c, struct err *e)
{
    return cfg_validate_at(c, NULL, NULL, e);
}

/* Keys without effect ---------------------------------------------------- */

bool cfg_key_noop(const struct cfg_key *k, enum cfg_hv_kind kind)
{
    return k->offset != CFG_NO_FIELD && (unsigned)kind < _CFG_HV_MAX &&
           (k->noop & (1u << kind)) != 0;
}

/* The value as TOML would spell it, cut to fit: enough to recognise it. */
static void format_value(const struct cfg *c, const struct cfg_key *k, char *buf, size_t len)
{
    const void *f = cfg_field_const(c, k);
    switch (k->type) {
    case CFG_T_BOOL:
        snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
        return;
    case CFG_T_INT:
        snprintf(buf, len, "%d", *(const int *)f);
        return;
    case CFG_T_ENUM:
        snprintf(buf, len, "\"%s\"", cfg_enum_name(k->enum_kind, *(const int *)f));
        return;
    case CFG_T_STRING:
    case CFG_T_PATH:
        snprintf(buf, len, "\"%.*s\"", 96, *(char *const *)f);
        return;
    case CFG_T_STRV: {
        char *const *v = *(char **const *)f;
        size_t n = cfg_strv_len(v);
        if (n == 0)
            snprintf(buf, len, "[]");
        else
            snprintf(buf, len, "[\"%.*s\"%s]", 64, v[0], n > 1 ? ", ..." : "");
        return;
    }
    }
    snprintf(buf, len, "?");
}

/* origin (an annotation set, say) replaces the file and line. */
static char *noop_message(const struct cfg *c, const struct cfg_lines *where,
                          const char *origin, const struct cfg_key *k)
{
    char at[160], value[128], *msg;
    if (origin)
        snprintf(at, sizeof(at), "%s: [%s] %s", origin, cfg_section_name(k->section, c->hv.kind),
                 k->name);
    else
        place(c, where, k, at, sizeof(at));
    format_value(c, k, value, sizeof(value));
    if (asprintf(&msg, "%s = %s is not implemented by this runtime and has no effect", at,
                 value) < 0)
        abort(); /* out of memory, as xmalloc */
    return msg;
}

/* Messages for the no-op keys of c that differ from base. */
static char **collect_noop(const struct cfg *base, const struct cfg *c,
                           const struct cfg_lines *where, const char *origin)
{
    size_t n = 0;
    char **msgs = xnew(char *, 1);
    for (size_t i = 0; i < cfg_schema_size; i++) {
        const struct cfg_key *k = &cfg_schema[i];
        if (!cfg_key_noop(k, c->hv.kind) || field_equal(base, c, k))
            continue;
        msgs = xrealloc(msgs, (n + 2) * sizeof(*msgs));
        msgs[n++] = noop_message(c, where, origin, k);
        msgs[n] = NULL;
    }
    return msgs;
}

char **cfg_unimplemented_at(const struct cfg *c, const char *file, const char *const *files,
                            const int *lines)
{
    _cleanup_cfg_ struct cfg *defaults = NULL;
    struct cfg_lines at = {file, files, lines};
    if (cfg_defaults(c->hv.kind, &defaults) < 0)
        return strv_copy(NULL);
    return collect_noop(defaults, c, file && lines ? &at : NULL, NULL);
}

int cfg_unimplemented(const struct cfg *c, char ***ret_msgs)
{
    char **msgs = cfg_unimplemented_at(c, NULL, NULL, NULL);
    *ret_msgs = msgs;
    return (int)cfg_strv_len(msgs);
}

char **cfg_unimplemented_free(char **msgs)
{
    return cfg_strv_free(msgs);
}

int cfg_warn_unimplemented(const struct cfg *base, const struct cfg *c, const char *origin)
{
    if (base->hv.kind != c->hv.kind)
        return 0;
    char **msgs = collect_noop(base, c, NULL, origin ? origin : "override");
    int n = (int)cfg_strv_len(msgs);
    for (int i = 0; i < n; i++)
        log_warn("%s", msgs[i]);
    cfg_strv_free(msgs);
    return n;
}
