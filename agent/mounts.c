/* Container mounts and devices (see agent/mounts.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "agent/mounts.h"
#include "agent/oci_spec.h"
#include "lib/compiler.h"
#include "lib/err.h"
#include "lib/mount_options.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static const char *const known_types[] = {"bind",   "rbind", "proc",  "sysfs", "tmpfs",
                                          "devpts", "mqueue", "cgroup", "cgroup2", "none",
                                          "overlay", "ext4",  "xfs",   "virtiofs", "9p"};

bool mounts_type_known(const char *type)
{
    for (size_t i = 0; i < ELEMENTSOF(known_types); i++)
        if (strcmp(type, known_types[i]) == 0)
            return true;
    return false;
}

struct mopts {
    unsigned long flags, clear, prop;
    bool bind, rec;
    char data[1024];
};

/* The shared option table (lib/mount_options.h), in the form the container
 * mounts below use: bind and recursion apart from the remount flags. */
static int parse_options(char *const *opts, struct mopts *m)
{
    struct mount_options mo;
    memset(m, 0, sizeof(*m));
    int r = mount_options_parse((const char *const *)opts, SIZE_MAX, &mo, m->data,
                                sizeof(m->data));
    if (r < 0)
        return r;
    m->bind = mo.flags & MS_BIND;
    m->rec = mo.flags & MS_REC;
    m->flags = mo.flags & ~(unsigned long)(MS_BIND | MS_REC);
    m->clear = mo.cleared;
    m->prop = mo.propagation;
    return 0;
}

static int open_in_root(int rootfd, const char *path, int flags)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    return fd < 0 ? -errno : fd;
}

/* Creates path (a directory, or a file when !dir) and its parents inside
 * the root, never following a symlink out of it; returns an O_PATH fd. */
static int make_in_root(int rootfd, const char *path, bool dir)
{
    char buf[PATH_MAX];
    int fd = open_in_root(rootfd, path, O_PATH);
    if (fd >= 0)
        return fd;
    if (fd != -ENOENT)
        return fd;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        int t = open_in_root(rootfd, buf, O_PATH);
        if (t == -ENOENT) {
            char *slash = strrchr(buf, '/');
            *slash = '\0';
            int parent = open_in_root(rootfd, *buf ? buf : "/", O_PATH | O_DIRECTORY);
            *slash = '/';
            if (parent < 0)
                return parent;
            int r;
            if (c == '\0' && !dir) {
                r = openat(parent, slash + 1, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (r >= 0)
                    close(r);
            } else {
                r = mkdirat(parent, slash + 1, 0755);
            }
            r = r < 0 && errno != EEXIST ? -errno : 0;
            close(parent);
            if (r < 0)
                return r;
        } else if (t < 0) {
            return t;
        } else {
            close(t);
        }
        if (c == '\0')
            break;
        *p = c;
    }
    return open_in_root(rootfd, path, O_PATH);
}

static int mount_cgroup(const char *target, unsigned long flags)
{
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return mount("cgroup2", target, "cgroup2", flags, NULL) < 0 ? -errno : 0;
    /* v1: a tmpfs with one mount per controller, like runc. */
    if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
        return -errno;
    static const char *const ctrls[] = {"cpu", "cpuacct", "cpuset", "memory", "pids",
                                        "freezer", "blkio", "devices"};
    for (size_t i = 0; i < ELEMENTSOF(ctrls); i++) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/%s", target, ctrls[i]);
        if (mkdir(dir, 0755) < 0 ||
            mount("cgroup", dir, "cgroup", flags & ~MS_RDONLY, ctrls[i]) < 0)
            rmdir(dir);
    }
    if (flags & MS_RDONLY)
        mount(NULL, target, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    return 0;
}

/* mount(2) on the destination again, resolved afresh: the fd that
 * make_in_root() returned before the mount still names what lies below the
 * new mount, where a remount or a propagation change fails with EINVAL. */
static int mount_on_top(int rootfd, const char *dest, bool dir, unsigned long flags)
{
    int top = make_in_root(rootfd, dest, dir);
    char target[64];
    int r = 0;

    if (top < 0)
        return top;
    snprintf(target, sizeof(target), "/proc/self/fd/%d", top);
    if (mount(NULL, target, NULL, flags, NULL) < 0)
        r = -errno;
    close(top);
    return r;
}

static int do_mount(int rootfd, size_t idx, const struct oci_mount *m, struct err *e)
{
    struct mopts o;
    char target[64];
    if (parse_options(m->options, &o) < 0)
        return err_set(e, -EINVAL, "oci.Mounts[%zu].options: too long", idx);
    bool bind = o.bind || strcmp(m->type, "bind") == 0 || strcmp(m->type, "rbind") == 0;
    bool dir = true;
    if (bind) {
        struct stat st;
        if (stat(m->source, &st) < 0)
            return err_set(e, -EINVAL, "oci.Mounts[%zu].source: \"%s\" does not exist", idx,
                           m->source);
        dir = S_ISDIR(st.st_mode);
    }
    int fd = make_in_root(rootfd, m->destination, dir);
    if (fd < 0)
        return err_set(e, fd, "oci.Mounts[%zu].destination: cannot create \"%s\"", idx,
                       m->destination);
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    int r = 0;
    if (bind) {
        if (mount(m->source, target, NULL, MS_BIND | (o.rec ? MS_REC : 0), NULL) < 0)
            r = -errno;
        else if (o.flags & ~MS_REC)
            r = mount_on_top(rootfd, m->destination, dir, MS_BIND | MS_REMOUNT | o.flags);
    } else if (strcmp(m->type, "cgroup") == 0) {
        r = mount_cgroup(target, o.flags);
    } else {
        if (mount(*m->source ? m->source : m->type, target, m->type, o.flags,
                  *o.data ? o.data : NULL) < 0)
            r = -errno;
    }
    /* CRI's binds (/etc/hosts, /dev/shm, ...) carry "rprivate". */
    if (r == 0 && o.prop)
        r = mount_on_top(rootfd, m->destination, dir, o.prop);
    close(fd);
    if (r < 0)
        return err_set(e, r, "oci.Mounts[%zu]: cannot mount %s on \"%s\": %s", idx, m->type,
                       m->destination, strerror(-r));
    return 0;
}

/* A terminal's pty comes from the agent's devpts instance, which the
 * container's own /dev/pts does not show, so ttyname() found nothing ("not
 * a tty"). Binding it over /dev/console, as runc does for the console,
 * lets glibc find the terminal by device number. When the container has a
 * devpts of its own, the init helper then swaps in a pty from it and binds
 * that instead (agent/container_init.c); this bind is the fallback. The source is the pty's
 * path in this mount namespace's copy of the agent's /dev/pts (fd 0 itself
 * belongs to the agent's namespace, which mount(2) refuses), so this runs
 * before pivot_root. Best effort: the container still runs, only without
 * the name. */
static void bind_console(int rootfd)
{
    char pty[64], target[64];
    ssize_t n = readlink("/proc/self/fd/0", pty, sizeof(pty) - 1);
    int fd;

    if (n <= 0 || (size_t)n >= sizeof(pty) - 1)
        return;
    pty[n] = '\0';
    if (strncmp(pty, "/dev/pts/", 9) != 0)
        return;
    fd = make_in_root(rootfd, "/dev/console", false);
    if (fd < 0)
        return;
    snprintf(target, sizeof(target), "/proc/self/fd/%d", fd);
    mount(pty, target, NULL, MS_BIND, NULL);
    close(fd);
}

static void make_devices(const struct oci_spec *s)
{
    static const struct {
        const char *path;
        unsigned maj, min;
    } defaults[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                    {"/dev/random", 1, 8},  {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
    for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
        if (access(defaults[i].path, F_OK) == 0)
            continue;
        if (mknod(defaults[i].path, S_IFCHR | 0666, makedev(defaults[i].maj, defaults[i].min)) < 0) {
            /* In a user namespace: bind the host's node instead. */
            int fd = open(defaults[i].path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
            if (fd >= 0)
                close(fd);
        }
        chmod(defaults[i].path, 0666);
    }
    for (size_t i = 0; i < s->n_devices; i++) {
        const struct oci_device *d = &s->devices[i];
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        unlink(d->path);
        if (mknod(d->path, type | (d->mode ? (d->mode & 07777) : 0666),
                  makedev((unsigned)d->major, (unsigned)d->minor)) == 0) {
            int _unused_ r = chown(d->path, d->uid, d->gid);
        }
    }
    static const char *const links[][2] = {{"/proc/self/fd", "/dev/fd"},
                                           {"/proc/self/fd/0", "/dev/stdin"},
                                           {"/proc/self/fd/1", "/dev/stdout"},
                                           {"/proc/self/fd/2", "/dev/stderr"},
                                           {"/proc/kcore", "/dev/core"}};
    for (size_t i = 0; i < ELEMENTSOF(links); i++)
        if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
            continue;
    if (access("/dev/pts/ptmx", F_OK) == 0) {
        unlink("/dev/ptmx");
        int _unused_ r = symlink("pts/ptmx", "/dev/ptmx");
    }
}

static void mask_paths(const struct oci_spec *s)
{
    for (size_t i = 0; s->masked_paths[i]; i++) {
        const char *p = s->masked_paths[i];
        struct stat st;
        if (lstat(p, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode))
            mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0");
        else
            mount("/dev/null", p, NULL, MS_BIND, NULL);
    }
    for (size_t i = 0; s->readonly_paths[i]; i++) {
        const char *p = s->readonly_paths[i];
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) == 0)
            mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL);
    }
}

static unsigned long propagation(const char *name)
{
    if (!name || !*name)
        return MS_SLAVE | MS_REC;
    struct mopts o;
    char *v[] = {(char *)name, NULL};
    if (parse_options(v, &o) < 0 || !o.prop)
        return MS_SLAVE | MS_REC;
    return o.prop;
}

int mounts_setup(const struct oci_spec *s, struct err *e)
{
    const char *root = s->root_path;
    int r;

    /* Nothing we do may propagate back to the agent's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return err_set(e, -errno, "cannot make / a slave mount");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
        return err_set(e, -errno, "oci.Root.Path: cannot bind \"%s\"", root);
    int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return err_set(e, -errno, "oci.Root.Path: cannot open \"%s\"", root);
    for (size_t i = 0; i < s->n_mounts; i++)
        if ((r = do_mount(rootfd, i, &s->mounts[i], e)) < 0) {
            close(rootfd);
            return r;
        }
    if (s->process.terminal)
        bind_console(rootfd);
    close(rootfd);
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        return err_set(e, -errno, "oci.Root.Path: pivot_root failed");
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        return err_set(e, -errno, "cannot detach the old root");
    mount(NULL, "/", NULL, propagation(s->rootfs_propagation), NULL);
    make_devices(s);
    mask_paths(s);
    if (s->root_readonly) {
        struct statvfs sv;
        unsigned long keep = 0;
        if (statvfs("/", &sv) == 0)
            keep = sv.f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
            return err_set(e, -errno, "oci.Root.Readonly: cannot remount / read-only");
    }
    return 0;
}
