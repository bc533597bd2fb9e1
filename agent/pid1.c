/* PID-1 duties; see pid1.h. Kata's agent does the same list when it is
 * init (AGENT_INIT=yes, kata.md §10). */
#include "agent/pid1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "lib/err.h"

#define VIRTIO_ID_VSOCK "0x0013"
#define WAIT_DEVICES_MS 5000
#define WAIT_STEP_MS 10

struct pmount {
    const char *source, *target, *fstype;
    unsigned long flags;
    const char *data;
    mode_t mode;
};

static const struct pmount pid1_mounts[] = {
    {"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555},
    {"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, 0555},
    {"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", 0755},
    {"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620",
     0755},
    {"shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", 01777},
    {"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", 0755},
};

static int mount_one(const struct pmount *m)
{
    if (mkdir(m->target, m->mode) < 0 && errno != EEXIST)
        return -errno;
    if (mount(m->source, m->target, m->fstype, m->flags, m->data) < 0 && errno != EBUSY)
        return -errno;
    return 0;
}

/* The kernel opens /dev/console for init only if the initrd has the node;
 * make sure 0, 1 and 2 exist either way. */
static void ensure_console(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        int c = open("/dev/console", O_RDWR | O_NOCTTY);
        if (c < 0)
            c = open("/dev/null", O_RDWR);
        if (c >= 0 && c != fd) {
            dup2(c, fd);
            close(c);
        }
    }
}

static int load_module(const char *name)
{
    if (strchr(name, '/') || name[0] == '.' || !*name)
        return -EINVAL;
    char path[512];
    snprintf(path, sizeof(path), PID1_MODULES_DIR "/%s", name);
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int load_modules(struct err *e)
{
    _cleanup_fclose_ FILE *f = fopen(PID1_MODULES_ORDER, "re");
    if (!f)
        return errno == ENOENT ? 0 : err_set(e, -errno, "%s: %s", PID1_MODULES_ORDER,
                                                strerror(errno));
    char line[256];
    int loaded = 0, first = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        int r = load_module(line);
        if (r < 0 && !first) {
            first = r;
            err_set(e, r, "module %s: %s", line, strerror(-r));
        }
        if (r == 0)
            loaded++;
    }
    return first ? first : loaded;
}

/* The initramfs root (rootfs) has no parent mount, so pivot_root(2) into
 * a container root fails with EINVAL. Put a bind of it on top, as
 * switch_root does, so that every later mount namespace has a root that
 * pivot_root can leave. */
static int leave_rootfs(struct err *e)
{
    struct statfs fs;
    if (statfs("/", &fs) < 0 || (fs.f_type != RAMFS_MAGIC && fs.f_type != TMPFS_MAGIC))
        return 0; /* a disk image root: pivot_root works already */
    if (mkdir("/.root", 0700) < 0 && errno != EEXIST)
        return err_set(e, -errno, "mkdir /.root: %s", strerror(errno));
    if (mount("/", "/.root", NULL, MS_BIND, NULL) < 0 || chdir("/.root") < 0 ||
        mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
        return err_set(e, -errno, "moving the root off rootfs: %s", strerror(errno));
    return 0;
}

int pid1_setup(struct err *e)
{
    if (getpid() != 1)
        return 0;
    umask(022);
    int r = leave_rootfs(e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < ELEMENTSOF(pid1_mounts); i++) {
        r = mount_one(&pid1_mounts[i]);
        if (r < 0)
            return err_set(e, r, "mount %s on %s: %s", pid1_mounts[i].fstype,
                           pid1_mounts[i].target, strerror(-r));
    }
    /* cgroups: the unified hierarchy (the agent's v2 backend enables the
     * controllers it needs); a kernel without cgroup2 leaves it unmounted
     * and CreateContainer reports the missing controllers. */
    (void)mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                "nsdelegate");
    /* devpts newinstance: /dev/ptmx must lead to this instance. */
    unlink("/dev/ptmx");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0 && errno != EEXIST)
        return err_set(e, -errno, "symlink /dev/ptmx: %s", strerror(errno));
    ensure_console();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
    return load_modules(e);
}

static bool has_vsock_device(void)
{
    if (access("/dev/vsock", F_OK) < 0)
        return false;
    /* af_vsock creates /dev/vsock on load even with no transport: look for
     * the virtio device itself. */
    _cleanup_closedir_ DIR *d = opendir("/sys/bus/virtio/devices");
    if (!d)
        return false;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], id[16] = "";
        snprintf(path, sizeof(path), "/sys/bus/virtio/devices/%s/device", de->d_name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (f && fgets(id, sizeof(id), f) && strncmp(id, VIRTIO_ID_VSOCK, 6) == 0)
            return true;
    }
    return false;
}

/* "/dev/vportNpM" of the port named PID1_SERIAL_PORT_NAME, once its device
 * node exists. */
static int find_serial_port(char *dev, size_t size)
{
    _cleanup_closedir_ DIR *d = opendir("/sys/class/virtio-ports");
    if (!d)
        return -ENOENT;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], name[64] = "";
        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", de->d_name);
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        if (!f || !fgets(name, sizeof(name), f))
            continue;
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, PID1_SERIAL_PORT_NAME) != 0)
            continue;
        int n = snprintf(dev, size, "/dev/%s", de->d_name);
        if (n < 0 || (size_t)n >= size)
            return -ENOSPC;
        return access(dev, F_OK) == 0 ? 0 : -ENOENT;
    }
    return -ENOENT;
}

int pid1_agent_address(char *buf, size_t size)
{
    /* Devices are probed during boot and ports announced by the host a
     * little later; this runs once, before the agent serves, so a bounded
     * sleep loop (no uevent socket needed) is the simple choice. */
    for (int waited = 0; waited <= WAIT_DEVICES_MS; waited += WAIT_STEP_MS) {
        if (has_vsock_device()) {
            int n = snprintf(buf, size, "vsock://-1:1024");
            return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
        }
        char dev[128];
        int r = find_serial_port(dev, sizeof(dev));
        if (r == -ENOSPC)
            return r;
        if (r == 0) {
            int n = snprintf(buf, size, "serial://%s", dev);
            return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
        }
        struct timespec ts = {0, WAIT_STEP_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -ENOENT;
}
