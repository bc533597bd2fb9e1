/* io.katacontainers.config.* annotations: names and value syntax follow
 * upstream's pkg/oci (booleans as Go's strconv.ParseBool, numbers in
 * decimal, virtio_fs_extra_args as a JSON array of strings, agent
 * kernel_modules separated by ';'). Agent annotations (kernel_modules,
 * enable_tracing, container_pipe_size) are not gated by enable_annotations,
 * as upstream's are not. */
#include "config/annotations.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>

#include "config/cfg-internal.h"
#include "config/toml.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/xalloc.h"

/* LIST_APPEND: a string added to the configured one, space-separated
 * (upstream adds annotation kernel_params to the configured ones). */
enum list_syntax { LIST_NONE, LIST_JSON, LIST_SEMICOLON, LIST_WORDS, LIST_APPEND };

struct mapping {
    const char *name;          /* annotation suffix */
    enum cfg_section section;
    const char *key;           /* schema key, when it differs from name */
    enum list_syntax list;
    const char *valid_list;    /* path-valued: the glob list it must match */
};

static const struct mapping hypervisor_map[] = {
    {"path", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, "valid_hypervisor_paths"},
    {"kernel", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"initrd", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"image", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"firmware", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"firmware_volume", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"machine_type", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"rootfs_type", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"kernel_params", CFG_SEC_HYPERVISOR, NULL, LIST_APPEND, NULL},
    {"machine_accelerators", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"cpu_features", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"default_vcpus", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"default_max_vcpus", CFG_SEC_HYPERVISOR, "default_maxvcpus", LIST_NONE, NULL},
    {"default_memory", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"default_maxmemory", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"memory_slots", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"memory_offset", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"default_bridges", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_virtio_mem", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_mem_prealloc", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_hugepages", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_iommu", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_iommu_platform", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"shared_fs", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"virtio_fs_daemon", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, "valid_virtio_fs_daemon_paths"},
    {"virtio_fs_cache", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"virtio_fs_cache_size", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"virtio_fs_extra_args", CFG_SEC_HYPERVISOR, NULL, LIST_JSON, NULL},
    {"msize_9p", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"block_device_driver", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"block_device_aio", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"block_device_cache_set", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"block_device_cache_direct", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"block_device_cache_noflush", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"disable_block_device_use", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"enable_iothreads", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"guest_hook_path", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"disable_image_nvdimm", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"hot_plug_vfio", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"cold_plug_vfio", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"pcie_root_port", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"disable_vhost_net", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
    {"entropy_source", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, "valid_entropy_sources"},
    {"use_legacy_serial", CFG_SEC_HYPERVISOR, NULL, LIST_NONE, NULL},
};

static const struct mapping runtime_map[] = {
    {"disable_guest_seccomp", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"sandbox_cgroup_only", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"enable_pprof", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"experimental", CFG_SEC_RUNTIME, NULL, LIST_WORDS, NULL},
    {"internetworking_model", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"disable_new_netns", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"vfio_mode", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
    {"create_container_timeout", CFG_SEC_RUNTIME, NULL, LIST_NONE, NULL},
};

static const struct mapping agent_map[] = {
    {"kernel_modules", CFG_SEC_AGENT, NULL, LIST_SEMICOLON, NULL},
    {"enable_tracing", CFG_SEC_AGENT, NULL, LIST_NONE, NULL},
    {"container_pipe_size", CFG_SEC_AGENT, NULL, LIST_NONE, NULL},
};

static const struct mapping *find_mapping(const struct mapping *map, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(map[i].name, name) == 0)
            return &map[i];
    return NULL;
}

int annotations_enabled(char *const *patterns, const char *name)
{
    for (char *const *p = patterns; p && *p; p++) {
        /* Upstream accepts a regex whose match is the whole name. */
        size_t len = strlen(*p) + 5;
        _cleanup_free_ char *anchored = xmalloc(len);
        snprintf(anchored, len, "^(%s)$", *p);
        regex_t re;
        if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) != 0)
            continue; /* cfg_validate() rejects these at load time */
        int match = regexec(&re, name, 0, NULL, 0) == 0;
        regfree(&re);
        if (match)
            return 1;
    }
    return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_int(const char *s, int64_t *ret)
{
    if (!*s || !(isdigit((unsigned char)*s) || (*s == '-' && isdigit((unsigned char)s[1]))))
        return -EINVAL;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* A JSON array of strings; JSON's strings are TOML basic strings for every
 * escape a list of arguments needs, so the TOML parser reads it. */
static int parse_json_strings(const char *s, char ***ret, char *msg, size_t len)
{
    size_t n = strlen(s) + 8;
    _cleanup_free_ char *doc = xmalloc(n);
    snprintf(doc, n, "v = %s\n", s);
    _cleanup_toml_free_ struct toml_value *root = NULL;
    const struct toml_value *v;
    if (toml_parse(doc, strlen(doc), "annotation", &root, NULL) < 0 ||
        !(v = toml_get(root, "v")) || toml_type(v) != TOML_ARRAY) {
        snprintf(msg, len, "expected a JSON array of strings");
        return -EINVAL;
    }
    size_t count = toml_array_size(v);
    char **list = xnew(char *, count + 1);
    for (size_t i = 0; i < count; i++) {
        const char *item;
        if (toml_string(toml_array_at(v, i), &item) < 0 ||
            strlen(item) != toml_string_len(toml_array_at(v, i))) {
            cfg_strv_free(list);
            snprintf(msg, len, "expected a JSON array of strings");
            return -EINVAL;
        }
        list[i] = xstrdup(item);
    }
    *ret = list;
    return 0;
}

static char **split(const char *s, const char *separators)
{
    size_t cap = strlen(s) / 2 + 2, n = 0;
    char **list = xnew(char *, cap);
    const char *p = s;
    while (*p) {
        size_t skip = strspn(p, separators);
        p += skip;
        size_t tok = strcspn(p, separators);
        /* Trim blanks around ';'-separated items, keep inner ones. */
        const char *a = p, *b = p + tok;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a)
            list[n++] = xstrndup(a, (size_t)(b - a));
        p += tok;
    }
    list[n] = NULL;
    return list;
}

static int apply_value(struct cfg *c, const struct mapping *m, const struct cfg_key *k,
                       const char *value, char *msg, size_t len)
{
    switch (k->type) {
    case CFG_T_BOOL: {
        bool b;
        if (parse_bool(value, &b) < 0) {
            snprintf(msg, len, "\"%s\" is not a boolean", value);
            return -EINVAL;
        }
        return cfg_set_bool(c, k, b);
    }
    case CFG_T_INT: {
        int64_t i;
        if (parse_int(value, &i) < 0) {
            snprintf(msg, len, "\"%s\" is not a decimal integer", value);
            return -EINVAL;
        }
        return cfg_set_int(c, k, i, msg, len);
    }
    case CFG_T_STRING:
    case CFG_T_PATH:
    case CFG_T_ENUM:
        if (m->list == LIST_APPEND) {
            const char *old = *(char *const *)cfg_field_const(c, k);
            size_t n = strlen(old) + strlen(value) + 2;
            _cleanup_free_ char *joined = xmalloc(n);
            snprintf(joined, n, "%s%s%s", old, old[0] && value[0] ? " " : "", value);
            return cfg_set_string(c, k, joined, strlen(joined), msg, len);
        }
        return cfg_set_string(c, k, value, strlen(value), msg, len);
    case CFG_T_STRV: {
        char **list;
        if (m->list == LIST_JSON) {
            int r = parse_json_strings(value, &list, msg, len);
            if (r < 0)
                return r;
        } else {
            list = split(value, m->list == LIST_SEMICOLON ? ";" : " \t,");
        }
        return cfg_set_strv(c, k, list, msg, len);
    }
    }
    return -EINVAL;
}

static int apply_one(const struct cfg *base, struct cfg *c, const char *key, const char *value,
                     struct err *e)
{
    const struct mapping *m = NULL;
    const char *name;
    bool gated = false;
    if (strncmp(key, ANNOTATIONS_HYPERVISOR, strlen(ANNOTATIONS_HYPERVISOR)) == 0) {
        name = key + strlen(ANNOTATIONS_HYPERVISOR);
        gated = true;
        m = find_mapping(hypervisor_map, ELEMENTSOF(hypervisor_map), name);
    } else if (strncmp(key, ANNOTATIONS_RUNTIME, strlen(ANNOTATIONS_RUNTIME)) == 0) {
        name = key + strlen(ANNOTATIONS_RUNTIME);
        m = find_mapping(runtime_map, ELEMENTSOF(runtime_map), name);
    } else if (strncmp(key, ANNOTATIONS_AGENT, strlen(ANNOTATIONS_AGENT)) == 0) {
        name = key + strlen(ANNOTATIONS_AGENT);
        m = find_mapping(agent_map, ELEMENTSOF(agent_map), name);
    } else {
        return 0; /* not a configuration override */
    }
    /* Gate first, as upstream: a disabled name fails even if unknown. */
    if (gated && !annotations_enabled(base->hv.enable_annotations, name))
        return err_set(e, -EPERM,
                       "annotation %s is not enabled (see enable_annotations in [%s] of %s)", key,
                       cfg_section_name(CFG_SEC_HYPERVISOR, base->hv.kind),
                       base->file[0] ? base->file : "the configuration");
    if (!m) {
        log_warn("annotation %s is not supported by this runtime, ignored", key);
        return 0;
    }
    if (!value)
        return err_set(e, -EINVAL, "annotation %s: no value", key);
    const struct cfg_key *k = cfg_schema_find(m->section, m->key ? m->key : m->name);
    if (!k)
        return err_set(e, -EINVAL, "annotation %s: no such configuration key", key);
    if (m->valid_list) {
        const struct cfg_key *lk = cfg_schema_find(CFG_SEC_HYPERVISOR, m->valid_list);
        char *const *globs = *(char **const *)cfg_field_const(base, lk);
        if (!cfg_path_allowed(value, globs))
            return err_set(e, -EPERM, "annotation %s: \"%s\" does not match %s%s", key, value,
                           m->valid_list, globs[0] ? "" : " (empty: path annotations refused)");
    }
    char msg[ERR_MSG_MAX] = "";
    int r = apply_value(c, m, k, value, msg, sizeof(msg));
    if (r < 0)
        return err_set(e, r, "annotation %s: %s", key, msg[0] ? msg : "bad value");
    return 0;
}

int annotations_apply(const struct cfg *base, const struct annotation *list, size_t n,
                      struct cfg **ret_cfg, struct err *e)
{
    _cleanup_cfg_ struct cfg *c = NULL;
    int r = cfg_dup(base, &c);
    if (r < 0)
        return err_set(e, r, "copying the configuration");
    for (size_t i = 0; i < n; i++) {
        if (!list[i].key)
            continue;
        r = apply_one(base, c, list[i].key, list[i].value, e);
        if (r < 0)
            return r;
    }
    r = cfg_validate(c, e);
    if (r < 0)
        return err_prefix(e, "after applying annotations");
    *ret_cfg = TAKE_PTR(c);
    return 0;
}
