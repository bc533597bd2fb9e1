/* Host folders shared with the guest; see share.h. */
#include "shim/share.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/mount_options.h"
#include "lib/xalloc.h"
#include "shim/shim.h"

#define GUEST_SHARED "/run/kata-containers/shared/containers"

int share_path(const char *sid, const char *suffix, char *buf, size_t size)
{
    int r = snprintf(buf, size, "%s/%s%s%s", SHIM_SHARED_ROOT, sid, suffix ? "/" : "",
                     suffix ? suffix : "");
    return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

int share_guest_rootfs(const char *sid, const char *cid, bool guest_sees_host, char *buf,
                       size_t size)
{
    int r;

    if (guest_sees_host) {
        char dir[PATH_MAX];
        r = share_path(sid, "shared", dir, sizeof(dir));
        if (r < 0)
            return r;
        r = snprintf(buf, size, "%s/%s/rootfs", dir, cid);
    } else {
        r = snprintf(buf, size, "%s/%s/rootfs", GUEST_SHARED, cid);
    }
    return r < 0 || (size_t)r >= size ? -ENAMETOOLONG : 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];

    if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(tmp, mode) < 0 && errno != EEXIST ? -errno : 0;
}

int share_umount_all(const char *path)
{
    for (int i = 0; i < 64; i++) {
        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
            return errno == EINVAL || errno == ENOENT ? 0 : -errno;
    }
    return -EBUSY;
}

static bool is_mount_point(const char *path)
{
    struct stat a, b;
    char parent[PATH_MAX];

    if (snprintf(parent, sizeof(parent), "%s/..", path) >= (int)sizeof(parent))
        return false;
    return stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

int share_setup(const char *sid, struct err *e)
{
    char mounts[PATH_MAX], shared[PATH_MAX];
    int r;

    if (share_path(sid, "mounts", mounts, sizeof(mounts)) < 0 ||
        share_path(sid, "shared", shared, sizeof(shared)) < 0)
        return err_set(e, -ENAMETOOLONG, "sandbox id too long");
    if ((r = mkdir_p(mounts, 0700)) < 0 || (r = mkdir_p(shared, 0700)) < 0)
        return err_set(e, r, "create %s: %s", mounts, strerror(-r));
    if (is_mount_point(shared))
        return 0;
    /* mounts/ becomes a shared mount so later mounts below it propagate to
     * the read-only, slave view in shared/ (Kata's fs_share_linux.go). */
    if (mount(mounts, mounts, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, mounts, NULL, MS_SHARED, NULL) < 0 ||
        mount(mounts, shared, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, shared, NULL, MS_SLAVE, NULL) < 0 ||
        mount(NULL, shared, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
        r = -errno;
        share_umount_all(shared);
        share_umount_all(mounts);
        return err_set(e, r, "set up shared folder %s: %s", shared, strerror(-r));
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (remove(path) < 0 && errno != ENOENT)
        return 0; /* keep going; a busy entry is reported by the final rmdir */
    return 0;
}

int share_teardown(const char *sid, struct err *e)
{
    char dir[PATH_MAX], mounts[PATH_MAX], shared[PATH_MAX];
    int r;

    if (share_path(sid, NULL, dir, sizeof(dir)) < 0 ||
        share_path(sid, "mounts", mounts, sizeof(mounts)) < 0 ||
        share_path(sid, "shared", shared, sizeof(shared)) < 0)
        return err_set(e, -ENAMETOOLONG, "sandbox id too long");
    /* Lazy unmounts of the two trees take their submounts with them. */
    if ((r = share_umount_all(shared)) < 0 || (r = share_umount_all(mounts)) < 0)
        return err_set(e, r, "unmount %s: %s", dir, strerror(-r));
    /* FTW_MOUNT: never descend into something still mounted. */
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    if (access(dir, F_OK) == 0)
        return err_set(e, -EBUSY, "could not remove %s", dir);
    return 0;
}

static int mount_one(const struct share_mount *m, const char *target, struct err *e)
{
    _cleanup_free_ char *data = xmalloc(65536);
    struct mount_options mo;
    if (mount_options_parse(m->options, SIZE_MAX, &mo, data, 65536) < 0)
        return err_set(e, -E2BIG, "mount %s on %s: options too long", m->source, target);
    unsigned long flags = mo.flags;

    if (mount(m->source, target, m->type, flags & ~(unsigned long)MS_RDONLY, data) < 0)
        return err_set(e, -errno, "mount %s (%s) on %s: %s", m->source, m->type, target,
                       strerror(errno));
    if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
        mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        return err_set(e, -errno, "remount %s read-only: %s", target, strerror(errno));
    return 0;
}

int share_mount_rootfs(const char *sid, const char *cid, const char *bundle,
                       const struct share_mount *mounts, size_t n, struct err *e)
{
    char rootfs[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];
    int r;

    if (snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle) >= (int)sizeof(rootfs) ||
        snprintf(sub, sizeof(sub), "mounts/%s/rootfs", cid) >= (int)sizeof(sub) ||
        share_path(sid, sub, dst, sizeof(dst)) < 0)
        return err_set(e, -ENAMETOOLONG, "container %s: path too long", cid);
    if ((r = mkdir_p(rootfs, 0711)) < 0 || (r = mkdir_p(dst, 0711)) < 0)
        return err_set(e, r, "container %s: create rootfs folders: %s", cid, strerror(-r));
    for (size_t i = 0; i < n; i++) {
        r = mount_one(&mounts[i], rootfs, e);
        if (r < 0) {
            share_umount_all(rootfs);
            return r;
        }
    }
    if (mount(rootfs, dst, NULL, MS_BIND | MS_REC, NULL) < 0) {
        r = -errno;
        share_umount_all(rootfs);
        return err_set(e, r, "bind %s on %s: %s", rootfs, dst, strerror(-r));
    }
    return 0;
}

int share_bind_volume(const char *sid, const char *cid, const char *source,
                      const char *destination, bool readonly, char *guest, size_t size,
                      struct err *e)
{
    unsigned char rnd[8];
    char name[NAME_MAX + 1], sub[PATH_MAX], dst[PATH_MAX];
    const char *base = strrchr(destination, '/');
    struct stat st;
    int r;

    base = base && base[1] ? base + 1 : "volume";
    if (stat(source, &st) < 0)
        return err_set(e, -errno, "volume %s: %s", source, strerror(errno));
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return err_set(e, -EINVAL, "volume %s: neither a directory nor a regular file", source);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return err_set(e, -EIO, "volume %s: no random bytes", source);
    r = snprintf(name, sizeof(name), "%s-%02x%02x%02x%02x%02x%02x%02x%02x-%s", cid, rnd[0], rnd[1],
                 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], base);
    if (r < 0 || (size_t)r >= sizeof(name) ||
        snprintf(sub, sizeof(sub), "mounts/%s", name) >= (int)sizeof(sub) ||
        share_path(sid, sub, dst, sizeof(dst)) < 0)
        return err_set(e, -ENAMETOOLONG, "volume %s: path too long", source);
    r = snprintf(guest, size, "%s/%s", GUEST_SHARED, name);
    if (r < 0 || (size_t)r >= size)
        return err_set(e, -ENAMETOOLONG, "volume %s: guest path too long", source);
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(dst, 0755) < 0)
            return err_set(e, -errno, "volume %s: mkdir %s: %s", source, dst, strerror(errno));
    } else {
        int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return err_set(e, -errno, "volume %s: create %s: %s", source, dst, strerror(errno));
        close(fd);
    }
    if (mount(source, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        (readonly && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)) {
        r = -errno;
        share_umount_all(dst);
        remove(dst);
        return err_set(e, r, "volume %s: bind on %s: %s", source, dst, strerror(-r));
    }
    return 0;
}

/* Entries mounts/<cid>-<16 hex>-<name> of share_bind_volume(). */
static bool is_volume_of(const char *entry, const char *cid)
{
    size_t n = strlen(cid);

    if (strncmp(entry, cid, n) != 0 || entry[n] != '-' || strlen(entry + n + 1) < 18)
        return false;
    for (size_t i = n + 1; i < n + 17; i++)
        if (!strchr("0123456789abcdef", entry[i]))
            return false;
    return entry[n + 17] == '-';
}

static int umount_volumes(const char *sid, const char *cid)
{
    char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (share_path(sid, "mounts", dir, sizeof(dir)) < 0 || !(d = opendir(dir)))
        return 0;
    while ((de = readdir(d))) {
        if (!is_volume_of(de->d_name, cid))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        int rr = share_umount_all(path);
        if (rr < 0 && !r)
            r = rr;
        if (rr == 0)
            remove(path);
    }
    closedir(d);
    return r;
}

int share_umount_rootfs(const char *sid, const char *cid, const char *bundle, struct err *e)
{
    char rootfs[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];
    int r;

    if (snprintf(rootfs, sizeof(rootfs), "%s/rootfs", bundle) >= (int)sizeof(rootfs) ||
        snprintf(sub, sizeof(sub), "mounts/%s", cid) >= (int)sizeof(sub) ||
        share_path(sid, sub, dst, sizeof(dst)) < 0)
        return err_set(e, -ENAMETOOLONG, "container %s: path too long", cid);
    strncat(dst, "/rootfs", sizeof(dst) - strlen(dst) - 1);
    if ((r = umount_volumes(sid, cid)) < 0 || (r = share_umount_all(dst)) < 0 ||
        (r = share_umount_all(rootfs)) < 0)
        return err_set(e, r, "container %s: unmount rootfs: %s", cid, strerror(-r));
    rmdir(dst);
    dst[strlen(dst) - strlen("/rootfs")] = '\0';
    rmdir(dst);
    return 0;
}
