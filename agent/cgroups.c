/* Cgroup front end: backend choice, path handling and the operations that
 * look the same on v1 and v2 (see agent/cgroups.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent/cgroups-internal.h"
#include "agent/oci_spec.h"
#include "lib/err.h"
#include "lib/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int cg_write(const char *dir, const char *file, const char *fmt, ...)
{
    char path[512], buf[256];
    va_list ap;
    snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", file);
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(buf))
        return -EINVAL;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, buf, (size_t)len);
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

int cg_read(const char *dir, const char *file, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t off = 0;
    for (;;) {
        ssize_t n = read(fd, buf + off, size - 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
        if (off == size - 1)
            break;
    }
    close(fd);
    buf[off] = '\0';
    return (int)off;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *ret)
{
    char buf[64];
    int r = cg_read(dir, file, buf, sizeof(buf));
    if (r < 0)
        return r;
    if (strncmp(buf, "max", 3) == 0) {
        *ret = UINT64_MAX;
        return 0;
    }
    *ret = strtoull(buf, NULL, 10);
    return 0;
}

void cg_parse_memory_stat(const char *buf, const char *cache_key, struct cgroup_stats *st)
{
    const char *p = buf;
    while (*p && st->n_stats < CGROUP_MAX_STATS) {
        char key[32];
        unsigned long long v;
        int used = 0;
        if (sscanf(p, "%31s %llu%n", key, &v, &used) != 2)
            break;
        snprintf(st->stat_keys[st->n_stats], sizeof(st->stat_keys[0]), "%s", key);
        st->stat_values[st->n_stats++] = v;
        if (strcmp(key, cache_key) == 0)
            st->mem_cache = v;
        p += used;
        while (*p == '\n')
            p++;
    }
}

int cg_mkdir_p(const char *dir, void (*made)(const char *dir))
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(tmp, 0755) == 0) {
            if (made)
                made(tmp);
        } else if (errno != EEXIST) {
            return -errno;
        }
        if (c == '\0')
            return 0;
        *p = c;
    }
}

const char *cg_dir(const struct cgroup *cg, const char *ctrl)
{
    for (size_t i = 0; i < cg->n_dirs; i++)
        if (!ctrl || !cg->ctrl[i] || strcmp(cg->ctrl[i], ctrl) == 0)
            return cg->dirs[i];
    return NULL;
}

/* What runc adds to every device list that starts with deny-all: mknod
 * of any node (the init creates the spec's /dev entries after joining the
 * cgroup), and the terminal devices, which a container with a pty reopens
 * by name (/dev/tty, /dev/console, /dev/ptmx and /dev/pts/N). runc also
 * adds null, zero, full, random and urandom; those are left to the spec
 * here, so a spec that denies them is obeyed (containerd's default spec
 * allows them explicitly; the shim's spec has no rules at all). */
static const struct oci_dev_rule always_allowed[] = {
    {true, 'c', -1, -1, "m"},   /* mknod of any node */
    {true, 'b', -1, -1, "m"},
    {true, 'c', 5, 0, "rwm"},   /* /dev/tty */
    {true, 'c', 5, 1, "rwm"},   /* /dev/console */
    {true, 'c', 5, 2, "rwm"},   /* /dev/ptmx */
    {true, 'c', 136, -1, "rwm"}, /* /dev/pts/N */
};

static int check_dev_rule(const struct oci_dev_rule *d, size_t i, struct err *e)
{
    if (d->type != 'a' && d->type != 'b' && d->type != 'c')
        return err_set(e, -EINVAL, "oci.Linux.Resources.Devices[%zu].Type: must be a, b or c", i);
    if (!d->access[0] || strspn(d->access, "rwm") != strlen(d->access))
        return err_set(e, -EINVAL,
                       "oci.Linux.Resources.Devices[%zu].Access: must be made of r, w and m", i);
    /* Linux majors have 12 bits and minors 20; a BPF immediate is 32. */
    if (d->major > 0xfff || d->minor > 0xfffff)
        return err_set(e, -EINVAL, "oci.Linux.Resources.Devices[%zu]: %lld:%lld is out of range",
                       i, (long long)d->major, (long long)d->minor);
    return 0;
}

int cg_dev_rules_build(const struct oci_dev_rule *spec, size_t n, struct cg_dev_rules *ret,
                       struct err *e)
{
    size_t start = 0;
    int r;

    if (n > CG_MAX_DEV_RULES)
        return err_set(e, -E2BIG, "oci.Linux.Resources.Devices: more than %d rules",
                       CG_MAX_DEV_RULES);
    *ret = (struct cg_dev_rules){.default_allow = true};
    for (size_t i = 0; i < n; i++) {
        if ((r = check_dev_rule(&spec[i], i, e)) < 0)
            return r;
        if (spec[i].type == 'a') {
            ret->reset = true;
            ret->default_allow = spec[i].allow;
            start = i + 1;
        }
    }
    size_t extra = ret->default_allow ? 0 : ELEMENTSOF(always_allowed);
    ret->v = xnew(struct oci_dev_rule, n - start + extra + 1);
    for (size_t i = start; i < n; i++)
        ret->v[ret->n++] = spec[i];
    for (size_t i = 0; i < extra; i++)
        ret->v[ret->n++] = always_allowed[i];
    return 0;
}

bool cg_dev_rules_restrict(const struct cg_dev_rules *r)
{
    if (!r->default_allow)
        return true;
    for (size_t i = 0; i < r->n; i++)
        if (!r->v[i].allow)
            return true;
    return false;
}

void cg_dev_rules_done(struct cg_dev_rules *r)
{
    free(r->v);
    *r = (struct cg_dev_rules){0};
}

void cg_dev_rule_format(const struct oci_dev_rule *r, char *buf, size_t size)
{
    char maj[24] = "*", min[24] = "*";
    if (r->major >= 0)
        snprintf(maj, sizeof(maj), "%lld", (long long)r->major);
    if (r->minor >= 0)
        snprintf(min, sizeof(min), "%lld", (long long)r->minor);
    snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, r->access);
}

static const struct cgroup_ops *backend(void)
{
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return &cgroup_v2_ops;
    return &cgroup_v1_ops;
}

/* "/a/b" stays; "slice:prefix:name" (systemd driver) becomes
 * "/slice/prefix-name.scope". Anything with ".." is refused. */
static int normalize_path(const char *in, char **ret, struct err *e)
{
    char *out = NULL;
    if (strstr(in, ".."))
        return err_set(e, -EINVAL, "oci.Linux.CgroupsPath: \"%s\" contains \"..\"", in);
    if (in[0] != '/' && strchr(in, ':')) {
        char slice[128], prefix[128], name[128];
        if (sscanf(in, "%127[^:]:%127[^:]:%127s", slice, prefix, name) != 3)
            return err_set(e, -EINVAL, "oci.Linux.CgroupsPath: bad systemd path \"%s\"", in);
        if (asprintf(&out, "/%s/%s-%s.scope", slice, prefix, name) < 0)
            abort();
    } else {
        if (asprintf(&out, "%s%s", in[0] == '/' ? "" : "/", in) < 0)
            abort();
    }
    *ret = out;
    return 0;
}

int cgroup_create(const char *path, const struct oci_resources *res, struct cgroup **ret,
                  struct err *e)
{
    struct cgroup *cg = xnew(struct cgroup, 1);
    int r;

    cg->dev_prog_fd = -1;
    cg->ops = backend();
    r = normalize_path(path, &cg->path, e);
    if (r < 0) {
        free(cg);
        return r;
    }
    r = cg->ops->create(cg, e);
    if (r < 0) {
        cgroup_remove(cg);
        return r;
    }
    if (res) {
        r = cg->ops->apply(cg, res, e);
        if (r < 0) {
            cgroup_remove(cg);
            return r;
        }
    }
    *ret = cg;
    return 0;
}

struct cgroup *cgroup_free(struct cgroup *cg)
{
    if (!cg)
        return NULL;
    cg_devices_bpf_release(cg);
    for (size_t i = 0; i < cg->n_dirs; i++) {
        free(cg->dirs[i]);
        free(cg->ctrl[i]);
    }
    free(cg->path);
    free(cg);
    return NULL;
}

int cgroup_remove(struct cgroup *cg)
{
    int r = 0;
    for (size_t i = 0; i < cg->n_dirs; i++)
        if (rmdir(cg->dirs[i]) < 0 && errno != ENOENT)
            r = -errno;
    cgroup_free(cg);
    return r;
}

int cgroup_update(struct cgroup *cg, const struct oci_resources *res, struct err *e)
{
    return cg->ops->apply(cg, res, e);
}

size_t cgroup_procs_files(const struct cgroup *cg, char (*files)[256], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cg->n_dirs && n < max; i++)
        snprintf(files[n++], 256, "%s/cgroup.procs", cg->dirs[i]);
    return n;
}

int cgroup_freeze(struct cgroup *cg, bool frozen)
{
    return cg->ops->freeze(cg, frozen);
}

bool cgroup_frozen(const struct cgroup *cg)
{
    return cg->ops->frozen(cg);
}

int cgroup_stats(const struct cgroup *cg, struct cgroup_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    return cg->ops->stats(cg, ret);
}

int cgroup_kill_all(const struct cgroup *cg)
{
    char buf[8192];
    int killed = 0;
    const char *dir = cg_dir(cg, "pids") ? cg_dir(cg, "pids") : cg->dirs[0];
    if (!dir || cg_read(dir, "cgroup.procs", buf, sizeof(buf)) < 0)
        return 0;
    for (char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
            killed++;
        p = end;
        while (*p == '\n')
            p++;
    }
    return killed;
}

bool cgroup_is_empty(const struct cgroup *cg)
{
    char buf[64];
    for (size_t i = 0; i < cg->n_dirs; i++)
        if (cg_read(cg->dirs[i], "cgroup.procs", buf, sizeof(buf)) > 0)
            return false;
    return true;
}

int cgroup_oom_fd(struct cgroup *cg)
{
    return cg->ops->oom_fd(cg);
}

bool cgroup_oom_check(struct cgroup *cg, int fd)
{
    return cg->ops->oom_check(cg, fd);
}

const char *cgroup_path(const struct cgroup *cg)
{
    return cg->path;
}
