/* Sandbox and guest operations (see agent/sandbox.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/container.h"
#include "agent/network.h"
#include "agent/sandbox.h"
#include "agent/storage.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/xalloc.h"

int sandbox_copy_file_check(const char *base, const char *path, struct err *e)
{
    size_t n = strlen(base);
    if (!path || path[0] != '/')
        return err_set(e, -EINVAL, "path: \"%s\" is not an absolute path", path ? path : "");
    for (const char *p = path; (p = strstr(p, "..")); p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return err_set(e, -EINVAL, "path: \"%s\" contains \"..\"", path);
    if (strncmp(path, base, n) != 0 || path[n] != '/' || path[n + 1] == '\0')
        return err_set(e, -EPERM, "path: \"%s\" is not below %s", path, base);
    return 0;
}

static int openat_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

int sandbox_copy_file(const char *base, const struct sandbox_copy_file *req, struct err *e)
{
    int r = sandbox_copy_file_check(base, req->path, e);
    if (r < 0)
        return r;
    if (mkdir(base, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "cannot create %s", base);
    _cleanup_close_ int basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (basefd < 0)
        return err_set(e, -errno, "cannot open %s", base);
    char rel[PATH_MAX];
    snprintf(rel, sizeof(rel), "%s", req->path + strlen(base) + 1);
    /* Parents, each opened beneath the base: a symlink cannot lead out. */
    for (char *p = rel; (p = strchr(p, '/')); p++) {
        *p = '\0';
        int fd = openat_beneath(basefd, rel, O_PATH | O_DIRECTORY, 0);
        if (fd == -ENOENT) {
            char *slash = strrchr(rel, '/');
            int parent = slash ? (*slash = '\0', openat_beneath(basefd, rel, O_PATH | O_DIRECTORY, 0))
                               : fcntl(basefd, F_DUPFD_CLOEXEC, 3);
            if (slash)
                *slash = '/';
            if (parent < 0)
                return err_set(e, parent == -EXDEV ? -EPERM : parent, "path: cannot resolve \"%s\"",
                               req->path);
            r = mkdirat(parent, slash ? slash + 1 : rel, req->dir_mode ? req->dir_mode & 07777 : 0755);
            close(parent);
            if (r < 0 && errno != EEXIST)
                return err_set(e, -errno, "path: cannot create the parent of \"%s\"", req->path);
        } else if (fd < 0) {
            return err_set(e, fd == -EXDEV ? -EPERM : fd, "path: \"%s\" escapes %s", req->path, base);
        } else {
            close(fd);
        }
        *p = '/';
    }
    if (S_ISDIR(req->file_mode)) {
        int fd = openat_beneath(basefd, rel, O_PATH | O_DIRECTORY, 0);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        return mkdirat(basefd, rel, req->file_mode & 07777) < 0 && errno != EEXIST
                   ? err_set(e, -errno, "path: cannot create directory \"%s\"", req->path)
                   : 0;
    }
    int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | (req->offset == 0 ? O_TRUNC : 0);
    _cleanup_close_ int fd = openat_beneath(basefd, rel, flags, 0600);
    if (fd < 0)
        return err_set(e, fd == -EXDEV || fd == -ELOOP ? -EPERM : fd, "path: cannot open \"%s\"",
                       req->path);
    size_t done = 0;
    while (done < req->size) {
        ssize_t n = pwrite(fd, (const char *)req->data + done, req->size - done,
                           (off_t)req->offset + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return err_set(e, n < 0 ? -errno : -EIO, "path: write to \"%s\" failed", req->path);
        done += (size_t)n;
    }
    if (fchmod(fd, req->file_mode & 07777) < 0 || fchown(fd, (uid_t)req->uid, (gid_t)req->gid) < 0)
        return err_set(e, -errno, "path: cannot set the mode or owner of \"%s\"", req->path);
    return 0;
}

int sandbox_create(struct agent *a, const char *sandbox_id, const char *hostname,
                   char *const *dns, size_t n_dns, const struct storage_req *storages,
                   size_t n_storages, struct err *e)
{
    if (a->sandbox_created)
        return err_set(e, -EEXIST, "sandbox_id: a sandbox (%s) already exists", a->sandbox_id);
    if (hostname && strlen(hostname) > 64)
        return err_set(e, -EINVAL, "hostname: longer than 64 characters");
    /* DNS and hostname first: they need no undoing if a storage fails. */
    int r = network_setup_dns(a->run_dir, dns, n_dns, e);
    if (r < 0 || (r = network_set_hostname(hostname, e)) < 0)
        return r;
    r = storage_add(a, STORAGE_OWNER_SANDBOX, storages, n_storages, e);
    if (r < 0)
        return err_prefix(e, "storages");
    free(a->sandbox_id);
    free(a->hostname);
    a->sandbox_id = xstrdup(sandbox_id ? sandbox_id : "");
    a->hostname = xstrdup(hostname ? hostname : "");
    a->sandbox_created = true;
    return 0;
}

int sandbox_destroy(struct agent *a, struct err *e)
{
    (void)e;
    struct list_node *n, *t;
    list_for_each_safe(n, t, &a->containers)
        container_destroy_now(container_from_node(n));
    storage_release_all(a);
    a->sandbox_created = false;
    return 0;
}
