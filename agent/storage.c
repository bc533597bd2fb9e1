/* Guest storages; see agent/storage.h. */
#include "agent/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/devices.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/mount_options.h"
#include "lib/xalloc.h"

#define MAX_STORAGES 1024
#define MAX_OWNERS 1024

enum storage_kind { ST_MOUNT, ST_DIR };

struct storage {
    char *mount_point, *driver;
    enum storage_kind kind;
    bool made_dir;  /* we created the mount point */
    char **owners;  /* one reference each */
    size_t n_owners;
};

struct storage_set {
    struct storage **v;
    size_t n;
};

static struct storage_set *set_of(struct agent *a)
{
    if (!a->storages)
        a->storages = xnew(struct storage_set, 1);
    return a->storages;
}

static struct storage *find(const struct storage_set *s, const char *mount_point, size_t *idx)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->v[i]->mount_point, mount_point) == 0) {
            if (idx)
                *idx = i;
            return s->v[i];
        }
    return NULL;
}

static bool owns(const struct storage *st, const char *owner)
{
    for (size_t i = 0; i < st->n_owners; i++)
        if (strcmp(st->owners[i], owner) == 0)
            return true;
    return false;
}

unsigned storage_refs(const struct agent *a, const char *mount_point)
{
    const struct storage *st = find(a->storages, mount_point, NULL);
    return st ? (unsigned)st->n_owners : 0;
}

/* ---- options ---- */

/* Flags, and the rest as a data string (caller frees). */
static int parse_options(const struct storage_req *r, unsigned long *ret_flags, char **ret_data,
                         struct err *e)
{
    size_t cap = 1;
    for (size_t i = 0; i < r->n_options; i++)
        cap += strlen(r->options[i] ? r->options[i] : "") + 1;
    if (cap > 65536)
        return err_set(e, -E2BIG, "storage %s: options too long", r->mount_point);
    _cleanup_free_ char *data = xmalloc(cap);
    struct mount_options mo;
    int rr = mount_options_parse((const char *const *)r->options, r->n_options, &mo, data, cap);
    if (rr < 0)
        return err_set(e, rr, "storage %s: options too long", r->mount_point);
    *ret_flags = mo.flags;
    *ret_data = TAKE_PTR(data);
    return 0;
}

/* The value of "key=" among the options, or NULL. */
static const char *option(const struct storage_req *r, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < r->n_options; i++)
        if (r->options[i] && strncmp(r->options[i], key, n) == 0 && r->options[i][n] == '=')
            return r->options[i] + n + 1;
    return NULL;
}

/* ---- mounting ---- */

static int mkdir_p(const char *path, mode_t mode, bool *made)
{
    char tmp[PATH_MAX];
    struct stat st;

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    if (stat(path, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, mode) < 0)
        return errno == EEXIST ? 0 : -errno;
    if (made)
        *made = true;
    return 0;
}

/* A bind of a file needs a file to land on (Kata's mount_storage). */
static int make_target(const struct storage_req *r, bool bind, bool *made)
{
    struct stat st;

    if (bind && r->source && stat(r->source, &st) == 0 && !S_ISDIR(st.st_mode)) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s", r->mount_point);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            int rr = mkdir_p(dir, 0755, NULL);
            if (rr < 0)
                return rr;
        }
        int fd = open(r->mount_point, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) {
            close(fd);
            *made = true;
            return 0;
        }
        return errno == EEXIST ? 0 : -errno;
    }
    return mkdir_p(r->mount_point, 0755, made);
}

static int do_mount(const struct storage_req *r, const char *fstype, struct storage *st,
                    struct err *e)
{
    _cleanup_free_ char *data = NULL;
    unsigned long flags = 0;
    bool bind = strcmp(fstype, "bind") == 0;
    int rr = parse_options(r, &flags, &data, e);

    if (rr < 0)
        return rr;
    if (bind)
        flags |= MS_BIND;
    if ((rr = make_target(r, bind, &st->made_dir)) < 0)
        return err_set(e, rr, "storage %s (%s): cannot create the mount point: %s",
                       r->mount_point, r->driver, strerror(-rr));
    if (mount(r->source && *r->source ? r->source : fstype, r->mount_point,
              bind ? NULL : fstype, flags & ~(bind ? (unsigned long)MS_RDONLY : 0),
              bind || !*data ? NULL : data) < 0)
        return err_set(e, -errno, "storage %s (%s): mount %s (%s) failed: %s", r->mount_point,
                       r->driver, r->source ? r->source : "", fstype, strerror(errno));
    if (bind && (flags & MS_RDONLY) &&
        mount(NULL, r->mount_point, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
        rr = -errno;
        umount2(r->mount_point, MNT_DETACH);
        return err_set(e, rr, "storage %s: read-only remount failed: %s", r->mount_point,
                       strerror(-rr));
    }
    st->kind = ST_MOUNT;
    return 0;
}

/* local: a directory, mode= (octal, default 0777) and fsgid= options. */
static int do_local(const struct storage_req *r, struct storage *st, struct err *e)
{
    const char *mode_s = option(r, "mode"), *gid_s = option(r, "fsgid");
    char *end = NULL;
    unsigned long mode = 0777, gid = 0;

    if (mode_s && ((mode = strtoul(mode_s, &end, 8)), !*mode_s || *end || mode > 07777))
        return err_set(e, -EINVAL, "storage %s (local): bad mode \"%s\"", r->mount_point, mode_s);
    if (gid_s && ((gid = strtoul(gid_s, &end, 10)), !*gid_s || *end || gid > 0xfffffffeUL))
        return err_set(e, -EINVAL, "storage %s (local): bad fsgid \"%s\"", r->mount_point, gid_s);
    int rr = mkdir_p(r->mount_point, (mode_t)mode, &st->made_dir);
    if (rr < 0)
        return err_set(e, rr, "storage %s (local): cannot create it: %s", r->mount_point,
                       strerror(-rr));
    if (gid_s) {
        mode |= S_ISGID;
        if (chown(r->mount_point, (uid_t)-1, (gid_t)gid) < 0)
            return err_set(e, -errno, "storage %s (local): chown to gid %lu: %s", r->mount_point,
                           gid, strerror(errno));
    }
    if (chmod(r->mount_point, (mode_t)mode) < 0)
        return err_set(e, -errno, "storage %s (local): chmod: %s", r->mount_point,
                       strerror(errno));
    st->kind = ST_DIR;
    return 0;
}

static const char *const not_yet[] = {"scsi",      "nvdimm", "mmioblk",         "ccw",
                                      "blk-ccw",   "watchable-bind", "overlayfs", "fuse3",
                                      "image_guest_pull", "erofs.multi-layer"};

bool storage_driver_is_blk(const char *driver)
{
    return driver && (strcmp(driver, "blk") == 0 || strcmp(driver, "virtio-blk") == 0);
}

/* Whether key (alone or as key=value) is among the options; an option
 * entry may itself be a comma-separated list, as Kata's runtime sends
 * "trans=virtio,version=9p2000.L,cache=mmap" as one entry. */
static bool has_option(const struct storage_req *r, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < r->n_options; i++)
        for (const char *o = r->options[i]; o && *o;) {
            if (strncmp(o, key, n) == 0 && (o[n] == '=' || o[n] == ',' || o[n] == '\0'))
                return true;
            o = strchr(o, ',');
            if (o)
                o++;
        }
    return false;
}

/* 9p: the tag is the source; the transport and protocol version are what
 * the Kata runtime always sends, added here when a caller left them out. */
static int do_9p(const struct storage_req *r, const char *fstype, struct storage *st,
                 struct err *e)
{
    if (!r->source || !*r->source)
        return err_set(e, -EINVAL, "storage %s (9p): no source tag", r->mount_point);
    if (r->n_options > 256)
        return err_set(e, -E2BIG, "storage %s (9p): too many options", r->mount_point);
    _cleanup_free_ char **opts = xnew(char *, r->n_options + 2);
    struct storage_req q = *r;
    size_t n = 0;
    for (size_t i = 0; i < r->n_options; i++)
        opts[n++] = r->options[i];
    if (!has_option(r, "trans"))
        opts[n++] = (char *)"trans=virtio";
    if (!has_option(r, "version"))
        opts[n++] = (char *)"version=9p2000.L";
    q.options = opts;
    q.n_options = n;
    int rr = do_mount(&q, fstype, st, e);
    if (rr == -ENODEV)
        err_prefix(e, "the guest kernel has no 9p file system (build the guest with the generic "
                      "kernel flavour)");
    return rr;
}

/* blk/virtio-blk: source is a PCI path; mount the disk found there. */
static int do_blk(const struct storage_req *r, const char *fstype, struct storage *st,
                  struct err *e)
{
    struct devices_pci_path p;
    char name[64], dev[80];
    int rr = devices_pci_path_parse(r->source, &p, e);

    if (rr < 0)
        return err_prefix(e, "storage %s (%s): source", r->mount_point, r->driver);
    if (!fstype)
        return err_set(e, -EINVAL, "storage %s (%s): fstype missing", r->mount_point, r->driver);
    if (!r->device) {
        rr = devices_blk_find("/sys", &p, name, sizeof(name));
        if (rr < 0)
            return err_set(e, -ENODEV, "storage %s (%s): no block device at PCI path %s",
                           r->mount_point, r->driver, r->source);
        snprintf(dev, sizeof(dev), "/dev/%s", name);
    } else {
        snprintf(dev, sizeof(dev), "%s", r->device);
    }
    struct storage_req q = *r;
    q.source = dev;
    return do_mount(&q, fstype, st, e);
}

static int mount_new(const struct storage_req *r, struct storage *st, struct err *e)
{
    const char *d = r->driver;
    const char *fstype = r->fstype && *r->fstype ? r->fstype : NULL;

    if (strcmp(d, "local") == 0)
        return do_local(r, st, e);
    for (size_t i = 0; i < ELEMENTSOF(not_yet); i++)
        if (strcmp(d, not_yet[i]) == 0)
            return err_set(e, -ENOSYS, "storage driver \"%s\" is not implemented yet (%s)", d,
                           r->mount_point);
    if (strcmp(d, "virtio-fs") == 0) {
        if (!r->source || !*r->source)
            return err_set(e, -EINVAL, "storage %s (virtio-fs): no source tag", r->mount_point);
        return do_mount(r, fstype ? fstype : "virtiofs", st, e);
    }
    if (strcmp(d, "ephemeral") == 0)
        return do_mount(r, fstype ? fstype : "tmpfs", st, e);
    if (strcmp(d, "9p") == 0)
        return do_9p(r, fstype ? fstype : "9p", st, e);
    if (storage_driver_is_blk(d))
        return do_blk(r, fstype, st, e);
    if (strcmp(d, "bind") == 0) {
        if (!r->source || r->source[0] != '/')
            return err_set(e, -EINVAL, "storage %s (bind): source \"%s\" is not absolute",
                           r->mount_point, r->source ? r->source : "");
        return do_mount(r, "bind", st, e);
    }
    return err_set(e, -EINVAL, "storage driver \"%s\" is unknown (%s)", d, r->mount_point);
}

static void unmount(struct storage *st)
{
    if (st->kind == ST_MOUNT) {
        if (umount2(st->mount_point, 0) < 0 && errno != EINVAL && errno != ENOENT &&
            umount2(st->mount_point, MNT_DETACH) < 0 && errno != EINVAL)
            log_warn("storage %s: unmount failed: %s", st->mount_point, strerror(errno));
    }
    if (st->made_dir && remove(st->mount_point) < 0 && errno != ENOENT)
        log_debug("storage %s: left in place: %s", st->mount_point, strerror(errno));
}

static struct storage *storage_free(struct storage *st)
{
    for (size_t i = 0; i < st->n_owners; i++)
        free(st->owners[i]);
    free(st->owners);
    free(st->mount_point);
    free(st->driver);
    free(st);
    return NULL;
}

/* Drops owner's reference; unmounts on the last. True when unmounted. */
static bool unref(struct storage_set *s, size_t idx, const char *owner)
{
    struct storage *st = s->v[idx];

    for (size_t i = 0; i < st->n_owners; i++)
        if (strcmp(st->owners[i], owner) == 0) {
            free(st->owners[i]);
            st->owners[i] = st->owners[--st->n_owners];
            break;
        }
    if (st->n_owners)
        return false;
    log_info("storage %s (%s): unmounting, last user gone", st->mount_point, st->driver);
    unmount(st);
    storage_free(st);
    /* Keep the order: storage_release_all() unmounts newest first. */
    memmove(&s->v[idx], &s->v[idx + 1], (s->n - idx - 1) * sizeof(*s->v));
    s->n--;
    return true;
}

static int add_one(struct agent *a, const char *owner, const struct storage_req *r, bool *took,
                   struct err *e)
{
    struct storage_set *s = set_of(a);
    struct storage *st;

    *took = false;
    if (!r->driver || !*r->driver)
        return err_set(e, -EINVAL, "storage %s: no driver",
                       r->mount_point ? r->mount_point : "");
    if (!r->mount_point || r->mount_point[0] != '/')
        return err_set(e, -EINVAL, "storage (%s): mount point \"%s\" is not absolute", r->driver,
                       r->mount_point ? r->mount_point : "");
    if (strstr(r->mount_point, "/../") || strlen(r->mount_point) >= PATH_MAX)
        return err_set(e, -EINVAL, "storage (%s): bad mount point \"%s\"", r->driver,
                       r->mount_point);
    st = find(s, r->mount_point, NULL);
    if (st) {
        if (strcmp(st->driver, r->driver) != 0)
            return err_set(e, -EEXIST, "storage %s: already mounted by driver %s, not %s",
                           r->mount_point, st->driver, r->driver);
        if (owns(st, owner))
            return 0;
        if (st->n_owners >= MAX_OWNERS)
            return err_set(e, -E2BIG, "storage %s: too many users", r->mount_point);
        st->owners = xrealloc(st->owners, (st->n_owners + 1) * sizeof(*st->owners));
        st->owners[st->n_owners++] = xstrdup(owner);
        *took = true;
        return 0;
    }
    if (s->n >= MAX_STORAGES)
        return err_set(e, -E2BIG, "too many storages");
    st = xnew(struct storage, 1);
    st->mount_point = xstrdup(r->mount_point);
    st->driver = xstrdup(r->driver);
    int rr = mount_new(r, st, e);
    if (rr < 0) {
        if (st->made_dir)
            remove(st->mount_point);
        storage_free(st);
        return rr;
    }
    log_info("storage %s (%s, source %s) ready", r->mount_point, r->driver,
             r->source ? r->source : "");
    st->owners = xnew(char *, 1);
    st->owners[st->n_owners++] = xstrdup(owner);
    s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
    s->v[s->n++] = st;
    *took = true;
    return 0;
}

int storage_add(struct agent *a, const char *owner, const struct storage_req *reqs, size_t n,
                struct err *e)
{
    bool *took = xnew(bool, n ? n : 1);
    int r = 0;
    size_t i;

    for (i = 0; i < n && r >= 0; i++)
        r = add_one(a, owner, &reqs[i], &took[i], e);
    if (r < 0)
        while (i-- > 0) {
            size_t idx;
            if (took[i] && find(a->storages, reqs[i].mount_point, &idx))
                unref(a->storages, idx, owner);
        }
    free(took);
    return r;
}

int storage_release(struct agent *a, const char *owner)
{
    struct storage_set *s = a->storages;
    int n = 0;

    for (size_t i = s ? s->n : 0; i-- > 0;)
        if (owns(s->v[i], owner) && unref(s, i, owner))
            n++;
    return n;
}

void storage_release_all(struct agent *a)
{
    struct storage_set *s = a->storages;

    if (!s)
        return;
    /* Newest first: a later storage may sit below an earlier one. */
    while (s->n) {
        struct storage *st = s->v[s->n - 1];
        log_info("storage %s (%s): unmounting", st->mount_point, st->driver);
        unmount(st);
        storage_free(st);
        s->n--;
    }
    free(s->v);
    free(s);
    a->storages = NULL;
}
