/* The shim's view of configuration.toml; see runtime_config.h. */
#include "shim/runtime_config.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/annotations.h"
#include "config/cfg.h"
#include "hypervisor/hv-config.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#define SEC UINT64_C(1000000000)
/* More io.katacontainers.config.* annotations than any pod needs. */
#define ANNOTATIONS_MAX 256

/* The pod's io.katacontainers.config.* annotations, applied over *c. */
static int apply_annotations(struct cfg **c, const char *config_json, struct err *e)
{
    if (!config_json || !config_json[0])
        return 0;
    struct json_object *root = json_object_from_file(config_json), *ann;
    if (!root)
        return err_set(e, -EINVAL, "%s: cannot parse", config_json);
    struct annotation list[ANNOTATIONS_MAX];
    size_t n = 0;
    int r = 0;
    if (json_object_object_get_ex(root, "annotations", &ann) &&
        json_object_is_type(ann, json_type_object)) {
        json_object_object_foreach(ann, key, val)
        {
            if (strncmp(key, ANNOTATIONS_PREFIX, strlen(ANNOTATIONS_PREFIX)) != 0)
                continue;
            if (!json_object_is_type(val, json_type_string)) {
                r = err_set(e, -EINVAL, "annotation %s: the value must be a string", key);
                break;
            }
            if (n == ELEMENTSOF(list)) {
                r = err_set(e, -E2BIG, "more than %d %s* annotations", ANNOTATIONS_MAX,
                            ANNOTATIONS_PREFIX);
                break;
            }
            list[n++] = (struct annotation){key, json_object_get_string(val)};
        }
    }
    if (r >= 0 && n > 0) {
        struct cfg *applied = NULL;
        r = annotations_apply(*c, list, n, &applied, e);
        if (r >= 0) {
            char origin[512];
            snprintf(origin, sizeof(origin), "%s: annotations", config_json);
            cfg_warn_unimplemented(*c, applied, origin);
            cfg_free(*c);
            *c = applied;
        }
    }
    json_object_put(root);
    return r;
}

static int keep(char *dst, size_t size, const char *src, const char *key, struct err *e)
{
    if (!src)
        src = "";
    if (strlen(src) >= size)
        return err_set(e, -ENAMETOOLONG, "%s: longer than %zu bytes", key, size - 1);
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

/* Copies hc's strings into ret's arrays and clears them in ret->hv. */
static int snapshot(const struct hv_config *hc, struct runtime_config *ret, struct err *e)
{
    int r;
    if ((r = keep(ret->path, sizeof(ret->path), hc->path, "path", e)) < 0 ||
        (r = keep(ret->kernel, sizeof(ret->kernel), hc->kernel, "kernel", e)) < 0 ||
        (r = keep(ret->initrd, sizeof(ret->initrd), hc->initrd, "initrd", e)) < 0 ||
        (r = keep(ret->image, sizeof(ret->image), hc->image, "image", e)) < 0 ||
        (r = keep(ret->firmware, sizeof(ret->firmware), hc->firmware, "firmware", e)) < 0 ||
        (r = keep(ret->machine_type, sizeof(ret->machine_type), hc->machine_type,
                  "machine_type", e)) < 0 ||
        (r = keep(ret->cpu_model, sizeof(ret->cpu_model), hc->cpu_model, "cpu_model", e)) < 0 ||
        (r = keep(ret->kernel_params, sizeof(ret->kernel_params), hc->kernel_params,
                  "kernel_params", e)) < 0 ||
        (r = keep(ret->virtiofsd_path, sizeof(ret->virtiofsd_path), hc->virtiofsd_path,
                  "virtio_fs_daemon", e)) < 0 ||
        (r = keep(ret->virtiofsd_cache, sizeof(ret->virtiofsd_cache), hc->virtiofsd_cache,
                  "virtio_fs_cache", e)) < 0 ||
        (r = keep(ret->entropy_source, sizeof(ret->entropy_source), hc->entropy_source,
                  "entropy_source", e)) < 0)
        return r;
    ret->n_extra_args = 0;
    for (size_t i = 0; hc->virtiofsd_extra_args && hc->virtiofsd_extra_args[i]; i++) {
        if (i == RUNTIME_CONFIG_ARGS_MAX)
            return err_set(e, -E2BIG, "virtio_fs_extra_args: more than %d",
                           RUNTIME_CONFIG_ARGS_MAX);
        if ((r = keep(ret->extra_args[i], sizeof(ret->extra_args[i]),
                      hc->virtiofsd_extra_args[i], "virtio_fs_extra_args", e)) < 0)
            return r;
        ret->n_extra_args = i + 1;
    }
    ret->hv = *hc;
    ret->hv.path = ret->hv.kernel = ret->hv.initrd = ret->hv.image = ret->hv.firmware = NULL;
    ret->hv.machine_type = ret->hv.cpu_model = ret->hv.kernel_params = NULL;
    ret->hv.virtiofsd_path = ret->hv.virtiofsd_cache = ret->hv.shared_dir = NULL;
    ret->hv.virtiofsd_extra_args = NULL;
    ret->hv.entropy_source = NULL;
    return 0;
}

#define MODULES_KEY "[agent.kata] kernel_modules"

static bool blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

int runtime_config_check_module(const char *item, char *buf, size_t size, struct err *e)
{
    size_t n = 0, words = 0;
    for (const char *p = item; *p;) {
        while (blank(*p))
            p++;
        size_t len = 0;
        while (p[len] && !blank(p[len]))
            len++;
        if (!len)
            break;
        if (words == 0) {
            if (len > RUNTIME_CONFIG_MODULE_NAME_MAX)
                return err_set(e, -EINVAL, MODULES_KEY ": \"%.*s\": a module name has at most %d "
                               "characters", (int)len, p, RUNTIME_CONFIG_MODULE_NAME_MAX);
            for (size_t i = 0; i < len; i++)
                if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                      (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '-'))
                    return err_set(e, -EINVAL, MODULES_KEY ": \"%.*s\" is not a module name "
                                   "(letters, digits, '-' and '_')", (int)len, p);
        }
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return err_set(e, -EINVAL, MODULES_KEY ": the parameters of %.*s have a control "
                               "character", (int)strcspn(item + strspn(item, " \t"), " \t"),
                               item + strspn(item, " \t"));
        if (n + (words ? 1 : 0) + len >= size)
            return err_set(e, -ENAMETOOLONG, MODULES_KEY ": an item is longer than %zu bytes",
                           size - 1);
        if (words)
            buf[n++] = ' ';
        memcpy(buf + n, p, len);
        n += len;
        buf[n] = '\0';
        words++;
        p += len;
    }
    if (!words)
        return err_set(e, -EINVAL, MODULES_KEY ": an empty item: each item starts with a module "
                       "name");
    return 0;
}

static int keep_modules(char *const *items, struct runtime_config *ret, struct err *e)
{
    ret->n_kernel_modules = 0;
    for (size_t i = 0; items && items[i]; i++) {
        if (i == RUNTIME_CONFIG_MODULES_MAX)
            return err_set(e, -E2BIG, MODULES_KEY ": more than %d modules",
                           RUNTIME_CONFIG_MODULES_MAX);
        int r = runtime_config_check_module(items[i], ret->kernel_modules[i],
                                            sizeof(ret->kernel_modules[i]), e);
        if (r < 0)
            return r;
        ret->n_kernel_modules = i + 1;
    }
    return 0;
}

int runtime_config_load(const char *config_path, const char *config_json,
                        struct runtime_config *ret, struct err *e)
{
    _cleanup_free_ char *file = NULL;
    _cleanup_cfg_ struct cfg *c = NULL;
    int r = cfg_find(config_path, NULL, &file, e);
    if (r < 0)
        return r;
    if ((r = cfg_load(file, &c, e)) < 0)
        return r;
    if ((r = apply_annotations(&c, config_json, e)) < 0)
        return r;
    struct hv_config hc;
    if ((r = hv_config_from_cfg(c, NULL, &hc, e)) < 0)
        return r;
    memset(ret, 0, sizeof(*ret));
    if ((r = snapshot(&hc, ret, e)) < 0)
        return err_prefix(e, "%s", file);
    if ((r = keep_modules(c->agent.kernel_modules, ret, e)) < 0)
        return err_prefix(e, "%s", file);
    snprintf(ret->file, sizeof(ret->file), "%s", file);
    ret->kind = hc.kind;
    ret->shared_fs = hc.shared_fs;
    ret->dial_timeout_ns = (uint64_t)c->agent.dial_timeout * SEC;
    ret->net_model = c->runtime.internetworking_model == CFG_NET_MACVTAP ? NETWORK_MACVTAP
                     : c->runtime.internetworking_model == CFG_NET_NONE  ? NETWORK_NONE
                                                                          : NETWORK_TCFILTER;
    ret->disable_new_netns = c->runtime.disable_new_netns;
    ret->guest_seccomp = !c->runtime.disable_guest_seccomp;
    ret->create_container_timeout_ns = (uint64_t)c->runtime.create_container_timeout * SEC;
    return 0;
}

static const char *opt(const char *s)
{
    return s[0] ? s : NULL;
}

void runtime_config_to_hv(struct runtime_config *c, const char *shared_dir,
                          struct hv_config *ret_hv)
{
    *ret_hv = c->hv;
    ret_hv->path = opt(c->path);
    ret_hv->kernel = opt(c->kernel);
    ret_hv->initrd = opt(c->initrd);
    ret_hv->image = opt(c->image);
    ret_hv->firmware = opt(c->firmware);
    ret_hv->machine_type = opt(c->machine_type);
    ret_hv->cpu_model = opt(c->cpu_model);
    ret_hv->kernel_params = opt(c->kernel_params);
    ret_hv->virtiofsd_path = opt(c->virtiofsd_path);
    ret_hv->virtiofsd_cache = opt(c->virtiofsd_cache);
    ret_hv->entropy_source = opt(c->entropy_source);
    ret_hv->shared_dir = c->shared_fs == HV_SHARED_FS_NONE ? NULL : shared_dir;
    for (size_t i = 0; i < c->n_extra_args; i++)
        c->extra_ptrs[i] = c->extra_args[i];
    c->extra_ptrs[c->n_extra_args] = NULL;
    ret_hv->virtiofsd_extra_args = c->n_extra_args ? c->extra_ptrs : NULL;
}
