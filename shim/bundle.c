/* Pod classification from OCI annotations; see bundle.h. */
#include "shim/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/fd.h"
#include "lib/xalloc.h"

#define CONFIG_JSON_MAX (16u << 20)

/* Kata's src/runtime/pkg/oci/utils.go order. */
static const char *const type_keys[] = {
    "io.kubernetes.cri.container-type",
    "io.kubernetes.cri-o.ContainerType",
    "io.kubernetes.docker.type",
};
static const char *const sandbox_id_keys[] = {
    "io.kubernetes.cri.sandbox-id",
    "io.kubernetes.cri-o.SandboxID",
    "io.kubernetes.sandbox.id",
};

static const char *annotation(struct json_object *annotations, const char *key)
{
    struct json_object *v = NULL;

    if (!annotations || !json_object_object_get_ex(annotations, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int classify(struct json_object *ann, const char *id, struct bundle_info *out,
                    struct err *e)
{
    const char *type = NULL, *sid = NULL;

    for (size_t i = 0; i < ELEMENTSOF(type_keys) && !type; i++)
        type = annotation(ann, type_keys[i]);
    for (size_t i = 0; i < ELEMENTSOF(sandbox_id_keys) && !sid; i++)
        sid = annotation(ann, sandbox_id_keys[i]);

    out->kind = BUNDLE_SINGLE;
    if (type && (strcmp(type, "sandbox") == 0 || strcmp(type, "podsandbox") == 0))
        out->kind = BUNDLE_SANDBOX;
    else if (type && strcmp(type, "container") == 0)
        out->kind = BUNDLE_CONTAINER;
    if (out->kind == BUNDLE_CONTAINER) {
        if (!sid || !*sid)
            return err_set(e, -EINVAL, "container %s: pod container without a sandbox id "
                                       "annotation", id);
    } else {
        sid = id;
    }
    if (strlen(sid) >= sizeof(out->sandbox_id) || strchr(sid, '/'))
        return err_set(e, -EINVAL, "container %s: invalid sandbox id", id);
    snprintf(out->sandbox_id, sizeof(out->sandbox_id), "%s", sid);
    return 0;
}

int bundle_classify_json(const char *json, size_t len, const char *id, struct bundle_info *ret,
                         struct err *e)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root, *ann = NULL;
    struct bundle_info info = {0};
    int r;

    if (!tok)
        abort();
    root = json_tokener_parse_ex(tok, json, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success) {
        json_tokener_free(tok);
        json_object_put(root);
        return err_set(e, -EINVAL, "config.json: not valid JSON");
    }
    json_tokener_free(tok);
    if (json_object_object_get_ex(root, "annotations", &ann) &&
        !json_object_is_type(ann, json_type_object))
        ann = NULL;
    r = classify(ann, id, &info, e);
    json_object_put(root);
    if (r < 0)
        return r;
    *ret = info;
    return 0;
}

int bundle_read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    struct stat st;
    ssize_t n;

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((size_t)st.st_size > max)
        return -EFBIG;
    buf = xmalloc((size_t)st.st_size + 1);
    n = fd_read_full(fd, buf, (size_t)st.st_size);
    if (n < 0)
        return (int)n;
    buf[n] = '\0';
    *ret_len = (size_t)n;
    *ret_buf = TAKE_PTR(buf);
    return 0;
}

int bundle_classify(const char *bundle_dir, const char *id, struct bundle_info *ret,
                    struct err *e)
{
    _cleanup_free_ char *buf = NULL;
    char path[4096];
    size_t len = 0;
    int r;

    if (snprintf(path, sizeof(path), "%s/config.json", bundle_dir) >= (int)sizeof(path))
        return err_set(e, -ENAMETOOLONG, "bundle path too long");
    r = bundle_read_file(path, CONFIG_JSON_MAX, &buf, &len);
    if (r < 0)
        return err_set(e, r, "read %s: %s", path, strerror(-r));
    return bundle_classify_json(buf, len, id, ret, e);
}
