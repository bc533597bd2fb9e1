/* TOML tree -> struct cfg. The schema says what each key is; this file
 * walks the document, warns about what the schema does not know, and turns
 * type and value errors into "FILE:LINE: [section] key: message". Drop-ins
 * (cfg-dropin.h) are walked the same way over the cfg the base file built,
 * so a key they set replaces the base's and a key they omit keeps it; the
 * loader remembers which file set each key so that the checks run after the
 * last file name the right one. */
#include "config/cfg-internal.h"

#include <string.h>

#include "config/cfg-dropin.h"
#include "config/guestcheck.h"
#include "config/toml.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

struct loader {
    const char *file; /* the file being walked */
    const char *base; /* the main configuration file */
    struct cfg *cfg;
    int *lines;          /* by schema index */
    const char **files;  /* by schema index: where lines[] points */
    struct err *e;
};

static int value_error(struct loader *l, const struct toml_value *v, const char *sec,
                       const char *name, const char *msg)
{
    return err_set(l->e, -EINVAL, "%s:%d: [%s] %s: %s", l->file, toml_line(v), sec, name, msg);
}

static const char *type_words(const struct toml_value *v)
{
    switch (toml_type(v)) {
    case TOML_STRING:
        return "string";
    case TOML_INTEGER:
        return "integer";
    case TOML_FLOAT:
        return "float";
    case TOML_BOOL:
        return "boolean";
    case TOML_ARRAY:
        return "array";
    case TOML_TABLE:
        return "table";
    default:
        return "date/time";
    }
}

static int type_error(struct loader *l, const struct toml_value *v, const char *sec,
                      const char *name, const char *want)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "expected %s, got %s", want, type_words(v));
    return value_error(l, v, sec, name, msg);
}

static int read_strv(struct loader *l, const struct toml_value *v, const char *sec,
                     const char *name, char ***ret)
{
    if (toml_type(v) != TOML_ARRAY)
        return type_error(l, v, sec, name, "an array of strings");
    size_t n = toml_array_size(v);
    char **list = xnew(char *, n + 1);
    for (size_t i = 0; i < n; i++) {
        const struct toml_value *item = toml_array_at(v, i);
        const char *s;
        if (toml_string(item, &s) < 0) {
            cfg_strv_free(list);
            return type_error(l, item, sec, name, "an array of strings");
        }
        if (strlen(s) != toml_string_len(item)) {
            cfg_strv_free(list);
            return value_error(l, item, sec, name, "must not contain a NUL character");
        }
        list[i] = xstrdup(s);
    }
    *ret = list;
    return 0;
}

static int load_key(struct loader *l, const struct cfg_key *k, const struct toml_value *v,
                    const char *sec)
{
    char msg[ERR_MSG_MAX] = "";
    int r;
    switch (k->type) {
    case CFG_T_BOOL: {
        bool b;
        if (toml_bool(v, &b) < 0)
            return type_error(l, v, sec, k->name, "a boolean");
        return cfg_set_bool(l->cfg, k, b);
    }
    case CFG_T_INT: {
        int64_t i;
        if (toml_int(v, &i) < 0)
            return type_error(l, v, sec, k->name, "an integer");
        r = cfg_set_int(l->cfg, k, i, msg, sizeof(msg));
        break;
    }
    case CFG_T_STRING:
    case CFG_T_PATH:
    case CFG_T_ENUM: {
        const char *s;
        if (toml_string(v, &s) < 0)
            return type_error(l, v, sec, k->name, "a string");
        r = cfg_set_string(l->cfg, k, s, toml_string_len(v), msg, sizeof(msg));
        break;
    }
    case CFG_T_STRV: {
        char **list = NULL;
        r = read_strv(l, v, sec, k->name, &list);
        if (r < 0)
            return r;
        r = cfg_set_strv(l->cfg, k, list, msg, sizeof(msg));
        break;
    }
    default:
        r = -EINVAL;
        snprintf(msg, sizeof(msg), "unsupported schema type");
    }
    return r < 0 ? value_error(l, v, sec, k->name, msg) : 0;
}

static void warn_unknown(struct loader *l, const struct toml_value *v, const char *where,
                         const char *what)
{
    if (toml_type(v) == TOML_TABLE)
        log_warn("%s:%d: unknown section [%s%s%s], ignored", l->file, toml_line(v), where,
                 where[0] ? "." : "", what);
    else if (where[0])
        log_warn("%s:%d: [%s] unknown key \"%s\", ignored", l->file, toml_line(v), where, what);
    else
        log_warn("%s:%d: unknown top-level key \"%s\", ignored", l->file, toml_line(v), what);
}

/* A key holding U+0000 cannot match the schema; treat it as unknown. */
static const char *key_at(const struct toml_value *t, size_t i)
{
    const char *k = toml_table_key_at(t, i);
    return strlen(k) == toml_table_key_len_at(t, i) ? k : NULL;
}

static int load_section(struct loader *l, const struct toml_value *table, enum cfg_section s)
{
    const char *sec = cfg_section_name(s, l->cfg->hv.kind);
    for (size_t i = 0; i < toml_table_size(table); i++) {
        const char *name = key_at(table, i);
        const struct toml_value *v = toml_table_value_at(table, i);
        const struct cfg_key *k = name ? cfg_schema_find(s, name) : NULL;
        if (!k) {
            warn_unknown(l, v, sec, name ? name : "(key with NUL)");
            continue;
        }
        int r = load_key(l, k, v, sec);
        if (r < 0)
            return r;
        l->lines[cfg_schema_index(k)] = toml_line(v);
        l->files[cfg_schema_index(k)] = l->file;
    }
    return 0;
}

/* Exactly one [hypervisor.qemu] or [hypervisor.clh]. */
static int pick_hypervisor(struct loader *l, const struct toml_value *root,
                           const struct toml_value **ret_table, enum cfg_hv_kind *ret_kind)
{
    const struct toml_value *hv = toml_get(root, "hypervisor");
    const struct toml_value *found = NULL;
    enum cfg_hv_kind kind = CFG_HV_QEMU;
    if (!hv || toml_type(hv) != TOML_TABLE)
        return err_set(l->e, -EINVAL, "%s: no [hypervisor.qemu] or [hypervisor.clh] section",
                       l->file);
    for (size_t i = 0; i < toml_table_size(hv); i++) {
        const char *name = key_at(hv, i);
        const struct toml_value *v = toml_table_value_at(hv, i);
        int value;
        if (toml_type(v) != TOML_TABLE) {
            warn_unknown(l, v, "hypervisor", name ? name : "(key with NUL)");
            continue;
        }
        if (!name || cfg_enum_value(CFG_ENUM_HV_KIND, name, &value) < 0)
            return err_set(l->e, -EINVAL,
                           "%s:%d: [hypervisor.%s]: hypervisor not supported (this runtime "
                           "drives qemu and clh)",
                           l->file, toml_line(v), name ? name : "?");
        if (found)
            return err_set(l->e, -EINVAL,
                           "%s:%d: [hypervisor.%s]: a second hypervisor section (the first is "
                           "at line %d); keep exactly one",
                           l->file, toml_line(v), name, toml_line(found));
        found = v;
        kind = (enum cfg_hv_kind)value;
    }
    if (!found)
        return err_set(l->e, -EINVAL, "%s: no [hypervisor.qemu] or [hypervisor.clh] section",
                       l->file);
    *ret_table = found;
    *ret_kind = kind;
    return 0;
}

static int load_agent(struct loader *l, const struct toml_value *agent)
{
    if (toml_type(agent) != TOML_TABLE) {
        warn_unknown(l, agent, "", "agent");
        return 0;
    }
    for (size_t i = 0; i < toml_table_size(agent); i++) {
        const char *name = key_at(agent, i);
        const struct toml_value *v = toml_table_value_at(agent, i);
        if (name && strcmp(name, "kata") == 0 && toml_type(v) == TOML_TABLE) {
            int r = load_section(l, v, CFG_SEC_AGENT);
            if (r < 0)
                return r;
        } else {
            warn_unknown(l, v, "agent", name ? name : "(key with NUL)");
        }
    }
    return 0;
}

/* The sections other than [hypervisor.*], over l->cfg. */
static int load_rest(struct loader *l, const struct toml_value *root)
{
    int r = 0;
    for (size_t i = 0; r >= 0 && i < toml_table_size(root); i++) {
        const char *name = key_at(root, i);
        const struct toml_value *v = toml_table_value_at(root, i);
        if (name && strcmp(name, "hypervisor") == 0)
            continue;
        if (name && strcmp(name, "agent") == 0)
            r = load_agent(l, v);
        else if (name && strcmp(name, "runtime") == 0 && toml_type(v) == TOML_TABLE)
            r = load_section(l, v, CFG_SEC_RUNTIME);
        else if (name && strcmp(name, "factory") == 0 && toml_type(v) == TOML_TABLE)
            r = load_section(l, v, CFG_SEC_FACTORY);
        else
            warn_unknown(l, v, "", name ? name : "(key with NUL)");
    }
    return r;
}

static int load_tree(struct loader *l, const struct toml_value *root)
{
    const struct toml_value *hv_table = NULL;
    enum cfg_hv_kind kind = CFG_HV_QEMU;
    int r = pick_hypervisor(l, root, &hv_table, &kind);
    if (r < 0)
        return r;
    r = cfg_defaults(kind, &l->cfg);
    if (r < 0)
        return err_set(l->e, r, "%s: cannot build defaults", l->file);
    free(l->cfg->file);
    l->cfg->file = xstrdup(l->file);
    r = load_section(l, hv_table, CFG_SEC_HYPERVISOR);
    return r < 0 ? r : load_rest(l, root);
}

/* A drop-in's [hypervisor] may only refine the base file's hypervisor: the
 * defaults were chosen for that one, and a pod cannot have two. */
static int load_dropin_hypervisor(struct loader *l, const struct toml_value *hv)
{
    const char *own = cfg_enum_name(CFG_ENUM_HV_KIND, (int)l->cfg->hv.kind);
    if (toml_type(hv) != TOML_TABLE) {
        warn_unknown(l, hv, "", "hypervisor");
        return 0;
    }
    for (size_t i = 0; i < toml_table_size(hv); i++) {
        const char *name = key_at(hv, i);
        const struct toml_value *v = toml_table_value_at(hv, i);
        if (toml_type(v) != TOML_TABLE) {
            warn_unknown(l, v, "hypervisor", name ? name : "(key with NUL)");
            continue;
        }
        if (!name || strcmp(name, own) != 0)
            return err_set(l->e, -EINVAL,
                           "%s:%d: [hypervisor.%s]: %s uses [hypervisor.%s]; a drop-in can "
                           "change its keys but not switch hypervisors",
                           l->file, toml_line(v), name ? name : "?", l->base, own);
        int r = load_section(l, v, CFG_SEC_HYPERVISOR);
        if (r < 0)
            return r;
    }
    return 0;
}

static int load_dropin(struct loader *l, const char *path)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    int r = toml_parse_file(path, &root, l->e);
    if (r < 0)
        return r;
    l->file = path;
    const struct toml_value *hv = toml_get(root, "hypervisor");
    r = hv ? load_dropin_hypervisor(l, hv) : 0;
    return r < 0 ? r : load_rest(l, root);
}

static int load_dropins(struct loader *l, char **paths)
{
    for (char **p = paths; *p; p++) {
        log_debug("%s: merging drop-in %s", l->base, *p);
        int r = load_dropin(l, *p);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Keys set to a value this runtime does not act on: a warning each, with
 * the file and line that set it, rather than silence (and not an error:
 * upstream files must keep loading). */
static void note_unimplemented(struct cfg *c, const char *file, const char *const *files,
                               const int *lines)
{
    cfg_strv_free(c->unimplemented);
    c->unimplemented = cfg_unimplemented_at(c, file, files, lines);
    for (char **m = c->unimplemented; *m; m++)
        log_warn("%s", *m);
}

int cfg_load_string(const char *text, size_t len, const char *name, struct cfg **ret_cfg,
                    struct err *e)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    int r = toml_parse(text, len, name, &root, e);
    if (r < 0)
        return r;
    _cleanup_free_ int *lines = xnew(int, cfg_schema_size);
    _cleanup_free_ const char **files = xnew(const char *, cfg_schema_size);
    struct loader l = {.file = name ? name : "<input>", .lines = lines, .files = files, .e = e};
    l.base = l.file;
    r = load_tree(&l, root);
    if (r >= 0)
        r = cfg_validate_files(l.cfg, l.base, files, lines, e);
    if (r < 0) {
        cfg_free(l.cfg);
        return r;
    }
    note_unimplemented(l.cfg, l.base, files, lines);
    *ret_cfg = l.cfg;
    return 0;
}

int cfg_load(const char *path, struct cfg **ret_cfg, struct err *e)
{
    _cleanup_toml_free_ struct toml_value *root = NULL;
    int r = toml_parse_file(path, &root, e);
    if (r < 0)
        return r;
    _cleanup_free_ int *lines = xnew(int, cfg_schema_size);
    _cleanup_free_ const char **files = xnew(const char *, cfg_schema_size);
    struct loader l = {.file = path, .base = path, .lines = lines, .files = files, .e = e};
    r = load_tree(&l, root);
    if (r >= 0) {
        /* The list lives in the cfg, so files[] may point into it. */
        char **dropins = NULL;
        r = cfg_dropin_list(path, &dropins, e);
        if (r >= 0) {
            cfg_strv_free(l.cfg->dropins);
            l.cfg->dropins = dropins;
            r = load_dropins(&l, dropins);
        }
    }
    if (r >= 0)
        r = cfg_validate_files(l.cfg, path, files, lines, e);
    if (r < 0) {
        cfg_free(l.cfg);
        return r;
    }
    note_unimplemented(l.cfg, path, files, lines);
    /* A 9p share the guest kernel cannot mount only fails at CreateSandbox:
     * say so now (a warning: the manifest may be stale or absent). */
    char detail[GUESTCHECK_DETAIL];
    if (l.cfg->hv.shared_fs == CFG_SHARED_FS_VIRTIO_9P &&
        guestcheck_shared_fs(&l.cfg->hv, detail, sizeof(detail)) == GUESTCHECK_MISSING)
        log_warn("%s: [hypervisor.%s] shared_fs = \"virtio-9p\": %s; pods will fail to "
                 "start (use a guest built with the generic kernel flavour, make guest-generic, "
                 "or shared_fs = \"virtio-fs\")",
                 path, cfg_enum_name(CFG_ENUM_HV_KIND, (int)l.cfg->hv.kind), detail);
    *ret_cfg = l.cfg;
    return 0;
}
