/* The shim's view of configuration.toml; see runtime_config.h. */
#include "shim/runtime_config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/toml.h"
#include "lib/compiler.h"
#include "lib/err.h"

#define SEC UINT64_C(1000000000)

static const char *const default_files[] = {
    "/etc/kata-containers/configuration.toml",
    "/usr/share/defaults/kata-containers/configuration.toml",
};

static void defaults(struct runtime_config *c)
{
    memset(c, 0, sizeof(*c));
    c->kind = HV_KIND_QEMU;
    snprintf(c->path, sizeof(c->path), "/usr/bin/qemu-system-x86_64");
    snprintf(c->machine_type, sizeof(c->machine_type), "q35");
    snprintf(c->virtiofsd, sizeof(c->virtiofsd), "/usr/libexec/virtiofsd");
    snprintf(c->virtiofsd_cache, sizeof(c->virtiofsd_cache), "auto");
    c->shared_fs = HV_SHARED_FS_VIRTIO_FS;
    c->vcpus = 1;
    c->memory_mib = 2048;
    c->dial_timeout_ns = 45 * SEC; /* the shipped TOML's value */
}

static int get_str(const struct toml_value *t, const char *key, char *buf, size_t size,
                   const char *file, struct err *e)
{
    const char *s;
    int r = toml_string(toml_get(t, key), &s);

    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return err_set(e, r, "%s: %s: expected a string", file, key);
    if (strlen(s) >= size)
        return err_set(e, -ENAMETOOLONG, "%s: %s: too long", file, key);
    snprintf(buf, size, "%s", s);
    return 0;
}

static int get_uint(const struct toml_value *t, const char *key, unsigned max, unsigned *ret,
                    const char *file, struct err *e)
{
    int64_t v;
    int r = toml_int(toml_get(t, key), &v);

    if (r == -ENOENT)
        return 0;
    if (r < 0 || v < 0 || v > (int64_t)max)
        return err_set(e, -EINVAL, "%s: %s: expected an integer in 0..%u", file, key, max);
    if (v > 0)
        *ret = (unsigned)v;
    return 0;
}

static int shared_fs_from_name(const char *s, enum hv_shared_fs *ret)
{
    if (strcmp(s, "virtio-fs") == 0 || strcmp(s, "virtio-fs-nydus") == 0)
        *ret = HV_SHARED_FS_VIRTIO_FS;
    else if (strcmp(s, "virtio-9p") == 0)
        *ret = HV_SHARED_FS_VIRTIO_9P;
    else if (strcmp(s, "none") == 0)
        *ret = HV_SHARED_FS_NONE;
    else
        return -EINVAL;
    return 0;
}

static int read_annotation_list(const struct toml_value *hv, struct runtime_config *c,
                                const char *file, struct err *e)
{
    const struct toml_value *list = toml_get(hv, "enable_annotations");
    size_t pos = 0;

    c->enable_annotations[0] = '\0';
    if (!list)
        return 0;
    if (toml_type(list) != TOML_ARRAY)
        return err_set(e, -EINVAL, "%s: enable_annotations: expected an array", file);
    for (size_t i = 0; i < toml_array_size(list); i++) {
        const char *s;
        if (toml_string(toml_array_at(list, i), &s) < 0)
            return err_set(e, -EINVAL, "%s: enable_annotations[%zu]: expected a string", file, i);
        int n = snprintf(c->enable_annotations + pos, sizeof(c->enable_annotations) - pos,
                         "%s%s,", pos ? "" : ",", s);
        if (n < 0 || (size_t)n >= sizeof(c->enable_annotations) - pos)
            return err_set(e, -E2BIG, "%s: enable_annotations: too long", file);
        pos += (size_t)n;
    }
    return 0;
}

static int read_hypervisor(const struct toml_value *root, struct runtime_config *c,
                           const char *file, struct err *e)
{
    static const char *const names[] = {"qemu", "clh", "mock"};
    const struct toml_value *hv = NULL;
    char shared_fs[32] = "";
    bool debug = false;
    int r;

    for (size_t i = 0; i < ELEMENTSOF(names) && !hv; i++) {
        char key[32];
        snprintf(key, sizeof(key), "hypervisor.%s", names[i]);
        hv = toml_get(root, key);
        if (hv && hv_kind_from_name(names[i], &c->kind) < 0)
            return err_set(e, -EINVAL, "%s: [%s]: unknown hypervisor", file, key);
    }
    if (!hv)
        return err_set(e, -EINVAL, "%s: no [hypervisor.qemu], [hypervisor.clh] or "
                                   "[hypervisor.mock] table", file);
    if (c->kind == HV_KIND_MOCK)
        c->shared_fs = HV_SHARED_FS_NONE;
    if ((r = get_str(hv, "path", c->path, sizeof(c->path), file, e)) < 0 ||
        (r = get_str(hv, "kernel", c->kernel, sizeof(c->kernel), file, e)) < 0 ||
        (r = get_str(hv, "initrd", c->initrd, sizeof(c->initrd), file, e)) < 0 ||
        (r = get_str(hv, "image", c->image, sizeof(c->image), file, e)) < 0 ||
        (r = get_str(hv, "firmware", c->firmware, sizeof(c->firmware), file, e)) < 0 ||
        (r = get_str(hv, "machine_type", c->machine_type, sizeof(c->machine_type), file, e)) <
            0 ||
        (r = get_str(hv, "kernel_params", c->kernel_params, sizeof(c->kernel_params), file, e)) <
            0 ||
        (r = get_str(hv, "virtio_fs_daemon", c->virtiofsd, sizeof(c->virtiofsd), file, e)) < 0 ||
        (r = get_str(hv, "virtio_fs_cache", c->virtiofsd_cache, sizeof(c->virtiofsd_cache), file,
                     e)) < 0 ||
        (r = get_str(hv, "shared_fs", shared_fs, sizeof(shared_fs), file, e)) < 0 ||
        (r = get_uint(hv, "default_vcpus", 256, &c->vcpus, file, e)) < 0 ||
        (r = get_uint(hv, "default_memory", 1u << 20, &c->memory_mib, file, e)) < 0 ||
        (r = read_annotation_list(hv, c, file, e)) < 0)
        return r;
    if (shared_fs[0] && c->kind != HV_KIND_MOCK && shared_fs_from_name(shared_fs, &c->shared_fs) < 0)
        return err_set(e, -EINVAL, "%s: shared_fs: unknown value \"%s\"", file, shared_fs);
    if (toml_bool(toml_get(hv, "enable_debug"), &debug) == 0)
        c->debug = debug;
    return 0;
}

static int read_file(const char *file, struct runtime_config *c, struct err *e)
{
    struct toml_value *root = NULL;
    unsigned dial = 0;
    int r = toml_parse_file(file, &root, e);

    if (r < 0)
        return r;
    snprintf(c->file, sizeof(c->file), "%s", file);
    r = read_hypervisor(root, c, file, e);
    if (r >= 0)
        r = get_uint(root, "agent.kata.dial_timeout", 3600, &dial, file, e);
    if (r >= 0 && dial)
        c->dial_timeout_ns = dial * SEC;
    toml_free(root);
    return r;
}

int runtime_config_load(const char *config_path, struct runtime_config *ret, struct err *e)
{
    const char *env = getenv("KATA_CONF_FILE");

    defaults(ret);
    if (config_path && *config_path)
        return read_file(config_path, ret, e);
    if (env && *env)
        return read_file(env, ret, e);
    for (size_t i = 0; i < ELEMENTSOF(default_files); i++)
        if (access(default_files[i], R_OK) == 0)
            return read_file(default_files[i], ret, e);
    return 0;
}

#define ANNOTATION_PREFIX "io.katacontainers.config.hypervisor."

static bool annotation_allowed(const struct runtime_config *c, const char *key)
{
    char needle[128];

    snprintf(needle, sizeof(needle), ",%s,", key);
    return strstr(c->enable_annotations, needle) != NULL;
}

static int apply_one(struct runtime_config *c, const char *key, const char *value, struct err *e)
{
    char *end;
    unsigned long v;

    if (!annotation_allowed(c, key))
        return err_set(e, -EPERM, "annotation %s%s is not enabled in %s", ANNOTATION_PREFIX,
                       key, c->file[0] ? c->file : "the configuration");
    if (strcmp(key, "kernel_params") == 0) {
        size_t n = strlen(c->kernel_params);
        snprintf(c->kernel_params + n, sizeof(c->kernel_params) - n, "%s%s", n ? " " : "",
                 value);
        return 0;
    }
    if (strcmp(key, "default_vcpus") == 0 || strcmp(key, "default_memory") == 0) {
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno || *end || v == 0 || v > (1u << 20))
            return err_set(e, -EINVAL, "annotation %s%s: bad number \"%s\"", ANNOTATION_PREFIX,
                           key, value);
        if (key[8] == 'v')
            c->vcpus = (unsigned)v;
        else
            c->memory_mib = (unsigned)v;
        return 0;
    }
    return err_set(e, -ENOTSUP, "annotation %s%s is not supported", ANNOTATION_PREFIX, key);
}

int runtime_config_annotations(struct runtime_config *c, const char *config_json_path,
                               struct err *e)
{
    struct json_object *root = json_object_from_file(config_json_path), *ann;
    int r = 0;

    if (!root)
        return err_set(e, -EINVAL, "%s: cannot parse", config_json_path);
    if (json_object_object_get_ex(root, "annotations", &ann) &&
        json_object_is_type(ann, json_type_object)) {
        json_object_object_foreach(ann, key, val)
        {
            if (strncmp(key, ANNOTATION_PREFIX, strlen(ANNOTATION_PREFIX)) != 0 ||
                !json_object_is_type(val, json_type_string))
                continue;
            r = apply_one(c, key + strlen(ANNOTATION_PREFIX), json_object_get_string(val), e);
            if (r < 0)
                break;
        }
    }
    json_object_put(root);
    return r;
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

void runtime_config_to_hv(const struct runtime_config *c, const char *shared_dir,
                          struct hv_config *ret_hv)
{
    *ret_hv = (struct hv_config){
        .kind = c->kind,
        .path = opt(c->path),
        .kernel = opt(c->kernel),
        .initrd = opt(c->initrd),
        .image = opt(c->image),
        .firmware = opt(c->firmware),
        .machine_type = opt(c->machine_type),
        .kernel_params = opt(c->kernel_params),
        .vcpus = c->vcpus,
        .max_vcpus = c->vcpus,
        .memory_mib = c->memory_mib,
        .shared_fs = c->shared_fs,
        .shared_dir = shared_dir,
        .virtiofsd_path = opt(c->virtiofsd),
        .virtiofsd_cache = opt(c->virtiofsd_cache),
        .debug = c->debug,
    };
}
