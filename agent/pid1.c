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
#include <sys/reboot.h>
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

/* ---- kernel modules ---- */

/* A line of PID1_MODULES_ORDER: "NAME.ko WHEN [DEP.ko ...]" (pid1.h). */
#define ORDER_LINE_MAX 1024
#define ORDER_MAX_WORDS 32

struct order_line {
    char buf[ORDER_LINE_MAX];
    const char *word[ORDER_MAX_WORDS]; /* [0] the file, [1] WHEN, then deps */
    size_t n;
};

static bool order_line_parse(struct order_line *l)
{
    l->buf[strcspn(l->buf, "\r\n")] = '\0';
    l->n = 0;
    char *save = NULL;
    for (char *w = strtok_r(l->buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (l->n == ORDER_MAX_WORDS)
            return false;
        l->word[l->n++] = w;
    }
    return l->n >= 2 && l->word[0][0] != '#';
}

/* The kernel's name of a module file: "virtio-rng.ko" -> "virtio_rng". */
static void module_name(const char *file, char *name, size_t size)
{
    size_t n = strcspn(file, ".");
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = file[i] == '-' ? '_' : file[i];
    name[n] = '\0';
}

/* Loads dir/file with the parameter string params ("" for none): 1 when
 * loaded now, 0 when it was there already (and then params changed
 * nothing). /sys/module/NAME/initstate exists only for loaded modules (not
 * for built-in ones), and checking it spares finit_module() reading a whole
 * file only to answer EEXIST. */
static int load_module_file(const char *dir, const char *file, const char *params)
{
    if (strchr(file, '/') || file[0] == '.' || !*file)
        return -EINVAL;
    char name[128], path[512];
    module_name(file, name, sizeof(name));
    snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
    if (access(path, F_OK) == 0)
        return 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return -ENAMETOOLONG;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (syscall(SYS_finit_module, fd, params, 0) < 0)
        return errno == EEXIST ? 0 : -errno;
    return 1;
}

/* Loads a parsed line's dependencies, then its module with params (the
 * dependencies take none). Returns how many were loaded now; the first
 * failure stops it (a module whose dependency failed cannot load either). */
static int load_line(const char *dir, const struct order_line *l, const char *params)
{
    int loaded = 0, r;
    for (size_t i = 2; i < l->n; i++) {
        if ((r = load_module_file(dir, l->word[i], "")) < 0)
            return r;
        loaded += r;
    }
    if ((r = load_module_file(dir, l->word[0], params)) < 0)
        return r;
    return loaded + r;
}

/* Finds file's line in dir's load-order. -ENOENT when it has none. */
static int find_line(const char *dir, const char *file, struct order_line *l)
{
    char order[512];
    if ((size_t)snprintf(order, sizeof(order), "%s/load-order", dir) >= sizeof(order))
        return -ENAMETOOLONG;
    _cleanup_fclose_ FILE *f = fopen(order, "re");
    if (!f)
        return -errno;
    while (fgets(l->buf, sizeof(l->buf), f))
        if (order_line_parse(l) && strcmp(l->word[0], file) == 0)
            return 0;
    return -ENOENT;
}

/* Loads one spelling of a module file with what it needs. */
static int load_file_with_deps(const char *dir, const char *file, const char *params)
{
    struct order_line l;
    if (find_line(dir, file, &l) == 0)
        return load_line(dir, &l, params);
    /* A file without a line: an initrd from an older build-initrd.sh. */
    return load_module_file(dir, file, params);
}

/* Loads a module by name with what it needs. -ENOENT when the initrd does
 * not carry it (built into the kernel, or absent from it). */
static int load_by_name(const char *dir, const char *name, const char *params)
{
    char file[128];
    int n = snprintf(file, sizeof(file), "%s.ko", name);
    if (n < 0 || (size_t)n >= sizeof(file))
        return -ENAMETOOLONG;
    int r = load_file_with_deps(dir, file, params);
    if (r != -ENOENT)
        return r;
    /* The kernel treats - and _ in module names alike, but the initrd keeps
     * the file's own spelling (virtio-rng.ko holds virtio_rng): try the
     * other spelling of each. */
    for (int pass = 0; pass < 2; pass++) {
        char from = pass ? '-' : '_', to = pass ? '_' : '-';
        char alt[128];
        memcpy(alt, file, (size_t)n + 1);
        bool changed = false;
        for (char *p = alt; *p; p++)
            if (*p == from) {
                *p = to;
                changed = true;
            }
        if (changed && (r = load_file_with_deps(dir, alt, params)) != -ENOENT)
            return r;
    }
    return -ENOENT;
}

int pid1_load_module(const char *name)
{
    int r = load_by_name(PID1_MODULES_DIR, name, "");
    return r < 0 ? r : 0;
}

int pid1_load_module_from(const char *dir, const char *name, const char *params)
{
    if (!*name || strchr(name, '/') || name[0] == '.')
        return -EINVAL;
    int r = load_by_name(dir, name, params ? params : "");
    if (r != -ENOENT)
        return r < 0 ? r : (r > 0 ? 1 : 0);
    /* Not in the folder: built into the kernel is as good as loaded
     * (modprobe answers the same), and only those, or modules loaded some
     * other way, have a /sys/module entry. */
    char path[512], kname[128];
    module_name(name, kname, sizeof(kname));
    snprintf(path, sizeof(path), "/sys/module/%s", kname);
    return access(path, F_OK) == 0 ? 0 : -ENOENT;
}

int pid1_load_remaining_modules(struct err *e)
{
    _cleanup_fclose_ FILE *f = fopen(PID1_MODULES_ORDER, "re");
    if (!f)
        return errno == ENOENT ? 0
                               : err_set(e, -errno, "%s: %s", PID1_MODULES_ORDER, strerror(errno));
    struct order_line l;
    int loaded = 0, first = 0;
    while (fgets(l.buf, sizeof(l.buf), f)) {
        if (!order_line_parse(&l) || strcmp(l.word[1], "load") != 0)
            continue;
        int r = load_line(PID1_MODULES_DIR, &l, "");
        if (r < 0 && !first) {
            first = r;
            err_set(e, r, "module %s: %s", l.word[0], strerror(-r));
        }
        if (r > 0)
            loaded += r;
    }
    return first ? first : loaded;
}

/* ---- the devices the agent's channel needs ---- */

/* Virtio device ids (include/uapi/linux/virtio_ids.h) as sysfs prints them. */
#define VIRTIO_ID_CONSOLE "0x0003"
#define PCI_VENDOR_VIRTIO "0x1af4"

/* Calls match(dir, entry name) for each entry of dir; true at the first hit. */
static bool any_entry(const char *dir, bool (*match)(const char *dir, const char *name))
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && match(dir, de->d_name))
            return true;
    return false;
}

static bool file_starts(const char *dir, const char *name, const char *leaf, const char *prefix)
{
    char path[512], buf[32] = "";
    snprintf(path, sizeof(path), "%s/%s/%s", dir, name, leaf);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    return f && fgets(buf, sizeof(buf), f) && strncmp(buf, prefix, strlen(prefix)) == 0;
}

static bool is_virtio_pci(const char *dir, const char *name)
{
    return file_starts(dir, name, "vendor", PCI_VENDOR_VIRTIO);
}

static bool is_virtio_console(const char *dir, const char *name)
{
    return file_starts(dir, name, "device", VIRTIO_ID_CONSOLE);
}

static bool is_virtio_vsock(const char *dir, const char *name)
{
    return file_starts(dir, name, "device", VIRTIO_ID_VSOCK);
}

/* ACPI names microvm's virtio-mmio transports LNRO0005. */
static bool is_acpi_virtio_mmio(const char *dir, const char *name)
{
    (void)dir;
    return strncmp(name, "LNRO0005:", 9) == 0;
}

static bool cmdline_has(const char *word)
{
    char buf[4096];
    _cleanup_fclose_ FILE *f = fopen("/proc/cmdline", "re");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    return strstr(buf, word) != NULL;
}

/* Loads a module the channel needs; -ENOENT (built into this kernel, or
 * absent, and then nothing helps) is no error. */
static void load_for_channel(const char *name, int *loaded, int *first, struct err *e)
{
    int r = load_by_name(PID1_MODULES_DIR, name, "");
    if (r < 0 && r != -ENOENT && !*first)
        *first = err_set(e, r, "module %s: %s", name, strerror(-r));
    if (r > 0)
        *loaded += r;
}

/* Only what the channel needs is loaded before the agent serves: the driver
 * of its device and, when that device is not on the virtio bus yet, first
 * the virtio transport it sits on. Other modules are
 * pid1_load_remaining_modules()'s, after serving. Without any channel
 * device in sight, everything is loaded now, as before (a device this logic
 * does not know about may be the one the agent is meant to use). */
static int load_channel_modules(struct err *e)
{
    int loaded = 0, first = 0;
    const char *virtio = "/sys/bus/virtio/devices";
    bool console = any_entry(virtio, is_virtio_console), vsock = any_entry(virtio, is_virtio_vsock);
    /* The common case, transports built in (Debian's kernels), stops at
     * that one look at the virtio bus. */
    if (!console && !vsock) {
        bool pci = any_entry("/sys/bus/pci/devices", is_virtio_pci);
        if (pci)
            load_for_channel("virtio_pci", &loaded, &first, e);
        /* virtio-mmio devices are only found once the driver is in: microvm
         * (no PCI bus) describes them in ACPI or on the command line. */
        if (!pci || any_entry("/sys/bus/acpi/devices", is_acpi_virtio_mmio) ||
            cmdline_has("virtio_mmio.device="))
            load_for_channel("virtio_mmio", &loaded, &first, e);
        console = any_entry(virtio, is_virtio_console);
        vsock = any_entry(virtio, is_virtio_vsock);
    }
    if (console)
        load_for_channel("virtio_console", &loaded, &first, e);
    if (vsock)
        load_for_channel("vmw_vsock_virtio_transport", &loaded, &first, e);
    if (!console && !vsock) {
        int r = pid1_load_remaining_modules(first ? NULL : e);
        if (r < 0 && !first)
            first = r;
        if (r > 0)
            loaded += r;
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
    /* devpts newinstance: /dev/ptmx must lead to this instance. */
    unlink("/dev/ptmx");
    if (symlink("pts/ptmx", "/dev/ptmx") < 0 && errno != EEXIST)
        return err_set(e, -errno, "symlink /dev/ptmx: %s", strerror(errno));
    ensure_console();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 0);
    return load_channel_modules(e);
}

#define CG_ROOT "/sys/fs/cgroup"
#define CG_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int mount_cgroup2(struct err *e)
{
    if (mkdir(CG_ROOT, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "mkdir %s: %s", CG_ROOT, strerror(errno));
    if (mount("cgroup2", CG_ROOT, "cgroup2", CG_FLAGS, "nsdelegate") < 0 && errno != EBUSY)
        return err_set(e, -errno, "mount cgroup2 on %s: %s", CG_ROOT, strerror(errno));
    return 2;
}

/* The v1 hierarchy name of a controller: the ones conventionally
 * co-mounted share one. */
static const char *v1_hierarchy(const char *ctrl)
{
    if (strcmp(ctrl, "cpu") == 0 || strcmp(ctrl, "cpuacct") == 0)
        return "cpu,cpuacct";
    if (strcmp(ctrl, "net_cls") == 0 || strcmp(ctrl, "net_prio") == 0)
        return "net_cls,net_prio";
    return ctrl;
}

/* Unmounts every hierarchy under CG_ROOT and the tmpfs itself. */
static void undo_v1(void)
{
    _cleanup_closedir_ DIR *d = opendir(CG_ROOT);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof(path), CG_ROOT "/%s", de->d_name);
        umount2(path, MNT_DETACH);
    }
    umount2(CG_ROOT, MNT_DETACH);
}

/* Mounts one v1 hierarchy (h: "memory", "cpu,cpuacct", ...) and the links
 * to a shared one. */
static int mount_hierarchy(const char *h)
{
    char dir[300];
    snprintf(dir, sizeof(dir), CG_ROOT "/%s", h);
    /* EEXIST: the other half of a shared hierarchy, mounted already. */
    if (mkdir(dir, 0755) < 0)
        return -errno;
    if (mount("cgroup", dir, "cgroup", CG_FLAGS, h) < 0) {
        int r = -errno;
        rmdir(dir);
        return r;
    }
    if (strchr(h, ',')) {
        char link[300], first[64];
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(h, ","), h);
        snprintf(link, sizeof(link), CG_ROOT "/%s", first);
        /* Best effort: the v1 backend also finds the shared name. */
        if (symlink(h, link) < 0 && errno != EEXIST)
            return 0;
        snprintf(link, sizeof(link), CG_ROOT "/%s", strchr(h, ',') + 1);
        if (symlink(h, link) < 0 && errno != EEXIST)
            return 0;
    }
    return 0;
}

/* The memory hierarchy goes first: without it v1 is useless to us, and
 * giving up before any other controller is bound to a v1 hierarchy lets
 * cgroup2 have them all (a detached v1 hierarchy can hold on to its
 * controllers for a while). Returns 1, or 0 when memory is unavailable. */
static int mount_v1(struct err *e)
{
    if (mkdir(CG_ROOT, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "mkdir %s: %s", CG_ROOT, strerror(errno));
    if (mount("tmpfs", CG_ROOT, "tmpfs", CG_FLAGS, "mode=0755") < 0)
        return err_set(e, -errno, "mount tmpfs on %s: %s", CG_ROOT, strerror(errno));
    if (mount_hierarchy("memory") < 0) {
        umount2(CG_ROOT, MNT_DETACH);
        return 0;
    }
    _cleanup_fclose_ FILE *f = fopen("/proc/cgroups", "re");
    if (!f)
        return err_set(e, -errno, "/proc/cgroups: %s", strerror(errno));
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        char name[64];
        unsigned hier, num, enabled;
        if (line[0] == '#' || sscanf(line, "%63s %u %u %u", name, &hier, &num, &enabled) != 4 ||
            !enabled || strcmp(name, "memory") == 0)
            continue;
        /* A controller without v1 support in this kernel stays unmounted. */
        (void)mount_hierarchy(v1_hierarchy(name));
    }
    return 1;
}

int pid1_mount_cgroups(bool unified, bool *ret_fell_back, struct err *e)
{
    *ret_fell_back = false;
    if (unified)
        return mount_cgroup2(e);
    int r = mount_v1(e);
    if (r < 0) {
        undo_v1();
        return r;
    }
    if (r == 1)
        return 1;
    *ret_fell_back = true;
    return mount_cgroup2(e);
}

void pid1_poweroff(void)
{
    sync();
    reboot(RB_POWER_OFF);
    _exit(1);
}

static bool has_vsock_device(void)
{
    /* af_vsock creates /dev/vsock on load even with no transport: look for
     * the virtio device itself. */
    return access("/dev/vsock", F_OK) == 0 && any_entry("/sys/bus/virtio/devices", is_virtio_vsock);
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

bool pid1_vsock_present(void)
{
    return has_vsock_device();
}
